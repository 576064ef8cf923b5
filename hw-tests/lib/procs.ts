// Child processes of the hardware-in-the-loop helpers (qemu, socat): every one is registered
// here and killed when the Node process exits, also when a test fails or throws, so a run never
// leaves an emulator or a pty pair behind.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

const live = new Set<ChildProcess>();
const exitTasks = new Set<() => void>();
let hooked = false;

function killAllSync(): void {
  for (const task of exitTasks) {
    try {
      task();
    } catch {
      // best effort at exit
    }
  }
  exitTasks.clear();
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAllSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  }
}

/** spawn() a helper process that is killed with this process. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  hookExit();
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

/** Run `task` (synchronous, best effort) when the process exits; returns a function that cancels it. */
export function atExit(task: () => void): () => void {
  hookExit();
  exitTasks.add(task);
  return () => exitTasks.delete(task);
}

/** Resolve when `child` has exited; SIGTERM it, then SIGKILL after `graceMs`. */
export function stopProcess(child: ChildProcess, graceMs = 1000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      live.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Number of helper processes still running (for tests that check their own cleanup). */
export function liveProcessCount(): number {
  return live.size;
}

/** Path of `cmd` on PATH, or null. */
export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}
