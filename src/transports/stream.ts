// A link over any Node byte stream (a Duplex, or a readable + writable pair such as a child
// process's stdout/stdin) with COBS + CRC-32C framing (docs/wire-format.md "Framing";
// docs/rpc.md §2 "Links"). This is the UART path, minus the serial port.
//
// Every frame is COBS(header + payload + CRC-32C) + 0x00, so the receiver resynchronises at the
// next 0x00 after any damage: CRC/COBS/oversize/too-short errors and frames with a bad header are
// counted in `stats` and skipped, the link keeps working. Sends are encoded straight into one
// staging buffer and written once per tick.
//
// Framing runs in the wasm accelerator (src/framing/wasm-accel.ts: the same portable framing
// core compiled by asc, ~2-3x less CPU per byte) when build/wasm/framing-accel.wasm is there,
// otherwise in JS (frameEncode / Deframer); the bytes on the line are the same.
import type { Duplex, Readable, Writable } from 'node:stream';
import { Deframer } from '../framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../framing/frame.ts';
import { createWasmFraming, type WasmFraming } from '../framing/wasm-accel.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_LINK_IO } from '../wire/errors.ts';
import { Header, HEADER_BYTES, readHeader } from '../wire/header.ts';
import { checkMtu, LinkStats, type Link, type LinkCapabilities, type LinkHandlers } from './link.ts';

export interface StreamLinkOptions {
  /** Largest frame in bytes, header included (CRC and COBS overhead not counted). @default 4096 */
  mtu?: number;
  /** Whether the byte stream never loses or corrupts bytes (a pipe: yes; a UART: no). @default false */
  reliable?: boolean;
  /** Bytes queued in the writable above which `send` returns false. @default 262144 */
  highWaterMarkBytes?: number;
  /** Staging buffer size; a flush happens at once when it is full. @default 16384 */
  batchBytes?: number;
  /**
   * Frame and deframe in the wasm accelerator (src/framing/wasm-accel.ts) when it is available;
   * false = always the JS path. Same bytes either way. @default true
   */
  wasmFraming?: boolean;
}

export class StreamLink implements Link {
  readonly caps: LinkCapabilities;
  readonly stats = new LinkStats();
  closed = false;
  private handlers: LinkHandlers | null = null;
  private readonly readable: Readable;
  private readonly writable: Writable;
  private readonly deframer: Deframer | WasmFraming;
  /** The wasm accelerator when in use (then `deframer` is it and `stage` lives in its memory). */
  private readonly accel: WasmFraming | null;
  private readonly hdr = new Header();
  private stage: Uint8Array;
  private stageLen = 0;
  private flushQueued = false;
  private readonly hwm: number;
  private needDrain = false;
  private finalErr: CellError | null = null;

  constructor(io: Duplex | { readable: Readable; writable: Writable }, opts: StreamLinkOptions = {}) {
    const mtu = opts.mtu ?? 4096;
    if (!(mtu >= HEADER_BYTES)) throw new RangeError(`mtu must be at least ${HEADER_BYTES}, got ${mtu}`);
    this.caps = Object.freeze({ kind: 'stream', reliable: opts.reliable ?? false, mtu, framing: 'cobs' });
    const pair = io as { readable: Readable; writable: Writable };
    const isPair = typeof pair.readable === 'object' && pair.readable !== null && typeof pair.writable === 'object' && pair.writable !== null;
    this.readable = isPair ? pair.readable : (io as Duplex);
    this.writable = isPair ? pair.writable : (io as Duplex);
    this.hwm = opts.highWaterMarkBytes ?? 1 << 18;
    const stageBytes = Math.max(opts.batchBytes ?? 16384, frameMaxEncodedBytes(mtu) + 1);
    this.accel = opts.wasmFraming === false ? null : createWasmFraming(mtu, stageBytes);
    this.deframer = this.accel ?? new Deframer(mtu);
    this.stage = this.accel !== null ? this.accel.stage : new Uint8Array(stageBytes);
    this.readable.pause();
    this.readable.on('error', this.onError);
    if (this.writable !== (this.readable as unknown)) this.writable.on('error', this.onError);
  }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    this.readable.on('data', this.onData);
    this.readable.on('end', this.onEnd);
    this.readable.on('close', this.onEnd);
    this.writable.on('drain', this.onWritableDrain);
    if (this.closed) { const err = this.finalErr; queueMicrotask(() => handlers.onClose(err)); return; }
    this.readable.resume();
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    checkMtu(len, this.caps.mtu);
    if (this.closed) { this.stats.dropped++; return false; }
    const worst = frameMaxEncodedBytes(len);
    if (this.stageLen + worst + 1 > this.stage.length) this.flush();
    // Each batch starts with a 0x00: it ends whatever line noise came before it, so noise
    // costs at most the noise, not our next frame. The deframer ignores empty frames.
    if (this.stageLen === 0) this.stage[this.stageLen++] = 0;
    const a = this.accel;
    const n = a !== null ? a.encode(frame, len, this.stageLen) : frameEncode(frame, 0, len, this.stage, this.stageLen);
    if (n < 0) { this.stats.dropped++; return false; } // unreachable: the stage has the worst case
    this.stageLen += n;
    this.stats.framesOut++;
    this.stats.bytesOut += len;
    if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushTask); }
    if (this.writable.writableLength + this.stageLen > this.hwm) {
      if (!this.needDrain) { this.needDrain = true; this.handlers?.onBackpressure?.(); }
      return false;
    }
    return true;
  }

  /** Stop reading (Link.pauseReading): the readable is paused, so a pipe's writer backs up. */
  pauseReading(): void {
    if (this.handlers === null || this.closed || this.readPaused) return;
    this.readPaused = true;
    this.readable.pause();
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (!this.closed) this.readable.resume();
  }
  private readPaused = false;

  /** Write raw bytes, bypassing framing (tests: inject line noise). */
  writeRaw(bytes: Uint8Array): void {
    this.flush();
    this.writable.write(bytes.slice());
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.finish(null);
    this.writable.end();
    if (this.readable !== (this.writable as unknown)) this.readable.destroy();
  }

  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  private flush(): void {
    const n = this.stageLen;
    if (n === 0) return;
    this.stageLen = 0;
    if (this.writable.destroyed || this.writable.writableEnded) return;
    // The stage is reused at once, so the writable gets a copy (one allocation per flush, not per
    // frame). Handing it a view was unsafe: a Transform or PassThrough keeps the chunk in its
    // readable side after its writable side is empty (writableLength 0), and the next frames
    // overwrote bytes it had not passed on yet. With the accelerator the stage is wasm memory.
    this.writable.write(this.stage.slice(0, n));
  }

  private readonly onData = (chunk: Uint8Array): void => {
    const d = this.deframer;
    const s = this.stats;
    const h = this.hdr;
    d.feed(chunk, 0, chunk.length);
    // A chunk larger than any before grows the accelerator's memory: its views are new then.
    if (this.accel !== null) this.stage = this.accel.stage;
    for (let n = d.next(); n > 0 && !this.closed; n = d.next()) {
      if (readHeader(d.frame, 0, n, this.caps.mtu - HEADER_BYTES, h) < 0 || h.length !== n - HEADER_BYTES) { s.errMalformed++; continue; }
      s.framesIn++;
      s.bytesIn += n;
      this.handlers!.onFrame(d.frame, 0, n);
    }
    s.errCrc = d.errCrc;
    s.errCobs = d.errCobs;
    s.errOversize = d.errOversize;
    s.errTooShort = d.errTooShort;
  };

  private readonly onWritableDrain = (): void => {
    if (this.needDrain && !this.closed) { this.needDrain = false; this.handlers?.onDrain?.(); }
  };

  private readonly onError = (e: Error): void => {
    this.stats.errIo++;
    this.finish(new CellError(ERR_LINK_IO, `stream error: ${e.message}`, { cause: (e as NodeJS.ErrnoException).code }));
  };

  private readonly onEnd = (): void => {
    this.finish(new CellError(ERR_LINK_CLOSED, 'the byte stream ended'));
  };

  private finish(err: CellError | null): void {
    if (this.closed) return;
    this.closed = true;
    this.finalErr = err;
    this.handlers?.onClose(err);
  }
}
