// Where a REQUEST goes by channel, and that every answer keeps its REQUEST's channel
// (docs/rpc.md §3.3): channel 0 is the cell's table, channel 1 describe, and a Node server
// serves nothing on channels 2–255 (ERROR 403 on the REQUEST's channel, never on channel 0).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryPair } from '../../src/transports/memory.ts';
import { serve } from '../../src/rpc/index.ts';
import { encodeHello, PROTOCOL_VERSION } from '../../src/rpc/payloads.ts';
import { Header, HEADER_BYTES, KIND_ERROR, KIND_HELLO, KIND_REQUEST, KIND_RESPONSE, readHeader, writeHeader } from '../../src/wire/header.ts';
import { readU16LE } from '../../src/wire/bytes.ts';
import { ERR_RPC_UNKNOWN_METHOD } from '../../src/wire/errors.ts';
import { Thermo, ReadReq } from './fixtures/thermo.ts';
import { thermoImpl } from './fixtures/impl.ts';

const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms));

function frame(kind: number, channel: number, id: number, key: bigint, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(HEADER_BYTES + payload.length);
  const h = new Header();
  h.kind = kind; h.flags = 0; h.channel = channel; h.callId = id;
  h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n); h.length = payload.length;
  writeHeader(h, f, 0); f.set(payload, HEADER_BYTES);
  return f;
}

const test = suite('REQUEST channels on a Node server');

test('channel 0 is served; channels 2, 3, 4 and 255 get ERROR 403 on their own channel; channel 1 key 1 is describe', async () => {
  const [a, b] = memoryPair();
  const server = serve(Thermo, thermoImpl(), a, { heartbeatMs: 0 });
  const got: { h: Header; code: number }[] = [];
  b.start({
    onFrame: (buf, off, len) => {
      const h = new Header();
      readHeader(buf, off, len, 1 << 20, h);
      got.push({ h, code: h.kind === KIND_ERROR ? readU16LE(buf, off + HEADER_BYTES) : 0 });
    },
    onClose: () => {},
  });
  b.send(frame(KIND_HELLO, 0, 0, 0n, encodeHello({ version: PROTOCOL_VERSION, flags: 2, heartbeatMs: 0, maxFrameBytes: 65536, cellName: 'thermo', entries: Thermo.entries })));
  const read = Thermo.entries.find((e) => e.name === 'read')!;
  const req = new Uint8Array(ReadReq.maxSize);
  const n = ReadReq.tryEncode({ channel: 1 } as never, req, 0);
  const ids = [[0, 10], [2, 11], [3, 12], [4, 13], [255, 14]] as const;
  for (const [ch, id] of ids) b.send(frame(KIND_REQUEST, ch, id, read.key, req.subarray(0, n)));
  b.send(frame(KIND_REQUEST, 1, 15, 1n, new Uint8Array(0)));
  for (let i = 0; i < 500 && got.filter((g) => g.h.kind !== KIND_HELLO).length < 6; i++) await tick();
  const answers = got.filter((g) => g.h.kind !== KIND_HELLO);
  assert.is(answers.length, 6);
  for (const [ch, id] of ids) {
    const a2 = answers.find((g) => g.h.callId === id)!;
    assert.is(a2.h.channel, ch, `the answer to call ${id} keeps channel ${ch}`);
    if (ch === 0) assert.is(a2.h.kind, KIND_RESPONSE);
    else { assert.is(a2.h.kind, KIND_ERROR); assert.is(a2.code, ERR_RPC_UNKNOWN_METHOD); }
  }
  const d = answers.find((g) => g.h.callId === 15)!;
  assert.is(d.h.kind, KIND_RESPONSE);
  assert.is(d.h.channel, 1);
  await server.close();
});

test.run();
