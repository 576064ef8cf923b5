// Ops of a mesh node inside a namespace (run by hw-tests/mesh/agent.ts; docs/mesh-tests.md):
// start a node, provide a work cell, connect by name, call, run a load with failover, list
// providers and peers. Each agent runs at most one node.
import { startMeshNode, type MeshNode, type MeshNodeOptions } from '../../src/mesh/index.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import type { CellDef } from '../../src/rpc/index.ts';
import type { OpsContext } from './agent.ts';
import { workCell } from './cells.ts';

let node: MeshNode | null = null;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const clients = new Map<string, any>();

function need(): MeshNode {
  if (node === null) throw Object.assign(new Error('no node: call start first'), { name: 'NoNode' });
  return node;
}

function defOf(cell: string): CellDef {
  return (cell === 'thermo' ? ThermoDef : workCell(cell)) as unknown as CellDef;
}

function errJson(e: unknown): { code: number | null; name: string; message: string } {
  const x = e as { code?: unknown; name?: unknown; message?: unknown };
  return { code: typeof x.code === 'number' ? x.code : null, name: String(x.name ?? 'Error'), message: String(x.message ?? e) };
}

export const ops = {
  async start(opts: MeshNodeOptions, ctx: OpsContext): Promise<{ peerId: string; addrs: string[] }> {
    if (node !== null) throw new Error('already started');
    node = await startMeshNode({ quic: false, ...opts, onWarning: (m) => ctx.emit('warning', m) });
    return { peerId: node.peerId, addrs: node.addrs() };
  },

  addrs(): string[] { return need().addrs(); },

  /** Provide the work cell `cell`, answering as replica `replica`. */
  async provide({ cell, replica }: { cell: string; replica: string }): Promise<null> {
    const def = workCell(cell);
    await need().provide(def, {
      async work(req) {
        if (req.delayMs > 0) await new Promise((r) => setTimeout(r, req.delayMs));
        return { n: req.n, replica };
      },
    });
    return null;
  },

  async providers({ cell, timeoutMs = 5000 }: { cell: string; timeoutMs?: number }) {
    return need().providers(cell, { timeoutMs });
  },

  async peers() { return need().peers(); },

  /** Open libp2p connections: remote peer, remote address, and whether it is limited (a relayed circuit). */
  connections(): { peer: string; addr: string; limited: boolean }[] {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return (need().libp2p as any).getConnections().map((c: any) => ({ peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), limited: c.limits != null }));
  },

  async dial({ addr }: { addr: string }): Promise<null> { await need().dial(addr); return null; },

  /** Connect by name; returns the provider chosen. Later calls reuse the client. */
  async connect({ cell, timeoutMs = 20_000 }: { cell: string; timeoutMs?: number }, ctx: OpsContext): Promise<{ provider: string }> {
    const old = clients.get(cell);
    if (old !== undefined) { clients.delete(cell); await old.close(); }
    const c = await need().connect(defOf(cell), { timeoutMs });
    c.mesh.onSwitch((from: string, to: string, reason: string) => ctx.emit('switch', { cell, from, to, reason }));
    clients.set(cell, c);
    return { provider: c.mesh.provider };
  },

  /** One call on the connected client; the answer as JSON (bigints as strings). */
  async call({ cell, method, args = {}, deadlineMs = 10_000 }: { cell: string; method: string; args?: unknown; deadlineMs?: number }) {
    const c = clients.get(cell);
    if (c === undefined) throw new Error(`not connected to ${cell}`);
    const r = await c[method](args, { deadlineMs });
    return { provider: c.mesh.provider, result: JSON.parse(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) };
  },

  /** Read `count` items of a server stream. */
  async stream({ cell, name, args = {}, deadlineMs = 20_000 }: { cell: string; name: string; args?: unknown; deadlineMs?: number }) {
    const c = clients.get(cell);
    if (c === undefined) throw new Error(`not connected to ${cell}`);
    const items: unknown[] = [];
    for await (const it of c[name](args, { deadlineMs })) items.push({ ...it });
    return items;
  },

  /**
   * `count` work calls, `concurrency` in flight, each answered or failed exactly once. Emits a
   * "progress" event every `progressEvery` answers (the test kills a replica on one). Returns the
   * tally: answers by replica, errors by code, and numbers answered twice or with the wrong n.
   */
  async load({ cell, count, concurrency = 16, delayMs = 1, progressEvery = 100, deadlineMs = 30_000 }: {
    cell: string; count: number; concurrency?: number; delayMs?: number; progressEvery?: number; deadlineMs?: number;
  }, ctx: OpsContext) {
    const c = clients.get(cell);
    if (c === undefined) throw new Error(`not connected to ${cell}`);
    const answered = new Uint8Array(count);
    const byReplica: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const firstErrors: ReturnType<typeof errJson>[] = [];
    let wrong = 0;
    let done = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const n = next++;
        try {
          const r = await c.work({ n, delayMs }, { deadlineMs });
          if (r.n !== n) wrong++;
          answered[n]!++;
          byReplica[r.replica] = (byReplica[r.replica] ?? 0) + 1;
        } catch (e) {
          const j = errJson(e);
          errors[String(j.code)] = (errors[String(j.code)] ?? 0) + 1;
          if (firstErrors.length < 5) firstErrors.push(j);
        }
        done++;
        if (done % progressEvery === 0) ctx.emit('progress', { cell, done, byReplica: { ...byReplica } });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    let twice = 0;
    let missing = 0;
    for (const a of answered) { if (a > 1) twice++; if (a === 0) missing++; }
    return { done, byReplica, errors, firstErrors, wrong, twice, missing, provider: c.mesh.provider };
  },
};

export async function shutdown(): Promise<void> {
  for (const c of clients.values()) await c.close().catch(() => {});
  await node?.stop();
}
