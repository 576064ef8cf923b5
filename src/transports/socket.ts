// Length-framed link over a reliable byte stream socket (Unix or TCP) (docs/rpc.md §2 "Links").
// No COBS: the 20-byte header carries the payload length. The receive path parses headers and
// payloads across arbitrary chunk boundaries (headers through one DataView per chunk:
// header-view.ts); a frame that lies within one chunk is handed to the handler as a view of
// that chunk (no copy, no allocation). Only a frame split across
// chunks is copied, into one reassembly buffer that grows up to the MTU and is then reused.
// Sends go through the write stage (write-stage.ts, shared with the mesh links): staged in one
// buffer and written with one `socket.write` per tick (microtask), or as soon as 16 KiB are
// staged (`flushAtBytes`), which is where both latency and throughput come from; `send` returns
// false while the socket's backlog is over `highWaterMarkBytes`. A header that does not
// validate is fatal: the stream cannot be resynchronised, so the link closes with Malformed
// (406), counted in `stats.errMalformed`.
import net, { type Socket } from 'node:net';
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_LINK_IO, ERR_RPC_MALFORMED } from '../wire/errors.ts';
import { HEADER_BYTES } from '../wire/header.ts';
import { HeaderView } from './header-view.ts';
import { FrameReader } from './partial-frame.ts';
import { checkMtu, copyBytes, LinkStats, type Link, type LinkCapabilities, type LinkHandlers } from './link.ts';
import { WriteStage, type WriteSink } from './write-stage.ts';

export interface SocketLinkOptions {
  /** Largest frame in bytes, header included; larger incoming frames are fatal (Malformed). @default 1048576 */
  mtu?: number;
  /** Bytes queued in the socket above which `send` returns false. @default 1048576 */
  highWaterMarkBytes?: number;
  /** Staging buffer size: a flush happens at once when it is full. @default 65536 */
  batchBytes?: number;
  /**
   * Write the batch as soon as it holds this many bytes, without waiting for the end of the tick.
   * With many calls in flight, smaller batches let the peer start on the first ones while this
   * side still encodes the rest (two processes working at once instead of taking turns): 16 KiB
   * gave +30–45 % calls/s with 1000 in flight over a Unix socket, and cost nothing to unary
   * latency (a single frame is far below it). @default 16384
   */
  flushAtBytes?: number;
  /**
   * After `close()` has flushed and half-closed the socket, destroy it if the peer has not closed
   * its side within this time, so a silent peer cannot hold the socket (and the process) open.
   * @default 2000
   */
  lingerMs?: number;
}

/**
 * The socket as the write stage's sink: its backlog is `writableLength` (0 right after a write =
 * libuv wrote it all at once and holds none of the stage), and `socket.write`'s callback tells
 * when a batch's buffer may be reused.
 */
class SocketSink implements WriteSink {
  constructor(private readonly socket: Socket) {}
  write(bytes: Uint8Array, written: () => void): number {
    const s = this.socket;
    if (s.destroyed) return 0;
    s.write(bytes, written);
    return s.writableLength;
  }
  backlog(): number {
    return this.socket.writableLength;
  }
}

export class SocketLink implements Link {
  readonly caps: LinkCapabilities;
  readonly stats = new LinkStats();
  closed = false;
  /** Reads arrive through `onRead` into one buffer this link keeps (connectSocket, readIntoOwnBuffer), not as 'data' chunks. */
  private ownBuffer = false;
  get readsOwnBuffer(): boolean { return this.ownBuffer; }
  private handlers: LinkHandlers | null = null;
  private readonly socket: Socket;
  /**
   * The read loop. Its header view keeps a DataView over the last read chunk, let go of at the
   * end of its tick unless reads go into the link's own buffer.
   */
  private readonly reader: FrameReader;
  private readonly mtu: number;
  /** Write batching and backpressure (write-stage.ts). */
  private readonly out: WriteStage;
  private readonly lingerMs: number;
  private ending = false;
  private finalErr: CellError | null = null;

  constructor(socket: Socket, opts: SocketLinkOptions = {}) {
    const mtu = opts.mtu ?? 1 << 20;
    if (!(mtu >= HEADER_BYTES)) throw new RangeError(`mtu must be at least ${HEADER_BYTES}, got ${mtu}`);
    this.caps = Object.freeze({ kind: 'stream', reliable: true, mtu, framing: 'length' });
    this.reader = new FrameReader(this, mtu - HEADER_BYTES, new HeaderView(true));
    this.mtu = mtu;
    this.out = new WriteStage(new SocketSink(socket), this.stats, {
      batchBytes: opts.batchBytes ?? 65536,
      flushAtBytes: opts.flushAtBytes ?? 16384,
      highWaterMarkBytes: opts.highWaterMarkBytes ?? 1 << 20,
      recycle: true,
      onFull: () => { if (!this.closed) this.handlers?.onBackpressure?.(); },
    });
    this.lingerMs = opts.lingerMs ?? 2000;
    this.socket = socket;
    socket.setNoDelay?.(true);
    socket.pause();
    socket.on('error', this.onError); // before start too: an unhandled 'error' would crash the process
  }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    const s = this.socket;
    s.on('data', this.onData);
    s.on('drain', this.onSocketDrain);
    s.on('end', this.onEnd);
    s.on('close', this.onSocketClose);
    if (this.closed) { const err = this.finalErr; queueMicrotask(() => handlers.onClose(err)); return; }
    if (s.destroyed) { queueMicrotask(() => this.finish(new CellError(ERR_LINK_CLOSED, 'socket already closed'))); return; }
    for (const c of this.held.splice(0)) this.receive(c, c.length);
    s.resume();
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    checkMtu(len, this.caps.mtu);
    if (this.closed || this.ending) { this.stats.dropped++; return false; }
    const out = this.out;
    const off = out.room(len); // first: it may move the stage to a new buffer
    copyBytes(frame, 0, out.bytes, off, len);
    return out.queued(len);
  }

  /** The staging buffer: `reserve` returns offsets into it. */
  get wbuf(): Uint8Array { return this.out.bytes; }

  reserve(maxLen: number): number {
    if (this.closed || this.ending) return -1;
    return this.out.room(maxLen);
  }

  commit(len: number): boolean {
    if (len > this.mtu || len < HEADER_BYTES) checkMtu(len, this.mtu);
    if (this.closed || this.ending) { this.stats.dropped++; return false; }
    return this.out.queued(len);
  }

  /** Stop reading (Link.pauseReading): socket.pause() stops the handle's reads, `onread` ones too (Node's net.Socket#pause calls readStop when the socket reads into its own buffer). */
  pauseReading(): void {
    if (this.handlers === null || this.closed || this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (!this.closed) this.socket.resume();
  }
  private readPaused = false;

  /** Bytes this link holds on their way out: the socket's backlog plus what is staged. */
  get queuedBytes(): number {
    return this.socket.writableLength + this.out.staged;
  }

  close(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.out.flush();
    const sock = this.socket;
    sock.end();
    if (!sock.destroyed) setTimeout(() => { sock.destroy(); }, this.lingerMs).unref();
    this.finish(null);
  }

  /** Write raw bytes, bypassing framing (tests: inject garbage). */
  writeRaw(bytes: Uint8Array): void {
    this.out.flush();
    this.socket.write(bytes.slice());
  }

  /** Destroy the socket at once, without flushing (a reset, as if the process died). */
  destroy(): void {
    this.out.discard();
    this.socket.destroy();
    this.finish(null);
  }

  private readonly onSocketDrain = (): void => {
    if (this.out.drained() && !this.closed) this.handlers?.onDrain?.();
  };

  private readonly onError = (e: Error): void => {
    this.stats.errIo++;
    this.finish(new CellError(ERR_LINK_IO, `socket error: ${e.message}`, { cause: (e as NodeJS.ErrnoException).code }));
  };

  private readonly onEnd = (): void => {
    this.finish(new CellError(ERR_LINK_CLOSED, 'peer closed the connection'));
    if (!this.socket.destroyed) this.socket.end();
  };

  private readonly onSocketClose = (): void => {
    this.finish(new CellError(ERR_LINK_CLOSED, 'connection closed'));
  };

  /** @internal A bad frame header (FrameReader): the stream cannot be resynchronised. */
  fatal(code: number): void {
    this.stats.errMalformed++;
    this.out.discard();
    this.finish(new CellError(ERR_RPC_MALFORMED, `bad frame header on a length-framed stream (wire error ${code}): closing`, { wireCode: code }));
    this.socket.destroy();
  }

  private readonly onData = (chunk: Uint8Array): void => { this.receive(chunk, chunk.length); };

  /**
   * `onread` callback of a socket made by `connectSocket` (bytes read into the link's own
   * buffer, `buf[0, n)`). The buffer is reused for every read: frames are handed on as views of
   * it (valid during onFrame, as the Link contract says) and a split frame's head is copied.
   */
  readonly onRead = (n: number, buf: Uint8Array): boolean => {
    if (this.handlers === null) this.held.push(buf.slice(0, n)); // read before start(): keep a copy
    else this.receive(buf, n);
    return true;
  };
  private readonly held: Uint8Array[] = [];

  /**
   * @internal From now on reads arrive through `onRead` into one buffer (connectSocket,
   * readIntoOwnBuffer): the header view keeps its DataView over that buffer instead of making
   * one per read and letting it go at the end of the tick.
   */
  useOwnReadBuffer(): void {
    this.ownBuffer = true;
    this.reader.view = new HeaderView(false);
  }

  /** Frames in `chunk[0, end)`. */
  private receive(chunk: Uint8Array, end: number): void {
    this.reader.receive(chunk, end, this.handlers!);
  }

  private finish(err: CellError | null): void {
    if (this.closed) return;
    this.closed = true;
    this.finalErr = err;
    const h = this.handlers;
    if (h !== null) h.onClose(err);
  }
}

/** Bytes a socket made by connectSocket (or adopted by readIntoOwnBuffer) reads at a time, into one buffer it keeps. */
const READ_BUFFER_BYTES = 65536;

/**
 * The keys under which a net.Socket keeps its `onread` buffer and callback, found once by
 * making an unconnected Socket with `onread` and looking at its own symbols; null when this
 * Node does not have them.
 */
let onreadKeys: { buffer: symbol; callback: symbol } | null | undefined;
function findOnreadKeys(): { buffer: symbol; callback: symbol } | null {
  if (onreadKeys !== undefined) return onreadKeys;
  try {
    // `onread` is a documented Socket constructor option (Node ≥ 15); @types/node lists it for connect() only.
    const probe = new net.Socket({ onread: { buffer: new Uint8Array(1), callback: () => true } } as net.SocketConstructorOpts);
    const syms = Object.getOwnPropertySymbols(probe);
    const buffer = syms.find((x) => x.description === 'kBuffer');
    const callback = syms.find((x) => x.description === 'kBufferCb');
    onreadKeys = buffer !== undefined && callback !== undefined ? { buffer, callback } : null;
  } catch {
    onreadKeys = null;
  }
  return onreadKeys;
}

/**
 * Give an accepted socket (a server's connection) the read path `onread` gives a client socket:
 * reads into one buffer the link keeps, delivered to `link.onRead`, instead of a new Buffer per
 * read pushed through the stream's 'data' machinery. Node only offers `onread` when it creates
 * the socket, so this sets up what that option sets up (the socket's buffer and callback, and
 * the handle's `useUserBuffer`), found by feature detection; when anything is missing it does
 * nothing and the link keeps the 'data' path. Measured: unary RTT over a Unix socket with both
 * processes on one core, Cell ÷ raw 1.15–1.26 → 0.80–1.01 (bench/rpc/unary-probe.ts, three
 * interleaved pairs). Call right after the 'connection' event, before anything is read.
 * Returns whether the link now reads into its own buffer.
 */
export function readIntoOwnBuffer(socket: Socket, link: SocketLink): boolean {
  const keys = findOnreadKeys();
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
  if (keys === null || handle === undefined || typeof handle.useUserBuffer !== 'function') return false;
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  const target = socket as unknown as Record<symbol, unknown>;
  target[keys.buffer] = buffer;
  target[keys.callback] = link.onRead;
  handle.useUserBuffer(buffer);
  link.useOwnReadBuffer();
  return true;
}

/**
 * Connect a socket (Unix path or TCP host/port) whose reads go into one buffer that the link
 * keeps and reuses (Node's `onread`), not a new Buffer per read pushed through the stream's
 * 'data' machinery: the frames of every read sit in memory that is already in cache, and the
 * DataViews over it are made once; no allocation per read. Rejects with the OS error (ENOENT,
 * ECONNREFUSED, ...). Accepted sockets (listenOn) get the same read path from readIntoOwnBuffer.
 */
export function connectSocket(where: net.NetConnectOpts, opts: SocketLinkOptions = {}): Promise<SocketLink> {
  return new Promise((resolve, reject) => {
    // The link exists before the first read (reads start after 'connect'); until its start()
    // it keeps what arrives (onRead → held).
    let link!: SocketLink;
    const s = net.connect({ ...where, onread: { buffer: new Uint8Array(READ_BUFFER_BYTES), callback: (n: number, buf: Uint8Array): boolean => link.onRead(n, buf) } });
    link = new SocketLink(s, opts);
    link.useOwnReadBuffer();
    const onErr = (e: Error): void => reject(e);
    s.once('error', onErr);
    s.once('connect', () => { s.off('error', onErr); resolve(link); });
  });
}
