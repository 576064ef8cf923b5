// serve() and connect(): a typed server and a typed client for a cell (docs/rpc.md §1).
import type { Infer } from '../codec/schema.ts';
import type { CellError } from '../wire/cell-error.ts';
import { isListener, type Link, type LinkListener } from '../transports/link.ts';
import { describeCell, type CellDescription } from '../codec/schema-json.ts';
import type { AnyCodec, CellDef, ErrorsDecl, MethodDef, StreamDef } from './define.ts';
import {
  Connection, type CallContext, type CallOptions, type ConnectionOptions, type RpcStats, type SendCallback, type StreamOptions,
} from './connection.ts';
import type { CallError } from './errors.ts';
import type { HelloInfo } from './payloads.ts';

type MethodsOf<D extends CellDef> = D['methods'] extends { readonly [k: string]: MethodDef } ? D['methods'] : {};
type StreamsOf<D extends CellDef> = D['streams'] extends { readonly [k: string]: StreamDef } ? D['streams'] : {};
type EventsOf<D extends CellDef> = D['events'] extends { readonly [k: string]: AnyCodec } ? D['events'] : {};

/** What a handler may return: the response, or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The implementation of a cell: one handler per method (request → response) and per stream
 * (request → async iterable of items). The request object is pooled: it is valid until the
 * handler returns (or its promise settles) — copy what you keep.
 */
export type Impl<D extends CellDef> = {
  [K in keyof MethodsOf<D>]: MethodsOf<D>[K] extends MethodDef<infer Q, infer R, infer E>
    ? (req: Infer<Q>, ctx: CallContext<E>) => MaybePromise<Infer<R>>
    : never;
} & {
  [K in keyof StreamsOf<D>]: StreamsOf<D>[K] extends StreamDef<infer Q, infer I, infer E>
    ? (req: Infer<Q>, ctx: CallContext<E>) => AsyncIterable<Infer<I>> | Iterable<Infer<I>>
    : never;
};

/** A server stream on the client: iterate it with `for await`; `break` cancels it. */
export type CallStream<T> = AsyncIterableIterator<T>;

export interface ClientControls<D extends CellDef> {
  /** Listen to an event; returns the unsubscribe function. The value object is reused between events: copy what you keep. */
  on<K extends keyof EventsOf<D> & string>(event: K, handler: (value: Infer<EventsOf<D>[K]>) => void): () => void;
  off<K extends keyof EventsOf<D> & string>(event: K, handler: (value: Infer<EventsOf<D>[K]>) => void): void;
  /** Close now: calls in flight fail Closed. */
  close(): Promise<void>;
  /** Graceful: GOODBYE, in-flight calls finish, new ones fail Closed, then close. */
  goodbye(): Promise<void>;
  /** The server's schema as JSON (control channel), for tools like `cell gen`. */
  describe(opts?: CallOptions): Promise<CellDescription>;
  /** The server's HELLO. */
  readonly peer: HelloInfo;
  readonly stats: RpcStats;
  readonly connection: Connection;
}

/**
 * Completion of `client.<method>.send`: `(null, response)` or `(error, undefined)`. Destructure
 * nothing: `if (err !== null) { switch (err.code) ... } else use(res)` narrows both.
 */
export type SendDone<Res, M extends MethodDef> = (...result: [err: null, res: Res] | [err: CallError<M>, res: undefined]) => void;

/** One unary method of a typed client. */
export interface UnaryMethod<Req, Res, M extends MethodDef = MethodDef> {
  /** Call and await the answer; rejects with a typed error (`callError(Cell.methods.x, e)`). */
  (req: Req, opts?: CallOptions<Res>): Promise<Res>;
  /**
   * Pipelined form (docs/rpc.md §1 "Pipelining"): no Promise per call. `done` is called once,
   * never before `send` returns, with `(null, res)` or `(err, undefined)`. `res` is decoded into
   * `opts.into`, else into one object per method that every `send` reuses: it is valid until
   * `done` returns (copy what you keep). No allocation per call after warm-up.
   */
  send(req: Req, done: SendDone<Res, M>, opts?: CallOptions<Res>): void;
  send(req: Req, done: (err: CallError<M> | null) => void, opts?: CallOptions<Res>): void;
}

/** A typed client: `await client.read(req)`, `client.read.send(req, done)`, `for await (const s of client.samples(req))`, `client.on('alarm', fn)`. */
export type Client<D extends CellDef> = {
  readonly [K in keyof MethodsOf<D>]: MethodsOf<D>[K] extends MethodDef<infer Q, infer R, ErrorsDecl>
    ? UnaryMethod<Infer<Q>, Infer<R>, MethodsOf<D>[K]>
    : never;
} & {
  readonly [K in keyof StreamsOf<D>]: StreamsOf<D>[K] extends StreamDef<infer Q, infer I, ErrorsDecl>
    ? (req: Infer<Q>, opts?: StreamOptions) => CallStream<Infer<I>>
    : never;
} & ClientControls<D>;

/**
 * Connect to a cell over `link`: sends HELLO, waits for the server's HELLO (rejects Unavailable
 * after helloTimeoutMs, Closed/Unavailable if the link fails), then returns the typed client.
 * Methods the server does not have (or has with other schemas) fail at once, locally, with
 * UnknownMethod / SchemaMismatch.
 */
export async function connect<D extends CellDef>(def: D, link: Link, opts: ConnectionOptions = {}): Promise<Client<D>> {
  const conn = new Connection(link, { call: def }, opts);
  try {
    await conn.ready;
  } catch (e) {
    await conn.close();
    throw e;
  }
  return makeClient(def, conn);
}

/** @internal Build the client object over a connection that calls `def`. */
export function makeClient<D extends CellDef>(def: D, conn: Connection): Client<D> {
  const client: Record<string, unknown> = {
    on: (ev: string, fn: (v: unknown) => void) => conn.on(ev, fn),
    off: (ev: string, fn: (v: unknown) => void) => conn.off(ev, fn),
    close: () => conn.close(),
    goodbye: () => conn.goodbye(),
    describe: (o?: CallOptions) => conn.describe(o),
    connection: conn,
  };
  Object.defineProperty(client, 'peer', { get: () => conn.peer, enumerable: true });
  Object.defineProperty(client, 'stats', { get: () => conn.stats, enumerable: true });
  for (const info of def.entries) {
    if (info.kind === 'event') continue;
    const e = conn.callEntry(info.name);
    if (info.kind === 'method') client[info.name] = unaryMethod((req, o) => conn.call(e, req, o), (req, done, o) => conn.callBack(e, req, done, o));
    else if (info.kind === 'stream') client[info.name] = (req: unknown, o?: StreamOptions) => conn.openStream(e, req, o);
  }
  return Object.freeze(client) as unknown as Client<D>;
}

/** @internal A client method: the Promise form, with the callback form as its `send` property. */
export function unaryMethod(
  call: (req: unknown, o?: CallOptions) => Promise<unknown>,
  send: (req: unknown, done: SendCallback, o?: CallOptions) => void,
): UnaryMethod<unknown, unknown> {
  const m = call as UnaryMethod<unknown, unknown>;
  (m as { send: unknown }).send = send;
  return m;
}

/** @internal A `send` for clients without a direct connection (reconnecting wrappers): the Promise form, reported through `done`. */
export function sendViaPromise(call: (req: unknown, o?: CallOptions) => Promise<unknown>): (req: unknown, done: SendCallback, o?: CallOptions) => void {
  return (req, done, o) => { call(req, o).then((res) => { done(null, res); }, (err: unknown) => { done(err, undefined); }); };
}

export interface ServeOptions extends ConnectionOptions {
  /** Called for each connection that closes with an error (not for clean closes). */
  onConnectionError?: (err: CellError, conn: Connection) => void;
}

/** A running server of one cell. */
export class Server<D extends CellDef = CellDef> {
  /** Open connections. */
  readonly connections = new Set<Connection>();
  private readonly listener: LinkListener | null;
  constructor(private readonly def: D, private readonly impl: NoInfer<Impl<D>>, target: Link | LinkListener, private readonly opts: ServeOptions) {
    const described = describeCell(def);
    const connOpts = { ...opts, describe: () => described };
    const accept = (link: Link): Connection => {
      const conn = new Connection(link, { serve: { def, impl: impl as Record<string, unknown> } }, connOpts);
      this.connections.add(conn);
      conn.onClose((err) => {
        this.connections.delete(conn);
        if (err !== null && this.opts.onConnectionError !== undefined) this.opts.onConnectionError(err, conn);
      });
      return conn;
    };
    if (isListener(target)) {
      this.listener = target;
      target.onLink = (link) => { accept(link); };
    } else {
      this.listener = null;
      accept(target);
    }
  }

  /** Send an event to every connected client. Returns how many it was sent to. */
  emit<K extends keyof EventsOf<D> & string>(event: K, value: Infer<EventsOf<D>[K]>): number {
    let n = 0;
    for (const c of this.connections) if (c.emit(event, value)) n++;
    return n;
  }

  /** Stop accepting; answer calls in flight Closed; close every connection. Does not wait for clients. */
  async close(): Promise<void> {
    const stopped = this.listener?.close();
    await Promise.all([...this.connections].map((c) => c.close()));
    await stopped;
  }

  /** Stop accepting; GOODBYE to every client; wait for calls in flight to finish. */
  async goodbye(): Promise<void> {
    const stopped = this.listener?.close();
    await Promise.all([...this.connections].map((c) => c.goodbye()));
    await stopped;
  }
}

/**
 * Serve `impl` for `def` on one link, or on every link a listener accepts. The cell type is
 * taken from `def` only (`NoInfer`), so an inline `impl` is contextually typed: in
 * `serve(Thermo, { read: (req, ctx) => ... }, link)` `req` and `ctx` need no annotations.
 */
export function serve<D extends CellDef>(def: D, impl: NoInfer<Impl<D>>, target: Link | LinkListener, opts: ServeOptions = {}): Server<D> {
  return new Server(def, impl, target, opts);
}
