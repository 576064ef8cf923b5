// Allocation of the shared-memory link's hot path (docs/rpc.md §7 method; bench/shm/alloc.ts does
// the work and `npm run bench:shm` prints the same figures). A client and a server of the
// zero-allocation AllocCell on the two sides of one thread segment, in this thread: every frame
// goes through the real rings, turns and doorbell. Counts and heap sizes, never time:
//   * pipelined `send` in bursts of 1000: under 8 B per call. Per frame the link allocates
//     nothing (reserve/commit in the ring, frames handed out in place); what remains, ~3 B per
//     call (measured, Node 20 x64), is per event-loop turn: each turn of a link is one
//     setImmediate (Node allocates the Immediate) and the rpc layer's clock queues one microtask
//     per tick. A single boxed number per frame would be 16 B per call.
//   * one call at a time (each answer sends the next): every call is then a turn of each link
//     plus a tick of the client, ~700 B per call measured (two Immediates and the microtask);
//     bounded at 1 KiB so that a per-turn regression shows.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { measureShmAlloc, formatShmAlloc } from '../../bench/shm/alloc.ts';

const alloc = suite('shm link allocation (heap growth per call)');

alloc('the shm link allocates nothing per frame: pipelined calls cost < 8 B each, a lone call < 1 KiB (its turns)', async () => {
  const r = await measureShmAlloc({ calls: 200_000, idle: false });
  const why = formatShmAlloc(r);
  assert.ok(Number.isFinite(r.pipelined.bytesPerCall), `no GC-free stretch of pipelined calls: ${why}`);
  assert.ok(r.pipelined.bytesPerCall < 8, `pipelined calls over the shm link allocate per frame: ${why}`);
  assert.ok(Number.isFinite(r.serial.bytesPerCall), `no GC-free stretch of lone calls: ${why}`);
  assert.ok(r.serial.bytesPerCall < 1024, `a lone call over the shm link allocates more than its turns: ${why}`);
  assert.is(r.pipelined.major, 0, `pipelined calls triggered mark-compacts: ${why}`);
});

alloc.run();
