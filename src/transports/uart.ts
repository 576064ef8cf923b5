// UART links over serialport (docs/uart.md): COBS + CRC-32C framing through StreamLink, and
// sessions that come back by themselves after an unplug/replug or a device reset.
//
// Three layers, each usable alone:
//   openUart(opts)            → UartLink: one open of the port, a plain Link (no reconnect).
//   new UartSessions(opts)    → a LinkListener: watches for the device (path, or USB serial
//                               number through SerialPort.list()), opens it, hands out one fresh
//                               Link per session, reopens after a loss. `serve(def, impl,
//                               sessions)` works as it is: each session is a new Connection.
//   connectUart / serveUart   → the RPC on top: one stable typed client whose calls fail
//                               Unavailable (401) while the device is away and work again once it
//                               is back and HELLO has been exchanged again; `onState` reports
//                               'open' | 'lost' | 'reopened'.
//
// serialport is an optional dependency: it is loaded here, lazily (`await import('serialport')`),
// the first time a port is opened. Nothing else in the package imports this file.
import { existsSync } from 'node:fs';
import type { SerialPort as SerialPortClass } from 'serialport';
import { StreamLink } from './stream.ts';
import { checkMtu, type Link, type LinkCapabilities, type LinkHandlers, type LinkListener, type LinkStats } from './link.ts';
import { UartIo } from './uart-io.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_IO } from '../wire/errors.ts';
import { KIND_HELLO } from '../wire/header.ts';
import { Connection, type CallOptions, type ConnectionOptions, type RpcStats } from '../rpc/connection.ts';
import { makeClient, sendViaPromise, serve, unaryMethod, type Client, type ClientControls, type Impl, type SendDone, type Server, type ServeOptions, type UnaryMethod } from '../rpc/api.ts';
import { RpcCode, rpcError } from '../rpc/errors.ts';
import type { CellDef, MethodDef } from '../rpc/define.ts';
import { helloIsAnswer, markHelloAnswer, type HelloInfo } from '../rpc/payloads.ts';
import type { CellDescription } from '../codec/schema-json.ts';

// ---------------------------------------------------------------------------------------------
// One port

/** What SerialPort.list() reports per port (the fields used here). */
export interface UartPortInfo {
  path: string;
  serialNumber?: string | undefined;
}

export interface UartPortOptions {
  /** Device path (/dev/ttyUSB0, /dev/serial/by-id/…, COM3, a pty link). Required unless `serialNumber` is given. */
  path?: string;
  /**
   * USB serial number: the port is found through SerialPort.list() (case-insensitive match), so
   * a device that comes back under another path (/dev/ttyACM0 → ttyACM1) is still found. Wins
   * over `path` when both are given.
   */
  serialNumber?: string;
  /** @default 115200 */
  baudRate?: number;
  /** @default 8 */
  dataBits?: 5 | 6 | 7 | 8;
  /** @default 'none' */
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  /** @default 1 */
  stopBits?: 1 | 1.5 | 2;
  /** RTS/CTS hardware flow control. @default false */
  rtscts?: boolean;
  /** Set DTR after open (many boards reset on a DTR edge). @default left as the OS opens it */
  dtr?: boolean;
  /** Set RTS after open. @default left as the OS opens it */
  rts?: boolean;
  /**
   * Write no faster than this line rate (baud). A pty ignores the baud rate and moves bytes at
   * memory speed; a test that needs real UART timing sets this. @default 0 (no pacing)
   */
  paceBaud?: number;
  /** Largest frame, header included (CRC and COBS overhead not counted): the link's MTU. @default 4096 */
  maxFrameBytes?: number;
  /** Queued bytes above which `send` returns false (then wait for onDrain). @default 65536 */
  highWaterMarkBytes?: number;
  /** While open, check this often that the device path still exists (some drivers never error). 0 = off. @default 250 */
  watchMs?: number;
  /** `close()` waits this long for queued bytes to leave before closing the port anyway. @default 1000 */
  closeTimeoutMs?: number;
  /** Port enumeration for `serialNumber` (tests pass their own). @default SerialPort.list */
  list?: () => Promise<UartPortInfo[]>;
}

type SerialPortCtor = typeof SerialPortClass;
let serialPortModule: Promise<SerialPortCtor> | null = null;

/** Load serialport once, on first use (an optional dependency). */
function loadSerialPort(): Promise<SerialPortCtor> {
  serialPortModule ??= import('serialport').then(
    (m) => m.SerialPort,
    (e: Error) => {
      serialPortModule = null;
      throw new CellError(ERR_LINK_IO, `UART links need the optional dependency "serialport" (npm i serialport): ${e.message}`);
    },
  );
  return serialPortModule;
}

/** The path to open now, or null when the device is not there. */
async function findPort(opts: UartPortOptions): Promise<string | null> {
  if (opts.serialNumber !== undefined) {
    const want = opts.serialNumber.toLowerCase();
    const list = opts.list ?? (async () => (await loadSerialPort()).list());
    const ports = await list();
    const hit = ports.find((p) => p.serialNumber !== undefined && p.serialNumber.toLowerCase() === want);
    return hit?.path ?? null;
  }
  if (opts.path === undefined) throw new TypeError('openUart: give `path` or `serialNumber`');
  return existsSync(opts.path) ? opts.path : null;
}

/** One open serial port as a Link: COBS + CRC-32C frames (a StreamLink over the port). */
export class UartLink extends StreamLink {
  /** The device path that was opened. */
  readonly path: string;
  /** @internal */ readonly io: UartIo;

  /** @internal Use openUart(). */
  constructor(io: UartIo, path: string, mtu: number, highWaterMarkBytes: number) {
    super({ readable: io.readable, writable: io.writable }, { mtu, reliable: false, highWaterMarkBytes });
    this.io = io;
    this.path = path;
  }

  /**
   * Close the port at once, without flushing or GOODBYE, as if the device had been reset or
   * pulled: this side sees onClose(LinkIo). For tests and for a supervisor that must drop a wedged port.
   */
  destroy(reason = 'the port was closed abruptly'): void {
    this.io.destroy(reason);
  }
}

/**
 * Open a serial port as one Link (capabilities: stream, unreliable, COBS framing, mtu =
 * maxFrameBytes). Rejects with CellError LinkIo (501) when the device is not there or does not
 * open. Line errors (CRC, COBS, oversize, too short, bad header) are counted in `link.stats` and
 * skipped; a port error, close or vanished device closes the link with LinkIo, so calls in flight
 * on a Connection over it fail Unavailable at once. No reconnect here: see UartSessions.
 */
export async function openUart(opts: UartPortOptions): Promise<UartLink> {
  const path = await findPort(opts);
  if (path === null) {
    throw new CellError(ERR_LINK_IO, opts.serialNumber !== undefined
      ? `no serial port with serial number ${opts.serialNumber}` : `no such serial port: ${opts.path}`, { path: opts.path, serialNumber: opts.serialNumber });
  }
  const SerialPort = await loadSerialPort();
  const baudRate = opts.baudRate ?? 115200;
  const dataBits = opts.dataBits ?? 8;
  const parity = opts.parity ?? 'none';
  const stopBits = opts.stopBits ?? 1;
  const port = new SerialPort({ path, baudRate, dataBits, parity, stopBits, rtscts: opts.rtscts ?? false, autoOpen: false });
  try {
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    if (opts.dtr !== undefined || opts.rts !== undefined) {
      const flags: { dtr?: boolean; rts?: boolean } = {};
      if (opts.dtr !== undefined) flags.dtr = opts.dtr;
      if (opts.rts !== undefined) flags.rts = opts.rts;
      await new Promise<void>((res, rej) => port.set(flags, (e) => (e ? rej(e) : res())));
    }
  } catch (e) {
    if (port.isOpen) port.close(() => {});
    throw new CellError(ERR_LINK_IO, `cannot open serial port ${path}: ${(e as Error).message}`, { path, cause: (e as NodeJS.ErrnoException).code });
  }
  const mtu = opts.maxFrameBytes ?? 4096;
  const hwm = opts.highWaterMarkBytes ?? 65536;
  const io = new UartIo(port, path, {
    paceBaud: opts.paceBaud ?? 0,
    bitsPerByte: 1 + dataBits + (parity === 'none' ? 0 : 1) + stopBits,
    highWaterMarkBytes: hwm,
    watchMs: opts.watchMs ?? 250,
    closeTimeoutMs: opts.closeTimeoutMs ?? 1000,
  });
  return new UartLink(io, path, mtu, hwm);
}

// ---------------------------------------------------------------------------------------------
// Sessions: reopen after a loss, one fresh Link per session

/** 'open': first time up; 'lost': went away (err says why); 'reopened': up again. */
export type UartState = 'open' | 'lost' | 'reopened';
export type UartStateListener = (state: UartState, err: CellError | null) => void;

export interface UartSessionsOptions extends UartPortOptions {
  /** Reopen the port after it was lost. false: one port session, then `closed` resolves. @default true */
  reconnect?: boolean;
  /** How often to look for the device while it is away (path check, or SerialPort.list()). @default 100 */
  reconnectIntervalMs?: number;
  /**
   * Which side of the RPC this is (docs/uart.md §2 "HELLO rules"). Both follow what the
   * firmware does (HELLO once when it starts, and one HELLO back, marked HELLO_FLAG_ANSWER, for
   * every HELLO it gets):
   * 'client': a marked HELLO never ends the session; an unmarked one after the session's first
   * means the device restarted: the session ends (calls in flight fail Unavailable) and a new one
   * starts from that HELLO (and sends none of its own). A device that marks nothing (older
   * firmware) is judged by time instead: see `helloWindowMs`.
   * 'server': every HELLO is answered with one marked HELLO: the first of a session by sending
   * the session's HELLO again, any later one (the client started a new session) by a new session.
   * @default 'server'
   */
  role?: 'client' | 'server';
  /**
   * Client, with a device that does not mark its answers: a HELLO within this long of the
   * session's start or of the previous HELLO belongs to the handshake, not to a device restart.
   * Also the blind spot: such a device that resets this soon after a handshake is not noticed
   * (its calls in flight end at their deadline instead).
   * @default max(500, 2 × 8e6 / line rate) ms
   */
  helloWindowMs?: number;
}

/** Two 400-byte HELLOs at the line rate (paceBaud if set, else baudRate), in ms. */
function helloTimeMs(opts: UartPortOptions): number {
  const rate = opts.paceBaud !== undefined && opts.paceBaud > 0 ? opts.paceBaud : (opts.baudRate ?? 115200);
  return Math.ceil(8e6 / rate);
}

/**
 * The reconnecting side of a UART: finds the device, opens it, and hands out one Link per
 * session through `onLink` (it is a LinkListener, so `serve(def, impl, sessions)` works). A
 * session ends when the port is lost (onClose LinkIo → calls fail Unavailable), when the peer
 * starts a new session (a second HELLO), or when its user closes it; the next one starts as soon
 * as the port is (again) open. `close()` stops looking; the port closes when the current session
 * ends (`closed` resolves then).
 */
export class UartSessions implements LinkListener {
  readonly isListener = true as const;
  /** The port link now open, or null while the device is away. Its `stats` count line errors. */
  port: UartLink | null = null;
  /** Sessions started so far. */
  sessionCount = 0;
  /** Why the last attempt to open failed (null after a success). */
  lastError: CellError | null = null;
  /** Resolves once close() was called and the port (its file descriptor) is closed. */
  readonly closed: Promise<void>;
  private session: UartSession | null = null;
  private linkFn: ((link: Link) => void) | null = null;
  private readonly stateFns = new Set<UartStateListener>();
  private readonly reconnect: boolean;
  private readonly intervalMs: number;
  /** @internal */ readonly role: 'client' | 'server';
  /** @internal */ readonly helloWindowMs: number;
  /**
   * @internal The device on the port now open marks its answers (HELLO_FLAG_ANSWER): any HELLO
   * without the mark, after a session's first, is a reset, however soon it comes.
   */
  peerMarksAnswers = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private opening = false;
  private everOpen = false;
  private closing = false;
  private readonly closedRes: () => void;

  constructor(private readonly opts: UartSessionsOptions) {
    if (opts.path === undefined && opts.serialNumber === undefined) throw new TypeError('UartSessions: give `path` or `serialNumber`');
    this.reconnect = opts.reconnect ?? true;
    this.intervalMs = opts.reconnectIntervalMs ?? 100;
    this.role = opts.role ?? 'server';
    this.helloWindowMs = opts.helloWindowMs ?? Math.max(500, 2 * helloTimeMs(opts));
    let res!: () => void;
    this.closed = new Promise<void>((r) => { res = r; });
    this.closedRes = () => res();
    this.timer = setTimeout(this.attempt, 0);
  }

  get address(): string {
    return this.port?.path ?? this.opts.path ?? `serial number ${this.opts.serialNumber}`;
  }

  /** Called for every new session (a Link, not yet started). */
  get onLink(): ((link: Link) => void) | null { return this.linkFn; }
  set onLink(fn: ((link: Link) => void) | null) {
    this.linkFn = fn;
    if (fn !== null && this.port !== null && this.session === null && !this.closing) this.newSession(null);
  }

  /** Listen to 'open' | 'lost' | 'reopened' of the port. Returns the unsubscribe function. */
  onState(fn: UartStateListener): () => void {
    this.stateFns.add(fn);
    return () => this.stateFns.delete(fn);
  }

  /** Stop looking for the device. The port closes when the current session ends (see `closed`). */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      if (this.session === null) this.closePort();
    }
    return Promise.resolve();
  }

  private emit(state: UartState, err: CellError | null): void {
    for (const fn of this.stateFns) { try { fn(state, err); } catch { /* a listener's bug is not ours */ } }
  }

  private closePort(): void {
    if (this.port !== null) this.port.close(); // onPortClose resolves `closed`
    else if (!this.opening) this.closedRes();
  }

  private readonly attempt = async (): Promise<void> => {
    this.timer = null;
    if (this.closing || this.port !== null || this.opening) return;
    this.opening = true;
    let link: UartLink | null = null;
    try {
      link = await openUart(this.opts);
      this.lastError = null;
    } catch (e) {
      this.lastError = e instanceof CellError ? e : new CellError(ERR_LINK_IO, String(e));
    }
    this.opening = false;
    if (this.closing) {
      if (link !== null) { link.start({ onFrame: () => {}, onClose: () => {} }); link.close(); void link.io.closed.then(this.closedRes); } else this.closedRes();
      return;
    }
    if (link === null) { this.timer = setTimeout(this.attempt, this.intervalMs); return; }
    this.port = link;
    this.peerMarksAnswers = false; // it may be another device (or firmware) than last time
    link.start({ onFrame: this.onPortFrame, onClose: (err) => this.onPortClose(link, err), onDrain: this.onPortDrain });
    this.emit(this.everOpen ? 'reopened' : 'open', null);
    this.everOpen = true;
    if (this.linkFn !== null && this.session === null && !link.closed) this.newSession(null);
  };

  private readonly onPortFrame = (buf: Uint8Array, off: number, len: number): void => {
    this.session?.frame(buf, off, len);
  };

  private readonly onPortDrain = (): void => {
    this.session?.drain();
  };

  private onPortClose(link: UartLink, err: CellError | null): void {
    if (this.port !== link) return;
    this.port = null;
    const s = this.session;
    this.session = null;
    const why = err ?? new CellError(ERR_LINK_IO, `serial port ${link.path} closed`);
    s?.end(why);
    if (this.closing) { void link.io.closed.then(this.closedRes); return; }
    this.emit('lost', why);
    if (this.reconnect) this.timer = setTimeout(this.attempt, this.intervalMs);
    else { this.closing = true; void link.io.closed.then(this.closedRes); }
  }

  private newSession(feed: Uint8Array | null): void {
    const port = this.port!;
    const s = new UartSession(this, port, feed);
    this.session = s;
    this.sessionCount++;
    this.linkFn!(s);
  }

  /** @internal The session's user closed it (or gave up on it). */
  sessionClosed(s: UartSession): void {
    if (this.session !== s) return;
    this.session = null;
    if (this.closing) { this.closePort(); return; }
    // The port is fine: the next session starts at once (its HELLO goes out on the same port).
    setImmediate(() => {
      if (this.session === null && this.port !== null && !this.closing && this.linkFn !== null) this.newSession(null);
    });
  }

  /** @internal The peer started a new session; `hello` (its HELLO) goes to the next session. */
  peerNewSession(s: UartSession, hello: Uint8Array | null): void {
    if (this.session !== s) return;
    this.session = null;
    s.end(new CellError(ERR_LINK_IO, `the peer on ${this.address} started a new session (it was reset or restarted)`));
    if (this.closing) { this.closePort(); return; }
    if (this.port !== null && this.linkFn !== null) this.newSession(hello);
  }
}

/**
 * One session on an open port: the Link a Connection sees. Sends go straight to the port's link;
 * `stats` and `caps` are the port's. Closing a session does not close the port.
 */
export class UartSession implements Link {
  readonly caps: LinkCapabilities;
  readonly stats: LinkStats;
  closed = false;
  private handlers: LinkHandlers | null = null;
  private gotHello = false;
  /** Started from the peer's HELLO (the device restarted): ours is not sent (it would only be answered again). */
  private readonly fed: boolean;
  /** Our HELLO as sent, marked as an answer (the server answers a client's first HELLO with it). */
  private ownHelloAnswer: Uint8Array | null = null;
  /** When the session started or last took a HELLO (the handshake window runs from there). */
  private lastHelloAt = performance.now();
  private held: Uint8Array[] | null;
  private finalErr: CellError | null = null;

  /** @internal */
  constructor(private readonly sup: UartSessions, private readonly port: UartLink, feed: Uint8Array | null) {
    this.caps = port.caps;
    this.stats = port.stats;
    this.held = feed === null ? null : [feed];
    this.fed = feed !== null;
  }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    if (this.closed) { const err = this.finalErr; queueMicrotask(() => handlers.onClose(err)); return; }
    const held = this.held;
    this.held = null;
    if (held !== null) queueMicrotask(() => { for (const f of held) if (!this.closed) this.frame(f, 0, f.length); });
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    checkMtu(len, this.caps.mtu);
    if (this.closed) { this.stats.dropped++; return false; }
    if (this.ownHelloAnswer === null && (frame[1]! & 0x0f) === KIND_HELLO) {
      const answer = frame.slice(0, len);
      markHelloAnswer(answer);
      this.ownHelloAnswer = answer;
      if (this.fed) return true; // the device just announced itself; no need for another answer
    }
    return this.port.send(frame, len);
  }

  /** End this session (the port stays open; the next session starts on it). onClose(null) follows. */
  close(): void {
    if (this.closed) return;
    this.finish(null);
    this.sup.sessionClosed(this);
  }

  /** End this session with an error, without GOODBYE (the next session starts on the same port). */
  abort(err: CellError): void {
    if (this.closed) return;
    this.finish(err);
    this.sup.sessionClosed(this);
  }

  /** Write raw bytes to the port, bypassing framing (tests: inject line noise). */
  writeRaw(bytes: Uint8Array): void {
    if (!this.closed) this.port.writeRaw(bytes);
  }

  /** @internal A frame from the port. */
  frame(buf: Uint8Array, off: number, len: number): void {
    if (this.closed) return;
    const h = this.handlers;
    if (h === null) { (this.held ??= []).push(buf.slice(off, off + len)); return; }
    if ((buf[off + 1]! & 0x0f) === KIND_HELLO && !this.onHello(buf, off, len)) return;
    h.onFrame(buf, off, len);
  }

  /** A HELLO arrived: true = deliver it; false = this session is over (the peer started a new one). */
  private onHello(buf: Uint8Array, off: number, len: number): boolean {
    const sup = this.sup;
    const answer = helloIsAnswer(buf, off, len);
    if (sup.role === 'client') {
      // An answer (to ours, or to a retry of an earlier session, however late) never means a
      // reset. A HELLO without the mark does, after the session's first, from a device that marks
      // its answers. From one that does not (older firmware), HELLOs close together belong to one
      // handshake (ours draws an answer, a device that booted just then also announced itself, a
      // HELLO retry draws another answer); only a HELLO after a quiet spell means a reset.
      const now = performance.now();
      if (answer) sup.peerMarksAnswers = true;
      else if (this.gotHello && (sup.peerMarksAnswers || now - this.lastHelloAt > sup.helloWindowMs)) {
        sup.peerNewSession(this, buf.slice(off, off + len)); // the device restarted
        return false;
      }
      this.gotHello = true;
      this.lastHelloAt = now;
      return true;
    }
    if (answer) return true; // a client's answer starts nothing (ours do not come from clients)
    if (this.gotHello) { sup.peerNewSession(this, null); return false; } // the new session's HELLO answers
    this.gotHello = true;
    if (this.ownHelloAnswer !== null) this.port.send(this.ownHelloAnswer); // answer, as the firmware does
    return true;
  }

  /** @internal */ drain(): void { if (!this.closed) this.handlers?.onDrain?.(); }

  /** @internal The port is gone or the peer started over. */
  end(err: CellError): void { this.finish(err); }

  private finish(err: CellError | null): void {
    if (this.closed) return;
    this.closed = true;
    this.finalErr = err;
    this.held = null;
    this.handlers?.onClose(err);
  }
}

// ---------------------------------------------------------------------------------------------
// RPC over sessions

export interface UartClientOptions extends Omit<UartSessionsOptions, 'role'>, Omit<ConnectionOptions, 'describe' | 'helloTimeoutMs'> {
  /**
   * How long a new session waits for the device's HELLO before it sends its own again (then
   * twice as long, up to 8×). A HELLO sent while the other end was not open is lost; this bounds
   * the wait. @default max(150, 8e6 / line rate) ms (150 ms at 115200 baud)
   */
  helloRetryMs?: number;
  /** connectUart waits this long for the first session (rejects Unavailable). 0 = wait forever. @default 10000 */
  openTimeoutMs?: number;
}

type EventFn = (v: unknown) => void;
type ControlKeys = 'on' | 'off' | 'close' | 'goodbye' | 'describe' | 'peer' | 'stats' | 'connection';

/** The controls of a reconnecting UART client (its methods and streams are those of `Client<D>`). */
export interface UartClientControls<D extends CellDef> {
  /** Listen to an event; the subscription survives reconnects. Returns the unsubscribe function. */
  on: ClientControls<D>['on'];
  off: ClientControls<D>['off'];
  /** Listen to 'open' | 'lost' | 'reopened' of the RPC session (after HELLO). Returns the unsubscribe function. */
  onState(fn: UartStateListener): () => void;
  /** Resolves when a session is up (HELLO done); rejects Unavailable after `timeoutMs`, Closed after close(). */
  whenReady(timeoutMs?: number): Promise<void>;
  /** Close: calls in flight fail Closed, the port is closed, no more reconnects. */
  close(): Promise<void>;
  /** GOODBYE to the device (in-flight calls finish), then close. */
  goodbye(): Promise<void>;
  /** The device's schema (fails Unavailable while it is away). */
  describe(opts?: CallOptions): Promise<CellDescription>;
  /** A session is up now. */
  readonly isReady: boolean;
  /** The device's HELLO of the current session, or null. */
  readonly peer: HelloInfo | null;
  /** RPC counters of the current session, or null. */
  readonly stats: RpcStats | null;
  /** The current session's Connection, or null. */
  readonly connection: Connection | null;
  /** Line counters (frames, CRC/COBS errors, …) of the port now open, or null. */
  readonly linkStats: LinkStats | null;
  /** The port supervisor (port state, the port link). */
  readonly sessions: UartSessions;
  /** Sessions that completed HELLO so far. */
  readonly sessionCount: number;
}

/** A typed client that outlives unplug/replug: `await dev.read(req)`; fails Unavailable while the device is away. */
export type UartClient<D extends CellDef> = Omit<Client<D>, ControlKeys> & UartClientControls<D>;

class UartClientCore<D extends CellDef> {
  readonly sessions: UartSessions;
  conn: Connection | null = null;
  client: Client<D> | null = null;
  ready = false;
  userClosed = false;
  readySessions = 0;
  private readonly events = new Map<string, Set<EventFn>>();
  private readonly stateFns = new Set<UartStateListener>();
  private waiters: { res: () => void; rej: (e: unknown) => void }[] = [];
  private readonly helloBase: number;
  private helloMs: number;
  private readonly connOpts: ConnectionOptions;

  constructor(readonly def: D, opts: UartClientOptions) {
    this.helloBase = opts.helloRetryMs ?? Math.max(150, helloTimeMs(opts));
    this.helloMs = this.helloBase;
    const { deadlineMs, heartbeatMs, maxInFlight, maxServing, streamCredit, exposeErrors } = opts;
    this.connOpts = { deadlineMs, heartbeatMs, maxInFlight, maxServing, streamCredit, exposeErrors, helloTimeoutMs: 0 };
    for (const k of Object.keys(this.connOpts) as (keyof ConnectionOptions)[]) if (this.connOpts[k] === undefined) delete this.connOpts[k];
    this.sessions = new UartSessions({ ...opts, role: 'client' });
    this.sessions.onLink = (link) => this.onSession(link as UartSession);
  }

  private onSession(link: UartSession): void {
    if (this.userClosed) { link.close(); return; }
    const conn = new Connection(link, { call: this.def }, this.connOpts);
    this.conn = conn;
    const timer = setTimeout(() => {
      if (this.conn !== conn || this.ready) return;
      this.helloMs = Math.min(this.helloMs * 2, this.helloBase * 8);
      link.abort(new CellError(ERR_LINK_IO, 'no HELLO from the device in time; sending ours again'));
    }, this.helloMs);
    conn.ready.then(() => {
      clearTimeout(timer);
      if (this.conn !== conn) return;
      this.helloMs = this.helloBase;
      this.client = makeClient(this.def, conn);
      for (const [ev, fns] of this.events) for (const fn of fns) conn.on(ev, fn);
      this.ready = true;
      this.readySessions++;
      this.emit(this.readySessions === 1 ? 'open' : 'reopened', null);
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) x.res();
    }, () => clearTimeout(timer));
    conn.onClose((err) => {
      clearTimeout(timer);
      if (this.conn !== conn) return;
      const was = this.ready;
      this.conn = null;
      this.client = null;
      this.ready = false;
      if (was && !this.userClosed) this.emit('lost', err);
    });
  }

  private emit(state: UartState, err: CellError | null): void {
    for (const fn of this.stateFns) { try { fn(state, err); } catch { /* a listener's bug is not ours */ } }
  }

  onState(fn: UartStateListener): () => void {
    this.stateFns.add(fn);
    return () => this.stateFns.delete(fn);
  }

  notReady(): CellError {
    return this.userClosed
      ? rpcError(RpcCode.Closed, 'the UART client is closed')
      : rpcError(RpcCode.Unavailable, `the device on ${this.sessions.address} is not connected`, { path: this.sessions.address });
  }

  whenReady(timeoutMs = Infinity): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.userClosed) return Promise.reject(this.notReady());
    return new Promise<void>((res, rej) => {
      const w = { res: () => { clearTimeout(t); res(); }, rej: (e: unknown) => { clearTimeout(t); rej(e); } };
      const t = Number.isFinite(timeoutMs) ? setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        rej(rpcError(RpcCode.Unavailable, `no session with the device on ${this.sessions.address} within ${timeoutMs} ms`, { cause: this.sessions.lastError?.message }));
      }, timeoutMs) : undefined;
      this.waiters.push(w);
    });
  }

  on(ev: string, fn: EventFn): () => void {
    const events = (this.def.events ?? {}) as Record<string, unknown>;
    if (!Object.prototype.hasOwnProperty.call(events, ev)) throw new TypeError(`no event "${ev}"`);
    let set = this.events.get(ev);
    if (set === undefined) this.events.set(ev, (set = new Set()));
    set.add(fn);
    this.conn?.on(ev, fn);
    return () => this.off(ev, fn);
  }

  off(ev: string, fn: EventFn): void {
    this.events.get(ev)?.delete(fn);
    this.conn?.off(ev, fn);
  }

  async close(graceful: boolean): Promise<void> {
    if (this.userClosed) return this.sessions.closed;
    this.userClosed = true;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.rej(this.notReady());
    await this.sessions.close();
    const c = this.conn;
    if (c !== null) await (graceful ? c.goodbye() : c.close());
    await this.sessions.closed;
  }
}

function failedStream(err: unknown): AsyncIterableIterator<never> {
  let done = false;
  return {
    [Symbol.asyncIterator]() { return this; },
    next() { if (done) return Promise.resolve({ value: undefined as never, done: true }); done = true; return Promise.reject(err); },
    return() { done = true; return Promise.resolve({ value: undefined as never, done: true }); },
  };
}

/**
 * A typed client for a cell on a serial device that reconnects by itself: finds and opens the
 * port, exchanges HELLO, and does it all again after an unplug/replug or a device reset. Resolves
 * once the first session is up (rejects Unavailable after `openTimeoutMs`; 0 = return at once
 * and let calls fail Unavailable until the device shows up). Calls in flight when the device goes
 * away fail Unavailable at once; calls made while it is away fail Unavailable at once; calls work
 * again as soon as the device is back and HELLO is done (no user code).
 */
export async function connectUart<D extends CellDef>(def: D, opts: UartClientOptions): Promise<UartClient<D>> {
  const core = new UartClientCore(def, opts);
  const api: Record<string, unknown> = {
    on: (ev: string, fn: EventFn) => core.on(ev, fn),
    off: (ev: string, fn: EventFn) => core.off(ev, fn),
    onState: (fn: UartStateListener) => core.onState(fn),
    whenReady: (ms?: number) => core.whenReady(ms),
    close: () => core.close(false),
    goodbye: () => core.close(true),
    describe: (o?: CallOptions) => (core.client !== null ? core.client.describe(o) : Promise.reject(core.notReady())),
    sessions: core.sessions,
  };
  const getters: Record<string, () => unknown> = {
    isReady: () => core.ready,
    peer: () => core.conn?.peer ?? null,
    stats: () => core.conn?.stats ?? null,
    connection: () => core.conn,
    linkStats: () => core.sessions.port?.stats ?? null,
    sessionCount: () => core.readySessions,
  };
  for (const [k, get] of Object.entries(getters)) Object.defineProperty(api, k, { get, enumerable: true });
  for (const info of def.entries) {
    const name = info.name;
    if (info.kind === 'method') {
      const call = (req: unknown, o?: CallOptions): Promise<unknown> => {
        const c = core.client as Record<string, UnaryMethod<unknown, unknown>> | null;
        return c !== null ? c[name]!(req, o) : Promise.reject(core.notReady());
      };
      const viaPromise = sendViaPromise(call);
      api[name] = unaryMethod(call, (req, done, o) => {
        const c = core.client as Record<string, UnaryMethod<unknown, unknown>> | null;
        if (c !== null) c[name]!.send(req, done as SendDone<unknown, MethodDef>, o); else viaPromise(req, done, o);
      });
    } else if (info.kind === 'stream') {
      api[name] = (req: unknown, o?: unknown) => {
        const c = core.client as Record<string, (r: unknown, o?: unknown) => unknown> | null;
        return c !== null ? c[name]!(req, o) : failedStream(core.notReady());
      };
    }
  }
  const client = Object.freeze(api) as unknown as UartClient<D>;
  const openTimeoutMs = opts.openTimeoutMs ?? 10_000;
  if (openTimeoutMs > 0) {
    try {
      await core.whenReady(openTimeoutMs);
    } catch (e) {
      await core.close(false);
      throw e;
    }
  }
  return client;
}

export interface UartServeOptions extends Omit<UartSessionsOptions, 'role'>, ServeOptions {}

/** A cell served on a serial port, across unplug/replug. */
export interface UartServer<D extends CellDef> {
  /** The rpc Server (one Connection per session; `server.connections` has the current one). */
  readonly server: Server<D>;
  /** The port supervisor (`sessions.port` is the open port link, with its line stats). */
  readonly sessions: UartSessions;
  /** Send an event to the client of the current session. Returns how many it went to (0 or 1). */
  emit: Server<D>['emit'];
  /** Listen to 'open' | 'lost' | 'reopened' of the port. */
  onState(fn: UartStateListener): () => void;
  /** Stop: calls in flight are answered Closed, GOODBYE, the port is closed. */
  close(): Promise<void>;
}

/**
 * Serve `impl` on a serial port: opens it when it appears, serves each session (a new Connection
 * with its HELLO), reopens after a loss. Returns at once.
 */
export function serveUart<D extends CellDef>(def: D, impl: Impl<D>, opts: UartServeOptions): UartServer<D> {
  const sessions = new UartSessions({ ...opts, role: 'server' });
  const server = serve(def, impl, sessions, opts);
  return {
    server,
    sessions,
    emit: ((ev: never, v: never) => server.emit(ev, v)) as Server<D>['emit'],
    onState: (fn) => sessions.onState(fn),
    async close() {
      await server.close();
      await sessions.close();
      await sessions.closed;
    },
  };
}
