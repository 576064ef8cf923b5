// The bootloader simulator as a child process (hw-tests/lib/boot-sim-device.ts; docs/flash.md §6):
// flash is a file, a power cycle is kill + start on the same file and pty.
//
//   const pty = await startPtyPair();
//   const dev = await startBootSim({ ptyPath: pty.pathA, flashFile: join(dir, 'flash.bin') });
//   await dev.waitBoot();                 // { mode: 'bootloader' | 'app', slot, version, trial }
//   await dev.powerCycle();               // SIGKILL + start again: RAM (a transfer session) is lost
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTracked, stopProcess } from './procs.ts';

const DEVICE = fileURLToPath(new URL('./boot-sim-device.ts', import.meta.url));
// `--import tsx` resolves from the working directory: run the device from the repository.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface BootSimOptions {
  /** The device's end of the serial line. */
  ptyPath: string;
  /** The flash file (created erased when missing). */
  flashFile: string;
  /** @default 'sim' */
  board?: string;
  /** @default 1024 */
  pageBytes?: number;
  /** Slot size in pages. @default 128 (128 KiB slots) */
  slotPages?: number;
  /** @default 1024 */
  chunkBytes?: number;
  /** @default 4 */
  window?: number;
  /** @default 15000 */
  startTimeoutMs?: number;
  /** Hex Ed25519 public key the bootloader trusts (it then verifies signatures). @default none: a development bootloader */
  trustedKey?: string;
  /** Link security of a secured app: its key page (64-byte provisioning record file) and boot-counter pages file. @default none */
  secRecordFile?: string;
  secFlashFile?: string;
}

export interface BootEvent {
  mode: 'bootloader' | 'app';
  /** Why it stayed in the bootloader ('requested', 'no-image', 'boot-loop'). */
  reason?: string;
  slot?: number;
  version?: number;
  trial?: boolean;
}

export interface BootSim {
  /** stdout + stderr of the device so far (for failure messages). */
  readonly log: string;
  /** Boot events since start (all processes). */
  readonly boots: readonly BootEvent[];
  /** Resolves with the next boot event after `since` events (default: the number seen so far at call time... or the last one if given 0). */
  waitBoot(since?: number, timeoutMs?: number): Promise<BootEvent>;
  /** SIGKILL: the device loses power (a write in progress is cut where it is). */
  kill(): Promise<void>;
  /** kill() and start again on the same flash file and pty. */
  powerCycle(): Promise<void>;
}

interface Running { child: ChildProcess }

function parseBoot(line: string): BootEvent | null {
  let m = /^boot bootloader (\S+)/.exec(line);
  if (m) return { mode: 'bootloader', reason: m[1] };
  m = /^boot app slot=(\d+) version=(\d+) trial=(\d)/.exec(line);
  if (m) return { mode: 'app', slot: Number(m[1]), version: Number(m[2]), trial: m[3] === '1' };
  return null;
}

let bundled: string | null | undefined;

/**
 * The device as one plain .mjs (esbuild, which tsx brings along): it starts in ~60 ms instead of
 * ~400 ms under `--import tsx`, which matters for tests that power-cycle it fifty times. Falls
 * back to tsx when esbuild cannot be loaded.
 */
function deviceArgs(): string[] {
  if (bundled === undefined) {
    try {
      const esbuild = createRequire(import.meta.url)('esbuild') as { buildSync(o: Record<string, unknown>): unknown };
      const dir = join(ROOT, 'build', 'boot-sim');
      mkdirSync(dir, { recursive: true });
      const out = join(dir, `device.${process.pid}.mjs`);
      esbuild.buildSync({ entryPoints: [DEVICE], bundle: true, platform: 'node', format: 'esm', outfile: out, external: ['serialport'], logLevel: 'silent' });
      bundled = join(dir, 'device.mjs');
      renameSync(out, bundled);
    } catch {
      bundled = null;
    }
  }
  return bundled !== null ? [bundled] : ['--import', 'tsx', DEVICE];
}

export async function startBootSim(opts: BootSimOptions): Promise<BootSim> {
  const state = { log: '', boots: [] as BootEvent[], waiters: [] as (() => void)[] };
  const launch = async (): Promise<Running> => {
    const child = spawnTracked(process.execPath, [
      ...deviceArgs(), '--pty', opts.ptyPath, '--flash', opts.flashFile,
      '--board', opts.board ?? 'sim', '--page-bytes', String(opts.pageBytes ?? 1024),
      '--slot-pages', String(opts.slotPages ?? 128), '--chunk-bytes', String(opts.chunkBytes ?? 1024),
      '--window', String(opts.window ?? 4), ...(opts.trustedKey !== undefined ? ['--trusted-key', opts.trustedKey] : []),
      ...(opts.secRecordFile !== undefined ? ['--sec-record', opts.secRecordFile] : []),
      ...(opts.secFlashFile !== undefined ? ['--sec-flash', opts.secFlashFile] : []),
    ], { cwd: ROOT });
    child.stderr!.on('data', (d: Buffer) => { state.log += d.toString(); });
    let buf = '';
    let ready = false;
    const timeoutMs = opts.startTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`boot simulator not ready within ${timeoutMs} ms:\n${state.log}`)), timeoutMs);
      const fail = (e: Error): void => { clearTimeout(timer); child.kill('SIGKILL'); reject(e); };
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          state.log += line + '\n';
          const ev = parseBoot(line);
          if (ev !== null) { state.boots.push(ev); for (const w of state.waiters.splice(0)) w(); }
          if (!ready && line.startsWith('ready')) { ready = true; clearTimeout(timer); resolve(); }
        }
      });
      child.once('error', (e) => fail(new Error(`cannot start the boot simulator: ${e.message}`)));
      child.once('exit', (code, sig) => { if (!ready) fail(new Error(`boot simulator exited (${code ?? sig}) before it was ready:\n${state.log}`)); });
    });
    return { child };
  };
  let r = await launch();
  const waitBoot = async (since = state.boots.length, timeoutMs = 10_000): Promise<BootEvent> => {
    const deadline = Date.now() + timeoutMs;
    while (state.boots.length <= since) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no boot event within ${timeoutMs} ms:\n${state.log.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        state.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return state.boots[since]!;
  };
  return {
    get log() { return state.log; },
    get boots() { return state.boots; },
    waitBoot,
    kill: () => stopProcess(r.child, 0),
    async powerCycle() {
      r.child.kill('SIGKILL');
      await stopProcess(r.child, 0);
      r = await launch();
    },
  };
}
