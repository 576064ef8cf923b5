// Allocation of the shared-memory link's hot path after warm-up (docs/rpc.md §7 method), shared
// by test/bench/shm-alloc.test.ts and bench/shm/shm.bench.ts. Client and server are both in this
// thread, on the two sides of one thread segment (threadLink 0 and 1), so every frame goes
// through the real rings, turns and doorbell; the cell is bench/rpc/alloc.ts's AllocCell (a
// message without strings, bytes or 64-bit integers: the class the rpc layer serves without
// allocating). Counts and heap sizes, never time:
//   * pipelined: `send` (the callback form) in bursts of 1000, each burst started from the last
//     answer of the one before (no Promise, no timer in the harness): scavenges over `calls`
//     calls, and bytes per call in stretches of 50 000 calls with no GC inside;
//   * one at a time: each answer sends the next call (window 1): bytes per call. Every round trip
//     is then at least one event-loop turn of each link, so what a turn costs shows here;
//   * idle polling: a link with wake 'poll' and no traffic, bytes per ms (turns only).
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, serve } from '../../src/rpc/index.ts';
import { createThreadSegment, threadLink, type ShmLink, type ShmLinkOptions } from '../../src/transports/shm/index.ts';
import { AllocCell, AllocRes, exposeGc } from '../rpc/alloc.ts';

export interface GcStretch { minor: number; major: number; heapGrowth: number; calls: number }
export interface ShmAllocReport {
  /** Pipelined `send`, bursts of 1000: GCs over `calls` calls after warm-up. */
  pipelined: GcStretch & { bytesPerCall: number; stretches: number[] };
  /** One call at a time (window 1): bytes per call in a GC-free stretch (best of several). */
  serial: { bytesPerCall: number; stretch: number; stretches: number[] };
  /** A 'poll' link with no traffic: bytes allocated per ms (best GC-free stretch of `ms`), scavenges per second over 0.5 s. NaN when not measured. */
  idlePoll: { bytesPerMs: number; ms: number; scavengesPerS: number };
  gcExposed: boolean;
}

const immediate = () => new Promise<void>((r) => setImmediate(r));
const kindOf = (e: PerformanceEntry): number => ((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0);

async function countGc(loop: () => Promise<void>, calls: number): Promise<GcStretch & { ms: number; total: number }> {
  const entries: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => { entries.push(...list.getEntries()); });
  obs.observe({ entryTypes: ['gc'] });
  await immediate();
  obs.takeRecords();
  entries.length = 0;
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  await loop();
  const t1 = performance.now();
  const h1 = process.memoryUsage().heapUsed;
  await immediate();
  await sleep(1);
  entries.push(...obs.takeRecords());
  obs.disconnect();
  const inLoop = entries.filter((e) => e.startTime >= t0 && e.startTime <= t1);
  return {
    minor: inLoop.filter((e) => kindOf(e) === constants.NODE_PERFORMANCE_GC_MINOR).length,
    major: inLoop.filter((e) => kindOf(e) === constants.NODE_PERFORMANCE_GC_MAJOR).length,
    total: inLoop.length, heapGrowth: h1 - h0, calls, ms: t1 - t0,
  };
}

/** Smallest bytes per unit over `tries` stretches that saw no GC (Infinity if none did). */
async function gcFreeBest(loop: () => Promise<void>, units: (ms: number) => number, tries = 8): Promise<{ best: number; all: number[] }> {
  const all: number[] = [];
  for (let i = 0; i < tries; i++) {
    const g = await countGc(loop, 0);
    if (g.total === 0) all.push(g.heapGrowth / units(g.ms));
  }
  return { best: all.length > 0 ? Math.min(...all) : Infinity, all };
}

/** A client and a server of AllocCell on the two sides of one thread segment, in this thread. */
async function pair(opts: ShmLinkOptions = {}) {
  const seg = createThreadSegment();
  const cLink = threadLink(seg, 0, opts), sLink = threadLink(seg, 1, opts);
  const res = AllocRes.create();
  const server = serve(AllocCell, {
    read(req) { res.channel = req.channel; res.seq = req.seq; res.total = req.offset + req.flags; res.ok = req.on; res.samples[0] = req.samples[31]!; return res; },
  }, sLink, { heartbeatMs: 0 });
  const client = await connect(AllocCell, cLink, { heartbeatMs: 0, deadlineMs: 600_000 });
  return { client, server, cLink, sLink };
}

/** `calls`: pipelined calls counted for GCs; `idle`: also measure an idle 'poll' link (~0.6 s). */
export async function measureShmAlloc({ calls = 2_000_000, idle = true }: { calls?: number; idle?: boolean } = {}): Promise<ShmAllocReport> {
  const gc = exposeGc();
  const { client, server } = await pair();
  const req = { channel: 3, flags: 0x1234, seq: 7, offset: -5, on: true, samples: new Uint8Array(32).fill(9) };
  const opts = { into: AllocRes.create() };
  let bad = 0;

  // pipelined: bursts of 1000, each started by the last answer of the previous one
  const BURST = 1000;
  let left = 0, inBurst = 0, finished: (() => void) | null = null;
  const onAnswer = (err: unknown): void => {
    if (err !== null || opts.into.total !== -5 + 0x1234 || opts.into.samples[0] !== 9) bad++;
    if (--inBurst > 0) return;
    if (left === 0) { finished!(); return; }
    startBurst();
  };
  const startBurst = (): void => {
    const n = left < BURST ? left : BURST;
    left -= n;
    inBurst = n;
    for (let i = 0; i < n; i++) client.read.send(req, onAnswer, opts);
  };
  const pipelined = (n: number) => new Promise<void>((resolve) => { finished = resolve; left = n; startBurst(); });

  // one at a time: each answer sends the next call
  let serialLeft = 0, serialDone: (() => void) | null = null;
  const onSerial = (err: unknown): void => {
    if (err !== null || opts.into.total !== -5 + 0x1234) bad++;
    if (--serialLeft === 0) serialDone!(); else client.read.send(req, onSerial, opts);
  };
  const serial = (n: number) => new Promise<void>((resolve) => { serialDone = resolve; serialLeft = n; client.read.send(req, onSerial, opts); });

  // warm-up: both paths, then a pause for concurrent TurboFan jobs to install
  if (gc !== null) { gc(); gc(); }
  for (let i = 0; i < 3; i++) { await pipelined(100_000); await serial(20_000); await sleep(40); }

  const STRETCH = 50_000;
  const pStretches = await gcFreeBest(() => pipelined(STRETCH), () => STRETCH);
  let pip: GcStretch | null = null;
  for (let i = 0; i < 3; i++) {
    const g = await countGc(() => pipelined(calls), calls);
    if (pip === null || g.minor + g.major < pip.minor + pip.major) pip = g;
    if (g.total === 0) break;
    await sleep(60);
  }
  const SERIAL = 2000;
  const sStretches = await gcFreeBest(() => serial(SERIAL), () => SERIAL);
  if (bad !== 0) throw new Error(`shm alloc: ${bad} wrong answers`);
  await client.close();
  await server.close();

  // idle polling: no traffic, the link turns for `ms`
  const IDLE_MS = 2;
  let idleBest = { best: NaN, all: [] as number[] }, idleGc = { minor: NaN, ms: 1 };
  if (idle) {
    const link: ShmLink = threadLink(createThreadSegment(), 0, { wake: 'poll' });
    link.start({ onFrame() {}, onClose() {} });
    await sleep(100);
    idleBest = await gcFreeBest(() => sleep(IDLE_MS).then(() => undefined), (ms) => ms, 16);
    idleGc = await countGc(() => sleep(500).then(() => undefined), 0);
    link.close();
  }

  return {
    pipelined: { ...pip!, bytesPerCall: pStretches.best, stretches: pStretches.all },
    serial: { bytesPerCall: sStretches.best, stretch: SERIAL, stretches: sStretches.all },
    idlePoll: { bytesPerMs: idleBest.best, ms: IDLE_MS, scavengesPerS: idleGc.minor / (idleGc.ms / 1000) },
    gcExposed: gc !== null,
  };
}

/** One line for the bench output. */
export function formatShmAlloc(r: ShmAllocReport): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 0) : 'n/a (no GC-free stretch)');
  const parts = [
    `pipelined \`send\` ${r.pipelined.minor} scavenges / ${r.pipelined.major} mark-compacts in ${r.pipelined.calls} calls, ${f(r.pipelined.bytesPerCall)} B/call (best GC-free stretch of 50 000)`,
    `one call at a time ${f(r.serial.bytesPerCall)} B/call`,
  ];
  if (!Number.isNaN(r.idlePoll.bytesPerMs)) parts.push(`a 'poll' link with no traffic ${f(r.idlePoll.bytesPerMs / 1024)} KiB/ms (${r.idlePoll.scavengesPerS.toFixed(0)} scavenges/s)`);
  return `allocation (shm thread pair in one thread, AllocCell): ${parts.join('; ')}`;
}
