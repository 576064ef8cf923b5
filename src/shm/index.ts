// cell/shm — local connections that move to shared memory (docs/shm.md §6): the socket upgrade
// used by `cell run`, `cell call` and the gateway, for your own clients and servers too.
import type { Link, LinkListener } from '../transports/link.ts';
import { connectUnix, type UnixLinkOptions } from '../transports/unix.ts';
import { ShmUpgradeLink, type ShmUpgradeOptions } from './upgrade.ts';

export { ShmUpgradeLink, type ShmState, type ShmUpgradeOptions } from './upgrade.ts';
export { connectLocalClient, LocalConnectionSource, type LocalClientOptions } from './source.ts';

/**
 * Connect to a local cell's Unix socket and offer shared memory: use the result as the link of
 * `connect()`. Falls back to the socket (with `state` 'socket' or 'refused' and a `reason`)
 * when either side cannot map shared memory.
 */
export async function connectLocal(socketPath: string, opts: ShmUpgradeOptions & UnixLinkOptions = {}): Promise<ShmUpgradeLink> {
  return ShmUpgradeLink.offer(await connectUnix(socketPath, opts), opts);
}

/**
 * Serve shared memory on a Unix socket listener: every accepted link takes a client's offer.
 * Pass the result to `serve()` in place of the listener.
 */
export function acceptShm(listener: LinkListener, opts: ShmUpgradeOptions = {}): LinkListener {
  const wrapped: LinkListener = {
    isListener: true,
    onLink: null,
    get address() { return listener.address; },
    close: () => listener.close(),
  };
  listener.onLink = (link: Link) => wrapped.onLink?.(ShmUpgradeLink.accept(link, opts));
  return wrapped;
}
