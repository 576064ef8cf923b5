// A typed client of a cell found by name in the mesh (docs/mesh.md §3): find providers, race them
// (an RTT probe plus the load each advertises), keep the best, re-race when latency or load
// drifts, fail over to the next one when the current provider dies, and retry the calls that had
// no answer (Unavailable, Closed by the provider, Overloaded) unless `retry: 'none'`.
import { sendViaPromise, unaryMethod, type Client, type ClientControls } from '../rpc/api.ts';
import type { CellDef } from '../rpc/define.ts';
import { Connection, type CallOptions, type ConnectionOptions, type SendCallback, type StreamOptions } from '../rpc/connection.ts';
import { RpcCode } from '../rpc/errors.ts';
import type { Link } from '../transports/link.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_MESH_DIAL_FAILED, ERR_MESH_NO_PROVIDERS, ERR_RPC_UNAVAILABLE } from '../wire/errors.ts';
import { schemaId } from './keys.ts';
import type { MeshLoad, MeshNode, ProviderInfo } from './node.ts';

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

/** A typed client (docs/rpc.md §1) routed to the best provider, plus `mesh`. */
export type MeshClient<D extends CellDef> = Client<D> & { readonly mesh: MeshControls };

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
  link: Link;
  /** Call entries by the index of the method/stream in `names`. */
  entries: ReturnType<Connection['callEntry']>[];
}

type Sub = { event: string; fn: (v: unknown) => void };

function now(): number { return performance.now(); }
const sleep = (ms: number): Promise<void> => new Promise((r) => { const t = setTimeout(r, ms); t.unref?.(); });

/** @internal The machinery behind a MeshClient. */
export class MeshClientCore<D extends CellDef> {
  readonly client: MeshClient<D>;
  private readonly node: MeshNode;
  private readonly def: D;
  private readonly name: string;
  private readonly o: Required<Omit<MeshConnectOptions, 'prefer' | 'rpc'>> & { prefer: string | undefined; rpc: ConnectionOptions };
  private readonly names: string[] = [];
  private readonly cands = new Map<string, Cand>();
  private cur: Active | null = null;
  private connecting: Promise<Active> | null = null;
  private closed = false;
  private readonly subs: Sub[] = [];
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

  constructor(node: MeshNode, def: D, opts: MeshConnectOptions) {
    this.node = node;
    this.def = def;
    this.name = def.name;
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
    this.client = this.buildClient();
  }

  // ---- the client object -------------------------------------------------------------------

  private buildClient(): MeshClient<D> {
    const c: Record<string, unknown> = {};
    for (const info of this.def.entries) {
      if (info.kind === 'event') continue;
      const i = this.names.length;
      this.names.push(info.name);
      if (info.kind === 'method') {
        const call = (req: unknown, o?: CallOptions): Promise<unknown> => this.call(i, req, o, 1);
        c[info.name] = unaryMethod(call, (req, done, o) => this.send(i, req, done, o, call));
      }
      else c[info.name] = (req: unknown, o?: StreamOptions) => this.openStream(i, req, o);
    }
    const controls: Omit<ClientControls<D>, 'peer' | 'stats' | 'connection'> = {
      on: ((ev: string, fn: (v: unknown) => void) => this.on(ev, fn)) as ClientControls<D>['on'],
      off: ((ev: string, fn: (v: unknown) => void) => this.off(ev, fn)) as ClientControls<D>['off'],
      close: () => this.close(),
      goodbye: () => this.goodbye(),
      describe: async (o?: CallOptions) => (await this.ensure()).conn.describe(o) as never,
    };
    Object.assign(c, controls);
    const self = this;
    Object.defineProperty(c, 'peer', { get: () => self.cur?.conn.peer ?? null, enumerable: true });
    Object.defineProperty(c, 'stats', { get: () => self.cur?.conn.stats, enumerable: true });
    Object.defineProperty(c, 'connection', { get: () => self.cur?.conn ?? null, enumerable: true });
    const mesh: MeshControls = {
      get provider() { return self.cur?.cand.peerId ?? ''; },
      candidates: () => [...this.cands.values()].map((x) => ({ peerId: x.peerId, source: x.source, rttMs: x.rttMs, load: x.load, score: x.score, state: x.state })),
      rerace: () => this.rerace(),
      onSwitch: (fn) => { this.switchFns.push(fn); return () => { const i = this.switchFns.indexOf(fn); if (i >= 0) this.switchFns.splice(i, 1); }; },
    };
    c.mesh = mesh;
    return Object.freeze(c) as unknown as MeshClient<D>;
  }

  /**
   * `send`: straight on the current provider's connection when there is one (a failure that may
   * be retried goes on as `call` does), else through `call` while a provider is found.
   */
  private send(i: number, req: unknown, done: SendCallback, o: CallOptions | undefined, call: (req: unknown, o?: CallOptions) => Promise<unknown>): void {
    const a = this.cur;
    if (a === null || !a.conn.isOpen) { sendViaPromise(call)(req, done, o); return; }
    if (this.o.retry === 'none') { a.conn.callBack(a.entries[i]!, req, done, o); return; }
    a.conn.callBack(a.entries[i]!, req, (err, res) => {
      if (err === null) { done(null, res); return; }
      this.retryCall(err, a, i, req, o, 1, undefined).then((r) => { done(null, r); }, (e: unknown) => { done(e, undefined); });
    }, o);
  }

  /** Unary call on the current provider; retried on the next one when it had no answer. */
  private call(i: number, req: unknown, o: CallOptions | undefined, attempt: number, untilMs?: number): Promise<unknown> {
    const a = this.cur;
    if (a === null || !a.conn.isOpen) return this.slowCall(i, req, o, attempt, untilMs);
    const p = a.conn.call(a.entries[i]!, req, o);
    if (this.o.retry === 'none') return p;
    return p.then(undefined, (e: unknown) => this.retryCall(e, a, i, req, o, attempt, untilMs));
  }

  /**
   * No provider connected: wait for one, but no longer than the call's own deadline (else the
   * client's timeoutMs) — a call with `deadlineMs: 3000` ends in about 3 s even while the client
   * re-races for longer (the connecting goes on for the calls after it).
   */
  private async slowCall(i: number, req: unknown, o: CallOptions | undefined, attempt: number, untilMs?: number): Promise<unknown> {
    const until = untilMs ?? now() + (o?.deadlineMs ?? this.o.timeoutMs);
    const a = await this.ensureUntil(until, o?.signal);
    if (!a.conn.isOpen && this.cur === a) this.drop(a, 'closed');
    return this.call(i, req, o, attempt, until);
  }

  private ensureUntil(untilMs: number, signal: AbortSignal | undefined): Promise<Active> {
    return new Promise<Active>((resolve, reject) => {
      let over = false;
      const finish = (): boolean => {
        if (over) return false;
        over = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const timer = setTimeout(() => {
        if (finish()) reject(new CellError(ERR_RPC_UNAVAILABLE, `no provider of "${this.name}" connected within the call's deadline`, { cell: this.name, cause: this.everFound ? ERR_MESH_DIAL_FAILED : ERR_MESH_NO_PROVIDERS, tried: [...this.tried] }));
      }, Math.max(1, untilMs - now()));
      const onAbort = (): void => { if (finish()) reject(new CellError(RpcCode.Cancelled, 'the call was aborted while waiting for a provider')); };
      if (signal?.aborted === true) { onAbort(); return; }
      signal?.addEventListener('abort', onAbort, { once: true });
      // A search already under way (begun for an earlier call, or in the background after the
      // provider dropped) keeps its own deadline, which can come before this call's: when it
      // gives up, search again for as long as this call may still wait.
      const attempt = (): void => {
        this.ensure().then((a) => { if (finish()) resolve(a); }, (e: unknown) => {
          if (over) return;
          const closed = this.closed || (e as { code?: number }).code === RpcCode.Closed;
          if (closed || untilMs - now() <= 0) { if (finish()) reject(e); return; }
          setTimeout(attempt, 20);
        });
      };
      attempt();
    });
  }

  private retryCall(e: unknown, a: Active, i: number, req: unknown, o: CallOptions | undefined, attempt: number, untilMs: number | undefined): Promise<unknown> {
    const code = (e as { code?: number }).code;
    const retryable = code === RpcCode.Unavailable || code === RpcCode.Overloaded || (code === RpcCode.Closed && !this.closed);
    if (!retryable || this.closed || attempt >= this.o.maxAttempts || o?.signal?.aborted === true) return Promise.reject(e);
    if (untilMs !== undefined && now() >= untilMs) return Promise.reject(e);
    if (code === RpcCode.Overloaded) {
      void this.rerace();
      return sleep(2 * attempt).then(() => this.call(i, req, o, attempt + 1, untilMs));
    }
    if (this.cur === a) this.drop(a, code === RpcCode.Unavailable ? 'failed' : 'closed');
    return this.slowCall(i, req, o, attempt + 1, untilMs);
  }

  private openStream(i: number, req: unknown, o: StreamOptions | undefined): AsyncIterableIterator<unknown> {
    const a = this.cur;
    if (a !== null && a.conn.isOpen) return a.conn.openStream(a.entries[i]!, req, o);
    const self = this;
    return (async function* () {
      const b = await self.ensure();
      yield* b.conn.openStream(b.entries[i]!, req, o);
    })();
  }

  private on(event: string, fn: (v: unknown) => void): () => void {
    if (!this.def.entries.some((e) => e.kind === 'event' && e.name === event)) throw new TypeError(`no event "${event}"`);
    this.subs.push({ event, fn });
    this.cur?.conn.on(event, fn);
    return () => this.off(event, fn);
  }

  private off(event: string, fn: (v: unknown) => void): void {
    const i = this.subs.findIndex((s) => s.event === event && s.fn === fn);
    if (i >= 0) this.subs.splice(i, 1);
    this.cur?.conn.off(event, fn);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** @internal Find, race, connect; then re-race periodically. Rejects Unavailable (401) when none answers. */
  async start(): Promise<void> {
    this.startLookup();
    await this.ensure();
    if (this.o.raceIntervalMs > 0) {
      this.raceTimer = setInterval(() => { void this.tick(); }, this.o.raceIntervalMs);
      this.raceTimer.unref?.();
    }
  }

  onClosed(fn: () => void): void { this.closedFns.push(fn); }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdownTimers();
    const a = this.cur;
    this.cur = null;
    if (a !== null) await a.conn.close();
    for (const f of this.closedFns) f();
  }

  async goodbye(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdownTimers();
    const a = this.cur;
    this.cur = null;
    if (a !== null) await a.conn.goodbye();
    for (const f of this.closedFns) f();
  }

  private shutdownTimers(): void {
    if (this.raceTimer !== null) clearInterval(this.raceTimer);
    this.raceTimer = null;
    this.abort.abort();
    this.wake?.();
  }

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
    if (this.lookup !== null || this.closed) return;
    const schema = this.o.exactSchema ? schemaId(this.def) : undefined;
    this.lookup = this.node.findProviders(this.name, this.addCandidate, { timeoutMs: this.o.timeoutMs, signal: this.abort.signal, schema, dht })
      .catch(() => {})
      .finally(() => { this.lookup = null; const w = this.wake; this.wake = null; w?.(); });
  }

  private usable(): Cand[] {
    const t = now();
    return [...this.cands.values()].filter((c) => (c.state === 'new' || c.state === 'ok' || (c.state === 'failed' && t - c.failedAt >= c.cooldown(this.o.cooldownMs))));
  }

  /** The current provider, connecting to the best one first if there is none. */
  private ensure(): Promise<Active> {
    const a = this.cur;
    if (a !== null && a.conn.isOpen) return Promise.resolve(a);
    if (this.closed) return Promise.reject(new CellError(RpcCode.Closed, 'the mesh client is closed'));
    this.connecting ??= this.connectBest().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async connectBest(): Promise<Active> {
    const deadline = now() + this.o.timeoutMs;
    const reason: SwitchReason = this.tried.size === 0 ? 'initial' : 'failover';
    for (;;) {
      if (this.closed) throw new CellError(RpcCode.Closed, 'the mesh client is closed');
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
        if (this.closed) break;
        this.tried.add(c.peerId);
        try {
          const a = await this.connectTo(c, Math.max(1, deadline - now()));
          const from = this.cur?.cand.peerId ?? '';
          this.cur = a;
          this.emitSwitch(from, c.peerId, reason);
          return a;
        } catch (e) {
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

  private unavailable(): CellError {
    const cause = this.everFound ? ERR_MESH_DIAL_FAILED : ERR_MESH_NO_PROVIDERS;
    const why = this.everFound ? `no provider of "${this.name}" answered` : `no provider of "${this.name}" found`;
    return new CellError(ERR_RPC_UNAVAILABLE, `${why} within ${this.o.timeoutMs} ms`, { cell: this.name, cause, tried: [...this.tried], ...(this.lastError !== null ? { last: (this.lastError as Error).message } : {}) });
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
        const cur = this.cur;
        answered.sort((x, y) => x.score - y.score);
        if (this.o.prefer !== undefined) {
          const i = answered.findIndex((x) => x.peerId === this.o.prefer);
          if (i > 0) answered.unshift(...answered.splice(i, 1));
        }
        void cur;
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
      const compatible = h.entries.length === 0 ? h.cellName === '' || h.cellName === this.name
        : h.cellName === this.name && (mine.length === 0 || mine.some((e) => keys.has(e.key)));
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
    const a: Active = { cand: c, conn, link, entries: this.names.map((n) => conn.callEntry(n)) };
    for (const s of this.subs) conn.on(s.event, s.fn);
    conn.onClose((err) => this.onConnClosed(a, err));
    return a;
  }

  private onConnClosed(a: Active, err: CellError | null): void {
    if (this.cur !== a) return;
    this.drop(a, err === null ? 'closed' : 'failed');
  }

  /** Stop using `a`: mark its provider failed, reconnect in the background when events are wanted. */
  private drop(a: Active, why: 'failed' | 'closed'): void {
    if (this.cur === a) this.cur = null;
    if (why === 'failed' || !a.conn.isOpen) a.cand.fail();
    void a.conn.close();
    if (!this.closed && this.subs.length > 0) void this.ensure().catch(() => {});
  }

  private emitSwitch(from: string, to: string, reason: SwitchReason): void {
    for (const f of this.switchFns) { try { f(from, to, reason); } catch { /* listener's problem */ } }
  }

  // ---- re-racing ---------------------------------------------------------------------------

  private async tick(): Promise<void> {
    if (this.racing || this.closed || this.cur === null) return;
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
    if (this.closed) return;
    if (this.cur === null) { await this.ensure(); return; }
    await this.raceOnce();
  }

  private async raceOnce(): Promise<void> {
    const cur = this.cur;
    if (cur === null) return;
    const cands = this.usable();
    if (!cands.includes(cur.cand)) cands.push(cur.cand);
    await Promise.all(cands.map((c) => this.probe(c, this.o.probeTimeoutMs)));
    if (this.closed || this.cur !== cur) return;
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
    if (this.closed || this.cur !== cur) { void next.conn.close(); return; }
    this.cur = next;
    this.emitSwitch(cur.cand.peerId, best.peerId, 'latency');
    // Calls in flight on the old provider finish there; then the connection closes.
    void cur.conn.goodbye();
  }
}
