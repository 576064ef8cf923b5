// cell mesh up [--listen MA]... [--bootstrap MA]... [--provide DIR]... [--json]   (docs/mesh.md §6)
// cell mesh find <name> [--bootstrap MA]... [--json]
// cell mesh peers [--bootstrap MA]... [--wait ms] [--json]        (same as `cell status --mesh`)
//
// Also the mesh side of other commands: `openMeshLink` (cell call <name>, via target.ts) and
// `meshStatus` (cell status --mesh). libp2p is loaded only when one of them runs.
// Environment for the short-lived nodes of `cell call <name>` / `cell status --mesh`:
//   CELL_MESH_BOOTSTRAP  multiaddrs (with /p2p/<id>), separated by commas or spaces
//   CELL_MESH_NO_MDNS=1  no multicast discovery
//   CELL_MESH_LISTEN     listen multiaddrs (default /ip4/0.0.0.0/tcp/0)
//   CELL_MESH_TIMEOUT_MS how long `cell call <name>` looks for a provider (default 5000)
import type { CommandSpec, Parsed } from '../args.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { bool, num, str, strs, stringify, type Ctx } from '../io.ts';
import { atCommandEnd } from '../exit.ts';
import type { Link } from '../../transports/link.ts';
import type { MeshNode, MeshNodeOptions } from '../../mesh/index.ts';

export const spec: CommandSpec = {
  name: 'mesh',
  summary: 'Run a mesh node (up), find a cell by name (find), list mesh peers (peers).',
  details: [
    'up: start a mesh node in the foreground (TCP + QUIC, mDNS on the LAN, the DHT beyond) and print',
    '    its peer id and addresses (others pass one as --bootstrap). --provide DIR serves a cell',
    '    directory into the mesh by name. The key lives in <dir>/.cell/mesh/key (same peer id on every',
    '    start). Runs until SIGINT/SIGTERM.',
    'find <name>: who provides the cell, with the RTT and load each advertises.',
    'peers: the peers found within --wait ms and the cells each provides.',
    'Short-lived nodes (find, peers, `cell call <name>`) read CELL_MESH_BOOTSTRAP (multiaddrs) and',
    'CELL_MESH_NO_MDNS=1 from the environment when no --bootstrap / --no-mdns is given.',
  ].join('\n'),
  args: [
    { name: 'action', desc: 'up | find | peers' },
    { name: 'name', desc: 'find: the cell name', optional: true },
  ],
  flags: {
    dir: { type: 'string', arg: 'dir', desc: 'up: directory for the node key (default .)' },
    listen: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'listen address (up: default TCP and QUIC on every interface, any port)' },
    announce: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'up: address to announce instead of the listen addresses' },
    bootstrap: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'peer to dial at start (with /p2p/<id>)' },
    provide: { type: 'string', arg: 'dir', multiple: true, desc: 'up: serve this cell directory into the mesh (repeat for more)' },
    'no-mdns': { type: 'boolean', desc: 'no LAN discovery (multicast DNS)' },
    'no-quic': { type: 'boolean', desc: 'TCP only' },
    dht: { type: 'string', arg: 'mode', desc: 'server | client | off (up: default server)' },
    'relay-server': { type: 'boolean', desc: 'up: relay for peers behind NAT (circuit relay v2)' },
    'relay-reserve': { type: 'boolean', desc: 'up: listen through a relay (this node is behind NAT)' },
    wait: { type: 'number', arg: 'ms', desc: 'find/peers: how long to look (default 3000)' },
    json: { type: 'boolean', desc: 'JSON output (up: one JSON line per event)' },
  },
  examples: [
    'cell mesh up',
    'cell mesh up --listen /ip4/0.0.0.0/tcp/4001 --provide examples/thermo --json',
    'cell mesh find thermo --bootstrap /ip4/192.168.1.20/tcp/4001/p2p/12D3KooW...',
    'cell mesh peers --wait 5000',
  ],
};

function split(v: string | undefined): string[] {
  return v === undefined ? [] : v.split(/[\s,]+/).filter((x) => x !== '');
}

/** Options of a short-lived client node (find, peers, `cell call <name>`). */
export function clientNodeOptions(p?: Parsed): MeshNodeOptions {
  const bootstrap = p !== undefined && strs(p, 'bootstrap').length > 0 ? strs(p, 'bootstrap') : split(process.env.CELL_MESH_BOOTSTRAP);
  const noMdns = (p !== undefined && bool(p, 'no-mdns')) || process.env.CELL_MESH_NO_MDNS === '1';
  const listen = p !== undefined && strs(p, 'listen').length > 0 ? strs(p, 'listen') : split(process.env.CELL_MESH_LISTEN);
  const dht = p !== undefined ? str(p, 'dht') : undefined;
  return {
    listen: listen.length > 0 ? listen : ['/ip4/0.0.0.0/tcp/0'],
    bootstrap,
    mdns: !noMdns,
    quic: listen.some((a) => a.includes('/quic')),
    dht: dht === 'off' ? false : dht === 'server' ? 'server' : 'client',
  };
}

async function start(opts: MeshNodeOptions): Promise<MeshNode> {
  const { startMeshNode } = await import('../../mesh/index.ts');
  try {
    return await startMeshNode(opts);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND') {
      throw new CliError(`the mesh needs libp2p, which is not installed: ${(e as Error).message}`, {
        name: 'MeshUnsupported', code: 604, fix: 'npm install libp2p @libp2p/tcp @chainsafe/libp2p-noise @chainsafe/libp2p-yamux @libp2p/kad-dht @libp2p/mdns @libp2p/identify @libp2p/ping @libp2p/bootstrap @libp2p/circuit-relay-v2 @chainsafe/libp2p-quic',
      });
    }
    throw e;
  }
}

// ---- the short-lived node behind `cell call <name>` -------------------------------------------

let session: Promise<MeshNode> | null = null;
let openLinks = 0;
let idleTimer: ReturnType<typeof setTimeout> | null = null;

/**
 * A link to the best provider of `name` (target.ts, kind 'mesh'). One node per process, started
 * on first use and stopped shortly after its last link closes.
 */
export async function openMeshLink(name: string, timeoutMs = Number(process.env.CELL_MESH_TIMEOUT_MS ?? 5000)): Promise<Link> {
  if (idleTimer !== null) { clearTimeout(idleTimer); idleTimer = null; }
  if (session === null) {
    session = start(clientNodeOptions());
    // When the command is done, stop the node at once rather than after the idle delay.
    atCommandEnd(closeMeshSession);
  }
  const node = await session;
  openLinks++;
  let link: Link;
  try {
    link = await node.bestLink(name, { timeoutMs });
  } catch (e) {
    released();
    const d = (e as { detail?: { cause?: number } }).detail;
    throw new CliError((e as Error).message, {
      code: 401,
      fix: d?.cause === 600
        ? `no mesh node announces "${name}": is it running (\`cell mesh up --provide <dir>\`, \`cell gateway\`)? Without mDNS, set CELL_MESH_BOOTSTRAP to a node's address`
        : 'providers were found but none answered: check that they are up and reachable',
      detail: d as Record<string, unknown> | undefined,
    });
  }
  const startLink = link.start.bind(link);
  link.start = (h) => startLink({ ...h, onClose: (err) => { released(); h.onClose(err); } });
  return link;
}

function released(): void {
  if (--openLinks > 0 || session === null) return;
  const s = session;
  idleTimer = setTimeout(() => { idleTimer = null; if (openLinks === 0 && session === s) { session = null; void s.then((n) => n.stop()); } }, 300);
  idleTimer.unref?.();
}

/** Stop the node of openMeshLink now (links still open are closed with it). For the end of a command. */
export async function closeMeshSession(): Promise<void> {
  if (idleTimer !== null) { clearTimeout(idleTimer); idleTimer = null; }
  const s = session;
  session = null;
  if (s === null) return;
  try { await (await s).stop(); } catch { /* it never started: nothing to stop */ }
}

// ---- cell status --mesh -----------------------------------------------------------------------

export interface MeshStatus {
  peerId: string;
  addrs: string[];
  dhtPeers: number;
  peers: { peerId: string; addrs: string[]; cells: string[] }[];
}

/** Start a node, look for `waitMs`, list the peers and the cells they provide. */
export async function meshStatus(p: Parsed | undefined, waitMs = 3000): Promise<MeshStatus> {
  const node = await start(clientNodeOptions(p));
  try {
    await new Promise((r) => setTimeout(r, waitMs));
    const peers = await node.peers();
    return { peerId: node.peerId, addrs: node.addrs(), dhtPeers: node.libp2p.services.dht?.routingTable?.size ?? 0, peers };
  } finally {
    await node.stop();
  }
}

export function printMeshStatus(s: MeshStatus, ctx: Ctx): void {
  if (ctx.json) { ctx.out(stringify(s)); return; }
  ctx.out(`mesh: this node ${s.peerId}, ${s.peers.length} peer${s.peers.length === 1 ? '' : 's'}, DHT table ${s.dhtPeers}`);
  for (const p of s.peers) {
    ctx.out(`  ${p.peerId}  ${p.cells.length > 0 ? p.cells.join(', ') : '(no cells)'}`);
    for (const a of p.addrs) ctx.out(`    ${a}`);
  }
  if (s.peers.length === 0) ctx.out('  no peers found: on another network, pass --bootstrap <multiaddr> (or set CELL_MESH_BOOTSTRAP)');
}

// ---- the command ------------------------------------------------------------------------------

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals): void => { process.off('SIGINT', on); process.off('SIGTERM', on); resolve(s); };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

async function up(p: Parsed, ctx: Ctx): Promise<number> {
  const dht = str(p, 'dht') ?? 'server';
  if (!['server', 'client', 'off'].includes(dht)) throw new CliError(`--dht "${dht}" is not server, client or off`, { exit: EXIT_USAGE });
  const print = (o: Record<string, unknown>, human: string): void => { if (ctx.json) ctx.out(stringify(o)); else ctx.err(human); };
  const node = await start({
    dir: str(p, 'dir') ?? '.',
    ...(strs(p, 'listen').length > 0 ? { listen: strs(p, 'listen') } : {}),
    ...(strs(p, 'announce').length > 0 ? { announce: strs(p, 'announce') } : {}),
    bootstrap: strs(p, 'bootstrap'),
    mdns: !bool(p, 'no-mdns'),
    quic: !bool(p, 'no-quic'),
    dht: dht === 'off' ? false : (dht as 'server' | 'client'),
    relay: { client: true, server: bool(p, 'relay-server'), reserve: bool(p, 'relay-reserve') },
    onWarning: (m) => print({ event: 'warning', message: m }, `warning: ${m}`),
  });
  print({ event: 'node', peerId: node.peerId, addrs: node.addrs(), sinceStartMs: Math.round(performance.now()) },
    `mesh node ${node.peerId}\n${node.addrs().map((a) => `  ${a}`).join('\n')}`);
  const stops: (() => unknown)[] = [];
  try {
    for (const dir of strs(p, 'provide')) {
      const { readCellDir } = await import('../cell-dir.ts');
      const { importCellModule } = await import('../loader.ts');
      const cd = readCellDir(dir);
      const mod = await importCellModule(cd.entry);
      const provided = await node.provide(mod.cell, mod.impl as never);
      const hook = mod.start?.({ emit: (ev: never, v: never) => (provided.server as unknown as { emit(e: never, v: never): number }).emit(ev, v) } as never);
      if (typeof hook === 'function') stops.push(hook);
      print({ event: 'provided', cell: mod.cell.name, dir: cd.dir }, `providing "${mod.cell.name}" (${cd.dir})`);
    }
  } catch (e) {
    await node.stop();
    throw e;
  }
  node.libp2p.addEventListener('peer:connect', (ev: CustomEvent) => print({ event: 'peer', peerId: String(ev.detail), up: true }, `peer ${String(ev.detail)} connected`));
  node.libp2p.addEventListener('peer:disconnect', (ev: CustomEvent) => print({ event: 'peer', peerId: String(ev.detail), up: false }, `peer ${String(ev.detail)} gone`));
  const sig = await waitForSignal();
  print({ event: 'stopping', signal: sig }, `${sig}: stopping`);
  for (const s of stops) { try { await s(); } catch { /* the cell's own problem */ } }
  await node.stop();
  return 0;
}

async function find(p: Parsed, ctx: Ctx, name: string): Promise<number> {
  const node = await start(clientNodeOptions(p));
  try {
    const waitMs = num(p, 'wait') ?? 3000;
    const rows: { peerId: string; source: string; addrs: string[]; rttMs?: number; load?: unknown; error?: string }[] = [];
    const deadline = Date.now() + waitMs;
    while (rows.length === 0 && Date.now() < deadline) {
      await node.findProviders(name, (pi) => { rows.push({ ...pi }); }, { timeoutMs: Math.max(1, deadline - Date.now()) });
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    await Promise.all(rows.map(async (r) => {
      try { const x = await node.probe(r.peerId, name); r.rttMs = Math.round(x.rttMs * 1000) / 1000; r.load = x.load; } catch (e) { r.error = (e as Error).message; }
    }));
    if (ctx.json) ctx.out(stringify(rows));
    else if (rows.length === 0) ctx.out(`no provider of "${name}" found within ${waitMs} ms`);
    else for (const r of rows) ctx.out(`${r.peerId}  ${r.source}  ${r.rttMs !== undefined ? `rtt ${r.rttMs} ms  load ${stringify(r.load)}` : `unreachable: ${r.error}`}`);
    return rows.length > 0 ? 0 : 1;
  } finally {
    await node.stop();
  }
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const [action, name] = p.positionals;
  switch (action) {
    case 'up': return up(p, ctx);
    case 'find':
      if (name === undefined) throw new CliError('missing <name>: cell mesh find <name>', { exit: EXIT_USAGE });
      return find(p, ctx, name);
    case 'peers':
      printMeshStatus(await meshStatus(p, num(p, 'wait') ?? 3000), ctx);
      return 0;
    default:
      throw new CliError(`unknown action "${action ?? ''}" (up, find, peers)`, { exit: EXIT_USAGE, fix: 'cell mesh up | cell mesh find <name> | cell mesh peers' });
  }
}
