// The raw floors of bench/shm/shm.bench.ts: ping-pongs on two 32-bit words of shared memory, one
// round trip = the asking side stores a new value in PING, the answering side sees it and stores
// it in PONG, the asking side sees that. Plain module functions, monomorphic, no allocation in
// the loops. Samples are per round trip (process.hrtime.bigint around each one, ~22 ns of its own
// on this machine), as for the Cell rows, so both sides of a ratio pay the same timer cost.
//   * spin: both sides busy-poll with Atomics.load (two processes over a mapped segment);
//   * wait: both sides sleep in Atomics.wait and wake the other with Atomics.notify (two threads);
//   * waitAsync: the asking side awaits Atomics.waitAsync instead (main thread's event loop free).
// Word indexes (Int32): each on its own 64-byte line, inside ring 0's data area of a segment
// (a floor's segment carries no rings), so the segment header stays valid for openProcessSegment.
export const PING = 256;
export const PONG = 272;
export const READY = 288;
/** PING value that ends the answering loop. */
export const STOP = -1;

const hr = process.hrtime.bigint;
/** Busy loops check the time every this many spins (a dead peer must not hang the bench). */
const GUARD_SPINS = 1 << 22;

/** Answering side, busy-polling: echo every new PING into PONG until STOP or `timeoutMs`. Returns the round trips answered. */
export function spinAnswer(i32: Int32Array, timeoutMs = 120_000): number {
  const deadline = Date.now() + timeoutMs;
  let last = Atomics.load(i32, PING), n = 0, guard = 0;
  Atomics.store(i32, READY, 1);
  for (;;) {
    const v = Atomics.load(i32, PING);
    if (v === last) {
      if (++guard === GUARD_SPINS) { guard = 0; if (Date.now() > deadline) break; }
      continue;
    }
    if (v === STOP) break;
    last = v;
    n++;
    Atomics.store(i32, PONG, v);
  }
  return n;
}

/** Asking side, busy-polling: `warm` round trips, then one sample (ns) per round trip into `out`. False if the peer stopped answering. */
export function spinAsk(i32: Int32Array, out: Float64Array, warm: number, timeoutMs = 60_000): boolean {
  const deadline = Date.now() + timeoutMs;
  let v = Atomics.load(i32, PONG) | 0;
  for (let i = -warm; i < out.length; i++) {
    v = (v + 1) & 0x3fffffff;
    let guard = 0;
    const t0 = hr();
    Atomics.store(i32, PING, v);
    while (Atomics.load(i32, PONG) !== v) {
      if (++guard === GUARD_SPINS) { guard = 0; if (Date.now() > deadline) return false; }
    }
    const t1 = hr();
    if (i >= 0) out[i] = Number(t1 - t0);
  }
  return true;
}

/** Asking side, busy-polling, `n` round trips timed as one batch: mean ns per round trip without the per-sample timer. */
export function spinAskBatch(i32: Int32Array, n: number): number {
  let v = Atomics.load(i32, PONG) | 0;
  const t0 = hr();
  for (let i = 0; i < n; i++) {
    v = (v + 1) & 0x3fffffff;
    Atomics.store(i32, PING, v);
    while (Atomics.load(i32, PONG) !== v) { /* spin */ }
  }
  return Number(hr() - t0) / n;
}

/** Answering side, sleeping: Atomics.wait on PING, echo into PONG + notify, until STOP. Returns the round trips answered. */
export function waitAnswer(i32: Int32Array, timeoutMs = 120_000): number {
  let last = Atomics.load(i32, PING), n = 0;
  Atomics.store(i32, READY, 1);
  Atomics.notify(i32, READY);
  for (;;) {
    if (Atomics.wait(i32, PING, last, timeoutMs) === 'timed-out') break;
    const v = Atomics.load(i32, PING);
    if (v === last) continue;
    if (v === STOP) break;
    last = v;
    n++;
    Atomics.store(i32, PONG, v);
    Atomics.notify(i32, PONG, 1);
  }
  return n;
}

/** Asking side, sleeping in Atomics.wait (allowed on Node's main thread; blocks its event loop). */
export function waitAsk(i32: Int32Array, out: Float64Array, warm: number): boolean {
  let v = Atomics.load(i32, PONG) | 0;
  for (let i = -warm; i < out.length; i++) {
    const prev = v;
    v = (v + 1) & 0x3fffffff;
    const t0 = hr();
    Atomics.store(i32, PING, v);
    Atomics.notify(i32, PING, 1);
    while (Atomics.load(i32, PONG) !== v) if (Atomics.wait(i32, PONG, prev, 10_000) === 'timed-out') return false;
    const t1 = hr();
    if (i >= 0) out[i] = Number(t1 - t0);
  }
  return true;
}

type WaitAsync = (ta: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Asking side, awaiting Atomics.waitAsync (the event loop keeps running: how ThreadDoorbell waits). */
export async function waitAsyncAsk(i32: Int32Array, out: Float64Array, warm: number): Promise<boolean> {
  let v = Atomics.load(i32, PONG) | 0;
  for (let i = -warm; i < out.length; i++) {
    const prev = v;
    v = (v + 1) & 0x3fffffff;
    const t0 = hr();
    Atomics.store(i32, PING, v);
    Atomics.notify(i32, PING, 1);
    while (Atomics.load(i32, PONG) !== v) {
      const r = waitAsync(i32, PONG, prev, 10_000);
      if ((r.async ? await r.value : r.value) === 'timed-out') return false;
    }
    const t1 = hr();
    if (i >= 0) out[i] = Number(t1 - t0);
  }
  return true;
}
