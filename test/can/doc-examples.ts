// The CAN profile examples of docs/wire-format.md §8, computed from the code (test/docs/
// examples.ts adds them to the checked blocks): the thermo cell of firmware/thermo/schema.ts,
// node 1 (a gateway) calling node 10 (the device).
import { codec } from '../../src/codec/index.ts';
import { encodeHello } from '../../src/rpc/payloads.ts';
import { CanCompact, CanKeyTable, canCompress } from '../../src/framing/can-header.ts';
import { CanTxTransfer } from '../../src/framing/can-transfer.ts';
import {
  Header, KIND_PING, KIND_REQUEST, KIND_RESPONSE,
} from '../../src/wire/header.ts';
import { CAN_COMPACT_CALL_BIT, HELLO_FLAG_SERVING } from '../../src/wire/layouts.ts';
import { Reading, ReadReq, ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import { toHex } from '../helpers/hex.ts';

/** The thermo device's table (its HELLO), as both ends load it. */
export function thermoTable(): CanKeyTable {
  const hello = encodeHello({ version: 1, flags: HELLO_FLAG_SERVING, heartbeatMs: 0, maxFrameBytes: THERMO_MAX_FRAME_BYTES, cellName: ThermoDef.name, entries: ThermoDef.entries });
  const t = new CanKeyTable();
  t.loadHello(hello, 0, hello.length);
  return t;
}

/** The CAN frames of one Cell frame (header `h`, payload), one line each: `id  data`. */
export function canFrames(h: Header, payload: Uint8Array, src: number, dst: number, own: CanKeyTable, peer: CanKeyTable,
  fd: boolean, callTid = -1, rollingTid = 0): { lines: string; frames: Uint8Array[]; id: number } {
  const c = new CanCompact();
  h.length = payload.length;
  canCompress(h, src, dst, own, peer, callTid, rollingTid, c);
  const tx = new CanTxTransfer();
  tx.begin(c.prefix, c.prefixLen, payload, 0, payload.length, fd, c.tid);
  const frames: Uint8Array[] = [];
  const buf = new Uint8Array(64);
  for (let n = tx.next(buf, 0); n > 0; n = tx.next(buf, 0)) frames.push(buf.slice(0, n));
  const id = c.id.toString(16).padStart(8, '0');
  const spaced = (b: Uint8Array) => toHex(b).replace(/(..)(?!$)/g, '$1 ');
  return { lines: frames.map((f) => `${id}  ${spaced(f)}`).join('\n'), frames, id: c.id };
}

function header(kind: number, channel: number, callId: number, key: bigint): Header {
  const h = new Header();
  h.kind = kind; h.channel = channel; h.callId = callId;
  h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n);
  return h;
}

export function canDocExamples(): Record<string, string> {
  const table = thermoTable();
  const none = new CanKeyTable();
  const readKey = ThermoDef.entries.find((e) => e.name === 'read')!.key;
  const req = new Uint8Array(codec(ReadReq).maxSize);
  codec(ReadReq).encode({ channel: 1 }, req, 0);
  const R = codec(Reading);
  const reading = new Uint8Array(R.maxSize);
  const rn = R.encode({ channel: 1, celsius: 21.25, seq: 7 }, reading, 0);
  // The device answers call CAN_COMPACT_CALL_BIT | port 0 << 5 | transfer id 0.
  const answer = () => header(KIND_RESPONSE, 0, (CAN_COMPACT_CALL_BIT | 0) >>> 0, readKey);
  return {
    'can-read-request': canFrames(header(KIND_REQUEST, 0, 1, readKey), req, 1, 10, none, table, false, 0).lines,
    'can-read-response': canFrames(answer(), reading.subarray(0, rn), 10, 1, table, none, false).lines,
    'can-read-response-fd': canFrames(answer(), reading.subarray(0, rn), 10, 1, table, none, true).lines,
    'can-ping': canFrames(header(KIND_PING, 1, 0, 0n), new Uint8Array(0), 1, 10, none, table, false, -1, 3).lines,
    'can-describe-explicit': canFrames(header(KIND_REQUEST, 1, 5, 1n), new Uint8Array(0), 1, 10, none, table, false, -1, 4).lines,
  };
}
