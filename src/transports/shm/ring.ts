// One single-producer/single-consumer byte ring in a shared segment (docs/shm.md §2 "Layout",
// §4 "Memory ordering"). Records are a u32 frame length and the frame, 4-byte aligned; a record
// never wraps: when it does not fit before the end of the data area, the producer writes
// RECORD_WRAP and starts again at offset 0. Frames are therefore always contiguous and the
// reader hands them out in place.
//
// Each side keeps its own index locally and never reads it back from shared memory: the peer
// can only move *its* index, and every value read from the peer is checked (a broken or hostile
// peer makes `next`/`reserve` report corruption instead of sending this side out of bounds).
import {
  RECORD_HEAD_BYTES, RECORD_WRAP, RING_HEADER_BYTES, RING_OFF_HEAD, RING_OFF_SLEEPING, RING_OFF_TAIL, RING_OFF_WAITING,
  recordBytes, ringMaxFrame,
} from './layout.ts';

/** What `reserve` and `next` return when there is nothing to do (ring full / empty). */
export const RING_NONE = -1;
/** What they return when the peer's index or a record is out of range; `corruption` says which. */
export const RING_CORRUPT = -2;

/** The views both ends use over one segment. */
export interface SegmentViews {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
}

export function segmentViews(buffer: ArrayBufferLike): SegmentViews {
  return { u8: new Uint8Array(buffer), u32: new Uint32Array(buffer), i32: new Int32Array(buffer) };
}

abstract class RingEnd {
  /** Byte offset of the data area in the segment. */
  readonly dataOff: number;
  readonly capacity: number;
  protected readonly mask: number;
  protected readonly tailIdx: number;
  protected readonly headIdx: number;
  /** Word index of the consumer's "parked" flag and of the producer's "waiting for room" flag. */
  readonly sleepingIdx: number;
  readonly waitingIdx: number;
  /** Set with RING_CORRUPT: what was out of range. */
  corruption = '';

  constructor(protected readonly v: SegmentViews, ringOff: number, capacity: number) {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.dataOff = ringOff + RING_HEADER_BYTES;
    this.tailIdx = (ringOff + RING_OFF_TAIL) >> 2;
    this.headIdx = (ringOff + RING_OFF_HEAD) >> 2;
    this.sleepingIdx = (ringOff + RING_OFF_SLEEPING) >> 2;
    this.waitingIdx = (ringOff + RING_OFF_WAITING) >> 2;
  }
}

/** The producer's end: reserve room, write the frame in place, commit. */
export class RingWriter extends RingEnd {
  /** Our index (bytes written), as published at the last commit. */
  private tail: number;
  /** The consumer's index as last read. */
  private head: number;
  /** Set by reserve for commit: padding to write before the record (0 or the bytes to the end). */
  private padBytes = 0;
  private recPos = 0;

  constructor(v: SegmentViews, ringOff: number, capacity: number) {
    super(v, ringOff, capacity);
    this.tail = Atomics.load(v.i32, this.tailIdx) >>> 0;
    this.head = this.tail;
  }

  /**
   * Room for a frame of at most `maxLen` bytes: the segment offset where it goes, RING_NONE when
   * the ring is full (until the consumer moves on), or RING_CORRUPT when the consumer's index is
   * out of range. Nothing is visible to the consumer before `commit`; not committing abandons it.
   */
  reserve(maxLen: number): number {
    const rec = recordBytes(maxLen);
    const pos = this.tail & this.mask;
    const toEnd = this.capacity - pos;
    const pad = rec > toEnd ? toEnd : 0;
    if (((this.tail - this.head) >>> 0) + pad + rec > this.capacity) {
      const head = Atomics.load(this.v.i32, this.headIdx) >>> 0;
      // The consumer's index only moves forward, and never past what we wrote.
      if (((head - this.head) >>> 0) > ((this.tail - this.head) >>> 0)) {
        this.corruption = `consumer index ${head} outside [${this.head}, ${this.tail}]`;
        return RING_CORRUPT;
      }
      this.head = head;
      if (((this.tail - head) >>> 0) + pad + rec > this.capacity) return RING_NONE;
    }
    this.padBytes = pad;
    this.recPos = pad === 0 ? pos : 0;
    return this.dataOff + this.recPos + RECORD_HEAD_BYTES;
  }

  /**
   * Publish the reserved record with its frame of `len` bytes (≤ the reserved maxLen). The
   * store of the index is what makes the bytes visible (release order, docs/shm.md §4).
   */
  commit(len: number): void {
    const v = this.v;
    if (this.padBytes !== 0) v.u32[(this.dataOff + (this.tail & this.mask)) >> 2] = RECORD_WRAP;
    v.u32[(this.dataOff + this.recPos) >> 2] = len;
    this.tail = (this.tail + this.padBytes + recordBytes(len)) >>> 0;
    Atomics.store(v.i32, this.tailIdx, this.tail | 0);
  }

  /** Bytes written and not yet consumed, as far as this side knows. */
  get usedBytes(): number {
    return (this.tail - this.head) >>> 0;
  }

  /** True when the consumer's index has caught up with everything written. */
  drained(): boolean {
    return (Atomics.load(this.v.i32, this.headIdx) >>> 0) === this.tail;
  }
}

/** The consumer's end: `next` finds a frame in place, `consume` passes it, `publish` frees the room. */
export class RingReader extends RingEnd {
  /** Our index (bytes consumed), local; published by `publish`. */
  private head: number;
  /** The producer's index as last read. */
  private tail: number;
  /** Length of the frame `next` returned and the record bytes it occupies (with any padding before it). */
  len = 0;
  private step = 0;
  readonly maxFrame: number;

  constructor(v: SegmentViews, ringOff: number, capacity: number, maxFrame = ringMaxFrame(capacity)) {
    super(v, ringOff, capacity);
    this.head = Atomics.load(v.i32, this.headIdx) >>> 0;
    this.tail = this.head;
    this.maxFrame = maxFrame;
  }

  /** True when the producer has published nothing beyond what was read (reads its index). */
  empty(): boolean {
    return (Atomics.load(this.v.i32, this.tailIdx) >>> 0) === this.head;
  }

  /**
   * The segment offset of the next frame (its length in `len`), RING_NONE when the ring is empty,
   * or RING_CORRUPT (reason in `corruption`). Call `consume` to pass it.
   */
  next(): number {
    let avail = (this.tail - this.head) >>> 0;
    if (avail === 0) {
      const tail = Atomics.load(this.v.i32, this.tailIdx) >>> 0;
      avail = (tail - this.head) >>> 0;
      if (avail === 0) return RING_NONE;
      if (avail > this.capacity || (tail & 3) !== 0) return this.corrupt(`producer index ${tail} outside (${this.head}, ${this.head + this.capacity}] or unaligned`);
      this.tail = tail;
    }
    const u32 = this.v.u32;
    let pos = this.head & this.mask;
    let pad = 0;
    let len = u32[(this.dataOff + pos) >> 2]!;
    if (len === RECORD_WRAP) {
      pad = this.capacity - pos;
      if (pad >= avail) return this.corrupt(`padding of ${pad} bytes with ${avail} bytes published`);
      pos = 0;
      len = u32[this.dataOff >> 2]!;
    }
    if (len < 20 || len > this.maxFrame) return this.corrupt(`record length ${len} outside [20, ${this.maxFrame}]`);
    const rec = recordBytes(len);
    if (pos + rec > this.capacity || pad + rec > avail) return this.corrupt(`record of ${rec} bytes at ${pos} runs past the published data`);
    this.len = len;
    this.step = pad + rec;
    return this.dataOff + pos + RECORD_HEAD_BYTES;
  }

  /** Pass the frame `next` returned (locally: the producer sees it at `publish`). */
  consume(): void {
    this.head = (this.head + this.step) >>> 0;
    this.step = 0;
  }

  /** Give the consumed bytes back to the producer. */
  publish(): void {
    Atomics.store(this.v.i32, this.headIdx, this.head | 0);
  }

  private corrupt(why: string): number {
    this.corruption = why;
    return RING_CORRUPT;
  }
}
