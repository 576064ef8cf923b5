// CAN device sessions (docs/can.md §"Devices", docs/gateway.md §9): the session layer above one
// CanBus, the CAN counterpart of src/uart/sessions.ts + src/gateway/device.ts. `CanDevices` learns
// which nodes are on the bus — from the HELLO each device broadcasts when it boots, and from the
// answers to a probe HELLO it sends to configured node ids and to nodes that went silent — and
// offers one `CanDevice` per node: a LinkListener that hands out a fresh CanPeerLink (wrapped in a
// `CanSession`) per session, so `serve`, `connect`, the mesh proxy (provideProxy) and the
// supervised client (client.ts) work on it as on UART sessions.
//
// The HELLO rules are those of the firmware (docs/uart.md §2): a device broadcasts one unflagged
// HELLO when it boots and answers every HELLO it gets with its own, flagged ANSWER. So:
//   - a flagged HELLO never ends a session (it answers ours, however late);
//   - an unflagged HELLO after the session's first one means the device restarted: the session
//     ends (calls in flight fail Unavailable) and a new one starts — with a probe first, since the
//     device may have been reflashed;
//   - a session its user closes (the heartbeat found the node silent, no HELLO came back) means the
//     node is lost: 'lost', then a probe HELLO at once and every `probeIntervalMs` until the node
//     answers (or broadcasts again) → 'identified' again and sessions resume.
// Frames from a node with no session (late answers, another node calling us) open a link on the
// bus (CanBus.onPeer); it is kept only when it carries a HELLO that this layer acts on.
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_LINK_IO } from '../wire/errors.ts';
import { connect, defineCell, type HelloInfo } from '../rpc/index.ts';
import type { CellDescription } from '../codec/schema-json.ts';
import { LinkStats, type Link, type LinkCapabilities, type LinkHandlers, type LinkListener } from '../transports/link.ts';
import type { CanBus, CanPeerLink } from '../transports/can/bus.ts';

/** An empty cell: enough to say HELLO and ask describe(). */
const PROBE = defineCell({ name: 'cell_gateway' });

/** Who a device node is (structurally a gateway DeviceIdentity: `path` is the device's address). */
export interface CanDeviceIdentity {
  /** The device's cell name (its HELLO). */
  readonly name: string;
  readonly hello: HelloInfo;
  /** describe() of the device, or null when it does not serve it (firmware: 403). */
  readonly description: CellDescription | null;
  /** `<driver name>:<node>`, e.g. "can0:10" or "slcan:/dev/ttyACM0:10". */
  readonly path: string;
  readonly node: number;
}

/**
 * 'found': a node became known (configured, or its first HELLO); 'identified': a probe read its
 * HELLO (first time, after a restart, after it was lost); 'restarted': a session ended because
 * the node booted again; 'lost': the node went silent (or the bus closed); 'probe-failed': no
 * HELLO in time (reported once per silent spell).
 */
export type CanDeviceState = 'found' | 'identified' | 'restarted' | 'lost' | 'probe-failed';
export type CanDeviceStateListener = (state: CanDeviceState, detail: CellError | CanDeviceIdentity | null) => void;
export type CanIdentityListener = (id: CanDeviceIdentity, again: boolean) => void;

export interface CanDevicesOptions {
  /** Node ids to probe from the start (static configuration), besides those that broadcast a HELLO. */
  nodes?: readonly number[];
  /** Take in nodes that are not in `nodes` when they broadcast a HELLO. @default true */
  learn?: boolean;
  /** Announce a node's cell under another name (`[[can.device]] name`). */
  names?: ReadonlyMap<number, string> | Readonly<Record<number, string>>;
  /** How often a node that is configured but silent, or was lost, gets a probe HELLO. @default 5000 */
  probeIntervalMs?: number;
  /** A probe's wait for the node's HELLO (and describe()). @default 1000 */
  probeTimeoutMs?: number;
  /** A consumer's session that has no HELLO from the node after this long ends (the node is lost). @default 2 × probeTimeoutMs */
  helloTimeoutMs?: number;
  /** Ask describe() in the probe. @default true */
  describe?: boolean;
  /** Nodes taken in by `learn`, at most (a flood of foreign ids cannot grow memory). @default 64 */
  maxDevices?: number;
}

type SessionEnd = 'user' | 'restart' | 'silent' | 'bus' | 'ours';

/**
 * One session with a device node: the Link a Connection (or the mesh proxy) sees. A fresh
 * CanPeerLink underneath; closing the session closes it (the node's next session gets a new one).
 */
export class CanSession implements Link {
  readonly caps: LinkCapabilities;
  /** The node's id on the bus. */
  readonly node: number;
  /** The HELLO of this session came (flagged or not). */
  gotHello = false;
  /** @internal Why it ended, when this layer ended it. */
  endReason: SessionEnd | null = null;
  /** @internal */ readonly probe: boolean;
  private handlers: LinkHandlers | null = null;
  private closedFlag = false;

  /** @internal */
  constructor(readonly device: CanDevice, readonly link: CanPeerLink, probe: boolean, gotHello: boolean) {
    this.caps = link.caps;
    this.node = link.node;
    this.probe = probe;
    this.gotHello = gotHello;
  }

  get stats(): LinkStats { return this.link.stats; }
  get closed(): boolean { return this.closedFlag; }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    this.link.start({
      onFrame: (buf, off, len) => { if (!this.closedFlag) handlers.onFrame(buf, off, len); },
      onClose: (err) => this.linkClosed(err),
      onDrain: () => { if (!this.closedFlag) handlers.onDrain?.(); },
      onBackpressure: () => handlers.onBackpressure?.(),
    });
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    if (this.closedFlag) { this.link.stats.dropped++; return false; }
    return this.link.send(frame, len);
  }

  /** End this session (the node stays known; what comes next depends on why: see the file comment). */
  close(): void {
    if (this.closedFlag) return;
    if (this.endReason === null) this.endReason = 'user';
    this.link.close();
    if (this.handlers === null) this.linkClosed(null); // never started: no onClose from the link
  }

  /** @internal End it with `err` (calls in flight fail Unavailable). */
  end(reason: SessionEnd, err: CellError): void {
    if (this.closedFlag) return;
    this.endReason = reason;
    this.link.closeWith(err);
    if (this.handlers === null) this.linkClosed(err);
  }

  private linkClosed(err: CellError | null): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.endReason === null) this.endReason = this.device.owner.bus.closed ? 'bus' : 'user';
    try { this.handlers?.onClose(err); } finally { this.device.sessionEnded(this); }
  }
}

/** The counters of one spell of a node being up: the sessions of that spell added up (the gateway's "port"). */
class UpSpell {
  private readonly done = new LinkStats();
  current: CanSession | null = null;
  add(s: CanSession): void {
    const a = this.done as unknown as Record<string, number>;
    const b = s.link.stats as unknown as Record<string, number>;
    for (const k of Object.keys(a)) a[k]! += b[k] ?? 0;
  }
  get stats(): LinkStats {
    const s = this.current;
    if (s === null || s.closed) return this.done;
    const out = new LinkStats();
    const o = out as unknown as Record<string, number>;
    const a = this.done as unknown as Record<string, number>;
    const b = s.link.stats as unknown as Record<string, number>;
    for (const k of Object.keys(o)) o[k] = (a[k] ?? 0) + (b[k] ?? 0);
    return out;
  }
}

/**
 * One device node on the bus as a LinkListener: each session (after the probe that identifies
 * the node) goes to `onLink`. Links that arrive before a consumer is set wait: a session starts
 * when one is set.
 */
export class CanDevice implements LinkListener {
  readonly isListener = true as const;
  readonly node: number;
  /** The last probe's result (kept while the node is away). */
  identity: CanDeviceIdentity | null = null;
  /** 'unknown' (configured, never heard), 'up' (identified, sessions run), 'lost' (silent). */
  status: 'unknown' | 'up' | 'lost' = 'unknown';
  probes = 0;
  probeFailures = 0;
  sessionCount = 0;
  /** Times the node booted while a session ran. */
  restarts = 0;
  private consumer: ((link: Link) => void) | null = null;
  private current: CanSession | null = null;
  private needProbe = true;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  private helloTimer: ReturnType<typeof setTimeout> | null = null;
  private failedThisSpell = false;
  private lastProbeAt = -Infinity;
  private spell: UpSpell | null = null;
  private closing = false;
  private readonly identityFns = new Set<CanIdentityListener>();
  private readonly stateFns = new Set<CanDeviceStateListener>();

  /** @internal */
  constructor(readonly owner: CanDevices, node: number, readonly announceAs: string | undefined) {
    this.node = node;
  }

  get address(): string { return `${this.owner.bus.driver.name}:${this.node}`; }

  /** The session now running (probe or consumer's), or null. */
  get session(): CanSession | null { return this.current; }

  /**
   * For the gateway's counters: `port` is the current up-spell (its `stats` add up the sessions
   * of the spell), null while the node is not up.
   */
  get sessions(): { readonly port: { readonly stats: LinkStats } | null; readonly sessionCount: number } {
    return { port: this.status === 'up' ? this.spell : null, sessionCount: this.sessionCount };
  }

  get onLink(): ((link: Link) => void) | null { return this.consumer; }
  set onLink(fn: ((link: Link) => void) | null) {
    this.consumer = fn;
    if (fn !== null) this.next();
  }

  onIdentity(fn: CanIdentityListener): () => void {
    this.identityFns.add(fn);
    return () => this.identityFns.delete(fn);
  }

  onState(fn: CanDeviceStateListener): () => void {
    this.stateFns.add(fn);
    return () => this.stateFns.delete(fn);
  }

  /** Resolves once the node has been identified (the first time), or rejects Unavailable after timeoutMs. */
  whenIdentified(timeoutMs = Infinity): Promise<CanDeviceIdentity> {
    if (this.identity !== null) return Promise.resolve(this.identity);
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => { off(); reject(new CellError(401, `no cell answered at CAN node ${this.address} within ${timeoutMs} ms`, { path: this.address })); }, timeoutMs)
        : null;
      const off = this.onIdentity((id) => { if (timer !== null) clearTimeout(timer); off(); resolve(id); });
    });
  }

  /** Stop: no more sessions or probes; the current session ends (calls in flight fail Closed). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.clearTimers();
    const s = this.current;
    if (s !== null) s.end('ours', new CellError(ERR_LINK_CLOSED, `CAN node ${this.address}: closed`));
    this.owner.forget(this);
  }

  /** @internal */
  emit(s: CanDeviceState, d: CellError | CanDeviceIdentity | null): void {
    for (const fn of this.stateFns) { try { fn(s, d); } catch { /* a listener's bug is not ours */ } }
  }

  private clearTimers(): void {
    if (this.probeTimer !== null) { clearTimeout(this.probeTimer); this.probeTimer = null; }
    if (this.helloTimer !== null) { clearTimeout(this.helloTimer); this.helloTimer = null; }
  }

  /** @internal A HELLO from this node: the bus calls this before the frame reaches the session. */
  hello(answer: boolean): void {
    if (this.closing) return;
    const s = this.current;
    if (s !== null && !s.closed) {
      if (answer || !s.gotHello) {
        s.gotHello = true;
        if (!s.probe && this.helloTimer !== null) { clearTimeout(this.helloTimer); this.helloTimer = null; }
        return;
      }
      // An unflagged HELLO after the session's first: the node booted again.
      this.restarts++;
      this.needProbe = true;
      s.end('restart', new CellError(ERR_LINK_IO, `CAN node ${this.address} restarted (it broadcast a new HELLO)`, { node: this.node }));
      return;
    }
    // No session runs: the HELLO sits in a link the bus just opened (CanBus.onPeer). A node that
    // was lost or never heard, or that booted between two sessions, is probed on that link (the
    // probe reads the held HELLO at once) — after this delivery: the bus is inside the link's
    // receive path, whose header a send would overwrite. An answer right after a failed probe
    // (to that probe) does not start another one at once: the probe timer does.
    if (this.status === 'up' && answer) return;
    if (answer && performance.now() - this.lastProbeAt < this.owner.probeTimeoutMs) return;
    this.owner.keep(this.node);
    queueMicrotask(() => {
      if (this.current === null) this.probeNow(true);
      this.owner.release(this.node);
    });
  }

  /** @internal Start the next session if none runs: a probe when one is due, else the consumer's. */
  next(): void {
    if (this.closing || this.current !== null || this.owner.bus.closed) return;
    if (this.needProbe) {
      if (this.status === 'up') void this.probe(false); // after a restart (else the probe timer runs)
      return;
    }
    if (this.status !== 'up' || this.consumer === null) return;
    const s = this.open(false, false);
    const ms = this.owner.helloTimeoutMs;
    this.helloTimer = setTimeout(() => {
      this.helloTimer = null;
      if (this.current === s && !s.gotHello) s.end('silent', new CellError(ERR_LINK_IO, `no HELLO from CAN node ${this.address} within ${ms} ms`, { node: this.node }));
    }, ms);
  }

  /** @internal Probe now (configured node, periodic re-probe, or a HELLO arrived). */
  probeNow(gotHello = false): void {
    if (this.probeTimer !== null) { clearTimeout(this.probeTimer); this.probeTimer = null; }
    if (this.closing || this.current !== null || this.owner.bus.closed) return;
    this.needProbe = true;
    void this.probe(gotHello);
  }

  private open(probe: boolean, gotHello: boolean): CanSession {
    const link = this.owner.adopt(this.node);
    const s = new CanSession(this, link, probe, gotHello);
    this.current = s;
    if (!probe) {
      this.sessionCount++;
      if (this.spell !== null) this.spell.current = s;
      this.consumer!(s);
    }
    return s;
  }

  private async probe(gotHello: boolean): Promise<void> {
    this.probes++;
    this.lastProbeAt = performance.now();
    const ms = this.owner.probeTimeoutMs;
    const s = this.open(true, gotHello);
    let client;
    try {
      client = await connect(PROBE, s, { helloTimeoutMs: ms, heartbeatMs: 0, deadlineMs: ms });
    } catch (e) {
      // connect() closed the session (sessionEnded runs, and leaves the rest to us).
      if (this.closing) return;
      this.probeFailures++;
      const err = e instanceof CellError ? e : new CellError(401, String(e));
      const wasUp = this.status === 'up';
      if (wasUp) this.goLost(err);
      if (!this.failedThisSpell) { this.failedThisSpell = true; this.emit('probe-failed', err); }
      this.scheduleProbe();
      return;
    }
    const hello = client.peer!;
    let description: CellDescription | null = null;
    if (this.owner.describe) {
      try { description = (await client.describe({ deadlineMs: ms })) as CellDescription; } catch { /* 403 from firmware: no schema JSON */ }
    }
    if (this.closing) { await client.close(); return; }
    const again = this.identity !== null;
    this.identity = { name: hello.cellName, hello, description, path: this.address, node: this.node };
    this.needProbe = false;
    this.failedThisSpell = false;
    if (this.status !== 'up') this.spell = new UpSpell();
    this.status = 'up';
    s.endReason = 'ours';
    await client.close();
    if (this.current === s) this.current = null;
    this.emit('identified', this.identity);
    for (const fn of this.identityFns) { try { fn(this.identity, again); } catch { /* listener's bug */ } }
    this.next();
  }

  private scheduleProbe(): void {
    if (this.closing || this.probeTimer !== null || this.owner.bus.closed) return;
    this.probeTimer = setTimeout(() => { this.probeTimer = null; this.probeNow(); }, this.owner.probeIntervalMs);
  }

  private goLost(err: CellError): void {
    if (this.status !== 'up') return;
    this.status = 'lost';
    this.spell = null;
    this.needProbe = true;
    this.emit('lost', err);
  }

  /** @internal */
  sessionEnded(s: CanSession): void {
    if (this.current !== s) return;
    this.current = null;
    if (this.helloTimer !== null) { clearTimeout(this.helloTimer); this.helloTimer = null; }
    if (!s.probe) this.spell?.add(s);
    if (this.spell !== null && this.spell.current === s) this.spell.current = null;
    if (s.probe || this.closing) return; // the probe decides what follows
    switch (s.endReason) {
      case 'restart':
        this.emit('restarted', new CellError(ERR_LINK_IO, `CAN node ${this.address} restarted`, { node: this.node }));
        setImmediate(() => this.next());
        return;
      case 'bus':
        this.goLost(new CellError(ERR_LINK_IO, `the CAN bus ${this.owner.bus.driver.name} closed`));
        return;
      case 'ours':
        return;
      default: {
        // Its user closed it (heartbeat: the node is silent; or no HELLO came): lost until it answers a probe.
        this.goLost(new CellError(ERR_LINK_IO, s.endReason === 'silent'
          ? `no HELLO from CAN node ${this.address}`
          : `CAN node ${this.address} went silent (its session ended)`, { node: this.node }));
        setImmediate(() => this.probeNow());
      }
    }
  }

  /** @internal The bus closed. */
  busGone(): void {
    this.clearTimers();
    const s = this.current;
    if (s !== null && !s.closed) s.end('bus', new CellError(ERR_LINK_IO, `the CAN bus ${this.owner.bus.driver.name} closed`));
    this.goLost(new CellError(ERR_LINK_IO, `the CAN bus ${this.owner.bus.driver.name} closed`));
  }
}

/**
 * The device nodes of one CanBus. Takes the bus's `onPeer`, `onHello` and `onClose` (one
 * CanDevices per bus) and starts the bus.
 *
 *   const devices = new CanDevices(bus, { nodes: [10, 11] });
 *   devices.onDevice((dev) => serve... / node.provideProxy(...));
 *   const thermo = devices.device(10); // a LinkListener
 */
export class CanDevices {
  readonly bus: CanBus;
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  readonly helloTimeoutMs: number;
  readonly describe: boolean;
  /** Frames from nodes not taken in (learn off, or over maxDevices). */
  ignoredNodes = 0;
  private readonly byNode = new Map<number, CanDevice>();
  private readonly parked = new Map<number, CanPeerLink>();
  private readonly kept = new Set<CanPeerLink>();
  private readonly deviceFns = new Set<(dev: CanDevice) => void>();
  private readonly learn: boolean;
  private readonly maxDevices: number;
  private readonly names: Map<number, string>;
  private closed = false;

  constructor(bus: CanBus, opts: CanDevicesOptions = {}) {
    this.bus = bus;
    this.probeIntervalMs = opts.probeIntervalMs ?? 5000;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 1000;
    this.helloTimeoutMs = opts.helloTimeoutMs ?? 2 * this.probeTimeoutMs;
    this.describe = opts.describe ?? true;
    this.learn = opts.learn ?? true;
    this.maxDevices = opts.maxDevices ?? 64;
    const n = opts.names;
    this.names = n === undefined ? new Map() : n instanceof Map ? new Map(n) : new Map(Object.entries(n).map(([k, v]) => [Number(k), v as string]));
    bus.onPeer = (node, link) => this.peer(node, link);
    bus.onHello = (node, answer) => this.hello(node, answer);
    const prevClose = bus.onClose;
    bus.onClose = (err) => {
      for (const d of this.byNode.values()) d.busGone();
      prevClose?.(err);
    };
    bus.start();
    for (const node of opts.nodes ?? []) {
      if (node === bus.node) throw new RangeError(`CAN node ${node} is this bus's own id`);
      const d = this.add(node);
      queueMicrotask(() => d.probeNow());
    }
  }

  /** The device of `node` (made, and probed, on first use). */
  device(node: number): CanDevice {
    const d = this.byNode.get(node);
    if (d !== undefined) return d;
    const nd = this.add(node);
    queueMicrotask(() => nd.probeNow());
    return nd;
  }

  /** The devices known now, by node id. */
  devices(): CanDevice[] {
    return [...this.byNode.values()].sort((a, b) => a.node - b.node);
  }

  /** `fn(dev)` for every device node that becomes known (configured ones included, when it is set first). Returns the unsubscribe function. */
  onDevice(fn: (dev: CanDevice) => void): () => void {
    this.deviceFns.add(fn);
    return () => this.deviceFns.delete(fn);
  }

  /** Stop every device (sessions end, no more probes). The bus stays open (close it yourself). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.byNode.values()].map((d) => d.close()));
    for (const l of this.parked.values()) l.close();
    this.parked.clear();
    if (this.bus.onPeer !== null) this.bus.onPeer = null;
    this.bus.onHello = null;
  }

  /** @internal */
  forget(d: CanDevice): void {
    if (this.byNode.get(d.node) === d) this.byNode.delete(d.node);
  }

  /** @internal The link a new session of `node` runs on: the one the bus opened for its frames, or a new one. */
  adopt(node: number): CanPeerLink {
    const p = this.parked.get(node);
    this.parked.delete(node);
    if (p !== undefined) this.kept.delete(p);
    if (p !== undefined && !p.closed) return p;
    return this.bus.peer(node);
  }

  private add(node: number): CanDevice {
    const d = new CanDevice(this, node, this.names.get(node));
    this.byNode.set(node, d);
    for (const fn of this.deviceFns) { try { fn(d); } catch { /* listener's bug */ } }
    return d;
  }

  /** @internal Keep the link the bus opened for `node` past this delivery (a probe takes it). */
  keep(node: number): void {
    const l = this.parked.get(node);
    if (l !== undefined) this.kept.add(l);
  }

  /** @internal Close that link unless a session took it. */
  release(node: number): void {
    const l = this.parked.get(node);
    if (l === undefined) return;
    this.kept.delete(l);
    this.parked.delete(node);
    l.close();
  }

  private peer(node: number, link: CanPeerLink): void {
    if (this.closed) { queueMicrotask(() => link.close()); return; }
    // Keep it until the end of this delivery: the frame in it may be a HELLO (hello() runs next).
    this.parked.set(node, link);
    queueMicrotask(() => {
      if (this.parked.get(node) !== link || this.kept.has(link)) return;
      this.parked.delete(node);
      link.close();
    });
  }

  private hello(node: number, answer: boolean): void {
    if (this.closed) return;
    let d = this.byNode.get(node);
    if (d === undefined) {
      if (answer || !this.learn || this.byNode.size >= this.maxDevices) { this.ignoredNodes++; return; }
      d = this.add(node);
      d.emit('found', null);
    }
    d.hello(answer);
  }
}
