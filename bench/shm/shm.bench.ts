// The shared-memory transport (src/transports/shm, src/shm) against raw floors measured in the
// same run (method of docs/rpc.md §8: floor and Cell take turns, each verdict is the median of
// the per-round ratios, medians and p99s over many samples after warm-up). Targets of the issue:
//   1. threads: Thermo `read` RTT, client on the main thread, server in a worker, threadLink over
//      a SharedArrayBuffer (default wake) ÷ a raw Atomics.wait ping-pong between the same two
//      threads (Atomics.wait on both sides: the main thread blocks in it) ≤ 1.5;
//   2. processes, parked (default wake): RTT through connectLocal/acceptShm, server in a child
//      process ÷ the raw Unix-socket ping-pong between two Node processes (net, 64-byte messages,
//      one at a time) ≤ 0.8; with spinUs 0 (a side parks as soon as it is idle, so requests wake a
//      parked server) for information;
//   3. processes, wake 'poll' on both sides ÷ a raw busy-spin ping-pong (a tight synchronous JS
//      loop of Atomics.load/store on a segment from createProcessSegment/openProcessSegment) ≤ 5;
//   4. throughput, batches of N pipelined calls (`send`, issue N then wait for all; repeat), server
//      in a child process: 64-byte calls over shm ≥ 2× the plain Unix socket link, 64 KiB
//      requests ≥ 3×;
//   5. the seed's claim of 677 ns per round trip, next to the medians and p99s measured here;
//   6. allocation of the shm hot path after warm-up (bench/shm/alloc.ts, as test/bench/shm-alloc.test.ts).
// Usage: node --import tsx bench/shm/shm.bench.ts [--json FILE] [--rounds 5] [--n 20000]
//        [--warm-ms 500] [--measure-ms 1500] [--window 1000] [--blob-window 1000] [--ring-bytes 1048576]
//        [--only threads,park,poll,throughput,alloc] [--pin none|same]
// --pin same puts every thread of the bench and its child on CPU 0 (the case of two peers that
// share a core, e.g. on a loaded machine); by default the scheduler places them.
// Every answer is checked before timing. Sockets live in a temp dir that is removed at the end;
// the worker and the child are ended; /dev/shm is checked for segments left by this process.
import net from 'node:net';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Client } from '../../src/rpc/index.ts';
import { connectUnix } from '../../src/transports/unix.ts';
import { connectLocal, type ShmUpgradeLink } from '../../src/shm/index.ts';
import {
  createProcessSegment, createThreadSegment, DEFAULT_RING_BYTES, shmAddonStatus, threadLink, unlinkSegment, type ShmLink, type ShmLinkOptions,
} from '../../src/transports/shm/index.ts';
import { Thermo, Reading } from '../../test/rpc/fixtures/thermo.ts';
import { median } from '../lib/stats.ts';
import { ShmBenchCell, PAYLOAD_BYTES, BLOB_BYTES } from './bench-cell.ts';
import { PING, READY, STOP, spinAsk, spinAskBatch, waitAsk, waitAsyncAsk } from './spin.ts';
import { measureShmAlloc, formatShmAlloc, type ShmAllocReport } from './alloc.ts';

const arg = (name: string, def: string): string => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : def; };
const JSON_OUT = arg('json', '');
const ROUNDS = Math.max(1, Number(arg('rounds', '5')));
const N = Number(arg('n', '20000'));
const WARM = 1000;
const WARM_MS = Number(arg('warm-ms', '500'));
const MEASURE_MS = Number(arg('measure-ms', '1500'));
const WINDOW = Number(arg('window', '1000'));
const BLOB_WINDOW = Number(arg('blob-window', '1000'));
/** Ring capacity of the throughput rows' shm connection (each direction); the latency rows use the default (1 MiB). */
const TP_RING_BYTES = Number(arg('ring-bytes', String(DEFAULT_RING_BYTES)));
const SECTIONS = ['threads', 'park', 'poll', 'throughput', 'alloc'] as const;
const ONLY = new Set<string>(arg('only', SECTIONS.join(',')).split(','));
for (const x of ONLY) if (!(SECTIONS as readonly string[]).includes(x)) throw new Error(`--only: unknown section ${x} (${SECTIONS.join(', ')})`);
const PIN = arg('pin', 'none') as 'none' | 'same';
if (PIN === 'same') execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' }); // the child and the worker inherit it
// Two busy-polling peers on one core take turns at the scheduler's time slice (ms per round
// trip): the polling rows then measure the scheduler, for minutes. Only when asked for by name.
const SKIPPED_POLL = PIN === 'same' && !process.argv.includes('--only') && ONLY.delete('poll'); // also the threads' polling row
const RAW_BYTES = 64;
const SEED_CLAIM_NS = 677;
const hr = process.hrtime.bigint;
const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
const ourSegments = () => { try { return readdirSync('/dev/shm').filter((f) => f.startsWith(`cell-${uid}-${process.pid}-`)); } catch { return []; } };

if (!shmAddonStatus().available) {
  console.error(`bench/shm: the shared-memory addon is missing (${shmAddonStatus().reason}); the process rows need it.`);
  process.exit(2);
}

// ---- statistics
interface Lat { median_us: number; p99_us: number; min_us: number; n: number }
function latStats(ns: Float64Array): Lat {
  const s = Float64Array.from(ns).sort();
  const q = (p: number) => { const i = (s.length - 1) * p, lo = Math.floor(i), hi = Math.ceil(i); return s[lo]! + (s[hi]! - s[lo]!) * (i - lo); };
  return { median_us: q(0.5) / 1e3, p99_us: q(0.99) / 1e3, min_us: s[0]! / 1e3, n: s.length };
}
const medLat = (ls: Lat[]): Lat => ({ median_us: median(ls.map((l) => l.median_us)), p99_us: median(ls.map((l) => l.p99_us)), min_us: Math.min(...ls.map((l) => l.min_us)), n: ls[0]!.n });

/**
 * RTT of an awaited call: warm up by count and time (TurboFan's compiles must not land in the
 * samples), then one sample per call. With `link`, also its doorbell rings and parks over the
 * sampled calls only.
 */
async function rtt(call: () => Promise<unknown>, link: ShmLink | null = null, n = N): Promise<Lat & { wake?: Wake }> {
  const tw = performance.now();
  for (let i = 0; i < WARM || performance.now() - tw < WARM_MS; i++) await call();
  const w0 = link === null ? null : { ringsOut: link.ringsOut, ringsIn: link.ringsIn, parks: link.parks };
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) { const t0 = hr(); await call(); s[i] = Number(hr() - t0); }
  const lat: Lat & { wake?: Wake } = latStats(s);
  if (link !== null && w0 !== null) lat.wake = { ringsOut: link.ringsOut - w0.ringsOut, ringsIn: link.ringsIn - w0.ringsIn, parks: link.parks - w0.parks };
  return lat;
}

/** Warm a synchronous floor loop for WARM_MS, then take n samples. */
function syncFloor(ask: (out: Float64Array, warm: number) => boolean, n = N): Lat {
  const w = new Float64Array(1000);
  const tw = performance.now();
  while (performance.now() - tw < WARM_MS) if (!ask(w, 0)) throw new Error('floor: the peer stopped answering');
  const out = new Float64Array(n);
  if (!ask(out, 0)) throw new Error('floor: the peer stopped answering');
  return latStats(out);
}

interface Rate { callsPerS: number; clientNsPerCall: number; serverNsPerCall: number }
/**
 * Calls/s in batches: issue `window` calls through `send`, wait until all have answered, repeat
 * (WARM_MS, then MEASURE_MS counted). Also the CPU time (user + system) each process spent per
 * call over the counted batches. A shm side that spins while it waits counts its spinning, so on
 * the shm rows these are upper bounds of the work per call; on the socket rows they are the work.
 */
async function batches(label: string, send: (done: (err: unknown) => void) => void, window: number): Promise<Rate> {
  let calls = 0;
  const t0 = hr();
  const batch = () => new Promise<void>((resolve, reject) => {
    let left = window;
    const done = (err: unknown) => {
      if (err !== null) { reject(new Error(`${label}: ${(err as Error).message} (after ${calls} counted calls, ${(Number(hr() - t0) / 1e6).toFixed(0)} ms into the row)`)); return; }
      if (--left === 0) resolve();
    };
    for (let i = 0; i < window; i++) send(done);
  });
  const tw = performance.now();
  while (performance.now() - tw < WARM_MS) await batch();
  const s0 = await peerCpuUs();
  const c0 = process.cpuUsage();
  const t1 = hr();
  while (Number(hr() - t1) < MEASURE_MS * 1e6) { await batch(); calls += window; }
  const secs = Number(hr() - t1) / 1e9;
  const c1 = process.cpuUsage(c0);
  const s1 = await peerCpuUs();
  return { callsPerS: calls / secs, clientNsPerCall: ((c1.user + c1.system) * 1e3) / calls, serverNsPerCall: ((s1 - s0) * 1e3) / calls };
}

// ---- processes: the child, the raw socket ping-pong, the spin floor
const dir = mkdtempSync(join(tmpdir(), 'cell-shm-bench-'));
const sock = (f: string) => join(dir, f);
let peer: ChildProcess | null = null;
let peerLines: AsyncIterator<string> | null = null;
let worker: Worker | null = null;

async function startPeer(): Promise<void> {
  peer = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url)), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  peer.once('exit', (code, sig) => { if (!cleaning) console.error(`bench/shm: peer exited (${code ?? sig})`); });
  peerLines = createInterface({ input: peer.stdout! })[Symbol.asyncIterator]();
  await peerReply('ready');
}
async function peerReply(key: string): Promise<Record<string, unknown>> {
  for (;;) {
    const r = await peerLines!.next();
    if (r.done) throw new Error('peer exited');
    const m = JSON.parse(r.value) as Record<string, unknown>;
    if (key in m) return m;
  }
}

async function peerCpuUs(): Promise<number> {
  peer!.stdin!.write('{"cmd":"cpu"}\n');
  return (await peerReply('cpuUs')).cpuUs as number;
}

function rawConnect(path: string): Promise<net.Socket> {
  return new Promise((res, rej) => { const s = net.connect(path, () => { s.setNoDelay(true); res(s); }); s.once('error', rej); });
}
/** Raw UDS ping-pong: 64 bytes out, wait for the 64 back, next; warm-up by time, then n samples. */
function rawPingPong(sock: net.Socket, n = N): Promise<Lat> {
  return new Promise((resolve) => {
    const payload = Buffer.alloc(RAW_BYTES, 0x5a);
    const samples = new Float64Array(n);
    const tw = performance.now();
    let got = 0, i = -1, t0 = 0n, warming = true;
    const onData = (d: Buffer) => {
      got += d.length;
      while (got >= RAW_BYTES) {
        got -= RAW_BYTES;
        const t1 = hr();
        if (warming) { if (performance.now() - tw >= WARM_MS) warming = false; }
        else {
          if (i >= 0) samples[i] = Number(t1 - t0);
          if (++i >= n) { sock.off('data', onData); resolve(latStats(samples)); return; }
        }
        t0 = hr();
        sock.write(payload);
      }
    };
    sock.on('data', onData);
    t0 = hr();
    sock.write(payload);
  });
}

/** Busy-spin ping-pong with the child over a fresh 4 KiB process segment; also the batch-timed mean (no per-sample timer). */
async function spinFloor(): Promise<{ lat: Lat; batchNs: number }> {
  const seg = createProcessSegment({ ringBytes: 4096 });
  const i32 = new Int32Array(seg.buffer);
  try {
    peer!.stdin!.write(JSON.stringify({ cmd: 'spin', name: seg.name, ringBytes: seg.ringBytes, epoch: seg.epoch }) + '\n');
    const t = performance.now();
    while (Atomics.load(i32, READY) === 0) { if (performance.now() - t > 20_000) throw new Error('spin peer did not map the segment'); await sleep(1); }
    unlinkSegment(seg.name!); // both have mapped it
    const lat = syncFloor((out, w) => spinAsk(i32, out, w));
    const batchNs = spinAskBatch(i32, N);
    Atomics.store(i32, PING, STOP);
    await peerReply('spun');
    return { lat, batchNs };
  } finally {
    Atomics.store(i32, PING, STOP);
    try { unlinkSegment(seg.name!); } catch { /* unlinked above */ }
    seg.release();
  }
}

// ---- threads: the worker, the Atomics.wait floor, thread clients
async function startWorker(): Promise<void> {
  const url = new URL('./thread-peer.ts', import.meta.url).href;
  // A .ts worker entry under tsx on Node 20 needs tsx registered inside the worker first.
  worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`, { eval: true });
  worker.on('error', (e) => console.error('bench/shm: worker error', e));
  await workerReply('ready');
}
function workerReply(key: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>) => { if (key in m) { worker!.off('message', on); resolve(m); } };
    worker!.on('message', on);
  });
}
const waitSab = new SharedArrayBuffer(4096);
const waitI32 = new Int32Array(waitSab);
/** The Atomics.wait ping-pong with the worker; `asyncMain`: the main thread awaits Atomics.waitAsync instead of blocking in Atomics.wait. */
async function waitFloor(asyncMain: boolean): Promise<Lat> {
  Atomics.store(waitI32, READY, 0);
  Atomics.store(waitI32, PING, 0);
  const done = workerReply('waited');
  worker!.postMessage({ cmd: 'wait', sab: waitSab });
  const t = performance.now();
  while (Atomics.load(waitI32, READY) === 0) { if (performance.now() - t > 20_000) throw new Error('worker did not start the ping-pong'); await sleep(1); }
  let lat: Lat;
  try {
    if (!asyncMain) lat = syncFloor((out, w) => waitAsk(waitI32, out, w));
    else {
      const w = new Float64Array(1000);
      const tw = performance.now();
      while (performance.now() - tw < WARM_MS) await waitAsyncAsk(waitI32, w, 0);
      const out = new Float64Array(N);
      if (!(await waitAsyncAsk(waitI32, out, 0))) throw new Error('worker stopped answering');
      lat = latStats(out);
    }
  } finally {
    Atomics.store(waitI32, PING, STOP);
    Atomics.notify(waitI32, PING);
  }
  await done;
  return lat;
}
async function threadClient(opts: ShmLinkOptions): Promise<{ c: Client<typeof Thermo>; link: ShmLink }> {
  const seg = createThreadSegment();
  const served = workerReply('served');
  worker!.postMessage({ cmd: 'serve', sab: seg.buffer, opts });
  await served;
  const link = threadLink(seg, 0, opts);
  return { c: await connect(Thermo, link, { heartbeatMs: 0 }), link };
}

// ---- Cell clients
const readReq = { channel: 3 };
const into = Reading.create();
async function checkedThermo(c: Client<typeof Thermo>): Promise<() => Promise<unknown>> {
  const r = await c.read({ channel: 5 });
  if (r.channel !== 5 || r.temp !== 22.5) throw new Error(`thermo answer wrong: ${JSON.stringify(r)}`);
  const o = { into };
  return () => c.read(readReq, o);
}
/**
 * connectLocal, waiting for the upgrade: the server's HELLO can arrive before its answer to the
 * offer (it sends HELLO when the socket opens), so `connect` may resolve while still 'offered'.
 */
async function upgraded(path: string, opts: ShmLinkOptions & { ringBytes?: number }): Promise<{ link: ShmUpgradeLink; settled: Promise<void> }> {
  let settle!: (e?: Error) => void;
  const settled = new Promise<void>((res, rej) => { settle = (e) => (e ? rej(e) : res()); });
  const link = await connectLocal(sock(path), { ...opts, onUpgrade: (st, why) => settle(st === 'shm' ? undefined : new Error(`${path}: shm refused: ${why}`)) });
  if (link.state === 'socket') throw new Error(`${path}: no shm offered (${link.reason})`);
  return { link, settled };
}
async function shmClient(path: string, opts: ShmLinkOptions = {}): Promise<{ c: Client<typeof Thermo>; link: ShmUpgradeLink }> {
  const { link, settled } = await upgraded(path, opts);
  const c = await connect(Thermo, link, { heartbeatMs: 0 });
  await settled;
  return { c, link };
}
/** Doorbell rings and parks of a link (each ring between processes is a socket write and a wake-up). */
interface Wake { ringsOut: number; ringsIn: number; parks: number }

// ---- run
let cleaning = false;
function cleanup(): void {
  if (cleaning) return;
  cleaning = true;
  if (worker !== null) void worker.terminate();
  if (peer !== null) { peer.stdin?.end(); peer.kill('SIGTERM'); }
  rmSync(dir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { cleanup(); process.exit(130); });

interface LatRound { floor: Lat; cell: Lat; median: number; p99: number; wake?: Wake }
const round = (floor: Lat, cell: Lat, wake?: Wake): LatRound => ({ floor, cell, median: cell.median_us / floor.median_us, p99: cell.p99_us / floor.p99_us, wake });
const res: Record<string, unknown> = {};
const threadRounds: LatRound[] = [], parkRounds: LatRound[] = [], pollRounds: LatRound[] = [];
const tpRounds: { unix64: Rate; shm64: Rate; r64: number; unixBlob: Rate; shmBlob: Rate; rBlob: number }[] = [];
const info: Record<string, Lat[]> = { threadWaitAsync: [], threadSpin0: [], threadPoll: [], park0: [], thermoUnix: [] };
const wakeInfo: Record<string, Wake> = {};
const spinBatch: number[] = [];
const progress = (s: string) => process.stderr.write(`bench/shm: ${s}\n`);
let alloc: ShmAllocReport | null = null;
const errors: string[] = [];
/** Run one section; a failure is reported (and its clients closed) and the next section still runs. */
async function section(name: string, body: (closeLater: (c: { close(): Promise<void> }) => void) => Promise<void>): Promise<void> {
  progress(name);
  const open: { close(): Promise<void> }[] = [];
  try {
    await body((c) => { open.push(c); });
  } catch (e) {
    errors.push(`${name}: ${(e as Error).message}`);
    progress(`${name} FAILED: ${(e as Error).message}`);
  } finally {
    for (const c of open) await c.close().catch(() => {});
  }
}
try {
  if (ONLY.has('threads')) await startWorker();
  if (ONLY.has('park') || ONLY.has('poll') || ONLY.has('throughput')) await startPeer();

  if (ONLY.has('threads')) await section('threads', async (closeLater) => {
    const tPark = await threadClient({});
    closeLater(tPark.c);
    const tSpin0 = await threadClient({ spinUs: 0 });
    closeLater(tSpin0.c);
    const tParkCall = await checkedThermo(tPark.c), tSpin0Call = await checkedThermo(tSpin0.c);
    for (let r = 0; r < ROUNDS; r++) {
      const floor = await waitFloor(false);
      const cell = await rtt(tParkCall, tPark.link);
      threadRounds.push(round(floor, cell, cell.wake));
      info.threadWaitAsync!.push(await waitFloor(true));
      const s0 = await rtt(tSpin0Call, tSpin0.link);
      info.threadSpin0!.push(s0);
      wakeInfo.threadSpin0 = s0.wake!;
    }
    await tPark.c.close(); await tSpin0.c.close();
    if (SKIPPED_POLL) return; // two polling threads on one core: see SKIPPED_POLL
    const tPoll = await threadClient({ wake: 'poll' });
    closeLater(tPoll.c);
    const pollCall = await checkedThermo(tPoll.c);
    for (let r = 0; r < ROUNDS; r++) info.threadPoll!.push(await rtt(pollCall));
  });

  if (ONLY.has('park')) await section('processes, parked', async (closeLater) => {
    const park = await shmClient('park.sock');
    closeLater(park.c);
    const park0 = await shmClient('park0.sock', { spinUs: 0 });
    closeLater(park0.c);
    const thermoUnix = await connect(Thermo, await connectUnix(sock('thermo-unix.sock')), { heartbeatMs: 0 });
    closeLater(thermoUnix);
    const parkCall = await checkedThermo(park.c), park0Call = await checkedThermo(park0.c), unixCall = await checkedThermo(thermoUnix);
    for (let r = 0; r < ROUNDS; r++) {
      const s = await rawConnect(sock('raw.sock'));
      const floor = await rawPingPong(s); s.destroy();
      const cell = await rtt(parkCall, park.link.shmLink);
      parkRounds.push(round(floor, cell, cell.wake));
      const c0 = await rtt(park0Call, park0.link.shmLink);
      info.park0!.push(c0);
      wakeInfo.park0 = c0.wake!;
      info.thermoUnix!.push(await rtt(unixCall));
    }
  });

  if (ONLY.has('poll')) await section('processes, polling', async (closeLater) => {
    const poll = await shmClient('poll.sock', { wake: 'poll' });
    closeLater(poll.c); // a polling link keeps both processes busy until it closes
    const pollCall = await checkedThermo(poll.c);
    for (let r = 0; r < ROUNDS; r++) {
      const { lat: floor, batchNs } = await spinFloor();
      spinBatch.push(batchNs);
      const cell = await rtt(pollCall, poll.link.shmLink);
      pollRounds.push(round(floor, cell, cell.wake));
    }
  });

  if (ONLY.has('throughput')) await section('throughput', async (closeLater) => {
    const { link: bShm, settled } = await upgraded('bench-shm.sock', { ringBytes: TP_RING_BYTES });
    const shmC = await connect(ShmBenchCell, bShm, { heartbeatMs: 0 });
    closeLater(shmC);
    await settled;
    const unixC = await connect(ShmBenchCell, await connectUnix(sock('bench-unix.sock')), { heartbeatMs: 0 });
    closeLater(unixC);
    const msg = { payload: new Uint8Array(PAYLOAD_BYTES).map((_, i) => i) };
    const blob = { a: new Uint8Array(BLOB_BYTES / 2).map((_, i) => i * 7), b: new Uint8Array(BLOB_BYTES / 2).map((_, i) => i * 5 + 1) };
    for (const c of [shmC, unixC]) {
      const e = await c.ping(msg);
      if (e.payload.length !== PAYLOAD_BYTES || e.payload.some((b, i) => b !== i)) throw new Error('ping echo mismatch');
      const a = await c.put(blob);
      if (a.n !== BLOB_BYTES || a.last !== blob.b[BLOB_BYTES / 2 - 1]) throw new Error(`put answer wrong: ${JSON.stringify(a)}`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      const unix64 = await batches('64 B over the Unix socket link', (d) => unixC.ping.send(msg, d), WINDOW);
      const shm64 = await batches('64 B over shm', (d) => shmC.ping.send(msg, d), WINDOW);
      const unixBlob = await batches('64 KiB over the Unix socket link', (d) => unixC.put.send(blob, d), BLOB_WINDOW);
      const shmBlob = await batches('64 KiB over shm', (d) => shmC.put.send(blob, d), BLOB_WINDOW);
      tpRounds.push({ unix64, shm64, r64: shm64.callsPerS / unix64.callsPerS, unixBlob, shmBlob, rBlob: shmBlob.callsPerS / unixBlob.callsPerS });
      wakeInfo.throughputShm = { ringsOut: bShm.shmLink!.ringsOut, ringsIn: bShm.shmLink!.ringsIn, parks: bShm.shmLink!.parks };
    }
  });

  // allocation: in this process, after the timed rows
  if (ONLY.has('alloc')) await section('allocation', async () => { alloc = await measureShmAlloc(); });
} finally {
  cleanup();
}
await sleep(200); // the child's and the worker's exits
const left = ourSegments();

// ---- report
const f = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(0)}k` : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const verdicts: { name: string; ratio: number; target: string; pass: boolean; rounds: number[] }[] = [];
const verdict = (name: string, rounds: number[], target: number, higher: boolean): string => {
  const ratio = median(rounds);
  const pass = higher ? ratio >= target : ratio <= target;
  verdicts.push({ name, ratio, target: `${higher ? '≥' : '≤'} ${target}`, pass, rounds });
  return `**${ratio.toFixed(2)}** (${higher ? '≥' : '≤'} ${target}) ${pass ? 'PASS' : 'MISS'}; rounds ${rounds.map((x) => x.toFixed(2)).join(', ')}`;
};
const latCell = (l: Lat) => `${f(l.median_us)} / ${f(l.p99_us)}`;
const wakeCell = (w: Wake | undefined, calls = N) => (w === undefined ? '' : `client link per call: rings out ${(w.ringsOut / calls).toFixed(2)}, in ${(w.ringsIn / calls).toFixed(2)}, parks ${(w.parks / calls).toFixed(2)} (last round)`);
const p99Note = (rs: LatRound[]) => `p99 ÷ floor p99 ${median(rs.map((x) => x.p99)).toFixed(2)}`;
const vsFloor = (ls: Lat[], rs: LatRound[]) => median(ls.map((l, i) => l.median_us / rs[i]!.floor.median_us)).toFixed(2);
const rows: string[][] = [];
const L = (rs: LatRound[]) => ({ floor: medLat(rs.map((x) => x.floor)), cell: medLat(rs.map((x) => x.cell)) });
const claim: string[] = [];
if (threadRounds.length > 0) {
  const t = L(threadRounds);
  res.threads = t;
  rows.push(['1. threads: raw Atomics.wait ping-pong (main thread and worker both in Atomics.wait)', latCell(t.floor), 'floor', `rounds ${threadRounds.map((x) => f(x.floor.median_us)).join(', ')} µs`]);
  rows.push(['1. threads: Cell read, threadLink, default wake (park, spinUs 50)', latCell(t.cell), verdict('threads ÷ Atomics.wait', threadRounds.map((x) => x.median), 1.5, false), `${p99Note(threadRounds)}; ${wakeCell(threadRounds.at(-1)!.wake)}`]);
  rows.push(['(info) threads: raw, main awaits Atomics.waitAsync, worker Atomics.wait', latCell(medLat(info.threadWaitAsync!)), `÷ wait floor ${vsFloor(info.threadWaitAsync!, threadRounds)}`, '']);
  rows.push(['(info) threads: Cell read, spinUs 0 both sides (a side parks as soon as it is idle)', latCell(medLat(info.threadSpin0!)), `÷ wait floor ${vsFloor(info.threadSpin0!, threadRounds)}`, wakeCell(wakeInfo.threadSpin0)]);
  if (info.threadPoll!.length > 0) rows.push(['(info) threads: Cell read, wake poll', latCell(medLat(info.threadPoll!)), `÷ wait floor ${vsFloor(info.threadPoll!, threadRounds)}`, '']);
  claim.push(`threads ${f(t.cell.median_us)} / ${f(t.cell.p99_us)} µs`);
}
if (parkRounds.length > 0) {
  const p = L(parkRounds);
  res.processes_parked = p;
  rows.push([`2. processes: raw UDS ping-pong, net, ${RAW_BYTES} B one at a time`, latCell(p.floor), 'floor', `rounds ${parkRounds.map((x) => f(x.floor.median_us)).join(', ')} µs`]);
  rows.push(['2. processes: Cell read, connectLocal/acceptShm, default wake (park, spinUs 50)', latCell(p.cell), verdict('processes parked ÷ UDS', parkRounds.map((x) => x.median), 0.8, false), `${p99Note(parkRounds)}; ${wakeCell(parkRounds.at(-1)!.wake)}`]);
  rows.push(['(info) processes: Cell read, spinUs 0 both sides (a side parks as soon as it is idle; rings per call say which messages had to wake one)', latCell(medLat(info.park0!)), `÷ UDS floor ${vsFloor(info.park0!, parkRounds)}`, wakeCell(wakeInfo.park0)]);
  rows.push(['(info) processes: Cell read over the plain Unix socket link', latCell(medLat(info.thermoUnix!)), `÷ UDS floor ${vsFloor(info.thermoUnix!, parkRounds)}`, '']);
  claim.push(`processes parked ${f(p.cell.median_us)} / ${f(p.cell.p99_us)} µs`, `spinUs 0 ${f(medLat(info.park0!).median_us)} / ${f(medLat(info.park0!).p99_us)} µs`);
}
if (pollRounds.length > 0) {
  const q = L(pollRounds);
  res.processes_poll = q;
  res.spin_batch_ns = spinBatch;
  rows.push(['3. processes: raw busy-spin ping-pong on a mapped segment (sync JS loops)', latCell(q.floor), 'floor', `rounds ${pollRounds.map((x) => f(x.floor.median_us)).join(', ')} µs; batch-timed mean ${spinBatch.map((x) => x.toFixed(0)).join(', ')} ns`]);
  rows.push(['3. processes: Cell read, wake poll both sides', latCell(q.cell), verdict('processes poll ÷ spin', pollRounds.map((x) => x.median), 5, false), `${p99Note(pollRounds)}; ${wakeCell(pollRounds.at(-1)!.wake)}`]);
  claim.push(`processes polling ${f(q.cell.median_us)} / ${f(q.cell.p99_us)} µs (raw spin floor ${f(q.floor.median_us)} µs)`);
}
if (SKIPPED_POLL) rows.push(['3. processes, wake poll (and the threads\' poll row)', 'skipped', '', 'with --pin same two busy-polling peers share one core: each round trip waits for the scheduler to preempt the spinner, ms per sample (`--only poll` runs the process rows anyway)']);
if (claim.length > 0) rows.push([`5. seed's claim: "${SEED_CLAIM_NS} ns per round trip"`, (SEED_CLAIM_NS / 1000).toFixed(3), 'claim, not measured', `measured here, median / p99: ${claim.join('; ')}`]);
const trows: string[][] = [];
const rate = (rs: Rate[]) => `${f(median(rs.map((x) => x.callsPerS)))} (CPU/call client ${f(median(rs.map((x) => x.clientNsPerCall)))} ns, server ${f(median(rs.map((x) => x.serverNsPerCall)))} ns)`;
if (tpRounds.length > 0) {
  trows.push([`4. ${WINDOW} pipelined 64-byte calls (\`send\`, batches)`, rate(tpRounds.map((x) => x.unix64)), rate(tpRounds.map((x) => x.shm64)), verdict('throughput 64 B shm ÷ unix', tpRounds.map((x) => x.r64), 2, true)]);
  trows.push([`4. ${BLOB_WINDOW} pipelined 64 KiB requests (\`send\`, batches)`, rate(tpRounds.map((x) => x.unixBlob)), rate(tpRounds.map((x) => x.shmBlob)), verdict('throughput 64 KiB shm ÷ unix', tpRounds.map((x) => x.rBlob), 3, true)]);
}

const env = { node: process.version, cpu: cpus()[0]?.model ?? '?', ncpu: cpus().length, loadavg: loadavg().map((x) => +x.toFixed(2)), time: new Date().toISOString(), pin: PIN };
console.log(`\nCell shared memory, Node ${env.node}, ${env.ncpu}× ${env.cpu}, load ${env.loadavg.join(' ')}, pin ${PIN}, ${ROUNDS} rounds, ${N} samples per row and round\n`);
if (rows.length > 0) {
  console.log('| RTT | median / p99 µs | ratio (median of per-round ratios) | notes |\n|---|---|---|---|');
  for (const x of rows) console.log(`| ${x.join(' | ')} |`);
}
if (trows.length > 0) {
  console.log(`\n| throughput | Unix socket link, calls/s | shm, calls/s | shm ÷ Unix socket |\n|---|---|---|---|`);
  for (const x of trows) console.log(`| ${x.join(' | ')} |`);
  console.log(`(64 KiB rows: ${f(median(tpRounds.map((x) => x.unixBlob.callsPerS)) * BLOB_BYTES / 2 ** 20)} vs ${f(median(tpRounds.map((x) => x.shmBlob.callsPerS)) * BLOB_BYTES / 2 ** 20)} MiB/s of requests; shm throughput connection, whole section: rings out ${wakeInfo.throughputShm!.ringsOut}, in ${wakeInfo.throughputShm!.ringsIn}, parks ${wakeInfo.throughputShm!.parks})`);
}
if (alloc !== null) console.log(`\n${formatShmAlloc(alloc)}`);
for (const e of errors) console.log(`\nERROR in ${e}`);
console.log(`\n${verdicts.filter((v) => v.pass).length}/${verdicts.length} targets met${errors.length > 0 ? `, ${errors.length} section(s) failed` : ''}`);
if (left.length > 0) console.log(`\nWARNING: /dev/shm still holds segments of this process: ${left.join(', ')}`);
else console.log('/dev/shm: no segment of this process left');
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ bench: 'shm', results: res, thread_rounds: threadRounds, park_rounds: parkRounds, poll_rounds: pollRounds, throughput_rounds: tpRounds, info, wake: wakeInfo, alloc, verdicts, leftSegments: left, env, errors, params: { ROUNDS, N, WARM_MS, MEASURE_MS, WINDOW, BLOB_WINDOW, TP_RING_BYTES, only: [...ONLY] } }, null, 2));
process.exit(0);
