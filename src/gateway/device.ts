// One device on a serial port, as the gateway sees it (docs/gateway.md §2 "Devices"): the
// reconnecting UART sessions of src/transports/uart.ts (docs/uart.md §2), plus who is on the
// other end. Each time the port (re)opens, the first session is a probe: HELLO (the device's cell
// name and method table) and describe() (the schema JSON; firmware answers 403, it does not serve
// it), then the probe closes its session and every later session goes to the consumer — the mesh
// proxy (docs/mesh.md §4 provideProxy), which takes a LinkListener for exactly this.
//
//   const dev = new DeviceUpstream({ path: '/dev/ttyUSB0' });
//   dev.onIdentity((id, again) => again ? provided.reannounce() : node.provideProxy(id.name, dev));
//
// Why a probe session instead of reading the proxy's HELLO: the gateway must know the name before
// it can announce it, and a session is cheap on an open port (UartSessions starts the next one at
// once; the firmware keeps no session state and answers every HELLO).
import { connect, defineCell, type HelloInfo } from '../rpc/index.ts';
import type { Link, LinkListener } from '../transports/link.ts';
import { UartSessions, type UartSessionsOptions, type UartState } from '../uart/sessions.ts';
import { CellError } from '../wire/cell-error.ts';
import type { CellDescription } from '../codec/schema-json.ts';

/** An empty cell: enough to say HELLO and ask describe(). */
const PROBE = defineCell({ name: 'cell_gateway' });

export interface DeviceIdentity {
  /** The device's cell name (its HELLO). */
  readonly name: string;
  readonly hello: HelloInfo;
  /** describe() of the device, or null when it does not serve it (firmware: 403). */
  readonly description: CellDescription | null;
  /** The port it was found on. */
  readonly path: string;
}

export interface DeviceUpstreamOptions extends Omit<UartSessionsOptions, 'role'> {
  /**
   * The probe's first wait for the device's HELLO; doubled after each miss up to 8× (a HELLO
   * sent before the device listened is lost, as on any UART; docs/uart.md §2 "HELLO retry").
   * @default 1000
   */
  probeTimeoutMs?: number;
  /** Ask describe() in the probe. @default true */
  describe?: boolean;
  /**
   * The gateway announces the device's cell under this name instead of the one in its HELLO
   * (two devices with the same firmware; `[[device]] name`, docs/gateway.md §1 "Config file").
   * @default the HELLO's
   */
  name?: string;
}

export type IdentityListener = (id: DeviceIdentity, again: boolean) => void;
export type DeviceStateListener = (state: UartState | 'identified' | 'probe-failed', detail: CellError | DeviceIdentity | null) => void;

/**
 * A LinkListener over a device's UART sessions that holds back each port open's first session
 * for a probe. `onLink` is the consumer's (the proxy's); links that arrive before a consumer is
 * set are held (one at most: the current session).
 */
export class DeviceUpstream implements LinkListener {
  readonly isListener = true as const;
  readonly sessions: UartSessions;
  /** The last probe's result (kept while the device is away). */
  identity: DeviceIdentity | null = null;
  /** Probes run / failed (no HELLO in time, link lost during the probe). */
  probes = 0;
  probeFailures = 0;
  private consumer: ((link: Link) => void) | null = null;
  private held: Link | null = null;
  private needProbe = true;
  private probeTimeoutMs: number;
  private readonly baseProbeMs: number;
  private readonly identityFns = new Set<IdentityListener>();
  private readonly stateFns = new Set<DeviceStateListener>();
  private closing = false;

  constructor(private readonly opts: DeviceUpstreamOptions) {
    // role 'client': the gateway calls the device; a HELLO after a quiet spell is a device restart.
    this.sessions = new UartSessions({ ...opts, role: 'client' });
    this.baseProbeMs = opts.probeTimeoutMs ?? 1000;
    this.probeTimeoutMs = this.baseProbeMs;
    this.sessions.onState((s, err) => {
      // 'open'/'reopened' are emitted before the port's first session starts: probe that one.
      if (s !== 'lost') { this.needProbe = true; this.probeTimeoutMs = this.baseProbeMs; }
      this.emitState(s, err);
    });
    this.sessions.onLink = this.route;
  }

  get address(): string { return this.sessions.address; }

  /** The name to announce the cell under (options.name), when not the HELLO's. */
  get announceAs(): string | undefined { return this.opts.name; }

  get onLink(): ((link: Link) => void) | null { return this.consumer; }
  set onLink(fn: ((link: Link) => void) | null) {
    this.consumer = fn;
    const h = this.held;
    if (fn !== null && h !== null) { this.held = null; fn(h); }
  }

  /** `fn(identity, again)` after each successful probe; `again` = not the first one. */
  onIdentity(fn: IdentityListener): () => void {
    this.identityFns.add(fn);
    return () => this.identityFns.delete(fn);
  }

  /** Port states of UartSessions plus 'identified' and 'probe-failed'. */
  onState(fn: DeviceStateListener): () => void {
    this.stateFns.add(fn);
    return () => this.stateFns.delete(fn);
  }

  /** Resolves once the device has been identified (the first time), or rejects after timeoutMs. */
  whenIdentified(timeoutMs = Infinity): Promise<DeviceIdentity> {
    if (this.identity !== null) return Promise.resolve(this.identity);
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => { off(); reject(new CellError(401, `no cell answered on ${this.address} within ${timeoutMs} ms`, { path: this.address, lastError: this.sessions.lastError?.message })); }, timeoutMs)
        : null;
      const off = this.onIdentity((id) => { if (timer !== null) clearTimeout(timer); off(); resolve(id); });
    });
  }

  /** Stop: no more sessions; the port closes when the current one ends. */
  async close(): Promise<void> {
    this.closing = true;
    this.held?.close();
    this.held = null;
    await this.sessions.close();
  }

  private emitState(s: Parameters<DeviceStateListener>[0], d: Parameters<DeviceStateListener>[1]): void {
    for (const fn of this.stateFns) { try { fn(s, d); } catch { /* a listener's bug is not ours */ } }
  }

  private readonly route = (link: Link): void => {
    if (this.closing) { link.close(); return; }
    if (this.needProbe) { void this.probe(link); return; }
    if (this.consumer !== null) this.consumer(link);
    else { this.held?.close(); this.held = link; }
  };

  private async probe(link: Link): Promise<void> {
    this.probes++;
    const timeoutMs = this.probeTimeoutMs;
    let client;
    try {
      client = await connect(PROBE, link, { helloTimeoutMs: timeoutMs, heartbeatMs: 0, deadlineMs: timeoutMs });
    } catch (e) {
      // connect() closed the session; UartSessions starts the next one, which probes again.
      this.probeFailures++;
      this.probeTimeoutMs = Math.min(this.probeTimeoutMs * 2, this.baseProbeMs * 8);
      this.emitState('probe-failed', e instanceof CellError ? e : new CellError(401, String(e)));
      return;
    }
    const hello = client.peer!;
    let description: CellDescription | null = null;
    if (this.opts.describe !== false) {
      try { description = (await client.describe({ deadlineMs: timeoutMs })) as CellDescription; } catch { /* 403 from firmware: no schema JSON */ }
    }
    // Set before closing: the close starts the next session, which must go to the consumer.
    const again = this.identity !== null;
    this.identity = { name: hello.cellName, hello, description, path: this.address };
    this.needProbe = false;
    this.probeTimeoutMs = this.baseProbeMs;
    // close() (not goodbye()): nothing is in flight; the GOODBYE it sends ends nothing on a firmware device.
    await client.close();
    this.emitState('identified', this.identity);
    for (const fn of this.identityFns) { try { fn(this.identity, again); } catch { /* listener's bug */ } }
  }
}
