// Where a device suite runs (hw-tests/thermo.suite.ts): the same firmware as
//   sim   — build/firmware/<app>.wasm in Node (hw-tests/lib/sim.ts) on one end of a socat pty pair;
//   qemu  — build/firmware/<app>-<board>.elf under qemu-system-arm, UART0 on a pty;
//   uart  — a real board on a serial port (CELL_TEST_UART=/dev/ttyUSB0), flashed beforehand.
// A target boots the device and hands back the host's end of the line, already open.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { atExit } from './procs.ts';
import type { SerialPort as SerialPortType } from 'serialport';
import { startPtyPair, ptyUnavailable, type PtyPair } from './pty.ts';
import { startQemu, qemuUnavailable, type Board, type Qemu } from './qemu.ts';
import { startSim, type Sim } from './sim.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface DeviceTarget {
  /** e.g. "sim", "qemu mps2-an385", "uart /dev/ttyUSB0". */
  readonly name: string;
  /**
   * The host's end of the line by a name that stays valid across power cycles (sim: the socat
   * link; qemu: a symlink to the current /dev/pts/N, gone while the VM is down) — what
   * connectUart's path watch and reconnect use. Valid after start().
   */
  readonly hostPath: string;
  /** Boot the device; resolves with the host's end of the serial line, open. */
  start(): Promise<SerialPortType>;
  /** Close the host's end and open it again (a new host session; the device keeps running). */
  reopen(): Promise<SerialPortType>;
  /**
   * Reset the device while the host's port stays open (sim: a new process on the same pty; qemu:
   * the monitor's system_reset). Undefined when the target cannot (a real board without a reset line).
   */
  reset?(): Promise<void>;
  /**
   * Power-cycle the device (sim: the simulator process ends and starts again on the same pty;
   * qemu: the VM is killed and started again, its new pty behind the same hostPath). A host port
   * open at the time sees the line go away (qemu) or the device reboot (sim).
   */
  powerCycle?(): Promise<void>;
  /** Stop the device and close everything. Safe to call twice. */
  stop(): Promise<void>;
  /** Logs for failure messages (simulator stderr, qemu output). */
  diagnostics(): string;
  /** Options the target needs from connectUart (e.g. slower HELLO retries under qemu). */
  readonly uartOptions?: { helloRetryMs?: number };
}

type SerialPortCtor = typeof import('serialport').SerialPort;

/** serialport, or why it is unavailable. */
export async function loadSerialPort(): Promise<SerialPortCtor | string> {
  try {
    return (await import('serialport')).SerialPort;
  } catch (e) {
    return `serialport is not installed (optional dependency): ${(e as Error).message}`;
  }
}

export function openPort(SerialPort: SerialPortCtor, path: string, baudRate = 115200, timeoutMs = 5000): Promise<SerialPortType> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    const timer = setTimeout(() => reject(new Error(`cannot open ${path} within ${timeoutMs} ms`)), timeoutMs);
    port.open((e) => {
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(port);
    });
  });
}

/**
 * Close the host's end after what was written has left (drain) and a short grace: qemu's pty
 * chardev drops what it has not read yet when the other end hangs up (a GOODBYE written just
 * before the close was lost that way).
 */
export async function closePort(port: SerialPortType | null | undefined, graceMs = 100): Promise<void> {
  if (!port?.isOpen) return;
  await new Promise<void>((resolve) => port.drain(() => resolve()));
  await new Promise((r) => setTimeout(r, graceMs));
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => port.close(() => resolve()));
}

export interface BuiltFirmware {
  wasm: string;
  elfs: Record<Board, string>;
  rows: { app: string; board: Board; wasmBytes: number; text: number; data: number; bss: number; flash: number; ram: number }[];
}

/** Build firmware/<app> (a no-op when up to date); `{ skip }` when the toolchain is missing. */
export function buildFirmwareApp(app: string): BuiltFirmware | { skip: string } {
  const r = spawnSync(process.execPath, ['scripts/build-firmware.mjs', app, '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim();
    if (/toolchain incomplete/.test(msg)) return { skip: msg.replace(/^build-firmware: /, '') };
    throw new Error(`firmware build failed:\n${msg}`);
  }
  const rows = JSON.parse(r.stdout) as BuiltFirmware['rows'] & { elf: string }[];
  const elfs = {} as Record<Board, string>;
  for (const row of rows as unknown as { board: Board; elf: string }[]) elfs[row.board] = `${root}${row.elf}`;
  return { wasm: `${root}build/firmware/${app}.wasm`, elfs, rows };
}

/** Why the simulator target cannot run here, or null. */
export function simUnavailable(): string | null {
  return ptyUnavailable();
}

/** The wasm in Node, on a socat pty pair (device on ttyA, host on ttyB). */
export function simTarget(SerialPort: SerialPortCtor, wasm: string): DeviceTarget {
  let pty: PtyPair | null = null;
  let sim: Sim | null = null;
  let port: SerialPortType | null = null;
  return {
    name: 'sim',
    get hostPath() { return pty!.pathB; },
    async start() {
      pty = await startPtyPair();
      sim = await startSim({ ptyPath: pty.pathA, wasm });
      port = await openPort(SerialPort, pty.pathB);
      return port;
    },
    async reopen() {
      await closePort(port);
      port = await openPort(SerialPort, pty!.pathB);
      return port;
    },
    async reset() {
      await sim!.restart();
    },
    async powerCycle() {
      await sim!.restart();
    },
    async stop() {
      await closePort(port);
      await sim?.kill();
      await pty?.close();
    },
    diagnostics: () => (sim ? `simulator log:\n${sim.log}` : ''),
  };
}

/** The ELF under qemu: paused, the host opens the pty, then the CPU starts (docs/firmware.md). */
export function qemuTarget(SerialPort: SerialPortCtor, board: Board, elf: string): DeviceTarget {
  let qemu: Qemu | null = null;
  let port: SerialPortType | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'cell-qemu-'));
  const link = join(dir, 'ttyDEV');
  const cancelCleanup = atExit(() => rmSync(dir, { recursive: true, force: true }));
  const relink = (): void => {
    try { unlinkSync(link); } catch { /* not there */ }
    if (qemu !== null) symlinkSync(qemu.ptyPath, link);
  };
  return {
    name: `qemu ${board}`,
    hostPath: link,
    // qemu's pty chardev notices a reader that opened after the guest started only at its next
    // 1 s poll: the first HELLO is answered up to ~1 s late. With the default 150 ms retry the
    // client would send 3-4 HELLOs meanwhile and draw as many answers; one HELLO is enough. A
    // real USB-UART answers at once.
    uartOptions: { helloRetryMs: 1500 },
    async start() {
      qemu = await startQemu({ board, elf, paused: true });
      relink();
      port = await openPort(SerialPort, link);
      await qemu.cont();
      return port;
    },
    async reopen() {
      await closePort(port);
      port = await openPort(SerialPort, qemu!.ptyPath);
      return port;
    },
    async reset() {
      await qemu!.reset();
    },
    async powerCycle() {
      try { unlinkSync(link); } catch { /* not there */ }
      await qemu!.restart(); // a new pty; started paused
      relink();
      await qemu!.cont();
    },
    async stop() {
      await closePort(port);
      await qemu?.kill();
      rmSync(dir, { recursive: true, force: true });
      cancelCleanup();
    },
    diagnostics: () => (qemu ? `qemu log:\n${qemu.log}` : ''),
  };
}

/** A real board on a serial port, flashed with the firmware beforehand (docs/firmware.md). */
export function uartTarget(SerialPort: SerialPortCtor, path: string, baudRate = 115200): DeviceTarget {
  let port: SerialPortType | null = null;
  return {
    name: `uart ${path}`,
    hostPath: path,
    async start() {
      port = await openPort(SerialPort, path, baudRate);
      return port;
    },
    async reopen() {
      await closePort(port);
      port = await openPort(SerialPort, path, baudRate);
      return port;
    },
    async stop() {
      await closePort(port);
    },
    diagnostics: () => '',
  };
}

export { qemuUnavailable };
