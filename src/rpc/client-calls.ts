// The calling side's call objects (docs/rpc.md §1 "Defining, serving, calling", §3 "Frames per
// interaction": unary, deadline, cancel, server stream): a pending unary call (pooled), the
// consumer end of a server stream, and how an ERROR frame becomes the error a call rejects with.
//
// The call objects do not know the Connection: what they need from it (fail me and send CANCEL;
// grant the producer more items) is the two-method ClientCallHost below. The per-call work
// itself (id, REQUEST, table slot, deadline, settling the answer) stays in Connection, on one
// class: it is the hot path, tuned to V8's inlining budget (docs/rpc.md §8).
import { ERR_APP_FIRST, ERR_LINK_MTU_EXCEEDED, ERR_RPC_INTERNAL, ERR_RPC_TIMEOUT } from '../wire/errors.ts';
import { RpcCode, RpcError } from './errors.ts';
import type { ErrorHead } from './payloads.ts';
import type { CallEntry } from './tables.ts';

/** Per-call options. */
export interface CallOptions<R = unknown> {
  /** Fail with Timeout after this many ms. @default the method's deadlineMs, else the connection's (5000) */
  deadlineMs?: number;
  /** Abort → the call fails Cancelled at once and the peer gets CANCEL. */
  signal?: AbortSignal;
  /** Decode the response into this object instead of a new one (zero allocation). */
  into?: R;
}

export interface StreamOptions {
  /** Items granted up front; more are granted as they are consumed. @default the connection's streamCredit (16) */
  credit?: number;
  /** Abort → the stream fails Cancelled and the peer gets CANCEL. */
  signal?: AbortSignal;
  /** Deadline for the whole stream. @default none */
  deadlineMs?: number;
}

/** Completion of a `send` call: `(null, response)` or `(error, undefined)`; called once, never synchronously from `send`. */
export type SendCallback = (err: unknown, res: unknown) => void;

/** `deadline` of a call without one: later than any (the largest Smi on 64-bit V8 with pointer compression). */
export const NO_DEADLINE = 0x3fffffff;
/** Longer deadlines count as none (2^29 ms ≈ 6.2 days): they would not fit the Smi clock. */
export const MAX_DEADLINE_MS = 0x20000000;

/**
 * What a call object asks of the connection it runs on. Implemented by a small object the
 * Connection makes once, so a call cannot reach any other part of it.
 */
export interface ClientCallHost {
  /** Fail `call` locally with `code` and send the peer CANCEL (no-op once the call has settled). `quiet`: a stream ends without an error for a consumer that stopped reading. */
  cancel(call: Slot, code: number, message: string, quiet?: boolean): void;
  /** Grant the producer of `stream` `n` more items (CREDIT), unless the stream has ended. */
  credit(stream: ClientStream, n: number): void;
}

/**
 * A `send` that fails before anything is sent reports it from a microtask (never before `send`
 * returns). A function of its own: a closure inside `callBack` would make V8 allocate a context
 * for `done` on every call, failing or not (48 B/call, bench/rpc/alloc.ts).
 */
export function failLater(done: SendCallback, err: unknown): void {
  queueMicrotask(() => { done(err, undefined); });
}

/**
 * Call a `send` completion from the receive path. An exception it throws must not unwind the
 * link's read loop (the frames after it in the same chunk would be lost): it is rethrown from a
 * microtask instead, where it is the process's uncaught exception as with any callback.
 */
export function runCallback(done: SendCallback, err: unknown, res: unknown): void {
  try {
    done(err, res);
  } catch (e) {
    queueMicrotask(() => { throw e; });
  }
}

/** A unary call (or describe) in flight. Pooled: every field is reset when it is answered. */
export class PendingCall {
  id = 0;
  /** The method called; null for describe() (the control channel's schema request), whose answer is JSON. */
  entry: CallEntry | null = null;
  out: unknown = undefined;
  deadline = NO_DEADLINE;
  signal: AbortSignal | null = null;
  resolve: ((v: unknown) => void) | null = null;
  reject: ((e: unknown) => void) | null = null;
  /** `send` calls: the completion callback instead of resolve/reject. */
  done: SendCallback | null = null;
  /** Tells the two kinds of Slot apart with one field load (no instanceof on the answer path). */
  readonly isStream = false;
  constructor(private readonly host: ClientCallHost) {}
  /** The Promise executor, made once per pooled object rather than once per call. */
  readonly exec = (res: (v: unknown) => void, rej: (e: unknown) => void): void => { this.resolve = res; this.reject = rej; };
  readonly onAbort = (): void => { this.host.cancel(this, RpcCode.Cancelled, 'cancelled by the caller'); };
}

/** Client end of a server stream: an async iterator with a queue and credit accounting. */
export class ClientStream<T = unknown> implements AsyncIterableIterator<T> {
  readonly isStream = true;
  id = 0;
  deadline = NO_DEADLINE;
  private readonly queue: T[] = [];
  private waiter: { res: (r: IteratorResult<T>) => void; rej: (e: unknown) => void } | null = null;
  private ended = false;
  private error: unknown = null;
  private consumed = 0;
  signal: AbortSignal | null = null;
  constructor(private readonly host: ClientCallHost, readonly entry: CallEntry, readonly credit: number) {}
  readonly onAbort = (): void => { this.host.cancel(this as ClientStream, RpcCode.Cancelled, 'cancelled by the caller'); };

  [Symbol.asyncIterator](): this { return this; }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift()!;
      this.consumedOne();
      return Promise.resolve({ value, done: false });
    }
    if (this.error !== null) { const e = this.error; this.error = null; this.ended = true; return Promise.reject(e); }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((res, rej) => { this.waiter = { res, rej }; });
  }

  /** Stop early (a `break` out of `for await`): sends CANCEL when the stream is still open. */
  return(): Promise<IteratorResult<T>> {
    if (!this.ended && this.error === null) this.host.cancel(this as ClientStream, RpcCode.Cancelled, 'stream closed by the consumer', true);
    this.ended = true;
    this.error = null;
    this.queue.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * Credit is returned in halves: once half the window has been consumed, CREDIT for what was
   * consumed, so the producer never stalls on a consumer that keeps up, and never runs more than
   * `credit` items ahead of one that does not.
   */
  private consumedOne(): void {
    if (!this.ended && ++this.consumed * 2 >= this.credit) {
      this.host.credit(this as ClientStream, this.consumed);
      this.consumed = 0;
    }
  }

  /** @internal An item arrived (the connection decoded it). */
  push(v: T): void {
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      this.consumedOne();
      w.res({ value: v, done: false });
    } else this.queue.push(v);
  }
  /** @internal STREAM_END: the consumer still gets what is queued, then `done`. */
  end(): void {
    this.ended = true;
    const w = this.waiter;
    if (w !== null && this.queue.length === 0) { this.waiter = null; w.res({ value: undefined, done: true }); }
  }
  /** @internal The stream failed; `quiet`: the consumer stopped it, so it ends without rethrowing. */
  fail(e: unknown, quiet = false): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w !== null) { this.waiter = null; this.ended = true; w.rej(e); } else if (!quiet) this.error = e;
    else this.ended = true;
  }
}

/** A call in flight, in the connection's table of slots by id. */
export type Slot = PendingCall | ClientStream;

/** The error a call fails with when its request (or an event) does not encode: -n is the codec's error, or the link's MTU. */
export function encodeError(n: number, name: string, what: string): RpcError {
  if (n === -ERR_LINK_MTU_EXCEEDED) return new RpcError(RpcCode.Malformed, `${what} of "${name}" exceeds the link MTU`, { method: name, cause: ERR_LINK_MTU_EXCEEDED });
  return new RpcError(RpcCode.Malformed, `${what} of "${name}" does not encode (codec error ${-n})`, { method: name, cause: -n });
}

/**
 * The error a call rejects with for the peer's ERROR frame (head already read, the payload of a
 * declared error from `eh.payloadOff` to `end`). Only SDK codes (400-409) and the codes the
 * method declares reach the caller as they are: the union `callError` types is closed, so
 * anything else (an undeclared app code, a wire-level code such as 107) becomes Internal with the
 * peer's code in `detail.peerCode`.
 */
export function errorFromAnswer(e: CallEntry | null, eh: ErrorHead, buf: Uint8Array, end: number): RpcError {
  const detail = e !== null ? { method: e.info.name } : undefined;
  if (eh.code >= ERR_APP_FIRST && e !== null) {
    const d = e.errors.byCode.get(eh.code);
    if (d === undefined) {
      return new RpcError(RpcCode.Internal, `peer failed "${e.info.name}" with undeclared error ${eh.code}: ${eh.message}`, { ...detail, peerCode: eh.code });
    }
    let payload: unknown = undefined;
    if (d.def.payload !== undefined) {
      payload = d.def.payload.create();
      const r = d.def.payload.tryDecode(buf, eh.payloadOff, end, payload as never);
      if (r !== end - eh.payloadOff) return new RpcError(RpcCode.Malformed, `error ${d.name} payload does not decode`, detail);
    }
    return new RpcError(eh.code, eh.message || d.name, detail, payload, d.name);
  }
  const code = isSdkCode(eh.code) ? eh.code : RpcCode.Internal;
  return new RpcError(code, eh.message || undefined, code === eh.code ? detail : { ...detail, peerCode: eh.code });
}

/** An SDK code (src/wire/errors.ts 4xx: Timeout … Internal), which a call may reject with as it is. */
export function isSdkCode(code: number): boolean {
  return code >= ERR_RPC_TIMEOUT && code <= ERR_RPC_INTERNAL;
}
