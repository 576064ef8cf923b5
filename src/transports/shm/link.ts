// The shared-memory link (docs/shm.md): Cell frames, unchanged, through one SPSC ring per
// direction of a segment, woken by a doorbell only when the peer sleeps.
//
// Receiving: frames are handed to `onFrame` in place, in the ring; the room is given back after
// each turn. A turn reads at most `maxFramesPerTurn` frames, then yields to the event loop.
// Waking: after traffic the link keeps polling (one setImmediate per turn, so the event loop
// keeps running) for `spinUs`, then parks: it sets its ring's sleeping flag, checks the ring
// once more (docs/shm.md §4: the two seq-cst stores and loads make a lost wake-up impossible)
// and waits for the doorbell. Sending a frame while parked starts a new spin, because an answer
// is likely. `wake: 'poll'` never parks (lowest latency; the thread stays busy).
// Sending: `send` copies into the ring, `reserve`/`commit` let the rpc layer encode in place.
// When the ring is full, frames wait in a local queue (copied into one growable buffer), `send` returns false (the Link
// backpressure contract), the producer's waiting flag asks the consumer to ring when it has made
// room, and `onDrain` follows once the queue is empty.
// Faults: a record or index out of range closes the link with LinkShmCorrupt (504), counted in
// errMalformed; a frame whose header does not validate is counted and skipped.
import { CellError } from '../../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_LINK_IO, ERR_LINK_SHM_CORRUPT } from '../../wire/errors.ts';
import { Header, HEADER_BYTES } from '../../wire/header.ts';
import { HeaderView } from '../header-view.ts';
import { checkMtu, copyBytes, LinkStats, type Link, type LinkCapabilities, type LinkHandlers } from '../link.ts';
import type { ShmDoorbell } from './doorbell.ts';
import { ringMaxFrame, ringOffset, SEG_OFF_CLOSED } from './layout.ts';
import { RING_CORRUPT, RingReader, RingWriter, segmentViews, type SegmentViews } from './ring.ts';
import type { ShmSegment } from './segment.ts';
import { SpillQueue } from './spill.ts';

export interface ShmLinkOptions {
  /** 'park' (default): poll for `spinUs` after traffic, then sleep until the doorbell. 'poll': never sleep. */
  wake?: 'park' | 'poll';
  /** How long to keep polling after the last frame before parking, in µs. @default 50 */
  spinUs?: number;
  /** Largest frame, header included: at most half the ring. @default half the ring, less the 4-byte record head */
  mtu?: number;
  /** Frames delivered per turn before yielding to the event loop. @default 256 */
  maxFramesPerTurn?: number;
  /** How long `close()` waits for a peer that does not read to make room for queued frames; then they are dropped. @default 2000 */
  lingerMs?: number;
}

export class ShmLink implements Link {
  readonly caps: LinkCapabilities;
  readonly stats = new LinkStats();
  closed = false;
  /** Doorbell rings sent and received (each is a syscall between processes): low under load. */
  ringsOut = 0;
  ringsIn = 0;
  /** Times this side parked. */
  parks = 0;

  private readonly v: SegmentViews;
  private readonly tx: RingWriter;
  private readonly rx: RingReader;
  private readonly mtu: number;
  private readonly poll: boolean;
  private readonly spinMs: number;
  private readonly maxPerTurn: number;
  private readonly myClosedIdx: number;
  private readonly peerClosedIdx: number;
  private readonly hdr = new Header();
  private readonly hv = new HeaderView(false);
  private handlers: LinkHandlers | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private parked = false;
  private readPaused = false;
  private lastActiveMs = 0;
  private readonly pending: SpillQueue;
  private needDrain = false;
  private closing = false;
  private finalErr: CellError | null = null;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly lingerMs: number;
  private scratch = new Uint8Array(0);
  private resBuf: Uint8Array;

  constructor(private readonly segment: ShmSegment, side: 0 | 1, private readonly doorbell: ShmDoorbell, opts: ShmLinkOptions = {}) {
    const ring = segment.ringBytes;
    const max = ringMaxFrame(ring);
    const mtu = opts.mtu ?? max;
    if (!(mtu >= HEADER_BYTES && mtu <= max)) throw new RangeError(`mtu must be from ${HEADER_BYTES} to ${max} (half the ring), got ${mtu}`);
    this.mtu = mtu;
    this.caps = Object.freeze({ kind: 'datagram', reliable: true, mtu, framing: 'none' });
    this.v = segmentViews(segment.buffer);
    this.tx = new RingWriter(this.v, ringOffset(ring, side === 0 ? 0 : 1), ring);
    this.rx = new RingReader(this.v, ringOffset(ring, side === 0 ? 1 : 0), ring, mtu);
    this.poll = opts.wake === 'poll';
    this.spinMs = (opts.spinUs ?? 50) / 1000;
    this.maxPerTurn = opts.maxFramesPerTurn ?? 256;
    this.lingerMs = opts.lingerMs ?? 2000;
    this.pending = new SpillQueue(2 * ring);
    this.myClosedIdx = (SEG_OFF_CLOSED >> 2) + side;
    this.peerClosedIdx = (SEG_OFF_CLOSED >> 2) + (1 - side);
    this.resBuf = this.v.u8;
  }

  /** The buffer the last `reserve` offset refers to: the segment, or a scratch buffer when the ring is full. */
  get wbuf(): Uint8Array {
    return this.resBuf;
  }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    if (this.closed) { const err = this.finalErr; queueMicrotask(() => handlers.onClose(err)); return; }
    this.doorbell.start(this.onRing, this.onPeerGone);
    this.lastActiveMs = performance.now();
    this.schedule();
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    if (len > this.mtu || len < HEADER_BYTES) checkMtu(len, this.mtu);
    if (this.closed || this.closing) { this.stats.dropped++; return false; }
    this.stats.framesOut++;
    this.stats.bytesOut += len;
    if (this.pending.length === 0) {
      const off = this.tx.reserve(len);
      if (off >= 0) {
        copyBytes(frame, 0, this.v.u8, off, len);
        this.tx.commit(len);
        this.afterCommit();
        return true;
      }
      if (off === RING_CORRUPT) { this.corrupt(this.tx.corruption); return false; }
    }
    return this.enqueue(frame, len);
  }

  reserve(maxLen: number): number {
    if (this.closed || this.closing) return -1;
    if (maxLen > this.mtu) checkMtu(maxLen, this.mtu);
    if (this.pending.length === 0) {
      const off = this.tx.reserve(maxLen);
      if (off >= 0) { this.resBuf = this.v.u8; return off; }
      if (off === RING_CORRUPT) { this.corrupt(this.tx.corruption); return -1; }
    }
    if (this.scratch.length < maxLen) this.scratch = new Uint8Array(Math.max(maxLen, 256));
    this.resBuf = this.scratch;
    return 0;
  }

  commit(len: number): boolean {
    if (len > this.mtu || len < HEADER_BYTES) checkMtu(len, this.mtu);
    if (this.closed || this.closing) { this.stats.dropped++; return false; }
    this.stats.framesOut++;
    this.stats.bytesOut += len;
    if (this.resBuf === this.v.u8) {
      this.tx.commit(len);
      this.afterCommit();
      return true;
    }
    this.resBuf = this.v.u8;
    return this.enqueue(this.scratch, len);
  }

  pauseReading(): void {
    this.readPaused = true;
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (!this.closed) { this.parked = false; this.lastActiveMs = performance.now(); this.schedule(); }
  }

  /** Flush what waits for room in the ring, then close. The peer sees a clean close (LinkClosed). */
  close(): void {
    if (this.closed || this.closing) return;
    if (this.pending.length > 0 && this.handlers !== null) {
      // Flushed as the peer makes room; a peer that never reads (stopped) gets lingerMs.
      this.closing = true;
      this.lingerTimer = setTimeout(() => { this.lingerTimer = null; this.finish(null); }, this.lingerMs);
      return;
    }
    this.finish(null);
  }

  /**
   * The peer is gone without a word (a worker that was terminated, a process that was killed):
   * deliver what it wrote, then close with `err` (LinkIo by default). For doorbells that cannot
   * tell by themselves (threads).
   */
  peerGone(err?: CellError): void {
    this.onPeerGone(err ?? new CellError(ERR_LINK_IO, 'shared-memory peer is gone'));
  }

  // ---- sending ---------------------------------------------------------------------------------

  /** After a record went into the ring: wake the consumer if it sleeps; expect an answer if we do. */
  private afterCommit(): void {
    const i32 = this.v.i32;
    const s = this.tx.sleepingIdx;
    if (Atomics.load(i32, s) !== 0 && Atomics.compareExchange(i32, s, 1, 0) === 1) { this.ringsOut++; this.doorbell.ring(); }
    if (this.parked && !this.readPaused) {
      this.parked = false;
      Atomics.store(i32, this.rx.sleepingIdx, 0);
      this.lastActiveMs = performance.now();
      this.schedule();
    }
  }

  /** The ring is full: keep the frame until the consumer makes room (it rings: our waiting flag). */
  private enqueue(frame: Uint8Array, len: number): boolean {
    const first = this.pending.length === 0;
    this.pending.push(frame, 0, len);
    if (first) {
      Atomics.store(this.v.i32, this.tx.waitingIdx, 1);
      this.flushPending(); // room may have appeared between the full ring and the flag (docs/shm.md §4)
    }
    if (this.pending.length === 0) return true;
    if (!this.needDrain) { this.needDrain = true; this.handlers?.onBackpressure?.(); }
    return false;
  }

  private flushPending(): void {
    const q = this.pending;
    for (let armed = false; ;) {
      while (q.length > 0) {
        const len = q.firstLen();
        const off = this.tx.reserve(len);
        if (off < 0) { if (off === RING_CORRUPT) { this.corrupt(this.tx.corruption); return; } break; }
        copyBytes(q.bytes, q.firstOff(), this.v.u8, off, len);
        this.tx.commit(len);
        q.shift();
        this.afterCommit();
      }
      if (q.length === 0 || armed) break;
      // Full again: the consumer cleared our waiting flag when it rang, so set it again, then look
      // once more (room made before the flag was seen rings nobody: docs/shm.md §4). Without
      // this a producer that parks with frames still queued is never woken.
      Atomics.store(this.v.i32, this.tx.waitingIdx, 1);
      armed = true;
    }
    if (q.length > 0) return;
    Atomics.store(this.v.i32, this.tx.waitingIdx, 0);
    if (this.closing) { this.finish(null); return; }
    if (this.needDrain) { this.needDrain = false; this.handlers?.onDrain?.(); }
  }

  // ---- receiving -------------------------------------------------------------------------------

  private schedule(): void {
    if (this.immediate === null && !this.closed) this.immediate = setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.immediate = null;
    if (this.closed) return;
    let active = false;
    if (!this.readPaused) active = this.readFrames(this.maxPerTurn) > 0;
    if (this.closed) return;
    if (this.pending.length > 0) { const before = this.pending.length; this.flushPending(); active = active || this.pending.length < before; }
    if (this.closed) return;
    const now = performance.now();
    if (active) this.lastActiveMs = now;
    if (this.poll || now - this.lastActiveMs < this.spinMs) { this.schedule(); return; }
    this.park();
  };

  private park(): void {
    if (this.readPaused) { this.parked = true; return; } // resumeReading schedules a turn
    const i32 = this.v.i32;
    Atomics.store(i32, this.rx.sleepingIdx, 1);
    if (!this.rx.empty()) { Atomics.store(i32, this.rx.sleepingIdx, 0); this.schedule(); return; }
    this.parked = true;
    this.parks++;
  }

  private readonly onRing = (): void => {
    this.ringsIn++;
    if (this.closed) return;
    if (Atomics.load(this.v.i32, this.peerClosedIdx) !== 0) { this.onPeerGone(new CellError(ERR_LINK_CLOSED, 'shared-memory peer closed the link')); return; }
    this.parked = false;
    this.lastActiveMs = performance.now();
    if (this.immediate !== null) { clearImmediate(this.immediate); this.immediate = null; }
    this.turn();
  };

  /** Deliver up to `max` frames in place; give the room back. Returns how many were delivered. */
  private readFrames(max: number): number {
    // Not started (peerGone() from a worker's 'exit' before start): nobody to hand frames to.
    if (this.handlers === null) return 0;
    const rx = this.rx;
    const u8 = this.v.u8;
    const s = this.stats;
    const maxPayload = this.mtu - HEADER_BYTES;
    let n = 0;
    let moved = false;
    while (n < max && !this.readPaused && !this.closed) {
      const off = rx.next();
      if (off < 0) {
        if (off === RING_CORRUPT) { s.errMalformed++; this.corrupt(rx.corruption); return n; }
        break;
      }
      const len = rx.len;
      rx.consume();
      moved = true;
      if (this.hv.read(u8, off, len, maxPayload, this.hdr) < 0 || this.hdr.length !== len - HEADER_BYTES) { s.errMalformed++; continue; }
      s.framesIn++;
      s.bytesIn += len;
      n++;
      this.handlers!.onFrame(u8, off, len, this.hdr);
    }
    if (moved && !this.closed) {
      rx.publish();
      const i32 = this.v.i32;
      const w = rx.waitingIdx;
      if (Atomics.load(i32, w) !== 0 && Atomics.compareExchange(i32, w, 1, 0) === 1) { this.ringsOut++; this.doorbell.ring(); }
    }
    return n;
  }

  // ---- closing ---------------------------------------------------------------------------------

  private readonly onPeerGone = (err: CellError): void => {
    if (this.closed) return;
    // What the peer committed before it went is delivered (nothing acknowledged is lost).
    if (!this.readPaused) while (!this.closed && this.readFrames(1 << 30) > 0) { /* drain */ }
    if (this.closed) return;
    const clean = Atomics.load(this.v.i32, this.peerClosedIdx) !== 0;
    this.finish(clean ? new CellError(ERR_LINK_CLOSED, 'shared-memory peer closed the link') : err.code === ERR_LINK_CLOSED ? new CellError(ERR_LINK_IO, `shared-memory peer went away without closing (${err.message})`) : err);
  };

  private corrupt(why: string): void {
    this.finish(new CellError(ERR_LINK_SHM_CORRUPT, `shared-memory ring corrupted by the peer: ${why}`));
  }

  private finish(err: CellError | null): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = false;
    this.finalErr = err;
    if (this.immediate !== null) { clearImmediate(this.immediate); this.immediate = null; }
    if (this.lingerTimer !== null) { clearTimeout(this.lingerTimer); this.lingerTimer = null; }
    if (this.pending.length > 0) { this.stats.dropped += this.pending.length; this.pending.clear(); }
    // Tell the peer on a clean close, and when we close on its corruption: a thread peer has no
    // other way to learn that this side is gone (no socket closes) and would wait forever.
    if (err === null || err.code === ERR_LINK_SHM_CORRUPT) {
      Atomics.store(this.v.i32, this.myClosedIdx, 1);
      this.doorbell.ring();
    }
    this.doorbell.close();
    const h = this.handlers;
    if (h !== null) h.onClose(err);
    this.segment.release();
  }
}
