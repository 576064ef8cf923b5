// The state a running `cell run` leaves in `<dir>/.cell/run/` (docs/cli.md ".cell/ layout"):
// cell.pid (JSON: pid, name, version, socket, tcp, startedAt), cell.sock, ops.sock.
// Liveness is checked, never assumed: a pid file whose process is gone is stale and is removed.
// The sockets may be symbolic links to a short directory (run-files.ts: long paths).
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import net from 'node:net';
import type { CellPaths } from './cell-dir.ts';
import { connectablePath, lexists, removeSocket } from './run-files.ts';

export interface RunInfo {
  readonly pid: number;
  readonly name: string;
  readonly version: string;
  readonly socket: string;
  /** "host:port" when also listening on TCP. */
  readonly tcp?: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly node: string;
}

export function writeRunInfo(paths: CellPaths, info: RunInfo): void {
  mkdirSync(dirname(paths.pidFile), { recursive: true });
  const tmp = `${paths.pidFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600); // a left-over tmp file keeps its old mode through writeFileSync
  renameSync(tmp, paths.pidFile); // atomic: a reader never sees half a file
}

/** The pid file, or null when there is none or it is not ours (garbage counts as stale). */
export function readRunInfo(paths: CellPaths): RunInfo | null | 'garbage' {
  if (!existsSync(paths.pidFile)) return null;
  try {
    const o = JSON.parse(readFileSync(paths.pidFile, 'utf8')) as RunInfo;
    if (!Number.isInteger(o.pid) || o.pid <= 0) return 'garbage';
    return o;
  } catch {
    return 'garbage';
  }
}

/** Is a process with this pid alive (and, on Linux, a `cell run`)? */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Guard against pid reuse: the process must be a node running `cell ... run`.
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('run') && cmd.includes('--foreground');
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** Does something accept connections on this Unix socket? */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  let target: string;
  try { target = connectablePath(path); } catch { return Promise.resolve(false); }
  return new Promise((resolve) => {
    const s = net.connect(target);
    const done = (ok: boolean): void => { clearTimeout(t); s.destroy(); resolve(ok); };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export function removeRunFiles(paths: CellPaths, opts: { pid?: boolean; sockets?: boolean } = { pid: true, sockets: true }): string[] {
  const removed: string[] = [];
  const rm = (p: string): void => { if (existsSync(p)) { rmSync(p, { force: true }); removed.push(p); } };
  if (opts.pid !== false) rm(paths.pidFile);
  if (opts.sockets !== false) {
    for (const p of [paths.socket, paths.opsSocket]) if (removeSocket(p)) removed.push(p);
  }
  return removed;
}

export type RunState =
  | { readonly state: 'running'; readonly info: RunInfo }
  | { readonly state: 'stopped' }
  /** A pid file or socket left behind by a process that is gone: the files were removed. */
  | { readonly state: 'stale'; readonly info: RunInfo | null; readonly removed: string[] };

/** Look at the pid file and the process; clean up what a dead process left behind. */
export function inspectRun(paths: CellPaths): RunState {
  const info = readRunInfo(paths);
  if (info !== null && info !== 'garbage' && processAlive(info.pid)) return { state: 'running', info };
  if (info === null && !lexists(paths.socket) && !lexists(paths.opsSocket)) return { state: 'stopped' };
  const removed = removeRunFiles(paths);
  return { state: 'stale', info: info === 'garbage' ? null : info, removed };
}
