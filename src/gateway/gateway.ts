// The gateway (docs/gateway.md): makes the cell of every device on its serial ports callable by
// name from the mesh. Per port, a DeviceUpstream (device.ts) finds out which cell is
// there; the mesh node's provideProxy (docs/mesh.md §4) announces that name and forwards frames
// both ways without decoding payloads; after the device comes back (unplug/replug, reset with a
// new port) it is probed again and re-announced — under its new name if it was reflashed.
// Devices given by a glob or a USB serial number are hot-plugged (hotplug.ts): opened when their
// node appears, withdrawn when it disappears. Every frame to and from a device is counted on the
// way (stats.ts) for the metrics (`status()`, served by metrics.ts).
//
//   const gw = startGateway({ node, devices: [{ path: '/dev/ttyUSB0' }], onEvent: console.log });
//   ...
//   await gw.close();
//
// The gateway does not start or stop the mesh node: `cell gateway` (src/cli/commands/gateway.ts)
// does, so tests and programs can put a gateway on a node that also provides its own cells.
import { existsSync, readFileSync } from 'node:fs';
import type { MeshNode, ProvidedProxy } from '../mesh/node.ts';
import type { Link, LinkListener } from '../transports/link.ts';
import type { CellError } from '../wire/cell-error.ts';
import { hex64 } from '../codec/canonical.ts';
import { firstUndescribedEntry, type CellDescription } from '../codec/schema-json.ts';
import { DeviceUpstream, type DeviceIdentity, type DeviceUpstreamOptions } from './device.ts';
import type { SecureEvent } from '../transports/secure-link.ts';
import { DeviceWatcher, parseDeviceGlob, type GatewayDeviceSpec, type GlobDeviceSpec, type HotplugOptions, type WatchedSpec } from './hotplug.ts';
import { DeviceStats, LATENCY_BUCKETS_SECONDS, methodStatus, type DeviceStatsOptions, type GatewayCanBusMetrics, type GatewayDeviceMetrics, type GatewayStatus } from './stats.ts';
import { CanDevices, type CanDevice, type CanDevicesOptions } from '../can/sessions.ts';
import type { CanBus } from '../transports/can/bus.ts';

/**
 * What the gateway needs of a mesh node (a MeshNode has it; tests may pass a smaller one).
 * `libp2p.getPeers()`, when there, gives the mesh peer count of the metrics.
 */
export type GatewayMeshNode = Pick<MeshNode, 'peerId' | 'addrs' | 'provideProxy'> & { readonly libp2p?: { getPeers(): readonly unknown[] } };

/** What provideProxy returns (docs/mesh.md §1 Provided). */
export type GatewayProvided = ProvidedProxy;

export type GatewayEvent =
  | { event: 'identified'; path: string; cell: string; entries: string[]; again: boolean; atMs: number }
  | { event: 'announced'; path: string; cell: string; atMs: number }
  | { event: 'reannounced'; path: string; cell: string; atMs: number }
  | { event: 'renamed'; path: string; from: string; to: string; atMs: number }
  | { event: 'lost'; path: string; cell: string | null; code: number; message: string; atMs: number }
  | { event: 'reopened'; path: string; atMs: number }
  | { event: 'upstream'; path: string; cell: string; up: boolean; atMs: number }
  | { event: 'probe-failed'; path: string; code: number; message: string; atMs: number }
  | { event: 'error'; path: string; cell: string | null; message: string; atMs: number }
  /**
   * Link security of a secured device (docs/security.md): a session opened (`open`: boot counter
   * and session number), the device asked for one (`request`), a handshake refused (unknown device,
   * wrong key) or a session dropped after bad tags (`lockout`).
   */
  | { event: 'secure'; path: string; cell: string | null; what: 'open' | 'request' | 'refused' | 'lockout'; deviceId: string | null; code: number; message: string; atMs: number }
  /** A device node matching a glob (or a device with a configured serial number) appeared; it is probed next. */
  | { event: 'plugged'; path: string; match: string; message: string; atMs: number }
  /** That node disappeared: the cell is withdrawn from the mesh and the port closed. */
  | { event: 'unplugged'; path: string; cell: string | null; match: string; message: string; atMs: number }
  /** A CAN device node went silent: its cell is withdrawn until the node answers again (then `announced`). */
  | { event: 'unannounced'; path: string; cell: string; message: string; atMs: number }
  /** A CAN device node booted again during a session (calls in flight ended Unavailable); it is probed next. */
  | { event: 'restarted'; path: string; cell: string | null; message: string; atMs: number };

/**
 * One CAN bus behind the gateway (docs/gateway.md §9): every device node on it — found by its
 * boot HELLO, or configured in `nodes` and probed — is announced like a UART device.
 */
export interface GatewayCanSpec extends Omit<CanDevicesOptions, 'describe'> {
  /** The bus (its node id is the gateway's on this bus); the gateway starts it, does not close it. */
  bus: CanBus;
}

export interface GatewayOptions {
  /**
   * The mesh node, or its start in progress: devices are probed while the node starts (the
   * node's start — libp2p loading, listening — is most of the time to the first remote call).
   */
  node: GatewayMeshNode | Promise<GatewayMeshNode>;
  /**
   * One entry per serial port: `{ path }` (opened, and reopened whenever it comes back),
   * `{ serialNumber }` or `{ glob: '/dev/ttyUSB*' }` (hot-plug: each matching device is opened
   * when it appears and withdrawn when it disappears; docs/gateway.md §8), plus line settings and
   * probe timing.
   */
  devices: GatewayDeviceSpec[];
  /** How hot-plug devices are watched (poll period, /dev). @default see HotplugOptions */
  hotplug?: HotplugOptions;
  /** Bounds of the per-device call accounting (docs/gateway.md §7). @default see DeviceStatsOptions */
  metrics?: DeviceStatsOptions;
  /** Progress and faults, as they happen (`atMs`: ms since startGateway). */
  onEvent?: (e: GatewayEvent) => void;
  /**
   * Descriptions (describe() answers, firmware/<app>/gen/schema.json) the proxy serves for devices
   * that do not carry their own (firmware answers describe() with 403). Matched by cell name and
   * used only when every entry of the device's HELLO has the same name and key in it.
   */
  schemas?: CellDescription[];
  /** CAN buses whose device nodes are announced too (docs/gateway.md §9). */
  can?: GatewayCanSpec[];
}

/**
 * The description the proxy serves for a device: its own, else the matching one of `schemas`;
 * a string says why a schema of the same name was not used (it describes other firmware).
 */
export function descriptionFor(id: DeviceIdentity, schemas: readonly CellDescription[]): CellDescription | null | string {
  if (id.description !== null) return id.description;
  const d = schemas.find((x) => x.name === id.name);
  if (d === undefined) return null;
  const miss = firstUndescribedEntry(d, id.hello.entries);
  if (miss === null) return d;
  const { entry: e, describedKey: k } = miss;
  return k === undefined
    ? `the schema of "${d.name}" has no ${e.kind} "${e.name}", which the device serves: it describes other firmware (describe() not served)`
    : `${e.kind} "${e.name}": the device's key ${hex64(e.key)} differs from the schema's ${k}: it describes other firmware (describe() not served)`;
}

export interface GatewayDeviceStatus {
  path: string;
  /** How it was configured: its path, the glob it matched, or "serial number <n>". */
  match: string;
  /** Found by the hot-plug watcher (glob or serial number): dropped when its node disappears. */
  hotplug: boolean;
  /** The cell last seen on it, or null before the first probe. */
  cell: string | null;
  /** The name is announced (and the proxy has a session, or waits for one). */
  announced: boolean;
  /** The port is open now. */
  open: boolean;
  probes: number;
  probeFailures: number;
  sessions: number;
}

export interface Gateway {
  devices(): GatewayDeviceStatus[];
  /**
   * Resolves when every device present has been announced once (or rejects after timeoutMs).
   * Hot-plug specs count with the devices found by the first scan; none found: nothing to wait for.
   */
  whenAnnounced(timeoutMs?: number): Promise<void>;
  /** Counters and state for the metrics (src/gateway/metrics.ts serves it; docs/gateway.md §7). */
  status(): GatewayStatus;
  /** Stop proxying (calls in flight end Closed), close the ports. The mesh node keeps running. */
  close(): Promise<void>;
}

interface DeviceState {
  up: DeviceUpstream | CanDevice;
  /** A CAN device node: withdrawn when it goes silent, announced again when it answers. */
  can: boolean;
  /** CAN: its first probe has not ended yet (whenAnnounced waits for it). */
  pending: boolean;
  path: string;
  /** The metrics label: the path, or "serial:<n>" (docs/gateway.md §7). */
  key: string;
  match: string;
  /** Found by the watcher: unplugged (and dropped) when its node disappears. */
  hotplug: boolean;
  stats: DeviceStats;
  provided: GatewayProvided | null;
  /** Identity changes are applied one at a time (provideProxy and stop are async). */
  chain: Promise<void>;
  /** Identified again after a reconnect: the next upstream-up is the re-announcement. */
  awaitingReannounce: boolean;
  /** Unplugged: being withdrawn and closed (or done). */
  removed: boolean;
}

/** Devices whose counters are kept after they were unplugged (the oldest absent ones go first). */
const MAX_KEPT_DEVICES = 256;

/** The DeviceUpstream as the proxy's LinkListener, each session wrapped to be counted (stats.ts). */
function countedUpstream(d: DeviceState): LinkListener {
  return {
    isListener: true,
    get address() { return d.up.address; },
    close: () => d.up.close(),
    get onLink() { return d.up.onLink; },
    set onLink(fn: ((link: Link) => void) | null) {
      d.up.onLink = fn === null ? null : (link) => {
        const id = d.up.identity;
        fn(id === null ? link : d.stats.tap(link, id.hello));
      };
    },
  };
}

export function startGateway(opts: GatewayOptions): Gateway {
  const t0 = performance.now();
  const at = (): number => Math.round((performance.now() - t0) * 10) / 10;
  const emit = (e: GatewayEvent): void => { try { opts.onEvent?.(e); } catch { /* the listener's bug */ } };
  const names = new Map<string, DeviceState>(); // announced name → device (one provider per name per node)
  const announcedFns = new Set<() => void>();
  let closing = false;
  const nodeP = Promise.resolve(opts.node);
  let nodeNow: GatewayMeshNode | null = null;
  nodeP.then((n) => { nodeNow = n; }, () => {});

  const apply = async (d: DeviceState, id: DeviceIdentity, again: boolean): Promise<void> => {
    if (closing || d.removed) return;
    const name = d.up.announceAs ?? id.name; // a configured name wins over the HELLO's
    const cur = d.provided;
    if (cur !== null && cur.name === name) {
      // Same cell back: the proxy gets the next session, and announces the name again once the
      // device's HELLO is through (reannounce: true) — 'reannounced' is emitted then (onUpstream).
      return;
    }
    if (cur !== null) {
      // Reflashed with another cell: withdraw the old name first (the proxy stops taking sessions).
      names.delete(cur.name);
      d.provided = null;
      await cur.stop();
      emit({ event: 'renamed', path: d.path, from: cur.name, to: name, atMs: at() });
    }
    const other = names.get(name);
    if (other !== undefined && other !== d) {
      emit({ event: 'error', path: d.path, cell: name, message: `cell "${name}" is already announced for ${other.path}; one node provides a name once (not announced)`, atMs: at() });
      return;
    }
    names.set(name, d);
    const found = descriptionFor(id, opts.schemas ?? []);
    if (typeof found === 'string') emit({ event: 'error', path: d.path, cell: name, message: found, atMs: at() });
    const description = typeof found === 'string' ? null : found;
    const node = await nodeP;
    if (closing || d.removed) { names.delete(name); return; }
    d.provided = await node.provideProxy(name, countedUpstream(d), {
      reannounce: true,
      ...(description !== null ? { describe: () => description } : {}),
      onUpstream: (up) => {
        emit({ event: 'upstream', path: d.path, cell: name, up, atMs: at() });
        if (up && d.awaitingReannounce) {
          d.awaitingReannounce = false;
          emit({ event: 'reannounced', path: d.path, cell: name, atMs: at() });
        }
      },
    });
    emit({ event: 'announced', path: d.path, cell: name, atMs: at() });
    for (const fn of announcedFns) fn();
  };

  /** Devices present now: every `{ path }` spec, and the hot-plug devices plugged in. */
  const states = new Set<DeviceState>();
  /** Unplugged devices still being withdrawn (close() waits for them). */
  const retiring = new Set<DeviceState>();
  /** The latest device state per metrics key, present or not: counters outlive an unplug. */
  const byKey = new Map<string, DeviceState>();
  /** Hot-plug devices by path. */
  const hotByPath = new Map<string, DeviceState>();
  const checkAnnounced = (): void => { for (const fn of [...announcedFns]) fn(); };

  const statsFor = (key: string): DeviceStats => {
    const prev = byKey.get(key);
    if (prev !== undefined) return prev.stats;
    if (byKey.size >= MAX_KEPT_DEVICES) {
      for (const [k, d] of byKey) if (!states.has(d) && !retiring.has(d)) { byKey.delete(k); break; }
    }
    return new DeviceStats(key, opts.metrics);
  };

  const addDevice = (spec: DeviceUpstreamOptions, key: string, match: string, hotplug: boolean): DeviceState => {
    const stats = statsFor(key);
    const ref: { d: DeviceState | null } = { d: null }; // the device, for its security events
    const sec = spec.security;
    const up = new DeviceUpstream(sec === undefined ? spec : {
      ...spec,
      security: {
        ...sec,
        onEvent: (e: SecureEvent) => {
          sec.onEvent?.(e);
          const d = ref.d;
          if (d === null || d.removed) return;
          const cell = d.up.identity?.name ?? null;
          if (e.type === 'open') {
            emit({ event: 'secure', path: d.path, cell, what: 'open', deviceId: e.deviceId, code: 0, message: `secured session ${e.session} with device ${e.deviceId} (boot ${e.bootCounter})${e.rekey ? ', rekeyed' : ''}`, atMs: at() });
          } else if (e.type === 'request') {
            emit({ event: 'secure', path: d.path, cell, what: 'request', deviceId: e.deviceId, code: 0, message: `device ${e.deviceId} asks for a session (it restarted)`, atMs: at() });
          } else {
            emit({ event: 'secure', path: d.path, cell, what: e.type, deviceId: null, code: e.error.code, message: e.error.message, atMs: at() });
          }
        },
      },
    });
    const d: DeviceState = { up, can: false, pending: false, path: up.address, key, match, hotplug, stats, provided: null, chain: Promise.resolve(), awaitingReannounce: false, removed: false };
    ref.d = d;
    byKey.delete(key); // re-inserted last: the newest is evicted last
    byKey.set(key, d);
    states.add(d);
    up.onState((s, detail) => {
      if (d.removed) return;
      if (s === 'open' || s === 'reopened') {
        d.path = up.address;
        stats.portOpened(up.sessions.port);
      }
      if (s === 'lost') {
        stats.portClosed();
        // A hot-plug device whose node is gone was unplugged: no waiting for it to come back.
        if (hotplug && !existsSync(d.path)) { unplug(d, 'the device node disappeared'); return; }
        const err = detail as CellError | null;
        emit({ event: 'lost', path: d.path, cell: up.identity?.name ?? null, code: err?.code ?? 501, message: err?.message ?? 'port lost', atMs: at() });
        if (hotplug) void watcher?.relist(); // the node may be another device now (serial numbers)
      } else if (s === 'reopened') emit({ event: 'reopened', path: d.path, atMs: at() });
      else if (s === 'probe-failed') {
        const err = detail as CellError;
        emit({ event: 'probe-failed', path: d.path, code: err.code, message: err.message, atMs: at() });
      }
    });
    up.onIdentity((id, again) => {
      if (d.removed) return;
      emit({ event: 'identified', path: d.path, cell: id.name, entries: id.hello.entries.map((e) => e.name), again, atMs: at() });
      // Set now, not in apply(): the proxy may see the device's HELLO before apply() runs.
      if (again && d.provided?.name === (d.up.announceAs ?? id.name)) d.awaitingReannounce = true;
      d.chain = d.chain.then(() => apply(d, id, again)).catch((e: unknown) => {
        emit({ event: 'error', path: d.path, cell: id.name, message: e instanceof Error ? e.message : String(e), atMs: at() });
      });
    });
    return d;
  };

  /** Withdraw a hot-plug device's cell and close its port ('unplugged' once done). */
  const unplug = (d: DeviceState, message: string): void => {
    if (d.removed) return;
    d.removed = true;
    states.delete(d);
    retiring.add(d);
    if (hotByPath.get(d.path) === d) hotByPath.delete(d.path);
    watcher?.forget(d.path); // a node back before the watcher saw it gone is a new device
    const cell = d.provided?.name ?? d.up.identity?.name ?? null;
    d.chain = d.chain.then(async () => {
      await d.up.close(); // no new sessions; the port closes when the proxy lets go of its session
      const p = d.provided;
      d.provided = null;
      if (p !== null) {
        if (names.get(p.name) === d) names.delete(p.name);
        await p.stop(); // the name is withdrawn: the protocol is unhandled, identify tells the peers
      }
      d.stats.portClosed();
    }).catch((e: unknown) => {
      emit({ event: 'error', path: d.path, cell, message: `withdrawing it: ${e instanceof Error ? e.message : String(e)}`, atMs: at() });
    }).finally(() => {
      retiring.delete(d);
      if (!closing) emit({ event: 'unplugged', path: d.path, cell, match: d.match, message: `${message}${cell !== null ? `; "${cell}" withdrawn` : ''}`, atMs: at() });
      checkAnnounced();
    });
  };

  // Fixed paths first (a glob does not take a path that is configured on its own).
  const watched: WatchedSpec[] = [];
  const reserved = new Set<string>();
  opts.devices.forEach((spec, index) => {
    const g = (spec as GlobDeviceSpec).glob;
    if (g !== undefined) {
      if (spec.path !== undefined || spec.serialNumber !== undefined) throw new TypeError(`device spec ${index}: give one of path, serialNumber or glob (got glob "${g}" and ${spec.path !== undefined ? `path "${spec.path}"` : `serialNumber "${spec.serialNumber}"`})`);
      watched.push({ index, glob: parseDeviceGlob(g) });
    } else if (spec.serialNumber !== undefined) {
      watched.push({ index, serialNumber: spec.serialNumber, ...(spec.list !== undefined ? { list: spec.list } : {}) });
    } else if (spec.path !== undefined) {
      reserved.add(spec.path);
      addDevice(spec, spec.path, spec.path, false);
    } else {
      throw new TypeError(`device spec ${index}: give path, serialNumber or glob, e.g. { path: '/dev/ttyUSB0' } or { glob: '/dev/ttyUSB*' }`);
    }
  });

  const watcher: DeviceWatcher | null = watched.length === 0 ? null : new DeviceWatcher(watched, {
    added(index, path) {
      if (closing) return;
      const spec = opts.devices[index]!;
      const { glob, serialNumber, list: _list, ...line } = spec as GlobDeviceSpec & DeviceUpstreamOptions;
      const match = glob !== undefined ? glob : `serial number ${serialNumber}`;
      emit({ event: 'plugged', path, match, message: `plugged in (${glob !== undefined ? `matches ${glob}` : match}); probing`, atMs: at() });
      hotByPath.set(path, addDevice({ ...line, path }, serialNumber !== undefined ? `serial:${serialNumber}` : path, match, true));
    },
    removed(_index, path) {
      const d = hotByPath.get(path);
      if (d !== undefined) unplug(d, 'the device node disappeared');
    },
    notice(path, message) {
      emit({ event: 'error', path, cell: null, message, atMs: at() });
    },
  }, reserved, opts.hotplug);
  const firstScan = watcher?.ready ?? Promise.resolve();

  // CAN device nodes (docs/gateway.md §9): each node of each bus is a device; a node that goes
  // silent is withdrawn (the name is unhandled, the proxy stopped) and announced again, with a new
  // proxy, when it answers a probe or broadcasts its HELLO again.
  const canSets: { spec: GatewayCanSpec; devices: CanDevices }[] = [];
  const withdrawCan = (d: DeviceState, message: string): void => {
    d.chain = d.chain.then(async () => {
      const p = d.provided;
      if (p === null) return;
      d.provided = null;
      d.awaitingReannounce = false;
      if (names.get(p.name) === d) names.delete(p.name);
      d.up.onLink = null; // sessions wait for the next proxy
      await p.stop(); // the protocol is unhandled: identify tells the peers; calls in flight end
      if (!closing) emit({ event: 'unannounced', path: d.path, cell: p.name, message, atMs: at() });
    }).catch((e: unknown) => {
      emit({ event: 'error', path: d.path, cell: null, message: `withdrawing it: ${e instanceof Error ? e.message : String(e)}`, atMs: at() });
    });
  };
  const addCanDevice = (dev: CanDevice, busName: string): void => {
    if (closing) return;
    const key = dev.address;
    const stats = statsFor(key);
    const d: DeviceState = {
      up: dev, can: true, pending: dev.identity === null, path: dev.address, key, match: `CAN ${busName}`, hotplug: false, stats,
      provided: null, chain: Promise.resolve(), awaitingReannounce: false, removed: false,
    };
    byKey.delete(key);
    byKey.set(key, d);
    states.add(d);
    dev.onState((st, detail) => {
      if (d.removed || closing) return;
      const err = detail as CellError | null;
      if (st === 'found') {
        emit({ event: 'plugged', path: d.path, match: d.match, message: `CAN node ${dev.node} said HELLO; probing`, atMs: at() });
      } else if (st === 'lost') {
        stats.portClosed();
        const cell = d.provided?.name ?? dev.identity?.name ?? null;
        emit({ event: 'lost', path: d.path, cell, code: err?.code ?? 501, message: err?.message ?? 'silent', atMs: at() });
        withdrawCan(d, `CAN node ${dev.node} is silent${cell !== null ? `; "${cell}" withdrawn until it answers again` : ''}`);
      } else if (st === 'restarted') {
        emit({ event: 'restarted', path: d.path, cell: d.provided?.name ?? dev.identity?.name ?? null, message: err?.message ?? 'restarted', atMs: at() });
      } else if (st === 'probe-failed') {
        if (d.pending) { d.pending = false; checkAnnounced(); }
        emit({ event: 'probe-failed', path: d.path, code: err?.code ?? 401, message: err?.message ?? 'no HELLO', atMs: at() });
      }
    });
    const identified = (id: DeviceIdentity, again: boolean): void => {
      if (d.removed || closing) return;
      d.pending = false;
      stats.portOpened(dev.sessions.port);
      emit({ event: 'identified', path: d.path, cell: id.name, entries: id.hello.entries.map((e) => e.name), again, atMs: at() });
      if (again && d.provided?.name === (dev.announceAs ?? id.name)) d.awaitingReannounce = true;
      d.chain = d.chain.then(() => apply(d, id, again)).catch((e: unknown) => {
        emit({ event: 'error', path: d.path, cell: id.name, message: e instanceof Error ? e.message : String(e), atMs: at() });
      });
    };
    dev.onIdentity(identified);
    if (dev.identity !== null && dev.status === 'up') identified(dev.identity, false);
  };
  for (const spec of opts.can ?? []) {
    const { bus, ...rest } = spec;
    const devices = new CanDevices(bus, { ...rest, describe: true });
    canSets.push({ spec, devices });
    const busName = `${bus.driver.name} (node ${bus.node})`;
    for (const dev of devices.devices()) addCanDevice(dev, busName);
    devices.onDevice((dev) => addCanDevice(dev, busName));
  }

  const allAnnounced = (): boolean => [...states].every((d) => d.provided !== null || (d.can && !d.pending && (d.up as CanDevice).status !== 'up'));

  const deviceMetrics = (d: DeviceState): GatewayDeviceMetrics => {
    const present = states.has(d);
    const load = d.provided?.load();
    return {
      device: d.key,
      match: d.match,
      path: d.path,
      cell: d.up.identity?.name ?? null,
      announcedAs: d.provided?.name ?? null,
      present,
      up: present && d.up.sessions.port !== null,
      announced: d.provided !== null,
      reconnects: d.stats.reconnects,
      probes: d.up.probes,
      probeFailures: d.up.probeFailures,
      sessions: d.up.sessions.sessionCount,
      link: d.stats.link(),
      meshStreams: load?.connections ?? 0,
      inFlight: load?.inFlight ?? 0,
      untracked: d.stats.untracked,
      methods: d.stats.tables.flatMap(methodStatus),
    };
  };

  return {
    devices: () => [...states].map((d) => ({
      path: d.path,
      match: d.match,
      hotplug: d.hotplug,
      cell: d.up.identity?.name ?? null,
      announced: d.provided !== null,
      open: d.up.sessions.port !== null,
      probes: d.up.probes,
      probeFailures: d.up.probeFailures,
      sessions: d.up.sessions.sessionCount,
    })),
    async whenAnnounced(timeoutMs = Infinity) {
      await firstScan;
      if (allAnnounced()) return;
      return new Promise<void>((resolve, reject) => {
        const check = (): void => { if (allAnnounced()) { announcedFns.delete(check); if (timer !== null) clearTimeout(timer); resolve(); } };
        const timer = Number.isFinite(timeoutMs) ? setTimeout(() => {
          announcedFns.delete(check);
          reject(new Error(`not every device announced within ${timeoutMs} ms: ${JSON.stringify([...states].map((d) => ({ path: d.path, cell: d.up.identity?.name ?? null, announced: d.provided !== null })))}`));
        }, timeoutMs) : null;
        announcedFns.add(check);
      });
    },
    status(): GatewayStatus {
      const mem = residentBytes();
      const n = nodeNow as GatewayMeshNode | null;
      let peers: number | null = null;
      try { peers = n?.libp2p?.getPeers().length ?? null; } catch { /* stopped */ }
      return {
        version: 1,
        pid: process.pid,
        peerId: n?.peerId ?? null,
        uptimeSeconds: process.uptime(),
        rssBytes: mem,
        meshPeers: peers,
        latencyBucketsSeconds: [...LATENCY_BUCKETS_SECONDS],
        devices: [...byKey.values()].map(deviceMetrics),
        canBuses: canSets.map(({ spec, devices }): GatewayCanBusMetrics => {
          const b = spec.bus;
          const ds = b.driver.stats;
          return {
            bus: b.driver.name, node: b.node, fd: b.fd, state: b.driver.state, open: !b.closed,
            nodes: devices.devices().length, nodesUp: devices.devices().filter((x) => x.status === 'up').length,
            ignoredNodes: devices.ignoredNodes,
            stats: { ...b.stats },
            driver: { framesIn: ds.framesIn, framesOut: ds.framesOut, errorFrames: ds.errorFrames, txBackoffs: ds.txBackoffs, rxOverflows: ds.rxOverflows, errIo: ds.errIo, dropped: ds.dropped },
          };
        }),
      };
    },
    async close() {
      closing = true;
      watcher?.close();
      await Promise.all(canSets.map((c) => c.devices.close()));
      await Promise.all([...states, ...retiring].map(async (d) => {
        await d.chain;
        const p = d.provided;
        d.provided = null;
        if (p !== null) await p.stop();
        await d.up.close();
      }));
      names.clear();
    },
  };
}

/** RSS in bytes; qemu-user reports 0 in /proc/self/stat (what Node reads), so fall back to VmRSS (docs/arm.md). */
function residentBytes(): number {
  const rss = process.memoryUsage.rss();
  if (rss > 0 || process.platform !== 'linux') return rss;
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m !== null ? Number(m[1]) * 1024 : 0;
  } catch { return 0; }
}
