// The byte plumbing between one open serial port and a StreamLink (src/transports/uart.ts,
// docs/uart.md). The StreamLink does the framing (COBS + CRC-32C, one staging buffer, a write per
// tick); this file gives it a readable and a writable it can own, and keeps the serial port's
// life cycle here:
//   - reads: straight from the port's non-blocking fd when its binding's Poller says 'readable'
//     (readSync until EAGAIN), pushed into a plain Readable (no copy); see "Direct I/O" below;
//   - writes: copied into one reusable buffer and written to the fd one batch at a time (writeSync;
//     on EAGAIN the rest waits for the Poller's 'writable'), so the StreamLink's staging buffer is
//     free again as soon as `write` returns (no per-batch allocation); with `paceBaud` the bytes go
//     out no faster than that line rate (a pty ignores the baud rate, a real UART does not);
//   - `end()` (StreamLink.close): drain what is queued, then close the port;
//   - a port error, an unexpected close, or the device path vanishing: the readable is destroyed
//     with the error, which the StreamLink reports as LinkIo (501);
//   - a write stalled by a lost "writable" wake-up is kicked (see STALL_MS below).
// Only types are imported from serialport: the module itself is loaded by uart.ts, lazily.
//
// Direct I/O (docs/uart.md §6 "Findings"): serialport's own stream reads and writes the fd through
// fs.read / fs.write, i.e. on the libuv threadpool: every chunk costs a hand-off to a worker thread
// and back (a futex wake-up and two context switches), and perf showed those hand-offs, not Cell's
// JS, as the bulk of a UART link's CPU time on the 2-core test machine. The binding opens the fd
// O_NONBLOCK, so a read or write syscall on the main thread never blocks: it moves what the tty
// buffer holds/takes and returns EAGAIN otherwise, which is what the binding's Poller (uv_poll on
// the same fd) is for. UartIo therefore reads and writes the fd itself, on the main thread, and
// uses serialport only to find, open, configure, drain and close the port. What that needs of
// serialport's internals (the binding's fd and Poller) is in serialport-internals.ts, checked on
// every port; a binding without it (Windows, the mock binding, a serialport release that changed
// it) keeps serialport's stream paths.
import { existsSync, readSync, writeSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import type { SerialPort } from 'serialport';
import { directPort, kickWritable, type DirectPort } from './serialport-internals.ts';

export interface UartIoOptions {
  /** Write no faster than this many baud (ptys ignore the baud rate). 0 = as fast as the port takes it. */
  paceBaud: number;
  /** Bits on the line per byte (start + data + parity + stop), for pacing. */
  bitsPerByte: number;
  /** Queued bytes above which the writable reports backpressure. */
  highWaterMarkBytes: number;
  /** Check every this many ms that the device path still exists (0 = never). */
  watchMs: number;
  /** How long `end()` waits for queued bytes to leave before closing the port anyway. */
  closeTimeoutMs: number;
}

/**
 * A port write still pending after this long gets its poller re-armed for "writable": the safety
 * net for the lost wake-up of @serialport/bindings-cpp 13 (serialport-internals.ts, patchPoller
 * and kickWritable). Costs one timer per STALL_MS while writes are pending.
 */
const STALL_MS = 5;

/** Bytes of each read buffer; a read takes what the tty holds, up to the room left in it. */
const READ_POOL_BYTES = 65536;
/** A pool with less room than this is replaced (reads of a few bytes are not worth a syscall each). */
const READ_MIN_ROOM = 1024;
/** Reads per 'readable' wake-up before yielding to the event loop (a flooding peer cannot starve timers and writes). */
const READS_PER_WAKE = 8;

/** errno codes that mean "not now" on a non-blocking fd. */
function wouldBlock(e: unknown): boolean {
  const c = (e as NodeJS.ErrnoException).code;
  return c === 'EAGAIN' || c === 'EWOULDBLOCK' || c === 'EINTR';
}

/**
 * readSync/writeSync report EAGAIN by throwing an Error, and capturing its stack trace walks and
 * deoptimisation-translates the JS frames: perf showed it as the largest user-space cost of an
 * RTT once the threadpool was gone. The syscalls run with no stack trace captured (an EAGAIN is
 * expected; a real error's message and code are kept, which is all lost() reports).
 */
function readNoTrace(fd: number, buf: Buffer, off: number, len: number): number {
  const lim = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try { return readSync(fd, buf, off, len, null); } finally { Error.stackTraceLimit = lim; }
}
function writeNoTrace(fd: number, buf: Buffer, off: number, len: number): number {
  const lim = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try { return writeSync(fd, buf, off, len); } finally { Error.stackTraceLimit = lim; }
}

/** One open serial port, as the readable + writable pair a StreamLink takes. */
export class UartIo {
  readonly readable: Readable;
  readonly writable: Writable;
  /** True once the port is closed or lost (no more bytes either way). */
  dead = false;
  /** Resolves when the port's file descriptor is closed. */
  readonly closed: Promise<void>;
  private closedRes!: () => void;
  private buf: Buffer;
  private len = 0;
  /** A batch the port is writing now (its bytes must not move). */
  private inFlight: Buffer | null = null;
  private spare: Buffer;
  private pendingCb: ((err?: Error | null) => void) | null = null;
  private finalCb: ((err?: Error | null) => void) | null = null;
  private closing = false;
  private paceTimer: ReturnType<typeof setTimeout> | null = null;
  private watchTimer: ReturnType<typeof setInterval> | null = null;
  private closeTimer: ReturnType<typeof setTimeout> | null = null;
  private stallTimer: ReturnType<typeof setTimeout> | null = null;
  /** Port writes started / the one the stall timer saw pending last time. */
  private writeSeq = 0;
  private stallSeq = -1;
  /** Writes kicked out of a lost 'writable' wake-up (tests and benchmarks read it). */
  stallKicks = 0;
  /** Pacing: when the line is free again (performance.now() ms). */
  private lineFreeAt = 0;
  private readonly byteMs: number;
  private readonly sliceBytes: number;
  /** The port's fd and Poller when direct I/O is possible, else null (serialport's stream paths). */
  private readonly direct: DirectPort | null;
  /** Read buffer: chunks pushed are views into it, each read goes after the previous one. */
  private readPool: Buffer = Buffer.allocUnsafe(0);
  private readUsed = 0;
  /** Bytes of the in-flight batch not written yet (direct writes waiting for 'writable'). */
  private writeRest: Buffer | null = null;

  constructor(private readonly port: SerialPort, private readonly path: string, private readonly opts: UartIoOptions) {
    this.byteMs = opts.paceBaud > 0 ? (opts.bitsPerByte * 1000) / opts.paceBaud : 0;
    // Paced writes go out in slices of ~2 ms of line time (at least one byte).
    this.sliceBytes = opts.paceBaud > 0 ? Math.max(1, Math.floor(2 / this.byteMs)) : Infinity;
    this.closed = new Promise<void>((r) => { this.closedRes = r; });
    this.buf = Buffer.allocUnsafe(16384);
    this.spare = Buffer.allocUnsafe(16384);
    this.readable = new Readable({ read() {} });
    this.writable = new Writable({
      highWaterMark: opts.highWaterMarkBytes,
      write: (chunk: Buffer, _enc, cb) => this.onWrite(chunk, cb),
      final: (cb) => this.onFinal(cb),
    });
    this.direct = directPort(port);
    // Direct reads: serialport's stream is never read (no 'data' listener), so it never starts a
    // threadpool read of its own.
    if (this.direct !== null) this.armRead();
    else port.on('data', this.onData);
    port.on('close', this.onPortClose);
    port.on('error', this.onPortError);
    if (opts.watchMs > 0) {
      this.watchTimer = setInterval(() => {
        if (!existsSync(this.path)) this.lost(new Error(`the device ${this.path} vanished`));
      }, opts.watchMs);
      this.watchTimer.unref?.();
    }
  }

  /** True when the port's fd is read and written directly (unix bindings); false: serialport's stream paths. */
  get directIo(): boolean {
    return this.direct !== null;
  }

  /** Abrupt close (a device that resets): no flush; the link sees LinkIo. */
  destroy(reason: string): void {
    this.lost(new Error(reason));
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.dead && !this.readable.destroyed) this.readable.push(chunk);
  };

  /** The fd for a direct read/write now, or -1 (closed, closing, or no direct I/O). */
  private fdNow(): number {
    const d = this.direct;
    if (d === null || this.dead) return -1;
    return d.fd();
  }

  private armRead(): void {
    if (this.fdNow() < 0) return;
    try { this.direct!.once('readable', this.onReadable); } catch (e) { this.lost(e as Error); }
  }

  private readonly onReadable = (err: (Error & { canceled?: boolean }) | null): void => {
    if (this.dead) return;
    if (err !== null) { if (err.canceled !== true) this.lost(err); return; } // canceled: the port is closing
    this.readNow();
  };

  /** Read what the tty holds (up to READS_PER_WAKE reads), push it, wait for 'readable' again. */
  private readNow(): void {
    for (let k = 0; k < READS_PER_WAKE; k++) {
      const fd = this.fdNow();
      if (fd < 0) return;
      if (this.readPool.length - this.readUsed < READ_MIN_ROOM) { this.readPool = Buffer.allocUnsafe(READ_POOL_BYTES); this.readUsed = 0; }
      const pool = this.readPool;
      const at = this.readUsed;
      const room = pool.length - at;
      let n: number;
      try {
        n = readNoTrace(fd, pool, at, room);
      } catch (e) {
        if (wouldBlock(e)) break; // drained (or a spurious wake-up)
        this.lost(e as Error); // EIO/ENXIO: the device or the other pty end went away
        return;
      }
      if (n === 0) { this.lost(new Error('end of file on the port')); return; }
      this.readUsed = at + n;
      this.onData(pool.subarray(at, at + n));
      // A read shorter than the room took all the tty held: do not ask again only to get EAGAIN
      // (bytes that arrived meanwhile wake the level-triggered poll at once).
      if (n < room) break;
    }
    // Drained, or yielding after READS_PER_WAKE reads: uv_poll is level-triggered, so bytes left
    // wake us again at once.
    this.armRead();
  }

  private readonly onPortClose = (err: Error | null): void => {
    if (this.closing) return;
    this.lost(err ?? new Error('the serial port closed'));
  };

  private readonly onPortError = (err: Error): void => {
    this.lost(err);
  };

  /** The port failed or went away: stop everything, close the fd, report it once. */
  private lost(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.stopTimers();
    this.closePort();
    const e = new Error(`serial port ${this.path}: ${err.message}`);
    (e as NodeJS.ErrnoException).code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    this.release();
    if (!this.readable.destroyed) this.readable.destroy(e);
  }

  private stopTimers(): void {
    if (this.watchTimer !== null) clearInterval(this.watchTimer);
    if (this.paceTimer !== null) clearTimeout(this.paceTimer);
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.watchTimer = null; this.paceTimer = null; this.closeTimer = null; this.stallTimer = null;
  }

  private closePort(): void {
    this.closing = true;
    this.port.off('data', this.onData);
    if (this.port.isOpen) this.port.close(() => this.closedRes());
    else this.closedRes();
  }

  /**
   * Finish the writable's waiting callbacks without an error: a loss is reported once, through
   * the readable (the link counts one I/O error, not one per side).
   */
  private release(): void {
    const cb = this.pendingCb;
    this.pendingCb = null;
    cb?.();
    const f = this.finalCb;
    this.finalCb = null;
    f?.();
  }

  private onWrite(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.dead) { cb(); return; } // dropped: the link reports the loss through the readable
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      const b = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      b.set(this.buf.subarray(0, this.len), 0);
      this.buf = b;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
    // Backpressure: hold the callback while more than the high-water mark waits for the port.
    if (this.len > this.opts.highWaterMarkBytes) this.pendingCb = cb;
    else cb();
    this.pump();
  }

  private pump(): void {
    if (this.dead || this.inFlight !== null || this.paceTimer !== null) return;
    if (this.len === 0) {
      if (this.finalCb !== null) this.finishClose();
      return;
    }
    let n = this.len;
    if (this.byteMs > 0) {
      const now = performance.now();
      const wait = this.lineFreeAt - now;
      if (wait > 0.5) { this.paceTimer = setTimeout(this.paceTick, Math.ceil(wait)); return; }
      // A line idle for more than a slice earns no credit; a timer that overslept while the line
      // was busy does (the bytes the line could have carried meanwhile), so the average rate is
      // the line rate, not the timer's.
      if (-wait > 2) this.lineFreeAt = now;
      n = Math.min(n, this.sliceBytes + Math.floor(Math.max(0, now - this.lineFreeAt) / this.byteMs));
      this.lineFreeAt += n * this.byteMs;
    }
    // Hand the port the filled buffer, keep filling the spare one.
    const out = this.buf;
    const batch = out.subarray(0, n);
    const rest = this.len - n;
    this.buf = this.spare;
    if (rest > 0) {
      if (rest > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(rest, this.buf.length * 2));
      this.buf.set(out.subarray(n, this.len), 0);
    }
    this.len = rest;
    this.inFlight = out;
    this.writeSeq++;
    if (this.direct !== null) { this.writeDirect(batch); return; }
    if (this.stallTimer === null) this.stallTimer = setTimeout(this.stallCheck, STALL_MS);
    this.port.write(batch, this.onPortWritten);
  }

  private readonly onPortWritten = (err?: Error | null): void => {
    this.writeDone(err ?? null);
  };

  /** The in-flight batch has left (or failed): release backpressure, start the next batch. */
  private writeDone(err: Error | null): void {
    const out = this.inFlight;
    this.inFlight = null;
    if (out !== null) this.spare = out;
    if (err) { this.lost(err); return; }
    if (this.pendingCb !== null && this.len <= this.opts.highWaterMarkBytes) {
      const cb = this.pendingCb; this.pendingCb = null; cb();
    }
    this.pump();
  }

  /**
   * Write `bytes` to the fd on the main thread; what the tty does not take now waits for the
   * Poller's 'writable' (the stall timer re-arms it if that wake-up is lost).
   */
  private writeDirect(bytes: Buffer): void {
    const fd = this.fdNow();
    if (fd < 0) { this.writeDone(null); return; } // dead: the loss is reported through the readable
    let n = 0;
    try {
      n = writeNoTrace(fd, bytes, 0, bytes.length);
    } catch (e) {
      if (!wouldBlock(e)) { this.writeDone(e as Error); return; }
    }
    if (n >= bytes.length) { this.writeRest = null; this.writeDone(null); return; }
    this.writeRest = bytes.subarray(n);
    if (n > 0) this.writeSeq++; // progress: the stall timer must not kick yet
    if (this.stallTimer === null) this.stallTimer = setTimeout(this.stallCheck, STALL_MS);
    try { this.direct!.once('writable', this.onWritable); } catch (e) { this.writeDone(e as Error); }
  }

  private readonly onWritable = (err: (Error & { canceled?: boolean }) | null): void => {
    const rest = this.writeRest;
    if (this.dead || rest === null) return;
    if (err !== null) { if (err.canceled !== true) this.writeDone(err); return; }
    this.writeDirect(rest);
  };

  /** While writes are pending: one that made no progress for STALL_MS gets 'writable' re-armed. */
  private readonly stallCheck = (): void => {
    this.stallTimer = null;
    if (this.dead || this.inFlight === null) { this.stallSeq = -1; return; }
    if (this.stallSeq === this.writeSeq && kickWritable(this.port)) this.stallKicks++;
    this.stallSeq = this.writeSeq;
    this.stallTimer = setTimeout(this.stallCheck, STALL_MS);
  };

  private readonly paceTick = (): void => {
    this.paceTimer = null;
    this.pump();
  };

  private onFinal(cb: (err?: Error | null) => void): void {
    if (this.dead) { cb(); return; }
    this.finalCb = cb;
    this.closeTimer = setTimeout(() => { this.closeTimer = null; this.finishClose(); }, this.opts.closeTimeoutMs);
    this.closeTimer.unref?.();
    this.pump();
  }

  /** Everything queued has been written (or the close timeout passed): close the port. */
  private finishClose(): void {
    if (this.dead) return;
    this.dead = true;
    this.stopTimers();
    let once = false;
    const done = (): void => {
      if (once) return;
      once = true;
      this.closePort();
      this.release();
      if (!this.readable.destroyed) this.readable.destroy();
    };
    // tcdrain: the bytes have left the UART, not just our buffer (bounded by the close timeout).
    if (this.port.isOpen && this.inFlight === null) {
      const t = setTimeout(done, this.opts.closeTimeoutMs);
      this.port.drain(() => { clearTimeout(t); done(); });
    } else done();
  }
}
