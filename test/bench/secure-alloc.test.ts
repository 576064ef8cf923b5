// Allocation check (counts, not time; see test/bench/alloc.test.ts and bench/lib/alloc.ts): sealing
// and opening a frame with src/secure/aead.ts — 20-byte AD, 32-byte payload, 16-byte tag, in place
// in one buffer — triggers no scavenge after warm-up. The AEAD's work areas are module-level; a
// Poly1305 row sum can exceed 2^31, which optimised V8 code keeps in a float64 register (only the
// interpreter would box it: hence the warm-up).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { aeadOpen, aeadSeal } from '../../src/secure/aead.ts';
import { measureGc, type GcReport } from '../../bench/lib/alloc.ts';
import { Prng } from '../helpers/prng.ts';

const alloc = suite('secure: allocation (GC count)');

const describe = (r: GcReport) =>
  `${r.minor} scavenges, ${r.major} mark-compacts, heapUsed ${r.heapGrowth >= 0 ? '+' : ''}${r.heapGrowth} B over ${r.iterations} iterations`;

alloc('0 scavenges in 10^5 aeadSeal + aeadOpen of a 32-byte payload with a 20-byte AD', async () => {
  const rng = new Prng(0x5ea1);
  const key = new Uint8Array(32), nonce = new Uint8Array(12), frame = new Uint8Array(20 + 32 + 16), pt = new Uint8Array(32);
  rng.fill(key); rng.fill(nonce); rng.fill(frame); rng.fill(pt);
  let opened = 0;
  const loop = (n: number): number => {
    let sink = 0;
    for (let i = 0; i < n; i++) {
      frame.set(pt, 20);
      nonce[0] = i & 0xff; // a fresh nonce per frame, as on a link
      sink ^= aeadSeal(key, 0, nonce, 0, frame, 0, 20, 20, 32, 52, 16);
      const r = aeadOpen(key, 0, nonce, 0, frame, 0, 20, 20, 32, 52, 16);
      if (r === 32) opened++;
      sink ^= r;
    }
    return sink;
  };
  const r = await measureGc('secure aead', loop, 100_000, 20_000);
  assert.is(opened, 20_000 * 2 + 100_000, 'every frame opens');
  assert.equal(frame.subarray(20, 52), pt);
  assert.is(r.minor, 0, `aeadSeal + aeadOpen allocate: ${describe(r)}`);
});

alloc.run();
