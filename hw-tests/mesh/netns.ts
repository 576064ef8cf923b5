// Several hosts on one machine for the mesh tests (issue 6, "hw-tests/mesh"; the recipes are in
// docs/mesh-tests.md §"Topology"): Linux network namespaces joined by bridges, routers that
// forward between bridges, and a NAT router (nftables masquerade, inbound connections dropped).
//
//   const topo = createTopology({
//     bridges: ['lan', 'far'],
//     hosts: [
//       { name: 'a', links: [{ bridge: 'lan', addr: '10.99.0.11/24' }], routes: [{ to: '10.99.1.0/24', via: '10.99.0.1' }] },
//       { name: 'r', links: [{ bridge: 'lan', addr: '10.99.0.1/24' }, { bridge: 'far', addr: '10.99.1.1/24' }], forward: true },
//       { name: 'b', links: [{ bridge: 'far', addr: '10.99.1.11/24' }], defaultVia: '10.99.1.1' },
//     ],
//   });
//   const p = topo.spawnAgent('a', 'hw-tests/mesh/ops-echo.ts');   // node --import tsx, in netns "a"
//   await p.call('listen', { port: 7000 });
//   topo.close();
//
// Every bridge lives in one "switch" namespace of its own, and each host's veth peer is created
// straight into the host's namespace, so nothing is added to the machine's own namespace and no
// packet of a test leaves the namespaces it made. Names carry a per-run prefix with the pid
// (`cellmesh-<pid>-`): a later run removes what a crashed run (dead pid) left behind, and two runs
// at once do not touch each other's namespaces. Removal happens on close(), on process exit and on
// SIGINT/SIGTERM (hw-tests/lib/procs.ts), even when a test throws.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { atExit, which } from '../lib/procs.ts';
import { startAgent, type Agent } from './agent-client.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** All namespaces made by this harness start with this. */
export const NETNS_PREFIX = 'cellmesh-';

export interface LinkSpec {
  /** Bridge name from TopologySpec.bridges. */
  bridge: string;
  /** Address with prefix length, e.g. '10.99.0.11/24'. */
  addr: string;
}

export interface HostSpec {
  /** Short name ([a-z0-9]+, ≤ 8 characters); the namespace is `<prefix><name>`. */
  name: string;
  /** Interfaces eth0, eth1, … in this order. */
  links: LinkSpec[];
  /** Default route through this address. */
  defaultVia?: string;
  /** Extra routes. */
  routes?: { to: string; via: string }[];
  /** Forward IPv4 between its interfaces (a router). @default false */
  forward?: boolean;
  /**
   * Be a NAT: masquerade what leaves through this interface (e.g. 'eth0') and drop connections that
   * come in through it unless they answer one from inside (what a home router does). Implies
   * forward.
   */
  natOut?: string;
  /**
   * Route multicast (224.0.0.0/4) out of eth0. mDNS finds nothing across namespaces without it.
   * @default true
   */
  multicast?: boolean;
}

export interface TopologySpec {
  bridges: string[];
  hosts: HostSpec[];
}

export interface Host {
  readonly name: string;
  /** The namespace's name (for `ip netns exec`). */
  readonly netns: string;
  /** Addresses without prefix length, in link order. */
  readonly addrs: string[];
}

export interface SpawnAgentOptions {
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Arguments after the ops module. */
  args?: string[];
  /** Give up when the agent has not said "ready" within this long. @default 30000 */
  readyTimeoutMs?: number;
}

export interface Topology {
  readonly prefix: string;
  readonly hosts: ReadonlyMap<string, Host>;
  host(name: string): Host;
  /** Run a command in a host's namespace; throws with its stderr when it fails. */
  exec(host: string, cmd: string, args: string[], input?: string): string;
  /**
   * Start `node --import tsx hw-tests/mesh/agent.ts <opsModule>` inside a host's namespace: a child
   * that runs the ops module's functions on request (JSON lines over stdio, agent-client.ts).
   */
  spawnAgent(host: string, opsModule: string, opts?: SpawnAgentOptions): Promise<Agent>;
  /**
   * Run any program in a host's namespace (cwd: the repository), with its JSON-line stdout read as
   * events (`{"event": ...}`): e.g. `cell gateway --json`. Killed by close().
   */
  spawnProgram(host: string, argv: string[], opts?: { env?: Record<string, string> }): Promise<Agent>;
  /** Stop every agent and process in the namespaces, remove the namespaces. Idempotent, synchronous. */
  close(): void;
}

function run(args: string[], input?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', input, timeout: 15_000 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function must(args: string[], input?: string): string {
  const r = run(args, input);
  if (!r.ok) throw new Error(`${args.join(' ')} failed: ${r.err.trim()}`);
  return r.out;
}

/** Names of the existing network namespaces. */
export function listNetns(): string[] {
  const r = run(['ip', 'netns', 'list']);
  // Lines look like "name" or "name (id: 3)".
  return r.ok ? r.out.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.length > 0) : [];
}

/** Kill every process left in a namespace, then delete it (best effort). */
function removeNetns(ns: string): void {
  const pids = run(['ip', 'netns', 'pids', ns]);
  if (pids.ok) {
    for (const p of pids.out.split('\n').map(Number).filter((n) => n > 0)) {
      try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  // A namespace whose last process is still being reaped can refuse deletion for a moment.
  for (let i = 0; i < 20; i++) {
    if (run(['ip', 'netns', 'delete', ns]).ok || !listNetns().includes(ns)) return;
    spawnSync('sleep', ['0.05']);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove namespaces of earlier runs whose process is gone (`cellmesh-<pid>-…` with a dead pid).
 * Returns the names removed.
 */
export function removeLeftovers(prefix = NETNS_PREFIX): string[] {
  const removed: string[] = [];
  for (const ns of listNetns()) {
    if (!ns.startsWith(prefix)) continue;
    const pid = Number(ns.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) continue;
    if (pid === process.pid) continue; // ours: close() removes them
    removeNetns(ns);
    removed.push(ns);
  }
  return removed;
}

let probed: string | null | undefined;

/**
 * Why namespaces cannot be made here (not Linux, not root, no `ip`, `ip netns add` refused), or
 * null. Probes once by adding and deleting a namespace.
 */
export function netnsUnavailable(): string | null {
  if (probed !== undefined) return probed;
  probed = (() => {
    if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
    if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root (run as root, as CI does)';
    if (!which('ip')) return '`ip` not found (apt package "iproute2")';
    const probe = `${NETNS_PREFIX}${process.pid}-probe`;
    const r = run(['ip', 'netns', 'add', probe]);
    if (!r.ok) return `\`ip netns add\` failed: ${r.err.trim()}`;
    removeNetns(probe);
    return null;
  })();
  return probed;
}

/** Why a topology with a NAT router cannot be made (no nft), or null. */
export function natUnavailable(): string | null {
  return netnsUnavailable() ?? (which('nft') ? null : '`nft` not found (apt package "nftables")');
}

function stripPrefixLen(addr: string): string {
  return addr.split('/')[0]!;
}

function natRuleset(outIf: string): string {
  // Masquerade what leaves through outIf; forward only what comes from inside, or answers to it.
  return [
    'table ip cellnat {',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${outIf}" masquerade`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '    ct state established,related accept',
    `    iifname != "${outIf}" accept`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Build a topology. Throws (after removing what it made) when a step fails; call
 * netnsUnavailable() first to skip cleanly.
 */
export function createTopology(spec: TopologySpec): Topology {
  removeLeftovers();
  const prefix = `${NETNS_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 6)}-`;
  const sw = `${prefix}sw`;
  const made: string[] = [];
  const agents = new Set<Agent>();
  let closed = false;

  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const a of agents) a.killSync();
    agents.clear();
    for (const ns of made.reverse()) removeNetns(ns);
    cancelExit();
  };
  const cancelExit = atExit(close);

  const hosts = new Map<string, Host>();
  const nsExec = (ns: string, cmd: string[], input?: string): string => must(['ip', 'netns', 'exec', ns, ...cmd], input);

  try {
    must(['ip', 'netns', 'add', sw]);
    made.push(sw);
    nsExec(sw, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
    for (const b of spec.bridges) {
      if (!/^[a-z0-9]{1,8}$/.test(b)) throw new RangeError(`bridge name "${b}": 1-8 of [a-z0-9]`);
      // No IGMP snooping: mDNS joins are not tracked by anyone, so a snooping bridge could drop them.
      must(['ip', '-n', sw, 'link', 'add', `br${b}`, 'type', 'bridge', 'mcast_snooping', '0']);
      must(['ip', '-n', sw, 'link', 'set', `br${b}`, 'up']);
    }
    spec.hosts.forEach((h, hi) => {
      if (!/^[a-z0-9]{1,8}$/.test(h.name)) throw new RangeError(`host name "${h.name}": 1-8 of [a-z0-9]`);
      if (hosts.has(h.name)) throw new RangeError(`host "${h.name}" twice`);
      const ns = `${prefix}${h.name}`;
      must(['ip', 'netns', 'add', ns]);
      made.push(ns);
      // IPv4 only: fewer addresses for libp2p to announce and dial, no DAD delays.
      nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      h.links.forEach((l, li) => {
        if (!spec.bridges.includes(l.bridge)) throw new RangeError(`host ${h.name}: unknown bridge "${l.bridge}"`);
        const port = `h${hi}l${li}`; // in the switch namespace; ≤ 15 characters
        const dev = `eth${li}`;
        must(['ip', '-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', ns]);
        must(['ip', '-n', sw, 'link', 'set', port, 'master', `br${l.bridge}`]);
        must(['ip', '-n', sw, 'link', 'set', port, 'up']);
        must(['ip', '-n', ns, 'addr', 'add', l.addr, 'dev', dev]);
        must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      });
      if (h.links.length > 0 && h.multicast !== false) must(['ip', '-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
      if (h.defaultVia !== undefined) must(['ip', '-n', ns, 'route', 'add', 'default', 'via', h.defaultVia]);
      for (const r of h.routes ?? []) must(['ip', '-n', ns, 'route', 'add', r.to, 'via', r.via]);
      if (h.forward === true || h.natOut !== undefined) nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      if (h.natOut !== undefined) nsExec(ns, ['nft', '-f', '-'], natRuleset(h.natOut));
      hosts.set(h.name, { name: h.name, netns: ns, addrs: h.links.map((l) => stripPrefixLen(l.addr)) });
    });
  } catch (e) {
    close();
    throw e;
  }

  const host = (name: string): Host => {
    const h = hosts.get(name);
    if (h === undefined) throw new RangeError(`no host "${name}"`);
    return h;
  };

  return {
    prefix,
    hosts,
    host,
    exec: (name, cmd, args, input) => nsExec(host(name).netns, [cmd, ...args], input),
    async spawnAgent(name, opsModule, opts = {}) {
      if (closed) throw new Error('topology closed');
      const h = host(name);
      const a = await startAgent({
        argv: ['ip', 'netns', 'exec', h.netns, process.execPath, '--import', 'tsx', `${root}hw-tests/mesh/agent.ts`, opsModule, ...(opts.args ?? [])],
        cwd: root,
        env: { ...opts.env, CELL_AGENT_HOST: name, CELL_AGENT_ADDR: h.addrs[0] ?? '' },
        label: name,
        readyTimeoutMs: opts.readyTimeoutMs,
      });
      agents.add(a);
      a.exited.then(() => agents.delete(a), () => agents.delete(a));
      return a;
    },
    async spawnProgram(name, argv, opts = {}) {
      if (closed) throw new Error('topology closed');
      const h = host(name);
      const a = await startAgent({ argv: ['ip', 'netns', 'exec', h.netns, ...argv], cwd: root, env: opts.env, label: `${name}:${argv[1] ?? argv[0]}`, waitReady: false });
      agents.add(a);
      a.exited.then(() => agents.delete(a), () => agents.delete(a));
      return a;
    },
    close,
  };
}
