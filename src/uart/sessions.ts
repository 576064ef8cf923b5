// UART sessions (docs/uart.md §2): a session layer above rpc over one serial port. UartSessions
// watches for the device (a path, or a USB serial number through SerialPort.list()), opens it,
// hands out one fresh Link per session and reopens the port after a loss. A session also ends
// when the peer starts a new one: the HELLO rules of docs/uart.md §2 (which HELLO answers and
// which one means the device restarted) need the HELLO layout, which is why this sits above rpc.
// `serve(def, impl, sessions)` works as it is: each session is a new Connection.
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_IO } from '../wire/errors.ts';
import { frameKind, KIND_HELLO } from '../wire/header.ts';
import { checkMtu, type Link, type LinkCapabilities, type LinkHandlers, type LinkListener, type LinkStats } from '../transports/link.ts';
import { openUart, type UartLink, type UartPortOptions } from '../transports/uart.ts';
import { SecureLink, type SecureEvent } from '../transports/secure-link.ts';
import { KeyRing } from '../transports/secure-keys.ts';
import { SEC_TRAILER_BYTES } from '../wire/layouts.ts';
import { helloIsAnswer, markHelloAnswer } from '../rpc/payloads.ts';

/** 'open': first time up; 'lost': went away (err says why); 'reopened': up again. */
export type UartState = 'open' | 'lost' | 'reopened';
export type UartStateListener = (state: UartState, err: CellError | null) => void;

/**
 * Link security on the port (docs/security.md): every frame sealed, plaintext refused.
 * `keys`: this side opens sessions with devices (a host, a gateway): key file paths or a KeyRing.
 * `record` + `bootCounter`: this side is the device (its 64-byte provisioning record; a boot
 * counter that never repeats, e.g. from `nextBootCounter`).
 */
export type UartSecurity =
  | { readonly keys: KeyRing | readonly string[]; readonly deviceId?: string; readonly rekeyAfterFrames?: number; readonly onEvent?: (e: SecureEvent) => void }
  | { readonly record: Uint8Array; readonly bootCounter: number; readonly onEvent?: (e: SecureEvent) => void };

export interface UartSessionsOptions extends UartPortOptions {
  /** Seal every frame on this port (docs/security.md). @default none: plaintext */
  security?: UartSecurity;
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
export function helloTimeMs(opts: UartPortOptions): number {
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
  /** The secured link over the port now open (security configured), or null. Its `counters` count bad tags, replays, refused plaintext. */
  secure: SecureLink | null = null;
  /** What sessions send on: the secured link, or the port itself. */
  private wire: Link | null = null;
  private readonly keyRing: KeyRing | null = null;
  private readonly portOpts: UartPortOptions;
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
    const sec = opts.security;
    // A sealed frame is 12 bytes longer: the port carries maxFrameBytes + 12, so what the layer
    // above may send (and what the device announces) stays maxFrameBytes.
    this.portOpts = sec === undefined ? opts : { ...opts, maxFrameBytes: (opts.maxFrameBytes ?? 4096) + SEC_TRAILER_BYTES };
    // Key files are read once, here: a bad file is the caller's error, thrown now, not at every reopen.
    if (sec !== undefined && 'keys' in sec) this.keyRing = sec.keys instanceof KeyRing ? sec.keys : KeyRing.fromFiles(sec.keys);
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
      link = await openUart(this.portOpts);
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
    const wire = this.secureWire(link);
    this.wire = wire;
    wire.start({ onFrame: this.onPortFrame, onClose: (err) => this.onPortClose(link, err), onDrain: this.onPortDrain });
    this.emit(this.everOpen ? 'reopened' : 'open', null);
    this.everOpen = true;
    if (this.linkFn !== null && this.session === null && !link.closed) this.newSession(null);
  };

  private secureWire(link: UartLink): Link {
    const sec = this.opts.security;
    if (sec === undefined) { this.secure = null; return link; }
    const s = 'keys' in sec
      ? new SecureLink(link, { role: 'host', keys: this.keyRing!, deviceId: sec.deviceId, rekeyAfterFrames: sec.rekeyAfterFrames, onEvent: sec.onEvent })
      : new SecureLink(link, { role: 'device', record: sec.record, bootCounter: sec.bootCounter, onEvent: sec.onEvent });
    this.secure = s;
    return s;
  }

  private readonly onPortFrame = (buf: Uint8Array, off: number, len: number): void => {
    this.session?.frame(buf, off, len);
  };

  private readonly onPortDrain = (): void => {
    this.session?.drain();
  };

  private onPortClose(link: UartLink, err: CellError | null): void {
    if (this.port !== link) return;
    this.port = null;
    this.wire = null;
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
    const s = new UartSession(this, this.port!, this.wire!, feed);
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
  constructor(private readonly sup: UartSessions, private readonly port: UartLink, private readonly wire: Link, feed: Uint8Array | null) {
    this.caps = wire.caps;
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
    if (this.ownHelloAnswer === null && frameKind(frame, 0) === KIND_HELLO) {
      const answer = frame.slice(0, len);
      markHelloAnswer(answer);
      this.ownHelloAnswer = answer;
      if (this.fed) return true; // the device just announced itself; no need for another answer
    }
    return this.wire.send(frame, len);
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
    if (frameKind(buf, off) === KIND_HELLO && !this.onHello(buf, off, len)) return;
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
    if (this.ownHelloAnswer !== null) this.wire.send(this.ownHelloAnswer); // answer, as the firmware does
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
