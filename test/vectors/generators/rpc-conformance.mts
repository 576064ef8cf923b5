// Generates test/vectors/rpc-conformance.json: the RPC layer's conformance vectors (docs/rpc.md
// §3–§4, src/wire/layouts.ts) as whole frames (20-byte header + payload, before any link framing),
// both ways, for the cell of test/vectors/rpc-conformance-cell.ts. Review every diff by hand.
// Run: node --import tsx test/vectors/generators/rpc-conformance.mts
// Run by: test/rpc/conformance.test.ts (a Node server over a memory link, and the firmware core
// firmware/shared/rpc-core.ts in the wasm build).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../helpers/hex.ts';
import {
  Header, writeHeader, KIND_HELLO, KIND_REQUEST, KIND_RESPONSE, KIND_ERROR, KIND_STREAM_ITEM, KIND_STREAM_END,
  KIND_CANCEL, KIND_PING, KIND_PONG, KIND_CREDIT, KIND_GOODBYE, CHANNEL_APP, CHANNEL_CONTROL, CHANNEL_BOOT, HEADER_BYTES,
} from '../../../src/wire/header.ts';
import { writeU16LE, writeU32LE } from '../../../src/wire/bytes.ts';
import {
  ERR_RPC_UNKNOWN_METHOD, ERR_RPC_MALFORMED, ERR_RPC_OVERLOADED, ERR_RPC_INTERNAL,
} from '../../../src/wire/errors.ts';
import {
  HELLO_FLAG_SERVING, HELLO_FLAG_CALLING, HELLO_FLAG_ANSWER, RPC_PROTOCOL_VERSION, ERROR_HEAD_BYTES,
  CONTROL_KEY_DESCRIBE_LO, CONTROL_KEY_DESCRIBE_HI,
} from '../../../src/wire/layouts.ts';
import { encodeHello } from '../../../src/rpc/payloads.ts';
import { ConformDef, CONFORM_MAX_FRAME_BYTES, OVERFLOW_CODE } from '../rpc-conformance-cell.ts';

type Side = 'host' | 'device';
interface Step { in?: string; out?: string; side?: Side; note?: string }
interface Vector { name: string; sides: Side[]; note?: string; steps: Step[] }

const [ADD, COUNT] = ConformDef.entries.map((e) => e.key) as [bigint, bigint];

function frame(kind: number, channel: number, callId: number, key: bigint, payload: Uint8Array | number[] = []): string {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const h = Object.assign(new Header(), {
    kind, flags: 0, channel, callId, keyLo: Number(key & 0xffffffffn), keyHi: Number(key >> 32n), length: p.length,
  });
  const f = new Uint8Array(HEADER_BYTES + p.length);
  writeHeader(h, f, 0);
  f.set(p, HEADER_BYTES);
  return toHex(f);
}
const u32 = (v: number): number[] => { const b = new Uint8Array(4); writeU32LE(b, 0, v); return [...b]; };
/** ERROR payload: code, message length, message (UTF-8), app payload. */
function errorPayload(code: number, message = '', tail: number[] = []): Uint8Array {
  const m = new TextEncoder().encode(message);
  const b = new Uint8Array(ERROR_HEAD_BYTES + m.length + tail.length);
  writeU16LE(b, 0, code);
  writeU16LE(b, 2, m.length);
  b.set(m, ERROR_HEAD_BYTES);
  b.set(tail, ERROR_HEAD_BYTES + m.length);
  return b;
}

const serverHello = encodeHello({
  version: RPC_PROTOCOL_VERSION, flags: HELLO_FLAG_SERVING, heartbeatMs: 0, maxFrameBytes: CONFORM_MAX_FRAME_BYTES,
  cellName: ConformDef.name, entries: ConformDef.entries,
});
const answerHello = serverHello.slice();
answerHello[1] |= HELLO_FLAG_ANSWER;
const clientHello = encodeHello({
  version: RPC_PROTOCOL_VERSION, flags: HELLO_FLAG_CALLING, heartbeatMs: 1000, maxFrameBytes: 65536,
  cellName: ConformDef.name, entries: ConformDef.entries,
});

const ping = frame(KIND_PING, CHANNEL_CONTROL, 0, 0n);
const pong = frame(KIND_PONG, CHANNEL_CONTROL, 0, 0n);
/** Ends a vector: a PING answered by the very next frame proves nothing else was sent before it. */
const sync: Step[] = [{ in: ping }, { out: pong }];
const both: Side[] = ['host', 'device'];

const vectors: Vector[] = [
  {
    name: 'HELLO from the client: the device answers with its HELLO flagged ANSWER; a Node server has sent its HELLO already and sends none',
    sides: both,
    steps: [
      { in: frame(KIND_HELLO, CHANNEL_APP, 0, 0n, clientHello) },
      { out: frame(KIND_HELLO, CHANNEL_APP, 0, 0n, answerHello), side: 'device' },
      ...sync,
    ],
  },
  {
    name: 'REQUEST add(2, 3) → RESPONSE {sum: 5}, same channel, call id and key',
    sides: both,
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 1, ADD, [...u32(2), ...u32(3)]) },
      { out: frame(KIND_RESPONSE, CHANNEL_APP, 1, ADD, u32(5)) },
    ],
  },
  {
    name: 'REQUEST add(0xffffffff, 1) → ERROR overflow (1001), empty message, payload {limit: 0xffffffff}',
    sides: both,
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 2, ADD, [...u32(0xffffffff), ...u32(1)]) },
      { out: frame(KIND_ERROR, CHANNEL_APP, 2, ADD, errorPayload(OVERFLOW_CODE, '', u32(0xffffffff))) },
    ],
  },
  {
    name: 'REQUEST with a key nobody serves → ERROR UnknownMethod (403); the message is free text (the device sends none)',
    sides: both,
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 3, 0x1122334455667788n) },
      { out: frame(KIND_ERROR, CHANNEL_APP, 3, 0x1122334455667788n, errorPayload(ERR_RPC_UNKNOWN_METHOD, 'UnknownMethod: no method with key 1122334455667788')), side: 'host' },
      { out: frame(KIND_ERROR, CHANNEL_APP, 3, 0x1122334455667788n, errorPayload(ERR_RPC_UNKNOWN_METHOD)), side: 'device' },
    ],
  },
  {
    name: 'REQUEST add with 3 payload bytes → ERROR Malformed (406); the message is free text',
    sides: both,
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 4, ADD, [1, 2, 3]) },
      { out: frame(KIND_ERROR, CHANNEL_APP, 4, ADD, errorPayload(ERR_RPC_MALFORMED, 'request to "add" does not decode (codec error 300)')), side: 'host' },
      { out: frame(KIND_ERROR, CHANNEL_APP, 4, ADD, errorPayload(ERR_RPC_MALFORMED, 'codec error 300')), side: 'device' },
    ],
  },
  {
    name: 'REQUEST add with 9 payload bytes (one trailing) → ERROR Malformed (406)',
    sides: both,
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 5, ADD, [1, 0, 0, 0, 2, 0, 0, 0, 9]) },
      { out: frame(KIND_ERROR, CHANNEL_APP, 5, ADD, errorPayload(ERR_RPC_MALFORMED, 'request to "add" does not decode (trailing bytes)')), side: 'host' },
      { out: frame(KIND_ERROR, CHANNEL_APP, 5, ADD, errorPayload(ERR_RPC_MALFORMED, 'trailing bytes')), side: 'device' },
    ],
  },
  {
    name: 'stream count(3): nothing before the first CREDIT; CREDIT(2) → items 0, 1; CREDIT(2) → item 2, STREAM_END (CREDIT carries the stream\'s channel, call id and key)',
    sides: both,
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 6, COUNT, [3]) },
      ...sync,
      { in: frame(KIND_CREDIT, CHANNEL_APP, 6, COUNT, u32(2)) },
      { out: frame(KIND_STREAM_ITEM, CHANNEL_APP, 6, COUNT, [0]) },
      { out: frame(KIND_STREAM_ITEM, CHANNEL_APP, 6, COUNT, [1]) },
      { in: frame(KIND_CREDIT, CHANNEL_APP, 6, COUNT, u32(2)) },
      { out: frame(KIND_STREAM_ITEM, CHANNEL_APP, 6, COUNT, [2]) },
      { out: frame(KIND_STREAM_END, CHANNEL_APP, 6, COUNT) },
      ...sync,
    ],
  },
  {
    name: 'stream count(0): not even STREAM_END before the first CREDIT; CREDIT(1) → STREAM_END',
    sides: both,
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 8, COUNT, [0]) },
      ...sync,
      { in: frame(KIND_CREDIT, CHANNEL_APP, 8, COUNT, u32(1)) },
      { out: frame(KIND_STREAM_END, CHANNEL_APP, 8, COUNT) },
      ...sync,
    ],
  },
  {
    name: 'CANCEL of a running stream: no frame back, later CREDIT for it is ignored',
    sides: both,
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 7, COUNT, [5]) },
      { in: frame(KIND_CREDIT, CHANNEL_APP, 7, COUNT, u32(1)) },
      { out: frame(KIND_STREAM_ITEM, CHANNEL_APP, 7, COUNT, [0]) },
      { in: frame(KIND_CANCEL, CHANNEL_APP, 7, COUNT) },
      { in: frame(KIND_CREDIT, CHANNEL_APP, 7, COUNT, u32(5)) },
      ...sync,
    ],
  },
  {
    name: 'PING → PONG with the PING\'s channel and call id, key 0, empty payload',
    sides: both,
    steps: [
      { in: frame(KIND_PING, CHANNEL_CONTROL, 0, 0n) },
      { out: frame(KIND_PONG, CHANNEL_CONTROL, 0, 0n) },
      { in: frame(KIND_PING, CHANNEL_APP, 7, 0n) },
      { out: frame(KIND_PONG, CHANNEL_APP, 7, 0n) },
    ],
  },
  {
    name: 'PONG, RESPONSE, ERROR, STREAM_ITEM and STREAM_END from the client (the server called nothing) get no answer',
    sides: both,
    steps: [
      { in: frame(KIND_PONG, CHANNEL_CONTROL, 0, 0n) },
      { in: frame(KIND_RESPONSE, CHANNEL_APP, 40, ADD, u32(5)) },
      { in: frame(KIND_ERROR, CHANNEL_APP, 41, ADD, errorPayload(ERR_RPC_INTERNAL)) },
      { in: frame(KIND_STREAM_ITEM, CHANNEL_APP, 42, COUNT, [0]) },
      { in: frame(KIND_STREAM_END, CHANNEL_APP, 42, COUNT) },
      ...sync,
    ],
  },
  {
    name: 'a frame whose header does not validate (magic 0xCF) is dropped without an answer',
    sides: both,
    steps: [
      { in: `cf${frame(KIND_PING, CHANNEL_CONTROL, 0, 0n).slice(2)}` },
      ...sync,
    ],
  },
  {
    name: 'GOODBYE with nothing in flight: no answer; the receiver keeps answering until the link closes',
    sides: both,
    steps: [
      { in: frame(KIND_GOODBYE, CHANNEL_CONTROL, 0, 0n) },
      ...sync,
    ],
  },
  {
    name: 'device: GOODBYE ends its running stream (a Node server keeps serving calls in flight until they end)',
    sides: ['device'],
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 8, COUNT, [3]) },
      { in: frame(KIND_GOODBYE, CHANNEL_CONTROL, 0, 0n) },
      { in: frame(KIND_CREDIT, CHANNEL_APP, 8, COUNT, u32(3)) },
      ...sync,
    ],
  },
  {
    name: 'device: a stream REQUEST while its one stream runs → ERROR Overloaded (408) "one stream at a time"',
    sides: ['device'],
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_APP, 9, COUNT, [3]) },
      { in: frame(KIND_REQUEST, CHANNEL_APP, 10, COUNT, [3]) },
      { out: frame(KIND_ERROR, CHANNEL_APP, 10, COUNT, errorPayload(ERR_RPC_OVERLOADED, 'one stream at a time')) },
    ],
  },
  {
    name: 'device: describe (channel 1, key 1) is not served → ERROR UnknownMethod (403) on channel 1',
    sides: ['device'],
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_CONTROL, 11, (BigInt(CONTROL_KEY_DESCRIBE_HI) << 32n) | BigInt(CONTROL_KEY_DESCRIBE_LO)) },
      { out: frame(KIND_ERROR, CHANNEL_CONTROL, 11, 1n, errorPayload(ERR_RPC_UNKNOWN_METHOD)) },
    ],
  },
  {
    name: 'device: a boot-channel REQUEST without a boot service → ERROR UnknownMethod (403) on channel 3',
    sides: ['device'],
    steps: [
      { in: frame(KIND_REQUEST, CHANNEL_BOOT, 12, 0x0102n, [1]) },
      { out: frame(KIND_ERROR, CHANNEL_BOOT, 12, 0x0102n, errorPayload(ERR_RPC_UNKNOWN_METHOD)) },
    ],
  },
];

const file = {
  description:
    'RPC conformance (docs/rpc.md §3-§4, src/wire/layouts.ts): whole frames (20-byte header + payload, before link framing), hex. ' +
    'Cell: test/vectors/rpc-conformance-cell.ts (add, count). Every vector runs on a fresh server whose first frame is `announce` ' +
    '(its HELLO: serving, heartbeat 0, max frame 512). Steps run in order: `in` is sent to the server; `out` is the next frame the server must send. ' +
    'A step with `side` applies to that side only; a vector applies to the sides in `sides` ("host": a Node server, src/rpc; ' +
    '"device": the firmware core, firmware/shared/rpc-core.ts). After the last step the server must have sent nothing more.',
  cell: ConformDef.name,
  maxFrameBytes: CONFORM_MAX_FRAME_BYTES,
  keys: { add: ADD.toString(16).padStart(16, '0'), count: COUNT.toString(16).padStart(16, '0') },
  announce: frame(KIND_HELLO, CHANNEL_APP, 0, 0n, serverHello),
  vectors,
};

const out = fileURLToPath(new URL('../rpc-conformance.json', import.meta.url));
writeFileSync(out, JSON.stringify(file, null, 1) + '\n');
console.log(`wrote ${out}: ${vectors.length} vectors`);
