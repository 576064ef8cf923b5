// One length-framed frame split across read chunks, put back together (docs/wire-format.md §1:
// the 20-byte header carries the payload length, so stream links need no COBS). Shared by the
// socket links (unix, tcp: socket.ts) and mesh streams (src/mesh/link.ts); their read loops take
// whole frames straight from each chunk and hand only a chunk's incomplete tail to this.
import { HEADER_BYTES, readHeader, type Header } from '../wire/header.ts';
import { copyBytes } from './link.ts';

/** add(): more bytes are needed. */
export const PARTIAL_MORE = -1;
/** add(): the header does not validate (the wire code is in `badHeader`): fatal for the link. */
export const PARTIAL_BAD = -2;

export class PartialFrame {
  /** The frame being put together; after add() completes one, it is buf[0, frameBytes). Grows (doubling) up to the largest frame seen. */
  buf: Uint8Array = new Uint8Array(256);
  /** Bytes held; 0 = no frame in progress. */
  len = 0;
  /** Total bytes of the frame once its header is known, else 0; after a completed add(), that frame's size. */
  frameBytes = 0;
  /** The wire error code of the header add() refused (PARTIAL_BAD). */
  badHeader = 0;

  /** Keep chunk[off, off + avail), the start of a frame; `total` = its size when the header was read, else 0. */
  start(chunk: Uint8Array, off: number, avail: number, total: number): void {
    const need = total > 0 ? total : HEADER_BYTES;
    if (this.buf.length < need) this.buf = new Uint8Array(Math.max(need, this.buf.length * 2));
    copyBytes(chunk, off, this.buf, 0, avail);
    this.len = avail;
    this.frameBytes = total;
  }

  /**
   * Continue with the next chunk, `chunk[0, end)` (call while len > 0). Returns the offset in `chunk` after the
   * completed frame (buf[0, frameBytes)), PARTIAL_MORE, or PARTIAL_BAD. `h` receives the header.
   */
  add(chunk: Uint8Array, maxPayload: number, h: Header, end: number = chunk.length): number {
    let off = 0;
    if (this.frameBytes === 0) {
      const take = Math.min(HEADER_BYTES - this.len, end);
      copyBytes(chunk, 0, this.buf, this.len, take);
      this.len += take;
      off = take;
      if (this.len < HEADER_BYTES) return PARTIAL_MORE;
      const r = readHeader(this.buf, 0, -1, maxPayload, h);
      if (r < 0) { this.badHeader = -r; return PARTIAL_BAD; }
      this.frameBytes = HEADER_BYTES + h.length;
      if (this.buf.length < this.frameBytes) {
        const bigger = new Uint8Array(Math.max(this.frameBytes, this.buf.length * 2));
        copyBytes(this.buf, 0, bigger, 0, this.len);
        this.buf = bigger;
      }
    }
    const take = Math.min(this.frameBytes - this.len, end - off);
    copyBytes(chunk, off, this.buf, this.len, take);
    this.len += take;
    off += take;
    if (this.len < this.frameBytes) return PARTIAL_MORE;
    this.len = 0;
    return off;
  }
}
