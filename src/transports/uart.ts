// The UART port (docs/uart.md §1): one open of a serial port through serialport, as a plain Link
// with COBS + CRC-32C framing (StreamLink), and the port lookup by path or USB serial number.
// Sessions that come back after an unplug or a device reset, and RPC over them, sit a layer
// above rpc, in src/uart/ (`cell/uart`).
//
// serialport is an optional dependency: it is loaded here, lazily (`await import('serialport')`),
// the first time a port is opened.
import { existsSync } from 'node:fs';
import { loadSerialPort } from './serialport-loader.ts';
import { StreamLink } from './stream.ts';
import { UartIo } from './uart-io.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_IO } from '../wire/errors.ts';

// ---------------------------------------------------------------------------------------------
// One port

/** What SerialPort.list() reports per port (the fields used here). */
export interface UartPortInfo {
  path: string;
  serialNumber?: string | undefined;
}

export interface UartPortOptions {
  /** Device path (/dev/ttyUSB0, /dev/serial/by-id/…, COM3, a pty link). Required unless `serialNumber` is given. */
  path?: string;
  /**
   * USB serial number: the port is found through SerialPort.list() (case-insensitive match), so
   * a device that comes back under another path (/dev/ttyACM0 → ttyACM1) is still found. Wins
   * over `path` when both are given.
   */
  serialNumber?: string;
  /** @default 115200 */
  baudRate?: number;
  /** @default 8 */
  dataBits?: 5 | 6 | 7 | 8;
  /** @default 'none' */
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  /** @default 1 */
  stopBits?: 1 | 1.5 | 2;
  /** RTS/CTS hardware flow control. @default false */
  rtscts?: boolean;
  /** Set DTR after open (many boards reset on a DTR edge). @default left as the OS opens it */
  dtr?: boolean;
  /** Set RTS after open. @default left as the OS opens it */
  rts?: boolean;
  /**
   * Write no faster than this line rate (baud). A pty ignores the baud rate and moves bytes at
   * memory speed; a test that needs real UART timing sets this. @default 0 (no pacing)
   */
  paceBaud?: number;
  /** Largest frame, header included (CRC and COBS overhead not counted): the link's MTU. @default 4096 */
  maxFrameBytes?: number;
  /** Queued bytes above which `send` returns false (then wait for onDrain). @default 65536 */
  highWaterMarkBytes?: number;
  /** While open, check this often that the device path still exists (some drivers never error). 0 = off. @default 250 */
  watchMs?: number;
  /** `close()` waits this long for queued bytes to leave before closing the port anyway. @default 1000 */
  closeTimeoutMs?: number;
  /** Port enumeration for `serialNumber` (tests pass their own). @default SerialPort.list */
  list?: () => Promise<UartPortInfo[]>;
}


/** The path to open now, or null when the device is not there. */
async function findPort(opts: UartPortOptions): Promise<string | null> {
  if (opts.serialNumber !== undefined) {
    const want = opts.serialNumber.toLowerCase();
    const list = opts.list ?? (async () => (await loadSerialPort('UART links')).list());
    const ports = await list();
    const hit = ports.find((p) => p.serialNumber !== undefined && p.serialNumber.toLowerCase() === want);
    return hit?.path ?? null;
  }
  if (opts.path === undefined) throw new TypeError('openUart: give `path` or `serialNumber`');
  return existsSync(opts.path) ? opts.path : null;
}

/** One open serial port as a Link: COBS + CRC-32C frames (a StreamLink over the port). */
export class UartLink extends StreamLink {
  /** The device path that was opened. */
  readonly path: string;
  /** @internal */ readonly io: UartIo;

  /** @internal Use openUart(). */
  constructor(io: UartIo, path: string, mtu: number, highWaterMarkBytes: number) {
    super({ readable: io.readable, writable: io.writable }, { mtu, reliable: false, highWaterMarkBytes });
    this.io = io;
    this.path = path;
  }

  /**
   * Close the port at once, without flushing or GOODBYE, as if the device had been reset or
   * pulled: this side sees onClose(LinkIo). For tests and for a supervisor that must drop a wedged port.
   */
  destroy(reason = 'the port was closed abruptly'): void {
    this.io.destroy(reason);
  }
}

/**
 * Open a serial port as one Link (capabilities: stream, unreliable, COBS framing, mtu =
 * maxFrameBytes). Rejects with CellError LinkIo (501) when the device is not there or does not
 * open. Line errors (CRC, COBS, oversize, too short, bad header) are counted in `link.stats` and
 * skipped; a port error, close or vanished device closes the link with LinkIo, so calls in flight
 * on a Connection over it fail Unavailable at once. No reconnect here: see UartSessions.
 */
export async function openUart(opts: UartPortOptions): Promise<UartLink> {
  const path = await findPort(opts);
  if (path === null) {
    throw new CellError(ERR_LINK_IO, opts.serialNumber !== undefined
      ? `no serial port with serial number ${opts.serialNumber}` : `no such serial port: ${opts.path}`, { path: opts.path, serialNumber: opts.serialNumber });
  }
  const SerialPort = await loadSerialPort('UART links');
  const baudRate = opts.baudRate ?? 115200;
  const dataBits = opts.dataBits ?? 8;
  const parity = opts.parity ?? 'none';
  const stopBits = opts.stopBits ?? 1;
  const port = new SerialPort({ path, baudRate, dataBits, parity, stopBits, rtscts: opts.rtscts ?? false, autoOpen: false });
  try {
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    if (opts.dtr !== undefined || opts.rts !== undefined) {
      const flags: { dtr?: boolean; rts?: boolean } = {};
      if (opts.dtr !== undefined) flags.dtr = opts.dtr;
      if (opts.rts !== undefined) flags.rts = opts.rts;
      await new Promise<void>((res, rej) => port.set(flags, (e) => (e ? rej(e) : res())));
    }
  } catch (e) {
    if (port.isOpen) port.close(() => {});
    throw new CellError(ERR_LINK_IO, `cannot open serial port ${path}: ${(e as Error).message}`, { path, cause: (e as NodeJS.ErrnoException).code });
  }
  const mtu = opts.maxFrameBytes ?? 4096;
  const hwm = opts.highWaterMarkBytes ?? 65536;
  const io = new UartIo(port, path, {
    paceBaud: opts.paceBaud ?? 0,
    bitsPerByte: 1 + dataBits + (parity === 'none' ? 0 : 1) + stopBits,
    highWaterMarkBytes: hwm,
    watchMs: opts.watchMs ?? 250,
    closeTimeoutMs: opts.closeTimeoutMs ?? 1000,
  });
  return new UartLink(io, path, mtu, hwm);
}
