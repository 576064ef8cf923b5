// One typed client that outlives its connections (docs/rpc.md §9 "Supervised clients").
//
// A ConnectionSource finds and opens connections (UART sessions that come back after an
// unplug or a device reset, mesh providers raced by latency and load, …) and reports each one
// that is ready (HELLO done) through `host.up(conn)`. The supervised client is the one typed
// facade over whatever connection is current: it re-subscribes events on every new connection,
// decides what a call does while nothing is connected (fail Unavailable at once, or wait up to
// its deadline) and which failed calls go again to the next connection. A source knows nothing
// of typed clients; the client knows nothing of ports, peers or races.
import type { CellError } from '../wire/cell-error.ts';
import type { CellDescription } from '../codec/schema-json.ts';
import { sendViaPromise, unaryMethod, type Client, type ClientControls } from './api.ts';
import type { CellDef } from './define.ts';
import type { CallOptions, Connection, RpcStats, SendCallback, StreamOptions } from './connection.ts';
import { RpcCode, rpcError } from './errors.ts';
import type { HelloInfo } from './payloads.ts';

/** What a source reports to the client it feeds. */
export interface SourceHost {
  /**
   * `conn` is ready (HELLO done): calls go to it from now on. The connection in use before, if
   * any, stays the source's to finish (e.g. GOODBYE after a switch).
   */
  up(conn: Connection): void;
  /** A search that `demand()` started ended without a connection (`err` says why). */
  searchFailed(err: unknown): void;
}

/** Finds, opens and reopens connections for one supervised client. */
export interface ConnectionSource {
  /** Called once, before any other method: report ready connections through `host`. */
  start(host: SourceHost): void;
  /** A caller waits and nothing is connected: look now (no-op for a source that always looks). */
  demand(): void;
  /**
   * The client stopped using `conn`: 'failed' (it closed with an error, or answered as if its
   * target were gone) or 'closed' (it closed cleanly). The source closes it if it is still open.
   */
  dropped(conn: Connection, why: 'failed' | 'closed'): void;
  /** `conn` answered Overloaded: a source with alternatives may look for a better one. */
  overloaded?(conn: Connection): void;
  /** The error of a call that finds nothing connected; `waitedMs` when it waited that long. */
  unavailable(waitedMs?: number): CellError;
  /** Stop looking and close every connection (GOODBYE first when `graceful`); resolves when all is closed. */
  stop(graceful: boolean): Promise<void>;
}

export interface SupervisedOptions {
  /**
   * What a call, stream or describe() does while nothing is connected: 'fail' rejects it
   * Unavailable at once (a device that is unplugged), 'wait' waits for a connection up to the
   * call's deadline (else `waitMs`), asking the source to look. @default 'fail'
   */
  whileDown?: 'fail' | 'wait';
  /** How long a waiting call without a deadline of its own waits. @default 10000 */
  waitMs?: number;
  /**
   * Which failed calls go again to the next connection: 'unavailable' retries those that had no
   * answer (Unavailable, Closed by the other end, Overloaded); 'none' retries nothing (a call a
   * device may have carried out before it reset must not run twice). @default 'none'
   */
  retry?: 'none' | 'unavailable';
  /** Attempts per call, the first included, when `retry` is 'unavailable'. @default 3 */
  maxAttempts?: number;
  /** Names the client in errors ("the UART client is closed"). @default 'the client' */
  what?: string;
}

/** 'open': the first connection is up; 'lost': the current one went away; 'reopened': up again after a loss. */
export type SupervisedState = 'open' | 'lost' | 'reopened';
export type SupervisedStateListener = (state: SupervisedState, err: CellError | null) => void;

type ControlKeys = 'on' | 'off' | 'close' | 'goodbye' | 'describe' | 'peer' | 'stats' | 'connection';

/** The controls of a supervised client (its methods and streams are those of `Client<D>`). */
export interface SupervisedControls<D extends CellDef> {
  /** Listen to an event; the subscription survives reconnects. Returns the unsubscribe function. */
  on: ClientControls<D>['on'];
  off: ClientControls<D>['off'];
  /** Listen to 'open' | 'lost' | 'reopened'. Returns the unsubscribe function. */
  onState(fn: SupervisedStateListener): () => void;
  /** Resolves when a connection is up; rejects Unavailable after `timeoutMs`, Closed after close(). */
  whenReady(timeoutMs?: number): Promise<void>;
  /** Close: calls in flight fail Closed, the source stops. */
  close(): Promise<void>;
  /** GOODBYE on the current connection (in-flight calls finish), then close. */
  goodbye(): Promise<void>;
  /** The server's schema (see `whileDown` for what it does while nothing is connected). */
  describe(opts?: CallOptions): Promise<CellDescription>;
  /** A connection is up now. */
  readonly isReady: boolean;
  /** The HELLO of the current connection, or null. */
  readonly peer: HelloInfo | null;
  /** RPC counters of the current connection, or null. */
  readonly stats: RpcStats | null;
  /** The current Connection, or null. */
  readonly connection: Connection | null;
  /** Connections that came up so far. */
  readonly sessionCount: number;
}

/** A typed client that outlives its connections. */
export type SupervisedClient<D extends CellDef> = Omit<Client<D>, ControlKeys> & SupervisedControls<D>;

type CallEntry = ReturnType<Connection['callEntry']>;
type EventFn = (v: unknown) => void;

/** The connection in use and its call entries (by index of the method or stream in the def). */
interface Bound { readonly conn: Connection; readonly entries: CallEntry[] }

interface Waiter {
  readonly resolve: (b: Bound) => void;
  readonly reject: (e: unknown) => void;
  readonly untilMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  redemand: ReturnType<typeof setTimeout> | undefined;
  cleanup: () => void;
}

function now(): number { return performance.now(); }
const sleep = (ms: number): Promise<void> => new Promise((r) => { const t = setTimeout(r, ms); t.unref?.(); });

function failedStream(err: unknown): AsyncIterableIterator<never> {
  let done = false;
  return {
    [Symbol.asyncIterator]() { return this; },
    next() { if (done) return Promise.resolve({ value: undefined as never, done: true }); done = true; return Promise.reject(err); },
    return() { done = true; return Promise.resolve({ value: undefined as never, done: true }); },
  };
}

/** @internal The machinery behind a SupervisedClient (exported for the layers that extend its facade). */
export class Supervisor<D extends CellDef> implements SourceHost {
  cur: Bound | null = null;
  closed = false;
  readyCount = 0;
  private readonly names: string[] = [];
  private readonly subs: { event: string; fn: EventFn }[] = [];
  private readonly stateFns = new Set<SupervisedStateListener>();
  private readonly waiters = new Set<Waiter>();
  private readonly whileDown: 'fail' | 'wait';
  private readonly waitMs: number;
  private readonly retry: 'none' | 'unavailable';
  private readonly maxAttempts: number;
  private readonly what: string;
  private stopping: Promise<void> | null = null;

  constructor(readonly def: D, readonly source: ConnectionSource, opts: SupervisedOptions = {}) {
    this.whileDown = opts.whileDown ?? 'fail';
    this.waitMs = opts.waitMs ?? 10_000;
    this.retry = opts.retry ?? 'none';
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.what = opts.what ?? 'the client';
    for (const info of def.entries) if (info.kind !== 'event') this.names.push(info.name);
    source.start(this);
  }

  // ---- SourceHost ------------------------------------------------------------------------

  up(conn: Connection): void {
    if (this.closed) return;
    const old = this.cur;
    if (old !== null && old.conn === conn) return;
    const b: Bound = { conn, entries: this.names.map((n) => conn.callEntry(n)) };
    this.cur = b;
    if (old !== null) for (const s of this.subs) old.conn.off(s.event, s.fn);
    for (const s of this.subs) conn.on(s.event, s.fn);
    conn.onClose((err) => { if (this.cur === b) this.lose(b, err === null ? 'closed' : 'failed', err); });
    this.readyCount++;
    if (old === null) this.emit(this.readyCount === 1 ? 'open' : 'reopened', null);
    for (const w of this.waiters) { this.waiters.delete(w); w.cleanup(); w.resolve(b); }
  }

  searchFailed(err: unknown): void {
    for (const w of this.waiters) {
      const code = (err as { code?: unknown }).code;
      if (this.closed || code === RpcCode.Closed || w.untilMs - now() <= 0) { this.waiters.delete(w); w.cleanup(); w.reject(err); continue; }
      // A search begun for an earlier caller keeps its own deadline, which can come before this
      // caller's: look again for as long as this one may still wait.
      if (w.redemand === undefined) w.redemand = setTimeout(() => { w.redemand = undefined; this.source.demand(); }, 20);
    }
  }

  // ---- state -----------------------------------------------------------------------------

  private lose(b: Bound, why: 'failed' | 'closed', err: CellError | null): void {
    this.cur = null;
    if (this.closed) return;
    this.emit('lost', err);
    this.source.dropped(b.conn, why);
    if (this.subs.length > 0) this.source.demand(); // events are wanted: reconnect without waiting for a call
  }

  /** Stop using `b` (a call found it useless): the source finishes it. */
  private drop(b: Bound, why: 'failed' | 'closed'): void {
    if (this.cur === b) this.lose(b, why, null);
  }

  private emit(state: SupervisedState, err: CellError | null): void {
    for (const fn of this.stateFns) { try { fn(state, err); } catch { /* a listener's bug is not ours */ } }
  }

  onState(fn: SupervisedStateListener): () => void {
    this.stateFns.add(fn);
    return () => this.stateFns.delete(fn);
  }

  notReady(waitedMs?: number): CellError {
    return this.closed ? rpcError(RpcCode.Closed, `${this.what} is closed`) : this.source.unavailable(waitedMs);
  }

  /** The current connection when it is open, else wait for one until `untilMs` (rejects Unavailable, or Cancelled on `signal`). */
  waitUp(untilMs: number, signal?: AbortSignal, waitedMs?: number): Promise<Bound> {
    const b = this.cur;
    if (b !== null && b.conn.isOpen) return Promise.resolve(b);
    // A connection whose peer said GOODBYE may still be finishing our calls: it closes by itself.
    if (b !== null && b.conn.inFlight === 0) this.drop(b, 'closed');
    if (this.closed) return Promise.reject(this.notReady());
    return new Promise<Bound>((resolve, reject) => {
      const w: Waiter = {
        resolve, reject, untilMs, timer: undefined, redemand: undefined,
        cleanup: () => {
          if (w.timer !== undefined) clearTimeout(w.timer);
          if (w.redemand !== undefined) clearTimeout(w.redemand);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const onAbort = (): void => { if (this.waiters.delete(w)) { w.cleanup(); reject(rpcError(RpcCode.Cancelled, 'the call was aborted while waiting for a connection')); } };
      if (signal?.aborted === true) { reject(rpcError(RpcCode.Cancelled, 'the call was aborted while waiting for a connection')); return; }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(untilMs)) {
        w.timer = setTimeout(() => { if (this.waiters.delete(w)) { w.cleanup(); reject(this.notReady(waitedMs)); } }, Math.max(1, untilMs - now()));
      }
      this.waiters.add(w);
      this.source.demand();
    });
  }

  whenReady(timeoutMs = Infinity): Promise<void> {
    return this.waitUp(now() + timeoutMs, undefined, Number.isFinite(timeoutMs) ? timeoutMs : undefined).then(() => undefined);
  }

  /**
   * What a `connect…()` does before handing out its client: wait up to `openTimeoutMs` for the
   * first connection (0: not at all); on failure close everything and rethrow (Unavailable).
   */
  async opened(openTimeoutMs: number): Promise<void> {
    if (openTimeoutMs <= 0) return;
    try {
      await this.whenReady(openTimeoutMs);
    } catch (e) {
      await this.close(false);
      throw e;
    }
  }

  // ---- calls -----------------------------------------------------------------------------

  call(i: number, req: unknown, o: CallOptions | undefined, attempt: number, untilMs?: number): Promise<unknown> {
    const b = this.cur;
    if (b === null || !b.conn.isOpen) return this.callWhileDown(i, req, o, attempt, untilMs);
    const p = b.conn.call(b.entries[i]!, req, o);
    if (this.retry === 'none') return p;
    return p.then(undefined, (e: unknown) => this.retryCall(e, b, i, req, o, attempt, untilMs));
  }

  /**
   * `send`: straight on the current connection when there is one (a failure that may be retried
   * goes on as `call` does), else through `call`.
   */
  send(i: number, req: unknown, done: SendCallback, o: CallOptions | undefined): void {
    const b = this.cur;
    if (b === null || !b.conn.isOpen) { sendViaPromise((r, oo) => this.call(i, r, oo, 1))(req, done, o); return; }
    if (this.retry === 'none') { b.conn.callBack(b.entries[i]!, req, done, o); return; }
    b.conn.callBack(b.entries[i]!, req, (err, res) => {
      if (err === null) { done(null, res); return; }
      this.retryCall(err, b, i, req, o, 1, undefined).then((r) => { done(null, r); }, (e: unknown) => { done(e, undefined); });
    }, o);
  }

  private callWhileDown(i: number, req: unknown, o: CallOptions | undefined, attempt: number, untilMs?: number): Promise<unknown> {
    if (this.closed || this.whileDown === 'fail') return Promise.reject(this.notReady());
    // Wait no longer than the call's own deadline: a call with `deadlineMs: 3000` ends in about
    // 3 s even while the source looks for longer (the looking goes on for the calls after it).
    const until = untilMs ?? now() + (o?.deadlineMs ?? this.waitMs);
    return this.waitUp(until, o?.signal, Math.max(0, Math.round(until - now()))).then(() => this.call(i, req, o, attempt, until));
  }

  private retryCall(e: unknown, b: Bound, i: number, req: unknown, o: CallOptions | undefined, attempt: number, untilMs: number | undefined): Promise<unknown> {
    const code = (e as { code?: number }).code;
    const retryable = code === RpcCode.Unavailable || code === RpcCode.Overloaded || (code === RpcCode.Closed && !this.closed);
    if (!retryable || this.closed || attempt >= this.maxAttempts || o?.signal?.aborted === true) return Promise.reject(e);
    if (untilMs !== undefined && now() >= untilMs) return Promise.reject(e);
    if (code === RpcCode.Overloaded) {
      this.source.overloaded?.(b.conn);
      return sleep(2 * attempt).then(() => this.call(i, req, o, attempt + 1, untilMs));
    }
    this.drop(b, code === RpcCode.Unavailable ? 'failed' : 'closed');
    return this.call(i, req, o, attempt + 1, untilMs); // the next connection may be up already
  }

  openStream(i: number, req: unknown, o: StreamOptions | undefined): AsyncIterableIterator<unknown> {
    const b = this.cur;
    if (b !== null && b.conn.isOpen) return b.conn.openStream(b.entries[i]!, req, o);
    if (this.closed || this.whileDown === 'fail') return failedStream(this.notReady());
    const self = this;
    return (async function* () {
      const ms = o?.deadlineMs ?? self.waitMs;
      const c = await self.waitUp(now() + ms, o?.signal, ms);
      yield* c.conn.openStream(c.entries[i]!, req, o);
    })();
  }

  describe(o?: CallOptions): Promise<CellDescription> {
    const b = this.cur;
    if (b !== null && b.conn.isOpen) return b.conn.describe(o) as Promise<CellDescription>;
    if (this.closed || this.whileDown === 'fail') return Promise.reject(this.notReady());
    const ms = o?.deadlineMs ?? this.waitMs;
    return this.waitUp(now() + ms, o?.signal, ms).then((c) => c.conn.describe(o) as Promise<CellDescription>);
  }

  // ---- events ----------------------------------------------------------------------------

  on(event: string, fn: EventFn): () => void {
    if (!this.def.entries.some((e) => e.kind === 'event' && e.name === event)) throw new TypeError(`no event "${event}"`);
    this.subs.push({ event, fn });
    this.cur?.conn.on(event, fn);
    return () => this.off(event, fn);
  }

  off(event: string, fn: EventFn): void {
    const i = this.subs.findIndex((s) => s.event === event && s.fn === fn);
    if (i >= 0) this.subs.splice(i, 1);
    this.cur?.conn.off(event, fn);
  }

  // ---- shutdown --------------------------------------------------------------------------

  close(graceful: boolean): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.closed = true;
    this.cur = null;
    for (const w of this.waiters) { w.cleanup(); w.reject(this.notReady()); }
    this.waiters.clear();
    this.stopping = this.source.stop(graceful);
    return this.stopping;
  }

  /** The typed facade. `extra` adds the controls of the layer that made it (getters stay getters). */
  facade<X extends object>(extra: X): SupervisedClient<D> & X {
    const api: Record<string, unknown> = {
      on: (ev: string, fn: EventFn) => this.on(ev, fn),
      off: (ev: string, fn: EventFn) => this.off(ev, fn),
      onState: (fn: SupervisedStateListener) => this.onState(fn),
      whenReady: (ms?: number) => this.whenReady(ms),
      close: () => this.close(false),
      goodbye: () => this.close(true),
      describe: (o?: CallOptions) => this.describe(o),
    };
    const getters: Record<string, () => unknown> = {
      isReady: () => this.cur !== null && this.cur.conn.isOpen,
      peer: () => this.cur?.conn.peer ?? null,
      stats: () => this.cur?.conn.stats ?? null,
      connection: () => this.cur?.conn ?? null,
      sessionCount: () => this.readyCount,
    };
    for (const [k, get] of Object.entries(getters)) Object.defineProperty(api, k, { get, enumerable: true });
    Object.defineProperties(api, Object.getOwnPropertyDescriptors(extra));
    let i = 0;
    for (const info of this.def.entries) {
      if (info.kind === 'event') continue;
      const index = i++;
      if (info.kind === 'method') {
        api[info.name] = unaryMethod((req, o) => this.call(index, req, o, 1), (req, done, o) => this.send(index, req, done, o));
      } else {
        api[info.name] = (req: unknown, o?: StreamOptions) => this.openStream(index, req, o);
      }
    }
    return Object.freeze(api) as unknown as SupervisedClient<D> & X;
  }
}

/** A supervised client of `def` fed by `source` (see SupervisedOptions for the policy). */
export function supervisedClient<D extends CellDef>(def: D, source: ConnectionSource, opts: SupervisedOptions = {}): SupervisedClient<D> {
  return new Supervisor(def, source, opts).facade({});
}
