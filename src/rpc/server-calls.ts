// The serving side's call objects (docs/rpc.md §1 "Defining, serving, calling", §3 "Frames per
// interaction": unary, cancel, server stream; §5 "Errors"): the context a handler gets (pooled
// for methods), the server end of a stream with its credit, the pump that runs a stream
// handler's iterator against that credit and the link's backpressure, and which ERROR a
// handler's exception becomes.
//
// Call objects reach the connection only through the host interfaces below, implemented by one
// small object per Connection. The REQUEST dispatch and the RESPONSE of a handler that returns
// at once stay in Connection.onRequest: that is the serving hot path, which has to fit V8's
// inlining budget on one class (docs/rpc.md §8).
import type { Infer } from '../codec/schema.ts';
import { ERR_APP_FIRST } from '../wire/errors.ts';
import type { Connection } from './connection.ts';
import type { AnyCodec, CellDef, ErrorsDecl } from './define.ts';
import { isSdkCode } from './client-calls.ts';
import { RpcCode, RpcError } from './errors.ts';
import type { ServeEntry } from './tables.ts';

/** What a handler gets besides the request. */
export interface CallContext<E extends ErrorsDecl = ErrorsDecl> {
  /** Aborted when the caller cancels, its deadline passes on its side, or the connection closes. Created on first access. */
  readonly signal: AbortSignal;
  /** Call id on this connection. */
  readonly callId: number;
  /** The connection the call came in on (emit events to this caller with `ctx.connection.emit`). */
  readonly connection: Connection;
  /** Fail the call with a declared error: `ctx.fail('sensorFault', { sensor: 2 })` (throws). */
  fail<K extends keyof E & string>(name: K, ...payload: E[K]['payload'] extends AnyCodec ? [Infer<E[K]['payload']>] : []): never;
}

/** What a served cell is: its definition and the object holding its handlers. */
export interface ServeSpec { def: CellDef; impl: Record<string, unknown> }

/** What a call context asks of its connection when the handler's promise settles. */
export interface ServerCallHost {
  /** The handler's value: answer RESPONSE (or Internal if it does not encode), release the context. */
  done(sc: ServerCall, res: unknown): void;
  /** The handler threw or rejected: answer ERROR (unless cancelled or closed), release the context. */
  failed(sc: ServerCall, err: unknown): void;
}

/** What the stream pump asks of its connection, besides a call context's needs. */
export interface StreamHost extends ServerCallHost {
  /** The connection is closed: the pump stops at its next step. */
  isClosed(): boolean;
  /** The link asked to wait (its write queue is over its high-water mark); `whenDrained` queues `wake` until it drains. */
  isBackpressured(): boolean;
  whenDrained(wake: () => void): void;
  /** Send one STREAM_ITEM: the frame length, or -code when the item does not encode (nothing sent). */
  sendItem(ss: ServerStream, item: unknown): number;
  sendEnd(ss: ServerStream): void;
  sendError(sc: ServerCall, code: number, message: string): void;
  /** ERROR for an exception of the handler (see handlerAnswer). */
  sendHandlerError(sc: ServerCall, err: unknown): void;
  /** The stream is over: out of the serving table, context released. */
  finished(ss: ServerStream): void;
  /** Fair serving: items one stream sends per round (ConnectionOptions.streamItemsPerRound). */
  itemsPerRound(): number;
  /** Fair serving: items all streams send per round before this connection's streams yield (ConnectionOptions.streamRoundItems). */
  roundItems(): number;
}

/** A handler's view of one call. Pooled for methods (reset when it is answered); one per stream. */
export class ServerCall implements CallContext {
  callId = 0;
  /** The handler returned a promise: the call is in `serving` until it settles. */
  async = false;
  /** Tells a ServerStream apart with one field load (the serving paths test it per call). */
  readonly isStream: boolean = false;
  entry: ServeEntry | null = null;
  req: unknown = undefined;
  cancelled = false;
  // The key halves of the REQUEST, for the answer's header (a stream's frames carry its key too).
  keyLo = 0;
  keyHi = 0;
  private ac: AbortController | null = null;
  constructor(readonly connection: Connection, protected readonly host: ServerCallHost) {}
  /** Made on first access: most handlers never look, and an AbortController per call is ~0.5 kB. */
  get signal(): AbortSignal {
    if (this.ac === null) { this.ac = new AbortController(); if (this.cancelled) this.ac.abort(); }
    return this.ac.signal;
  }
  fail(name: string, ...payload: unknown[]): never {
    const d = this.entry?.errors.byName.get(name);
    if (d === undefined) throw new RpcError(RpcCode.Internal, `handler failed with undeclared error "${name}"`);
    throw new RpcError(d.code, name, undefined, payload[0], name);
  }
  /** @internal CANCEL from the caller, or the connection closed. */
  cancel(): void {
    this.cancelled = true;
    if (this.ac !== null) this.ac.abort(new RpcError(RpcCode.Cancelled, 'cancelled by the caller'));
  }
  /** @internal Back to the pool. */
  reset(): void { this.ac = null; this.cancelled = false; this.req = undefined; this.entry = null; this.async = false; }
  /** The handler's promise callbacks, made once per pooled object rather than once per call. */
  readonly onOk = (res: unknown): void => { this.host.done(this, res); };
  readonly onErr = (err: unknown): void => { this.host.failed(this, err); };
}

/** The server end of a stream: the credit the consumer granted, and the pump's wake-up. */
export class ServerStream extends ServerCall {
  override readonly isStream: boolean = true;
  credit = 0;
  /** Set while the pump waits for CREDIT; called by `grant` or `cancel`. */
  wake: (() => void) | null = null;
  iterator: AsyncIterator<unknown> | Iterator<unknown> | null = null;
  constructor(connection: Connection, host: StreamHost) { super(connection, host); }
  /** CREDIT from the consumer. */
  grant(n: number): void {
    this.credit += n;
    const w = this.wake;
    if (w !== null) { this.wake = null; w(); }
  }
  override cancel(): void {
    super.cancel();
    const w = this.wake;
    if (w !== null) { this.wake = null; w(); }
  }

  /**
   * Run the handler's (async) iterable: one STREAM_ITEM per unit of credit, waiting for CREDIT
   * when it is spent and for the link to drain when it asks to wait; STREAM_END when the
   * iterator is done. Cancel and close stop it at the next step and call the iterator's
   * `return` (the handler's `finally` runs). Nothing is sent before the first CREDIT: the
   * consumer grants its window right after its REQUEST.
   */
  async pump(): Promise<void> {
    const host = this.host as StreamHost, e = this.entry!;
    const perStream = Math.max(1, host.itemsPerRound()), roundItems = Math.max(1, host.roundItems());
    // The serving round this stream last sent in, and how many items it sent in it (fair
    // serving). Locals, not fields: ServerCall's classes stay as the unary path knows them.
    let roundId = -1, roundSent = 0;
    let it: AsyncIterator<unknown> | Iterator<unknown>;
    try {
      const src = callWithThis.call(e.handler, e.impl, this.req, this) as AsyncIterable<unknown> | Iterable<unknown>;
      const get = (src as AsyncIterable<unknown>)[Symbol.asyncIterator] ?? (src as Iterable<unknown>)[Symbol.iterator];
      if (typeof get !== 'function') throw new TypeError(`stream handler "${e.info.name}" must return an (async) iterable`);
      it = get.call(src) as AsyncIterator<unknown>;
      this.iterator = it;
    } catch (err) {
      host.failed(this, err);
      return;
    }
    try {
      for (;;) {
        while (!this.cancelled && !host.isClosed() && (this.credit <= 0 || host.isBackpressured())) {
          await new Promise<void>((res) => {
            if (this.credit <= 0) this.wake = res; else host.whenDrained(res);
          });
        }
        if (this.cancelled || host.isClosed()) { await it.return?.(); break; }
        // Fair serving: this stream's share of the round, and the round's budget (see `round`).
        if (roundId !== round.id) { roundId = round.id; roundSent = 0; }
        if (roundSent >= perStream || round.used >= roundItems) { await nextRound(); continue; }
        const r = await it.next();
        if (this.cancelled || host.isClosed()) { await it.return?.(); break; }
        if (r.done) { host.sendEnd(this); break; }
        const n = host.sendItem(this, r.value);
        if (n < 0) {
          await it.return?.();
          host.sendError(this, RpcCode.Internal, `stream "${e.info.name}": item does not encode (codec error ${-n})`);
          break;
        }
        this.credit--;
        roundSent++;
        round.used++;
      }
    } catch (err) {
      if (!this.cancelled && !host.isClosed()) host.sendHandlerError(this, err);
    }
    host.finished(this);
  }
}

/**
 * Fair serving (docs/rpc.md §3.5): the round all stream pumps of the process share. A handler
 * whose iterator has items ready at once (a sync generator, an array) never waits on I/O: its
 * pump would go on in microtasks, which run before any I/O, and the other connections of the
 * process would starve (a one-shot call next to 1000 greedy streams took 0.2–7 s). So a pump sends
 * at most `itemsPerRound` items per round, and none once the round has sent `roundItems`; then it
 * waits for the next round, which starts from setImmediate: the event loop polls I/O (every
 * connection's reads, accepts, timers) between two rounds. Waiting pumps resume in the order
 * they yielded, and the pumps of one round take turns item by item (each `await` is a hop), so
 * the streams are served round robin. Unary calls do not go through here.
 */
const round = { id: 0, used: 0, scheduled: false, waiting: [] as (() => void)[] };

function nextRound(): Promise<void> {
  return new Promise((res) => {
    round.waiting.push(res);
    if (!round.scheduled) { round.scheduled = true; setImmediate(startRound); }
  });
}

function startRound(): void {
  round.scheduled = false;
  round.id++;
  round.used = 0;
  const w = round.waiting;
  round.waiting = [];
  for (const f of w) f();
}

/** Function.prototype.call as a constant (see connection.ts: no "call" lookup on the handler). */
const callWithThis = Function.prototype.call;

/** The ERROR a handler's exception is answered with. */
export interface HandlerAnswer { code: number; message: string; payloadCodec: AnyCodec | undefined; payload: unknown }

/**
 * Which ERROR answers a handler's exception: a declared app error as it is (with its payload);
 * an SDK code (a handler may throw e.g. Overloaded) as it is; anything else is Internal, with
 * the exception's message only when `expose` (it may say more than the caller should know).
 */
export function handlerAnswer(e: ServeEntry, err: unknown, expose: boolean): HandlerAnswer {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const msg = err instanceof Error ? err.message : String(err);
  if (typeof code === 'number' && code >= ERR_APP_FIRST) {
    const d = e.errors.byCode.get(code);
    // The name is the default message on the caller's side: not sent twice.
    if (d !== undefined) return { code, message: msg === d.name ? '' : msg, payloadCodec: d.def.payload, payload: (err as { payload?: unknown }).payload };
    return { code: RpcCode.Internal, message: `undeclared error code ${code}: ${msg}`, payloadCodec: undefined, payload: undefined };
  }
  if (typeof code === 'number' && isSdkCode(code)) return { code, message: msg, payloadCodec: undefined, payload: undefined };
  return { code: RpcCode.Internal, message: expose ? `handler of "${e.info.name}" failed: ${msg}` : '', payloadCodec: undefined, payload: undefined };
}
