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
  const args = [
    '-M', opts.board, '-accel', 'tcg', '-display', 'none', '-serial', 'pty', '-monitor', 'stdio',
    '-kernel', opts.elf, ...(opts.paused ?? true ? ['-S'] : []), ...(opts.extraArgs ?? []),
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

/** Boot `opts.elf` on `opts.board`; resolves once the pty exists. */
export async function startQemu(opts: QemuOptions): Promise<Qemu> {
  let r = await launch(opts);
  return {
    get ptyPath() { return r.ptyPath; },
    get log() { return r.log.text; },
    get exited() { return r.child.exitCode !== null || r.child.signalCode !== null; },
    cont: () => monitor(r, 'cont'),
    reset: () => monitor(r, 'system_reset'),
    kill: () => stopProcess(r.child),
    async restart() {
      await stopProcess(r.child);
      r = await launch(opts);
    },
  };
}
