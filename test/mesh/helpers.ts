// Real libp2p nodes on loopback for the mesh tests: TCP only (QUIC where asked), no mDNS (the
// tests must not multicast on the machine's LAN), joined through bootstrap addresses.
import { startMeshNode, type MeshNode, type MeshNodeOptions } from '../../src/mesh/index.ts';

export async function meshNode(opts: MeshNodeOptions = {}): Promise<MeshNode> {
  return startMeshNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, quic: false, announceIntervalMs: 600_000, ...opts });
}

/** `n` nodes, each bootstrapped from the first. */
export async function meshNodes(n: number, opts: MeshNodeOptions = {}): Promise<MeshNode[]> {
  const first = await meshNode(opts);
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => meshNode({ ...opts, bootstrap: first.addrs() })));
  // Both ends see the connection and identify ran (protocols known) before a test starts.
  await until(async () => {
    for (const r of rest) {
      if (!first.libp2p.getPeers().some((p: { equals(x: unknown): boolean }) => p.equals(r.libp2p.peerId))) return false;
      const known = await first.libp2p.peerStore.get(r.libp2p.peerId).catch(() => null);
      if (known === null || known.protocols.length === 0) return false;
    }
    return true;
  }, 'bootstrap connections');
  return [first, ...rest];
}

export async function stopAll(nodes: MeshNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n.stop()));
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, maxMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > maxMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
