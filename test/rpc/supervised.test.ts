// The supervised client (src/rpc/supervised.ts) over a fake ConnectionSource driven by hand: real
// Connections to Thermo cells served on memory links, handed out on demand and killed at will.
// What a call, stream, event or `send` does while nothing is connected, which calls go again to
// the next connection, the state sequence and close(). Every test takes milliseconds; none
// asserts on wall-clock time (deadlines only bound how long a call may wait).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  RpcCode, rpcError, supervisedClient, type Connection, type ConnectionSource, type Impl, type SourceHost,
  type SupervisedClient, type SupervisedOptions, type SupervisedState,
} from '../../src/rpc/index.ts';
import { CellError } from '../../src/wire/cell-error.ts';
import { Thermo } from './fixtures/thermo.ts';
import { thermoImpl } from './fixtures/impl.ts';
import { codeOf, readyConnection, servedCell, tick, until, type ServedCell } from './memory-cell.ts';

type T = typeof Thermo;

interface Session { readonly n: number; readonly cell: ServedCell<T>; readonly conn: Connection }

/**
 * A ConnectionSource the test drives: `open()` serves a new Thermo cell (the n-th gets
 * `makeImpl(n, kill)`) and reports its connection up; with `auto`, every `demand()` does that.
 * Records what the client asked of it.
 */
class FakeSource implements ConnectionSource {
  host: SourceHost | null = null;
  auto = false;
  makeImpl: (n: number, kill: () => void) => Impl<T> = () => thermoImpl();
  readonly sessions: Session[] = [];
  readonly drops: { n: number; why: 'failed' | 'closed' }[] = [];
  readonly overloads: Connection[] = [];
  readonly stops: boolean[] = [];
  starts = 0;
  demands = 0;
  private opening: Promise<Session> | null = null;

  start(host: SourceHost): void { this.starts++; this.host = host; }

  demand(): void {
    this.demands++;
    if (this.auto && this.opening === null) this.opening = this.open().finally(() => { this.opening = null; });
  }

  dropped(conn: Connection, why: 'failed' | 'closed'): void {
    this.drops.push({ n: this.sessions.find((s) => s.conn === conn)?.n ?? -1, why });
    void conn.close();
  }

  overloaded(conn: Connection): void { this.overloads.push(conn); }

  unavailable(waitedMs?: number): CellError {
    return new CellError(RpcCode.Unavailable, 'fake source: nothing connected', { fake: true, waitedMs });
  }

  async stop(graceful: boolean): Promise<void> {
    this.stops.push(graceful);
    await Promise.all(this.sessions.map((s) => (graceful ? s.conn.goodbye() : s.conn.close())));
  }

  /** A new session (cell served, HELLO done), not yet reported. */
  async connect(): Promise<Session> {
    const n = this.sessions.length + 1;
    let kill = (): void => {};
    const cell = servedCell(Thermo, this.makeImpl(n, () => kill()));
    kill = cell.kill;
    const conn = await readyConnection(Thermo, cell.link);
    const s = { n, cell, conn };
    this.sessions.push(s);
    return s;
  }

  /** A new session, reported up to the client. */
  async open(): Promise<Session> {
    const s = await this.connect();
    this.host!.up(s.conn);
    return s;
  }

  get last(): Session { return this.sessions[this.sessions.length - 1]!; }
}

/** `{ ok: value }` or `{ err: code }`: a promise observed at once (no unhandled rejection while a test awaits something else). */
function outcome<V>(p: Promise<V>): Promise<{ ok: V } | { err: number }> {
  return p.then((ok) => ({ ok }), (e: unknown) => ({ err: codeOf(e) }));
}

function setup(opts: SupervisedOptions = {}): { src: FakeSource; t: SupervisedClient<T> } {
  const src = new FakeSource();
  const t = supervisedClient(Thermo, src, opts);
  return { src, t };
}

/** A Thermo impl whose `read` answers `{ channel, temp: n, seq }`: the temp says which session answered. */
function tagged(n: number): Impl<T> {
  return { ...thermoImpl(), read: (req) => ({ channel: req.channel, temp: n, seq: 0 }) };
}

// ---------------------------------------------------------------------------------------------
const down = suite('supervised: calls while nothing is connected');

down('whileDown fail: a call fails Unavailable at once with the source\'s error, and asks for nothing', async () => {
  const { src, t } = setup({ whileDown: 'fail' });
  assert.is(src.starts, 1);
  assert.not.ok(t.isReady);
  assert.is(t.connection, null);
  assert.is(t.peer, null);
  assert.is(t.stats, null);
  await t.read({ channel: 1 }).then(() => assert.unreachable(), (e) => {
    assert.is(codeOf(e), RpcCode.Unavailable);
    assert.is((e as CellError).detail?.fake, true);
  });
  await t.describe().then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  assert.is(src.demands, 0);
  await t.close();
});

down('whileDown fail: once up, calls go to the connection; after it dies they fail Unavailable again', async () => {
  const { src, t } = setup({ whileDown: 'fail' });
  const s = await src.open();
  assert.ok(t.isReady);
  assert.is(t.connection, s.conn);
  assert.is(t.peer?.cellName, 'thermo');
  assert.is(t.sessionCount, 1);
  assert.equal(await t.greet({ who: 'ana' }), { text: 'hello ana', n: 3 });
  assert.is((await t.describe()).name, 'thermo');
  s.cell.kill();
  await until(() => !t.isReady, 'the loss');
  await t.read({ channel: 1 }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  await t.close();
});

down('whileDown wait: a call waits, asks the source to look, and succeeds once a connection is up', async () => {
  const { src, t } = setup({ whileDown: 'wait', waitMs: 5000 });
  let settled = false;
  const p = t.read({ channel: 3 }).finally(() => { settled = true; });
  await tick(5);
  assert.not.ok(settled);
  assert.ok(src.demands >= 1, 'demand() was called');
  await src.open();
  const r = await p;
  assert.is(r.channel, 3);
  await t.close();
});

down('whileDown wait: describe() waits for the connection too', async () => {
  const { src, t } = setup({ whileDown: 'wait' });
  const p = t.describe();
  await tick(2);
  await src.open();
  assert.is((await p).name, 'thermo');
  await t.close();
});

down('whileDown wait: a call fails Unavailable at its own deadline when nothing comes up', async () => {
  const { src, t } = setup({ whileDown: 'wait', waitMs: 60_000 });
  const t0 = performance.now();
  await t.read({ channel: 1 }, { deadlineMs: 30 }).then(() => assert.unreachable(), (e) => {
    assert.is(codeOf(e), RpcCode.Unavailable);
    assert.is((e as CellError).detail?.fake, true);
  });
  assert.ok(performance.now() - t0 < 10_000, 'ended at its deadline, not after waitMs');
  assert.ok(src.demands >= 1);
  await t.close();
});

down('whileDown wait: a call without a deadline waits waitMs', async () => {
  const { t } = setup({ whileDown: 'wait', waitMs: 20 });
  await t.read({ channel: 1 }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  await t.close();
});

down('whileDown wait: aborting the signal while the call waits fails it Cancelled (and a later up does not revive it)', async () => {
  const { src, t } = setup({ whileDown: 'wait', waitMs: 5000 });
  const ac = new AbortController();
  const p = t.read({ channel: 1 }, { signal: ac.signal });
  await tick(2);
  ac.abort();
  await p.then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Cancelled));
  await src.open();
  assert.is(src.last.conn.stats.callsOut, 0, 'the aborted call was never sent');
  await t.close();
});

down('whileDown wait: an already aborted signal fails Cancelled at once', async () => {
  const { t } = setup({ whileDown: 'wait', waitMs: 5000 });
  const ac = new AbortController();
  ac.abort();
  await t.read({ channel: 1 }, { signal: ac.signal }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Cancelled));
  await t.close();
});

down('whenReady resolves on up, and rejects Unavailable after its timeout', async () => {
  const { src, t } = setup();
  await t.whenReady(10).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  const p = t.whenReady(5000);
  await src.open();
  await p;
  assert.ok(t.isReady);
  await t.close();
});

down.run();

// ---------------------------------------------------------------------------------------------
const retry = suite('supervised: retry policy');

/** Session 1 dies while `sleep` is in progress on it; every later session answers. */
function diesInSleep(n: number, kill: () => void): Impl<T> {
  return { ...tagged(n), sleep: () => { if (n === 1) { kill(); return new Promise(() => {}); } return { ok: n }; } };
}

retry('retry unavailable: a call whose connection died goes to the next connection', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable', waitMs: 5000 });
  src.makeImpl = diesInSleep;
  await src.open();
  src.auto = true;
  const r = await t.sleep({ ms: 1 });
  assert.is(r.ok, 2, 'answered by the second session');
  assert.is(src.sessions.length, 2);
  assert.is(t.connection, src.last.conn);
  assert.is(t.sessionCount, 2);
  await t.close();
});

retry('retry none: a call whose connection died fails Unavailable and is not sent again', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'none', waitMs: 5000 });
  src.makeImpl = diesInSleep;
  await src.open();
  src.auto = true;
  await t.sleep({ ms: 1 }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  await tick(5);
  for (const s of src.sessions.slice(1)) assert.is(s.conn.stats.callsOut, 0, `nothing sent on session ${s.n}`);
  await t.close();
});

retry('an application error is never retried, even with retry unavailable', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable' });
  await src.open();
  await t.read({ channel: 9 }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), 1001));
  assert.is(src.last.conn.stats.callsOut, 1);
  assert.is(src.sessions.length, 1);
  await t.close();
});

retry('maxAttempts bounds the attempts of a call whose connections keep dying', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable', maxAttempts: 3, waitMs: 5000 });
  let attempts = 0;
  src.makeImpl = (n, kill) => ({ ...tagged(n), sleep: () => { attempts++; kill(); return new Promise(() => {}); } });
  src.auto = true;
  await t.sleep({ ms: 1 }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  assert.is(attempts, 3);
  await t.close();
});

retry('maxAttempts 1: retry unavailable sends the call once only', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable', maxAttempts: 1, waitMs: 5000 });
  let attempts = 0;
  src.makeImpl = (n, kill) => ({ ...tagged(n), sleep: () => { attempts++; kill(); return new Promise(() => {}); } });
  src.auto = true;
  await t.sleep({ ms: 1 }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  assert.is(attempts, 1);
  await t.close();
});

retry('Overloaded: the source hears of it (overloaded(conn)) and the call goes again', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable' });
  let reads = 0;
  src.makeImpl = (n) => ({ ...tagged(n), read: (req) => { if (++reads === 1) throw rpcError(RpcCode.Overloaded, 'busy now'); return { channel: req.channel, temp: n, seq: reads }; } });
  const s = await src.open();
  const r = await t.read({ channel: 4 });
  assert.is(r.seq, 2);
  assert.is(src.overloads.length, 1);
  assert.is(src.overloads[0], s.conn);
  assert.is(src.drops.length, 0, 'an overloaded connection is not dropped');
  await t.close();
});

retry('Overloaded with retry none: the call fails Overloaded', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'none' });
  src.makeImpl = (n) => ({ ...tagged(n), read: () => { throw rpcError(RpcCode.Overloaded, 'busy now'); } });
  await src.open();
  await t.read({ channel: 4 }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Overloaded));
  assert.is(src.overloads.length, 0);
  await t.close();
});

retry('a live connection that answers Unavailable is dropped as failed and the call goes to the next one', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable', waitMs: 5000 });
  src.makeImpl = (n) => ({ ...tagged(n), read: (req) => { if (n === 1) throw rpcError(RpcCode.Unavailable, 'upstream gone'); return { channel: req.channel, temp: n, seq: 0 }; } });
  await src.open();
  src.auto = true;
  const r = await t.read({ channel: 1 });
  assert.is(r.temp, 2);
  assert.equal(src.drops, [{ n: 1, why: 'failed' }]);
  await t.close();
});

retry('retry unavailable: a call the server answers Closed (it shut down) goes to the next connection', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable', waitMs: 5000 });
  const s1 = await src.open();
  src.auto = true;
  const p = t.sleep({ ms: 60_000 });
  await until(() => s1.cell.serving() === 1, 'the call at the server');
  src.makeImpl = (n) => ({ ...tagged(n), sleep: () => ({ ok: n }) });
  void s1.cell.server.close();
  assert.equal(await p, { ok: 2 }, 'answered by the second session');
  assert.is(src.sessions.length, 2);
  await t.close();
});

retry('retry unavailable with whileDown fail: a call whose connection failed goes to a connection the source already has up', async () => {
  const { src, t } = setup({ whileDown: 'fail', retry: 'unavailable' });
  let answer: (() => void) | null = null;
  src.makeImpl = (n) => ({
    ...tagged(n),
    read: (req) => {
      if (n > 1) return { channel: req.channel, temp: n, seq: 0 };
      return new Promise((_res, rej) => { answer = () => rej(rpcError(RpcCode.Unavailable, 'upstream gone')); });
    },
  });
  await src.open();
  const p = t.read({ channel: 1 });
  await until(() => answer !== null, 'the call on session 1');
  await src.open(); // the source switched (e.g. a better provider) while the call was in flight
  answer!();
  const r = await p;
  assert.is(r.temp, 2, 'answered by session 2');
  await t.close();
});

retry('a call made after the peer said GOODBYE does not cut the calls it is finishing', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'none', waitMs: 5000 });
  const s1 = await src.open();
  src.auto = true;
  const p = outcome(t.sleep({ ms: 20 }));
  await until(() => s1.cell.serving() === 1, 'the call at the server');
  const bye = s1.cell.server.goodbye();
  await until(() => !s1.conn.isOpen, 'the GOODBYE');
  const r = await t.read({ channel: 2 }); // waits for (and gets) another connection
  assert.is(r.channel, 2);
  assert.equal(await p, { ok: { ok: 1 } }, 'the call in flight got its answer');
  await bye;
  await t.close();
});

retry('searchFailed: a waiting call with time left makes the source look again; Closed rejects it at once', async () => {
  const { src, t } = setup({ whileDown: 'wait', waitMs: 5000 });
  const p = t.read({ channel: 1 });
  await tick(2);
  const before = src.demands;
  src.host!.searchFailed(rpcError(RpcCode.Unavailable, 'nothing found yet'));
  await until(() => src.demands > before, 'another demand');
  src.host!.searchFailed(rpcError(RpcCode.Closed, 'the source stopped'));
  await p.then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Closed));
  await t.close();
});

retry.run();

// ---------------------------------------------------------------------------------------------
const events = suite('supervised: events, streams and state across reconnects');

events('an event subscribed once is delivered on the next connection after a reconnect; off stops it', async () => {
  const { src, t } = setup({ whileDown: 'fail' });
  const got: string[] = [];
  const fn = (a: { level: number; msg: string }): void => { got.push(`${a.level}:${a.msg}`); };
  t.on('alarm', fn); // before any connection
  const s1 = await src.open();
  s1.cell.server.emit('alarm', { level: 1, msg: 'first' });
  await until(() => got.length === 1, 'the first alarm');
  src.auto = true; // the client asks for a new connection by itself: it has subscriptions
  s1.cell.kill();
  await until(() => src.sessions.length === 2 && t.isReady, 'the reconnect');
  const s2 = src.last;
  s2.cell.server.emit('alarm', { level: 2, msg: 'second' });
  await until(() => got.length === 2, 'the second alarm');
  assert.equal(got, ['1:first', '2:second']);
  t.off('alarm', fn);
  s2.cell.server.emit('alarm', { level: 3, msg: 'third' });
  await tick(5);
  assert.equal(got, ['1:first', '2:second']);
  await t.close();
});

events('the function on() returns unsubscribes, and the subscription is not carried to the next connection', async () => {
  const { src, t } = setup();
  const got: number[] = [];
  const s1 = await src.open();
  const unsub = t.on('alarm', (a) => { got.push(a.level); });
  s1.cell.server.emit('alarm', { level: 1, msg: '' });
  await until(() => got.length === 1, 'the alarm');
  unsub();
  const s2 = await src.open(); // a switch: the source reports another connection
  s1.cell.server.emit('alarm', { level: 2, msg: '' });
  s2.cell.server.emit('alarm', { level: 3, msg: '' });
  await tick(5);
  assert.equal(got, [1]);
  await t.close();
});

events('a switch to another connection moves the subscriptions: no event from the old one, none twice', async () => {
  const { src, t } = setup();
  const got: number[] = [];
  t.on('alarm', (a) => { got.push(a.level); });
  const s1 = await src.open();
  const s2 = await src.open();
  assert.is(t.connection, s2.conn);
  s1.cell.server.emit('alarm', { level: 1, msg: '' });
  s2.cell.server.emit('alarm', { level: 2, msg: '' });
  await until(() => got.length >= 1, 'the alarm');
  await tick(5);
  assert.equal(got, [2]);
  await t.close();
});

events('on() of an event the cell does not declare throws', async () => {
  const { t } = setup();
  assert.throws(() => (t.on as (e: string, f: () => void) => void)('nope', () => {}), /no event "nope"/);
  await t.close();
});

events('whileDown fail: a stream opened while down rejects Unavailable on its first next()', async () => {
  const { t } = setup({ whileDown: 'fail' });
  const it = t.samples({ count: 3, failAt: 0 });
  await it.next().then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  assert.equal(await it.next(), { value: undefined, done: true });
  await t.close();
});

events('whileDown wait: a stream opened while down yields its items once a connection is up', async () => {
  const { src, t } = setup({ whileDown: 'wait', waitMs: 5000 });
  const it = t.samples({ count: 3, failAt: 0 });
  const items: number[] = [];
  const done = (async () => { for await (const s of it) items.push(s.i); })();
  await tick(5);
  await src.open();
  await done;
  assert.equal(items, [0, 1, 2]);
  await t.close();
});

events('whileDown wait: a stream opened while down fails Unavailable at its own deadline', async () => {
  const { t } = setup({ whileDown: 'wait', waitMs: 3000 });
  const t0 = performance.now();
  await t.samples({ count: 3, failAt: 0 }, { deadlineMs: 30 }).next().then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Unavailable));
  assert.ok(performance.now() - t0 < 2000, 'ended at its deadline, not after waitMs');
  await t.close();
});

events('whileDown wait: aborting a stream waiting for a connection fails it Cancelled', async () => {
  const { t } = setup({ whileDown: 'wait', waitMs: 60_000 });
  const ac = new AbortController();
  const p = t.samples({ count: 3, failAt: 0 }, { signal: ac.signal }).next();
  await tick(2);
  ac.abort();
  await p.then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Cancelled));
  await t.close();
});

events('a stream on a live connection works as on a plain client', async () => {
  const { src, t } = setup();
  await src.open();
  const items: number[] = [];
  for await (const s of t.samples({ count: 4, failAt: 0 })) items.push(s.i);
  assert.equal(items, [0, 1, 2, 3]);
  await t.close();
});

events('onState: open → lost (with the error) → reopened; a switch emits nothing', async () => {
  const { src, t } = setup();
  const seen: [SupervisedState, number | null][] = [];
  const unsub = t.onState((st, err) => { seen.push([st, err === null ? null : err.code]); });
  await src.open();
  await src.open(); // switch while up
  assert.equal(seen, [['open', null]]);
  src.last.cell.kill();
  await until(() => seen.length === 2, 'lost');
  assert.is(seen[1]![0], 'lost');
  assert.type(seen[1]![1], 'number', 'lost carries the link error');
  await src.open();
  assert.equal(seen.map((x) => x[0]), ['open', 'lost', 'reopened']);
  assert.is(t.sessionCount, 3);
  unsub();
  src.last.cell.kill();
  await tick(5);
  assert.is(seen.length, 3, 'unsubscribed');
  await t.close();
});

events('a lost connection is handed back to the source (dropped)', async () => {
  const { src, t } = setup();
  const s1 = await src.open();
  s1.cell.kill();
  await until(() => src.drops.length === 1, 'dropped');
  assert.equal(src.drops, [{ n: 1, why: 'failed' }]);
  const s2 = await src.open();
  await s2.conn.close(); // a clean close
  await until(() => src.drops.length === 2, 'dropped');
  assert.equal(src.drops[1], { n: 2, why: 'closed' });
  await t.close();
});

events.run();

// ---------------------------------------------------------------------------------------------
const closing = suite('supervised: close, goodbye and send');

closing('close() rejects waiting calls Closed and stops the source; later calls fail Closed', async () => {
  const { src, t } = setup({ whileDown: 'wait', waitMs: 5000 });
  const p = t.read({ channel: 1 });
  const r = t.whenReady();
  await tick(2);
  await t.close();
  await p.then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Closed));
  await r.then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Closed));
  assert.equal(src.stops, [false]);
  await t.read({ channel: 1 }).then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Closed));
  await t.describe().then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Closed));
  await t.samples({ count: 1, failAt: 0 }).next().then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Closed));
  await t.close(); // twice: once stopped
  assert.equal(src.stops, [false]);
});

closing('close() fails calls in flight Closed and they are not retried', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable' });
  const s = await src.open();
  src.auto = true;
  const p = t.sleep({ ms: 60_000 });
  await until(() => s.cell.serving() === 1, 'the call at the server');
  await t.close();
  await p.then(() => assert.unreachable(), (e) => assert.is(codeOf(e), RpcCode.Closed));
  assert.is(src.sessions.length, 1);
  assert.not.ok(t.isReady);
});

closing('an up() after close() is ignored', async () => {
  const { src, t } = setup();
  await t.close();
  const s = await src.connect();
  src.host!.up(s.conn);
  assert.not.ok(t.isReady);
  assert.is(t.sessionCount, 0);
  await s.conn.close();
});

closing('goodbye() stops the source gracefully: the call in flight finishes', async () => {
  const { src, t } = setup();
  await src.open();
  const p = t.sleep({ ms: 10 });
  await until(() => src.last.cell.serving() === 1, 'the call at the server');
  await t.goodbye();
  assert.equal(await p, { ok: 1 });
  assert.equal(src.stops, [true]);
});

closing('send (callback form) on a live connection', async () => {
  const { src, t } = setup();
  await src.open();
  const r = await new Promise<{ channel: number } | null>((res, rej) => {
    let returned = false;
    t.read.send({ channel: 5 }, (err, v) => { if (!returned) rej(new Error('done before send returned')); if (err !== null) rej(err); else res({ channel: v.channel }); });
    returned = true;
  });
  assert.equal(r, { channel: 5 });
  await t.close();
});

closing('send (callback form) while down: fails Unavailable with whileDown fail, waits with wait', async () => {
  {
    const { t } = setup({ whileDown: 'fail' });
    const err = await new Promise<unknown>((res) => { t.read.send({ channel: 5 }, (e) => { res(e); }); });
    assert.is(codeOf(err), RpcCode.Unavailable);
    await t.close();
  }
  {
    const { src, t } = setup({ whileDown: 'wait', waitMs: 5000 });
    const p = new Promise<number>((res, rej) => { t.read.send({ channel: 6 }, (e, v) => { if (e !== null) rej(e); else res(v.channel); }); });
    await tick(2);
    await src.open();
    assert.is(await p, 6);
    await t.close();
  }
});

closing('send (callback form) with retry unavailable goes to the next connection when its own dies', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'unavailable', waitMs: 5000 });
  src.makeImpl = diesInSleep;
  await src.open();
  src.auto = true;
  const ok = await new Promise<number>((res, rej) => { t.sleep.send({ ms: 1 }, (e, v) => { if (e !== null) rej(e); else res(v.ok); }); });
  assert.is(ok, 2);
  await t.close();
});

closing('send (callback form) with retry none reports the death of its connection', async () => {
  const { src, t } = setup({ whileDown: 'wait', retry: 'none' });
  src.makeImpl = diesInSleep;
  await src.open();
  const err = await new Promise<unknown>((res) => { t.sleep.send({ ms: 1 }, (e) => { res(e); }); });
  assert.is(codeOf(err), RpcCode.Unavailable);
  await t.close();
});

closing.run();
