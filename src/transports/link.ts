// The one Link interface every transport implements (docs/rpc.md §2 "Links").
//
// A link moves whole Cell frames (20-byte header + payload, src/wire/header.ts) between two
// peers. It knows nothing about calls: the rpc layer sits on top. Runtime faults (garbage bytes,
// CRC errors, I/O errors) are counted in `stats` and reported through `onClose`; they are never
// thrown from a receive path.
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_MTU_EXCEEDED } from '../wire/errors.ts';
import { HEADER_BYTES, type Header } from '../wire/header.ts';

/** What a link can do. The rpc layer reads this; it never asks which transport it is. */
export interface LinkCapabilities {
  /** 'stream': an ordered byte stream cut into frames by the link; 'datagram': whole frames. */
  readonly kind: 'stream' | 'datagram';
  /** Frames arrive in order, each exactly once, until the link closes. */
  readonly reliable: boolean;
  /** Largest frame in bytes, including the 20-byte header. */
  readonly mtu: number;
  /**
   * How frame boundaries are found: 'length' = the header's length field (a bad header is fatal:
   * the stream cannot resynchronise, so the link closes with Malformed); 'cobs' = COBS + CRC-32C +
   * 0x00 (a bad frame is counted and skipped); 'none' = the transport keeps message boundaries
   * (a bad frame is counted and skipped).
   */
  readonly framing: 'length' | 'cobs' | 'none';
}

/** Counters. Plain numbers, updated in place (read them whenever you like). */
export class LinkStats {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Frames whose 20-byte header did not validate (bad magic/version/kind/flags/length). */
  errMalformed = 0;
  /** COBS links: CRC-32C mismatches. */
  errCrc = 0;
  /** COBS links: invalid COBS encodings. */
  errCobs = 0;
  /** Frames longer than the link's maximum. */
  errOversize = 0;
  /** COBS links: frames shorter than their CRC. */
  errTooShort = 0;
  /** I/O errors reported by the operating system. */
  errIo = 0;
  /** Frames not sent because the link was closed, or dropped on purpose (memory link `dropEvery`). */
  dropped = 0;
}

/** Callbacks a link calls. Set once with `Link.start`. */
export interface LinkHandlers {
  /**
   * A frame arrived: `buf[off .. off+len)`, header included (already validated by the link).
   * The bytes are valid only during the call (zero-copy: they may be the socket's own chunk);
   * copy what you keep.
   * `header`: links that parse and validate each header to find the frame (length-framed
   * streams) pass their parse, valid during the call, so the layer above does not read the 20
   * bytes a second time; other links pass nothing.
   */
  onFrame(buf: Uint8Array, off: number, len: number, header?: Header): void;
  /**
   * The link is closed. `err` is null after a local `close()`; otherwise a CellError:
   * LinkClosed (500) when the peer ended the link cleanly, LinkIo (501) for an I/O error or a
   * reset, Malformed (406) when a length-framed stream carried garbage. Called exactly once.
   */
  onClose(err: CellError | null): void;
  /** The link accepts more after `send` returned false. */
  onDrain?(): void;
  /**
   * A `send` (or `commit`) just returned false while the previous ones returned true: the write
   * queue went over its high-water mark. Called once per such episode, before that `send`
   * returns; `onDrain` ends it. Lets the layer above stop reading (`pauseReading`) without a test
   * of every send's result on its hot path.
   */
  onBackpressure?(): void;
}

export interface Link {
  readonly caps: LinkCapabilities;
  readonly stats: LinkStats;
  /** True once closed (locally or by the peer). */
  readonly closed: boolean;
  /**
   * Attach the handlers and start receiving. Frames that arrive earlier are held (the socket is
   * paused until then). Call once.
   */
  start(handlers: LinkHandlers): void;
  /**
   * Send `frame[0 .. len)` (a whole frame: header + payload; `len` defaults to frame.length).
   * The bytes are copied before `send` returns, so the caller may reuse its buffer at once.
   * Writes are batched per tick. Returns false when the link's queue is over its high-water
   * mark: the frame is still queued, but wait for `onDrain` before sending more. On a closed
   * link the frame is dropped (counted in `stats.dropped`) and false is returned.
   * Throws CellError LinkMtuExceeded (502) when len > caps.mtu: the caller's bug, checked first.
   */
  send(frame: Uint8Array, len?: number): boolean;
  /** Flush what is queued, then close. Idempotent. `onClose(null)` follows. */
  close(): void;
  /**
   * Optional zero-copy send, for links that queue frames as they are (no COBS): make room for a
   * frame of at most `maxLen` bytes (≤ mtu) and return the offset in `wbuf` where it goes, or -1
   * when the link is closed. The caller writes the frame at `wbuf[off .. off+len)` and then calls
   * `commit(len)` before anything else is sent on this link (not committing abandons the frame).
   * Saves the copy `send` makes: the rpc layer encodes straight into the link's write batch.
   */
  reserve?(maxLen: number): number;
  /** The buffer the last `reserve` offset refers to (valid until `commit`). */
  readonly wbuf?: Uint8Array;
  /** Queue the reserved frame of `len` bytes: same checks, counters and result as `send`. */
  commit?(len: number): boolean;
  /**
   * Optional flow control on the receive side: stop reading from the peer (the socket's read is
   * stopped, so the peer's writes back up in its own kernel buffer and process). Frames of a
   * chunk already read may still be delivered. Idempotent; a no-op once closed. The rpc layer
   * calls it when the answers it sends stop draining (docs/rpc.md §2 "Backpressure").
   */
  pauseReading?(): void;
  /** Undo `pauseReading`: deliver frames again. Idempotent. */
  resumeReading?(): void;
  /**
   * Optional: extensions this link asks the rpc layer to append to the HELLO it sends (u8 type,
   * u16 length, body; docs/rpc.md §4), e.g. a local socket offering shared memory (docs/shm.md §6).
   */
  readonly helloExtensions?: Uint8Array;
}

/** Accepts incoming links (a Unix or TCP server). */
export interface LinkListener {
  readonly isListener: true;
  /** Called for every accepted link (not yet started). */
  onLink: ((link: Link) => void) | null;
  /** Human-readable address (socket path or host:port). */
  readonly address: string;
  /** Stop accepting. Existing links stay open. */
  close(): Promise<void>;
}

export function isListener(x: Link | LinkListener): x is LinkListener {
  return (x as LinkListener).isListener === true;
}

/** @internal Throw LinkMtuExceeded when a frame does not fit. */
export function checkMtu(len: number, mtu: number): void {
  if (len > mtu) throw new CellError(ERR_LINK_MTU_EXCEEDED, `frame of ${len} bytes exceeds the link MTU of ${mtu} bytes`, { len, mtu });
  if (len < HEADER_BYTES) throw new RangeError(`a frame has at least ${HEADER_BYTES} bytes, got ${len}`);
}

/** @internal Copy src[srcOff..srcOff+len) to dst[dstOff..): a byte loop for small frames (no view allocation). */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number): void {
  if (len <= 96) {
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i]!;
  } else {
    dst.set(src.subarray(srcOff, srcOff + len), dstOff);
  }
}
