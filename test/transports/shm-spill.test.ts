// The shm link's overflow queue (src/transports/shm/spill.ts): first in, first out, byte for
// byte, through growth and compaction at every mix of pushes and shifts; let go after a burst.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SpillQueue } from '../../src/transports/shm/spill.ts';

function frame(seed: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (seed * 131 + i * 7) & 0xff;
  return f;
}

test('FIFO byte for byte through random pushes and shifts (growth, compaction, sizes 0..70000)', () => {
  const q = new SpillQueue(1 << 20);
  const model: Uint8Array[] = [];
  let seed = 1;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  for (let step = 0; step < 20000; step++) {
    if (rnd(3) !== 0) {
      const len = rnd(10) === 0 ? rnd(70000) : rnd(300);
      const src = new Uint8Array(len + 9);
      src.set(frame(step, len), 5);
      q.push(src, 5, len);
      model.push(frame(step, len));
    } else if (model.length > 0) {
      const want = model.shift()!;
      assert.is(q.firstLen(), want.length);
      assert.equal(q.bytes.subarray(q.firstOff(), q.firstOff() + want.length), want);
      q.shift();
    }
    assert.is(q.length, model.length);
    assert.is(q.frameBytes, model.reduce((n, f) => n + f.length, 0));
  }
});

test('a burst over keepBytes is let go once the queue empties; clear() drops everything', () => {
  const q = new SpillQueue(8192);
  for (let i = 0; i < 10; i++) q.push(frame(i, 4000), 0, 4000);
  assert.ok(q.bytes.length >= 40040);
  while (q.length > 0) q.shift();
  assert.is(q.bytes.length, 0);
  q.push(frame(1, 100), 0, 100);
  q.push(frame(2, 100), 0, 100);
  q.clear();
  assert.is(q.length, 0);
  assert.is(q.frameBytes, 0);
  q.push(frame(3, 10), 0, 10);
  assert.equal(q.bytes.subarray(q.firstOff(), q.firstOff() + 10), frame(3, 10));
});

test.run();
