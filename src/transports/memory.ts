// In-process loopback pair (docs/rpc.md §2 "Links"): for tests and examples.
// Each send copies the frame (this link is not on a hot path) and delivers it to the peer after
// `latencyMs`, in order, from one timer per direction. Test hooks: `sever()` silently drops all
// traffic (a peer that hangs without closing), `kill()` resets the link (a peer that dies),
// `inject(bytes)` delivers raw bytes to this side as if the peer had sent them.
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_LINK_IO } from '../wire/errors.ts';
import { Header, HEADER_BYTES, readHeader } from '../wire/header.ts';
import { checkMtu, LinkStats, type Link, type LinkCapabilities, type LinkHandlers } from './link.ts';

export interface MemoryLinkOptions {
  /** One-way delay before a frame is delivered. @default 0 (next macrotask) */
  latencyMs?: number;
  /** Largest frame in bytes, header included. @default 65536 */
  mtu?: number;
  /** Drop every N-th frame sent (makes the link unreliable). @default undefined (never) */
  dropEvery?: number;
  /** Queued bytes above which `send` returns false. @default 1048576 */
  highWaterMarkBytes?: number;
}

interface Pending { frame: Uint8Array; dueMs: number }

export class MemoryLink implements Link {
  readonly caps: LinkCapabilities;
  readonly stats = new LinkStats();
  closed = false;
  /** @internal */ peer: MemoryLink | null = null;
  private handlers: LinkHandlers | null = null;
  private readonly inbox: Pending[] = [];
  private inboxBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private severed = false;
  private sentCount = 0;
  private closeErr: CellError | null | undefined = undefined; // set when the peer closed; delivered after the inbox drains
  private readonly hdr = new Header();
  private needDrain = false;
  private finalErr: CellError | null = null;
  private readonly latencyMs: number;
  private readonly dropEvery: number;
  private readonly hwm: number;

  constructor(opts: MemoryLinkOptions = {}) {
    const mtu = opts.mtu ?? 65536;
    if (!(mtu >= HEADER_BYTES)) throw new RangeError(`mtu must be at least ${HEADER_BYTES}, got ${mtu}`);
    this.latencyMs = opts.latencyMs ?? 0;
    this.dropEvery = opts.dropEvery ?? 0;
    this.hwm = opts.highWaterMarkBytes ?? 1 << 20;
    this.caps = Object.freeze({ kind: 'datagram', reliable: this.dropEvery <= 0, mtu, framing: 'none' });
  }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    if (this.closed) { const err = this.finalErr; queueMicrotask(() => handlers.onClose(err)); return; }
    this.schedule();
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    checkMtu(len, this.caps.mtu);
    const peer = this.peer;
    if (this.closed || peer === null || peer.closed) { this.stats.dropped++; return false; }
    this.stats.framesOut++;
    this.stats.bytesOut += len;
    this.sentCount++;
    if (this.severed || (this.dropEvery > 0 && this.sentCount % this.dropEvery === 0)) { this.stats.dropped++; return true; }
    peer.enqueue(frame.slice(0, len));
    if (peer.inboxBytes > this.hwm) {
      if (!this.needDrain) { this.needDrain = true; this.handlers?.onBackpressure?.(); }
      return false;
    }
    return true;
  }

  /** Stop delivering frames (Link.pauseReading); they wait in the inbox. */
  pauseReading(): void {
    this.readPaused = true;
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.schedule();
  }
  private readPaused = false;

  /** Deliver raw bytes to this side as one frame, as if the peer had sent them (test hook). */
  inject(bytes: Uint8Array): void {
    this.enqueue(bytes.slice());
  }

  /** Silently drop everything in both directions from now on, without closing (test hook). */
  sever(): void {
    this.severed = true;
    if (this.peer !== null) this.peer.severed = true;
  }

  /** Reset: both sides close at once, queued frames are lost; the peer sees LinkIo (test hook). */
  kill(): void {
    const peer = this.peer;
    if (peer !== null && !peer.closed) {
      peer.inbox.length = 0;
      peer.inboxBytes = 0;
      peer.finish(new CellError(ERR_LINK_IO, 'memory link reset by peer'));
    }
    if (!this.closed) {
      this.inbox.length = 0;
      this.inboxBytes = 0;
      this.finish(new CellError(ERR_LINK_IO, 'memory link reset'));
    }
  }

  close(): void {
    if (this.closed) return;
    const peer = this.peer;
    this.inbox.length = 0;
    this.inboxBytes = 0;
    this.finish(null);
    // The peer still receives what was sent before the close, then LinkClosed.
    if (peer !== null && !peer.closed && peer.closeErr === undefined) {
      peer.closeErr = new CellError(ERR_LINK_CLOSED, 'memory link closed by peer');
      peer.schedule();
    }
  }

  private enqueue(frame: Uint8Array): void {
    if (this.closed) return;
    this.inbox.push({ frame, dueMs: this.latencyMs > 0 ? performance.now() + this.latencyMs : 0 });
    this.inboxBytes += frame.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.handlers === null || this.closed || this.readPaused || this.timer !== null || this.immediate !== null) return;
    if (this.inbox.length === 0 && this.closeErr === undefined) return;
    const first = this.inbox[0];
    const waitMs = first === undefined ? 0 : first.dueMs - performance.now();
    if (waitMs > 0) this.timer = setTimeout(this.drain, Math.ceil(waitMs));
    else this.immediate = setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.timer = null;
    this.immediate = null;
    const now = performance.now();
    while (!this.closed && !this.readPaused && this.inbox.length > 0 && this.inbox[0]!.dueMs <= now) {
      const { frame } = this.inbox.shift()!;
      this.inboxBytes -= frame.length;
      this.deliver(frame);
    }
    const peer = this.peer;
    if (peer !== null && peer.needDrain && this.inboxBytes <= peer.hwm / 2) {
      peer.needDrain = false;
      peer.handlers?.onDrain?.();
    }
    if (this.closed) return;
    if (this.inbox.length === 0 && this.closeErr !== undefined) { this.finish(this.closeErr); return; }
    this.schedule();
  };

  private deliver(frame: Uint8Array): void {
    const s = this.stats;
    if (frame.length > this.caps.mtu) { s.errOversize++; return; }
    if (readHeader(frame, 0, frame.length, this.caps.mtu - HEADER_BYTES, this.hdr) < 0 || this.hdr.length !== frame.length - HEADER_BYTES) {
      s.errMalformed++;
      return;
    }
    s.framesIn++;
    s.bytesIn += frame.length;
    this.handlers!.onFrame(frame, 0, frame.length);
  }

  private finish(err: CellError | null): void {
    if (this.closed) return;
    this.closed = true;
    this.finalErr = err;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    const h = this.handlers;
    if (h !== null) h.onClose(err);
  }
}

/** Two linked in-process endpoints: what `a` sends, `b` receives, and back. */
export function memoryPair(opts: MemoryLinkOptions = {}): [MemoryLink, MemoryLink] {
  const a = new MemoryLink(opts);
  const b = new MemoryLink(opts);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
