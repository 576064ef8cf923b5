// Allocation regression test (counts, not time): the allocation-free paths must not trigger a
// single scavenge. A scavenge happens only when new space fills up, so any per-iteration
// allocation — even one boxed number — shows up as several scavenges over these loops, while an
// allocation-free loop triggers none however long it runs. Same loops as `npm run bench`
// (bench/lib/alloc-loops.ts, bench/lib/alloc.ts: warm-up, then a PerformanceObserver on 'gc').
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { struct, u32, f64, f32, u8, array, i16 } from '../../src/codec/index.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { Deframer } from '../../src/framing/deframer.ts';
import { cobsEncode, cobsDecode, cobsMaxEncodedBytes } from '../../src/framing/cobs.ts';
import { crc32c, crc32cWrite } from '../../src/framing/crc32c.ts';
import { measureGc, type GcReport } from '../../bench/lib/alloc.ts';
import { codecRoundTrips, frameDeframeLoop, cobsCrcWriteLoop, primeLoop } from '../../bench/lib/alloc-loops.ts';
import { makePayload } from '../../bench/lib/payload.ts';
import type { CellFraming } from '../../bench/lib/cell.ts';

const alloc = suite('allocation (GC count)');

// The codec check: decoding floats into an `out` made by an object literal allocated a HeapNumber
// per float field per call in V8; create() now returns class instances, whose double fields are
// stored in place (src/codec/compile.ts, creator()). Use Codec.create() for reused `out` objects.
// The framing checks always run: frameEncode and the Deframer pass the CRC through a typed-array
// slot (crc32c.ts RESULT), never as a u32 return value that V8 could box, and crc32cWrite is the
// allocation-free CRC for code that frames by hand (crc32c() itself may box: see its JSDoc).
const check = alloc;

const describe = (r: GcReport) =>
  `${r.minor} scavenges, ${r.major} mark-compacts, heapUsed ${r.heapGrowth >= 0 ? '+' : ''}${r.heapGrowth} B over ${r.iterations} iterations`;

check('codec: 0 scavenges in 10^6 encode+decode round trips of a message without strings', async () => {
  const Reading = struct('ReadingNoStr', { id: u32, ts: f64, temp: f32, flags: u8, samples: array(i16, 8) });
  const msg = { id: 1, ts: 1732197442123.4567, temp: 23.4, flags: 0xa5, samples: [12, -34, 560, -7800, 32767, -32768, 0, 1] };
  const buf = new Uint8Array(Reading.maxSize);
  const out = Reading.create();
  const r = await measureGc('codec', (n) => codecRoundTrips(Reading, msg, buf, out, n), 1_000_000);
  assert.is(out.flags, 0xa5);
  assert.is(out.samples[4], 32767);
  assert.is(r.minor, 0, `codec round trip allocates: ${describe(r)}`);
});

alloc('framing: 0 scavenges in 10^5 frameEncode + Deframer feed/next passes (64-byte payload)', async () => {
  const f = { frameEncode } as unknown as CellFraming;
  const p = makePayload(64, 0.15, 1064);
  const fb = new Uint8Array(frameMaxEncodedBytes(64));
  const d = new Deframer(4096);
  let delivered = 0;
  const loop = (n: number) => { const k = frameDeframeLoop(f, d, p, fb, n); delivered += k; return k; };
  primeLoop(loop, 16, 64);
  const r = await measureGc('framing', loop, 100_000, 50_000);
  assert.is(delivered, 16 * 64 + 100_000 + 2 * 50_000, 'every frame is delivered');
  assert.is(r.minor, 0, `frameEncode + Deframer allocates: ${describe(r)}`);
});

alloc('framing: 0 scavenges in 10^5 crc32cWrite + cobsEncode + cobsDecode passes (64-byte payload)', async () => {
  const f = { cobsEncode, cobsDecode } as unknown as CellFraming;
  // a payload whose CRC is >= 2^31 (0xb82daf97): the value crc32c() would return boxed
  const p = makePayload(64, 0.15, 1064);
  assert.ok(crc32c(p) >= 0x80000000);
  const enc = new Uint8Array(cobsMaxEncodedBytes(64)), dec = new Uint8Array(64), crcOut = new Uint8Array(4);
  const loop = (n: number) => cobsCrcWriteLoop(f, crc32cWrite, p, enc, dec, crcOut, n);
  primeLoop(loop);
  const r = await measureGc('cobs+crc', loop, 100_000, 50_000);
  assert.is(crcOut[3], 0xb8);
  assert.is(r.minor, 0, `crc32cWrite + COBS allocates: ${describe(r)}`);
});

alloc.run();
