// A typed client of a cell found by name in the mesh (docs/mesh.md §3): the providers of the
// cell, raced (an RTT probe plus the load each advertises), are the connection source of one
// supervised client (rpc/supervised.ts). The race keeps the best provider, re-races when latency
// or load drifts and fails over to the next one when the current provider dies; the supervised
// client retries the calls that had no answer (Unavailable, Closed by the provider, Overloaded)
// unless `retry: 'none'`, and waits for a provider up to each call's deadline.
import type { CellDef } from '../rpc/define.ts';
import { Connection, type ConnectionOptions } from '../rpc/connection.ts';
import { RpcCode } from '../rpc/errors.ts';
import { Supervisor, type ConnectionSource, type SourceHost, type SupervisedClient } from '../rpc/supervised.ts';
import type { Link } from '../transports/link.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_MESH_DIAL_FAILED, ERR_MESH_NO_PROVIDERS, ERR_RPC_UNAVAILABLE } from '../wire/errors.ts';
import { schemaId } from './keys.ts';
import type { MeshLoad, ProviderInfo } from './node.ts';

export interface MeshConnectOptions {
  /** Time to find a provider and get its HELLO (at start, and again after a failover). @default 10000 */
  timeoutMs?: number;
  /** Probe the providers this often and switch when another is clearly better; 0 = never. @default 2000 */
  raceIntervalMs?: number;
  /** Switch only when another provider's score × this is below the current one's. @default 1.5 */
  switchRatio?: number;
  /** Which failed calls are sent again to the next provider (docs/mesh.md §3). @default 'unavailable' */
  retry?: 'unavailable' | 'none';
  /** Attempts per call, the first included. @default 3 */
  maxAttempts?: number;
  /** Options of the rpc Connection to each provider. @default the node's `rpc` */
  rpc?: ConnectionOptions;
  /** PeerIds never used. @default [] */
  exclude?: string[];
  /** PeerId tried first when it answers the race. @default none */
  prefer?: string;
  /** Look up `name@schema` in the DHT: only providers of this exact schema. @default false */
  exactSchema?: boolean;
  /** Deadline of one RTT/load probe. @default 2000 */
  probeTimeoutMs?: number;
  /** A provider that failed is not tried again for this long. @default 3000 */
  cooldownMs?: number;
  /** Use this node's own provider of the cell when it has one (no network). @default true */
  local?: boolean;
  /**
   * The name the cell is announced under in the mesh, when it is not `def.name`: a device a
   * gateway announces under another name (`[[device]] name`, docs/gateway.md §1) still says HELLO
   * as its own cell, so the providers are looked up by this name and their HELLO checked against
   * `def.name`. @default def.name
   */
  name?: string;
}

export type SwitchReason = 'initial' | 'failover' | 'latency';

export interface CandidateInfo {
  peerId: string;
  source: ProviderInfo['source'];
  /** Smoothed probe RTT in ms (NaN before the first probe). */
  rttMs: number;
  load: MeshLoad | null;
  score: number;
  state: 'new' | 'ok' | 'failed' | 'incompatible' | 'gone';
}

export interface MeshControls {
  /** PeerId of the provider in use ('' while none). */
  readonly provider: string;
  /** The candidates as of the last race. */
  candidates(): CandidateInfo[];
  /** Probe now and switch if another provider is clearly better. */
  rerace(): Promise<void>;
  /** Called on every change of provider; returns the unsubscribe function. */
  onSwitch(fn: (from: string, to: string, reason: SwitchReason) => void): () => void;
}

/** A typed client (docs/rpc.md §1, §9) routed to the best provider, plus `mesh`. */
export type MeshClient<D extends CellDef> = SupervisedClient<D> & { readonly mesh: MeshControls };

/**
 * What the provider race needs of a mesh node (a MeshNode has it; the unit tests give a fake
 * with memory links, so the race and retry logic runs in milliseconds without libp2p).
 */
export interface ProviderDirectory {
  readonly peerId: string;
  findProviders(name: string, onFound: (p: ProviderInfo) => void, opts?: { timeoutMs?: number; signal?: AbortSignal; schema?: string; dht?: boolean }): Promise<void>;
  probe(peer: string, name: string, opts?: { timeoutMs?: number }): Promise<{ rttMs: number; load: MeshLoad | null }>;
  openLink(peer: string, name: string, opts?: { timeoutMs?: number }): Promise<Link>;
  localLink(name: string): Link | null;
}

class Cand implements CandidateInfo {
  rttMs = NaN;
  load: MeshLoad | null = null;
  score = Infinity;
  state: CandidateInfo['state'] = 'new';
  failedAt = -Infinity;
  /** Failures in a row: the cooldown doubles with each (up to 60 s). */
  failures = 0;
  constructor(readonly peerId: string, readonly source: ProviderInfo['source']) {}
  fail(): void { this.state = 'failed'; this.failedAt = now(); this.failures++; }
  cooldown(base: number): number { return Math.min(60_000, base * 2 ** Math.max(0, this.failures - 1)); }
}

interface Active {
  cand: Cand;
  conn: Connection;
}

type Opts = Required<Omit<MeshConnectOptions, 'prefer' | 'rpc' | 'name'>> & { prefer: string | undefined; rpc: ConnectionOptions };

function now(): number { return performance.now(); }

/** @internal The providers of one cell as a connection source: find, race, connect, re-race. */
export class ProviderRace implements ConnectionSource {
  private readonly name: string;
  private readonly o: Opts;
  private readonly cands = new Map<string, Cand>();
  private host: SourceHost | null = null;
  /** The provider whose connection the client uses (reported through host.up). */
  cur: Active | null = null;
  private connecting: Promise<Active> | null = null;
  private stopped = false;
  private readonly switchFns: ((from: string, to: string, reason: SwitchReason) => void)[] = [];
  private readonly closedFns: (() => void)[] = [];
  private raceTimer: ReturnType<typeof setInterval> | null = null;
  private racing = false;
  private raceTicks = 0;
  private lookup: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  private everFound = false;
  private readonly tried = new Set<string>();
  private lastError: unknown = null;
  /** The provider switched to last: the `from` of a failover (the dead one is no longer `cur`). */
  private lastPeer = '';

  constructor(private readonly node: ProviderDirectory, private readonly def: CellDef, opts: MeshConnectOptions) {
    this.name = opts.name ?? def.name;
    this.o = {
      timeoutMs: opts.timeoutMs ?? 10_000,
      raceIntervalMs: opts.raceIntervalMs ?? 2000,
      switchRatio: opts.switchRatio ?? 1.5,
      retry: opts.retry ?? 'unavailable',
      maxAttempts: Math.max(1, opts.maxAttempts ?? 3),
      rpc: opts.rpc ?? {},
      exclude: opts.exclude ?? [],
      prefer: opts.prefer,
      exactSchema: opts.exactSchema ?? false,
      probeTimeoutMs: opts.probeTimeoutMs ?? 2000,
      cooldownMs: opts.cooldownMs ?? 3000,
      local: opts.local ?? true,
    };
  }

  get timeoutMs(): number { return this.o.timeoutMs; }

  controls(): MeshControls {
    const self = this;
    return {
      get provider() { return self.cur?.cand.peerId ?? ''; },
      candidates: () => [...this.cands.values()].map((x) => ({ peerId: x.peerId, source: x.source, rttMs: x.rttMs, load: x.load, score: x.score, state: x.state })),
      rerace: () => this.rerace(),
      onSwitch: (fn) => { this.switchFns.push(fn); return () => { const i = this.switchFns.indexOf(fn); if (i >= 0) this.switchFns.splice(i, 1); }; },
    };
  }

  // ---- ConnectionSource ----------------------------------------------------------------------

  start(host: SourceHost): void {
    this.host = host;
    this.startLookup();
    if (this.o.raceIntervalMs > 0) {
      this.raceTimer = setInterval(() => { void this.tick(); }, this.o.raceIntervalMs);
      this.raceTimer.unref?.();
    }
  }

  demand(): void {
    if (this.stopped || this.connecting !== null) return;
    const a = this.cur;
    if (a !== null && a.conn.isOpen) { this.host!.up(a.conn); return; }
    this.connecting = this.connectBest().finally(() => { this.connecting = null; });
    this.connecting.then((b) => { this.host!.up(b.conn); }, (e: unknown) => { this.host!.searchFailed(e); });
  }

  dropped(conn: Connection, why: 'failed' | 'closed'): void {
    const a = this.cur;
    if (a === null || a.conn !== conn) { void conn.close(); return; }
    this.cur = null;
    if (why === 'failed' || !conn.isOpen) a.cand.fail();
    void conn.close();
  }

  overloaded(): void { void this.rerace(); }

  unavailable(waitedMs?: number): CellError {
    const cause = this.everFound ? ERR_MESH_DIAL_FAILED : ERR_MESH_NO_PROVIDERS;
    const why = this.everFound ? `no provider of "${this.name}" answered` : `no provider of "${this.name}" found`;
    return new CellError(ERR_RPC_UNAVAILABLE, `${why} within ${waitedMs ?? this.o.timeoutMs} ms`, { cell: this.name, cause, tried: [...this.tried], ...(this.lastError !== null ? { last: (this.lastError as Error).message } : {}) });
  }

  async stop(graceful: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.raceTimer !== null) clearInterval(this.raceTimer);
    this.raceTimer = null;
    this.abort.abort();
    this.wake?.();
    const a = this.cur;
    this.cur = null;
    if (a !== null) await (graceful ? a.conn.goodbye() : a.conn.close());
    for (const f of this.closedFns) f();
  }

  onStopped(fn: () => void): void { this.closedFns.push(fn); }

  // ---- finding -----------------------------------------------------------------------------

  private addCandidate = (p: ProviderInfo): void => {
    if (this.o.exclude.includes(p.peerId)) return;
    if (p.source === 'local' && !this.o.local) return;
    let c = this.cands.get(p.peerId);
    if (c === undefined) { c = new Cand(p.peerId, p.source); this.cands.set(p.peerId, c); }
    else if (c.state === 'gone') c.state = 'new';
    this.everFound = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  };

  private startLookup(dht = true): void {
    if (this.lookup !== null || this.stopped) return;
    const schema = this.o.exactSchema ? schemaId(this.def) : undefined;
    this.lookup = this.node.findProviders(this.name, this.addCandidate, { timeoutMs: this.o.timeoutMs, signal: this.abort.signal, schema, dht })
      .catch(() => {})
      .finally(() => { this.lookup = null; const w = this.wake; this.wake = null; w?.(); });
  }

  private usable(): Cand[] {
    const t = now();
    return [...this.cands.values()].filter((c) => (c.state === 'new' || c.state === 'ok' || (c.state === 'failed' && t - c.failedAt >= c.cooldown(this.o.cooldownMs))));
  }

  private closedError(): CellError { return new CellError(RpcCode.Closed, 'the mesh client is closed'); }

  private async connectBest(): Promise<Active> {
    const deadline = now() + this.o.timeoutMs;
    const reason: SwitchReason = this.tried.size === 0 ? 'initial' : 'failover';
    for (;;) {
      if (this.stopped) throw this.closedError();
      const left = deadline - now();
      const usable = this.usable();
      if (usable.length === 0) {
        if (left <= 0) throw this.unavailable();
        if (this.lookup === null) {
          // Nothing left to try: look again (a provider may have appeared), or wait out a cooldown.
          const failed = [...this.cands.values()].filter((c) => c.state === 'failed');
          const wait = failed.length > 0 ? Math.min(...failed.map((c) => c.failedAt + c.cooldown(this.o.cooldownMs) - now())) : 200;
          await this.waitWake(Math.max(5, Math.min(wait, left, 500)));
          if (this.usable().length === 0) this.startLookup();
        } else {
          await this.waitWake(Math.min(left, 500));
        }
        continue;
      }
      if (this.o.prefer !== undefined && !this.cands.has(this.o.prefer) && this.lookup !== null && reason === 'initial' && left > 0) {
        await this.waitWake(Math.min(left, 500)); // a preferred provider is waited for while the lookup runs
        continue;
      }
      const ranked = await this.raceProbes(usable, Math.min(this.o.probeTimeoutMs, Math.max(1, left)));
      for (const c of ranked) {
        if (this.stopped) break;
        this.tried.add(c.peerId);
        try {
          const a = await this.connectTo(c, Math.max(1, deadline - now()));
          if (this.stopped) { void a.conn.close(); throw this.closedError(); }
          const from = this.cur?.cand.peerId ?? this.lastPeer;
          this.cur = a;
          this.emitSwitch(from, c.peerId, reason);
          return a;
        } catch (e) {
          if (this.stopped) throw this.closedError();
          if (c.state !== 'incompatible') c.fail();
          this.lastError = e;
        }
      }
      if (now() >= deadline) throw this.unavailable();
    }
  }

  private waitWake(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(() => { this.wake = null; res(); }, ms);
      t.unref?.();
      this.wake = () => { clearTimeout(t); res(); };
    });
  }

  /**
   * Probe every candidate at once; resolve with those that answered, best score first, once all
   * answered or a short grace after the first answer (2× its RTT, at least 20 ms).
   */
  private raceProbes(cands: Cand[], timeoutMs: number): Promise<Cand[]> {
    return new Promise((resolve) => {
      let pending = cands.length;
      let done = false;
      const answered: Cand[] = [];
      let grace: ReturnType<typeof setTimeout> | null = null;
      const finish = (): void => {
        if (done) return;
        done = true;
        if (grace !== null) clearTimeout(grace);
        answered.sort((x, y) => x.score - y.score);
        if (this.o.prefer !== undefined) {
          const i = answered.findIndex((x) => x.peerId === this.o.prefer);
          if (i > 0) answered.unshift(...answered.splice(i, 1));
        }
        resolve(answered);
      };
      // A preferred provider is waited for (up to the probe deadline), not raced.
      let waitFor = cands.some((c) => c.peerId === this.o.prefer) ? 1 : 0;
      const settled = (c: Cand): void => {
        if (c.peerId === this.o.prefer) { waitFor = 0; if (answered.length > 0 && grace === null) finish(); }
        if (--pending === 0) finish();
      };
      for (const c of cands) {
        this.probe(c, timeoutMs).then((ok) => {
          if (ok) {
            answered.push(c);
            if (answered.length === 1 && pending > 1 && waitFor === 0) { grace = setTimeout(finish, Math.max(20, 2 * c.rttMs)); grace.unref?.(); }
          }
          settled(c);
        }, () => settled(c));
      }
      if (cands.length === 0) finish();
    });
  }

  /** One probe: updates the candidate's RTT, load and score. False when it failed or does not provide the cell. */
  private async probe(c: Cand, timeoutMs: number): Promise<boolean> {
    try {
      const r = await this.node.probe(c.peerId, this.name, { timeoutMs });
      if (r.load === null) { c.state = 'gone'; c.score = Infinity; return false; }
      c.rttMs = Number.isNaN(c.rttMs) ? r.rttMs : 0.5 * c.rttMs + 0.5 * r.rttMs;
      c.load = r.load;
      if (c.state !== 'ok') c.state = 'new'; // answered: a failed provider is back in the race
      c.score = this.scoreOf(c);
      return r.load.up;
    } catch {
      c.fail();
      c.score = Infinity;
      return false;
    }
  }

  /** RTT weighted by queueing: our own calls on the current provider do not count against it. */
  private scoreOf(c: Cand): number {
    const l = c.load;
    if (l === null || !l.up) return Infinity;
    const ours = this.cur !== null && this.cur.cand === c ? this.cur.conn.inFlight : 0;
    const others = Math.max(0, l.inFlight - ours);
    return (c.rttMs + 0.05) * (1 + others / Math.max(1, l.connections * 16));
  }

  private async connectTo(c: Cand, timeoutMs: number): Promise<Active> {
    const link = c.peerId === this.node.peerId
      ? this.node.localLink(this.name)
      : await this.node.openLink(c.peerId, this.name, { timeoutMs });
    if (link === null) { c.state = 'gone'; throw new CellError(ERR_MESH_DIAL_FAILED, 'the local provider stopped'); }
    const conn = new Connection(link, { call: this.def }, { ...this.o.rpc, helloTimeoutMs: Math.min(this.o.rpc.helloTimeoutMs ?? 5000, timeoutMs) });
    try {
      const h = await conn.ready;
      const keys = new Set(h.entries.map((e) => e.key));
      const mine = this.def.entries;
      // The HELLO names the cell as it is built (def.name), whatever name it is announced under.
      const built = this.def.name;
      const compatible = h.entries.length === 0 ? h.cellName === '' || h.cellName === built || h.cellName === this.name
        : (h.cellName === built || (mine.length === 0 && h.cellName !== '')) && (mine.length === 0 || mine.some((e) => keys.has(e.key)));
      if (!compatible) {
        c.state = 'incompatible';
        throw new CellError(RpcCode.SchemaMismatch, `provider ${c.peerId} serves "${h.cellName}" with none of this client's keys`);
      }
    } catch (e) {
      await conn.close();
      throw e;
    }
    c.state = 'ok';
    c.failures = 0;
    return { cand: c, conn };
  }

  private emitSwitch(from: string, to: string, reason: SwitchReason): void {
    this.lastPeer = to;
    for (const f of this.switchFns) { try { f(from, to, reason); } catch { /* listener's problem */ } }
  }

  // ---- re-racing ---------------------------------------------------------------------------

  private async tick(): Promise<void> {
    if (this.racing || this.stopped || this.cur === null) return;
    this.racing = true;
    try {
      // Peers that learnt the cell since (identify), every tick; the DHT every 10th.
      await this.node.findProviders(this.name, this.addCandidate, { dht: false }).catch(() => {});
      if (++this.raceTicks % 10 === 0) this.startLookup();
      await this.raceOnce();
    } finally {
      this.racing = false;
    }
  }

  async rerace(): Promise<void> {
    if (this.stopped) return;
    if (this.cur === null) {
      this.demand();
      await this.connecting?.catch(() => {});
      return;
    }
    await this.raceOnce();
  }

  private async raceOnce(): Promise<void> {
    const cur = this.cur;
    if (cur === null) return;
    const cands = this.usable();
    if (!cands.includes(cur.cand)) cands.push(cur.cand);
    await Promise.all(cands.map((c) => this.probe(c, this.o.probeTimeoutMs)));
    if (this.stopped || this.cur !== cur) return;
    for (const c of cands) c.score = this.scoreOf(c);
    let best: Cand | null = null;
    for (const c of cands) if (c !== cur.cand && (c.state === 'new' || c.state === 'ok') && (best === null || c.score < best.score)) best = c;
    const curScore = cur.cand.state === 'failed' ? Infinity : cur.cand.score;
    if (best === null || !(best.score * this.o.switchRatio < curScore)) return;
    let next: Active;
    try {
      next = await this.connectTo(best, this.o.timeoutMs);
    } catch {
      if (best.state !== 'incompatible') best.fail();
      return;
    }
    if (this.stopped || this.cur !== cur) { void next.conn.close(); return; }
    this.cur = next;
    this.host!.up(next.conn);
    this.emitSwitch(cur.cand.peerId, best.peerId, 'latency');
    // Calls in flight on the old provider finish there; then the connection closes.
    void cur.conn.goodbye();
  }
}

/** A mesh client being started: its owner (the node) can close it before it is ready. */
export interface MeshClientHandle<D extends CellDef> {
  readonly client: MeshClient<D>;
  /** Resolves once the first provider is connected; rejects Unavailable after `timeoutMs`. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** A supervised client of `def` over the providers that `node` finds (`onStopped` runs once it is closed). */
export function startMeshClient<D extends CellDef>(node: ProviderDirectory, def: D, opts: MeshConnectOptions = {}, onStopped?: () => void): MeshClientHandle<D> {
  const race = new ProviderRace(node, def, opts);
  if (onStopped !== undefined) race.onStopped(onStopped);
  const sup = new Supervisor(def, race, { whileDown: 'wait', waitMs: race.timeoutMs, retry: opts.retry ?? 'unavailable', maxAttempts: opts.maxAttempts ?? 3, what: 'the mesh client' });
  const client = sup.facade({ mesh: race.controls() });
  return { client, ready: sup.whenReady(race.timeoutMs), close: () => sup.close(false) };
}
