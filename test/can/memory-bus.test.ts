// The memory CAN bus (src/transports/can/memory-bus.ts): the CanDriver contract as the unit tests
// of the CAN link rely on it — delivery to every other driver, asynchronous, per-sender order,
// filters, FD, the bounded queue with send false → onDrain and nothing lost, bus-off and
// recovery, error frames, pacing at a bitrate.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CAN_FLAG_BRS, CAN_FLAG_EXTENDED, CAN_FLAG_FD, type CanBusEvent, type CanDriver,
} from '../../src/transports/can/driver.ts';
import { MemoryCanBus, canFrameBits } from '../../src/transports/can/memory-bus.ts';

interface Got { id: number; flags: number; data: number[]; ts: number }

function collect(d: CanDriver, extra: { events?: CanBusEvent[]; closes?: Array<unknown>; onDrain?: () => void } = {}): Got[] {
  const got: Got[] = [];
  d.start({
    onFrame: (id, flags, data, off, len, ts) => got.push({ id, flags, data: [...data.subarray(off, off + len)], ts }),
    onBusEvent: (e) => extra.events?.push(e),
    onDrain: () => extra.onDrain?.(),
    onClose: (e) => extra.closes?.push(e),
  });
  return got;
}

const tick = (ms = 0): Promise<void> => new Promise((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await tick(1);
  }
}

const EXT = CAN_FLAG_EXTENDED;
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

const t = suite('MemoryCanBus');

t('classic frames both ways, to every other driver, never to the sender, never synchronously', async () => {
  const bus = new MemoryCanBus();
  const a = bus.attach('a');
  const b = bus.attach('b');
  const c = bus.attach();
  const ga = collect(a);
  const gb = collect(b);
  const gc = collect(c);
  assert.is(c.name, 'memory:0');
  assert.is(a.fd, false);
  assert.is(a.send(0x1234567, EXT, bytes(9, 1, 2, 3, 9), 1, 3), true);
  assert.is(b.send(0x7ff, 0, bytes(), 0, 0), true);
  assert.is(gb.length + gc.length + ga.length, 0, 'not delivered inside send');
  await tick();
  await tick();
  assert.equal(gb.map((g) => [g.id, g.flags, g.data]), [[0x1234567, EXT, [1, 2, 3]]]);
  assert.equal(ga.map((g) => [g.id, g.flags, g.data]), [[0x7ff, 0, []]]);
  assert.is(gc.length, 2);
  assert.ok(gc[0]!.ts > 1.6e15, 'timestamp in microseconds');
  assert.is(a.stats.framesOut, 1);
  assert.is(a.stats.bytesOut, 3);
  assert.is(c.stats.framesIn, 2);
  assert.is(c.stats.bytesIn, 3);
  assert.is(a.state, 'error-active');
});

t('FD frames (BRS) on an FD bus; an FD frame or a bad length on a classic bus throws', async () => {
  const bus = new MemoryCanBus({ fd: true });
  const a = bus.attach();
  const b = bus.attach();
  collect(a);
  const gb = collect(b);
  const d64 = Uint8Array.from({ length: 64 }, (_, i) => i * 3);
  assert.is(a.fd, true);
  a.send(0x100, EXT | CAN_FLAG_FD | CAN_FLAG_BRS, d64, 0, 64);
  a.send(0x101, CAN_FLAG_FD, d64, 4, 12);
  a.send(0x102, EXT, d64, 0, 8); // classic frames on an FD bus too
  await until(() => gb.length === 3);
  assert.equal(gb[0], { id: 0x100, flags: EXT | CAN_FLAG_FD | CAN_FLAG_BRS, data: [...d64], ts: gb[0]!.ts });
  assert.equal(gb[1]!.data, [...d64.subarray(4, 16)]);
  assert.is(gb[1]!.flags, CAN_FLAG_FD);
  assert.is(gb[2]!.flags, EXT);
  assert.throws(() => a.send(1, CAN_FLAG_FD, d64, 0, 13), RangeError);
  assert.throws(() => a.send(0x800, 0, d64, 0, 1), RangeError);
  const classic = new MemoryCanBus();
  const x = classic.attach();
  assert.throws(() => x.send(1, EXT | CAN_FLAG_FD, d64, 0, 8), RangeError);
  assert.throws(() => x.send(1, EXT, d64, 0, 12), RangeError);
});

t('per-sender order under arbitration; the lowest id of the waiting heads goes first', async () => {
  const bus = new MemoryCanBus();
  const senders = [bus.attach(), bus.attach(), bus.attach()];
  for (const s of senders) collect(s);
  const rx = bus.attach();
  const got = collect(rx);
  // Sender k sends ids 0x300-k*0x100 + i with a payload that counts: order per sender must hold.
  for (let i = 0; i < 300; i++) {
    senders.forEach((s, k) => s.send(0x300 - k * 0x100 + (i % 7), EXT, bytes(k, i >> 8, i & 0xff), 0, 3));
  }
  await until(() => got.length === 900);
  for (let k = 0; k < 3; k++) {
    const seq = got.filter((g) => g.data[0] === k).map((g) => (g.data[1]! << 8) | g.data[2]!);
    assert.equal(seq, Array.from({ length: 300 }, (_, i) => i));
  }
  // Arbitration: with all three queues full, sender 2 (lowest ids) wins the first frames.
  assert.is(got[0]!.data[0], 2);
});

t('filters: id/mask, extended vs standard, several filters, empty = all', async () => {
  const bus = new MemoryCanBus();
  const tx = bus.attach();
  collect(tx);
  const rx = bus.attach();
  const got = collect(rx);
  rx.setFilters([{ id: 0x1000, mask: 0x1ffff000 }, { id: 0x12, mask: 0x7ff, extended: false }]);
  tx.send(0x1001, EXT, bytes(1), 0, 1); // pass (first)
  tx.send(0x2001, EXT, bytes(2), 0, 1); // no
  tx.send(0x12, 0, bytes(3), 0, 1); // pass (second)
  tx.send(0x12, EXT, bytes(4), 0, 1); // no: extended, second filter is standard only
  tx.send(0x1fff, EXT, bytes(5), 0, 1); // pass
  await until(() => tx.stats.framesOut === 5);
  assert.equal(got.map((g) => g.data[0]), [1, 3, 5]);
  rx.setFilters([]);
  tx.send(0x2001, EXT, bytes(6), 0, 1);
  await until(() => got.length === 4);
});

t('a 1000-frame burst under a high-water mark of 8: send false → onDrain, nothing lost, in order', async () => {
  const bus = new MemoryCanBus();
  const rx = bus.attach();
  const got = collect(rx);
  let drains = 0;
  let wake: (() => void) | null = null;
  const tx = bus.attach('tx', { highWaterMark: 8 });
  collect(tx, { onDrain: () => { drains++; wake?.(); } });
  let falses = 0;
  for (let i = 0; i < 1000; i++) {
    if (!tx.send(0x10000 + i, EXT, bytes(i >> 8, i & 0xff), 0, 2)) {
      falses++;
      await new Promise<void>((r) => { wake = r; });
      wake = null;
    }
  }
  await until(() => got.length === 1000);
  assert.ok(falses > 50, `send returned false ${falses} times`);
  assert.is(drains, falses);
  assert.equal(got.map((g) => (g.data[0]! << 8) | g.data[1]!), Array.from({ length: 1000 }, (_, i) => i));
  assert.is(tx.stats.dropped, 0);
  assert.ok(tx.queued === 0);
});

t('bus-off: frames wait (send false over the mark), state events, recovery delivers all', async () => {
  const bus = new MemoryCanBus();
  const rx = bus.attach();
  const got = collect(rx);
  const tx = bus.attach('tx', { highWaterMark: 4 });
  const events: CanBusEvent[] = [];
  let drained = 0;
  collect(tx, { events, onDrain: () => drained++ });
  tx.setErrorReporting(true);
  bus.setState('bus-off');
  const results: boolean[] = [];
  for (let i = 0; i < 20; i++) results.push(tx.send(0x100, EXT, bytes(i), 0, 1));
  await tick(20);
  assert.is(got.length, 0);
  assert.is(tx.state, 'bus-off');
  assert.equal(results.slice(0, 4), [true, true, true, true]);
  assert.ok(results.slice(4).every((r) => r === false));
  assert.equal(events.map((e) => [e.type, e.state, e.errorClass]), [['state', 'bus-off', 0x40]]);
  bus.setState('error-active');
  await until(() => got.length === 20);
  assert.equal(got.map((g) => g.data[0]), Array.from({ length: 20 }, (_, i) => i));
  assert.is(drained, 1);
  assert.equal(events[1], { type: 'state', state: 'error-active', errorClass: 0x100 });
  // One controller bus-off: the others go on without it.
  const other = bus.attach();
  const gotOther = collect(other);
  bus.setState('bus-off', tx);
  tx.send(1, EXT, bytes(), 0, 0);
  other.send(2, EXT, bytes(), 0, 0);
  await tick(10);
  assert.equal(got.slice(20).map((g) => g.id), [2]);
  assert.is(gotOther.length, 0);
  bus.setState('error-active', tx);
  await until(() => gotOther.length === 1);
});

t('error frames: counted by every driver, reported only with error reporting on', async () => {
  const bus = new MemoryCanBus();
  const a = bus.attach();
  const b = bus.attach();
  const ea: CanBusEvent[] = [];
  const eb: CanBusEvent[] = [];
  collect(a, { events: ea });
  collect(b, { events: eb });
  b.setErrorReporting(true);
  bus.injectErrorFrame(0x8 | 0x80, bytes(0, 0, 0x08, 0x19));
  bus.injectErrorFrame(0x20);
  await tick();
  await tick();
  assert.is(a.stats.errorFrames, 2);
  assert.is(b.stats.errorFrames, 2);
  assert.is(ea.length, 0);
  assert.equal(eb.map((e) => [e.type, e.errorClass, e.state]), [['error', 0x88, 'error-active'], ['error', 0x20, 'error-active']]);
  assert.equal([...eb[0]!.data!], [0, 0, 8, 0x19, 0, 0, 0, 0]);
  b.setErrorReporting(false);
  bus.injectErrorFrame(0x2);
  await tick();
  await tick();
  assert.is(eb.length, 2);
  assert.is(b.stats.errorFrames, 3);
});

t('loopback, close flushes then onClose(null), send after close is dropped, unplug → LinkIo', async () => {
  const bus = new MemoryCanBus();
  const a = bus.attach('a', { loopback: true });
  const closes: unknown[] = [];
  const ga = collect(a, { closes });
  const b = bus.attach();
  const gb = collect(b);
  for (let i = 0; i < 5; i++) a.send(i, EXT, bytes(i), 0, 1);
  a.close();
  a.close();
  assert.is(a.closed, true);
  assert.is(a.send(9, EXT, bytes(), 0, 0), false);
  assert.is(a.stats.dropped, 1);
  await until(() => closes.length === 1);
  assert.is(closes[0], null);
  assert.is(gb.length, 5);
  assert.is(ga.length, 5, 'loopback: its own frames');
  assert.is(bus.attached.length, 1);
  const c = bus.attach();
  const cc: Array<{ code?: number } | null> = [];
  collect(c, { closes: cc as unknown[] });
  bus.unplug(c);
  assert.is(cc[0]?.code, 501);
});

t('lossEvery loses every N-th frame on the wire', async () => {
  const bus = new MemoryCanBus({ lossEvery: 4 });
  const a = bus.attach();
  collect(a);
  const got = collect(bus.attach());
  for (let i = 1; i <= 12; i++) a.send(i, EXT, bytes(), 0, 0);
  await until(() => a.stats.framesOut === 12);
  assert.equal(got.map((g) => g.id), [1, 2, 3, 5, 6, 7, 9, 10, 11]);
  assert.is(bus.stats.lost, 3);
});

t('canFrameBits: classic extended 8 bytes = 131 + 29 worst-case stuff bits', () => {
  assert.is(canFrameBits(EXT, 8).nominal, 160);
  assert.is(canFrameBits(0, 8).nominal, 111 + 24);
  const fd = canFrameBits(EXT | CAN_FLAG_FD | CAN_FLAG_BRS, 64);
  assert.ok(fd.data > 8 * 64 && fd.data < 8 * 64 * 1.4);
});

t('paced at 500 kbit/s: 200 extended 8-byte frames take their time on the wire', async () => {
  const bus = new MemoryCanBus({ bitrate: 500_000 });
  const a = bus.attach('a', { highWaterMark: 1000 });
  collect(a);
  const got = collect(bus.attach());
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) a.send(0x1000 + i, EXT, bytes(1, 2, 3, 4, 5, 6, 7, 8), 0, 8);
  await until(() => got.length === 200);
  const ms = performance.now() - t0;
  const wire = (200 * 160) / 500; // 64 ms
  assert.ok(ms >= wire * 0.95, `${ms.toFixed(1)} ms ≥ ${wire} ms`);
  assert.ok(ms < wire * 2 + 30, `${ms.toFixed(1)} ms`);
  assert.is(bus.stats.bits, 200 * 160);
  const util = bus.stats.busyMs / ms;
  console.log(`    paced 500 kbit/s: 200 frames in ${ms.toFixed(1)} ms, wire ${bus.stats.busyMs.toFixed(1)} ms, utilisation ${(util * 100).toFixed(0)} %, ${(200000 / ms).toFixed(0)} frames/s`);
  assert.ok(util > 0.5 && util <= 1.0001);
});

t('unpaced throughput (100k frames through a 256-frame queue)', async () => {
  const bus = new MemoryCanBus();
  const a = bus.attach('a', { highWaterMark: 256 });
  let n = 0;
  let wake: (() => void) | null = null;
  a.start({ onFrame() {}, onDrain: () => wake?.(), onClose() {} });
  const b = bus.attach();
  b.start({ onFrame: () => { n++; }, onClose() {} });
  const data = bytes(1, 2, 3, 4, 5, 6, 7, 8);
  const run = async (count: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      if (!a.send(0x1000, EXT, data, 0, 8)) { await new Promise<void>((r) => { wake = r; }); wake = null; }
    }
    await until(() => n >= count);
    n = 0;
    return performance.now() - t0;
  };
  await run(20000);
  const ms = await run(100000);
  console.log(`    unpaced: ${(100000 / ms * 1000).toFixed(0)} frames/s`);
  assert.ok(ms < 10000);
});

t.run();
