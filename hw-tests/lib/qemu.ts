// An emulated Cortex-M board with its UART0 on a pty: `qemu-system-arm -M <board> -display none
// -serial pty -kernel <elf>` under TCG (never KVM). docs/firmware.md §"Running under qemu".
//
// Start paused (the default) and call cont() after opening the pty: qemu's pty chardev only
// notices a reader that connects after the guest has started at its next 1 s poll, and the
// mps2 CMSDK UART model then holds the first received byte for that long. Opening first and then
// starting the CPU gives a first answer within tens of milliseconds on both boards.
import type { ChildProcess } from 'node:child_process';
import { spawnTracked, stopProcess, which } from './procs.ts';

export type Board = 'mps2-an385' | 'lm3s6965evb';
export const BOARDS: readonly Board[] = ['mps2-an385', 'lm3s6965evb'];

export interface QemuOptions {
  board: Board;
  /** Firmware image (ELF). */
  elf: string;
  /** Start with the CPU stopped until cont(). @default true */
  paused?: boolean;
  /** Give up waiting for qemu to report its pty after this long. @default 10000 */
  startTimeoutMs?: number;
  /** Extra qemu arguments (e.g. ['-d', 'guest_errors']). @default [] */
  extraArgs?: string[];
  /**
   * mps2-an385: back the machine RAM (16 MiB at 0x21000000, the board's stand-in for flash:
   * docs/flash.md §10.1) with this file, so it survives a power cycle (restart()). qemu creates it
   * (zeros) when missing; a test writes a provisioning record into it first ("flashed").
   */
  flashFile?: string;
  /** Files loaded into guest memory at every reset (qemu's generic loader; e.g. a key page in lm3s6965evb's flash). */
  loadFiles?: { file: string; addr: number }[];
  /** Deterministic instruction counting: `-icount shift=N` (one guest instruction = 2^N ns of virtual time). */
  icountShift?: number;
}

export interface Qemu {
  /** The guest's UART0 (changes after restart()). */
  readonly ptyPath: string;
  /** Everything qemu printed (stdout and stderr), for failure messages. */
  readonly log: string;
  /** True once the qemu process has exited. */
  readonly exited: boolean;
  /** Start the CPU of a paused machine (monitor `cont`). */
  cont(): Promise<void>;
  /** Run a monitor command (e.g. `xp /16wx 0x20000000`); resolves with what it printed. */
  command(line: string, timeoutMs?: number): Promise<string>;
  /** Reset the board like its reset button (monitor `system_reset`); the pty stays the same. */
  reset(): Promise<void>;
  /** Stop qemu and wait for it to exit. Safe to call twice. */
  kill(): Promise<void>;
  /** Kill and start again with the same options: a power cycle; ptyPath changes. */
  restart(): Promise<void>;
}

/** Why qemu cannot run here, or null when it can (for skipping suites with a clear message). */
export function qemuUnavailable(): string | null {
  return which('qemu-system-arm') ? null : 'qemu-system-arm not found (apt package "qemu-system-arm")';
}

interface Running {
  child: ChildProcess;
  ptyPath: string;
  log: { text: string };
}

async function launch(opts: QemuOptions): Promise<Running> {
  const flash = opts.flashFile !== undefined
    ? ['-object', `memory-backend-file,id=flash,size=16M,mem-path=${opts.flashFile},share=on`, '-machine', 'memory-backend=flash']
    : [];
  const loads = (opts.loadFiles ?? []).flatMap((l) => ['-device', `loader,file=${l.file},addr=0x${l.addr.toString(16)},force-raw=on`]);
  const icount = opts.icountShift !== undefined ? ['-icount', `shift=${opts.icountShift}`] : [];
  const args = [
    '-M', opts.board, '-accel', 'tcg', '-display', 'none', '-serial', 'pty', '-monitor', 'stdio',
    '-kernel', opts.elf, ...flash, ...loads, ...icount, ...(opts.paused ?? true ? ['-S'] : []), ...(opts.extraArgs ?? []),
  ];
  const child = spawnTracked('qemu-system-arm', args);
  const log = { text: '' };
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  const ptyPath = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`qemu did not report a pty within ${timeoutMs} ms:\n${log.text}`)), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    const onData = (d: Buffer) => {
      log.text += d.toString();
      const m = log.text.match(/char device redirected to (\/dev\/pts\/\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (e) => fail(new Error(`cannot start qemu-system-arm: ${e.message}`)));
    child.once('exit', (code, sig) => fail(new Error(`qemu exited (${code ?? sig}) before reporting a pty:\n${log.text}`)));
  });
  return { child, ptyPath, log };
}

function monitor(r: Running, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) {
      reject(new Error(`qemu has exited; cannot send "${command}"`));
      return;
    }
    r.child.stdin!.write(`${command}\n`, (e) => (e ? reject(e) : resolve()));
  });
}

/** A monitor command and its output (up to the next prompt), escape sequences removed. */
async function monitorOutput(r: Running, command: string, timeoutMs = 5000): Promise<string> {
  const from = r.log.text.length;
  await monitor(r, command);
  const end = Date.now() + timeoutMs;
  for (;;) {
    // The monitor echoes the line (with terminal escapes), prints the output, then "(qemu) ".
    const text = r.log.text.slice(from).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    const p = text.lastIndexOf('(qemu)');
    const echoEnd = text.indexOf('\n');
    if (echoEnd >= 0 && p > echoEnd) return text.slice(echoEnd + 1, p);
    if (Date.now() > end) throw new Error(`no answer to monitor command "${command}" within ${timeoutMs} ms:\n${text}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

/** Boot `opts.elf` on `opts.board`; resolves once the pty exists. */
export async function startQemu(opts: QemuOptions): Promise<Qemu> {
  let r = await launch(opts);
  return {
    get ptyPath() { return r.ptyPath; },
    get log() { return r.log.text; },
    get exited() { return r.child.exitCode !== null || r.child.signalCode !== null; },
    cont: () => monitor(r, 'cont'),
    command: (line: string, timeoutMs?: number) => monitorOutput(r, line, timeoutMs),
    reset: () => monitor(r, 'system_reset'),
    kill: () => stopProcess(r.child),
    async restart() {
      await stopProcess(r.child);
      r = await launch(opts);
    },
  };
}
