// Length-framed frames out of a byte stream's read chunks (docs/wire-format.md §1: the 20-byte
// header carries the payload length, so stream links need no COBS). Shared by the socket links
// (unix, tcp: socket.ts) and mesh streams (src/mesh/link.ts): FrameReader takes whole frames
// straight from each chunk and hands only a chunk's incomplete tail to PartialFrame, which puts
// a frame split across chunks back together.
import { Header, HEADER_BYTES, readHeader } from '../wire/header.ts';
import type { HeaderView } from './header-view.ts';
import { copyBytes, type LinkHandlers, type LinkStats } from './link.ts';

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

/** What FrameReader needs of the link it reads for. */
export interface FrameReaderHost {
  /** Checked between frames: onFrame may close the link. */
  readonly closed: boolean;
  /** framesIn and bytesIn are counted here. */
  readonly stats: LinkStats;
  /** A header that does not validate (wire code): the stream cannot be resynchronised, the link fails. */
  fatal(code: number): void;
}

/**
 * The read loop of a length-framed link: every whole frame of a chunk goes to `onFrame` as a
 * view of the chunk, with its parsed header (valid during the call, as the Link contract says);
 * a frame cut by the chunk's end is kept and completed from the next chunk.
 */
export class FrameReader {
  /** The header of the frame being delivered (the 4th argument of onFrame). */
  readonly hdr = new Header();
  private readonly partial = new PartialFrame();

  /**
   * `view`: parse headers through this cached DataView (socket links: their read buffer comes
   * back every read), or null to read them byte by byte (mesh streams: a new chunk each time,
   * where a DataView per chunk would be an allocation).
   */
  constructor(private readonly host: FrameReaderHost, private readonly maxPayload: number, public view: HeaderView | null) {}

  /** Frames in `chunk[0, end)`, to `handlers.onFrame`. */
  receive(chunk: Uint8Array, end: number, handlers: LinkHandlers): void {
    const host = this.host;
    let off = 0;
    if (this.partial.len > 0) {
      off = this.continuePartial(chunk, end, handlers);
      if (off < 0) return; // still incomplete, or fatal
    }
    const h = this.hdr;
    const view = this.view;
    const s = host.stats;
    while (off < end && !host.closed) {
      const avail = end - off;
      if (avail < HEADER_BYTES) { this.partial.start(chunk, off, avail, 0); return; }
      const r = view !== null ? view.read(chunk, off, -1, this.maxPayload, h) : readHeader(chunk, off, -1, this.maxPayload, h);
      if (r < 0) { host.fatal(-r); return; }
      const total = HEADER_BYTES + h.length;
      if (avail < total) { this.partial.start(chunk, off, avail, total); return; }
      s.framesIn++;
      s.bytesIn += total;
      handlers.onFrame(chunk, off, total, h);
      off += total;
    }
  }

  /** The rest of a frame begun in an earlier chunk: the offset after it, or -1 (more needed, or the link failed). */
  private continuePartial(chunk: Uint8Array, end: number, handlers: LinkHandlers): number {
    const p = this.partial;
    const host = this.host;
    const off = p.add(chunk, this.maxPayload, this.hdr, end);
    if (off < 0) { if (off === PARTIAL_BAD) host.fatal(p.badHeader); return -1; }
    host.stats.framesIn++;
    host.stats.bytesIn += p.frameBytes;
    handlers.onFrame(p.buf, 0, p.frameBytes, this.hdr);
    return host.closed ? -1 : off;
  }
}
