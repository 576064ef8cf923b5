// The gateway (docs/gateway.md): makes the cell of every device on its serial ports callable by
// name from the mesh. Per port, a DeviceUpstream (device.ts) finds out which cell is
// there; the mesh node's provideProxy (docs/mesh.md §4) announces that name and forwards frames
// both ways without decoding payloads; after the device comes back (unplug/replug, reset with a
// new port) it is probed again and re-announced — under its new name if it was reflashed.
//
//   const gw = startGateway({ node, devices: [{ path: '/dev/ttyUSB0' }], onEvent: console.log });
//   ...
//   await gw.close();
//
// The gateway does not start or stop the mesh node: `cell gateway` (src/cli/commands/gateway.ts)
// does, so tests and programs can put a gateway on a node that also provides its own cells.
import type { MeshNode, ProvidedProxy } from '../mesh/node.ts';
import type { CellError } from '../wire/cell-error.ts';
import { hex64 } from '../codec/canonical.ts';
import { firstUndescribedEntry, type CellDescription } from '../codec/schema-json.ts';
import { DeviceUpstream, type DeviceIdentity, type DeviceUpstreamOptions } from './device.ts';

/** What the gateway needs of a mesh node (a MeshNode has it; tests may pass a smaller one). */
export type GatewayMeshNode = Pick<MeshNode, 'peerId' | 'addrs' | 'provideProxy'>;

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
  | { event: 'error'; path: string; cell: string | null; message: string; atMs: number };

export interface GatewayOptions {
  /**
   * The mesh node, or its start in progress: devices are probed while the node starts (the
   * node's start — libp2p loading, listening — is most of the time to the first remote call).
   */
  node: GatewayMeshNode | Promise<GatewayMeshNode>;
  /** One entry per serial port (path or USB serial number, line settings, probe timing). */
  devices: DeviceUpstreamOptions[];
  /** Progress and faults, as they happen (`atMs`: ms since startGateway). */
  onEvent?: (e: GatewayEvent) => void;
  /**
   * Descriptions (describe() answers, firmware/<app>/gen/schema.json) the proxy serves for devices
   * that do not carry their own (firmware answers describe() with 403). Matched by cell name and
   * used only when every entry of the device's HELLO has the same name and key in it.
   */
  schemas?: CellDescription[];
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
  /** Resolves when every device has been announced once (or rejects after timeoutMs). */
  whenAnnounced(timeoutMs?: number): Promise<void>;
  /** Stop proxying (calls in flight end Closed), close the ports. The mesh node keeps running. */
  close(): Promise<void>;
}

interface DeviceState {
  up: DeviceUpstream;
  path: string;
  provided: GatewayProvided | null;
  /** Identity changes are applied one at a time (provideProxy and stop are async). */
  chain: Promise<void>;
  /** Identified again after a reconnect: the next upstream-up is the re-announcement. */
  awaitingReannounce: boolean;
}

export function startGateway(opts: GatewayOptions): Gateway {
  const t0 = performance.now();
  const at = (): number => Math.round((performance.now() - t0) * 10) / 10;
  const emit = (e: GatewayEvent): void => { try { opts.onEvent?.(e); } catch { /* the listener's bug */ } };
  const names = new Map<string, DeviceState>(); // announced name → device (one provider per name per node)
  const announcedFns = new Set<() => void>();
  let closing = false;
  const nodeP = Promise.resolve(opts.node);

  const apply = async (d: DeviceState, id: DeviceIdentity, again: boolean): Promise<void> => {
    if (closing) return;
    const cur = d.provided;
    if (cur !== null && cur.name === id.name) {
      // Same cell back: the proxy gets the next session, and announces the name again once the
      // device's HELLO is through (reannounce: true) — 'reannounced' is emitted then (onUpstream).
      return;
    }
    if (cur !== null) {
      // Reflashed with another cell: withdraw the old name first (the proxy stops taking sessions).
      names.delete(cur.name);
      d.provided = null;
      await cur.stop();
      emit({ event: 'renamed', path: d.path, from: cur.name, to: id.name, atMs: at() });
    }
    const other = names.get(id.name);
    if (other !== undefined && other !== d) {
      emit({ event: 'error', path: d.path, cell: id.name, message: `cell "${id.name}" is already announced for ${other.path}; one node provides a name once (not announced)`, atMs: at() });
      return;
    }
    names.set(id.name, d);
    const found = descriptionFor(id, opts.schemas ?? []);
    if (typeof found === 'string') emit({ event: 'error', path: d.path, cell: id.name, message: found, atMs: at() });
    const description = typeof found === 'string' ? null : found;
    const node = await nodeP;
    if (closing) { names.delete(id.name); return; }
    d.provided = await node.provideProxy(id.name, d.up, {
      reannounce: true,
      ...(description !== null ? { describe: () => description } : {}),
      onUpstream: (up) => {
        emit({ event: 'upstream', path: d.path, cell: id.name, up, atMs: at() });
        if (up && d.awaitingReannounce) {
          d.awaitingReannounce = false;
          emit({ event: 'reannounced', path: d.path, cell: id.name, atMs: at() });
        }
      },
    });
    emit({ event: 'announced', path: d.path, cell: id.name, atMs: at() });
    for (const fn of announcedFns) fn();
  };

  const states: DeviceState[] = opts.devices.map((spec) => {
    const up = new DeviceUpstream(spec);
    const d: DeviceState = { up, path: up.address, provided: null, chain: Promise.resolve(), awaitingReannounce: false };
    up.onState((s, detail) => {
      if (s === 'lost') {
        const err = detail as CellError | null;
        emit({ event: 'lost', path: d.path, cell: up.identity?.name ?? null, code: err?.code ?? 501, message: err?.message ?? 'port lost', atMs: at() });
      } else if (s === 'reopened') emit({ event: 'reopened', path: d.path, atMs: at() });
      else if (s === 'probe-failed') {
        const err = detail as CellError;
        emit({ event: 'probe-failed', path: d.path, code: err.code, message: err.message, atMs: at() });
      }
    });
    up.onIdentity((id, again) => {
      emit({ event: 'identified', path: d.path, cell: id.name, entries: id.hello.entries.map((e) => e.name), again, atMs: at() });
      // Set now, not in apply(): the proxy may see the device's HELLO before apply() runs.
      if (again && d.provided?.name === id.name) d.awaitingReannounce = true;
      d.chain = d.chain.then(() => apply(d, id, again)).catch((e: unknown) => {
        emit({ event: 'error', path: d.path, cell: id.name, message: e instanceof Error ? e.message : String(e), atMs: at() });
      });
    });
    return d;
  });

  const allAnnounced = (): boolean => states.every((d) => d.provided !== null);

  return {
    devices: () => states.map((d) => ({
      path: d.path,
      cell: d.up.identity?.name ?? null,
      announced: d.provided !== null,
      open: d.up.sessions.port !== null,
      probes: d.up.probes,
      probeFailures: d.up.probeFailures,
      sessions: d.up.sessions.sessionCount,
    })),
    whenAnnounced(timeoutMs = Infinity) {
      if (allAnnounced()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = (): void => { if (allAnnounced()) { announcedFns.delete(check); if (timer !== null) clearTimeout(timer); resolve(); } };
        const timer = Number.isFinite(timeoutMs) ? setTimeout(() => {
          announcedFns.delete(check);
          reject(new Error(`not every device announced within ${timeoutMs} ms: ${JSON.stringify(states.map((d) => ({ path: d.path, cell: d.up.identity?.name ?? null, announced: d.provided !== null })))}`));
        }, timeoutMs) : null;
        announcedFns.add(check);
      });
    },
    async close() {
      closing = true;
      await Promise.all(states.map(async (d) => {
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
