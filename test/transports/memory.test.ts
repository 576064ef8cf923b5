// Memory loopback link: compliance suite + its own options (latency, MTU, dropEvery).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryPair } from '../../src/transports/memory.ts';
import { complianceSuite, makeFrame } from './compliance.ts';

complianceSuite('memory', {
  maxFrameBytes: 65536,
  async pair() {
    const [a, b] = memoryPair();
    return { a, b, killB: () => b.kill(), garbageToA: (bytes) => a.inject(bytes) };
  },
});
complianceSuite('memory (1 ms latency, MTU 512)', {
  async pair() {
    const [a, b] = memoryPair({ latencyMs: 1, mtu: 512 });
    return { a, b, killB: () => b.kill(), garbageToA: (bytes) => a.inject(bytes) };
  },
});

const opts = suite('memoryPair options');
opts('dropEvery makes the link unreliable and drops every N-th frame', async () => {
  const [a, b] = memoryPair({ dropEvery: 3 });
  const got: number[] = [];
  b.start({ onFrame: (buf, off) => got.push(buf[off + 4]!), onClose: () => {} });
  a.start({ onFrame: () => {}, onClose: () => {} });
  assert.is(a.caps.reliable, false);
  for (let i = 1; i <= 9; i++) a.send(makeFrame(i, 4));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(got, [1, 2, 4, 5, 7, 8]);
  assert.is(a.stats.dropped, 3);
});
opts.run();
