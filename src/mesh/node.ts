// A Cell mesh node on js-libp2p v3 (docs/mesh.md): TCP + noise + yamux (and QUIC), kad-dht,
// mDNS, identify (+ push), ping, bootstrap, circuit-relay-v2. Cells are served on
// `/cell/rpc/1/<name>` streams (one stream = one Link) and announced in the DHT under a CID of
// their name; `/cell/load/1` answers an RTT + load probe.
//
// libp2p is loaded here with dynamic imports only (after the Node 20 polyfill), so importing
// `cell/mesh` costs nothing until a node starts, and no other module of the package reaches it.
import './polyfill.ts';
import { serve, Server, type Impl, type ServeOptions } from '../rpc/api.ts';
import type { CellDef } from '../rpc/define.ts';
import type { ConnectionOptions } from '../rpc/connection.ts';
import type { Link, LinkListener } from '../transports/link.ts';
import { memoryPair } from '../transports/memory.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_MESH_DIAL_FAILED, ERR_MESH_NO_PROVIDERS, ERR_MESH_STOPPED, ERR_MESH_UNSUPPORTED, ERR_RPC_UNAVAILABLE } from '../wire/errors.ts';
import { cellKeyBytes, loadOrCreateKey, meshKeyPath, schemaId } from './keys.ts';
import { MeshLink, type MeshLinkOptions, type MeshStreamLike } from './link.ts';
import { startMeshClient, type MeshClient, type MeshConnectOptions } from './client.ts';
import { FrameProxy, type ProxyOptions } from './proxy.ts';

/** Protocol id prefix of cell streams: `/cell/rpc/1/<name>`. */
export const RPC_PROTOCOL = '/cell/rpc/1';
/** RTT + load probe protocol. */
export const LOAD_PROTOCOL = '/cell/load/1';
/** The DHT protocol of Cell meshes (a private DHT, not the IPFS one). */
export const DHT_PROTOCOL = '/cell/kad/1.0.0';

export function rpcProtocol(name: string): string { return `${RPC_PROTOCOL}/${name}`; }

export interface MeshNodeOptions {
  /** A cell directory: the key is kept at `<dir>/.cell/mesh/key`. */
  dir?: string;
  /** Key file (libp2p protobuf Ed25519), created 0600 if missing. @default `<dir>/.cell/mesh/key`, else a fresh key per start */
  keyFile?: string;
  /** Multiaddrs to listen on. @default ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/udp/0/quic-v1'] */
  listen?: string[];
  /** Addresses to announce instead of the listen addresses. @default none */
  announce?: string[];
  /** Multiaddrs (with /p2p/<id>) dialled at start and whenever the node has no peer. @default [] */
  bootstrap?: string[];
  /** LAN discovery by multicast DNS. @default true */
  mdns?: boolean | { intervalMs?: number; serviceTag?: string };
  /** kad-dht mode; false = no DHT. @default 'server' */
  dht?: 'server' | 'client' | false;
  /** DHT protocol id (nodes only find each other's records with the same one). @default '/cell/kad/1.0.0' */
  dhtProtocol?: string;
  /** Keep private and loopback addresses in the DHT (LAN, loopback, namespaces). @default true */
  lan?: boolean;
  /** QUIC transport too (a warning, not an error, when its binary is missing). @default true */
  quic?: boolean;
  /** circuit-relay-v2: server = relay for others; client = dial via relays; reserve = listen via a relay (behind NAT). @default { client: true } */
  relay?: { server?: boolean; client?: boolean; reserve?: boolean };
  /** Re-publish provider records this often. @default 60000 */
  announceIntervalMs?: number;
  /** Defaults for the rpc Connections this node serves and opens. @default {} */
  rpc?: ConnectionOptions;
  /** Options of the mesh links (stream framing). @default {} */
  link?: MeshLinkOptions;
  /** Dial peers found by mDNS/bootstrap while fewer than this many are connected. @default 64 */
  autoDialMax?: number;
  /** Warnings (missing QUIC binary, failed announce, ...). @default none */
  onWarning?: (msg: string) => void;
  /** Extra options merged into createLibp2p (escape hatch). */
  libp2p?: Record<string, unknown>;
}

/** Load a provider advertises on `/cell/load/1`. */
export interface MeshLoad {
  /** Calls in progress on this provider (all clients). */
  inFlight: number;
  /** Largest number of calls it serves at once. */
  maxServing: number;
  /** Open connections (clients). */
  connections: number;
  /** For proxies: whether the upstream (device) link is up. Always true for plain cells. */
  up: boolean;
}

export interface ProviderInfo {
  peerId: string;
  addrs: string[];
  source: 'local' | 'peer' | 'dht';
}

export interface PeerSummary {
  peerId: string;
  addrs: string[];
  /** Cell names from the peer's identify protocol list. */
  cells: string[];
}

export interface ProvideOptions extends ServeOptions {
  /** Announce in the DHT (and re-announce periodically). @default true */
  announce?: boolean;
}

/** A cell served and announced by this node. */
export interface Provided {
  readonly name: string;
  /** The rpc Server (plain cells), or null for a proxy. */
  readonly server: Server | null;
  load(): MeshLoad;
  /** Publish the provider records now. Resolves when done (false: no DHT, or it failed). */
  reannounce(): Promise<boolean>;
  /**
   * Stop being found: the protocol is unhandled (new streams are refused, and identify tells the
   * connected peers, so their lookups stop listing this node) and the name is no longer
   * announced; connections already open keep being served until `stop`. For a drain before a stop
   * (a gateway on SIGTERM). Provider records already in the DHT expire on their own.
   */
  withdraw(): Promise<void>;
  /** Stop serving: new streams are refused; calls in flight end Closed (graceful: GOODBYE, they finish). */
  stop(opts?: { graceful?: boolean }): Promise<void>;
}

/** A running proxy of a cell reached over another link (docs/mesh.md §4). */
export interface ProvidedProxy extends Provided {
  readonly proxy: FrameProxy;
  /** Whether the upstream link is up (its HELLO received). */
  readonly upstreamUp: boolean;
  /** Use this link as the upstream from now on (the previous one is closed). */
  replaceUpstream(link: Link): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** The factories a node is built from; null: not loaded, since the node's options do not use it. */
interface Libs {
  createLibp2p: Any; tcp: Any; noise: Any; yamux: Any; identify: Any; identifyPush: Any; ping: Any;
  kadDHT: Any | null; passthroughMapper: Any | null; removePrivateAddressesMapper: Any | null; mdns: Any | null; bootstrap: Any | null;
  circuitRelayTransport: Any | null; circuitRelayServer: Any | null; quic: Any | null; keys: Any; CID: Any;
  multiaddr: Any; peerIdFromString: Any;
}

// Every module a node may need, each imported on first use and then shared by every node of the
// process (the module cache). A node loads only what its options switch on: no mDNS module with
// `mdns: false`, no DHT with `dht: false`, no QUIC (a native addon that opens two UDP sockets)
// with `quic: false`, no bootstrap module without a list. libp2p itself (~440 files, ~200 ms on a
// 2-core x86 VM) is most of the time before a node listens (bench/gateway/RESULTS.md).
const MODULES = {
  libp2p: () => import('libp2p'),
  tcp: () => import('@libp2p/tcp'),
  noise: () => import('@chainsafe/libp2p-noise'),
  yamux: () => import('@chainsafe/libp2p-yamux'),
  identify: () => import('@libp2p/identify'),
  ping: () => import('@libp2p/ping'),
  keys: () => import('@libp2p/crypto/keys'),
  cid: () => import('multiformats/cid'),
  multiaddr: () => import('@multiformats/multiaddr'),
  peerId: () => import('@libp2p/peer-id'),
  kad: () => import('@libp2p/kad-dht'),
  mdns: () => import('@libp2p/mdns'),
  bootstrap: () => import('@libp2p/bootstrap'),
  relay: () => import('@libp2p/circuit-relay-v2'),
  quic: () => import('@chainsafe/libp2p-quic'),
} as const;
type ModuleName = keyof typeof MODULES;
const modules = new Map<ModuleName, Promise<Any>>();
function load(name: ModuleName): Promise<Any> {
  let p = modules.get(name);
  if (p === undefined) { p = MODULES[name](); modules.set(name, p); }
  return p;
}

/** The modules every node needs, whatever its options. */
const CORE: readonly ModuleName[] = ['libp2p', 'tcp', 'noise', 'yamux', 'identify', 'ping', 'keys', 'cid', 'multiaddr', 'peerId'];

/** The modules a node with these options uses. */
function wanted(opts: MeshNodeOptions): ModuleName[] {
  const out = [...CORE];
  if ((opts.dht ?? 'server') !== false) out.push('kad');
  if ((opts.mdns ?? true) !== false) out.push('mdns');
  if ((opts.bootstrap ?? []).length > 0) out.push('bootstrap');
  const relay = { client: true, ...opts.relay };
  if (relay.client === true || relay.server === true || relay.reserve === true) out.push('relay');
  if (opts.quic ?? true) out.push('quic');
  return out;
}

async function loadLibs(opts: MeshNodeOptions, warn: (m: string) => void): Promise<Libs> {
  const want = new Set(wanted(opts));
  const opt = (name: ModuleName): Promise<Any> | null => (want.has(name) ? load(name) : null);
  const quicP = opt('quic')?.catch((e: Error) => { warn(quicUnavailable(e)); return null; }) ?? null;
  const [libp2p, tcp, noise, yamux, identify, ping, keys, cid, ma, pid, kad, mdns, bootstrap, relay, quic] = await Promise.all([
    ...CORE.map(load), opt('kad'), opt('mdns'), opt('bootstrap'), opt('relay'), quicP,
  ]);
  return {
    createLibp2p: libp2p.createLibp2p, tcp: tcp.tcp, noise: noise.noise, yamux: yamux.yamux,
    identify: identify.identify, identifyPush: identify.identifyPush, ping: ping.ping,
    kadDHT: kad?.kadDHT ?? null, passthroughMapper: kad?.passthroughMapper ?? null, removePrivateAddressesMapper: kad?.removePrivateAddressesMapper ?? null,
    mdns: mdns?.mdns ?? null, bootstrap: bootstrap?.bootstrap ?? null,
    circuitRelayTransport: relay?.circuitRelayTransport ?? null, circuitRelayServer: relay?.circuitRelayServer ?? null,
    quic: quic?.quic ?? null, keys, CID: cid.CID, multiaddr: ma.multiaddr, peerIdFromString: pid.peerIdFromString,
  };
}

/** Start a mesh node (docs/mesh.md §1). */
export async function startMeshNode(opts: MeshNodeOptions = {}): Promise<MeshNode> {
  const warn = opts.onWarning ?? (() => {});
  const L = await loadLibs(opts, warn);
  const keyFile = opts.keyFile ?? (opts.dir !== undefined ? meshKeyPath(opts.dir) : undefined);
  const privateKey = keyFile !== undefined ? await loadOrCreateKey(keyFile, L.keys) : await L.keys.generateKeyPair('Ed25519');
  const wantQuic = opts.quic ?? true;
  if (wantQuic && L.quic === null && opts.listen?.some((a) => a.includes('/quic'))) {
    throw new CellError(ERR_MESH_UNSUPPORTED, 'a QUIC listen address was given but @chainsafe/libp2p-quic cannot load here', { listen: opts.listen });
  }
  const useQuic = wantQuic && L.quic !== null;
  let listen = opts.listen ?? ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/udp/0/quic-v1'];
  if (!useQuic) listen = listen.filter((a) => !a.includes('/quic'));
  const relay = { client: true, server: false, reserve: false, ...opts.relay };
  if (relay.reserve) listen = [...listen, '/p2p-circuit'];
  const lan = opts.lan ?? true;
  const dhtMode = opts.dht ?? 'server';
  const transports: Any[] = [L.tcp()];
  if (useQuic) transports.push(L.quic());
  if (relay.client || relay.reserve) transports.push(L.circuitRelayTransport());
  const services: Record<string, Any> = { identify: L.identify(), identifyPush: L.identifyPush(), ping: L.ping() };
  if (dhtMode !== false) {
    services.dht = L.kadDHT({
      protocol: opts.dhtProtocol ?? DHT_PROTOCOL,
      clientMode: dhtMode === 'client',
      peerInfoMapper: lan ? L.passthroughMapper : L.removePrivateAddressesMapper,
      // Queries wait for a first peer (with none, a relay search's random walk would spin).
      allowQueryWithZeroPeers: false,
      // Every query (provide, findProviders) waits for the first self-query, which kad-dht starts
      // 1 s after the node starts by default: a short-lived node (`cell call <name>`) lost that
      // second on every lookup. Run it at once; it still waits for a first DHT peer.
      initialQuerySelfInterval: 0,
    });
  }
  if (relay.server) services.relay = L.circuitRelayServer({ reservations: { applyDefaultLimit: false, maxReservations: 128 } });
  const peerDiscovery: Any[] = [];
  const md = opts.mdns ?? true;
  if (md !== false) peerDiscovery.push(L.mdns(typeof md === 'object' ? { interval: md.intervalMs, serviceTag: md.serviceTag } : {}));
  if ((opts.bootstrap ?? []).length > 0) peerDiscovery.push(L.bootstrap({ list: opts.bootstrap, timeout: 0 }));
  const extra = opts.libp2p ?? {};
  const node = await L.createLibp2p({
    privateKey,
    addresses: { listen, ...(opts.announce !== undefined ? { announce: opts.announce } : {}) },
    transports,
    connectionEncrypters: [L.noise()],
    streamMuxers: [L.yamux()],
    peerDiscovery,
    services,
    ...extra,
  });
  const mesh = new MeshNode(node, L, opts, warn);
  await mesh.init();
  return mesh;
}

interface ProvidedEntry {
  name: string;
  protocol: string;
  cids: Any[];
  announce: boolean;
  /** Accepts an incoming link (mesh stream or local memory link). */
  accept(link: Link): void;
  load(): MeshLoad;
  /** Close what serves it (node stop). */
  shutdown(): Promise<void>;
  stopped: boolean;
}

export class MeshNode {
  /** Base58 PeerId of this node. */
  readonly peerId: string;
  /** The js-libp2p node (escape hatch). */
  readonly libp2p: Any;
  /** @internal */ readonly libs: Libs;
  /** @internal */ readonly opts: MeshNodeOptions;
  /** @internal */ readonly warn: (m: string) => void;
  private readonly provided = new Map<string, ProvidedEntry>();
  private readonly clients = new Set<{ close(): Promise<void> }>();
  private announceTimer: ReturnType<typeof setInterval> | null = null;
  private reannounceSoon: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(node: Any, libs: Libs, opts: MeshNodeOptions, warn: (m: string) => void) {
    this.libp2p = node;
    this.libs = libs;
    this.opts = opts;
    this.warn = warn;
    this.peerId = node.peerId.toString();
  }

  /** @internal */
  async init(): Promise<void> {
    const node = this.libp2p;
    await node.handle(LOAD_PROTOCOL, (stream: MeshStreamLike) => { this.answerProbe(stream); }, { runOnLimitedConnection: true, maxInboundStreams: 64 });
    const autoDialMax = this.opts.autoDialMax ?? 64;
    node.addEventListener('peer:discovery', (ev: CustomEvent) => {
      const info = ev.detail as { id: Any };
      if (this.stopped || info.id.equals(node.peerId)) return;
      if (node.getConnections(info.id).length > 0 || node.getPeers().length >= autoDialMax) return;
      node.dial(info.id, { signal: AbortSignal.timeout(10_000) }).catch(() => {});
    });
    node.addEventListener('peer:connect', () => {
      // A new peer may be closer to our keys than any before: publish again soon (debounced).
      if (this.stopped || this.reannounceSoon !== null || this.provided.size === 0 || node.getPeers().length > 20) return;
      this.reannounceSoon = setTimeout(() => { this.reannounceSoon = null; void this.announceAll(); }, 250);
      this.reannounceSoon.unref?.();
    });
    const every = this.opts.announceIntervalMs ?? 60_000;
    this.announceTimer = setInterval(() => { void this.announceAll(); }, every);
    this.announceTimer.unref?.();
    if ((this.opts.bootstrap ?? []).length > 0) {
      // Dial bootstrap peers at once (the bootstrap module only tags them).
      await Promise.allSettled((this.opts.bootstrap ?? []).map((a) => node.dial(this.libs.multiaddr(a), { signal: AbortSignal.timeout(10_000) })));
    }
  }

  /** Listen multiaddrs with /p2p/<peerId>: what other nodes pass as `bootstrap`. */
  addrs(): string[] {
    return this.libp2p.getMultiaddrs().map((m: Any) => m.toString());
  }

  private checkRunning(): void {
    if (this.stopped) throw new CellError(ERR_MESH_STOPPED, 'the mesh node is stopped');
  }

  // ---- providing ---------------------------------------------------------------------------

  private async register(e: ProvidedEntry): Promise<void> {
    if (this.provided.has(e.name)) throw new TypeError(`cell "${e.name}" is already provided by this node`);
    this.provided.set(e.name, e);
    await this.libp2p.handle(e.protocol, (stream: MeshStreamLike, conn: Any) => {
      const link = new MeshLink(stream, conn.remotePeer.toString(), this.opts.link);
      if (e.stopped) { link.destroy(); return; }
      e.accept(link);
    }, { runOnLimitedConnection: true, maxInboundStreams: 256, maxOutboundStreams: 256 });
    if (e.announce) void this.announce(e);
  }

  private async withdrawEntry(e: ProvidedEntry): Promise<void> {
    e.announce = false;
    if (!this.stopped && !e.stopped) await this.libp2p.unhandle(e.protocol).catch(() => {});
  }

  /** Withdraw these provided names (default: all of them; see Provided.withdraw); the names withdrawn. */
  async withdraw(names?: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const e of [...this.provided.values()]) {
      if (names !== undefined && !names.includes(e.name)) continue;
      await this.withdrawEntry(e);
      out.push(e.name);
    }
    return out;
  }

  private async unregister(e: ProvidedEntry): Promise<void> {
    e.stopped = true;
    if (this.provided.get(e.name) === e) this.provided.delete(e.name);
    if (!this.stopped) await this.libp2p.unhandle(e.protocol).catch(() => {});
  }

  /**
   * Serve `def` with `impl` on `/cell/rpc/1/<name>` and announce it (DHT key of the name and of
   * name@schema). Resolves once the protocol is registered; announcing runs in the background.
   */
  async provide<D extends CellDef>(def: D, impl: NoInfer<Impl<D>>, opts: ProvideOptions = {}): Promise<Provided> {
    this.checkRunning();
    const serveOpts: ServeOptions = { ...this.opts.rpc, ...opts };
    const listener: LinkListener & { onLink: ((l: Link) => void) | null } = {
      isListener: true, onLink: null, address: rpcProtocol(def.name), close: async () => {},
    };
    const server = serve(def, impl, listener, serveOpts);
    const maxServing = serveOpts.maxServing ?? 10000;
    const entry: ProvidedEntry = {
      name: def.name,
      protocol: rpcProtocol(def.name),
      cids: [this.cid(def.name), this.cid(def.name, schemaId(def))],
      announce: opts.announce ?? true,
      accept: (link) => { if (listener.onLink !== null) listener.onLink(link); else link.close(); },
      load: () => {
        let inFlight = 0;
        for (const c of server.connections) inFlight += c.serving_;
        return { inFlight, maxServing, connections: server.connections.size, up: true };
      },
      shutdown: () => server.goodbye(),
      stopped: false,
    };
    await this.register(entry);
    return {
      name: def.name,
      server: server as unknown as Server,
      load: entry.load,
      reannounce: () => this.announce(entry),
      withdraw: () => this.withdrawEntry(entry),
      stop: async (o) => {
        await this.unregister(entry);
        if (o?.graceful === true) await server.goodbye(); else await server.close();
      },
    };
  }

  /**
   * Re-export a cell reached over another link (a device behind a UART), forwarding frames both
   * ways without decoding payloads (docs/mesh.md §4). `upstream`: one Link, or a LinkListener
   * whose every new link replaces the previous one (a device that reconnects).
   */
  async provideProxy(name: string, upstream: Link | LinkListener, opts: ProxyOptions & { announce?: boolean; reannounce?: boolean } = {}): Promise<ProvidedProxy> {
    this.checkRunning();
    let entry!: ProvidedEntry;
    const proxy = new FrameProxy(name, {
      heartbeatMs: this.opts.rpc?.heartbeatMs,
      ...opts,
      onUpstream: (up, hello) => {
        opts.onUpstream?.(up, hello);
        if (up && (opts.reannounce ?? true) && entry.announce && !entry.stopped) void this.announce(entry);
      },
    });
    entry = {
      name,
      protocol: rpcProtocol(name),
      cids: [this.cid(name)],
      announce: opts.announce ?? true,
      accept: (link) => proxy.addClient(link),
      load: () => proxy.load(),
      shutdown: () => proxy.close(),
      stopped: false,
    };
    if ((upstream as LinkListener).isListener === true) {
      (upstream as LinkListener).onLink = (link) => proxy.setUpstream(link);
    } else {
      proxy.setUpstream(upstream as Link);
    }
    await this.register(entry);
    return {
      name,
      server: null,
      proxy,
      get upstreamUp() { return proxy.upstreamUp; },
      replaceUpstream: (link) => proxy.setUpstream(link),
      load: entry.load,
      reannounce: () => this.announce(entry),
      withdraw: () => this.withdrawEntry(entry),
      stop: async () => {
        await this.unregister(entry);
        await proxy.close();
      },
    };
  }

  /** @internal A CID object for a cell name (and schema id). */
  cid(name: string, schema?: string): Any {
    return this.libs.CID.decode(cellKeyBytes(name, schema));
  }

  private async announce(e: ProvidedEntry): Promise<boolean> {
    if (this.stopped || e.stopped || this.libp2p.services.dht === undefined) return false;
    try {
      const signal = AbortSignal.timeout(30_000);
      await Promise.all(e.cids.map((cid) => this.libp2p.contentRouting.provide(cid, { signal })));
      return true;
    } catch (err) {
      if (!this.stopped && !e.stopped) this.warn(`announce of "${e.name}" failed: ${(err as Error).message}`);
      return false;
    }
  }

  private async announceAll(): Promise<void> {
    for (const e of this.provided.values()) if (e.announce) await this.announce(e);
  }

  /** @internal A local link to a cell this node provides (no network). */
  localLink(name: string): Link | null {
    const e = this.provided.get(name);
    if (e === undefined || e.stopped) return null;
    const [a, b] = memoryPair({ mtu: this.opts.link?.mtu ?? 1 << 20 });
    e.accept(b);
    return a;
  }

  /** @internal */
  localLoad(name: string): MeshLoad | null {
    const e = this.provided.get(name);
    return e === undefined || e.stopped ? null : e.load();
  }

  // ---- probing -----------------------------------------------------------------------------

  private answerProbe(stream: MeshStreamLike): void {
    let buf = new Uint8Array(0);
    const onMsg = (ev: Event): void => {
      const d = (ev as Event & { data: Uint8Array | { subarray(): Uint8Array } }).data;
      const chunk = d instanceof Uint8Array ? d : d.subarray();
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf); next.set(chunk, buf.length);
      buf = next;
      if (buf.length < 1 || buf.length < 1 + buf[0]!) return;
      stream.removeEventListener('message', onMsg);
      const name = new TextDecoder().decode(buf.subarray(1, 1 + buf[0]!));
      const load = this.localLoad(name);
      const out = new Uint8Array(12);
      const dv = new DataView(out.buffer);
      if (load === null) out[10] = 0x80;
      else {
        dv.setUint32(0, load.inFlight, true);
        dv.setUint32(4, Math.min(load.maxServing, 0xffffffff), true);
        dv.setUint16(8, Math.min(load.connections, 0xffff), true);
        out[10] = load.up ? 1 : 0;
      }
      try { stream.send(out); } catch { /* peer gone */ }
      stream.close().catch(() => {});
    };
    stream.addEventListener('message', onMsg);
  }

  /**
   * One `/cell/load/1` round trip to `peer` (connection set up first, not timed): the RTT in ms
   * and the load it advertises for `name` (null when it does not provide it).
   */
  async probe(peer: string | Any, name: string, opts: { timeoutMs?: number } = {}): Promise<{ rttMs: number; load: MeshLoad | null }> {
    this.checkRunning();
    if (peer === this.peerId) return { rttMs: 0, load: this.localLoad(name) };
    const signal = AbortSignal.timeout(Math.ceil(opts.timeoutMs ?? 3000));
    const target = this.target(peer);
    let stream: Any;
    try {
      await this.libp2p.dial(target, { signal });
      const t0 = performance.now();
      stream = await this.libp2p.dialProtocol(target, LOAD_PROTOCOL, { signal, runOnLimitedConnection: true });
      const nameBytes = new TextEncoder().encode(name);
      const req = new Uint8Array(1 + nameBytes.length);
      req[0] = nameBytes.length; req.set(nameBytes, 1);
      const answer = await new Promise<Uint8Array>((resolve, reject) => {
        let got = new Uint8Array(0);
        const onMsg = (ev: Event): void => {
          const d = (ev as Event & { data: Uint8Array | { subarray(): Uint8Array } }).data;
          const chunk = d instanceof Uint8Array ? d : d.subarray();
          const next = new Uint8Array(got.length + chunk.length);
          next.set(got); next.set(chunk, got.length);
          got = next;
          if (got.length >= 12) { cleanup(); resolve(got); }
        };
        const onClose = (): void => { cleanup(); reject(new Error('probe stream closed before the answer')); };
        const onAbort = (): void => { cleanup(); reject(new Error('probe timed out')); };
        const cleanup = (): void => {
          stream.removeEventListener('message', onMsg);
          stream.removeEventListener('close', onClose);
          signal.removeEventListener('abort', onAbort);
        };
        stream.addEventListener('message', onMsg);
        stream.addEventListener('close', onClose);
        signal.addEventListener('abort', onAbort);
        stream.send(req);
      });
      const rttMs = performance.now() - t0;
      stream.close().catch(() => {});
      const dv = new DataView(answer.buffer, answer.byteOffset, answer.byteLength);
      const flags = answer[10]!;
      const load = (flags & 0x80) !== 0 ? null
        : { inFlight: dv.getUint32(0, true), maxServing: dv.getUint32(4, true), connections: dv.getUint16(8, true), up: (flags & 1) !== 0 };
      return { rttMs, load };
    } catch (e) {
      stream?.abort?.(new Error('probe failed'));
      throw this.dialError(e, peer, LOAD_PROTOCOL);
    }
  }

  // ---- finding and dialling ----------------------------------------------------------------

  /** @internal A dial target: PeerId object or multiaddr from a string. */
  target(peer: string | Any): Any {
    if (typeof peer !== 'string') return peer;
    if (peer.startsWith('/')) return this.libs.multiaddr(peer);
    return this.libs.peerIdFromString(peer);
  }

  private dialError(e: unknown, peer: unknown, protocol: string): CellError {
    if ((e as CellError).code === ERR_MESH_STOPPED) return e as CellError;
    const n = (e as Error).name;
    const reason = n === 'UnsupportedProtocolError' ? 'protocol' : n === 'AbortError' || n === 'TimeoutError' || /timed out|abort/i.test((e as Error).message) ? 'timeout' : 'dial';
    return new CellError(ERR_MESH_DIAL_FAILED, `${String(peer)} ${protocol}: ${(e as Error).message}`, { peer: String(peer), protocol, reason });
  }

  /** A raw Link over one `/cell/rpc/1/<name>` stream to `peer` (PeerId string or multiaddr). */
  async openLink(peer: string | Any, name: string, opts: { timeoutMs?: number } = {}): Promise<MeshLink> {
    this.checkRunning();
    const target = this.target(peer);
    try {
      const stream = await this.libp2p.dialProtocol(target, rpcProtocol(name), { signal: AbortSignal.timeout(Math.ceil(opts.timeoutMs ?? 10_000)), runOnLimitedConnection: true });
      const remote = typeof peer === 'string' && !peer.startsWith('/') ? peer : String(stream.remotePeer ?? this.remoteOf(target) ?? '');
      return new MeshLink(stream, remote, this.opts.link);
    } catch (e) {
      throw this.dialError(e, peer, rpcProtocol(name));
    }
  }

  private remoteOf(target: Any): string | undefined {
    const s = target?.getPeerId?.();
    return s ?? undefined;
  }

  /**
   * Find providers of `name`, calling `onFound` for each new one as it is found: this node, then
   * peers whose identify protocols include the cell, then the DHT. Resolves when the lookup ends
   * (DHT exhausted, `signal` aborted or `timeoutMs`).
   */
  async findProviders(name: string, onFound: (p: ProviderInfo) => void, opts: { timeoutMs?: number; signal?: AbortSignal; schema?: string; dht?: boolean } = {}): Promise<void> {
    this.checkRunning();
    const seen = new Set<string>();
    const found = (p: ProviderInfo): void => { if (!seen.has(p.peerId)) { seen.add(p.peerId); onFound(p); } };
    if (this.localLoad(name) !== null) found({ peerId: this.peerId, addrs: this.addrs(), source: 'local' });
    const proto = rpcProtocol(name);
    // A peer identified while the DHT lookup runs counts at once (a bootstrap peer that connected
    // just before the lookup: its identify answer often lands between the store scan and the DHT).
    const onIdentify = (ev: CustomEvent): void => {
      const d = ev.detail as { peerId: Any; protocols: string[]; listenAddrs: Any[] };
      if (d.protocols.includes(proto) && !d.peerId.equals(this.libp2p.peerId)) {
        found({ peerId: d.peerId.toString(), addrs: d.listenAddrs.map((a: Any) => a.toString()), source: 'peer' });
      }
    };
    const useDht = opts.dht !== false && this.libp2p.services.dht !== undefined;
    if (useDht) this.libp2p.addEventListener('peer:identify', onIdentify);
    try {
      for (const peer of await this.libp2p.peerStore.all()) {
        if (peer.protocols.includes(proto) && !peer.id.equals(this.libp2p.peerId)) {
          found({ peerId: peer.id.toString(), addrs: peer.addresses.map((a: Any) => a.multiaddr.toString()), source: 'peer' });
        }
      }
      if (!useDht) return;
      const signals = [AbortSignal.timeout(Math.ceil(opts.timeoutMs ?? 5000))];
      if (opts.signal !== undefined) signals.push(opts.signal);
      const signal = AbortSignal.any(signals);
      try {
        for await (const p of this.libp2p.contentRouting.findProviders(this.cid(name, opts.schema), { signal })) {
          if (p.id.equals(this.libp2p.peerId)) continue;
          found({ peerId: p.id.toString(), addrs: p.multiaddrs.map((m: Any) => m.toString()), source: 'dht' });
        }
      } catch (e) {
        if (!signal.aborted && !this.stopped) this.warn(`DHT lookup of "${name}" failed: ${(e as Error).message}`);
      }
    } finally {
      if (useDht) this.libp2p.removeEventListener('peer:identify', onIdentify);
    }
  }

  /**
   * While a lookup runs, dial every 100 ms the bootstrap peers this node has no connection to: one
   * that was not listening yet when this node started (a gateway started at the same moment as
   * `cell call`) is reached as soon as it is. Returns the function that stops it.
   */
  private redialBootstrap(): () => void {
    const list = this.opts.bootstrap ?? [];
    if (list.length === 0) return () => {};
    const dialing = new Set<string>();
    const tick = (): void => {
      if (this.stopped) return;
      for (const a of list) {
        if (dialing.has(a)) continue;
        let ma: Any, id: string | undefined;
        try { ma = this.libs.multiaddr(a); id = ma.getComponents().findLast((c: Any) => c.name === 'p2p')?.value; } catch { continue; }
        if (id !== undefined && this.libp2p.getConnections(this.libs.peerIdFromString(id)).length > 0) continue;
        dialing.add(a);
        this.libp2p.dial(ma, { signal: AbortSignal.timeout(2000) }).catch(() => {}).finally(() => dialing.delete(a));
      }
    };
    const timer = setInterval(tick, 100);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /**
   * A raw Link to the best provider of `name` right now (tools: `cell call <name>`): find providers,
   * probe them all, open a `/cell/rpc/1/<name>` stream on the lowest RTT × load; look again until
   * `timeoutMs`, dialling meanwhile the bootstrap peers that are not connected (redialBootstrap).
   * Rejects Unavailable (401) with `detail.cause` 600 (none found) or 601 (none answered).
   */
  async bestLink(name: string, opts: { timeoutMs?: number } = {}): Promise<Link> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = performance.now() + timeoutMs;
    const tried = new Set<string>();
    let found = false;
    let last: unknown = null;
    const stopRedial = this.redialBootstrap();
    try {
      while (performance.now() < deadline) {
        const left = Math.max(1, deadline - performance.now());
        const cands: ProviderInfo[] = [];
        await this.findProviders(name, (p) => cands.push(p), { timeoutMs: Math.min(left, 3000) });
        if (cands.length > 0) found = true;
        const probed = await Promise.all(cands.map(async (p) => {
          try {
            const r = await this.probe(p.peerId, name, { timeoutMs: Math.min(left, 2000) });
            return r.load !== null && r.load.up ? { p, score: (r.rttMs + 0.05) * (1 + r.load.inFlight / Math.max(1, r.load.connections * 16)) } : null;
          } catch (e) { last = e; return null; }
        }));
        const ranked = probed.filter((x): x is { p: ProviderInfo; score: number } => x !== null).sort((x, y) => x.score - y.score);
        for (const { p } of ranked) {
          tried.add(p.peerId);
          if (p.peerId === this.peerId) { const l = this.localLink(name); if (l !== null) return l; continue; }
          try { return await this.openLink(p.peerId, name, { timeoutMs: Math.max(1, deadline - performance.now()) }); } catch (e) { last = e; }
        }
        await new Promise((r) => setTimeout(r, Math.min(250, Math.max(1, deadline - performance.now()))));
      }
    } finally {
      stopRedial();
    }
    const why = found ? `no provider of "${name}" answered` : `no provider of "${name}" found`;
    throw new CellError(ERR_RPC_UNAVAILABLE, `${why} within ${timeoutMs} ms`, { cell: name, cause: found ? ERR_MESH_DIAL_FAILED : ERR_MESH_NO_PROVIDERS, tried: [...tried], ...(last !== null ? { last: (last as Error).message } : {}) });
  }

  /** Who provides `name` (this node, connected peers, the DHT), collected until the lookup ends. */
  async providers(name: string, opts: { timeoutMs?: number; schema?: string } = {}): Promise<ProviderInfo[]> {
    const out: ProviderInfo[] = [];
    await this.findProviders(name, (p) => out.push(p), opts);
    return out;
  }

  /** Connected peers and the cells each provides (from identify). */
  async peers(): Promise<PeerSummary[]> {
    const out: PeerSummary[] = [];
    for (const id of this.libp2p.getPeers()) {
      let protocols: string[] = [];
      let addrs: string[] = [];
      try {
        const p = await this.libp2p.peerStore.get(id);
        protocols = p.protocols;
        addrs = p.addresses.map((a: Any) => a.multiaddr.toString());
      } catch { /* not in the store yet */ }
      const cells = protocols.filter((x) => x.startsWith(RPC_PROTOCOL + '/')).map((x) => x.slice(RPC_PROTOCOL.length + 1));
      out.push({ peerId: id.toString(), addrs, cells });
    }
    return out;
  }

  /** Names of the cells this node provides. */
  providedNames(): string[] { return [...this.provided.keys()]; }

  /** Connect to a multiaddr (a relay, a peer learnt out of band). */
  async dial(addr: string): Promise<void> {
    this.checkRunning();
    try { await this.libp2p.dial(this.target(addr), { signal: AbortSignal.timeout(10_000) }); } catch (e) { throw this.dialError(e, addr, 'dial'); }
  }

  // ---- clients -----------------------------------------------------------------------------

  /** A typed client of the cell `def.name`, found by name and kept on the best provider (docs/mesh.md §3). */
  async connect<D extends CellDef>(def: D, opts: MeshConnectOptions = {}): Promise<MeshClient<D>> {
    this.checkRunning();
    const h = startMeshClient<D>(this, def, { ...opts, rpc: { ...this.opts.rpc, ...opts.rpc } }, () => this.clients.delete(h));
    this.clients.add(h);
    try {
      await h.ready;
    } catch (e) {
      await h.close();
      throw e;
    }
    return h.client;
  }

  /** A client of a cell known only by name: its schema is fetched with describe() (tools, the CLI). */
  async connectByName(name: string, opts: MeshConnectOptions = {}): Promise<MeshClient<CellDef>> {
    const { defineCell } = await import('../rpc/define.ts');
    const { defFromDescription, checkDescription } = await import('../rpc/described.ts');
    const probe = await this.connect(defineCell({ name }), opts);
    let def: CellDef;
    let prefer: string;
    try {
      def = defFromDescription(checkDescription(await probe.describe({ deadlineMs: opts.timeoutMs ?? 10_000 })));
      prefer = probe.mesh.provider;
    } finally {
      await probe.close();
    }
    return this.connect(def, { ...opts, prefer });
  }

  /** Stop: GOODBYE on served connections (calls in flight are answered), close clients, stop libp2p. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.announceTimer !== null) clearInterval(this.announceTimer);
    if (this.reannounceSoon !== null) clearTimeout(this.reannounceSoon);
    await Promise.allSettled([...this.clients].map((c) => c.close()));
    const entries = [...this.provided.values()];
    await Promise.allSettled(entries.map((e) => this.unregister(e)));
    await Promise.allSettled(entries.map((e) => withTimeout(e.shutdown(), 5000)));
    this.stopped = true;
    await this.libp2p.stop();
  }

  get isStopped(): boolean { return this.stopped; }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<undefined>((r) => { t = setTimeout(() => r(undefined), ms); })]).finally(() => clearTimeout(t));
}

/**
 * The warning when the QUIC module does not load. Its own text ("npm has a bug related to
 * optional dependencies…") is wrong advice where no build exists for the CPU (armv7).
 */
function quicUnavailable(e: Error): string {
  const m = e.message.split('\n')[0]!;
  const built = process.arch === 'x64' || process.arch === 'arm64';
  const why = !/Cannot find native binding|Cannot find module/.test(m) ? m
    : built
      ? `its native build for ${process.platform}-${process.arch} is not installed: reinstall with optional dependencies (npm install --include=optional)`
      : `no native build of @chainsafe/libp2p-quic for ${process.platform}-${process.arch}; it ships x64 and arm64 builds only`;
  return `QUIC unavailable (${why}): TCP only`;
}
