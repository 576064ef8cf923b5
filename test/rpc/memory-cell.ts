// A cell served over a memory link, and a client Connection to it: what the fake connection
// sources of the supervised-client and mesh-race tests hand out (no ptys, no libp2p).
import { memoryPair, type MemoryLink } from '../../src/transports/memory.ts';
import { Connection, serve, type CellDef, type Impl, type Server } from '../../src/rpc/index.ts';

export interface ServedCell<D extends CellDef> {
  /** The client's end of the link (give it to a Connection, or `kill()` it). */
  readonly link: MemoryLink;
  /** The server's end. */
  readonly serverLink: MemoryLink;
  readonly server: Server<D>;
  /** Reset the link: both ends close at once, the client sees Unavailable (a peer that died). */
  kill(): void;
  /** Calls the server is serving now (they arrived and their handlers have not answered yet). */
  serving(): number;
}

/** Serve `impl` of `def` on a fresh memory link (heartbeats off: no timers keep a test alive). */
export function servedCell<D extends CellDef>(def: D, impl: NoInfer<Impl<D>>): ServedCell<D> {
  const [link, serverLink] = memoryPair();
  const server = serve(def, impl, serverLink, { heartbeatMs: 0 });
  return {
    link, serverLink, server,
    kill: () => link.kill(),
    serving: () => { let n = 0; for (const c of server.connections) n += c.serving_; return n; },
  };
}

/** A client Connection calling `def` over `link`, once its HELLO is done. */
export async function readyConnection(def: CellDef, link: MemoryLink): Promise<Connection> {
  const conn = new Connection(link, { call: def }, { heartbeatMs: 0 });
  await conn.ready;
  return conn;
}

export const codeOf = (e: unknown): number => (e as { code: number }).code;
export const tick = (ms = 1): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` every ms (up to `maxMs`): tests wait for an effect, never for a wall-clock time. */
export async function until(cond: () => boolean, what: string, maxMs = 2000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > maxMs) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}
