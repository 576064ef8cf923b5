// A simulated slcan USB-CAN adapter on a real pty pair (socat), bridged to a MemoryCanBus: the
// driver under test opens `path` (one pty end) with openSlcan; this helper holds the other end
// with serialport and answers as a CANable-style adapter would:
//   C → CR (BELL when `bellOnClose` and no channel is open); S0–S8 / Y0–Y5 → CR while closed,
//   BELL when open or unknown (Y only with `fd`); O → CR (BELL when open already);
//   t/T/d/D/b/B → the frame goes onto the memory bus (BELL while closed, or FD letters without
//   `fd`), `z`/`Z` after a t/T when `acks`; anything else → BELL.
// Frames other drivers put on the memory bus come out of the adapter as slcan lines (a 4-digit
// millisecond timestamp appended when `timestamps`). Written independently of src/.../slcan.ts
// (string parsing, no shared code) so the two cross-check each other.
import type { SerialPort } from 'serialport';
import { startPtyPair, type PtyPair } from '../../hw-tests/lib/pty.ts';
import {
  CAN_DLC_TO_LEN, CAN_FLAG_BRS, CAN_FLAG_EXTENDED, CAN_FLAG_FD,
} from '../../src/transports/can/driver.ts';
import type { MemoryCanBus, MemoryCanDriver } from '../../src/transports/can/memory-bus.ts';

export interface SlcanAdapterOptions {
  /** Accept the FD letters (Y, d, D, b, B). @default the bus's fd */
  fd?: boolean;
  /** Append a 4-hex-digit timestamp to received frames (`Z1` mode). @default false */
  timestamps?: boolean;
  /** Answer t/T with z/Z (Lawicel). @default false */
  acks?: boolean;
  /** Answer C with BELL when no channel is open (some firmwares do). @default false */
  bellOnClose?: boolean;
  /** Commands (first letters, e.g. 'S') to refuse with BELL. */
  refuse?: string[];
  /** Do not answer at all (a dead adapter). @default false */
  mute?: boolean;
}

export interface SlcanAdapter {
  /** The pty end the driver under test opens. */
  readonly path: string;
  /** The adapter's driver on the memory bus. */
  readonly busDriver: MemoryCanDriver;
  readonly pty: PtyPair;
  /** Commands received (frames excluded), in order. */
  readonly commands: string[];
  /** Bitrate letter index set by S (or -1), data bitrate by Y (or -1), whether the channel is open. */
  readonly setup: { s: number; y: number; open: boolean };
  /** Frames received from the host and put on the bus. */
  framesFromHost: number;
  /** Write raw bytes to the driver under test (garbage, hand-made lines). */
  writeRaw(bytes: Uint8Array | string): void;
  /** Unplug: kill socat (both pty ends vanish). */
  unplug(): Promise<void>;
  close(): Promise<void>;
}

function hex(v: number, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, '0');
}

export async function startSlcanAdapter(bus: MemoryCanBus, opts: SlcanAdapterOptions = {}): Promise<SlcanAdapter> {
  const fd = opts.fd ?? bus.fd;
  const pty = await startPtyPair();
  const { SerialPort } = await import('serialport');
  const port: SerialPort = new SerialPort({ path: pty.pathB, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  port.on('error', () => {}); // the unplug test kills socat under us
  const busDriver = bus.attach('slcan-adapter');
  const setup = { s: -1, y: -1, open: false };
  const commands: string[] = [];
  let out: string[] = [];
  let flushing = false;
  const t0 = Date.now();
  const write = (s: string): void => {
    out.push(s);
    if (flushing) return;
    flushing = true;
    setImmediate(() => {
      flushing = false;
      const b = out.join('');
      out = [];
      if (port.isOpen) port.write(Buffer.from(b, 'latin1'));
    });
  };
  const OK = '\r';
  const BELL = '\x07';
  const adapter: SlcanAdapter = {
    path: pty.pathA,
    busDriver,
    pty,
    commands,
    setup,
    framesFromHost: 0,
    writeRaw(bytes) {
      if (port.isOpen) port.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
    },
    async unplug() {
      await pty.kill();
    },
    async close() {
      busDriver.close();
      if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
      await pty.close();
    },
  };

  const frame = (line: string): string => {
    const letter = line[0]!;
    if (!setup.open) return BELL;
    const isFd = 'dDbB'.includes(letter);
    if (isFd && !fd) return BELL;
    const ext = letter === letter.toUpperCase();
    const idLen = ext ? 8 : 3;
    const id = parseInt(line.slice(1, 1 + idLen), 16);
    const dlc = parseInt(line[1 + idLen] ?? 'x', 16);
    if (Number.isNaN(id) || Number.isNaN(dlc) || (!isFd && dlc > 8)) return BELL;
    const len = CAN_DLC_TO_LEN[dlc]!;
    const hexData = line.slice(2 + idLen);
    if (hexData.length !== 2 * len || !/^[0-9A-Fa-f]*$/.test(hexData)) return BELL;
    const data = Uint8Array.from(Buffer.from(hexData, 'hex'));
    const flags = (ext ? CAN_FLAG_EXTENDED : 0) | (isFd ? CAN_FLAG_FD : 0) | ('bB'.includes(letter) ? CAN_FLAG_BRS : 0);
    busDriver.send(id, flags, data, 0, len);
    adapter.framesFromHost++;
    if (opts.acks && (letter === 't' || letter === 'T')) return letter === 't' ? 'z\r' : 'Z\r';
    return '';
  };

  const command = (line: string): string => {
    if (line.length > 0 && 'tTdDbB'.includes(line[0]!)) return frame(line);
    commands.push(line);
    if (opts.refuse?.includes(line[0] ?? '')) return BELL;
    if (line === 'C') {
      const was = setup.open;
      setup.open = false;
      return !was && opts.bellOnClose ? BELL : OK;
    }
    if (line === 'O') {
      if (setup.open || setup.s < 0) return BELL;
      setup.open = true;
      return OK;
    }
    if (/^S[0-8]$/.test(line) && !setup.open) { setup.s = Number(line[1]); return OK; }
    if (/^Y[0-5]$/.test(line) && !setup.open && fd) { setup.y = Number(line[1]); return OK; }
    return BELL;
  };

  let acc = '';
  port.on('data', (chunk: Buffer) => {
    if (opts.mute) return;
    acc += chunk.toString('latin1');
    let i: number;
    let reply = '';
    while ((i = acc.indexOf('\r')) >= 0) {
      const line = acc.slice(0, i);
      acc = acc.slice(i + 1);
      reply += command(line);
    }
    if (acc.length > 200) acc = ''; // a runaway line
    if (reply.length > 0) write(reply);
  });

  busDriver.start({
    onFrame(id, flags, data, off, len) {
      if (!setup.open) return;
      const ext = (flags & CAN_FLAG_EXTENDED) !== 0;
      const isFd = (flags & CAN_FLAG_FD) !== 0;
      if (isFd && !fd) return;
      const brs = (flags & CAN_FLAG_BRS) !== 0;
      let letter = isFd ? (brs ? 'b' : 'd') : 't';
      if (ext) letter = letter.toUpperCase();
      const dlc = CAN_DLC_TO_LEN.indexOf(len);
      let line = letter + hex(id, ext ? 8 : 3) + hex(dlc, 1) + Buffer.from(data.subarray(off, off + len)).toString('hex');
      if (opts.timestamps) line += hex((Date.now() - t0) % 60000, 4);
      write(line + '\r');
    },
    onClose() {},
  });
  return adapter;
}
