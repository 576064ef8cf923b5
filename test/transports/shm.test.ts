// The shared-memory link (src/transports/shm, docs/shm.md) and the socket upgrade (src/shm):
// the link compliance suite between two ends in one thread (default rings, 4 KiB rings that wrap
// all the time, `wake: 'poll'`, `spinUs: 0`), a real worker that is terminated mid-call, the
// upgrade to a peer process (the remote compliance suite: SIGKILL, SIGSTOP), a peer killed in the
// middle of writing a record, hostile peers scribbling in the ring, the segment's permissions and
// lifetime in /dev/shm, every fallback to the socket, and the server reading offers that are cut
// at every offset or fuzzed.
// The process tests need the addon (npm run build:native): without it they are reported skipped.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { connect, RpcCode, serve, type Client } from '../../src/rpc/index.ts';
import type { Link, LinkHandlers } from '../../src/transports/link.ts';
import { listenUnix } from '../../src/transports/unix.ts';
import {
  attachThreadSegment, createProcessSegment, createThreadSegment, processLink, reclaimStaleSegments, shmAddonStatus, threadLink,
  unlinkSegment, type ShmLink, type ShmLinkOptions,
} from '../../src/transports/shm/index.ts';
import { RECORD_WRAP, RING_HEADER_BYTES, RING_OFF_TAIL, ringOffset, SEG_OFF_BELL } from '../../src/transports/shm/layout.ts';
import { acceptShm, connectLocal, ShmUpgradeLink, type ShmUpgradeOptions } from '../../src/shm/index.ts';
import { ERR_LINK_CLOSED, ERR_LINK_IO, ERR_LINK_SHM_CORRUPT } from '../../src/wire/errors.ts';
import { readU32LE, writeU32LE } from '../../src/wire/bytes.ts';
import { CHANNEL_LINK, Header, HEADER_BYTES, KIND_HELLO, KIND_PING, writeHeader } from '../../src/wire/header.ts';
import {
  HELLO_EXT_SHM_OFFER, HELLO_FLAG_CALLING, LINK_OP_SHM_REFUSE, RPC_PROTOCOL_VERSION, SHM_OFFER_OFF_EPOCH, SHM_OFFER_OFF_NAME,
  SHM_OFFER_OFF_NAME_LEN, SHM_OFFER_OFF_RING_BYTES,
} from '../../src/wire/layouts.ts';
import { encodeHello, encodeHelloExtension } from '../../src/rpc/payloads.ts';
import { memoryPair } from '../../src/transports/memory.ts';
import { Prng } from '../helpers/prng.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';
import { skipDeclared, skipTest } from '../helpers/skip.ts';
import { complianceSuite, makeFrame, remoteComplianceSuite, type LinkHarness } from './compliance.ts';
import { sockPath } from './helpers.ts';

const peerScript = fileURLToPath(new URL('./shm-peer.ts', import.meta.url));
const workerUrl = new URL('./shm-worker.ts', import.meta.url).href;
const status = shmAddonStatus();
const processesOk = status.available && existsSync('/dev/shm');
const noProcessReason = status.available ? 'no /dev/shm on this system' : status.reason;
const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
/** The call id of the frame shm-peer.ts `half` leaves unpublished. */
const HALF_CALL_ID = 0xdead;

// ---- helpers ------------------------------------------------------------------------------------

/** Creators whose segments this file answers for: itself and the peers it started. */
const ourPids = new Set([process.pid]);
const children: ChildProcess[] = [];

/** Segment names (without '/') in /dev/shm made by this process or its peers. */
function ourSegments(): string[] {
  if (!existsSync('/dev/shm')) return [];
  return readdirSync('/dev/shm').filter((f) => {
    const m = /^cell-(\d+)-(\d+)-[0-9a-f]{8}$/.exec(f);
    return m !== null && Number(m[1]) === uid && ourPids.has(Number(m[2]));
  });
}

/**
 * After each test of a suite that makes segments: note the test that left one, and remove it so
 * that the next test starts clean. The last suite fails on any note. (Not a throw here: uvu runs
 * after.each again when a test failed, and a throw from there would hide the test's own error.)
 */
const leaks: string[] = [];
function noSegmentLeft(ctx: { __test__?: string }): void {
  const left = ourSegments();
  if (left.length === 0) return;
  leaks.push(`${ctx.__test__ ?? '?'}: ${left.join(', ')}`);
  for (const f of left) { try { unlinkSync(`/dev/shm/${f}`); } catch { /* gone meanwhile */ } }
}

/** The promise, or a failure naming what hung after `ms` (a generous bound: a hang, not a speed). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`hung: ${what} (nothing after ${ms} ms)`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

async function until(cond: () => boolean, what: string | (() => string), maxMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > maxMs) throw new Error(`hung: ${typeof what === 'string' ? what : what()} (not within ${maxMs} ms)`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const codeOf = (e: unknown): number => (e as { code: number }).code;
const causeOf = (e: unknown): unknown => (e as { detail?: { cause?: unknown } }).detail?.cause;

/** A node process running shm-peer.ts in `mode`, its stdout read line by line. */
class Peer {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly lines: string[] = [];
  private wake: (() => void) | null = null;

  constructor(args: string[], env?: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ['--import', 'tsx', peerScript, ...args], { stdio: ['pipe', 'pipe', 'inherit'], env: env ?? process.env });
    children.push(this.child);
    if (this.child.pid !== undefined) ourPids.add(this.child.pid);
    this.exited = new Promise((r) => this.child.once('exit', (code) => { this.wake?.(); r(code); }));
    createInterface({ input: this.child.stdout! }).on('line', (l) => { this.lines.push(l); this.wake?.(); });
  }

  get pid(): number { return this.child.pid!; }

  /** The first line (since the last one taken) that passes `ok`. */
  async line(ok: (l: string) => boolean, what: string, ms = 30_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const i = this.lines.findIndex(ok);
      if (i >= 0) return this.lines.splice(0, i + 1).pop()!;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`peer exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}; it said: ${this.lines.join(' | ')}`);
      if (Date.now() - t0 > ms) throw new Error(`hung: no ${what} from the peer within ${ms} ms`);
      await new Promise<void>((r) => { this.wake = r; setTimeout(r, 100); });
      this.wake = null;
    }
  }

  send(cmd: string): void { this.child.stdin!.write(cmd + '\n'); }
  kill(sig: NodeJS.Signals = 'SIGKILL'): void { this.child.kill(sig); }
}

/** `link` with every frame's call id noted on the way up. */
function tap(link: Link, callIds: number[]): Link {
  return new Proxy(link, {
    get(t, p) {
      if (p === 'start') {
        return (h: LinkHandlers) => t.start({
          onFrame: (buf, off, len, hd) => { callIds.push(readU32LE(buf, off + 4)); h.onFrame(buf, off, len, hd); },
          onClose: (e) => h.onClose(e),
          onDrain: () => h.onDrain?.(),
          onBackpressure: () => h.onBackpressure?.(),
        });
      }
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** Every thread link this file made: an open thread link keeps the process alive, so a failed test must not leave one. */
const threadLinks: ShmLink[] = [];

/** Both ends of a thread segment in this thread. */
function threadPair(opts: ShmLinkOptions & { ringBytes?: number } = {}): { a: ShmLink; b: ShmLink; buffer: SharedArrayBuffer; ringBytes: number } {
  const seg = createThreadSegment({ ringBytes: opts.ringBytes });
  const a = threadLink(seg, 0, opts);
  const b = threadLink(attachThreadSegment(seg.buffer as SharedArrayBuffer), 1, opts);
  threadLinks.push(a, b);
  return { a, b, buffer: seg.buffer as SharedArrayBuffer, ringBytes: seg.ringBytes };
}

/** Close the thread links a test left open (after a failure); returns how many there were. */
function closeStrayLinks(): number {
  const open = threadLinks.filter((l) => !l.closed);
  for (const l of open) l.peerGone();
  threadLinks.length = 0;
  return open.length;
}

/** A frame's bytes and close reason as seen by a started link. */
function collect(link: Link): { frames: Uint8Array[]; closed: Promise<unknown>; drains: number; pressure: number } {
  const out = { frames: [] as Uint8Array[], closed: null as unknown as Promise<unknown>, drains: 0, pressure: 0 };
  out.closed = new Promise((r) => {
    link.start({
      onFrame: (buf, off, len) => out.frames.push(buf.slice(off, off + len)),
      onClose: r,
      onDrain: () => { out.drains++; },
      onBackpressure: () => { out.pressure++; },
    });
  });
  return out;
}

/** Ring the doorbell of side 0 of a thread segment, as side 1's link would. */
function ringSide0(buffer: SharedArrayBuffer): void {
  const i32 = new Int32Array(buffer);
  Atomics.add(i32, SEG_OFF_BELL >> 2, 1);
  Atomics.notify(i32, SEG_OFF_BELL >> 2);
}

/** Ways a hostile side 1 can scribble in ring 1 (what side 0 reads). */
const HOSTILE: Record<string, (u32: Uint32Array, ring1: number, cap: number) => void> = {
  'producer index 3 rings ahead': (u32, ring1, cap) => { u32[(ring1 + RING_OFF_TAIL) >> 2] = (u32[(ring1 + RING_OFF_TAIL) >> 2]! + 3 * cap) >>> 0; },
  'unaligned producer index': (u32, ring1) => { u32[(ring1 + RING_OFF_TAIL) >> 2] = (u32[(ring1 + RING_OFF_TAIL) >> 2]! + 30) >>> 0; },
  'record length 7': (u32, ring1, cap) => record(u32, ring1, cap, 7, 64),
  'record longer than half the ring': (u32, ring1, cap) => record(u32, ring1, cap, cap / 2, 64),
  'record running past the published bytes': (u32, ring1, cap) => record(u32, ring1, cap, 1000, 64),
  'padding with nothing after it': (u32, ring1, cap) => {
    const tail = u32[(ring1 + RING_OFF_TAIL) >> 2]!;
    record(u32, ring1, cap, RECORD_WRAP, cap - (tail & (cap - 1)));
  },
};
function record(u32: Uint32Array, ring1: number, cap: number, head: number, publish: number): void {
  const tail = u32[(ring1 + RING_OFF_TAIL) >> 2]!;
  u32[(ring1 + RING_HEADER_BYTES + (tail & (cap - 1))) >> 2] = head >>> 0;
  Atomics.store(new Int32Array(u32.buffer), (ring1 + RING_OFF_TAIL) >> 2, (tail + publish) | 0);
}

// ---- the compliance suite between two ends in one thread ---------------------------------------

function threadHarness(opts: ShmLinkOptions & { ringBytes?: number } = {}): LinkHarness {
  return {
    async pair() {
      const { a, b } = threadPair(opts);
      // killB: what a worker's 'exit' handler does (threads cannot see each other die), on both ends.
      // garbageToA: what b can send is a ring record, so a 64-byte frame whose header is garbage.
      return { a, b, killB: () => { a.peerGone(); b.peerGone(); }, garbageToA: (bytes) => { b.send(bytes); } };
    },
  };
}

complianceSuite('shm (threads, one thread)', threadHarness());
complianceSuite('shm (threads, one thread, 4 KiB rings: frames wrap all the time)', threadHarness({ ringBytes: 4096 }));
complianceSuite("shm (threads, one thread, wake: 'poll')", threadHarness({ wake: 'poll' }));
complianceSuite('shm (threads, one thread, spinUs: 0: parks whenever the ring is empty)', threadHarness({ spinUs: 0 }));

// ---- the link between threads: its own behaviour -----------------------------------------------

const thr = suite('shm link (threads)');
let strayFromCompliance = 0;
thr.before(async () => {
  // a peer learns of a close through its doorbell, a moment later: give the last ones that moment
  await until(() => threadLinks.every((l) => l.closed), 'the compliance suites\' links to close', 5000).catch(() => {});
  strayFromCompliance = closeStrayLinks();
});
thr.after.each(() => { closeStrayLinks(); });

thr('frames the peer committed before it went are delivered, then the link closes LinkIo', async () => {
  const { a, b } = threadPair();
  const rx = collect(a);
  b.start({ onFrame: () => {}, onClose: () => {} });
  const sent = [0, 1, 2, 3, 4].map((i) => makeFrame(i, i * 100));
  for (const f of sent) assert.ok(b.send(f));
  a.peerGone(); // before a has had a turn
  assert.equal(rx.frames, sent);
  assert.is(codeOf(await within(rx.closed, 10_000, 'close')), ERR_LINK_IO);
  b.close();
});

thr('peerGone() before start() (a worker that exited before its link was used): no throw; start() reports LinkIo', async () => {
  const { a, b } = threadPair();
  b.start({ onFrame: () => {}, onClose: () => {} });
  assert.ok(b.send(makeFrame(1, 10)), 'a frame waits in the ring');
  a.peerGone(); // threw a TypeError (no handlers to hand the frame to) before the fix
  assert.ok(a.closed);
  const rx = collect(a);
  assert.is(codeOf(await within(rx.closed, 10_000, 'close')), ERR_LINK_IO);
  assert.is(rx.frames.length, 0);
  b.close();
});

thr('close() with frames queued for a peer that never reads gives up after lingerMs; the rest is counted dropped', async () => {
  const { a, b } = threadPair({ ringBytes: 4096, lingerMs: 50 });
  const tx = collect(a);
  b.start({ onFrame: () => {}, onClose: () => {} });
  b.pauseReading(); // a stopped peer: it holds the link open and reads nothing
  for (let i = 0; i < 60; i++) a.send(makeFrame(i, 180));
  a.close();
  assert.is(await within(tx.closed, 10_000, 'close after the linger'), null);
  assert.ok(a.stats.dropped > 0);
  b.close();
});

for (const spinUs of [50, 0]) {
thr(`a full ring (spinUs ${spinUs}): send returns false, onBackpressure once, onDrain when the reader made room, nothing lost`, async () => {
  // spinUs 0: both ends park at once, so only the waiting flag wakes the producer each time the
  // consumer has made room; a flag not set again after a partial flush lost that wake-up.
  const { a, b } = threadPair({ ringBytes: 4096, spinUs });
  const tx = collect(a);
  const rx = collect(b);
  b.pauseReading();
  const sent: Uint8Array[] = [];
  const accepted: boolean[] = [];
  for (let i = 0; i < 100; i++) { const f = makeFrame(i, 180); sent.push(f); accepted.push(a.send(f)); }
  assert.ok(accepted.slice(0, 15).every(Boolean), 'the first frames went into the ring');
  assert.is(accepted.indexOf(false) > 0 && accepted.slice(accepted.indexOf(false)).every((x) => !x), true, 'then send says false');
  assert.is(tx.pressure, 1);
  await new Promise((r) => setTimeout(r, 20));
  assert.is(rx.frames.length, 0, 'paused: nothing read');
  b.resumeReading();
  await until(() => rx.frames.length === 100 && tx.drains === 1, () => `all frames and one onDrain (got ${rx.frames.length} frames, ${tx.drains} drains)`);
  assert.equal(rx.frames, sent);
  a.close();
  assert.is(codeOf(await within(rx.closed, 10_000, 'b to see the close')), ERR_LINK_CLOSED);
  assert.is(await tx.closed, null);
});
}

thr('close() with frames waiting for room flushes them before the peer sees the close', async () => {
  const { a, b } = threadPair({ ringBytes: 4096 });
  const tx = collect(a);
  const rx = collect(b);
  b.pauseReading();
  const sent = Array.from({ length: 60 }, (_, i) => makeFrame(i, 300));
  for (const f of sent) a.send(f);
  a.close();
  assert.not.ok(a.closed, 'closing: waiting for room');
  b.resumeReading();
  assert.is(await within(tx.closed, 10_000, 'a to close'), null);
  assert.is(codeOf(await within(rx.closed, 10_000, 'b to see the close')), ERR_LINK_CLOSED);
  assert.equal(rx.frames, sent);
});

for (const [what, scribble] of Object.entries(HOSTILE)) {
  thr(`hostile peer thread, ${what}: LinkShmCorrupt (504), counted, calls end Unavailable, the peer is told`, async () => {
    const { a, b, buffer, ringBytes } = threadPair({ ringBytes: 65536 });
    const server = serve(Thermo, thermoImpl(), b, { heartbeatMs: 0 });
    const client = await connect(Thermo, a, { heartbeatMs: 0 });
    assert.is((await client.read({ channel: 2 })).channel, 2);
    let linkErr: unknown;
    client.connection.onClose((e) => { linkErr = e; });
    const call = client.sleep({ ms: 60_000 }, { deadlineMs: 30_000 }).then(() => assert.unreachable('answered'), (e: unknown) => e);
    await until(() => server.connections.size === 1 && [...server.connections][0]!.serving_ > 0, 'the call to arrive');
    scribble(new Uint32Array(buffer), ringOffset(ringBytes, 1), ringBytes);
    ringSide0(buffer);
    const e = await within(call, 10_000, 'the call to end');
    assert.is(codeOf(e), RpcCode.Unavailable);
    assert.is(causeOf(e), ERR_LINK_SHM_CORRUPT);
    assert.is(codeOf(linkErr), ERR_LINK_SHM_CORRUPT);
    assert.match((linkErr as Error).message, 'corrupted by the peer');
    assert.is(a.stats.errMalformed, 1);
    // the other end learns that this one is gone (else it would wait forever: threads cannot see it)
    await within(until(() => b.closed && server.connections.size === 0, 'b to close'), 10_000, 'the peer to be told');
    await client.read({ channel: 1 }).then(() => assert.unreachable('call on a dead link'), (err) => assert.ok(([RpcCode.Closed, RpcCode.Unavailable] as number[]).includes(codeOf(err))));
    await server.close();
  });
}

thr('an open thread link keeps its thread alive; once closed it does not (a parked waitAsync holds nothing)', async () => {
  const p = new Peer(['keepalive']);
  await p.line((l) => l === 'echoed', 'the echo');
  await p.line((l) => l === 'closed', 'the close by the unref\'d timer: the links kept the process alive until then');
  assert.is(await p.line((l) => l.startsWith('exit'), 'the exit'), 'exit after close');
  assert.is(await within(p.exited, 30_000, 'exit'), 0);
});

// ---- a real worker ------------------------------------------------------------------------------

const wrk = suite('shm link (a worker thread)');

for (const [what, opts] of [['1 MiB rings', {}], ['4 KiB rings, spinUs 0', { ringBytes: 4096, spinUs: 0 }]] as const) {
wrk(`1000 concurrent calls to a worker (${what}); terminate() mid-call ends the calls in flight Unavailable`, async () => {
  const seg = createThreadSegment({ ringBytes: (opts as { ringBytes?: number }).ringBytes });
  const linkOpts = { spinUs: (opts as { spinUs?: number }).spinUs };
  // A .ts worker entry under tsx on Node 20 needs tsx registered inside the worker first.
  const worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(workerUrl)}); })`, { eval: true, workerData: { buffer: seg.buffer, opts: linkOpts } });
  const link = threadLink(seg, 0, linkOpts);
  threadLinks.push(link);
  const exited = new Promise<number>((r) => worker.once('exit', (code) => { link.peerGone(); r(code); }));
  worker.on('error', (e) => { console.error('shm worker:', e); });
  try {
    await within(new Promise((r) => worker.once('message', r)), 30_000, 'the worker to start');
    const client = await within(connect(Thermo, link, { heartbeatMs: 0 }), 10_000, 'HELLO');
    const calls = [];
    for (let i = 0; i < 1000; i++) calls.push(client.read({ channel: i % 8 }).then((r) => [i, r] as const));
    const results = await within(Promise.all(calls), 30_000, '1000 calls');
    for (const [i, r] of results) { assert.is(r.channel, i % 8); assert.is(r.temp, 20 + (i % 8) / 2); }
    assert.is(new Set(results.map(([, r]) => r.seq)).size, 1000);
    const inFlight = [client.sleep({ ms: 60_000 }, { deadlineMs: 30_000 }), client.sleep({ ms: 60_000 }, { deadlineMs: 30_000 })].map((c) => c.then(() => 0, codeOf));
    await until(() => client.connection.inFlight === 2, 'calls in flight');
    await new Promise((r) => setTimeout(r, 20));
    void worker.terminate();
    assert.equal(await within(Promise.all(inFlight), 15_000, 'the calls to end'), [RpcCode.Unavailable, RpcCode.Unavailable]);
    assert.is(await exited, 1);
    assert.ok(link.closed);
    await client.close();
  } finally {
    void worker.terminate();
  }
});
}

// ---- processes -------------------------------------------------------------------------------------

/** A server in this process: acceptShm on a Unix socket (or a plain one: an older server). */
async function localServer(opts: ShmUpgradeOptions & { plain?: boolean } = {}): Promise<{ path: string; close(): Promise<void>; upgrades: string[] }> {
  const path = sockPath('shm');
  const l = await listenUnix(path);
  const upgrades: string[] = [];
  const { plain, ...rest } = opts;
  const server = serve(Thermo, thermoImpl(), plain === true ? l : acceptShm(l, { ...rest, onUpgrade: (s, r) => { upgrades.push(r === undefined ? s : `${s}: ${r}`); } }), { heartbeatMs: 0 });
  return { path, upgrades, close: () => server.close() };
}

/** The segment connectLocal just made (by name, without '/'). */
async function offeredSegment(path: string, opts?: ShmUpgradeOptions): Promise<{ link: ShmUpgradeLink; name: string }> {
  const before = new Set(ourSegments());
  const link = await connectLocal(path, opts);
  const made = ourSegments().filter((f) => !before.has(f));
  assert.is(made.length, 1, 'connectLocal made one segment');
  return { link, name: made[0]! };
}

type Test = ReturnType<typeof suite>;
/** Register a test that needs process segments, or report it skipped with the loader's reason. */
function proc(s: Test, name: string, fn: () => Promise<void>): void {
  if (!processesOk) { skipDeclared(s, name, noProcessReason); return; }
  s(name, fn);
}

// The upgrade to a peer process, through the shared suite: 1000 calls, typed errors, a stream,
// then the peer SIGKILLed mid-call, then SIGSTOPped (heartbeat). Every link must have moved to
// shared memory (checked by the suite after it: the shared suite cannot see `state`).
const upgradeLinks: ShmUpgradeLink[] = [];
if (processesOk) {
  remoteComplianceSuite('shm upgrade over a Unix socket (peer process)', {
    async spawn() {
      const path = sockPath('shm-peer');
      const p = new Peer(['serve', path]);
      await p.line((l) => l.startsWith('ready'), 'ready');
      const link = await connectLocal(path);
      assert.is(link.state, 'offered', link.reason);
      upgradeLinks.push(link);
      return { link, kill: (sig) => p.kill(sig), exited: p.exited };
    },
  });
  remoteComplianceSuite('shm upgrade over a Unix socket, 4 KiB rings (peer process): wraps, full rings, doorbells both ways', {
    async spawn() {
      const path = sockPath('shm-peer');
      const p = new Peer(['serve', path]);
      await p.line((l) => l.startsWith('ready'), 'ready');
      const link = await connectLocal(path, { ringBytes: 4096 });
      upgradeLinks.push(link);
      return { link, kill: (sig) => p.kill(sig), exited: p.exited };
    },
  });
} else {
  const s = suite('Link compliance (peer process): shm upgrade over a Unix socket (peer process)');
  skipDeclared(s, 'the remote compliance suites over the shm upgrade (1 MiB and 4 KiB rings)', noProcessReason);
  s.run();
}

const up = suite('shm upgrade (peer process)');
up.after.each(noSegmentLeft);

proc(up, 'every link of the peer-process compliance suite above moved to shared memory', async () => {
  assert.ok(upgradeLinks.length >= 6, `${upgradeLinks.length} links`);
  for (const l of upgradeLinks) assert.is(l.state, 'shm', `state ${l.state}: ${l.reason}`);
});

proc(up, "'shm' after the first call; the name is unlinked while both processes map it; calls go through the rings", async () => {
  const path = sockPath('shm-peer');
  const p = new Peer(['serve', path]);
  const readyPid = Number((await p.line((l) => l.startsWith('ready'), 'ready')).split(' ')[1]);
  assert.is(readyPid, p.pid);
  const { link, name } = await offeredSegment(path);
  assert.is(link.state, 'offered');
  assert.ok(existsSync(`/dev/shm/${name}`), 'offered: the name exists');
  const client = await connect(Thermo, link, { heartbeatMs: 0 });
  assert.is((await client.read({ channel: 4 })).channel, 4);
  assert.is(link.state, 'shm', link.reason);
  assert.not.ok(existsSync(`/dev/shm/${name}`), 'the name is gone once both have mapped it');
  const mapped = (pid: number | 'self'): boolean => readFileSync(`/proc/${pid}/maps`, 'utf8').includes(`/dev/shm/${name} (deleted)`);
  assert.ok(mapped('self'), 'mapped here');
  assert.ok(mapped(p.pid), 'mapped by the peer');
  const shm = link.shmLink!;
  const before = shm.stats.framesIn;
  for (let i = 0; i < 200; i++) assert.is((await client.read({ channel: i % 8 })).channel, i % 8);
  assert.is(shm.stats.framesIn - before, 200, 'the answers came through ring 1');
  const echoed = await client.echo({ text: 'x'.repeat(50_000) });
  assert.is(echoed.text.length, 50_000);
  await client.goodbye();
  assert.is(await within(p.exited, 30_000, 'the peer to exit'), 0);
  assert.not.ok(mapped('self'), 'unmapped here after the close');
});

proc(up, 'a client process SIGKILLed after the upgrade: the server ends its connection and aborts the handler', async () => {
  const path = sockPath('shm');
  const l = await listenUnix(path);
  const log = { cancelled: 0, streamReturned: 0, maxBuffered: 0 };
  const errors: number[] = [];
  const server = serve(Thermo, thermoImpl(log), acceptShm(l), { heartbeatMs: 0, onConnectionError: (e) => { errors.push(e.code); } });
  try {
    const p = new Peer(['client-hold', path]);
    assert.is(await p.line((x) => x.startsWith('holding'), 'the client to hold a call'), 'holding shm');
    await until(() => [...server.connections][0]?.serving_ === 1, 'the call to be served');
    p.kill('SIGKILL');
    await within(until(() => log.cancelled === 1 && server.connections.size === 0, 'the handler aborted, the connection gone'), 15_000, 'the server to notice');
    assert.equal(errors, [ERR_LINK_IO], 'the link ends LinkIo: the client died without closing');
    await p.exited;
  } finally {
    await server.close();
  }
});

/** Our side of a raw peer (shm-peer.ts raw): side 0 of a segment we made, a Unix socket as bell. */
async function rawPeer(ringBytes = 65536): Promise<{ p: Peer; link: ShmLink; client: Client<typeof Thermo>; callIds: number[]; linkErr: () => unknown }> {
  const seg = createProcessSegment({ ringBytes });
  const path = sockPath('shm-raw');
  const l = await listenUnix(path);
  const accepted = new Promise<Link>((r) => { l.onLink = r; });
  const p = new Peer(['raw', path, seg.name!, String(seg.ringBytes), String(seg.epoch)]);
  const sock = await within(accepted, 30_000, 'the peer to connect');
  await p.line((x) => x === 'ready', 'ready');
  assert.ok(unlinkSegment(seg.name!), 'unlinked after both mapped it');
  await l.close();
  const link = processLink(seg, 0, sock);
  const callIds: number[] = [];
  const client = await within(connect(Thermo, tap(link, callIds), { heartbeatMs: 0 }), 10_000, 'HELLO');
  let err: unknown;
  client.connection.onClose((e) => { err = e; });
  assert.is((await client.read({ channel: 1 })).channel, 1);
  return { p, link, client, callIds, linkErr: () => err };
}

proc(up, 'peer SIGKILLed in the middle of writing a record: calls end Unavailable, the half record is never delivered', async () => {
  const { p, link, client, callIds, linkErr } = await rawPeer();
  const calls = [client.sleep({ ms: 60_000 }, { deadlineMs: 20_000 }), client.sleep({ ms: 60_000 }, { deadlineMs: 20_000 })].map((c) => c.then(() => 0, codeOf));
  await until(() => client.connection.inFlight === 2, 'calls in flight');
  const framesBefore = link.stats.framesIn;
  const ringsBefore = link.ringsIn;
  p.send('half');
  await p.line((x) => x === 'half done', 'half written');
  await until(() => link.ringsIn > ringsBefore, 'the doorbell after the half record');
  await new Promise((r) => setTimeout(r, 20)); // a few turns: nothing must come of it
  assert.is(link.stats.framesIn, framesBefore);
  assert.is(client.connection.inFlight, 2);
  p.kill('SIGKILL');
  const codes = await within(Promise.all(calls), 15_000, 'the calls to end');
  for (const c of codes) assert.ok(c === RpcCode.Unavailable || c === RpcCode.Closed, `ended ${c}`);
  assert.is(codeOf(linkErr()), ERR_LINK_IO, 'the peer died without closing');
  assert.ok(link.closed);
  assert.is(link.stats.framesIn, framesBefore, 'the half record was not delivered');
  assert.is(link.stats.errMalformed, 0);
  assert.not.ok(callIds.includes(HALF_CALL_ID));
  await within(p.exited, 30_000, 'the peer to be gone');
  await client.close();
});

for (const cmd of ['garbage-tail', 'garbage-len', 'garbage-big']) {
  proc(up, `hostile peer process (${cmd}): LinkShmCorrupt (504), counted, calls end Unavailable, the peer is let go`, async () => {
    const { p, link, client, linkErr } = await rawPeer();
    const call = client.sleep({ ms: 60_000 }, { deadlineMs: 20_000 }).then(() => assert.unreachable('answered'), (e: unknown) => e);
    await until(() => client.connection.inFlight === 1, 'call in flight');
    p.send(cmd);
    const e = await within(call, 15_000, 'the call to end');
    assert.is(codeOf(e), RpcCode.Unavailable);
    assert.is(causeOf(e), ERR_LINK_SHM_CORRUPT);
    assert.is(codeOf(linkErr()), ERR_LINK_SHM_CORRUPT);
    assert.is(link.stats.errMalformed, 1);
    // we closed the bell: the peer's link sees us gone and it exits
    assert.is(await within(p.exited, 30_000, 'the peer to see the bell close'), 0);
    await client.read({ channel: 1 }).then(() => assert.unreachable('call on a dead link'), (err) => assert.ok(([RpcCode.Closed, RpcCode.Unavailable] as number[]).includes(codeOf(err))));
    await client.close();
  });
}

// ---- permissions ----------------------------------------------------------------------------------

const perm = suite('shm upgrade: permissions');
perm.after.each(noSegmentLeft);

proc(perm, 'a segment is created 0600 and owned by this user', async () => {
  const seg = createProcessSegment({ ringBytes: 4096 });
  try {
    const st = statSync(`/dev/shm${seg.name}`);
    assert.is(st.mode & 0o777, 0o600);
    assert.is(st.uid, uid);
    assert.ok(st.isFile());
  } finally {
    unlinkSegment(seg.name!);
    seg.release();
  }
});

proc(perm, 'while offered the segment is 0600 and ours; a segment of another mode is refused, calls go on over the socket', async () => {
  const srv = await localServer();
  try {
    const { link, name } = await offeredSegment(srv.path);
    const st = statSync(`/dev/shm/${name}`);
    assert.is(st.mode & 0o777, 0o600);
    assert.is(st.uid, uid);
    chmodSync(`/dev/shm/${name}`, 0o644);
    const client = await connect(Thermo, link, { heartbeatMs: 0 });
    // the server's HELLO comes at once; the offer is settled before the answer to the first call
    assert.is((await client.read({ channel: 6 })).channel, 6);
    assert.is(link.state, 'refused');
    assert.match(link.reason, 'mode 0644, not 0600');
    assert.match(link.reason, 'code 503');
    assert.is(srv.upgrades.length, 1);
    assert.match(srv.upgrades[0]!, /^refused: /);
    assert.not.ok(existsSync(`/dev/shm/${name}`), 'the client removed its refused segment');
    for (let i = 0; i < 20; i++) assert.is((await client.read({ channel: i % 8 })).channel, i % 8);
    assert.is(link.shmLink, null);
    await client.close();
  } finally {
    await srv.close();
  }
});

proc(perm, 'a segment of another owner is refused (as root: chown)', async () => {
  if (uid !== 0) return skipTest('chown to another owner needs root');
  const srv = await localServer();
  try {
    const { link, name } = await offeredSegment(srv.path);
    chownSync(`/dev/shm/${name}`, 65534, 65534);
    const client = await connect(Thermo, link, { heartbeatMs: 0 });
    assert.is((await client.read({ channel: 5 })).channel, 5);
    assert.is(link.state, 'refused');
    assert.match(link.reason, 'owned by uid 65534');
    assert.not.ok(existsSync(`/dev/shm/${name}`), 'the client removed its refused segment');
    await client.close();
  } finally {
    await srv.close();
  }
});

// ---- fallbacks -----------------------------------------------------------------------------------

const fb = suite('shm upgrade: fallbacks');
fb.after.each(noSegmentLeft);

proc(fb, "a server that refuses ('turned off'): state 'refused' with the reason, calls work, the segment is removed", async () => {
  const srv = await localServer({ refuse: 'turned off' });
  try {
    const { link, name } = await offeredSegment(srv.path);
    const client = await connect(Thermo, link, { heartbeatMs: 0 });
    assert.is((await client.read({ channel: 7 })).channel, 7);
    assert.is(link.state, 'refused');
    assert.match(link.reason, 'turned off');
    assert.equal(srv.upgrades, ['refused: turned off']);
    assert.not.ok(existsSync(`/dev/shm/${name}`));
    for (let i = 0; i < 20; i++) assert.is((await client.read({ channel: i % 8 })).channel, i % 8);
    await client.read({ channel: 9 }).then(() => assert.unreachable('sensorFault'), (e) => assert.is(codeOf(e), 1001));
    await client.close();
  } finally {
    await srv.close();
  }
});

proc(fb, "an older server that ignores the offer: calls work, state stays 'offered', no segment after the close", async () => {
  const srv = await localServer({ plain: true });
  try {
    const { link, name } = await offeredSegment(srv.path);
    const client = await connect(Thermo, link, { heartbeatMs: 0 });
    for (let i = 0; i < 20; i++) assert.is((await client.read({ channel: i % 8 })).channel, i % 8);
    assert.is(link.state, 'offered');
    assert.ok(existsSync(`/dev/shm/${name}`), 'kept while the link is open');
    await client.close();
    assert.not.ok(existsSync(`/dev/shm/${name}`), 'removed with the link');
  } finally {
    await srv.close();
  }
});

proc(fb, "an older server that closes before answering: the offered segment goes with the link", async () => {
  const path = sockPath('shm-gone');
  const l = await listenUnix(path);
  l.onLink = (s) => { s.start({ onFrame: () => { s.close(); }, onClose: () => {} }); };
  try {
    const { link, name } = await offeredSegment(path);
    await connect(Thermo, link, { heartbeatMs: 0, helloTimeoutMs: 10_000 }).then(() => assert.unreachable('connected'), (e) => assert.ok(([RpcCode.Closed, RpcCode.Unavailable] as number[]).includes(codeOf(e))));
    assert.not.ok(existsSync(`/dev/shm/${name}`));
  } finally {
    await l.close();
  }
});

for (const [env, want] of [['0', 'CELL_SHM_ADDON=0'], ['/nonexistent/cell_shm.node', 'npm run build:native']] as const) {
  fb(`a client without the addon (CELL_SHM_ADDON=${env}): state 'socket', the reason says '${want}', calls work`, async () => {
    const srv = await localServer();
    try {
      const p = new Peer(['client', srv.path], { ...process.env, CELL_SHM_ADDON: env });
      const got = JSON.parse(await p.line((l) => l.startsWith('{'), 'the result')) as { state: string; reason: string; channel: number };
      assert.is(got.state, 'socket');
      assert.match(got.reason, want);
      assert.is(got.channel, 3);
      assert.is(await within(p.exited, 30_000, 'the client to exit'), 0);
      assert.equal(srv.upgrades, [], 'nothing was offered');
    } finally {
      await srv.close();
    }
  });
}

proc(fb, 'reclaimStaleSegments removes a segment whose creator is dead, keeps live ones and foreign names', async () => {
  const dead = spawn(process.execPath, ['-e', '']);
  const deadPid = dead.pid!;
  await new Promise((r) => dead.once('exit', r));
  ourPids.add(deadPid);
  const stale = `/dev/shm/cell-${uid}-${deadPid}-deadbeef`;
  const live = `/dev/shm/cell-${uid}-${process.pid}-0badf00d`;
  const foreign = `/dev/shm/cell-${uid}-${deadPid}-notours`;
  for (const f of [stale, live, foreign]) writeFileSync(f, new Uint8Array(64), { mode: 0o600 });
  try {
    const removed = reclaimStaleSegments();
    // (another process's createProcessSegment may have reclaimed it first: the count is then 0)
    assert.not.ok(existsSync(stale), `the dead creator's segment is gone (${removed} removed here)`);
    assert.ok(existsSync(live), 'a live creator keeps its segment');
    assert.ok(existsSync(foreign), 'a name that is not a Cell segment name is left alone');
  } finally {
    for (const f of [stale, live, foreign]) { try { unlinkSync(f); } catch { /* gone */ } }
  }
});

// ---- the offer, as the server reads it --------------------------------------------------------------

/** A HELLO frame with a shared-memory offer of `name` (a segment that does not exist). */
function offerHello(name: string, ringBytes = 65536, epoch = 0x1234abcd): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const body = new Uint8Array(SHM_OFFER_OFF_NAME + nameBytes.length);
  writeU32LE(body, SHM_OFFER_OFF_RING_BYTES, ringBytes);
  writeU32LE(body, SHM_OFFER_OFF_EPOCH, epoch);
  body[SHM_OFFER_OFF_NAME_LEN] = nameBytes.length;
  body.set(nameBytes, SHM_OFFER_OFF_NAME);
  const payload = encodeHello({
    version: RPC_PROTOCOL_VERSION, flags: HELLO_FLAG_CALLING, heartbeatMs: 0, maxFrameBytes: 65536, cellName: 'thermo', entries: [],
    extensions: encodeHelloExtension(HELLO_EXT_SHM_OFFER, body),
  });
  return helloFrame(payload);
}
function helloFrame(payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(HEADER_BYTES + payload.length);
  const h = new Header();
  h.kind = KIND_HELLO; h.length = payload.length;
  writeHeader(h, f, 0);
  f.set(payload, HEADER_BYTES);
  return f;
}

/**
 * One HELLO to a fresh server-side upgrade link over a memory link: it must hand the HELLO up
 * exactly once, throw nothing, and answer at most a REFUSE (never ACCEPT: no such segment).
 */
async function offerTo(frame: Uint8Array): Promise<'refused' | 'ignored'> {
  const [c, srvSock] = memoryPair({ mtu: 1 << 16 });
  const srv = ShmUpgradeLink.accept(srvSock);
  const up: number[] = [];
  srv.start({ onFrame: (buf, off) => { up.push(buf[off + 1]! & 0x0f); }, onClose: () => {} });
  const back: { kind: number; channel: number; op: number }[] = [];
  c.start({ onFrame: (buf, off) => { back.push({ kind: buf[off + 1]! & 0x0f, channel: buf[off + 3]!, op: readU32LE(buf, off + 4) }); }, onClose: () => {} });
  c.send(frame);
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  assert.equal(up, [KIND_HELLO], 'the HELLO is handed up once');
  srv.close();
  c.close();
  if (back.length === 0) { assert.is(srv.state, 'socket'); return 'ignored'; }
  assert.is(back.length, 1);
  assert.equal(back[0], { kind: KIND_PING, channel: CHANNEL_LINK, op: LINK_OP_SHM_REFUSE }, 'only ever a REFUSE');
  assert.is(srv.state, 'refused');
  assert.ok(srv.reason.length > 0);
  return 'refused';
}

const offer = suite('shm upgrade: offers as the server reads them');
offer.after.each(noSegmentLeft);

offer('a well-formed offer of a segment that does not exist is refused with the reason', async () => {
  assert.is(await offerTo(offerHello(`/cell-${uid}-${process.pid}-0000abcd`)), 'refused');
  assert.is(await offerTo(offerHello(`/cell-${uid + 1}-${process.pid}-0000abcd`)), 'refused', 'another user\'s name');
  assert.is(await offerTo(offerHello('/../../etc/passwd')), 'refused', 'not a segment name');
  assert.is(await offerTo(offerHello(`/cell-${uid}-${process.pid}-0000abcd`, 1000)), 'refused', 'not a power of two');
});

offer('the HELLO payload cut at every offset: refused or ignored, never a throw', async () => {
  const full = offerHello(`/cell-${uid}-${process.pid}-0000abcd`);
  const payload = full.subarray(HEADER_BYTES);
  const seen = { refused: 0, ignored: 0 };
  for (let n = 0; n <= payload.length; n++) seen[await offerTo(helloFrame(payload.slice(0, n)))]++;
  assert.is(seen.refused, 1, 'only the whole offer is read as one');
  assert.is(seen.ignored, payload.length);
});

offer('fuzz: 3000 HELLOs with mutated, cut or extended offers: refused or ignored, never a throw', async () => {
  const rnd = new Prng(0x0ffe2);
  const full = offerHello(`/cell-${uid}-${process.pid}-0000abcd`);
  const payload = full.subarray(HEADER_BYTES);
  const seen = { refused: 0, ignored: 0 };
  for (let i = 0; i < 3000; i++) {
    let p = payload.slice();
    const what = rnd.below(10);
    if (what < 6) {
      for (let k = 1 + rnd.below(4); k > 0; k--) {
        // mostly in the offer (the tail of the payload), sometimes anywhere
        const at = rnd.below(3) === 0 ? rnd.below(p.length) : p.length - 1 - rnd.below(Math.min(p.length, 40));
        p[at] = rnd.below(4) === 0 ? [0, 0xff, 1, 9][rnd.below(4)]! : rnd.next() & 0xff;
      }
    } else if (what < 8) {
      p = p.slice(0, rnd.below(p.length + 1));
    } else {
      const q = new Uint8Array(p.length + 1 + rnd.below(40));
      q.set(p);
      rnd.fill(q, p.length);
      p = q;
    }
    seen[await offerTo(helloFrame(p))]++;
  }
  assert.ok(seen.refused > 300 && seen.ignored > 300, JSON.stringify(seen));
});

const end = suite('shm: nothing left');
end('no test left a segment in /dev/shm, a thread link open or a peer process running', async () => {
  noSegmentLeft({ __test__: 'the file as a whole' });
  assert.is(strayFromCompliance, 0, 'thread links the compliance suites left open');
  assert.is(closeStrayLinks(), 0, 'thread links left open');
  assert.equal(leaks, [], 'tests that left shared-memory segments');
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill('SIGKILL');
  assert.equal(running.map((c) => c.pid), [], 'peers still running');
});

thr.run();
wrk.run();
up.run();
perm.run();
fb.run();
offer.run();
end.run();
