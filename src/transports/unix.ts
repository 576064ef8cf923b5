// Unix domain socket links (docs/rpc.md §2 "Links"): length-framed, see socket.ts.
import net from 'node:net';
import { unlinkSync } from 'node:fs';
import { connectSocket, type SocketLink, type SocketLinkOptions } from './socket.ts';
import { listenOn } from './tcp.ts';
import type { LinkListener } from './link.ts';

export type UnixLinkOptions = SocketLinkOptions;

/** Connect to a Unix socket at `path`. Rejects with the OS error (e.g. ENOENT, ECONNREFUSED). */
export function connectUnix(path: string, opts: UnixLinkOptions = {}): Promise<SocketLink> {
  return connectSocket({ path }, opts);
}

/**
 * Listen on a Unix socket at `path` (an existing socket file is removed first). Each accepted
 * connection is handed to `listener.onLink` as a SocketLink.
 */
export function listenUnix(path: string, opts: UnixLinkOptions = {}): Promise<LinkListener> {
  try { unlinkSync(path); } catch { /* not there */ }
  return listenOn(net.createServer(), path, path, opts);
}
