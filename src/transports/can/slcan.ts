// slcan (the Lawicel ASCII protocol) over serialport, for USB-CAN adapters (CANable, CANable 2.0
// with its CAN FD letters, WeAct USB2CANFD, Lawicel CANUSB, …): a CanDriver (driver.ts).
//
// The adapter speaks lines ending in CR:
//   host → adapter: `C` close, `S0`–`S8` nominal bitrate, `Y0`–`Y5` FD data bitrate, `O` open,
//                   frames `tIIILdd…` (standard), `TIIIIIIIILdd…` (extended), FD `d`/`D`, FD with
//                   bit-rate switch `b`/`B` (L = DLC as one hex digit, 9–F for FD lengths 12–64);
//   adapter → host: CR alone = OK, BELL (0x07) = error, the same frame letters for received
//                   frames (an optional 4-hex-digit timestamp after the data, `Z1` mode), `z`/`Z`
//                   transmit acknowledgements (Lawicel), `Fxx` status flags.
// Received lines are parsed in place from a bounded line buffer (a line longer than the longest
// valid one is discarded), hex into one reusable data buffer, so a received frame costs no
// allocation; anything that is not a valid line is counted in stats.ignored and skipped.
// Frames to send are encoded into one buffer and written once per tick (through UartIo, which
// writes the port's fd directly); the driver's queue is bounded by a high-water mark in frames.
//
// A BELL while the channel is open means the adapter refused something (its transmit buffer is
// full, or the controller is bus-off): counted in stats.errIo and, with error reporting on,
// reported as an 'error' event with errorClass 0 (slcan cannot tell the class). Which frame it
// refused slcan does not say, so that frame is lost: the one place where a driver cannot keep
// the "never drops" promise; keep the high-water mark small so the adapter's buffer does not
// fill. The port closing or failing (an unplugged adapter) closes the driver with LinkIo (501).
import { existsSync } from 'node:fs';
import { loadSerialPort } from '../serialport-loader.ts';
import { CellError } from '../../wire/cell-error.ts';
import { ERR_CAN_ADAPTER, ERR_LINK_IO } from '../../wire/errors.ts';
import { UartIo } from '../uart-io.ts';
import {
  CAN_DLC_TO_LEN, CAN_FLAG_BRS, CAN_FLAG_ESI, CAN_FLAG_EXTENDED, CAN_FLAG_FD, CAN_FD_MAX_BYTES, CanDriverStats,
  canFilterPasses, checkCanSend, type CanBusState, type CanDriver, type CanDriverHandlers, type CanFilter,
} from './driver.ts';

export interface SlcanOptions {
  /** The adapter's serial device (/dev/ttyACM0, /dev/serial/by-id/…, a pty). */
  path: string;
  /** Nominal CAN bitrate in bit/s: 10k, 20k, 50k, 100k, 125k, 250k, 500k, 800k or 1M (S0–S8). */
  bitrate: number;
  /** CAN FD data-phase bitrate in bit/s: 500k, 1M, 2M, 3M, 4M or 5M (Y0–Y5). Needs `fd`. @default 2M when fd */
  dataBitrate?: number;
  /** Use the CAN FD letters (CANable 2.0 firmware and compatibles). @default false */
  fd?: boolean;
  /** Serial line rate; USB-CDC adapters ignore it. @default 115200 */
  baudRate?: number;
  /** Frames queued above which `send` returns false. @default 64 */
  highWaterMark?: number;
  /** How long the adapter has to answer each command of the open sequence. @default 1000 */
  commandTimeoutMs?: number;
  /** Check every this many ms that the device still exists. 0 = off. @default 250 */
  watchMs?: number;
  /** `close()` waits this long for queued frames to leave. @default 1000 */
  closeTimeoutMs?: number;
}

/** Nominal bitrates by slcan letter S0–S8. */
export const SLCAN_BITRATES: readonly number[] = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000];
/** CAN FD data bitrates by letter Y0–Y5 (CANable 2.0: Y1, Y2, Y4, Y5; WeAct: all six). */
export const SLCAN_DATA_BITRATES: readonly number[] = [500_000, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000];

/** The `S<n>` command for a nominal bitrate; RangeError for one slcan has no letter for. */
export function slcanBitrateCommand(bitrate: number): string {
  const i = SLCAN_BITRATES.indexOf(bitrate);
  if (i < 0) throw new RangeError(`slcan: no bitrate letter for ${bitrate} bit/s (have ${SLCAN_BITRATES.join(', ')})`);
  return `S${i}`;
}

/** The `Y<n>` command for a CAN FD data bitrate; RangeError for one slcan has no letter for. */
export function slcanDataBitrateCommand(bitrate: number): string {
  const i = SLCAN_DATA_BITRATES.indexOf(bitrate);
  if (i < 0) throw new RangeError(`slcan: no data bitrate letter for ${bitrate} bit/s (have ${SLCAN_DATA_BITRATES.join(', ')})`);
  return `Y${i}`;
}

const CR = 0x0d;
const LF = 0x0a;
const BELL = 0x07;
/** Longest valid line without its CR: `D` + 8 id digits + DLC + 128 data digits + 4 timestamp digits. */
export const SLCAN_MAX_LINE = 1 + 8 + 1 + 2 * CAN_FD_MAX_BYTES + 4;
/** Longest encoded frame, CR included. */
const MAX_ENCODED = 1 + 8 + 1 + 2 * CAN_FD_MAX_BYTES + 1;

const HEX_VAL = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX_VAL[0x30 + i] = i;
for (let i = 0; i < 6; i++) { HEX_VAL[0x41 + i] = 10 + i; HEX_VAL[0x61 + i] = 10 + i; }
const HEX_DIGIT = new Uint8Array([...'0123456789ABCDEF'].map((c) => c.charCodeAt(0)));

/** What the parser reports; the frame's data is `data[0 .. len)`, valid only during the call. */
export interface SlcanParserSink {
  frame(id: number, flags: number, data: Uint8Array, len: number, timestamp: number): void;
  /** A CR alone: the adapter's OK. */
  ok(): void;
  /** A BELL: the adapter's error. */
  bell(): void;
  /** `z` / `Z`: a transmit acknowledgement. */
  ack?(): void;
  /** `Fxx`: the status flags. */
  status?(flags: number): void;
}

/**
 * The receive side of slcan: feed it bytes as they come (split anywhere), it calls the sink once
 * per complete line. Never throws on input; what it cannot use it counts.
 */
export class SlcanParser {
  /** Remote (RTR) frames: counted, not handed on. */
  remote = 0;
  /** Transmit acknowledgements seen. */
  acks = 0;
  private readonly line = new Uint8Array(SLCAN_MAX_LINE);
  private len = 0;
  private overflow = false;
  private readonly data = new Uint8Array(CAN_FD_MAX_BYTES);
  /** Set by the sink to stop `feed` after the current line; feed returns the offset reached. */
  stop = false;

  /**
   * `counts.ignored` counts the lines (and overlong fragments) that were not valid, remote frames
   * included; a driver passes its CanDriverStats.
   */
  constructor(private readonly sink: SlcanParserSink, readonly counts: { ignored: number } = { ignored: 0 }) {}

  /** Lines (and overlong fragments) that were not valid: counted, skipped. */
  get ignored(): number {
    return this.counts.ignored;
  }

  /** Parse `buf[off .. end)`; returns the offset after the last byte consumed (end unless `stop` was set). */
  feed(buf: Uint8Array, off = 0, end = buf.length): number {
    const line = this.line;
    for (let i = off; i < end; i++) {
      const c = buf[i]!;
      if (c === CR) {
        if (this.overflow) { this.counts.ignored++; this.overflow = false; this.len = 0; }
        else { const n = this.len; this.len = 0; this.parseLine(n); }
        if (this.stop) { this.stop = false; return i + 1; }
      } else if (c === BELL) {
        if (this.len > 0 || this.overflow) { this.counts.ignored++; this.len = 0; this.overflow = false; }
        this.sink.bell();
        if (this.stop) { this.stop = false; return i + 1; }
      } else if (c === LF && this.len === 0 && !this.overflow) {
        // a CR LF line end: the LF is not a line of its own
      } else if (this.overflow) {
        // discard until the next CR
      } else if (this.len < SLCAN_MAX_LINE) {
        line[this.len++] = c;
      } else {
        this.overflow = true;
        this.len = 0;
      }
    }
    return end;
  }

  /** Hex value of `n` digits at line[at..], or -1. */
  private hex(at: number, n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const d = HEX_VAL[this.line[at + k]!]!;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }

  private parseLine(n: number): void {
    if (n === 0) { this.sink.ok(); return; }
    const line = this.line;
    const c = line[0]!;
    let flags: number;
    switch (c) {
      case 0x74: flags = 0; break; // t
      case 0x54: flags = CAN_FLAG_EXTENDED; break; // T
      case 0x64: flags = CAN_FLAG_FD; break; // d
      case 0x44: flags = CAN_FLAG_FD | CAN_FLAG_EXTENDED; break; // D
      case 0x62: flags = CAN_FLAG_FD | CAN_FLAG_BRS; break; // b
      case 0x42: flags = CAN_FLAG_FD | CAN_FLAG_BRS | CAN_FLAG_EXTENDED; break; // B
      case 0x72: case 0x52: { // r, R: remote frames
        const idDigits = c === 0x52 ? 8 : 3;
        if (n === 1 + idDigits + 1 || n === 1 + idDigits + 1 + 4) this.remote++;
        this.counts.ignored++;
        return;
      }
      case 0x7a: case 0x5a: // z, Z
        if (n === 1) { this.acks++; this.sink.ack?.(); } else this.counts.ignored++;
        return;
      case 0x46: { // F
        const v = n === 3 ? this.hex(1, 2) : -1;
        if (v < 0) this.counts.ignored++;
        else this.sink.status?.(v);
        return;
      }
      default:
        this.counts.ignored++;
        return;
    }
    const ext = (flags & CAN_FLAG_EXTENDED) !== 0;
    const idDigits = ext ? 8 : 3;
    if (n < 1 + idDigits + 1) { this.counts.ignored++; return; }
    const id = this.hex(1, idDigits);
    const dlc = HEX_VAL[line[1 + idDigits]!]!;
    const fd = (flags & CAN_FLAG_FD) !== 0;
    if (id < 0 || id > (ext ? 0x1fffffff : 0x7ff) || dlc < 0 || (!fd && dlc > 8)) { this.counts.ignored++; return; }
    const len = CAN_DLC_TO_LEN[dlc]!;
    const at = 2 + idDigits;
    const rest = n - at - 2 * len;
    if (rest !== 0 && rest !== 4) { this.counts.ignored++; return; }
    const data = this.data;
    for (let k = 0; k < len; k++) {
      const hi = HEX_VAL[line[at + 2 * k]!]!;
      const lo = HEX_VAL[line[at + 2 * k + 1]!]!;
      if (hi < 0 || lo < 0) { this.counts.ignored++; return; }
      data[k] = hi * 16 + lo;
    }
    let ts = -1;
    if (rest === 4) {
      ts = this.hex(at + 2 * len, 4);
      if (ts < 0) { this.counts.ignored++; return; }
    }
    this.sink.frame(id, flags, data, len, ts);
  }
}

/**
 * Encode one frame as an slcan line (CR included) into `out` at `at`; returns the new end.
 * `out` must have MAX_ENCODED (139) bytes of room. ESI is not expressible in slcan (dropped).
 */
export function encodeSlcanFrame(out: Uint8Array, at: number, id: number, flags: number, data: Uint8Array, off: number, len: number): number {
  const ext = (flags & CAN_FLAG_EXTENDED) !== 0;
  const fd = (flags & CAN_FLAG_FD) !== 0;
  const brs = (flags & CAN_FLAG_BRS) !== 0;
  out[at++] = fd ? (brs ? (ext ? 0x42 : 0x62) : (ext ? 0x44 : 0x64)) : (ext ? 0x54 : 0x74);
  for (let s = ext ? 28 : 8; s >= 0; s -= 4) out[at++] = HEX_DIGIT[(id >>> s) & 0xf]!;
  const dlc = len <= 8 ? len : CAN_DLC_TO_LEN.indexOf(len);
  out[at++] = HEX_DIGIT[dlc]!;
  for (let k = 0; k < len; k++) {
    const b = data[off + k]!;
    out[at++] = HEX_DIGIT[b >>> 4]!;
    out[at++] = HEX_DIGIT[b & 0xf]!;
  }
  out[at++] = CR;
  return at;
}


function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/** Lawicel status flags → controller state (bit 5 error-passive, bit 2 error-warning). */
function stateFromStatus(f: number): CanBusState {
  if (f & 0x20) return 'error-passive';
  if (f & 0x04) return 'error-warning';
  return 'error-active';
}

/** An open slcan adapter; see openSlcan(). */
export class SlcanDriver implements CanDriver {
  readonly name: string;
  readonly fd: boolean;
  readonly stats = new CanDriverStats();
  /** The device path. */
  readonly path: string;
  private stateNow: CanBusState = 'unknown';
  private handlers: CanDriverHandlers | null = null;
  private filters: readonly CanFilter[] = [];
  private errorReporting = false;
  private closing = false;
  private finished = false;
  private readonly parser: SlcanParser;
  /** Open sequence: the command waiting for its answer. */
  private waiter: { resolve(ok: boolean): void; reject(e: Error): void } | null = null;
  /** Bytes received after the `O` answer and before start(). */
  private early: Buffer[] = [];
  // Transmit: frames encoded into `txBuf` (not handed to the port yet); `inFlight` frames are in
  // the port's write now.
  private txBuf: Buffer = Buffer.allocUnsafe(16 * MAX_ENCODED);
  private txLen = 0;
  private txFrames = 0;
  private inFlightFrames = 0;
  private inFlightDataBytes = 0;
  private txDataBytes = 0;
  private portBusy = false;
  private flushScheduled = false;
  private needDrain = false;
  private readonly hwm: number;

  /** @internal Use openSlcan(). */
  constructor(private readonly io: UartIo, path: string, fd: boolean, hwm: number, private readonly closeTimeoutMs = 1000) {
    this.path = path;
    this.name = `slcan:${path}`;
    this.fd = fd;
    this.hwm = Math.max(1, hwm);
    this.parser = new SlcanParser({
      frame: (id, flags, data, len) => this.onLineFrame(id, flags, data, len),
      ok: () => { this.onAnswer(true); },
      bell: () => this.onBell(),
      status: (f) => this.onStatus(f),
    }, this.stats);
    io.readable.on('data', this.onData);
    io.readable.on('error', this.onIoError);
    io.readable.on('close', this.onIoClose);
  }

  get state(): CanBusState {
    return this.stateNow;
  }

  get closed(): boolean {
    return this.closing || this.finished;
  }

  /** Frames queued and not yet written to the port. */
  get queued(): number {
    return this.txFrames + this.inFlightFrames;
  }

  /** Transmit acknowledgements (`z`/`Z`) the adapter sent. */
  get acks(): number {
    return this.parser.acks;
  }

  // -- the open sequence --------------------------------------------------------------------

  /** @internal Send one command and wait for CR (true) or BELL (false); rejects on timeout or loss. */
  command(cmd: string, timeoutMs: number, stopAfter = false): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        reject(new CellError(ERR_CAN_ADAPTER, `${this.name}: no answer to "${cmd}" within ${timeoutMs} ms`, { path: this.path, command: cmd }));
      }, timeoutMs);
      this.waiter = {
        resolve: (ok) => {
          clearTimeout(t);
          this.waiter = null;
          if (stopAfter && ok) { this.parser.stop = true; this.stashing = true; }
          resolve(ok);
        },
        reject: (e) => { clearTimeout(t); this.waiter = null; reject(e); },
      };
      if (this.io.dead) { clearTimeout(t); this.waiter = null; reject(new CellError(ERR_LINK_IO, `${this.name}: the port closed`, { path: this.path })); return; }
      this.io.writable.write(Buffer.from(`${cmd}\r`, 'latin1'));
    });
  }

  private onAnswer(ok: boolean): boolean {
    const w = this.waiter;
    if (w !== null) { w.resolve(ok); return true; }
    return false;
  }

  private onBell(): void {
    if (this.onAnswer(false)) return;
    this.stats.errIo++;
    if (this.errorReporting && this.handlers !== null) this.handlers.onBusEvent?.({ type: 'error', state: this.stateNow, errorClass: 0 });
  }

  private onStatus(f: number): void {
    const s = stateFromStatus(f);
    if (s === this.stateNow) return;
    this.stateNow = s;
    if (this.errorReporting && this.handlers !== null) this.handlers.onBusEvent?.({ type: 'state', state: s, errorClass: 0x4 });
  }

  /** @internal The channel is open: the state is known, bytes wait for start(). */
  opened(): void {
    this.stateNow = 'error-active';
  }

  // -- receive --------------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.finished) return;
    if (this.stashing && this.handlers === null) { this.early.push(chunk); return; }
    const at = this.parser.feed(chunk);
    if (at < chunk.length) this.early.push(chunk.subarray(at)); // after the `O` answer
  };
  /** The `O` answer came: bytes wait in `early` until start(). */
  private stashing = false;

  private onLineFrame(id: number, flags: number, data: Uint8Array, len: number): void {
    const h = this.handlers;
    if (h === null || this.finished) { this.stats.ignored++; return; }
    if ((flags & CAN_FLAG_FD) !== 0 && !this.fd) { this.stats.ignored++; return; }
    if (!this.passes(id, flags)) return;
    this.stats.framesIn++;
    this.stats.bytesIn += len;
    h.onFrame(id, flags, data, 0, len, nowUs());
  }

  private passes(id: number, flags: number): boolean {
    return canFilterPasses(this.filters, id, flags);
  }

  // -- CanDriver ------------------------------------------------------------------------------

  start(handlers: CanDriverHandlers): void {
    if (this.handlers !== null) throw new Error(`${this.name}: start() called twice`);
    this.handlers = handlers;
    const early = this.early;
    this.early = [];
    for (const c of early) this.onData(c);
  }

  send(id: number, flags: number, data: Uint8Array, off: number, len: number): boolean {
    if (this.closed) { this.stats.dropped++; return false; }
    checkCanSend(this.name, this.fd, id, flags, len);
    if (this.txLen + MAX_ENCODED > this.txBuf.length) {
      const b = Buffer.allocUnsafe(this.txBuf.length * 2);
      b.set(this.txBuf.subarray(0, this.txLen), 0);
      this.txBuf = b;
    }
    this.txLen = encodeSlcanFrame(this.txBuf, this.txLen, id, flags & ~CAN_FLAG_ESI, data, off, len);
    this.txFrames++;
    this.txDataBytes += len;
    this.scheduleFlush();
    if (this.txFrames + this.inFlightFrames > this.hwm) { this.needDrain = true; return false; }
    return true;
  }

  setFilters(filters: readonly CanFilter[]): void {
    this.filters = filters.slice(); // in software: slcan's acceptance registers are adapter-specific
  }

  setErrorReporting(on: boolean): void {
    this.errorReporting = on;
  }

  close(): void {
    if (this.closing || this.finished) return;
    this.closing = true;
    // An adapter that stopped reading must not hold the close forever.
    const t = setTimeout(() => {
      if (this.finished) return;
      this.stats.dropped += this.inFlightFrames;
      this.inFlightFrames = 0;
      this.finish(null);
    }, this.closeTimeoutMs + 500);
    t.unref?.();
    // Close the CAN channel after the queued frames, then end the port (UartIo drains it).
    const c = Buffer.from('C\r', 'latin1');
    if (this.txLen + c.length > this.txBuf.length) {
      const b = Buffer.allocUnsafe(this.txLen + c.length);
      b.set(this.txBuf.subarray(0, this.txLen), 0);
      this.txBuf = b;
    }
    this.txBuf.set(c, this.txLen);
    this.txLen += c.length;
    this.scheduleFlush();
  }

  // -- transmit -------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled || this.portBusy) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.finished || this.portBusy) return;
    if (this.txLen === 0) {
      if (this.closing) this.io.writable.end();
      return;
    }
    // The port is idle: UartIo copies the batch synchronously, so txBuf is free again at once.
    this.portBusy = true;
    this.inFlightFrames = this.txFrames;
    this.inFlightDataBytes = this.txDataBytes;
    this.txDataBytes = 0;
    const batch = this.txBuf.subarray(0, this.txLen);
    this.txLen = 0;
    this.txFrames = 0;
    this.io.writable.write(batch, this.onWritten);
  };

  private readonly onWritten = (err?: Error | null): void => {
    this.portBusy = false;
    if (this.finished) return;
    if (err) { this.lost(err); return; }
    this.stats.framesOut += this.inFlightFrames;
    this.stats.bytesOut += this.inFlightDataBytes;
    this.inFlightFrames = 0;
    this.inFlightDataBytes = 0;
    if (this.needDrain && this.txFrames <= this.hwm >> 1 && !this.closing) {
      this.needDrain = false;
      this.handlers?.onDrain?.();
    }
    if (this.txLen > 0 || this.closing) this.scheduleFlush();
  };

  // -- the end --------------------------------------------------------------------------------

  private readonly onIoError = (err: Error): void => {
    this.lost(err);
  };

  private readonly onIoClose = (): void => {
    if (this.finished) return;
    if (this.closing) this.finish(null);
    else this.lost(new Error('the port closed'));
  };

  private lost(err: Error): void {
    if (this.finished) return;
    this.stats.errIo++;
    this.finish(new CellError(ERR_LINK_IO, `${this.name}: ${err.message}`, { path: this.path, cause: (err as NodeJS.ErrnoException).code }));
  }

  private finish(err: CellError | null): void {
    if (this.finished) return;
    this.finished = true;
    this.stats.dropped += this.txFrames + (err !== null ? this.inFlightFrames : 0);
    this.txFrames = 0;
    this.txLen = 0;
    const w = this.waiter;
    if (w !== null) w.reject(err ?? new CellError(ERR_LINK_IO, `${this.name}: closed`, { path: this.path }));
    if (!this.io.dead) this.io.destroy(err?.message ?? 'closed');
    this.handlers?.onClose(err);
  }

  /** @internal Abrupt close (open failed): no channel close, no onClose. */
  abort(): void {
    this.finished = true;
    if (!this.io.dead) this.io.destroy('aborted');
  }

  /** Drop the port at once, as if the adapter was pulled: onClose(LinkIo). For tests. */
  destroy(reason = 'the adapter was disconnected'): void {
    this.io.destroy(reason);
  }
}

/**
 * Open an slcan adapter: `C` (close a channel left open; a BELL is fine), `S<n>` for the
 * bitrate, `Y<n>` for the FD data bitrate (with `fd`), then `O`. Rejects with CellError LinkIo
 * (501) when the port is not there or does not open, CanAdapter (911) when the adapter refuses a
 * command or does not answer, RangeError for a bitrate slcan has no letter for.
 */
export async function openSlcan(opts: SlcanOptions): Promise<SlcanDriver> {
  const fd = opts.fd ?? false;
  const cmds = [slcanBitrateCommand(opts.bitrate)];
  if (fd) cmds.push(slcanDataBitrateCommand(opts.dataBitrate ?? 2_000_000));
  else if (opts.dataBitrate !== undefined) throw new RangeError('slcan: dataBitrate needs fd: true');
  const path = opts.path;
  if (!existsSync(path)) throw new CellError(ERR_LINK_IO, `no such serial port: ${path}`, { path });
  const SerialPort = await loadSerialPort('slcan');
  const port = new SerialPort({ path, baudRate: opts.baudRate ?? 115200, autoOpen: false });
  try {
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  } catch (e) {
    if (port.isOpen) port.close(() => {});
    throw new CellError(ERR_LINK_IO, `cannot open serial port ${path}: ${(e as Error).message}`, { path, cause: (e as NodeJS.ErrnoException).code });
  }
  const io = new UartIo(port, path, {
    paceBaud: 0,
    bitsPerByte: 10,
    highWaterMarkBytes: 0, // a write's callback means: every byte handed to the tty
    watchMs: opts.watchMs ?? 250,
    closeTimeoutMs: opts.closeTimeoutMs ?? 1000,
  });
  const driver = new SlcanDriver(io, path, fd, opts.highWaterMark ?? 64, opts.closeTimeoutMs ?? 1000);
  const timeout = opts.commandTimeoutMs ?? 1000;
  try {
    await driver.command('C', timeout); // BELL: no channel was open
    for (const c of cmds) {
      if (!(await driver.command(c, timeout))) throw new CellError(ERR_CAN_ADAPTER, `${driver.name}: the adapter refused "${c}"`, { path, command: c });
    }
    if (!(await driver.command('O', timeout, true))) throw new CellError(ERR_CAN_ADAPTER, `${driver.name}: the adapter refused "O" (open)`, { path, command: 'O' });
  } catch (e) {
    driver.abort();
    await io.closed;
    throw e;
  }
  driver.opened();
  return driver;
}
