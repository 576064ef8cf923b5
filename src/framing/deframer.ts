// Streaming deframer for byte-stream links (frame format: frame.ts). Bytes arrive in chunks of
// any size; COBS is decoded incrementally into one buffer owned by the deframer (no second raw
// buffer), and the CRC-32C is checked when the 0x00 delimiter arrives.
//
// Faults never throw: they are counted (libcanard style) and the deframer resynchronises at the
// next 0x00. Portable core: compiled by tsc and asc; no callbacks, no exceptions, no I/O, and
// no allocation after the constructor.
//
//   const d = new Deframer(MAX_BYTES);
//   d.feed(chunk);                       // keeps a reference, no copy
//   for (let n = d.next(); n > 0; n = d.next()) handle(d.frame, n);  // bytes [0, n)
import { ERR_FRAME_COBS, ERR_FRAME_CRC, ERR_FRAME_OVERSIZE, ERR_FRAME_TOO_SHORT } from '../wire/errors.ts';
import { crc32cMatchesLE } from './crc32c.ts';
import { FRAME_CRC_BYTES } from './frame.ts';
import { copyNonZero } from './wordcopy.ts';

// True under asc, false under tsc (the trick of crc32c.ts: `<i32>0.5` converts to 0 in
// AssemblyScript and is a no-op assertion in TypeScript). asc folds it: firmware builds contain
// only the bytewise loop of next() (its fast path is ~200 B of wasm for no gain at UART rates).
const IN_WASM: bool = <i32>0.5 == 0;
// Firmware asc builds (-Oz, shrinkLevel > 0): bytewise loops only. Speed-optimised asc builds
// (shrinkLevel 0: the Node accelerator, wasm-accel.ts) take the word-copy path like V8, where
// copyNonZero runs the wasm kernel (wasmkernels.ts). ASC_SHRINK_LEVEL is never evaluated by tsc.
const SMALL_ONLY: bool = IN_WASM && ASC_SHRINK_LEVEL != 0;

export class Deframer {
  /** Largest frame returned to the caller, in bytes (header + payload; the CRC is not counted). */
  readonly maxFrameBytes: i32;
  /**
   * Decoded frame buffer, owned by the deframer: after next() returned n > 0, bytes [0, n) are the
   * frame with the CRC stripped; valid until the next call of next(), feed() or reset().
   * Its length is maxFrameBytes + 4 (the CRC is decoded here too, then checked).
   */
  readonly frame: Uint8Array;

  /** Frames returned by next() (CRC verified). */
  framesOk: u32 = 0;
  /** Frames that ended inside a COBS block (a 0x00 where a data byte was due). */
  errCobs: u32 = 0;
  /** Frames whose CRC-32C did not match. */
  errCrc: u32 = 0;
  /** Frames longer than maxFrameBytes (+ CRC); dropped up to the next 0x00. */
  errOversize: u32 = 0;
  /** Non-empty frames with fewer than 1 + 4 decoded bytes. */
  errTooShort: u32 = 0;
  /** Encoded stream bytes thrown away: every byte of a rejected frame (delimiters not counted),
   *  plus bytes of an unconsumed chunk replaced by feed(). */
  bytesDiscarded: u32 = 0;
  /** Positive code (src/wire/errors.ts) of the last error counted, 0 if none yet. */
  lastError: i32 = 0;

  private chunk: Uint8Array;
  private pos: i32 = 0;
  private end: i32 = 0;
  // Frame decoding state.
  private len: i32 = 0; // decoded bytes in `frame`
  private raw: i32 = 0; // encoded bytes of this frame seen so far
  private left: i32 = 0; // data bytes still due in the current COBS block; 0 = next is a code byte
  private zeroDue: bool = false; // the current block implies a 0x00 if another block follows
  private discarding: bool = false; // dropping bytes up to the next 0x00

  /** `maxFrameBytes` (>= 1; smaller values are raised to 1): the largest frame to accept,
   *  CRC excluded. Allocates the frame buffer (maxFrameBytes + 4 bytes) once. */
  constructor(maxFrameBytes: i32) {
    if (maxFrameBytes < 1) maxFrameBytes = 1;
    this.maxFrameBytes = maxFrameBytes;
    this.frame = new Uint8Array(maxFrameBytes + FRAME_CRC_BYTES);
    this.chunk = new Uint8Array(0);
  }

  /**
   * Hand over the next chunk of the stream: chunk[off..off+len) (len -1 = to the end; the range is
   * clamped to the chunk). The deframer keeps a reference, not a copy: do not modify the chunk
   * until next() has returned 0. Call next() until it returns 0 before feeding again; if bytes of
   * the previous chunk are still unread they are dropped (counted in bytesDiscarded) and the frame
   * they belonged to is discarded up to the next 0x00.
   */
  feed(chunk: Uint8Array, off: i32 = 0, len: i32 = -1): void {
    const n = chunk.length;
    if (off < 0) off = 0;
    if (off > n) off = n;
    if (len < 0 || len > n - off) len = n - off;
    if (this.pos < this.end) {
      // Unread bytes are dropped with the frame they belong to. If they end with a 0x00 the next
      // chunk starts a fresh frame; otherwise the rest of the broken frame is skipped.
      this.bytesDiscarded = (this.bytesDiscarded + <u32>(this.end - this.pos) + <u32>this.raw) >>> 0;
      this.discarding = this.chunk[this.end - 1] != 0;
      this.len = 0;
      this.raw = 0;
      this.left = 0;
      this.zeroDue = false;
    }
    this.chunk = chunk;
    this.pos = off;
    this.end = off + len;
  }

  /**
   * Process fed bytes until a frame completes. Returns n > 0: a CRC-verified frame is in
   * frame[0, n); or 0: the chunk is used up (a partial frame is kept for the next feed).
   * Empty frames (0x00 0x00) are skipped silently. Errors are counted, never returned.
   * Cost: ~1 load + 1 compare + 1 store per encoded byte, plus one CRC pass per frame.
   */
  next(): i32 {
    const src = this.chunk;
    const buf = this.frame;
    const cap: i32 = buf.length;
    const end = this.end;
    let pos = this.pos;
    let len = this.len;
    let raw = this.raw;
    let left = this.left;
    let zeroDue = this.zeroDue;
    while (pos < end) {
      if (!SMALL_ONLY && raw == 0 && !this.discarding) {
        // Fast path: no partial frame pending. Decode whole COBS blocks straight into `frame`
        // with cobsDecode's copy loop while each block lies inside the chunk, fits into `frame`
        // and holds no 0x00. It stops at the delimiter (the CRC check below is the same for both
        // paths) or at the first block that does not qualify (split across chunks, oversize, a
        // 0x00 inside), and hands over exactly the state the bytewise loop below would have
        // reached there: results and counters are those of bytewise processing.
        while (pos < end && src[pos] == 0) pos++; // empty frames
        const start = pos;
        let si = pos;
        let di: i32 = 0;
        let zd = false;
        while (si < end) {
          const code: i32 = <i32>src[si];
          if (code == 0) break;
          // Data bytes si+1 .. blockEnd-1, preceded by the previous block's implied 0x00 (zd).
          const blockEnd = si + code;
          if (blockEnd > end || di + (zd ? code : code - 1) > cap) break;
          let d = di;
          if (zd) buf[d++] = 0;
          // 4 bytes per step (wordcopy.ts, ~0.2 ns/B instead of ~1-3 ns/B). It may store bytes
          // past a 0x00 inside the block: those lie in `frame` beyond the decoded bytes, which
          // the bytewise loop writes again.
          if (copyNonZero(src, si + 1, buf, d, code - 1) < code - 1) break; // a 0x00 inside: reported by the bytewise loop
          di = d + code - 1;
          zd = code != 0xff;
          si = blockEnd;
        }
        // State at the code byte (or delimiter) at si: every block before it is in `frame`.
        pos = si;
        len = di;
        raw = si - start;
        left = 0;
        zeroDue = zd;
        if (pos >= end) break;
      }
      const b = src[pos];
      if (b == 0) {
        // Delimiter: the frame (if any) is complete.
        pos++;
        if (this.discarding) {
          this.discarding = false;
        } else if (raw > 0) {
          let err: i32 = 0;
          if (left != 0) err = ERR_FRAME_COBS;
          else if (len < FRAME_CRC_BYTES + 1) err = ERR_FRAME_TOO_SHORT;
          else if (!crc32cMatchesLE(buf, 0, len - FRAME_CRC_BYTES)) err = ERR_FRAME_CRC;
          if (err == 0) {
            this.framesOk = (this.framesOk + 1) >>> 0;
            this.pos = pos;
            this.len = 0;
            this.raw = 0;
            this.left = 0;
            this.zeroDue = false;
            return len - FRAME_CRC_BYTES;
          }
          this.countError(err, raw);
        }
        len = 0;
        raw = 0;
        left = 0;
        zeroDue = false;
        continue;
      }
      if (this.discarding) {
        // Skip to the next 0x00.
        let p = pos + 1;
        while (p < end && src[p] != 0) p++;
        this.bytesDiscarded = (this.bytesDiscarded + <u32>(p - pos)) >>> 0;
        pos = p;
        continue;
      }
      if (left == 0) {
        // COBS code byte: the previous block's implied 0x00 (if any) becomes data now.
        pos++;
        raw++;
        if (zeroDue) {
          if (len >= cap) {
            this.countError(ERR_FRAME_OVERSIZE, raw);
            this.discarding = true;
            len = 0;
            raw = 0;
            zeroDue = false;
            continue;
          }
          buf[len++] = 0;
        }
        left = (<i32>b) - 1;
        zeroDue = b != 0xff;
        continue;
      }
      // Data bytes of the current block: copy up to the block end, the chunk end or a 0x00.
      if (len >= cap) {
        this.countError(ERR_FRAME_OVERSIZE, raw);
        this.discarding = true;
        len = 0;
        raw = 0;
        left = 0;
        zeroDue = false;
        continue;
      }
      let n = left;
      if (n > end - pos) n = end - pos;
      if (n > cap - len) n = cap - len;
      let p = pos;
      if (!SMALL_ONLY) {
        // V8 (and the wasm accelerator): a frame continued from the previous chunk (most big frames: reads split them)
        // copies its blocks 4 bytes per step too (wordcopy.ts); bytes it may store past a 0x00
        // lie in `frame` beyond len, scratch.
        const c = copyNonZero(src, pos, buf, len, n);
        p += c;
        len += c;
      } else {
        const stop = pos + n;
        while (p < stop) {
          const d = src[p];
          if (d == 0) break;
          buf[len++] = d;
          p++;
        }
      }
      left -= p - pos;
      raw += p - pos;
      pos = p;
    }
    this.pos = pos;
    this.len = len;
    this.raw = raw;
    this.left = left;
    this.zeroDue = zeroDue;
    return 0;
  }

  /** Forget the partial frame and any unread bytes; counters are kept (see resetCounters). */
  reset(): void {
    this.pos = 0;
    this.end = 0;
    this.len = 0;
    this.raw = 0;
    this.left = 0;
    this.zeroDue = false;
    this.discarding = false;
  }

  /** Zero every counter and lastError. */
  resetCounters(): void {
    this.framesOk = 0;
    this.errCobs = 0;
    this.errCrc = 0;
    this.errOversize = 0;
    this.errTooShort = 0;
    this.bytesDiscarded = 0;
    this.lastError = 0;
  }

  private countError(code: i32, rawBytes: i32): void {
    if (code == ERR_FRAME_COBS) this.errCobs = (this.errCobs + 1) >>> 0;
    else if (code == ERR_FRAME_CRC) this.errCrc = (this.errCrc + 1) >>> 0;
    else if (code == ERR_FRAME_OVERSIZE) this.errOversize = (this.errOversize + 1) >>> 0;
    else this.errTooShort = (this.errTooShort + 1) >>> 0;
    this.bytesDiscarded = (this.bytesDiscarded + <u32>rawBytes) >>> 0;
    this.lastError = code;
  }
}
