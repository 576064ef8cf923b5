// The gateway's metrics over HTTP (docs/gateway.md §7): the Prometheus text exposition format,
// version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/), at /metrics, and
// the same numbers as JSON at /status.json (what `cell status --gateway` reads). node:http only.
//
//   const gw = startGateway({ ... });
//   const metrics = await serveMetrics(gw, '127.0.0.1:9464');   // opt-in; bind only where told
//   ...
//   await metrics.close();
//
// The counting itself is in stats.ts (per frame, no allocation); a scrape builds a GatewayStatus
// snapshot and formats it (allocates, a few KB per device).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_IO } from '../wire/errors.ts';
import type { Gateway } from './gateway.ts';
import type { GatewayStatus } from './stats.ts';

const utf8 = new TextEncoder();

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Where the docs put it: this machine only. Prometheus' registry lists 9464 for exporters of this kind. */
export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9464';

// ---------------------------------------------------------------------------------------------
// The text format

export type PromType = 'counter' | 'gauge' | 'histogram';

export interface PromSample {
  /** Appended to the family name: '_bucket', '_sum', '_count' for histograms; '' otherwise. */
  suffix: string;
  labels: readonly (readonly [string, string])[];
  value: number;
}

/** One metric family: `# HELP`, `# TYPE`, then its samples (all together, as the format requires). */
export interface PromFamily {
  name: string;
  type: PromType;
  help: string;
  samples: PromSample[];
}

/** A label value in the text format: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed escaped (quotes stay). */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value: Go's ParseFloat syntax, with NaN, +Inf and -Inf. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The exposition text of `families` (each name once; names and label names are checked). */
export function formatPrometheus(families: readonly PromFamily[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!NAME_RE.test(f.name)) throw new RangeError(`metric name "${f.name}" is not valid in the Prometheus text format ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
    if (seen.has(f.name)) throw new RangeError(`metric family "${f.name}" given twice: the text format needs each family's samples together`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      let labels = '';
      if (s.labels.length > 0) {
        const parts: string[] = [];
        for (const [k, v] of s.labels) {
          if (!LABEL_RE.test(k) || k.startsWith('__')) throw new RangeError(`label name "${k}" of ${f.name} is not valid ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)`);
          parts.push(`${k}="${escapeLabelValue(v)}"`);
        }
        labels = `{${parts.join(',')}}`;
      }
      out.push(`${f.name}${s.suffix}${labels} ${formatValue(s.value)}`);
    }
  }
  return out.join('\n') + '\n';
}

/** A histogram's samples: cumulative `_bucket{le}` (the last le="+Inf" = count), `_sum`, `_count`. */
export function histogramSamples(labels: readonly (readonly [string, string])[], bounds: readonly number[], cumulative: readonly number[], sum: number, count: number): PromSample[] {
  const out: PromSample[] = [];
  for (let i = 0; i < bounds.length; i++) out.push({ suffix: '_bucket', labels: [...labels, ['le', formatValue(bounds[i]!)]], value: cumulative[i]! });
  out.push({ suffix: '_bucket', labels: [...labels, ['le', '+Inf']], value: count });
  out.push({ suffix: '_sum', labels, value: sum }, { suffix: '_count', labels, value: count });
  return out;
}

/** The gateway's metric families (docs/gateway.md §7 lists them). */
export function gatewayFamilies(s: GatewayStatus): PromFamily[] {
  const fam = (name: string, type: PromType, help: string): PromFamily => ({ name, type, help, samples: [] });
  const calls = fam('cell_gateway_calls_total', 'counter', 'Calls (REQUEST frames) forwarded to the device, by method.');
  const errors = fam('cell_gateway_call_errors_total', 'counter', 'Calls that ended in an ERROR, by code (401: cut off when the device link went away).');
  const cancelled = fam('cell_gateway_calls_cancelled_total', 'counter', 'Calls cancelled by their caller (CANCEL forwarded to the device).');
  const duration = fam('cell_gateway_call_duration_seconds', 'histogram', 'Time from a REQUEST to the device\'s RESPONSE, STREAM_END or ERROR, as seen by the gateway.');
  const events = fam('cell_gateway_events_total', 'counter', 'EVENT frames from the device, by event.');
  const untracked = fam('cell_gateway_calls_untracked_total', 'counter', 'Calls not matched to an answer: evicted from the bounded in-flight table, or answers to unknown call ids.');
  const inFlight = fam('cell_gateway_calls_in_flight', 'gauge', 'Calls in flight through the device\'s proxy.');
  const streams = fam('cell_gateway_mesh_streams', 'gauge', 'Mesh streams (callers) open on the device\'s proxy.');
  const up = fam('cell_gateway_device_up', 'gauge', '1 while the device\'s port is open.');
  const announced = fam('cell_gateway_device_announced', 'gauge', '1 while the device\'s cell is announced in the mesh.');
  const present = fam('cell_gateway_device_present', 'gauge', '1 while the device is configured or plugged in (0: unplugged, counters kept).');
  const reconnects = fam('cell_gateway_device_reconnects_total', 'counter', 'Times the device\'s port was opened again after a loss.');
  const probeFailures = fam('cell_gateway_device_probe_failures_total', 'counter', 'Probes of the device that got no HELLO in time.');
  const bytesIn = fam('cell_gateway_link_received_bytes_total', 'counter', 'Frame bytes (header + payload, before COBS and CRC) received from the device.');
  const bytesOut = fam('cell_gateway_link_sent_bytes_total', 'counter', 'Frame bytes (header + payload, before COBS and CRC) sent to the device.');
  const framesIn = fam('cell_gateway_link_received_frames_total', 'counter', 'Frames received from the device.');
  const framesOut = fam('cell_gateway_link_sent_frames_total', 'counter', 'Frames sent to the device.');
  const crc = fam('cell_gateway_link_crc_errors_total', 'counter', 'Frames from the device whose CRC-32C did not match.');
  const resyncs = fam('cell_gateway_link_resyncs_total', 'counter', 'Frames the line layer threw away before resynchronising (CRC, COBS, too short, oversize, bad header).');
  const ioErrors = fam('cell_gateway_link_io_errors_total', 'counter', 'I/O errors on the device\'s port.');
  const peers = fam('cell_gateway_mesh_peers', 'gauge', 'Connected mesh peers.');
  const uptime = fam('cell_gateway_uptime_seconds', 'gauge', 'Seconds since the gateway process started.');
  const rss = fam('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
  const bounds = s.latencyBucketsSeconds;

  for (const d of s.devices) {
    const dev = [['device', d.device]] as const;
    const devCell = [['device', d.device], ['cell', d.cell ?? '']] as const;
    for (const m of d.methods) {
      const l = [['device', d.device], ['cell', m.cell], ['method', m.method]] as const;
      if (m.kind === 'event' || (m.kind === 'other' && m.events > 0)) {
        events.samples.push({ suffix: '', labels: [['device', d.device], ['cell', m.cell], ['event', m.method]], value: m.events });
      }
      if (m.kind === 'event') continue;
      calls.samples.push({ suffix: '', labels: l, value: m.calls });
      for (const [code, n] of Object.entries(m.errors)) errors.samples.push({ suffix: '', labels: [...l, ['code', code]], value: n });
      cancelled.samples.push({ suffix: '', labels: l, value: m.cancelled });
      duration.samples.push(...histogramSamples(l, bounds, m.latency.buckets, m.latency.sumSeconds, m.latency.count));
    }
    untracked.samples.push({ suffix: '', labels: dev, value: d.untracked });
    inFlight.samples.push({ suffix: '', labels: devCell, value: d.inFlight });
    streams.samples.push({ suffix: '', labels: devCell, value: d.meshStreams });
    up.samples.push({ suffix: '', labels: devCell, value: d.up ? 1 : 0 });
    announced.samples.push({ suffix: '', labels: devCell, value: d.announced ? 1 : 0 });
    present.samples.push({ suffix: '', labels: dev, value: d.present ? 1 : 0 });
    reconnects.samples.push({ suffix: '', labels: dev, value: d.reconnects });
    probeFailures.samples.push({ suffix: '', labels: dev, value: d.probeFailures });
    bytesIn.samples.push({ suffix: '', labels: dev, value: d.link.bytesIn });
    bytesOut.samples.push({ suffix: '', labels: dev, value: d.link.bytesOut });
    framesIn.samples.push({ suffix: '', labels: dev, value: d.link.framesIn });
    framesOut.samples.push({ suffix: '', labels: dev, value: d.link.framesOut });
    crc.samples.push({ suffix: '', labels: dev, value: d.link.crcErrors });
    resyncs.samples.push({ suffix: '', labels: dev, value: d.link.resyncs });
    ioErrors.samples.push({ suffix: '', labels: dev, value: d.link.ioErrors });
  }
  if (s.meshPeers !== null) peers.samples.push({ suffix: '', labels: [], value: s.meshPeers });
  uptime.samples.push({ suffix: '', labels: [], value: s.uptimeSeconds });
  rss.samples.push({ suffix: '', labels: [], value: s.rssBytes });
  const all = [calls, errors, cancelled, duration, events, untracked, inFlight, streams, up, announced, present, reconnects,
    probeFailures, bytesIn, bytesOut, framesIn, framesOut, crc, resyncs, ioErrors, peers, uptime, rss];
  return s.canBuses !== undefined && s.canBuses.length > 0 ? [...all, ...canFamilies(s)] : all;
}

type CanBusStatus = NonNullable<GatewayStatus['canBuses']>[number];

/** The CAN bus families (docs/gateway.md §7, §9), one sample per bus each, in this order. */
const CAN_FAMILIES: readonly (readonly [name: string, type: PromType, help: string, value: (b: CanBusStatus) => number])[] = [
  ['cell_gateway_can_received_frames_total', 'counter', 'CAN frames received on the bus (all of them, foreign ones included).', (b) => b.stats.framesIn],
  ['cell_gateway_can_sent_frames_total', 'counter', 'CAN frames sent on the bus.', (b) => b.stats.framesOut],
  ['cell_gateway_can_received_transfers_total', 'counter', 'Complete Cell transfers (frames of the profile) reassembled.', (b) => b.stats.transfersIn],
  ['cell_gateway_can_sent_transfers_total', 'counter', 'Cell transfers sent.', (b) => b.stats.transfersOut],
  ['cell_gateway_can_foreign_frames_total', 'counter', 'Frames not for this node: other destinations, standard ids, other protocols.', (b) => b.stats.foreign],
  ['cell_gateway_can_transfer_errors_total', 'counter', 'Frames or transfers the reassembler refused (CRC, sequence, orphan, too long, full, timeout).', (b) => b.stats.errTransfer],
  ['cell_gateway_can_bad_frames_total', 'counter', 'Transfers whose compact header did not parse.', (b) => b.stats.errBadFrame],
  ['cell_gateway_can_stale_entries_total', 'counter', 'Requests for a table entry the device no longer has (reflashed).', (b) => b.stats.staleEntries],
  ['cell_gateway_can_error_frames_total', 'counter', 'CAN error frames seen by the driver.', (b) => b.driver.errorFrames],
  ['cell_gateway_can_tx_backoffs_total', 'counter', 'Times the kernel or adapter queue was full (ENOBUFS/EAGAIN) and the driver backed off.', (b) => b.driver.txBackoffs],
  ['cell_gateway_can_rx_overflows_total', 'counter', 'Frames the kernel dropped because the receive queue was full.', (b) => b.driver.rxOverflows],
  ['cell_gateway_can_nodes', 'gauge', 'Device nodes known on the bus.', (b) => b.nodes],
  ['cell_gateway_can_nodes_up', 'gauge', 'Device nodes answering now.', (b) => b.nodesUp],
  ['cell_gateway_can_bus_off', 'gauge', '1 while the controller is bus-off.', (b) => (b.state === 'bus-off' ? 1 : 0)],
];

/** The CAN bus families: only when the gateway has CAN buses. */
function canFamilies(s: GatewayStatus): PromFamily[] {
  const buses = s.canBuses ?? [];
  return CAN_FAMILIES.map(([name, type, help, value]) => ({
    name, type, help, samples: buses.map((b) => ({ suffix: '', labels: [['bus', b.bus]] as const, value: value(b) })),
  }));
}

// ---------------------------------------------------------------------------------------------
// The HTTP endpoint

/** `host:port`, `[v6]:port`, or a bare port (then on 127.0.0.1). Throws RangeError with the fix. */
export function parseHostPort(address: string): { host: string; port: number } {
  const fix = 'give host:port, e.g. 127.0.0.1:9464 (this machine only) or 0.0.0.0:9464 (every interface)';
  const a = address.trim();
  let host: string;
  let port: string;
  if (/^\d+$/.test(a)) { host = '127.0.0.1'; port = a; }
  else if (a.startsWith('[')) {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(a);
    if (m === null) throw new RangeError(`metrics address "${address}": ${fix}`);
    host = m[1]!; port = m[2]!;
  } else {
    const cut = a.lastIndexOf(':');
    if (cut <= 0 || a.indexOf(':') !== cut) throw new RangeError(`metrics address "${address}": ${fix}`);
    host = a.slice(0, cut); port = a.slice(cut + 1);
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535) throw new RangeError(`metrics address "${address}": port must be 0..65535; ${fix}`);
  return { host, port: n };
}

export interface ServeMetricsOptions {
  /** HTTP connections open at once (Prometheus keeps one). @default 16 */
  maxConnections?: number;
}

export interface MetricsServer {
  /** host:port actually bound (port 0 → the port the OS chose). */
  readonly address: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  /** Stop listening and close open connections. */
  close(): Promise<void>;
}

/**
 * Serve `gw`'s metrics: `GET /metrics` (Prometheus text 0.0.4), `GET /status.json` (GatewayStatus).
 * Resolves once listening; rejects CellError LinkIo (501) when the address cannot be bound
 * (in use, not on this machine, a privileged port).
 */
export async function serveMetrics(gw: Pick<Gateway, 'status'>, address: string = DEFAULT_METRICS_ADDRESS, opts: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const { host, port } = parseHostPort(address);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    let body: string;
    let type: string;
    try {
      if (path === '/metrics') { body = formatPrometheus(gatewayFamilies(gw.status())); type = PROMETHEUS_CONTENT_TYPE; }
      else if (path === '/status.json') { body = JSON.stringify(gw.status()); type = 'application/json'; }
      else if (path === '/') { body = 'cell gateway: /metrics (Prometheus text), /status.json\n'; type = 'text/plain; charset=utf-8'; }
      else { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /status.json\n'); return; }
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
      return;
    }
    const bytes = utf8.encode(body);
    res.writeHead(200, { 'content-type': type, 'content-length': bytes.length, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  server.maxConnections = opts.maxConnections ?? 16;
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const why = e.code === 'EADDRINUSE' ? 'the port is in use (another gateway or exporter?): pick another with host:port'
        : e.code === 'EADDRNOTAVAIL' ? 'no interface of this machine has that address: use 127.0.0.1, 0.0.0.0 or one of its own'
        : e.code === 'EACCES' ? 'ports below 1024 need privileges: use a higher port (9464 is the usual one)'
        : e.message;
      reject(new CellError(ERR_LINK_IO, `cannot serve metrics on ${address}: ${why}`, { address, cause: e.code }));
    };
    server.once('error', onError);
    server.listen(port, host, () => { server.off('error', onError); resolve(); });
  });
  const a = server.address() as AddressInfo;
  const hostPart = a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address;
  return {
    address: `${hostPart}:${a.port}`,
    port: a.port,
    url: `http://${hostPart}:${a.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
