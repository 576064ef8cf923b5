// Where `cell run` puts its sockets, and the modes of its files (docs/cli.md ".cell/ layout",
// "File modes"):
//   - .cell/run/ and .cell/log/ are 0700 (0710 for run/ when the socket is shared with the group),
//     whatever the umask says; the sockets are chmod'ed to [run].socket_mode (0600 by default)
//     right after bind, and the pid and log files are created 0600. Between bind and chmod the
//     socket is only reachable through run/, which is already 0700 (0710).
//   - A Unix socket address holds at most 107 bytes of path (108 with the NUL; 103 on macOS and
//     the BSDs). A socket path longer than that used to be cut short by the OS and land
//     elsewhere; now the sockets are bound under a short private directory of this user
//     ($XDG_RUNTIME_DIR/cell/<hash> or /tmp/cell-<uid>/<hash>) and .cell/run/cell.sock and
//     ops.sock are symbolic links to them. Clients follow the link (connectablePath) before
//     connecting, since connect() has the same limit.
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readlinkSync, rmdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CellPaths } from './cell-dir.ts';
import { CliError } from './errors.ts';

/** Longest path a Unix socket address holds (sun_path without its NUL). */
export const SUN_PATH_MAX = process.platform === 'linux' ? 107 : 103;

/** Mode of the sockets when cell.toml sets none: the owner only. */
export const DEFAULT_SOCKET_MODE = 0o600;

export function fitsSunPath(path: string): boolean {
  return Buffer.byteLength(path) <= SUN_PATH_MAX;
}

/** Does the socket mode give the group access (then the directories above it need g+x)? */
export function groupShared(socketMode: number): boolean {
  return (socketMode & 0o070) !== 0;
}

/**
 * `mkdir -p path`, then set the mode of `path` itself whatever the umask did (and whatever an
 * older version left). Refuses a symbolic link or a file in its place, and a directory of
 * another user.
 */
export function privateDir(path: string, mode: number): void {
  mkdirSync(path, { recursive: true, mode });
  const st = lstatSync(path);
  if (!st.isDirectory()) {
    throw new CliError(`${path} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: refusing to keep sockets or logs there`, {
      name: 'UnsafePath', fix: `remove it (\`rm ${path}\`) and run again`,
    });
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new CliError(`${path} belongs to uid ${st.uid}, not to this user (uid ${uid})`, {
      name: 'UnsafePath', fix: `remove it or run as its owner`,
    });
  }
  if ((st.mode & 0o7777) !== mode) chmodSync(path, mode);
}

/** `.cell/` itself: created 0755; never writable by group or others (they could swap run/). */
export function stateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  const st = statSync(path);
  if ((st.mode & 0o022) !== 0) chmodSync(path, st.mode & 0o7755);
}

/** Where the sockets are bound: the paths of .cell/run/, or a short directory they link to. */
export interface SocketPlan {
  readonly socket: string;
  readonly opsSocket: string;
  /** The short directory (null: bound in .cell/run/ itself). */
  readonly shortDir: string | null;
}

/**
 * Bind in .cell/run/ when both socket paths fit; else in a private directory under the runtime
 * directory named by a hash of the cell directory (created here, 0700 / 0710). Throws a CliError
 * (before anything is bound) when no short place can be made safe.
 */
export function planSockets(cellDir: string, paths: CellPaths, socketMode: number): SocketPlan {
  if (fitsSunPath(paths.socket) && fitsSunPath(paths.opsSocket)) return { socket: paths.socket, opsSocket: paths.opsSocket, shortDir: null };
  const hash = createHash('sha256').update(resolve(cellDir)).digest('hex').slice(0, 16);
  const dirMode = groupShared(socketMode) ? 0o710 : 0o700;
  const tried: string[] = [];
  for (const base of runtimeBases(socketMode)) {
    const dir = join(base, hash);
    const plan = { socket: join(dir, 'cell.sock'), opsSocket: join(dir, 'ops.sock'), shortDir: dir };
    if (!fitsSunPath(plan.opsSocket)) { tried.push(`${base}: still too long`); continue; }
    try {
      // The base is shared by every cell of this user: g+x is added when needed, never taken away.
      mkdirSync(base, { recursive: true, mode: dirMode });
      const st = lstatSync(base);
      if (!st.isDirectory()) throw new Error(`${base} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}`);
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid) throw new Error(`${base} belongs to uid ${st.uid}`);
      if ((st.mode & 0o022) !== 0) throw new Error(`${base} is writable by others (mode ${(st.mode & 0o777).toString(8)})`);
      if ((st.mode & 0o005) !== 0 || (st.mode & dirMode) !== dirMode) chmodSync(base, (st.mode & 0o770) | dirMode);
      privateDir(dir, dirMode);
    } catch (e) {
      tried.push(`${base}: ${(e as Error).message}`);
      continue;
    }
    return plan;
  }
  throw new CliError(`the socket path ${paths.opsSocket} is ${Buffer.byteLength(paths.opsSocket)} bytes, over the ${SUN_PATH_MAX}-byte limit of a Unix socket address, and no short private directory could be made (${tried.join('; ')})`, {
    name: 'PathTooLong', fix: 'move the cell directory to a shorter path, or fix the runtime directory named above (it must be a directory of yours, not writable by others)',
  });
}

/** $XDG_RUNTIME_DIR/cell (a per-user 0700 tmpfs; only for owner-only sockets), then /tmp/cell-<uid>. */
function runtimeBases(socketMode: number): string[] {
  const out: string[] = [];
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg.startsWith('/') && !groupShared(socketMode)) out.push(join(xdg, 'cell'));
  out.push(`/tmp/cell-${process.getuid?.() ?? 'user'}`);
  return out;
}

/** After listening: the sockets' modes, and the links from .cell/run/ to a short directory. */
export function finishSockets(paths: CellPaths, plan: SocketPlan, socketMode: number): void {
  chmodSync(plan.socket, socketMode);
  chmodSync(plan.opsSocket, socketMode);
  if (plan.shortDir === null) return;
  for (const [link, target] of [[paths.socket, plan.socket], [paths.opsSocket, plan.opsSocket]] as const) {
    rmSync(link, { force: true });
    symlinkSync(target, link);
  }
}

/** The socket a client should connect to: `path`, or where the symbolic link at `path` points. */
export function connectablePath(path: string): string {
  let target = path;
  try {
    if (lstatSync(path).isSymbolicLink()) target = resolve(dirname(path), readlinkSync(path));
  } catch { /* not there: connect reports ENOENT */ }
  if (!fitsSunPath(target)) {
    throw new CliError(`the socket path ${target} is ${Buffer.byteLength(target)} bytes, over the ${SUN_PATH_MAX}-byte limit of a Unix socket address`, {
      code: 401, name: 'PathTooLong',
      fix: 'use a shorter path, or a symbolic link with a short target (`cell run` links long .cell/run/ sockets to a short directory by itself)',
    });
  }
  return target;
}

/** Does anything (a file, a socket, a link even dangling) sit at `path`? */
export function lexists(path: string): boolean {
  try { lstatSync(path); return true; } catch { return false; }
}

/**
 * Remove a socket of .cell/run/, and when it is a link made by planSockets, the socket it points
 * to (only a socket named like ours) and the short directory once empty.
 */
export function removeSocket(path: string): boolean {
  let st;
  try { st = lstatSync(path); } catch { return false; }
  if (st.isSymbolicLink()) {
    let target: string | null = null;
    try { target = resolve(dirname(path), readlinkSync(path)); } catch { /* gone meanwhile */ }
    const name = target?.slice(target.lastIndexOf('/') + 1);
    if (target !== null && (name === 'cell.sock' || name === 'ops.sock')) {
      try { if (lstatSync(target).isSocket()) rmSync(target, { force: true }); } catch { /* already removed (net.Server.close unlinks it) */ }
      try { rmdirSync(dirname(target)); } catch { /* the other socket is still there, or not ours */ }
    }
  }
  rmSync(path, { force: true });
  return true;
}
