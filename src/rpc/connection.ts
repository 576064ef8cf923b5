// One RPC connection over one Link: the connection core (docs/rpc.md §3 "Frames per
// interaction"). A connection can serve a cell (answer REQUESTs, run streams, emit events)
// and/or call one (send REQUESTs, consume streams, receive events). This file owns: the link
// (sending, receiving, frame dispatch), the HELLO exchange and table check, call-id correlation,
// deadlines (one timer re-armed to the earliest deadline, not one per call), cancellation
// (CANCEL), credit for streams (CREDIT), heartbeats (PING/PONG on one interval that also detects
// a silent peer), GOODBYE and shutdown. The rest lives beside it:
//   tables.ts        key tables, pools, the entries a connection calls and serves
//   client-calls.ts  PendingCall, ClientStream, how an ERROR becomes the caller's error
//   server-calls.ts  CallContext (ServerCall), ServerStream and its pump, handler errors
// Call objects reach the connection only through the host interfaces of those files
// (ClientCallHost; ServerCallHost and StreamHost), implemented by two small objects made here.
//
// Why the per-call work is still here, on one class: a unary call's path (call → sendFrame;
// onFrame → onRequest → handler → serverDone → sendFrame; onResponse → settleOk) was tuned to
// fit V8's inlining budget (docs/rpc.md §8): every hop through another object or a polymorphic
// site on that path costs instructions per call, measured with bench/rpc/instr.ts.
//
// Hot path (unary call, after warm-up): the client allocates the call's Promise (unavoidable:
// it is the API) and the response object (unless the caller passes `into`); call slots,
// header and send buffer are reused. The server allocates nothing per call for messages without
// strings/bytes/64-bit integers: request objects are pooled per method (valid until the handler
// settles), call contexts are pooled, the response is encoded straight into the send buffer.
import { CellError } from '../wire/cell-error.ts';
import {
  CHANNEL_APP, CHANNEL_CONTROL, FLAG_AUTH, FLAG_ENCRYPTED, FLAG_MORE, Header, HEADER_BYTES, KIND_CANCEL, KIND_CREDIT,
  KIND_ERROR, KIND_EVENT, KIND_GOODBYE, KIND_HELLO, KIND_PING, KIND_PONG, KIND_REQUEST, KIND_RESPONSE, KIND_STREAM_END,
  KIND_STREAM_ITEM, writeHeader,
} from '../wire/header.ts';
import { readU32LE, writeU32LE } from '../wire/bytes.ts';
import { ERR_CODEC_TRAILING_BYTES, ERR_LINK_CLOSED, ERR_LINK_MTU_EXCEEDED, ERR_WIRE_FLAGS_UNSUPPORTED } from '../wire/errors.ts';
import { ERROR_HEAD_BYTES, ERROR_MESSAGE_MAX_BYTES } from '../wire/layouts.ts';
import type { Link } from '../transports/link.ts';
import { appWord0, HeaderView } from '../transports/header-view.ts';
import type { AnyCodec, CellDef, EntryInfo } from './define.ts';
import { RpcCode, RpcError } from './errors.ts';
import {
  decodeHello, encodeHello, helloEntryCount, HELLO_FLAG_CALLING, HELLO_FLAG_SERVING, PROTOCOL_VERSION, readErrorHead,
  writeErrorHead, type ErrorHead, type HelloInfo,
} from './payloads.ts';
import {
  buildCallTables, buildServeTables, fpHex, KeyTable, Pool, splitKey, type CallEntry, type EventEntry, type ServeEntry,
} from './tables.ts';
import {
  ClientStream, encodeError, errorFromAnswer, failLater, MAX_DEADLINE_MS, NO_DEADLINE,
  PendingCall, runCallback, type CallOptions, type ClientCallHost, type SendCallback, type Slot, type StreamOptions,
} from './client-calls.ts';
import { handlerAnswer, ServerCall, ServerStream, type ServeSpec, type StreamHost } from './server-calls.ts';

// The names importers have always taken from this file (src/mesh, src/uart, bench, tests).
export { ClientStream } from './client-calls.ts';
export type { CallOptions, SendCallback, StreamOptions } from './client-calls.ts';
export type { CallContext, ServeSpec } from './server-calls.ts';

/** Control-channel method keys (channel 1). */
export const CONTROL_DESCRIBE_KEY = 1n;

export interface ConnectionOptions {
  /** Deadline of a call when neither the call nor its method sets one. @default 5000 */
  deadlineMs?: number;
  /** Heartbeat interval: a PING every interval; the peer is declared dead (Unavailable) after 2.5 intervals without any frame. 0 = off. @default 1000 */
  heartbeatMs?: number;
  /** How long `connect` waits for the peer's HELLO. @default 5000 */
  helloTimeoutMs?: number;
  /** Calls this side may have in flight; more fail Overloaded at once. @default 10000 */
  maxInFlight?: number;
  /** Calls this side serves at once; more are answered Overloaded. @default 10000 */
  maxServing?: number;
  /** Items a stream consumer grants up front (and again each time it has consumed half). @default 16 */
  streamCredit?: number;
  /** Send the message of an unexpected handler exception to the caller (Internal). @default true */
  exposeErrors?: boolean;
  /**
   * Serving side: stop reading from the peer while the answers sent to it do not drain (the
   * link's write queue is over its high-water mark), resume on drain (docs/rpc.md §2
   * "Backpressure"). Bounds what a peer that never reads can make this side hold; a paused peer
   * that stays paused is dropped by the heartbeat. Needs a link with `pauseReading`. @default true
   */
  pauseReadingWhenBacklogged?: boolean;
  /**
   * Largest HELLO payload accepted, in bytes; a larger one is refused unread (Malformed, 406) and
   * the connection closed. Decoding a HELLO costs CPU in proportion to its size (a 1 MB one
   * took ~40 ms); real tables are far below: ~40 B per entry (docs/rpc.md §3.2). @default 65536
   */
  maxHelloBytes?: number;
  /** Most entries (methods + streams + events) a HELLO may declare; more are refused as above. @default 1024 */
  maxHelloEntries?: number;
  /**
   * Fair serving (docs/rpc.md §3.5): items one stream sends per round before it lets the others
   * and the event loop run. @default 64
   */
  streamItemsPerRound?: number;
  /**
   * Items all streams of the process send in one round (a round starts from setImmediate, so
   * I/O of every connection runs between rounds); a stream of this connection yields once the
   * round has sent this many. @default 1024
   */
  streamRoundItems?: number;
  /** `describe()` payload, served on the control channel. @internal set by serve() */
  describe?: () => unknown;
}

/** The options off the per-call path, kept apart from `opts` (see Connection.limits). */
type Limits = Required<Pick<ConnectionOptions, 'pauseReadingWhenBacklogged' | 'maxHelloBytes' | 'maxHelloEntries' | 'streamItemsPerRound' | 'streamRoundItems'>>;

/** Counters of one connection. */
export class RpcStats {
  callsOut = 0;
  callsIn = 0;
  errorsOut = 0;
  errorsIn = 0;
  timeouts = 0;
  cancels = 0;
  eventsIn = 0;
  eventsOut = 0;
  /** Frames for a call that is no longer pending (late answer after timeout/cancel). */
  lateFrames = 0;
  /** Frames that could not be understood (bad payload, unknown kind for this side). */
  badFrames = 0;
  /** Requests refused before decoding: unknown key. */
  unknownKeys = 0;
  /** Frames dropped unread because they are flagged AUTH, ENCRYPTED or MORE, which no link implements yet (error 107), or are a later fragment of such a frame's message; never answered (Connection.refuseFlagged). */
  unsupportedFlags = 0;
  pingsOut = 0;
  /** Times reading was paused because answers to the peer did not drain (see ConnectionOptions.pauseReadingWhenBacklogged). */
  readPauses = 0;
}

const ST_OPEN = 0;
const ST_CLOSING = 1; // GOODBYE sent: in-flight calls finish, new ones fail Closed
const ST_CLOSED = 2;

/**
 * Function.prototype.call as a constant: `handler.call(impl, …)` made optimised dispatch code
 * look up "call" on the handler through a generic LoadIC per request (--print-opt-code of
 * onRequest); through a constant the lookup folds away and only the call itself remains. A
 * constant of this module, not server-calls.ts's: an imported binding is a module cell that
 * TurboFan loads, not a constant it can fold.
 */
const callWithThis = Function.prototype.call;

/** invoke(): the handler threw (already answered). */
const FAILED: unique symbol = Symbol('failed');

/** Header flags this side cannot honour: a frame carrying any of them is refused unread (docs/wire-format.md §2). */
const FLAGS_UNSUPPORTED = FLAG_AUTH | FLAG_ENCRYPTED | FLAG_MORE;
/** Fragmented messages being dropped at once (see refuseFlagged); a peer with more is closed on. */
const MAX_REFUSED_FRAGMENTS = 64;

export class Connection {
  readonly stats = new RpcStats();
  /** The peer's HELLO, once received. */
  peer: HelloInfo | null = null;
  /** Resolves after the peer's HELLO; rejects Unavailable/Closed if the link fails first or no HELLO within helloTimeoutMs. */
  readonly ready: Promise<HelloInfo>;
  /** Resolves when the connection is closed (for any reason). */
  readonly closed: Promise<void>;

  private state = ST_OPEN;
  private peerGoodbye = false;
  private readonly link: Link;
  private readonly maxPayload: number;
  private sendBuf: Uint8Array;
  private readonly wh = new Header();
  /** Largest frame encoded straight into the link's batch (0 = the link has no reserve/commit). */
  /** Largest frame written through reserve/commit: the batch size, lowered to the peer's max frame. */
  private reserveMax: number;
  /** Largest frame this side sends: the link's MTU, lowered to the max frame the peer's HELLO announced. */
  private sendMax: number;
  /** Result of the last sendFrame's queueing (false = wait for onDrain). */
  private sendOk = true;
  private readonly rh = new Header();
  /** DataViews over the last receive buffer and the last write batch (header fast path). */
  private readonly rxView = new HeaderView(true);
  private readonly txView = new HeaderView();
  private readonly eh: ErrorHead = { code: 0, message: '', payloadOff: 0 };
  private nextId = 1;
  // Calls in flight, by id: an open-addressed table indexed by `id & slotMask` (ids are chosen so
  // that their cell is free; the table doubles when more than half full). No Map on the hot path.
  private slots: (Slot | null)[] = new Array<Slot | null>(64).fill(null);
  private slotMask = 63;
  private inFlightN = 0;
  private readonly callPool = new Pool<PendingCall>(1024);
  private readonly serving = new Map<number, ServerCall>();
  private readonly servePool = new Pool<ServerCall>(1024);
  // The tables (tables.ts), built once in the constructor; kept as fields of their own so the
  // per-call path reads them with one load, not through a tables object.
  private readonly serveTable: KeyTable<ServeEntry>;
  /** The entry of the last request served (most traffic hits one method): no table lookup. */
  private lastServe: ServeEntry | null = null;
  private readonly serveByName: Map<string, ServeEntry>;
  private readonly callTable: CallEntry[];
  private readonly callByName: Map<string, CallEntry>;
  private readonly eventTable: KeyTable<EventEntry>;
  private readonly eventByName: Map<string, EventEntry>;
  private readonly emitByName: Map<string, EventEntry>;
  private readonly opts: Required<Omit<ConnectionOptions, 'describe' | keyof Limits>>;
  private readonly describeFn: (() => unknown) | undefined;
  private readonly serveSpec: ServeSpec | null;
  private readonly callDef: CellDef | null;
  private deadlineTimer: ReturnType<typeof setTimeout> | null = null;
  private deadlineArmedAt = NO_DEADLINE;
  private hbTimer: ReturnType<typeof setInterval> | null = null;
  private helloTimer: ReturnType<typeof setTimeout> | null = null;
  private rxFrames = 0;
  private rxSeen = 0;
  private rxAt = 0;
  private hbTicks = 0;
  private readyRes!: (h: HelloInfo) => void;
  private readyRej!: (e: unknown) => void;
  private closedRes!: () => void;
  private readonly closeListeners: ((err: CellError | null) => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  /**
   * While fragments of refused messages are being dropped: FLAG_MORE, so that onFrame's one
   * flags test also stops the unflagged last fragment of such a message; else 0. See refuseFlagged.
   */
  private dropping = 0;
  /** kind × 2^32 + call id of each fragmented message being dropped (until its last fragment). */
  private refusedFragments: Set<number> | null = null;

  /**
   * All that a client call object may ask of this connection (client-calls.ts). An object of its
   * own rather than `this`: the call objects then cannot reach anything else of the connection,
   * and abortCall/sendCredit stay private.
   */
  private readonly clientHost: ClientCallHost = {
    cancel: (c, code, message, quiet) => { this.abortCall(c, code, message, quiet); },
    credit: (s, n) => { this.sendCredit(s, n); },
  };

  /** All that a call context or stream pump may ask of this connection (server-calls.ts). */
  private readonly serverHost: StreamHost = {
    done: (sc, res) => { this.serverDone(sc, res); },
    failed: (sc, err) => { this.serverFailed(sc, err); },
    isClosed: () => this.state === ST_CLOSED,
    isBackpressured: () => this.backpressured,
    whenDrained: (wake) => { this.drainWaiters.push(wake); },
    sendItem: (ss, item) => this.sendItem(ss, item),
    sendEnd: (ss) => { this.sendControl(KIND_STREAM_END, CHANNEL_APP, ss.callId, ss.keyLo, null, ss.keyHi); },
    sendError: (sc, code, message) => { this.sendError(sc.callId, sc.keyLo, sc.keyHi, CHANNEL_APP, code, message); },
    sendHandlerError: (sc, err) => { this.sendHandlerError(sc, sc.entry!, err); },
    finished: (ss) => { this.serving.delete(ss.callId); this.releaseServerCall(ss); },
    itemsPerRound: () => this.limits.streamItemsPerRound,
    roundItems: () => this.limits.streamRoundItems,
  };

  constructor(link: Link, roles: { serve?: ServeSpec; call?: CellDef }, opts: ConnectionOptions = {}) {
    this.link = link;
    this.opts = {
      deadlineMs: opts.deadlineMs ?? 5000,
      heartbeatMs: opts.heartbeatMs ?? 1000,
      helloTimeoutMs: opts.helloTimeoutMs ?? 5000,
      maxInFlight: opts.maxInFlight ?? 10000,
      maxServing: opts.maxServing ?? 10000,
      streamCredit: opts.streamCredit ?? 16,
      exposeErrors: opts.exposeErrors ?? true,
    };
    this.limits = {
      pauseReadingWhenBacklogged: opts.pauseReadingWhenBacklogged ?? true,
      maxHelloBytes: opts.maxHelloBytes ?? 65536,
      maxHelloEntries: opts.maxHelloEntries ?? 1024,
      streamItemsPerRound: opts.streamItemsPerRound ?? 64,
      streamRoundItems: opts.streamRoundItems ?? 1024,
    };
    this.describeFn = opts.describe;
    this.maxPayload = link.caps.mtu - HEADER_BYTES;
    this.sendBuf = new Uint8Array(Math.min(link.caps.mtu, 65536));
    this.reserveMax = typeof link.reserve === 'function' && typeof link.commit === 'function' ? Math.min(link.caps.mtu, 8192) : 0;
    this.sendMax = link.caps.mtu;
    this.serveSpec = roles.serve ?? null;
    this.callDef = roles.call ?? null;
    this.ready = new Promise<HelloInfo>((res, rej) => { this.readyRes = res; this.readyRej = rej; });
    this.ready.catch(() => {});
    this.closed = new Promise<void>((res) => { this.closedRes = res; });
    const served = buildServeTables(this.serveSpec), called = buildCallTables(this.callDef);
    this.serveTable = served.byKey; this.serveByName = served.byName; this.emitByName = served.emitByName;
    this.callTable = called.entries; this.callByName = called.byName;
    this.eventTable = called.eventsByKey; this.eventByName = called.eventsByName;

    link.start({ onFrame: this.onFrame, onClose: this.onLinkClose, onDrain: this.onDrain, onBackpressure: () => { this.pauseForBacklog(); } });
    this.sendHello();
    if (this.opts.helloTimeoutMs > 0) {
      this.helloTimer = setTimeout(() => {
        this.helloTimer = null;
        if (this.peer === null) this.readyRej(new RpcError(RpcCode.Unavailable, `no HELLO from the peer within ${this.opts.helloTimeoutMs} ms`));
      }, this.opts.helloTimeoutMs);
    }
    if (this.opts.heartbeatMs > 0) {
      this.rxAt = performance.now();
      this.hbTimer = setInterval(this.heartbeat, Math.max(1, this.opts.heartbeatMs / 4));
      this.hbTimer.unref?.();
    }
  }

  // ---- tables ------------------------------------------------------------------------------

  /** The entry api.ts binds a typed client's method or stream to (looked up once, not per call). */
  /** @internal */ callEntry(name: string): CallEntry {
    const e = this.callByName.get(name);
    if (e === undefined) throw new TypeError(`no method or stream "${name}"`);
    return e;
  }

  // ---- HELLO -------------------------------------------------------------------------------

  private sendHello(): void {
    const entries: EntryInfo[] = [];
    const def = this.serveSpec?.def ?? this.callDef;
    if (this.serveSpec !== null) entries.push(...this.serveSpec.def.entries);
    else if (this.callDef !== null) entries.push(...this.callDef.entries);
    const payload = encodeHello({
      version: PROTOCOL_VERSION,
      flags: (this.serveSpec !== null ? HELLO_FLAG_SERVING : 0) | (this.callDef !== null ? HELLO_FLAG_CALLING : 0),
      heartbeatMs: Math.min(this.opts.heartbeatMs, 0xffff),
      maxFrameBytes: this.link.caps.mtu,
      cellName: def?.name ?? '',
      entries,
      ...(this.link.helloExtensions !== undefined ? { extensions: this.link.helloExtensions } : {}),
    });
    if (HEADER_BYTES + payload.length > this.link.caps.mtu) {
      // A table too large for this link: send the header only; the peer then checks keys per call.
      this.sendControl(KIND_HELLO, 0, 0, 0, null);
      return;
    }
    this.sendControl(KIND_HELLO, 0, 0, 0, payload);
  }

  private onHello(buf: Uint8Array, off: number, end: number): void {
    const entries = helloEntryCount(buf, off, end);
    if (end - off > this.limits.maxHelloBytes || entries > this.limits.maxHelloEntries) { this.refuseHello(end - off, entries); return; }
    const h = end === off
      ? { version: PROTOCOL_VERSION, flags: 0, heartbeatMs: 0, maxFrameBytes: 0, cellName: '', entries: [] }
      : decodeHello(buf, off, end);
    if (h === null) { this.stats.badFrames++; this.badHello(RpcCode.Malformed, 'malformed HELLO from the peer'); return; }
    this.peer = h;
    if (h.version !== PROTOCOL_VERSION) {
      this.badHello(RpcCode.SchemaMismatch, `peer speaks RPC protocol ${h.version}, this side ${PROTOCOL_VERSION}`);
      return;
    }
    // Never send the peer a frame larger than it said it takes (docs/wire-format.md §2.1): it
    // would drop it, and the call would only end at its deadline. 0 = no limit announced.
    if (h.maxFrameBytes >= HEADER_BYTES && h.maxFrameBytes < this.sendMax) {
      this.sendMax = h.maxFrameBytes;
      if (this.reserveMax > h.maxFrameBytes) this.reserveMax = h.maxFrameBytes;
    }
    if (end > off) this.checkPeerTable(h);
    if (this.helloTimer !== null) { clearTimeout(this.helloTimer); this.helloTimer = null; }
    this.readyRes(h);
  }

  /**
   * A HELLO that does not decode, or of another protocol version: the peer cannot be served or
   * called, so the connection ends (ERROR `msg` on the control channel, then closed), on a
   * server as on a client. `failMsg`/`detail`: the error the connection fails with, when it says
   * more than `msg`.
   */
  private badHello(code: number, msg: string, failMsg = msg, detail?: Record<string, unknown>): void {
    this.sendError(0, 0, 0, CHANNEL_CONTROL, code, msg);
    this.fail(new RpcError(code, failMsg, detail), new CellError(code, failMsg));
    this.link.close();
  }

  /**
   * A HELLO over maxHelloBytes or maxHelloEntries: refused before it is decoded (decoding costs
   * CPU in proportion to its size), answered with an ERROR Malformed on the control channel, and
   * the connection is closed (a peer that needs such a table is misconfigured or hostile).
   */
  private refuseHello(bytes: number, entries: number): void {
    const o = this.limits;
    const msg = bytes > o.maxHelloBytes ? `HELLO of ${bytes} bytes exceeds maxHelloBytes (${o.maxHelloBytes})` : `HELLO declares ${entries} entries, more than maxHelloEntries (${o.maxHelloEntries})`;
    this.stats.badFrames++;
    this.badHello(RpcCode.Malformed, msg, `refused the peer's HELLO: ${msg}`, { bytes, entries });
  }

  /** Decide, once, which of our methods the peer can answer (no round trip per call). */
  private checkPeerTable(h: HelloInfo): void {
    const byKey = new Map<bigint, EntryInfo>();
    const byName = new Map<string, EntryInfo>();
    for (const e of h.entries) { byKey.set(e.key, e); byName.set(e.name, e); }
    for (const c of this.callTable) {
      if (byKey.has(c.info.key)) { c.peerStatus = 0; continue; }
      const other = byName.get(c.info.name);
      if (other !== undefined) {
        c.peerStatus = RpcCode.SchemaMismatch;
        const why = h.cellName !== this.callDef!.name ? `the peer is cell "${h.cellName}", not "${this.callDef!.name}"`
          : other.kind !== c.info.kind ? `it is a ${other.kind} there, a ${c.info.kind} here`
          : other.requestFp !== c.info.requestFp ? 'the request schemas differ'
          : other.responseFp !== c.info.responseFp ? `the ${c.info.kind === 'stream' ? 'item' : 'response'} schemas differ` : 'the keys differ';
        c.peerDetail = {
          method: c.info.name, reason: why,
          local: { request: fpHex(c.info.requestFp), response: fpHex(c.info.responseFp) },
          peer: { request: fpHex(other.requestFp), response: fpHex(other.responseFp) },
        };
      } else {
        c.peerStatus = RpcCode.UnknownMethod;
        c.peerDetail = { method: c.info.name, peerCell: h.cellName };
      }
    }
  }

  private peerError(e: CallEntry): RpcError {
    return e.peerStatus === RpcCode.SchemaMismatch
      ? new RpcError(RpcCode.SchemaMismatch, `SchemaMismatch: method "${e.info.name}": ${String(e.peerDetail?.reason)}`, e.peerDetail)
      : new RpcError(RpcCode.UnknownMethod, `UnknownMethod: the peer has no method "${e.info.name}"`, e.peerDetail);
  }

  // ---- sending -----------------------------------------------------------------------------

  private ensureSend(n: number): void {
    if (this.sendBuf.length < n) this.sendBuf = new Uint8Array(Math.min(Math.max(n, this.sendBuf.length * 2), this.link.caps.mtu));
  }

  /**
   * Encode header + payload and queue the frame: straight into the link's write batch when the
   * link supports `reserve`/`commit` (no intermediate copy), else via the send buffer. Returns the
   * frame length (queued; `sendOk` false = the link asks to wait for onDrain) or -code when the
   * value does not encode (nothing sent).
   */
  // The key halves are not arguments: the caller stores them in `this.wh` first. A u32 ≥ 2^31 is a
  // double; passed to a call that is not inlined, or read through a polymorphic site (CallEntry
  // on the client, ServerCall on the server, in one process), V8 boxes it: a HeapNumber per call.
  private sendFrame(kind: number, id: number, codec: AnyCodec, value: unknown): number {
    const need = HEADER_BYTES + codec.maxSize;
    if (need <= this.reserveMax) {
      const link = this.link;
      const off = link.reserve!(need);
      if (off >= 0) {
        const buf = link.wbuf!;
        const n = codec.tryEncode(value as never, buf, off + HEADER_BYTES);
        if (n < 0) return n;
        // The header, written here rather than through a helper: this function is inlined into
        // the serving and calling paths, and V8's inlining budget (bytecode per optimised
        // function) runs out before a helper would be (docs/rpc.md §8).
        const dv = this.txView.of(buf), wh = this.wh;
        dv.setUint32(off, appWord0(kind), true);
        dv.setUint32(off + 4, id, true);
        dv.setUint32(off + 8, wh.keyLo, true);
        dv.setUint32(off + 12, wh.keyHi, true);
        dv.setUint32(off + 16, n, true);
        this.sendOk = link.commit!(HEADER_BYTES + n);
        return HEADER_BYTES + n;
      }
    }
    return this.sendFrameCopied(kind, id, codec, value);
  }

  /**
   * sendFrame for a link without reserve/commit, or a frame larger than its batch: header +
   * payload into the send buffer, then `link.send` copies it. The key halves are in `this.wh`.
   */
  private sendFrameCopied(kind: number, id: number, codec: AnyCodec, value: unknown): number {
    const need = HEADER_BYTES + codec.maxSize;
    if (need > this.sendBuf.length) this.ensureSend(need);
    const buf = this.sendBuf;
    const n = codec.tryEncode(value as never, buf, HEADER_BYTES);
    if (n < 0) {
      if (need > this.sendMax && HEADER_BYTES + safeSize(codec, value) > this.sendMax) return -ERR_LINK_MTU_EXCEEDED;
      return n;
    }
    if (HEADER_BYTES + n > this.sendMax) return -ERR_LINK_MTU_EXCEEDED; // over the peer's max frame
    const h = this.wh;
    h.kind = kind; h.flags = 0; h.channel = CHANNEL_APP; h.callId = id; h.length = n;
    writeHeader(h, buf, 0);
    this.sendOk = this.send(HEADER_BYTES + n);
    return HEADER_BYTES + n;
  }

  private sendControl(kind: number, channel: number, id: number, lo: number, payload: Uint8Array | null, hi = 0): boolean {
    const n = payload === null ? 0 : payload.length;
    this.ensureSend(HEADER_BYTES + n);
    const h = this.wh;
    h.kind = kind; h.flags = 0; h.channel = channel; h.callId = id; h.keyLo = lo; h.keyHi = hi; h.length = n;
    writeHeader(h, this.sendBuf, 0);
    if (payload !== null) this.sendBuf.set(payload, HEADER_BYTES);
    return this.send(HEADER_BYTES + n);
  }

  private sendU32(kind: number, id: number, lo: number, hi: number, v: number): void {
    const buf = this.sendBuf;
    const h = this.wh;
    h.kind = kind; h.flags = 0; h.channel = CHANNEL_APP; h.callId = id; h.keyLo = lo; h.keyHi = hi; h.length = 4;
    writeHeader(h, buf, 0);
    writeU32LE(buf, HEADER_BYTES, v);
    this.send(HEADER_BYTES + 4);
  }

  private send(len: number): boolean {
    if (this.link.closed) return false;
    return this.link.send(this.sendBuf, len);
  }

  private sendError(id: number, lo: number, hi: number, channel: number, code: number, message: string, payloadCodec?: AnyCodec, payload?: unknown): void {
    this.stats.errorsOut++;
    const mtu = this.link.caps.mtu;
    const payloadMax = payloadCodec?.maxSize ?? 0;
    this.ensureSend(Math.min(mtu, HEADER_BYTES + ERROR_HEAD_BYTES + ERROR_MESSAGE_MAX_BYTES + payloadMax));
    const buf = this.sendBuf;
    // The message gives way to the payload on a small link: the payload is what the caller types.
    let p = writeErrorHead(buf, HEADER_BYTES, code, message, Math.min(ERROR_MESSAGE_MAX_BYTES, buf.length - HEADER_BYTES - ERROR_HEAD_BYTES - payloadMax));
    if (payloadCodec !== undefined) {
      const n = payloadCodec.tryEncode(payload as never, buf, p);
      if (n < 0) {
        p = writeErrorHead(buf, HEADER_BYTES, RpcCode.Internal, `error ${code} payload does not encode (codec error ${-n})`, ERROR_MESSAGE_MAX_BYTES);
      } else p += n;
    }
    const h = this.wh;
    h.kind = KIND_ERROR; h.flags = 0; h.channel = channel; h.callId = id; h.keyLo = lo; h.keyHi = hi; h.length = p - HEADER_BYTES;
    writeHeader(h, buf, 0);
    this.send(p);
  }

  /** CREDIT for a stream of ours (ClientCallHost.credit): not after it ended or the connection closed. */
  private sendCredit(s: ClientStream, n: number): void {
    if (this.state === ST_CLOSED || this.slotOf(s.id) !== s) return;
    this.sendU32(KIND_CREDIT, s.id, s.entry.keyLo, s.entry.keyHi, n);
  }

  // ---- calling -----------------------------------------------------------------------------

  private closedError(): RpcError {
    return new RpcError(RpcCode.Closed, this.peerGoodbye ? 'the peer said GOODBYE: no new calls on this connection' : 'the connection is closed');
  }

  /** A free call id (1..0xFFFFFFFE, wrapping) whose table cell is empty. Grows the table first if needed. */
  private nextCallId(): number {
    if ((this.inFlightN + 1) * 2 > this.slots.length) this.growSlots();
    const slots = this.slots, mask = this.slotMask;
    let id = this.nextId;
    while (slots[id & mask] !== null) id = id >= 0xfffffffe ? 1 : id + 1;
    this.nextId = id >= 0xfffffffe ? 1 : id + 1;
    return id;
  }

  private growSlots(): void {
    const old = this.slots;
    const slots = new Array<Slot | null>(old.length * 2).fill(null);
    const mask = slots.length - 1;
    for (const c of old) if (c !== null) slots[c.id & mask] = c;
    this.slots = slots;
    this.slotMask = mask;
  }

  /** The call in flight with this id, or null. */
  private slotOf(id: number): Slot | null {
    const c = this.slots[id & this.slotMask]!;
    return c !== null && c.id === id ? c : null;
  }

  private addSlot(c: Slot): void {
    this.slots[c.id & this.slotMask] = c;
    this.inFlightN++;
  }

  /** Every call in flight (slow path: close, deadline sweep). */
  private inFlightCalls(): Slot[] {
    const out: Slot[] = [];
    for (const c of this.slots) if (c !== null) out.push(c);
    return out;
  }

  /** Unary call. Always settles: the answer, or a typed error. */
  call(e: CallEntry, req: unknown, opts?: CallOptions): Promise<unknown> {
    const c = this.startUnary(e, req, opts);
    if (c === null) return Promise.reject(this.takeRefusal());
    c.out = opts === undefined ? undefined : opts.into;
    return new Promise(c.exec);
  }

  /**
   * Unary call without a Promise (docs/rpc.md §1 "Pipelining"): `done(null, res)` or
   * `done(err, undefined)`, exactly once and never before `send` returns. The response is decoded
   * into `opts.into`, else into one object per method that every `send` of it reuses: it is
   * valid until the callback returns. No allocation per call after warm-up.
   */
  callBack(e: CallEntry, req: unknown, done: SendCallback, opts?: CallOptions): void {
    const c = this.startUnary(e, req, opts);
    if (c === null) { failLater(done, this.takeRefusal()); return; }
    c.done = done;
    c.out = opts !== undefined && opts.into !== undefined ? opts.into : (e.sendOut ??= e.response.create());
  }

  /**
   * What `call` and `callBack` share: queue the REQUEST and put a pending call in the table with
   * its deadline and abort listener. The caller then sets how it is answered (a Promise's
   * functions or a callback) and where the response goes — before returning, so before the
   * answer can arrive (the frame is written at the end of the tick). Returns null when the call
   * cannot start; takeRefusal() then gives the error. (Not the error as the result: telling the
   * two apart by `instanceof RpcError` took ~7 % of a pipelining client's CPU, a generic
   * Symbol.hasInstance lookup per call, measured with perf.)
   */
  private startUnary(e: CallEntry, req: unknown, opts: CallOptions | undefined): PendingCall | null {
    const err = this.refuseCall(e, opts);
    if (err !== null) { this.refusal = err; return null; }
    const id = this.nextCallId();
    const wh = this.wh;
    wh.keyLo = e.keyLo; wh.keyHi = e.keyHi;
    const n = this.sendFrame(KIND_REQUEST, id, e.request, req);
    if (n < 0) { this.refusal = encodeError(n, e.info.name, 'request'); return null; }
    const c = this.callPool.take() ?? new PendingCall(this.clientHost);
    c.id = id; c.entry = e;
    this.addSlot(c);
    this.armDeadline(c, opts?.deadlineMs ?? e.deadlineMs ?? this.opts.deadlineMs);
    const signal = opts?.signal;
    if (signal !== undefined) { c.signal = signal; signal.addEventListener('abort', c.onAbort, { once: true }); }
    this.stats.callsOut++;
    return c;
  }

  /** Why startUnary returned null (read once, by its caller). */
  private refusal: RpcError | null = null;
  private takeRefusal(): RpcError {
    const err = this.refusal!;
    this.refusal = null;
    return err;
  }

  /** Why a new call cannot start (closed, peer lacks the method, too many in flight, signal aborted), or null. */
  private refuseCall(e: CallEntry, opts: CallOptions | undefined): RpcError | null {
    if (this.state !== ST_OPEN || this.peerGoodbye) return this.closedError();
    if (e.peerStatus !== 0) return this.peerError(e);
    if (this.inFlightN >= this.opts.maxInFlight) return new RpcError(RpcCode.Overloaded, `more than ${this.opts.maxInFlight} calls in flight on this connection`);
    if (opts?.signal !== undefined && opts.signal.aborted) return new RpcError(RpcCode.Cancelled, 'the signal was already aborted');
    return null;
  }

  /** Server stream call. */
  openStream(e: CallEntry, req: unknown, opts?: StreamOptions): ClientStream {
    const credit = Math.max(1, opts?.credit ?? this.opts.streamCredit);
    const s = new ClientStream(this.clientHost, e, credit);
    if (this.state !== ST_OPEN || this.peerGoodbye) { s.fail(this.closedError()); return s; }
    if (e.peerStatus !== 0) { s.fail(this.peerError(e)); return s; }
    const signal = opts?.signal;
    if (signal !== undefined && signal.aborted) { s.fail(new RpcError(RpcCode.Cancelled, 'the signal was already aborted')); return s; }
    const id = this.nextCallId();
    s.id = id;
    const wh = this.wh;
    wh.keyLo = e.keyLo; wh.keyHi = e.keyHi;
    const n = this.sendFrame(KIND_REQUEST, id, e.request, req);
    if (n < 0) { s.fail(encodeError(n, e.info.name, 'request')); return s; }
    this.addSlot(s);
    if (opts?.deadlineMs !== undefined) this.armDeadline(s, opts.deadlineMs);
    if (signal !== undefined) { s.signal = signal; signal.addEventListener('abort', s.onAbort, { once: true }); }
    this.stats.callsOut++;
    this.sendU32(KIND_CREDIT, id, e.keyLo, e.keyHi, credit);
    return s;
  }

  /** Fetch the peer's full schema as JSON (control channel). */
  describe(opts?: CallOptions): Promise<unknown> {
    if (this.state !== ST_OPEN) return Promise.reject(this.closedError());
    const id = this.nextCallId();
    const [lo, hi] = splitKey(CONTROL_DESCRIBE_KEY);
    const c = this.callPool.take() ?? new PendingCall(this.clientHost);
    c.id = id; c.entry = null; c.out = undefined; // no entry: describe (onResponse)
    const p = new Promise(c.exec);
    this.addSlot(c);
    this.armDeadline(c, opts?.deadlineMs ?? this.opts.deadlineMs);
    this.sendControl(KIND_REQUEST, CHANNEL_CONTROL, id, lo, null, hi);
    return p;
  }

  /**
   * Whole milliseconds since the connection began (performance.now() - epochMs, truncated), read
   * at most once per 32 calls and once per tick (a microtask marks it stale): calls issued in one
   * burst share a reading that is at most a few µs old. Deadlines are whole ms on this clock,
   * small integers (Smis) for 12 days: a double would be a heap number per call (64 B/call,
   * measured in bench/rpc/alloc.ts) wherever V8 passes or stores it boxed.
   */
  private clock(): number {
    const u = this.clockUses;
    if (u === 0) queueMicrotask(this.staleClock);
    else if (u < 32) { this.clockUses = u + 1; return this.clockAt; }
    this.clockUses = 1;
    // Not elapsedMs(): a double returned from a call is a heap number (16 B per reading, measured).
    return (this.clockAt = (performance.now() - this.epochMs) | 0);
  }
  private readonly epochMs = performance.now();
  /** Milliseconds since the connection began (the clock deadlines are on), unrounded; for the sweep, off the hot path. */
  private elapsedMs(): number { return performance.now() - this.epochMs; }
  private clockAt = 0;
  private clockUses = 0;
  private readonly staleClock = (): void => { this.clockUses = 0; };

  private armDeadline(c: Slot, ms: number): void {
    // Deadlines of 6 days and more are treated as none (they would not fit the Smi clock).
    if (!(ms > 0 && ms < MAX_DEADLINE_MS)) { c.deadline = NO_DEADLINE; return; }
    // +1: the clock is truncated to whole ms (up to 1 ms low), so the deadline is never early.
    const at = this.clock() + Math.ceil(ms) + 1;
    c.deadline = at;
    if (at < this.deadlineArmedAt) {
      if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
      this.deadlineArmedAt = at;
      this.deadlineTimer = setTimeout(this.sweepDeadlines, Math.max(0, Math.ceil(ms)));
    }
  }

  private readonly sweepDeadlines = (): void => {
    this.deadlineTimer = null;
    this.deadlineArmedAt = NO_DEADLINE;
    const now = this.elapsedMs() + 0.5;
    let next = NO_DEADLINE;
    const expired: Slot[] = [];
    for (const c of this.inFlightCalls()) {
      if (c.deadline <= now) expired.push(c);
      else if (c.deadline < next) next = c.deadline;
    }
    for (const c of expired) {
      this.stats.timeouts++;
      this.abortCall(c, RpcCode.Timeout, `no answer before the deadline${c.isStream ? '' : (c as PendingCall).entry ? ` (method "${(c as PendingCall).entry!.info.name}")` : ''}`);
    }
    if (next < NO_DEADLINE && this.state !== ST_CLOSED) {
      this.deadlineArmedAt = next;
      this.deadlineTimer = setTimeout(this.sweepDeadlines, Math.max(0, Math.ceil(next - this.elapsedMs())));
    }
  };

  /** Fail a pending call locally and tell the peer (CANCEL): deadline, abort signal, a stream's `break`, an item that does not decode. */
  private abortCall(c: Slot, code: number, message: string, quiet = false): void {
    if (this.slotOf(c.id) !== c) return;
    const e = c.entry;
    if (code === RpcCode.Cancelled) this.stats.cancels++;
    this.sendCancel(c);
    this.settle(c, new RpcError(code, message, e !== null ? { method: e.info.name } : undefined), false, quiet);
  }

  /** CANCEL for a call of ours: on the app channel with the method's key, or on the control channel for describe. */
  private sendCancel(c: Slot): void {
    if (this.state === ST_CLOSED || this.link.closed) return;
    const e = c.entry;
    if (e !== null) { this.sendControl(KIND_CANCEL, CHANNEL_APP, c.id, e.keyLo, null, e.keyHi); return; }
    const [lo, hi] = splitKey(CONTROL_DESCRIBE_KEY);
    this.sendControl(KIND_CANCEL, CHANNEL_CONTROL, c.id, lo, null, hi);
  }

  /** Remove `c` from the table and settle it. */
  private settle(c: Slot, value: unknown, ok: boolean, quiet = false): void {
    this.slots[c.id & this.slotMask] = null;
    this.inFlightN--;
    if (c.signal !== null) { c.signal.removeEventListener('abort', c.onAbort); c.signal = null; }
    if (c.isStream) {
      const s = c as ClientStream;
      if (ok) s.end(); else s.fail(value, quiet);
    } else {
      this.answer(c as PendingCall, value, ok);
    }
    if (this.state === ST_CLOSING) this.maybeFinishGoodbye();
  }

  // ---- receiving ---------------------------------------------------------------------------

  private readonly onFrame = (buf: Uint8Array, off: number, len: number, parsed?: Header): void => {
    this.rxFrames++;
    // A length-framed link has parsed and validated the header (against the same MTU) already.
    let h: Header;
    if (parsed !== undefined) h = parsed;
    else if (this.rxView.read(buf, off, len, this.maxPayload, (h = this.rh)) < 0) { this.stats.badFrames++; return; }
    // One test for two cases: a frame flagged AUTH, ENCRYPTED or MORE, and (while `dropping`)
    // the unflagged last fragment of a message already refused. Neither is ever read as plain.
    if (((h.flags | this.dropping) & FLAGS_UNSUPPORTED) !== 0 && this.refuseFlagged(h)) return;
    const p = off + HEADER_BYTES;
    const end = off + len;
    switch (h.kind) {
      case KIND_RESPONSE: this.onResponse(h, buf, p, end); return;
      case KIND_REQUEST: this.onRequest(h, buf, p, end); return;
      case KIND_ERROR: this.onError(h, buf, p, end); return;
      case KIND_STREAM_ITEM: this.onStreamItem(h, buf, p, end); return;
      case KIND_STREAM_END: {
        const s = this.slotOf(h.callId);
        if (s === null || !s.isStream) { this.stats.lateFrames++; return; }
        this.settle(s, undefined, true);
        return;
      }
      case KIND_EVENT: this.onEvent(h, buf, p, end); return;
      case KIND_CANCEL: {
        const sc = this.serving.get(h.callId);
        if (sc !== undefined) sc.cancel();
        return;
      }
      case KIND_CREDIT: {
        const sc = this.serving.get(h.callId);
        if (sc === undefined || !sc.isStream || end - p < 4) return;
        (sc as ServerStream).grant(readU32LE(buf, p));
        return;
      }
      case KIND_PING: this.sendControl(KIND_PONG, h.channel, h.callId, 0, null); return;
      case KIND_PONG: return;
      case KIND_HELLO: this.onHello(buf, p, end); return;
      case KIND_GOODBYE: this.onGoodbye(); return;
      default: this.stats.badFrames++;
    }
  };

  /**
   * A frame flagged AUTH, ENCRYPTED or MORE, or a later fragment of a message refused so: never
   * decoded, since no link implements these flags yet (#10 will). Its payload may be ciphertext,
   * end in an authentication tag, or be one piece of a message; read as plain it would be taken
   * for something it is not (docs/wire-format.md §2.2). Each such frame is dropped and counted
   * in stats.unsupportedFlags (error 107, ERR_WIRE_FLAGS_UNSUPPORTED).
   *
   * Not answered, whatever its kind, a REQUEST included (its caller gets Timeout at its
   * deadline). An ERROR 107 would have been cheap, but:
   *  - the wire spec says a refused frame is never answered and 1xx codes never go on the wire
   *    (§2.2), and a peer built from it would take a 107 in an ERROR for a protocol error;
   *  - the header of an AUTH or ENCRYPTED frame is what the tag would vouch for: its call id,
   *    key and channel are unchecked, so answering lets anyone who can inject a frame choose
   *    which of the peer's calls we fail;
   *  - a peer that encrypts gets a plaintext reply, and a fragmented request one per fragment;
   *  - QUIC and TLS record layers drop what they cannot authenticate, silently, for the same
   *    reasons: no oracle, no reflection.
   * For the same reason a flagged RESPONSE, ERROR or STREAM_* does not fail the call its call id
   * names: the call ends at its deadline, as for a lost frame. One local exception: a flagged
   * HELLO rejects `ready` at once (Unavailable, cause 107) instead of letting connect() wait
   * helloTimeoutMs and report a HELLO that "never came". The link stays open: its length
   * field was valid, so a length-framed stream is still in step.
   *
   * Fragments: MORE means "more follow" and the last fragment has it clear (§2); we take the
   * fragments of one message to share its kind and call id (the header is the only place that
   * says which message a frame belongs to). So every frame of a refused fragmented message is
   * dropped, up to and including its unflagged last fragment, which would otherwise be read as
   * a whole message. A peer with more than MAX_REFUSED_FRAGMENTS of them open at once is closed
   * on (Malformed) rather than tracked without bound.
   *
   * Returns false for a plain frame that ends no such message: the caller handles it as usual.
   */
  private refuseFlagged(h: Header): boolean {
    const flags = h.flags & FLAGS_UNSUPPORTED;
    const msg = h.kind * 0x100000000 + h.callId;
    const fragments = this.refusedFragments;
    const tracked = fragments !== null && fragments.has(msg);
    if (flags === 0 && !tracked) return false;
    this.stats.unsupportedFlags++;
    if (tracked) {
      // A later fragment of a message refused at its first: dropped; the last one ends it.
      if ((flags & FLAG_MORE) === 0) {
        fragments!.delete(msg);
        if (fragments!.size === 0) this.dropping = 0;
      }
      return true;
    }
    if ((flags & FLAG_MORE) !== 0) {
      const open = fragments ?? (this.refusedFragments = new Set());
      if (open.size >= MAX_REFUSED_FRAGMENTS) {
        this.fail(new RpcError(RpcCode.Malformed, `more than ${MAX_REFUSED_FRAGMENTS} fragmented messages at once on a link that implements no fragments`, { cause: ERR_WIRE_FLAGS_UNSUPPORTED }));
        this.link.close();
        return true;
      }
      open.add(msg);
      this.dropping = FLAG_MORE;
    }
    if (h.kind === KIND_HELLO && this.peer === null) {
      this.readyRej(new RpcError(RpcCode.Unavailable, `the peer's HELLO is flagged ${flagNames(flags)}, which this link does not implement: refused unread`, { cause: ERR_WIRE_FLAGS_UNSUPPORTED }));
    }
    return true;
  }

  private onResponse(h: Header, buf: Uint8Array, p: number, end: number): void {
    const c = this.slotOf(h.callId);
    if (c === null || c.isStream) { this.stats.lateFrames++; return; }
    const pc = c as PendingCall;
    // describe() is the one call without an entry: its answer is JSON, not a method's response.
    const e = pc.entry;
    if (e === null) { this.onDescribed(pc, buf, p, end); return; }
    if (h.keyLo !== e.keyLo || h.keyHi !== e.keyHi) { this.wrongKey(pc); return; }
    const out = pc.out ?? e.response.create();
    const r = e.response.tryDecode(buf, p, end, out as never);
    if (r !== end - p) { this.badResponse(pc, r); return; }
    this.settleOk(pc, out);
  }

  /** The answer to describe(): the peer's schema as UTF-8 JSON (§6). */
  private onDescribed(pc: PendingCall, buf: Uint8Array, p: number, end: number): void {
    let v: unknown;
    try { v = JSON.parse(new TextDecoder().decode(buf.subarray(p, end))); } catch { this.settle(pc, new RpcError(RpcCode.Malformed, 'describe: response is not JSON'), false); return; }
    this.settle(pc, v, true);
  }

  /** A RESPONSE with our call id and another method's key: the call fails Malformed (apart from onResponse, as badResponse). */
  private wrongKey(pc: PendingCall): void {
    const e = pc.entry!;
    this.settle(pc, new RpcError(RpcCode.Malformed, `response key does not match the call to "${e.info.name}"`, { method: e.info.name }), false);
  }

  /**
   * The RESPONSE to `pc` does not decode (codec error -r, or only r bytes of it are the value):
   * the call fails Malformed. Apart from onResponse, which is inlined into the receive path
   * (V8 budgets inlining by bytecode size, and this message is most of it).
   */
  private badResponse(pc: PendingCall, r: number): void {
    const e = pc.entry!;
    this.stats.badFrames++;
    const cause = r < 0 ? -r : ERR_CODEC_TRAILING_BYTES;
    this.settle(pc, new RpcError(RpcCode.Malformed, `response to "${e.info.name}" does not decode (${r < 0 ? `codec error ${cause}` : 'trailing bytes'})`, { method: e.info.name, cause }), false);
  }

  /** settle(pc, value, true) for a unary call: the hot path of every answer, without the stream and error branches. */
  private settleOk(pc: PendingCall, value: unknown): void {
    this.slots[pc.id & this.slotMask] = null;
    this.inFlightN--;
    if (pc.signal !== null) { pc.signal.removeEventListener('abort', pc.onAbort); pc.signal = null; }
    this.answer(pc, value, true);
    if (this.state === ST_CLOSING) this.maybeFinishGoodbye();
  }

  /** Return a pending call (already out of the table) to the pool and deliver `value`: to its callback (`send`) or its Promise. */
  private answer(pc: PendingCall, value: unknown, ok: boolean): void {
    const res = pc.resolve, rej = pc.reject, done = pc.done;
    pc.resolve = null; pc.reject = null; pc.done = null; pc.entry = null; pc.out = undefined;
    this.callPool.put(pc);
    if (done !== null) runCallback(done, ok ? null : value, ok ? value : undefined);
    else if (ok) res!(value); else rej!(value);
  }

  private onError(h: Header, buf: Uint8Array, p: number, end: number): void {
    this.stats.errorsIn++;
    const c = this.slotOf(h.callId);
    if (c === null) { this.stats.lateFrames++; return; }
    const eh = readErrorHead(buf, p, end, this.eh);
    if (eh === null) { this.settle(c, new RpcError(RpcCode.Malformed, 'malformed ERROR payload'), false); return; }
    this.settle(c, errorFromAnswer(c.entry, eh, buf, end), false);
  }

  private onStreamItem(h: Header, buf: Uint8Array, p: number, end: number): void {
    const c = this.slotOf(h.callId);
    if (c === null || !c.isStream) { this.stats.lateFrames++; return; }
    const s = c as ClientStream;
    const item = s.entry.response.create();
    const r = s.entry.response.tryDecode(buf, p, end, item as never);
    if (r !== end - p) { this.abortCall(s, RpcCode.Malformed, `stream "${s.entry.info.name}": item does not decode`); return; }
    s.push(item);
  }

  private onEvent(h: Header, buf: Uint8Array, p: number, end: number): void {
    this.stats.eventsIn++;
    const e = this.eventTable.get(h.keyLo, h.keyHi);
    if (e === undefined) { this.stats.unknownKeys++; return; }
    if (e.handlers.length === 0) return;
    if (e.out === undefined) e.out = e.codec.create();
    const r = e.codec.tryDecode(buf, p, end, e.out as never);
    if (r !== end - p) { this.stats.badFrames++; return; }
    for (const fn of e.handlers) {
      try { fn(e.out); } catch { /* a listener's exception is not the connection's problem */ }
    }
  }

  // ---- serving -----------------------------------------------------------------------------

  private onRequest(h: Header, buf: Uint8Array, p: number, end: number): void {
    const id = h.callId;
    if (h.channel !== CHANNEL_APP) { this.onOtherChannel(h, buf, p, end); return; }
    let e = this.lastServe;
    if (e === null || e.keyLo !== h.keyLo || e.keyHi !== h.keyHi) {
      const f = this.serveTable.get(h.keyLo, h.keyHi);
      if (f === undefined) { this.refuseUnknown(h); return; }
      this.lastServe = e = f;
    }
    this.stats.callsIn++;
    if (this.state !== ST_OPEN) { this.sendError(id, h.keyLo, h.keyHi, CHANNEL_APP, RpcCode.Closed, 'the server said GOODBYE'); return; }
    if (this.serving.size >= this.opts.maxServing) { this.sendError(id, h.keyLo, h.keyHi, CHANNEL_APP, RpcCode.Overloaded, `more than ${this.opts.maxServing} calls in progress`); return; }
    if (e.isStream) { this.startStream(e, h, buf, p, end); return; }
    const pool = e.reqPool;
    const req = pool.take() ?? (e.request.create() as object);
    const r = e.request.tryDecode(buf, p, end, req as never);
    if (r !== end - p) {
      pool.put(req);
      this.sendError(id, h.keyLo, h.keyHi, CHANNEL_APP, RpcCode.Malformed, `request to "${e.info.name}" does not decode (${r < 0 ? `codec error ${-r}` : 'trailing bytes'})`);
      return;
    }
    const sc = this.servePool.take() ?? new ServerCall(this, this.serverHost);
    sc.callId = id; sc.entry = e; sc.req = req; sc.keyLo = h.keyLo; sc.keyHi = h.keyHi;
    const result = this.invoke(e, req, sc);
    if (result === FAILED) return;
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      sc.async = true;
      this.serving.set(id, sc);
      (result as PromiseLike<unknown>).then(sc.onOk, sc.onErr);
    } else {
      this.serverDone(sc, result);
    }
  }

  /** Run a handler; a throw is answered here (FAILED returned). Kept apart so the caller has no try/catch. */
  private invoke(e: ServeEntry, req: unknown, sc: ServerCall): unknown {
    try {
      return callWithThis.call(e.handler, e.impl, req, sc);
    } catch (err) {
      this.serverFailed(sc, err);
      return FAILED;
    }
  }

  /**
   * A REQUEST on a channel other than 0 (docs/rpc.md §3.3): describe on channel 1; a Node server
   * has no ops (2), boot (3) or free-channel (4–255) service, so the rest get ERROR 403 on the
   * REQUEST's channel: every answer keeps its REQUEST's channel.
   */
  private onOtherChannel(h: Header, buf: Uint8Array, p: number, end: number): void {
    if (h.channel === CHANNEL_CONTROL) { this.onControl(h, buf, p, end); return; }
    this.stats.unknownKeys++;
    this.sendError(h.callId, h.keyLo, h.keyHi, h.channel, RpcCode.UnknownMethod, `UnknownMethod: nothing is served on channel ${h.channel}`);
  }

  private refuseUnknown(h: Header): void {
    this.stats.unknownKeys++;
    let name: string | undefined;
    if (this.peer !== null) {
      for (const pe of this.peer.entries) {
        const [lo, hi] = splitKey(pe.key);
        if (lo === h.keyLo && hi === h.keyHi) { name = pe.name; break; }
      }
    }
    const key = fpHex((BigInt(h.keyHi) << 32n) | BigInt(h.keyLo));
    if (name !== undefined && this.serveByName.has(name)) {
      this.sendError(h.callId, h.keyLo, h.keyHi, h.channel, RpcCode.SchemaMismatch, `SchemaMismatch: method "${name}" exists here with other schemas (key ${key})`);
    } else {
      this.sendError(h.callId, h.keyLo, h.keyHi, h.channel, RpcCode.UnknownMethod, `UnknownMethod: ${name !== undefined ? `no method "${name}"` : `no method with key ${key}`}`);
    }
  }

  private onControl(h: Header, _buf: Uint8Array, _p: number, _end: number): void {
    const [lo, hi] = splitKey(CONTROL_DESCRIBE_KEY);
    if (h.keyLo !== lo || h.keyHi !== hi || this.describeFn === undefined) {
      this.sendError(h.callId, h.keyLo, h.keyHi, CHANNEL_CONTROL, RpcCode.UnknownMethod, 'UnknownMethod: unknown control method');
      return;
    }
    const json = new TextEncoder().encode(JSON.stringify(this.describeFn()));
    if (HEADER_BYTES + json.length > this.sendMax) {
      this.sendError(h.callId, h.keyLo, h.keyHi, CHANNEL_CONTROL, RpcCode.Internal, `schema JSON (${json.length} bytes) exceeds the largest frame the link or the peer takes (${this.sendMax} bytes)`);
      return;
    }
    this.sendControl(KIND_RESPONSE, CHANNEL_CONTROL, h.callId, h.keyLo, json, h.keyHi);
  }

  /** A handler returned/resolved (ServerCallHost.done for a promise). */
  private serverDone(sc: ServerCall, res: unknown): void {
    const e = sc.entry!;
    if (sc.async) this.serving.delete(sc.callId);
    if (!sc.cancelled && this.state !== ST_CLOSED) {
      const wh = this.wh;
      wh.keyLo = sc.keyLo; wh.keyHi = sc.keyHi;
      const n = this.sendFrame(KIND_RESPONSE, sc.callId, e.response, res);
      if (n < 0) this.refuseResponse(sc, n);
    }
    this.releaseServerCall(sc);
  }

  /** A handler's response does not encode (codec error -n): the caller gets Internal instead. Apart from serverDone, which is inlined into the serving path. */
  private refuseResponse(sc: ServerCall, n: number): void {
    this.sendError(sc.callId, sc.keyLo, sc.keyHi, CHANNEL_APP, RpcCode.Internal, `response of "${sc.entry!.info.name}" does not encode (codec error ${-n})`);
  }

  /** A handler threw/rejected (ServerCallHost.failed for a promise). */
  private serverFailed(sc: ServerCall, err: unknown): void {
    const e = sc.entry!;
    if (sc.async) this.serving.delete(sc.callId);
    if (!sc.cancelled && this.state !== ST_CLOSED) this.sendHandlerError(sc, e, err);
    this.releaseServerCall(sc);
  }

  private sendHandlerError(sc: ServerCall, e: ServeEntry, err: unknown): void {
    const a = handlerAnswer(e, err, this.opts.exposeErrors);
    this.sendError(sc.callId, sc.keyLo, sc.keyHi, CHANNEL_APP, a.code, a.message, a.payloadCodec, a.payload);
  }

  private releaseServerCall(sc: ServerCall): void {
    const e = sc.entry;
    const stream = sc.isStream;
    if (e !== null && sc.req !== undefined && !stream) e.reqPool.put(sc.req as object);
    sc.reset();
    if (!stream) this.servePool.put(sc);
    if (this.state === ST_CLOSING) this.maybeFinishGoodbye();
  }

  private startStream(e: ServeEntry, h: Header, buf: Uint8Array, p: number, end: number): void {
    const req = e.request.create();
    const r = e.request.tryDecode(buf, p, end, req as never);
    if (r !== end - p) {
      this.sendError(h.callId, h.keyLo, h.keyHi, CHANNEL_APP, RpcCode.Malformed, `request to stream "${e.info.name}" does not decode`);
      return;
    }
    const ss = new ServerStream(this, this.serverHost);
    ss.callId = h.callId; ss.entry = e; ss.req = req; ss.keyLo = h.keyLo; ss.keyHi = h.keyHi; ss.async = true;
    this.serving.set(ss.callId, ss);
    void ss.pump();
  }

  /** One STREAM_ITEM of `ss` (StreamHost.sendItem): the frame length or -code; notes when the link asks to wait. */
  private sendItem(ss: ServerStream, item: unknown): number {
    const wh = this.wh;
    wh.keyLo = ss.keyLo; wh.keyHi = ss.keyHi;
    const n = this.sendFrame(KIND_STREAM_ITEM, ss.callId, ss.entry!.response, item);
    if (n >= 0 && !this.sendOk) this.backpressured = true;
    return n;
  }

  /** The link asked to wait (a send returned false): stream pumps hold until onDrain. */
  private backpressured = false;
  private readonly onDrain = (): void => {
    this.backpressured = false;
    if (this.readPaused) { this.readPaused = false; this.link.resumeReading?.(); }
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  };

  // ---- events ------------------------------------------------------------------------------

  /** Send an event of the served cell to this peer (fire-and-forget). Returns false if not sent. */
  emit(name: string, value: unknown): boolean {
    const e = this.emitByName.get(name);
    if (e === undefined) throw new TypeError(`cell ${this.serveSpec?.def.name}: no event "${name}"`);
    if (this.state === ST_CLOSED) return false;
    this.wh.keyLo = e.keyLo; this.wh.keyHi = e.keyHi;
    const n = this.sendFrame(KIND_EVENT, 0, e.codec, value);
    if (n < 0) throw encodeError(n, name, 'event');
    this.stats.eventsOut++;
    return true;
  }

  /** Listen to an event of the called cell. Returns an unsubscribe function. The value is reused between events: copy what you keep. */
  on(name: string, fn: (v: unknown) => void): () => void {
    const e = this.eventByName.get(name);
    if (e === undefined) throw new TypeError(`no event "${name}"`);
    e.handlers.push(fn);
    return () => this.off(name, fn);
  }

  off(name: string, fn: (v: unknown) => void): void {
    const e = this.eventByName.get(name);
    if (e === undefined) return;
    const i = e.handlers.indexOf(fn);
    if (i >= 0) e.handlers.splice(i, 1);
  }

  /** Called once when the connection closes, with null (local close / goodbye) or the reason. */
  onClose(fn: (err: CellError | null) => void): void {
    this.closeListeners.push(fn);
  }

  // ---- liveness and shutdown ---------------------------------------------------------------

  private readonly heartbeat = (): void => {
    if (this.state === ST_CLOSED) return;
    const now = performance.now();
    if (this.rxFrames !== this.rxSeen) { this.rxSeen = this.rxFrames; this.rxAt = now; }
    // Before the peer's HELLO (a peer process still starting) the limit is at least helloTimeoutMs.
    else if (now - this.rxAt > (this.peer === null ? Math.max(2.5 * this.opts.heartbeatMs, this.opts.helloTimeoutMs) : 2.5 * this.opts.heartbeatMs)) {
      this.fail(new RpcError(RpcCode.Unavailable, `peer silent for ${Math.round(now - this.rxAt)} ms (heartbeat ${this.opts.heartbeatMs} ms${this.peer === null ? ', no HELLO yet' : ''}): declared dead`));
      this.link.close();
      return;
    }
    if ((this.hbTicks++ & 3) === 0) { this.stats.pingsOut++; this.sendControl(KIND_PING, CHANNEL_CONTROL, 0, 0, null); }
  };

  private onGoodbye(): void {
    this.peerGoodbye = true;
    // Pending calls of ours still get their answers; new ones fail Closed (see call()).
    if (this.state === ST_CLOSING) this.maybeFinishGoodbye();
  }

  private goodbyeRes: (() => void) | null = null;

  /**
   * Graceful close: send GOODBYE, refuse new calls (Closed) in both directions, let in-flight
   * calls finish (each within its deadline), then close the link.
   */
  goodbye(): Promise<void> {
    if (this.state !== ST_OPEN) return this.closed;
    this.state = ST_CLOSING;
    this.sendControl(KIND_GOODBYE, CHANNEL_CONTROL, 0, 0, null);
    const p = new Promise<void>((res) => { this.goodbyeRes = res; });
    this.maybeFinishGoodbye();
    return p;
  }

  private maybeFinishGoodbye(): void {
    if (this.inFlightN > 0 || this.serving.size > 0) return;
    this.shutdown(false);
    const r = this.goodbyeRes;
    this.goodbyeRes = null;
    r?.();
  }

  /**
   * Close now: calls in flight on this side fail Closed, calls the peer has in flight here are
   * answered Closed, GOODBYE is sent, the link is flushed and closed.
   */
  close(): Promise<void> {
    return this.shutdown(this.state === ST_OPEN);
  }

  private shutdown(sayGoodbye: boolean): Promise<void> {
    if (this.state === ST_CLOSED) return this.closed;
    const linkOpen = !this.link.closed;
    if (linkOpen) {
      for (const sc of this.serving.values()) {
        if (!sc.cancelled) this.sendError(sc.callId, sc.keyLo, sc.keyHi, CHANNEL_APP, RpcCode.Closed, 'the server closed the connection');
      }
      if (sayGoodbye) this.sendControl(KIND_GOODBYE, CHANNEL_CONTROL, 0, 0, null);
    }
    this.fail(new RpcError(RpcCode.Closed, 'the connection was closed'), null);
    if (linkOpen) this.link.close();
    return this.closed;
  }

  private readonly onLinkClose = (err: CellError | null): void => {
    if (this.state === ST_CLOSED) return;
    const code = err === null || this.peerGoodbye ? RpcCode.Closed : RpcCode.Unavailable;
    const why = err === null ? 'the link was closed' : this.peerGoodbye ? `the peer said GOODBYE and closed (${err.message})`
      : err.code === ERR_LINK_CLOSED ? `the peer closed the link without GOODBYE (${err.message})` : `link lost: ${err.message}`;
    this.fail(new RpcError(code, why, err !== null ? { cause: err.code } : undefined), err);
  };

  /** Fail everything, stop timers, mark closed. */
  private fail(e: RpcError, linkErr: CellError | null = e): void {
    if (this.state === ST_CLOSED) return;
    this.state = ST_CLOSED;
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    if (this.hbTimer !== null) clearInterval(this.hbTimer);
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.deadlineTimer = null; this.hbTimer = null; this.helloTimer = null;
    this.readyRej(e);
    for (const c of this.inFlightCalls()) this.settle(c, new RpcError(e.code, e.message, e.detail as Record<string, unknown> | undefined), false);
    for (const sc of [...this.serving.values()]) sc.cancel();
    this.serving.clear();
    this.onDrain();
    const r = this.goodbyeRes; this.goodbyeRes = null; r?.();
    for (const fn of this.closeListeners) { try { fn(linkErr); } catch { /* ignore */ } }
    this.closedRes();
  }

  /** Calls waiting for an answer on this side. */
  get inFlight(): number { return this.inFlightN; }
  /** Calls of the peer being served on this side. */
  get serving_(): number { return this.serving.size; }
  get isOpen(): boolean { return this.state === ST_OPEN && !this.peerGoodbye; }

  // Declared last and apart from `opts`: nothing on the per-call path reads them, and the
  // fields and options it does read keep their places.
  /** Options off the per-call path: flow control, HELLO bounds, fair serving. */
  private readonly limits: Limits;
  /** Reading is paused until onDrain (pauseForBacklog). */
  private readPaused = false;

  /**
   * The link's write queue went over its high-water mark (Link handlers' onBackpressure): a
   * serving connection stops reading, so a peer that sends requests or PINGs and never reads the
   * answers stops being read too (its writes back up on its side) and is dropped by the
   * heartbeat if it stays so. Never a client-only connection: its queue holds its own requests,
   * and the answers it waits for must still be read. Answers already computed are all sent: none
   * is dropped (docs/rpc.md §2 "Backpressure").
   */
  private pauseForBacklog(): void {
    if (this.readPaused || this.serveSpec === null || !this.limits.pauseReadingWhenBacklogged || this.state === ST_CLOSED) return;
    const link = this.link;
    if (typeof link.pauseReading !== 'function') return;
    this.readPaused = true;
    this.stats.readPauses++;
    link.pauseReading();
  }
}

/** "AUTH", "ENCRYPTED+MORE", …: the flags of `flags` by name, for messages. */
function flagNames(flags: number): string {
  const names: string[] = [];
  if ((flags & FLAG_AUTH) !== 0) names.push('AUTH');
  if ((flags & FLAG_ENCRYPTED) !== 0) names.push('ENCRYPTED');
  if ((flags & FLAG_MORE) !== 0) names.push('MORE');
  return names.join('+');
}

/** The encoded size of `v`, or 0 when it does not encode: only to tell "too large for the MTU" from other codec errors. */
function safeSize(codec: AnyCodec, v: unknown): number {
  try { return codec.encodedSize(v as never); } catch { return 0; }
}
