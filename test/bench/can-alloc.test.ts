// Allocation of the CAN link's frame path (bench/can/alloc.ts does the work; `npm run bench:can`
// prints the same figures): a compact call both ways between two CanBus nodes joined by a
// synchronous driver pair — call table, compact header, segmentation, reassembly, expansion —
// allocates nothing after warm-up: no scavenge in 300 000 calls, classic (4 frames a call) or FD
// (2 frames). Counts, never time.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatCanAlloc, measureCanAlloc } from '../../bench/can/alloc.ts';

const alloc = suite('CAN link allocation');

alloc('a call through the CAN profile allocates nothing after warm-up (classic and FD)', async () => {
  // Up to three runs: on a loaded machine the optimising compiler may still be busy when the
  // first measured loop starts, and unoptimised code boxes numbers. A run with no GC settles it.
  let r = await measureCanAlloc(300_000);
  for (let i = 0; i < 2 && r.classic.minor + r.classic.major + r.fd.minor + r.fd.major > 0; i++) r = await measureCanAlloc(300_000);
  const why = formatCanAlloc(r);
  assert.is(r.framesPerCallClassic, 4, why);
  assert.is(r.framesPerCallFd, 2, why);
  assert.is(r.classic.minor + r.classic.major, 0, `classic calls allocate: ${why}`);
  assert.is(r.fd.minor + r.fd.major, 0, `FD calls allocate: ${why}`);
});

alloc.run();
