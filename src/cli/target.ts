// Where a command finds a cell (docs/cli.md "Targets"):
//   a cell directory (has cell.toml)  →  its Unix socket <dir>/.cell/run/cell.sock
//   a socket path (unix:/p, or an existing socket file, or *.sock)
//   host:port (or tcp://host:port)    →  TCP
//   --port /dev/ttyX [--baud N]        →  a device on a serial port (uartTarget; docs/cli.md "cell call")
//   a bare cell name (or mesh:<name>)  →  the best provider in the mesh (docs/mesh.md §6; libp2p
//                                         loaded only then)
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectTcp, connectUnix } from '../transports/index.ts';
import { ShmUpgradeLink } from '../shm/index.ts';
import type { Link } from '../transports/link.ts';
import { cellPaths, isCellDir } from './cell-dir.ts';
import { CliError } from './errors.ts';
import { connectablePath } from './run-files.ts';
import type { CanCallTarget } from './can-target.ts';
import { loadKeys } from './link-keys.ts';

export type Target =
  | { readonly kind: 'unix'; readonly path: string; readonly dir?: string; readonly text: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly text: string }
  | { readonly kind: 'uart'; readonly path: string; readonly baudRate: number; readonly text: string; readonly keyFiles?: readonly string[] }
  | { readonly kind: 'mesh'; readonly name: string; readonly text: string }
  | CanCallTarget;

/**
 * A device on a serial port (`--port /dev/ttyUSB0 [--baud 115200] [--key FILE]...`): COBS + CRC
 * frames (docs/uart.md), sealed when key files are given (docs/security.md).
 */
export function uartTarget(path: string, baudRate = 115200, keyFiles: readonly string[] = []): Target {
  if (!(Number.isInteger(baudRate) && baudRate > 0)) throw new CliError(`--baud must be a positive integer, got ${baudRate}`, { exit: 2, name: 'BadTarget' });
  return { kind: 'uart', path, baudRate, text: path, ...(keyFiles.length > 0 ? { keyFiles } : {}) };
}

export function resolveTarget(text: string): Target {
  if (text.startsWith('mesh:')) return { kind: 'mesh', name: text.slice(5), text };
  if (text.startsWith('unix:')) return { kind: 'unix', path: resolve(text.slice(5).replace(/^\/\/(?=\/)/, '')), text };
  const tcp = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^\s/:]*):(\d{1,5})$/.exec(text);
  if (tcp !== null && !existsSync(text)) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw new CliError(`port ${port} is out of range 1..65535`, { exit: 2, name: 'BadTarget' });
    const host = tcp[1] === '' ? '127.0.0.1' : tcp[1]!.replace(/^\[|\]$/g, '');
    return { kind: 'tcp', host, port, text };
  }
  const p = resolve(text);
  if (existsSync(p) && statSync(p).isDirectory()) {
    if (!isCellDir(p)) {
      throw new CliError(`${text} is a directory without cell.toml`, {
        exit: 2, name: 'BadTarget', fix: 'pass a cell directory, a socket path (unix:/path) or host:port',
      });
    }
    return { kind: 'unix', path: cellPaths(p).socket, dir: p, text };
  }
  if ((existsSync(p) && statSync(p).isSocket()) || p.endsWith('.sock')) return { kind: 'unix', path: p, text };
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(text) && !existsSync(p)) return { kind: 'mesh', name: text, text };
  throw new CliError(`no cell directory, socket or host:port "${text}"`, {
    exit: 2, name: 'BadTarget', fix: 'pass a cell directory (with cell.toml), a socket path (unix:/path or *.sock) or host:port',
  });
}

export function describeTarget(t: Target): string {
  return t.kind === 'tcp' ? `${t.host}:${t.port}` : t.kind === 'uart' ? `${t.path} (${t.baudRate} baud)` : t.kind === 'mesh' ? `mesh:${t.name}`
    : t.kind === 'can' ? `CAN ${t.iface} node ${t.node}` : t.path;
}

export interface OpenLinkOptions {
  /**
   * A local Unix socket offers shared memory (docs/shm.md §6): the calls move to rings when the
   * cell can map them. @default true, unless CELL_NO_SHM=1 (`--no-shm` sets it)
   */
  shm?: boolean;
}

/** Open a link to the target; OS errors become Unavailable (401) with a fix. */
export async function openLink(t: Target, o: OpenLinkOptions = {}): Promise<Link> {
  if (t.kind === 'uart') return openSerial(t);
  if (t.kind === 'mesh') return (await import('./commands/mesh.ts')).openMeshLink(t.name);
  if (t.kind === 'can') return (await import('./can-target.ts')).openCanLink(t);
  const unixPath = t.kind === 'unix' ? connectablePath(t.path) : '';
  try {
    if (t.kind !== 'unix') return await connectTcp(t.port, t.host);
    const link = await connectUnix(unixPath);
    return (o.shm ?? process.env.CELL_NO_SHM !== '1') ? ShmUpgradeLink.offer(link) : link;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const where = describeTarget(t);
    const why = code === 'ENOENT' ? `no socket at ${where}: the cell is not running`
      : code === 'ECONNREFUSED' ? `nothing answers at ${where} (${t.kind === 'unix' ? 'a stale socket: the cell is not running' : 'connection refused'})`
      : `cannot connect to ${where}: ${(e as Error).message}`;
    throw new CliError(why, {
      code: 401,
      fix: t.kind === 'unix' && t.dir !== undefined ? `start it: \`cell run ${t.text}\`` : 'start the cell (`cell run <dir>`) or check the address',
      detail: code !== undefined ? { os: code } : undefined,
    });
  }
}

/** Open a serial port target (serialport is loaded only here, on first use). LinkIo → Unavailable. */
async function openSerial(t: Extract<Target, { kind: 'uart' }>): Promise<Link> {
  const { openUart } = await import('../transports/uart.ts');
  // Key files first: a bad one is a usage error, before the port is touched.
  const keys = t.keyFiles !== undefined ? await loadKeys(t.keyFiles) : null;
  // serialport takes an exclusive lock: a port still being released by the previous command (its
  // close drains and closes asynchronously) fails "Cannot lock port" for a moment — retry ~2 s.
  const until = Date.now() + 2000;
  for (;;) {
    try {
      const port = await openUart({ path: t.path, baudRate: t.baudRate });
      if (keys !== null) return await openSecure(port, keys, t);
      const { plaintextGuard } = await import('../transports/secure-link.ts');
      return plaintextGuard(port, t.path);
    } catch (e) {
      if (e instanceof CliError) throw e;
      if (!/lock/i.test((e as Error).message) || Date.now() > until) return serialOpenFailed(t, e);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}


/**
 * Seal the port (docs/security.md §3): resolves once the device's ACCEPT verified, so a wrong or
 * missing key is reported as such instead of as a missing HELLO.
 */
async function openSecure(port: Link, keys: import('../transports/secure-keys.ts').KeyRing, t: Extract<Target, { kind: 'uart' }>): Promise<Link> {
  const { SecureLink } = await import('../transports/secure-link.ts');
  const link = new SecureLink(port, { role: 'host', keys });
  try {
    await link.open(5000);
    return link;
  } catch (e) {
    link.close();
    const code = (e as { code?: number }).code ?? 809;
    throw new CliError(`${t.path}: ${(e as Error).message}`, {
      code,
      fix: code === 805 ? 'pass the key file of this device, or the fleet key it was provisioned from' : 'is the device provisioned with a key, and is it the one you passed? (`cell keys device --id ...`)',
    });
  }
}

function serialOpenFailed(t: Extract<Target, { kind: 'uart' }>, e: unknown): never {
  const gone = !existsSync(t.path);
  throw new CliError(gone ? `no serial port ${t.path}` : `cannot open ${t.path}: ${(e as Error).message}`, {
    code: 401,
    fix: gone ? 'check that the device is plugged in (ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/)' : 'is another program using the port? (e.g. a serial monitor, or a `cell gateway`)',
    detail: { path: t.path, cause: (e as { code?: unknown }).code },
  });
}

/**
 * Resolves once the link's device is free again: for a serial port, when its file descriptor is
 * closed (serialport locks the port; `close()` returns before the fd is released, and an open
 * right after — the call that follows a describe, the next `cell call` — fails "Cannot lock
 * port"). Other links: at once. Bounded by `timeoutMs`.
 */
export function linkReleased(link: Link, timeoutMs = 2000): Promise<void> {
  const closed = (link as { io?: { closed?: Promise<void> } }).io?.closed;
  if (closed === undefined) return Promise.resolve();
  return new Promise<void>((res) => {
    const t = setTimeout(res, timeoutMs);
    void closed.then(() => { clearTimeout(t); res(); });
  });
}
