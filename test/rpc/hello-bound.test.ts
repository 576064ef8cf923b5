// HELLO bounds (docs/rpc.md §3.2): a HELLO over maxHelloBytes (64 KiB) or declaring more than
// maxHelloEntries (1024) entries is refused before it is decoded: ERROR Malformed (406) on the
// control channel, and the connection is closed. A table within the bounds is still accepted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryPair } from '../../src/transports/memory.ts';
import { serve, RpcCode } from '../../src/rpc/index.ts';
import { encodeHello, PROTOCOL_VERSION, type HelloInfo } from '../../src/rpc/payloads.ts';
import { Header, HEADER_BYTES, KIND_ERROR, KIND_HELLO, readHeader, writeHeader } from '../../src/wire/header.ts';
import { readU16LE } from '../../src/wire/bytes.ts';
import { Thermo } from './fixtures/thermo.ts';
import { thermoImpl } from './fixtures/impl.ts';

function hello(entries: number, nameBytes: number): Uint8Array {
  const h: HelloInfo = {
    version: PROTOCOL_VERSION, flags: 2, heartbeatMs: 0, maxFrameBytes: 1 << 20, cellName: 'big',
    entries: Array.from({ length: entries }, (_, i) => ({ kind: 'method' as const, name: `m${i}`.padEnd(nameBytes, 'x'), key: BigInt(i + 1), requestFp: 1n, responseFp: 2n })),
  };
  const payload = encodeHello(h);
  const frame = new Uint8Array(HEADER_BYTES + payload.length);
  const hd = new Header();
  hd.kind = KIND_HELLO; hd.flags = 0; hd.channel = 0; hd.callId = 0; hd.keyLo = 0; hd.keyHi = 0; hd.length = payload.length;
  writeHeader(hd, frame, 0);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

/** Send `frame` as the peer's HELLO to a server; the ERROR codes it answers, and whether it closed. */
async function offer(frame: Uint8Array, opts = {}): Promise<{ errors: number[]; closed: boolean; ms: number }> {
  const [a, b] = memoryPair({ mtu: 1 << 21 });
  const server = serve(Thermo, thermoImpl(), b, { heartbeatMs: 0, ...opts });
  const errors: number[] = [];
  let closed = false;
  const h = new Header();
  a.start({
    onFrame(buf, off, len) {
      readHeader(buf, off, len, 1 << 21, h);
      if (h.kind === KIND_ERROR) errors.push(readU16LE(buf, off + HEADER_BYTES));
    },
    onClose() { closed = true; },
  });
  const t0 = performance.now();
  a.send(frame);
  for (let i = 0; i < 200 && !closed; i++) await new Promise((r) => setTimeout(r, 2));
  const ms = performance.now() - t0;
  const open = server.connections.size;
  await server.close();
  return { errors, closed: closed && open === 0, ms };
}

test('a HELLO of 1 MB is refused unread: Malformed, connection closed', async () => {
  const r = await offer(hello(2000, 480)); // 2000 entries of ~510 B: ~1 MB
  console.log(`    1 MB HELLO: refused in ${r.ms.toFixed(1)} ms`);
  assert.equal(r.errors, [RpcCode.Malformed]);
  assert.ok(r.closed);
});

test('a small HELLO declaring more than 1024 entries is refused', async () => {
  const f = hello(1500, 2);
  assert.ok(f.length < 65536);
  const r = await offer(f);
  assert.equal(r.errors, [RpcCode.Malformed]);
  assert.ok(r.closed);
});

test('a HELLO within the bounds is accepted; the bounds are tunable', async () => {
  const r = await offer(hello(1000, 2));
  assert.equal(r.errors, []);
  assert.not.ok(r.closed);
  const big = await offer(hello(1500, 2), { maxHelloEntries: 2000 });
  assert.equal(big.errors, []);
  const small = await offer(hello(10, 2), { maxHelloBytes: 100 });
  assert.equal(small.errors, [RpcCode.Malformed]);
});

test.run();
