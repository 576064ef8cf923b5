// A Cell Link over one libp2p stream (`/cell/rpc/1/<name>`, docs/mesh.md §2): the same frames as
// every other link, length-framed by the 20-byte header (no COBS: the stream is reliable and
// ordered, noise authenticates and encrypts it).
//
// Receive: libp2p v3 streams are event based; a 'message' carries a Uint8Array or a
// Uint8ArrayList of chunks. Frames are parsed across arbitrary chunk boundaries; a frame that lies
// inside one chunk is delivered as a view of it (no copy); a split frame is reassembled in one
// buffer that grows up to the MTU. A header that does not validate is fatal (Malformed, 406): a
// length-framed stream cannot resynchronise.
//
// Send: the write stage the socket links use (src/transports/write-stage.ts): frames are staged in
// one buffer and handed to `stream.send` once per tick (microtask) or as soon as `flushAtBytes`
// are staged. The muxer may keep a reference to what it was given until the bytes reach the
// socket, and says nothing when it lets go, so the stage does not recycle: a region that was sent
// is never written again, the next batch goes after it, and a fresh buffer is allocated when the
// tail is too short (one allocation per `batchBytes` sent, none per frame). Backpressure is the
// stream's own: once `stream.send` returns false, `send` returns false until its 'drain'.
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_LINK_IO, ERR_RPC_MALFORMED } from '../wire/errors.ts';
import { HEADER_BYTES } from '../wire/header.ts';
import { FrameReader } from '../transports/partial-frame.ts';
import { checkMtu, copyBytes, LinkStats, type Link, type LinkCapabilities, type LinkHandlers } from '../transports/link.ts';
import { SINK_FULL, WriteStage, type WriteSink } from '../transports/write-stage.ts';

/** The part of a libp2p v3 `Stream` a MeshLink uses (structural: no type dependency on libp2p). */
export interface MeshStreamLike {
  readonly status: string;
  readonly writeStatus: string;
  readonly protocol?: string;
  send(data: Uint8Array): boolean;
  close(options?: { signal?: AbortSignal }): Promise<void>;
  abort(err: Error): void;
  addEventListener(type: string, fn: (ev: Event) => void, opts?: { once?: boolean }): void;
  removeEventListener(type: string, fn: (ev: Event) => void): void;
  /** libp2p v3 MessageStream flow control: stop / restart emitting 'message' (absent: reading is never paused). */
  pause?(): void;
  resume?(): void;
}

export interface MeshLinkOptions {
  /** Largest frame in bytes, header included; larger incoming frames are fatal (Malformed). @default 1048576 */
  mtu?: number;
  /**
   * Not used: the stream's own mark decides (libp2p's `send` returning false, then 'drain'),
   * as it always did; a byte mark here could wait for a 'drain' the stream never emits.
   */
  highWaterMarkBytes?: number;
  /** Staging buffer size. @default 65536 */
  batchBytes?: number;
  /** Hand the batch to the stream as soon as it holds this many bytes. @default 16384 */
  flushAtBytes?: number;
  /** After a local close, reset the stream if the peer has not closed its end within this many ms. @default 5000 */
  lingerMs?: number;
}

interface ByteList { readonly bufs: Uint8Array[] }

/**
 * The stream as the write stage's sink. It counts no bytes: its backlog is SINK_FULL from a
 * `send` that returned false until the stream's 'drain', else 0. Never calls `written` (the muxer
 * does not say when it lets go of a buffer).
 */
class StreamSink implements WriteSink {
  /** `send` returned false; cleared on 'drain'. */
  full = false;
  constructor(private readonly stream: MeshStreamLike, private readonly failed: (e: Error) => void) {}
  write(bytes: Uint8Array): number {
    const st = this.stream;
    if (st.writeStatus !== 'writable') return 0; // closing or closed: the batch is dropped
    try {
      if (!st.send(bytes)) this.full = true;
    } catch (e) {
      this.failed(e as Error);
      return 0;
    }
    return this.full ? SINK_FULL : 0;
  }
  backlog(): number {
    return this.full ? SINK_FULL : 0;
  }
}

export class MeshLink implements Link {
  readonly caps: LinkCapabilities;
  readonly stats = new LinkStats();
  closed = false;
  /** The libp2p stream under this link. */
  readonly stream: MeshStreamLike;
  /** PeerId (string) of the other end, when known. */
  readonly remotePeer: string;
  private handlers: LinkHandlers | null = null;
  /** The read loop (headers read byte by byte: every chunk is a new array here). */
  private readonly reader: FrameReader;
  /** Write batching (src/transports/write-stage.ts) into `sink`. */
  private readonly out: WriteStage;
  private readonly sink: StreamSink;
  private readonly lingerMs: number;
  private finalErr: CellError | null = null;
  private ending = false;

  constructor(stream: MeshStreamLike, remotePeer = '', opts: MeshLinkOptions = {}) {
    const mtu = opts.mtu ?? 1 << 20;
    if (!(mtu >= HEADER_BYTES)) throw new RangeError(`mtu must be at least ${HEADER_BYTES}, got ${mtu}`);
    this.caps = Object.freeze({ kind: 'stream', reliable: true, mtu, framing: 'length' });
    this.reader = new FrameReader(this, mtu - HEADER_BYTES, null);
    this.sink = new StreamSink(stream, this.onSendError);
    this.out = new WriteStage(this.sink, this.stats, {
      batchBytes: opts.batchBytes ?? 65536,
      flushAtBytes: opts.flushAtBytes ?? 16384,
      highWaterMarkBytes: SINK_FULL - 1, // only the stream's "full" counts (see MeshLinkOptions)
      recycle: false,
      onFull: () => { if (!this.closed) this.handlers?.onBackpressure?.(); },
    });
    this.lingerMs = opts.lingerMs ?? 5000;
    this.stream = stream;
    this.remotePeer = remotePeer;
    // Before start(): the stream buffers what arrives (no 'message' listener yet); a close is recorded.
    stream.addEventListener('close', this.onStreamClose);
    stream.addEventListener('remoteCloseWrite', this.onRemoteEnd);
    stream.addEventListener('drain', this.onStreamDrain);
    if (stream.status !== 'open') this.finish(new CellError(ERR_LINK_CLOSED, `stream already ${stream.status}`));
  }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    if (this.closed) { const err = this.finalErr; queueMicrotask(() => handlers.onClose(err)); return; }
    this.stream.addEventListener('message', this.onMessage);
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    checkMtu(len, this.caps.mtu);
    if (this.closed || this.ending) { this.stats.dropped++; return false; }
    const out = this.out;
    const off = out.room(len); // first: it may move to a new buffer
    copyBytes(frame, 0, out.bytes, off, len);
    return out.queued(len);
  }

  get wbuf(): Uint8Array { return this.out.bytes; }

  reserve(maxLen: number): number {
    if (this.closed || this.ending) return -1;
    return this.out.room(maxLen);
  }

  commit(len: number): boolean {
    checkMtu(len, this.caps.mtu);
    if (this.closed || this.ending) { this.stats.dropped++; return false; }
    return this.out.queued(len);
  }

  private readonly onSendError = (e: Error): void => {
    this.stats.errIo++;
    this.finish(new CellError(ERR_LINK_IO, `stream send failed: ${e.message}`));
  };

  private readonly onStreamDrain = (): void => {
    this.sink.full = false;
    if (this.out.drained() && !this.closed) this.handlers?.onDrain?.();
  };

  /** Stop reading (Link.pauseReading), when the stream can (libp2p's `pause`). */
  pauseReading(): void {
    if (this.handlers === null || this.closed || this.readPaused || typeof this.stream.pause !== 'function') return;
    this.readPaused = true;
    this.stream.pause();
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (!this.closed) this.stream.resume?.();
  }
  private readPaused = false;

  /** Flush what is staged, close our end of the stream (the peer sees LinkClosed), then `onClose(null)`. */
  close(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.out.flush();
    const st = this.stream;
    st.close().catch(() => {});
    const t = setTimeout(() => { if (st.status !== 'closed') st.abort(new Error('peer did not close its end')); }, this.lingerMs);
    t.unref?.();
    this.finish(null);
  }

  /** Reset the stream at once, without flushing (as if the process died). */
  destroy(): void {
    this.out.discard();
    this.stream.abort(new Error('link destroyed'));
    this.finish(null);
  }

  /** Write raw bytes, bypassing framing (tests: inject garbage). */
  writeRaw(bytes: Uint8Array): void {
    this.out.flush();
    this.stream.send(bytes.slice());
  }

  private readonly onStreamClose = (ev: Event): void => {
    const err = (ev as Event & { error?: Error }).error;
    if (err !== undefined && err !== null) {
      this.stats.errIo++;
      this.finish(new CellError(ERR_LINK_IO, `stream reset: ${err.message}`, { cause: err.name }));
    } else {
      this.finish(new CellError(ERR_LINK_CLOSED, 'stream closed'));
    }
    this.detach();
  };

  private readonly onRemoteEnd = (): void => {
    this.finish(new CellError(ERR_LINK_CLOSED, 'peer closed the stream'));
    if (this.stream.writeStatus === 'writable') this.stream.close().catch(() => {});
  };

  private detach(): void {
    const st = this.stream;
    st.removeEventListener('message', this.onMessage);
    st.removeEventListener('close', this.onStreamClose);
    st.removeEventListener('remoteCloseWrite', this.onRemoteEnd);
    st.removeEventListener('drain', this.onStreamDrain);
  }

  private readonly onMessage = (ev: Event): void => {
    const data = (ev as Event & { data: Uint8Array | ByteList }).data;
    if ((data as ByteList).bufs !== undefined) {
      for (const chunk of (data as ByteList).bufs) { if (this.closed) return; this.onChunk(chunk); }
    } else this.onChunk(data as Uint8Array);
  };

  /** @internal A bad frame header (FrameReader): the stream cannot be resynchronised. */
  fatal(code: number): void {
    this.stats.errMalformed++;
    this.out.discard();
    this.finish(new CellError(ERR_RPC_MALFORMED, `bad frame header on a mesh stream (wire error ${code}): closing`, { wireCode: code }));
    this.stream.abort(new Error('malformed frame'));
  }

  private onChunk(chunk: Uint8Array): void {
    if (this.closed) return;
    this.reader.receive(chunk, chunk.length, this.handlers!);
  }

  private finish(err: CellError | null): void {
    if (this.closed) return;
    this.closed = true;
    this.finalErr = err;
    const h = this.handlers;
    if (h !== null) h.onClose(err);
  }
}
