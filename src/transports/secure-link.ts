// A secured link (docs/security.md §3): wraps a link that carries whole frames (a UART port, a
// byte stream, a memory pair) and seals every frame it sends and opens every frame it receives
// with the session's key (src/secure/session.ts). The layer above sees plain frames and an MTU
// 12 bytes smaller; the link channel's REQUEST / OPEN / ACCEPT never reach it.
//
//  role 'host'   (a gateway, `cell call --port --key`): sends OPEN with a fresh nonce when it
//                starts and whenever the device asks (REQUEST: it restarted), looks the device
//                key up by the id in ACCEPT, verifies ACCEPT's tag, renews the session before
//                its counter runs out (OPEN with REKEY).
//  role 'device' (a Node program playing a device; the firmware runs the same SecureDevice):
//                sends REQUEST when it starts, answers OPEN with ACCEPT.
// Both refuse plaintext frames other than the three ops (counted, never read): no downgrade.
// Frames the layer above sends before a session is open wait in a bounded queue.
import { randomFillSync } from 'node:crypto';
import { CellError } from '../wire/cell-error.ts';
import {
  ERR_SECURE_HANDSHAKE_FAILED, ERR_SECURE_LOCKOUT, ERR_SECURE_UNKNOWN_DEVICE, ERR_SECURE_UNSUPPORTED_SUITE,
  ERR_SECURE_PLAINTEXT_REFUSED,
} from '../wire/errors.ts';
import { FLAG_AUTH, FLAG_ENCRYPTED, HEADER_BYTES } from '../wire/header.ts';
import { readU32LE } from '../wire/bytes.ts';
import {
  LINK_OP_SEC_ACCEPT, LINK_OP_SEC_OPEN, LINK_OP_SEC_REQUEST, SEC_ACCEPT_BYTES, SEC_ACCEPT_OFF_BOOT_COUNTER,
  SEC_ACCEPT_OFF_DEVICE_ID, SEC_ACCEPT_OFF_SESSION, SEC_ACCEPT_OFF_SUITE, SEC_DEVICE_ID_BYTES,
  SEC_DIR_DEVICE_TO_HOST, SEC_DIR_HOST_TO_DEVICE, SEC_HOST_NONCE_BYTES, SEC_OPEN_BYTES, SEC_OPEN_FLAG_REKEY,
  SEC_OPEN_OFF_FLAGS, SEC_OPEN_OFF_HOST_NONCE, SEC_OPEN_OFF_SUITE, SEC_REQUEST_BYTES, SEC_REQUEST_OFF_DEVICE_ID,
  SEC_SUITE_CHACHA20_POLY1305, SEC_TRAILER_BYTES,
} from '../wire/layouts.ts';
import { SecureCounters, SecureSession } from '../secure/session.ts';
import { REPLAY_STRICT } from '../secure/replay.ts';
import { SecureDevice, secOpOf, writeSecOpHeader } from '../secure/device.ts';
import { checkMtu, copyBytes, type Link, type LinkCapabilities, type LinkHandlers, type LinkStats } from './link.ts';
import { hexOf, type KeyRing } from './secure-keys.ts';
import { hostAead } from './secure-aead.ts';

/** What a secured link reports (logs, metrics, tests). */
export type SecureEvent =
  | { readonly type: 'open'; readonly deviceId: string; readonly bootCounter: number; readonly session: number; readonly rekey: boolean }
  | { readonly type: 'request'; readonly deviceId: string }
  | { readonly type: 'refused'; readonly error: CellError }
  | { readonly type: 'lockout'; readonly error: CellError };

export interface SecureHostOptions {
  readonly role: 'host';
  /** Where device keys come from (fleet and device key files). */
  readonly keys: KeyRing;
  /** Accept only this device (16 hex digits); default: any device the key ring has a key for. */
  readonly deviceId?: string;
  /** Send OPEN again this often while no session answers. @default 250 */
  readonly openRetryMs?: number;
  /** Renew the session (OPEN with REKEY) once this many frames were sealed in it. @default 2^31 */
  readonly rekeyAfterFrames?: number;
  readonly onEvent?: (e: SecureEvent) => void;
}

export interface SecureDeviceOptions {
  readonly role: 'device';
  /** The 64-byte provisioning record (src/secure/provision.ts). */
  readonly record: Uint8Array;
  /** This start's boot counter: never repeats (see `nextBootCounter` in secure-boot-counter.ts). */
  readonly bootCounter: number;
  readonly onEvent?: (e: SecureEvent) => void;
}

export type SecureLinkOptions = SecureHostOptions | SecureDeviceOptions;

/**
 * Bytes the layer above may queue before a session is open; more are dropped (counted). A caller
 * that honours backpressure never gets near it.
 */
const QUEUE_MAX_BYTES = 1 << 20;
/** From this many queued frames, `send` returns false (backpressure) until the session opens. */
const QUEUE_HIGH_FRAMES = 8;
/** Frames held for a layer above that has not started the link yet (see `open`). */
const HELD_MAX_FRAMES = 64;

/**
 * The link's counters: frames and bytes as the layer above sees them (plain, the three security
 * ops not counted), the line and I/O faults of the link underneath (read through).
 */
export class SecureLinkStats {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Frames the layer above sent that were dropped: the link was closed, or the pre-session queue full. */
  dropped = 0;
  constructor(private readonly under: LinkStats) {}
  get errMalformed(): number { return this.under.errMalformed; }
  get errCrc(): number { return this.under.errCrc; }
  get errCobs(): number { return this.under.errCobs; }
  get errOversize(): number { return this.under.errOversize; }
  get errTooShort(): number { return this.under.errTooShort; }
  get errIo(): number { return this.under.errIo; }
}

export class SecureLink implements Link {
  readonly caps: LinkCapabilities;
  readonly stats: SecureLinkStats;
  /** Security events counted on this side (bad tags, replays, refused plaintext, sessions, lockouts). */
  readonly counters: SecureCounters;
  private readonly role: 'host' | 'device';
  private handlers: LinkHandlers | null = null;
  private readonly tx: Uint8Array;
  private readonly rx: Uint8Array;
  private readonly ans: Uint8Array = new Uint8Array(HEADER_BYTES + 64);
  private queue: Uint8Array[] = [];
  private queueBytes = 0;
  private innerStarted = false;
  /** Frames opened before the layer above started the link (see `open`). */
  private held: Uint8Array[] = [];
  private closedWith: CellError | null | undefined = undefined;
  private readonly waiters = new Set<(err: CellError | null) => void>();
  private lastRefusal: CellError | null = null;
  private queueFull = false;
  // host
  private session: SecureSession;
  private readonly hostNonce = new Uint8Array(SEC_HOST_NONCE_BYTES);
  private opening = false;
  private openFlags = 0;
  private retryTimer: ReturnType<typeof setInterval> | null = null;
  private lastSessionNo = -1;
  private deviceIdHex: string | null = null;
  private readonly rekeyAt: number;
  // device
  private readonly device: SecureDevice | null = null;

  constructor(private readonly inner: Link, private readonly opts: SecureLinkOptions) {
    this.role = opts.role;
    this.rekeyAt = opts.role === 'host' ? Math.min(opts.rekeyAfterFrames ?? 2 ** 31, 0xfffffff0) : 0xffffffff;
    const mtu = inner.caps.mtu - SEC_TRAILER_BYTES;
    this.caps = { ...inner.caps, mtu };
    this.stats = new SecureLinkStats(inner.stats);
    this.tx = new Uint8Array(inner.caps.mtu);
    this.rx = new Uint8Array(inner.caps.mtu);
    if (opts.role === 'device') {
      const d = new SecureDevice();
      const r = d.provision(opts.record, 0, opts.bootCounter >>> 0);
      if (r < 0) throw new CellError(-r, 'the provisioning record does not verify (blank, torn or of another format)');
      this.device = d;
      d.session.aead = hostAead;
      this.session = d.session;
      this.counters = d.session.counters;
    } else {
      this.session = new SecureSession(SEC_DIR_HOST_TO_DEVICE, SEC_DIR_DEVICE_TO_HOST, REPLAY_STRICT);
      this.session.aead = hostAead;
      this.counters = this.session.counters;
    }
  }

  get closed(): boolean { return this.inner.closed; }
  /** Whether a session is open (frames flow). */
  get isOpen(): boolean { return this.session.open && !this.opening; }
  /** The device id of the session (16 hex digits), once one opened. */
  get deviceId(): string | null { return this.role === 'device' ? hexOf(this.device!.record.deviceId) : this.deviceIdHex; }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    this.startInner();
    const held = this.held;
    this.held = [];
    for (const f of held) handlers.onFrame(f, 0, f.length);
    if (this.closedWith !== undefined) { const err = this.closedWith; queueMicrotask(() => handlers.onClose(err)); }
  }

  /**
   * Open the session now, before the layer above starts the link (frames that arrive meanwhile
   * are held for it). Resolves once a session is open; rejects with the refusal (unknown device,
   * an ACCEPT that does not verify) or SecureHandshakeFailed after `timeoutMs`. So a caller can
   * tell "wrong key" from "no device" before it waits for a HELLO.
   */
  open(timeoutMs = 5000): Promise<void> {
    this.startInner();
    if (this.isOpen) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(this.lastRefusal ?? new CellError(ERR_SECURE_HANDSHAKE_FAILED, `no secured session within ${timeoutMs} ms: is the device there, and provisioned with a key?`));
      }, timeoutMs);
      const w = (err: CellError | null): void => {
        clearTimeout(timer);
        this.waiters.delete(w);
        if (err === null) resolve(); else reject(err);
      };
      this.waiters.add(w);
    });
  }

  private startInner(): void {
    if (this.innerStarted) return;
    this.innerStarted = true;
    this.inner.start({
      onFrame: this.onInnerFrame,
      onClose: (err) => {
        this.stopRetry();
        this.session.end();
        for (const w of [...this.waiters]) w(err ?? new CellError(ERR_SECURE_HANDSHAKE_FAILED, 'the link closed before a session opened'));
        if (this.handlers !== null) this.handlers.onClose(err); else this.closedWith = err;
      },
      onDrain: () => { if (this.isOpen) this.handlers?.onDrain?.(); },
      onBackpressure: () => this.handlers?.onBackpressure?.(),
    });
    if (this.role === 'host') this.beginOpen(0);
    else {
      const n = this.device!.request(0, true, this.ans, 0);
      if (n > 0) this.inner.send(this.ans, n);
    }
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    checkMtu(len, this.caps.mtu);
    if (this.inner.closed) { this.stats.dropped++; return false; }
    if (!this.isOpen) return this.enqueue(frame, len);
    if (this.role === 'host' && this.session.sendCounter >= this.rekeyAt) {
      this.beginOpen(SEC_OPEN_FLAG_REKEY);
      return this.enqueue(frame, len);
    }
    return this.sealAndSend(frame, len);
  }

  close(): void {
    this.stopRetry();
    this.queue = [];
    this.queueBytes = 0;
    this.inner.close();
  }

  pauseReading(): void { this.inner.pauseReading?.(); }
  resumeReading(): void { this.inner.resumeReading?.(); }

  private sealAndSend(frame: Uint8Array, len: number): boolean {
    const tx = this.tx;
    copyBytes(frame, 0, tx, 0, len);
    const n = this.session.seal(tx, 0, len, true);
    if (n < 0) {
      // Counter used up (a device that never rekeys): a new session is needed; the frame waits for it.
      if (this.role === 'host') { this.beginOpen(0); return this.enqueue(frame, len); }
      this.session.end();
      const r = this.device!.request(Date.now() >>> 0, true, this.ans, 0);
      if (r > 0) this.inner.send(this.ans, r);
      this.stats.dropped++;
      return false;
    }
    this.stats.framesOut++;
    this.stats.bytesOut += len;
    return this.inner.send(tx, n);
  }

  private enqueue(frame: Uint8Array, len: number): boolean {
    if (this.queueBytes + len > QUEUE_MAX_BYTES) { this.stats.dropped++; return false; }
    this.queue.push(frame.slice(0, len));
    this.queueBytes += len;
    if (this.queue.length >= QUEUE_HIGH_FRAMES) {
      if (!this.queueFull) { this.queueFull = true; this.handlers?.onBackpressure?.(); }
      return false;
    }
    return true;
  }

  private flushQueue(): void {
    const q = this.queue;
    this.queue = [];
    this.queueBytes = 0;
    for (const f of q) this.sealAndSend(f, f.length);
    if (this.queueFull) { this.queueFull = false; this.handlers?.onDrain?.(); }
  }

  private emit(e: SecureEvent): void {
    if (e.type === 'refused') this.lastRefusal = e.error;
    if (e.type === 'open') for (const w of [...this.waiters]) w(null);
    else if (e.type === 'refused' && e.error.code !== ERR_SECURE_PLAINTEXT_REFUSED) for (const w of [...this.waiters]) w(e.error);
    try { this.opts.onEvent?.(e); } catch { /* a listener's bug is not the link's */ }
  }

  // ---- receive ---------------------------------------------------------------------------

  private readonly onInnerFrame = (buf: Uint8Array, off: number, len: number): void => {
    const op = secOpOf(buf, off, len);
    if (this.role === 'device') { this.deviceFrame(buf, off, len); return; }
    if (op === LINK_OP_SEC_ACCEPT) { this.onAccept(buf, off, len); return; }
    if (op === LINK_OP_SEC_REQUEST) { this.onRequest(buf, off, len); return; }
    const flags = buf[off + 2]!;
    if ((flags & (FLAG_AUTH | FLAG_ENCRYPTED)) === 0) {
      this.counters.plaintextRefused++;
      return;
    }
    if (len > this.rx.length) { this.counters.badLength++; return; }
    copyBytes(buf, off, this.rx, 0, len);
    const n = this.session.unseal(this.rx, 0, len);
    if (n > 0) { this.deliver(n); return; }
    if (n === -ERR_SECURE_LOCKOUT) {
      const error = new CellError(ERR_SECURE_LOCKOUT, `${this.counters.badTags} frames with bad tags: the session with device ${this.deviceIdHex} was dropped`);
      this.emit({ type: 'lockout', error });
      this.beginOpen(0);
    }
  };

  private deliver(n: number): void {
    this.stats.framesIn++;
    this.stats.bytesIn += n;
    if (this.handlers !== null) this.handlers.onFrame(this.rx, 0, n);
    else if (this.held.length < HELD_MAX_FRAMES) this.held.push(this.rx.slice(0, n));
    else this.stats.dropped++;
  }

  private deviceFrame(buf: Uint8Array, off: number, len: number): void {
    if (len > this.rx.length) { this.counters.badLength++; return; }
    copyBytes(buf, off, this.rx, 0, len);
    const d = this.device!;
    const n = d.receive(this.rx, 0, len, Date.now() >>> 0, this.ans, 0);
    if (d.answerLen > 0) this.inner.send(this.ans, d.answerLen);
    if (n > 0) { this.deliver(n); return; }
    if (n === 0 && d.answerLen > 0) {
      this.emit({ type: 'open', deviceId: hexOf(d.record.deviceId), bootCounter: d.bootCounter, session: d.sessionNo, rekey: !d.newSession });
      this.flushQueue();
    }
  }

  // ---- host: opening a session --------------------------------------------------------------

  private beginOpen(flags: number): void {
    if (this.inner.closed) return;
    randomFillSync(this.hostNonce);
    this.openFlags = flags;
    this.opening = true;
    this.lastSessionNo = -1;
    this.sendOpen();
    if (this.retryTimer === null) {
      this.retryTimer = setInterval(() => { if (this.opening) this.sendOpen(); else this.stopRetry(); }, (this.opts as SecureHostOptions).openRetryMs ?? 250);
      this.retryTimer.unref?.();
    }
  }

  private stopRetry(): void {
    if (this.retryTimer !== null) clearInterval(this.retryTimer);
    this.retryTimer = null;
  }

  private sendOpen(): void {
    if (this.inner.closed) return;
    const a = this.ans;
    writeSecOpHeader(a, 0, LINK_OP_SEC_OPEN, 0, SEC_OPEN_BYTES);
    a[HEADER_BYTES + SEC_OPEN_OFF_SUITE] = SEC_SUITE_CHACHA20_POLY1305;
    a[HEADER_BYTES + SEC_OPEN_OFF_FLAGS] = this.openFlags;
    a.set(this.hostNonce, HEADER_BYTES + SEC_OPEN_OFF_HOST_NONCE);
    this.inner.send(a, HEADER_BYTES + SEC_OPEN_BYTES);
  }

  private onRequest(buf: Uint8Array, off: number, len: number): void {
    if (len !== HEADER_BYTES + SEC_REQUEST_BYTES) { this.counters.badLength++; return; }
    const id = buf.slice(off + HEADER_BYTES + SEC_REQUEST_OFF_DEVICE_ID, off + HEADER_BYTES + SEC_REQUEST_OFF_DEVICE_ID + SEC_DEVICE_ID_BYTES);
    const idHex = hexOf(id);
    const o = this.opts as SecureHostOptions;
    if ((o.deviceId !== undefined && o.deviceId.toLowerCase() !== idHex) || o.keys.keysFor(id).length === 0) {
      this.emit({ type: 'refused', error: new CellError(ERR_SECURE_UNKNOWN_DEVICE, `device ${idHex} asks for a session and no key here is for it: pass its device key or its fleet key (--key)`, { deviceId: idHex }) });
      return;
    }
    this.emit({ type: 'request', deviceId: idHex });
    // The device has no session (it restarted, or dropped ours): open a new one. While opening,
    // a REQUEST means our OPEN was lost: send it again.
    if (this.opening) this.sendOpen();
    else this.beginOpen(0);
  }

  private onAccept(buf: Uint8Array, off: number, len: number): void {
    if (len !== HEADER_BYTES + SEC_ACCEPT_BYTES + SEC_TRAILER_BYTES) { this.counters.badLength++; return; }
    const p = off + HEADER_BYTES;
    if (buf[p + SEC_ACCEPT_OFF_SUITE] !== SEC_SUITE_CHACHA20_POLY1305) {
      this.emit({ type: 'refused', error: new CellError(ERR_SECURE_UNSUPPORTED_SUITE, `the device answered with suite ${buf[p]}`) });
      return;
    }
    const id = buf.slice(p + SEC_ACCEPT_OFF_DEVICE_ID, p + SEC_ACCEPT_OFF_DEVICE_ID + SEC_DEVICE_ID_BYTES);
    const idHex = hexOf(id);
    const o = this.opts as SecureHostOptions;
    if (o.deviceId !== undefined && o.deviceId.toLowerCase() !== idHex) return;
    const boot = readU32LE(buf, p + SEC_ACCEPT_OFF_BOOT_COUNTER);
    const sessionNo = readU32LE(buf, p + SEC_ACCEPT_OFF_SESSION);
    if (sessionNo <= this.lastSessionNo && this.deviceIdHex === idHex) return; // an older answer of this opening
    for (const key of o.keys.keysFor(id)) {
      const s = new SecureSession(SEC_DIR_HOST_TO_DEVICE, SEC_DIR_DEVICE_TO_HOST, REPLAY_STRICT);
      s.aead = hostAead;
      s.start(key, 0, this.hostNonce, 0, boot, sessionNo);
      copyBytes(buf, off, this.rx, 0, len);
      if (s.unseal(this.rx, 0, len) < 0) continue;
      this.adopt(s, idHex, boot, sessionNo);
      return;
    }
    this.counters.badTags++;
    this.emit({ type: 'refused', error: new CellError(ERR_SECURE_HANDSHAKE_FAILED, `device ${idHex} answered OPEN and its answer does not verify with any key here: wrong key?`, { deviceId: idHex }) });
  }

  private adopt(s: SecureSession, idHex: string, boot: number, sessionNo: number): void {
    // Counters are per link: the new session counts where the old one did (its verified ACCEPT
    // went through the candidate's own, thrown away with the keys that did not verify).
    s.counters = this.counters;
    this.counters.sessions++;
    const rekey = (this.openFlags & SEC_OPEN_FLAG_REKEY) !== 0;
    this.session.end();
    this.session = s;
    this.lastSessionNo = sessionNo;
    this.deviceIdHex = idHex;
    this.opening = false;
    this.stopRetry();
    this.emit({ type: 'open', deviceId: idHex, bootCounter: boot, session: sessionNo, rekey });
    this.flushQueue();
  }
}

/** The refusal a plaintext frame gets on a secured link (for logs that explain it). */
export function plaintextRefusedError(): CellError {
  return new CellError(ERR_SECURE_PLAINTEXT_REFUSED, 'a plaintext frame on a secured link was refused');
}

/**
 * A plaintext link that notices a secured device: the device answers plaintext with REQUEST
 * (docs/wire-format.md §7.2), which this wrapper turns into a close with SecurePlaintextRefused
 * (804) naming the device, instead of a HELLO that never comes. Everything else passes through.
 */
export function plaintextGuard(inner: Link, where: string): Link {
  let h: LinkHandlers | null = null;
  let done = false;
  const finish = (err: CellError | null): void => {
    if (done) return;
    done = true;
    h?.onClose(err);
  };
  const guard: Link = {
    get caps() { return inner.caps; },
    get stats() { return inner.stats; },
    get closed() { return inner.closed || done; },
    start(handlers) {
      h = handlers;
      inner.start({
        onFrame(buf, off, len, header) {
          if (done) return;
          if (secOpOf(buf, off, len) === LINK_OP_SEC_REQUEST && len === HEADER_BYTES + SEC_REQUEST_BYTES) {
            const id = hexOf(buf.subarray(off + HEADER_BYTES + SEC_REQUEST_OFF_DEVICE_ID, off + HEADER_BYTES + SEC_REQUEST_OFF_DEVICE_ID + SEC_DEVICE_ID_BYTES));
            finish(new CellError(ERR_SECURE_PLAINTEXT_REFUSED, `the device on ${where} is secured (device ${id}): it answers only sealed frames; pass its key (--key FILE, docs/security.md)`, { deviceId: id }));
            inner.close();
            return;
          }
          handlers.onFrame(buf, off, len, header);
        },
        onClose: (err) => finish(err),
        onDrain: () => handlers.onDrain?.(),
        onBackpressure: () => handlers.onBackpressure?.(),
      });
    },
    send: (frame, len) => inner.send(frame, len),
    close: () => inner.close(),
    pauseReading: () => inner.pauseReading?.(),
    resumeReading: () => inner.resumeReading?.(),
  };
  // Keep the port's own members (io, path, writeRaw) reachable for callers that use them.
  return Object.create(inner, Object.getOwnPropertyDescriptors(guard)) as Link;
}
