// The write stage of the length-framed stream links: socket.ts (Unix, TCP) and src/mesh/link.ts
// (libp2p streams) (docs/rpc.md §2 "Links"). Frames are staged in one buffer (`send` copies into
// it; `reserve`/`commit` let the rpc layer encode straight into it) and handed to the byte stream
// (a WriteSink) once per tick (microtask), or at once when `flushAtBytes` are staged: one write
// per batch, which is where both latency and throughput come from.
//
// A batch is handed over as a view of the stage, and a byte stream may keep that view until its
// bytes have left (a socket under backpressure, a muxer), so a region that was handed over is
// never written again while the sink may hold it: the next batch goes after it. When the tail is
// too short the stage starts again at 0 if the sink holds nothing, else moves to another buffer.
// A recycling stage (sockets: `written` tells when a write is done) cycles through two or three
// buffers and allocates nothing; a sink that cannot tell (a muxer) gets a fresh buffer instead
// (one allocation per `batchBytes` sent, none per frame).
//
// Backpressure (the Link contract: `send` returns false, `onDrain` follows): the sink's backlog,
// the bytes it was given and has not passed on, plus what is staged, against the high-water
// mark. A sink that only knows "full" (libp2p's `send` returning false) reports SINK_FULL until
// its drain.
//
// Moves bytes only: no import from src/rpc (docs/rpc.md §2; the import-order test).
import type { LinkStats } from './link.ts';

/**
 * The backlog a sink reports while it has asked to wait for its drain when it counts no bytes.
 * Above any high-water mark (they are capped below it); a small integer, so the stage's fields
 * stay small integers in V8 (a double there would box every update).
 */
export const SINK_FULL = 0x3fffffff;

/** The byte stream under a WriteStage (a socket, a libp2p stream). */
export interface WriteSink {
  /**
   * Hand `bytes` (a view of a stage buffer) to the stream. Call `written` once the stream no
   * longer references them (a recycling stage reuses the buffer then); a sink that cannot tell
   * never calls it (the stage must not be recycling). A sink that cannot write (closed, failed)
   * drops the bytes and returns 0. Returns its backlog right after: the bytes it holds and has
   * not passed on (0 = it holds none of these either, so a recycling stage may write over them
   * at once), or SINK_FULL.
   */
  write(bytes: Uint8Array, written: () => void): number;
  /** The backlog now, as `write` returns it. */
  backlog(): number;
}

export interface WriteStageOptions {
  /** Staging buffer size: the batch is written at once when the next frame does not fit. */
  batchBytes: number;
  /** Write the batch as soon as it holds this many bytes (capped at batchBytes). */
  flushAtBytes: number;
  /** Sink backlog + staged bytes above which `queued` returns false (capped below SINK_FULL). */
  highWaterMarkBytes: number;
  /**
   * The sink calls `written` when it lets go of a batch, and a backlog of 0 means it holds no
   * part of the stage: buffers are reused (sockets). False: a fresh buffer whenever the tail of
   * the current one is too short (a muxer that may keep what it was given).
   */
  recycle: boolean;
  /** `queued` is about to return false after returning true (the link's `onBackpressure`). */
  onFull?: () => void;
}

/** A staging buffer and the number of its writes the sink still holds. */
class StageBuffer {
  pending = 0;
  retired = false;
  constructor(readonly bytes: Uint8Array, private readonly spares: StageBuffer[]) {}
  /** The sink's write callback: once a retired buffer has no write left in the sink, reuse it. */
  readonly written = (): void => {
    if (--this.pending === 0 && this.retired && this.spares.length < 2) { this.retired = false; this.spares.push(this); }
  };
}

/**
 * The batching state machine of a stream link. The link keeps its life cycle (closed, ending)
 * and checks it before calling in: `room` and `queued` are the two halves of `reserve`/`commit`
 * (and of `send`, with a copy in between).
 */
export class WriteStage {
  /** The staging buffer (the link's `wbuf`): `room` returns offsets into it. */
  bytes: Uint8Array;
  private cur: StageBuffer;
  private readonly spares: StageBuffer[] = [];
  /** First byte of the batch not yet handed to the sink. */
  private start = 0;
  /** End of what is staged. */
  private end = 0;
  private flushQueued = false;
  /** A caller was told false: `drained` reports the sink's drain once. */
  private needDrain = false;
  /** The sink's backlog as of the last write or drain (it only shrinks in between). */
  private sinkQueued = 0;
  private readonly batchBytes: number;
  private readonly flushAtBytes: number;
  private readonly hwm: number;
  private readonly recycle: boolean;
  private readonly onFull: (() => void) | undefined;

  constructor(private readonly sink: WriteSink, private readonly stats: LinkStats, opts: WriteStageOptions) {
    this.batchBytes = opts.batchBytes;
    this.flushAtBytes = Math.min(opts.batchBytes, opts.flushAtBytes);
    this.hwm = Math.min(opts.highWaterMarkBytes, SINK_FULL - 1);
    this.recycle = opts.recycle;
    this.onFull = opts.onFull;
    this.cur = new StageBuffer(new Uint8Array(this.batchBytes), this.spares);
    this.bytes = this.cur.bytes;
  }

  /** Bytes staged and not yet handed to the sink. */
  get staged(): number {
    return this.end - this.start;
  }

  /**
   * The offset in `bytes` where `len` more bytes fit (may flush, and move to another buffer:
   * read `bytes` after calling this).
   */
  room(len: number): number {
    if (this.end + len <= this.bytes.length) return this.end;
    return this.roomSlow(len);
  }

  /**
   * The tail is too short: write the batch, then start again at 0 when the sink holds nothing
   * of this buffer, else go on in another one: a spare whose writes have all completed, else a
   * new one.
   */
  private roomSlow(len: number): number {
    this.flush();
    if (this.end + len > this.bytes.length) {
      if (!this.recycle || len > this.bytes.length || this.sink.backlog() !== 0) this.nextBuffer(len);
      this.start = this.end = 0;
    }
    return this.end;
  }

  private nextBuffer(len: number): void {
    const old = this.cur;
    let next: StageBuffer | undefined;
    if (this.recycle) {
      old.retired = true;
      if (old.pending === 0 && this.spares.length < 2) { old.retired = false; this.spares.push(old); }
      while ((next = this.spares.pop()) !== undefined && next.bytes.length < len) { /* too small: drop it */ }
    }
    // `old` itself may come back: its writes have all completed, so the sink holds none of it.
    this.cur = next !== undefined ? next : new StageBuffer(new Uint8Array(Math.max(this.batchBytes, len)), this.spares);
    this.bytes = this.cur.bytes;
  }

  /**
   * `len` more bytes are staged at the offset `room` gave: count them, write the batch when it
   * holds `flushAtBytes` (else once this tick), and report backpressure: false = the sink's
   * backlog plus what is staged is over the high-water mark, wait for the link's onDrain.
   */
  queued(len: number): boolean {
    const s = this.stats;
    s.framesOut++;
    s.bytesOut += len;
    const n = (this.end += len) - this.start;
    if (n >= this.flushAtBytes) { this.flush(); return this.sinkQueued <= this.hwm || this.backpressure(); }
    if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushTask); }
    if (this.sinkQueued + n > this.hwm) {
      const q = this.sink.backlog();
      if (q + n > this.hwm) return this.backpressure();
      this.sinkQueued = q;
    }
    return true;
  }

  private backpressure(): boolean {
    if (!this.needDrain) {
      this.needDrain = true;
      this.onFull?.();
    }
    return false;
  }

  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /** Hand what is staged to the sink. */
  flush(): void {
    const start = this.start, end = this.end;
    // Nothing staged: the stage stays where it is. (Starting again at 0 here, as socket.ts did,
    // wrote over a batch the socket still held when a flush at flushAtBytes had emptied the
    // stage before the tick's flush ran: test/transports/write-stage.test.ts.)
    if (start === end) return;
    const cur = this.cur;
    cur.pending++;
    const q = this.sink.write(this.bytes.subarray(start, end), cur.written);
    this.sinkQueued = q;
    // The sink holds none of it (a socket that wrote it all at once): start again at 0.
    // Otherwise the next batch goes after this one (see `roomSlow`).
    if (q === 0 && this.recycle) this.start = this.end = 0;
    else this.start = end;
  }

  /**
   * The sink drained (its 'drain' event): re-read its backlog. True when a caller was told
   * false since the last drain (the link then calls its handlers' onDrain).
   */
  drained(): boolean {
    this.sinkQueued = this.sink.backlog();
    if (!this.needDrain) return false;
    this.needDrain = false;
    return true;
  }

  /** Drop what is staged, unwritten (a reset, a fatal read error). */
  discard(): void {
    this.end = this.start;
  }
}
