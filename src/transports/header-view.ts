// The 20-byte frame header read through a DataView (docs/wire-format.md §2 "Header"; docs/rpc.md
// §8): the host's fast path of src/wire/header.ts, with the same checks and the same results, one
// 32-bit access per field instead of four byte accesses. Writers (Connection.sendFrame) use the
// same cached view and appWord0. Host only: src/wire stays
// portable (asc), so this lives with the links.
//
// A DataView is made once per buffer and kept while the same buffer comes back (a socket link's
// read chunk holds hundreds of frames when calls are pipelined, its write stage thousands), so
// the cost is one small object per chunk. Buffers under DV_MIN_BYTES are read byte by byte: one
// small frame per buffer (a unary call's read chunk, a memory link's copy of a frame) would pay
// a DataView per frame, and V8 moves a typed array of ≤ 64 bytes off its heap when asked for
// its `.buffer`.
import { Header, HEADER_BYTES, MAGIC, readHeader, WIRE_VERSION, KIND_LAST, FLAG_RESERVED_MASK } from '../wire/header.ts';
import { ERR_WIRE_BAD_FLAGS, ERR_WIRE_BAD_KIND, ERR_WIRE_BAD_MAGIC, ERR_WIRE_BAD_VERSION, ERR_WIRE_LENGTH_TOO_LARGE, ERR_WIRE_TRUNCATED } from '../wire/errors.ts';

/** Smaller buffers are read through readHeader (byte loads), see above. */
const DV_MIN_BYTES = 256;

/** Bytes 0-3 of an application frame's header (magic, version|kind, flags 0, channel 0) as one little-endian u32. */
export function appWord0(kind: number): number {
  return MAGIC | (((WIRE_VERSION << 4) | (kind & 0x0f)) << 8);
}

/** One cached DataView over the last buffer seen. */
export class HeaderView {
  private buf: Uint8Array | null = null;
  private dv: DataView | null = null;

  /**
   * `transient`: the buffers are someone else's (a socket's read chunks): the view lets go of
   * the buffer at the end of the tick it was adopted in (one microtask per chunk), so an idle
   * connection does not keep its last chunk (up to 64 KiB) alive.
   */
  constructor(private readonly transient = false) {}

  /** The DataView over `buf` (made when `buf` is not the last buffer). */
  of(buf: Uint8Array): DataView {
    // The miss apart: `of` is inlined into hot paths, where bytecode size is what V8 budgets.
    return buf === this.buf ? this.dv! : this.adopt(buf);
  }

  private adopt(buf: Uint8Array): DataView {
    if (this.transient && this.buf === null) queueMicrotask(this.release);
    this.buf = buf;
    return (this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength));
  }

  private readonly release = (): void => { this.buf = null; this.dv = null; };

  /**
   * As readHeader(buf, off, available, maxPayloadBytes, out): the same checks in the same order,
   * the same return values (20, or -error code); `out` is only fully written on success.
   */
  read(buf: Uint8Array, off: number, available: number, maxPayloadBytes: number, out: Header): number {
    if (buf.length < DV_MIN_BYTES) return readHeader(buf, off, available, maxPayloadBytes, out);
    const end = available < 0 ? buf.length : off + available;
    if (off < 0 || end > buf.length || end - off < HEADER_BYTES) return -ERR_WIRE_TRUNCATED;
    const dv = this.of(buf);
    const w0 = dv.getUint32(off, true);
    if ((w0 & 0xff) !== MAGIC) return -ERR_WIRE_BAD_MAGIC;
    if (((w0 >>> 12) & 0x0f) !== WIRE_VERSION) return -ERR_WIRE_BAD_VERSION;
    const kind = (w0 >>> 8) & 0x0f;
    if (kind === 0 || kind > KIND_LAST) return -ERR_WIRE_BAD_KIND;
    const flags = (w0 >>> 16) & 0xff;
    if ((flags & FLAG_RESERVED_MASK) !== 0) return -ERR_WIRE_BAD_FLAGS;
    const length = dv.getUint32(off + 16, true);
    if (length > maxPayloadBytes) return -ERR_WIRE_LENGTH_TOO_LARGE;
    if (available >= 0 && available - HEADER_BYTES < length) return -ERR_WIRE_LENGTH_TOO_LARGE;
    out.kind = kind;
    out.flags = flags;
    out.channel = w0 >>> 24;
    out.callId = dv.getUint32(off + 4, true);
    out.keyLo = dv.getUint32(off + 8, true);
    out.keyHi = dv.getUint32(off + 12, true);
    out.length = length;
    return HEADER_BYTES;
  }
}
