// A pair of real, connected pseudo-terminals made by socat — a null-modem cable between two
// serial ports. Both ends are opened by name (stable symlinks `<dir>/ttyA`, `<dir>/ttyB`), so
// kill() + start again (restart()) is a faithful unplug/replug: the names stay, the device goes
// away and comes back, open ports see an error or close.
//   socat -d -d pty,raw,echo=0,link=<dir>/ttyA pty,raw,echo=0,link=<dir>/ttyB
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { atExit, spawnTracked, stopProcess, which } from './procs.ts';

export interface PtyPairOptions {
  /** Directory for the two links. @default a new directory under os.tmpdir() */
  dir?: string;
  /** Give up when socat has not made both ptys within this long. @default 5000 */
  startTimeoutMs?: number;
}

export interface PtyPair {
  /** One end (a symlink to /dev/pts/N, stable across restart()). */
  readonly pathA: string;
  /** The other end. */
  readonly pathB: string;
  /** True while socat runs (the cable is plugged in). */
  readonly running: boolean;
  /** Unplug: stop socat; both ptys disappear. Safe to call twice. */
  kill(): Promise<void>;
  /** Plug in again after kill() (or unplug and replug when running). */
  restart(): Promise<void>;
  /** kill() and remove the link directory if this helper made it. */
  close(): Promise<void>;
}

/** Why a pty pair cannot be made here, or null. */
export function ptyUnavailable(): string | null {
  return which('socat') ? null : 'socat not found (apt package "socat")';
}

async function launch(pathA: string, pathB: string, timeoutMs: number): Promise<ChildProcess> {
  const child = spawnTracked('socat', [
    '-d', '-d', `pty,raw,echo=0,link=${pathA}`, `pty,raw,echo=0,link=${pathB}`,
  ]);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const deadline = Date.now() + timeoutMs;
  // socat logs "starting data transfer loop" once both ptys and links exist.
  while (!(log.includes('starting data transfer loop') && existsSync(pathA) && existsSync(pathB))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`socat exited early:\n${log}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`socat did not make a pty pair within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return child;
}

/** Make a connected pty pair. */
export async function startPtyPair(opts: PtyPairOptions = {}): Promise<PtyPair> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cell-pty-'));
  const pathA = join(dir, 'ttyA');
  const pathB = join(dir, 'ttyB');
  const timeoutMs = opts.startTimeoutMs ?? 5000;
  const cancelCleanup = ownDir ? atExit(() => rmSync(dir, { recursive: true, force: true })) : () => {};
  let child: ChildProcess | null = await launch(pathA, pathB, timeoutMs);
  const kill = async () => {
    const c = child;
    child = null;
    if (c) await stopProcess(c);
  };
  return {
    pathA,
    pathB,
    get running() { return child !== null && child.exitCode === null && child.signalCode === null; },
    kill,
    async restart() {
      await kill();
      child = await launch(pathA, pathB, timeoutMs);
    },
    async close() {
      await kill();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      cancelCleanup();
    },
  };
}
