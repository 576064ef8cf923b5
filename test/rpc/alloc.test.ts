// Allocation of the rpc hot paths, measured (docs/rpc.md §7; bench/rpc/alloc.ts does the work and
// the rpc bench prints the same figures). Counts, not timings:
//   * server dispatch (REQUEST → decode into a pooled request → handler returns a reused
//     response → encode into the link's buffer) of a message without strings: 0 scavenges and no
//     heap growth over 50 000 calls after warm-up;
//   * client unary call: the Promise (with its two resolving functions) is the API and the only
//     allocation with `into`; bounded at 300 B/call (measured ~232 B on Node 20, x64);
//   * client `send` (the callback form: no Promise, response decoded into a reused object):
//     0 scavenges over 2 000 000 round trips (16 B/call would fill the young generation twice).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { measureRpcAlloc, formatAlloc } from '../../bench/rpc/alloc.ts';

const alloc = suite('rpc allocation (GC count)');

alloc('server dispatch and client send allocate nothing per call; a client call allocates only its Promise', async () => {
  const r = await measureRpcAlloc(50_000);
  const why = formatAlloc(r);
  assert.is(r.server.minor, 0, `server dispatch triggered scavenges: ${why}`);
  assert.is(r.server.major, 0, `server dispatch triggered mark-compacts: ${why}`);
  // A single boxed number per call would be 16 B × 50 000 = 800 kB; allow a few kB of noise
  // (the observer, lazily compiled code).
  assert.ok(r.server.heapGrowth < 64 * 1024, `server dispatch grew the heap: ${why}`);
  assert.ok(r.client.bytesPerCallInto <= 300, `client call with \`into\` allocates more than its Promise: ${why}`);
  assert.ok(r.client.bytesPerCallNew >= r.client.bytesPerCallInto, why);
  assert.is(r.client.send.minor, 0, `client send triggered scavenges: ${why}`);
  assert.is(r.client.send.major, 0, `client send triggered mark-compacts: ${why}`);
});

alloc.run();
