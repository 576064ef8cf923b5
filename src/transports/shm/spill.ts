// Frames waiting for room in a full ring (docs/shm.md §5 "Backpressure"), copied one after the
// other into one growable buffer: a u32 length (little-endian), then the frame. A burst that
// overflows the ring costs a copy per frame and no allocation once the buffer has grown; the
// buffer is let go when it empties after growing past `keepBytes`, so one burst does not pin it.

export class SpillQueue {
  private buf = new Uint8Array(0);
  private head = 0;
  private tail = 0;
  /** Frames queued. */
  length = 0;
  /** Bytes of the frames queued (without their length words). */
  frameBytes = 0;

  constructor(private readonly keepBytes: number) {}

  /** Queue a copy of src[off .. off+len). */
  push(src: Uint8Array, off: number, len: number): void {
    if (this.tail + 4 + len > this.buf.length) this.makeRoom(4 + len);
    const b = this.buf;
    let p = this.tail;
    b[p] = len & 0xff; b[p + 1] = (len >>> 8) & 0xff; b[p + 2] = (len >>> 16) & 0xff; b[p + 3] = len >>> 24;
    p += 4;
    if (len <= 96) for (let i = 0; i < len; i++) b[p + i] = src[off + i]!;
    else b.set(src.subarray(off, off + len), p);
    this.tail = p + len;
    this.length++;
    this.frameBytes += len;
  }

  /** The buffer the first frame is in (valid until the next push). */
  get bytes(): Uint8Array {
    return this.buf;
  }

  /** Length of the first frame. */
  firstLen(): number {
    const b = this.buf;
    const p = this.head;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** Offset of the first frame's bytes in `bytes`. */
  firstOff(): number {
    return this.head + 4;
  }

  /** Drop the first frame. */
  shift(): void {
    const len = this.firstLen();
    this.head += 4 + len;
    this.length--;
    this.frameBytes -= len;
    if (this.length === 0) this.reset();
  }

  /** Drop everything. */
  clear(): void {
    this.length = 0;
    this.frameBytes = 0;
    this.reset();
  }

  private reset(): void {
    this.head = 0;
    this.tail = 0;
    if (this.buf.length > this.keepBytes) this.buf = new Uint8Array(0);
  }

  private makeRoom(need: number): void {
    const used = this.tail - this.head;
    if (this.head > 0 && used + need <= this.buf.length) {
      this.buf.copyWithin(0, this.head, this.tail);
    } else {
      const next = new Uint8Array(Math.max(used + need, this.buf.length * 2, 4096));
      next.set(this.buf.subarray(this.head, this.tail), 0);
      this.buf = next;
    }
    this.head = 0;
    this.tail = used;
  }
}
