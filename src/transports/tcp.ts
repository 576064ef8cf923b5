// TCP links (docs/rpc.md §2 "Links"): length-framed, Nagle off (setNoDelay), see socket.ts.
import net from 'node:net';
import { connectSocket, readIntoOwnBuffer, SocketLink, type SocketLinkOptions } from './socket.ts';
import type { Link, LinkListener } from './link.ts';

export type TcpLinkOptions = SocketLinkOptions;

/** Connect to `host:port`. Rejects with the OS error (e.g. ECONNREFUSED). */
export function connectTcp(port: number, host = '127.0.0.1', opts: TcpLinkOptions = {}): Promise<SocketLink> {
  return connectSocket({ port, host }, opts);
}

export interface TcpListener extends LinkListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
}

/** Listen on `host:port` (port 0 = any free port; read `listener.port`). */
export async function listenTcp(port = 0, host = '127.0.0.1', opts: TcpLinkOptions = {}): Promise<TcpListener> {
  const server = net.createServer();
  const l = await listenOn(server, { port, host }, '', opts);
  const addr = server.address() as net.AddressInfo;
  return Object.assign(l, { port: addr.port, address: `${host}:${addr.port}` }) as TcpListener;
}

/** @internal Shared by unix.ts and tcp.ts. */
export function listenOn(server: net.Server, where: string | net.ListenOptions, address: string, opts: TcpLinkOptions): Promise<LinkListener> {
  return new Promise((resolve, reject) => {
    const l: { isListener: true; onLink: ((link: Link) => void) | null; address: string; close(): Promise<void> } = {
      isListener: true,
      onLink: null,
      address,
      // Stop accepting and release the address at once. `net.Server.close(cb)` calls back only
      // after every accepted connection has ended, which is the connections' business (a
      // Server closes them itself): waiting for it here made `Server.close()` hang while
      // clients stayed connected.
      close: () => {
        if (server.listening) server.close();
        return new Promise<void>((res) => setImmediate(res));
      },
    };
    server.on('connection', (s) => {
      const link = new SocketLink(s, opts);
      readIntoOwnBuffer(s, link);
      if (l.onLink !== null) l.onLink(link);
      else s.destroy();
    });
    server.once('error', reject);
    server.listen(where as net.ListenOptions, () => { server.off('error', reject); resolve(l); });
  });
}
