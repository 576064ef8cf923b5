// cell status [dir...] [--json]
// cell status --mesh [--bootstrap MA]... [--wait ms] [--json]   (peers and the cells they provide: commands/mesh.ts)
// cell status --gateway [host:port] [--json]   (a running gateway's /status.json: docs/gateway.md §7)
import { get } from 'node:http';
import { relative } from 'node:path';
import { connect } from '../../rpc/index.ts';
import { connectUnix } from '../../transports/index.ts';
import type { CommandSpec, Parsed } from '../args.ts';
import type { GatewayStatus } from '../../gateway/index.ts';
import { readCellDir, type CellDir } from '../cell-dir.ts';
import { CliError, EXIT_USAGE, errorJson, toCliError } from '../errors.ts';
import { formatDuration, stringify, type Ctx } from '../io.ts';
import { Ops } from '../ops.ts';
import { connectablePath } from '../run-files.ts';
import { inspectRun } from '../run-state.ts';

export const spec: CommandSpec = {
  name: 'status',
  summary: 'Show the state of cells started with `cell run`.',
  details: [
    'For each directory: running (pid, socket, uptime, connections and calls served, read from the',
    'server), stopped, or stale (a pid file or socket left by a process that is gone: the files are',
    'removed and reported). Exit code 0 when every cell is running, else 1.',
    '--gateway [host:port]: a gateway serving its metrics (metrics = "host:port" in its config): its',
    'devices, calls, errors, latency and link counters (its /status.json; default 127.0.0.1:9464).',
  ].join('\n'),
  args: [{ name: 'dir', desc: 'cell directories (default: .); with --gateway: the gateway\'s metrics host:port', variadic: true }],
  flags: {
    json: { type: 'boolean', desc: 'print an array of status objects' },
    mesh: { type: 'boolean', desc: 'list the mesh peers found and the cells each provides (docs/mesh.md)' },
    bootstrap: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'with --mesh: peer to dial first (else CELL_MESH_BOOTSTRAP, and mDNS)' },
    'no-mdns': { type: 'boolean', desc: 'with --mesh: no LAN discovery' },
    wait: { type: 'number', arg: 'ms', desc: 'with --mesh: how long to look for peers (default 3000)' },
    gateway: { type: 'boolean', desc: 'a running gateway\'s state and counters, from its metrics endpoint (argument: host:port, default 127.0.0.1:9464)' },
  },
  examples: ['cell status examples/thermo', 'cell status cells/* --json', 'cell status --mesh --wait 5000', 'cell status --gateway 127.0.0.1:9464 --json'],
};

export interface StatusRow {
  dir: string;
  name?: string;
  state: 'running' | 'unresponsive' | 'stopped' | 'stale' | 'error';
  pid?: number;
  version?: string;
  socket?: string;
  tcp?: string;
  startedAt?: string;
  uptimeMs?: number;
  connections?: number;
  connectionsTotal?: number;
  callsIn?: number;
  errorsOut?: number;
  removed?: string[];
  error?: Record<string, unknown>;
}

async function counters(cd: CellDir) {
  const link = await connectUnix(connectablePath(cd.paths.opsSocket));
  const c = await connect(Ops, link, { helloTimeoutMs: 2000, heartbeatMs: 0 });
  try {
    return await c.counters({ reserved: 0 }, { deadlineMs: 2000 });
  } finally {
    await c.close();
  }
}

export async function statusOf(dir: string): Promise<StatusRow> {
  let cd: CellDir;
  try { cd = readCellDir(dir); } catch (e) { return { dir, state: 'error', error: errorJson(toCliError(e)) }; }
  const st = inspectRun(cd.paths);
  if (st.state === 'stopped') return { dir, name: cd.name, state: 'stopped' };
  if (st.state === 'stale') return { dir, name: cd.name, state: 'stale', ...(st.info !== null ? { pid: st.info.pid } : {}), removed: st.removed };
  const i = st.info;
  const row: StatusRow = { dir, name: cd.name, state: 'running', pid: i.pid, version: i.version, socket: i.socket, ...(i.tcp !== undefined ? { tcp: i.tcp } : {}), startedAt: i.startedAt };
  try {
    const s = await counters(cd);
    return { ...row, uptimeMs: s.uptimeMs, connections: s.connections, connectionsTotal: s.connectionsTotal, callsIn: s.callsIn, errorsOut: s.errorsOut };
  } catch (e) {
    return { ...row, state: 'unresponsive', uptimeMs: Date.now() - Date.parse(i.startedAt), error: errorJson(toCliError(e)) };
  }
}

/** Where the docs put a gateway's metrics (docs/gateway.md §7). */
export const GATEWAY_METRICS_ADDRESS = '127.0.0.1:9464';

/** GET http://<address>/status.json of a gateway serving its metrics (serveMetrics). */
export async function gatewayStatus(address: string, timeoutMs = 5000): Promise<GatewayStatus> {
  const url = `http://${/^\d+$/.test(address) ? `127.0.0.1:${address}` : address}/status.json`;
  const fix = `give the gateway metrics = "${address}" in its config file (docs/gateway.md §7), or give the address it serves them on: cell status --gateway host:port`;
  const hint = 'no gateway serves its metrics there';
  // node:http, not fetch(): fetch refuses some ports (the "bad ports" of the Fetch standard).
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => { if (text.length < 16 << 20) text += s; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  }).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`no gateway answers at ${url}: ${e.code ?? e.message}`, { code: 401, hint, fix, detail: { url } });
  });
  if (status !== 200) throw new CliError(`${url} answered HTTP ${status}`, { code: 401, hint, fix, detail: { url, status } });
  let s: GatewayStatus | null = null;
  try { s = JSON.parse(body) as GatewayStatus; } catch { /* below */ }
  if (s === null || s.version !== 1 || !Array.isArray(s.devices)) throw new CliError(`${url} is not a cell gateway's status (version 1)`, { code: 406, hint: 'another program answers on that port', fix, detail: { url } });
  return s;
}

const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;

/** A latency bound from the cumulative buckets: the first bound holding fraction q of the calls. */
function quantileBound(bounds: readonly number[], cumulative: readonly number[], q: number): string {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total === 0) return '-';
  const i = cumulative.findIndex((c) => c >= q * total);
  return i < bounds.length ? `≤${bounds[i]! * 1000} ms` : `>${bounds[bounds.length - 1]! * 1000} ms`;
}

function printGateway(s: GatewayStatus, address: string, ctx: Ctx): void {
  ctx.out(`gateway ${address}  pid ${s.pid}, up ${formatDuration(s.uptimeSeconds * 1000)}, rss ${mb(s.rssBytes)}, ${s.meshPeers ?? '?'} mesh peers${s.peerId !== null ? `, peer ${s.peerId}` : ''}`);
  if (s.devices.length === 0) ctx.out('  no device yet');
  for (const d of s.devices) {
    const state = !d.present ? 'unplugged' : d.announced ? (d.up ? 'announced' : 'announced, port down') : d.up ? 'open, not announced' : 'waiting for the device';
    const l = d.link;
    const as = d.announcedAs !== null && d.announcedAs !== d.cell ? ` as "${d.announcedAs}"` : '';
    ctx.out(`${d.device}  ${d.cell ?? '(unknown cell)'}${as}  ${state}${d.match !== d.device ? `  (${d.match})` : ''}`);
    ctx.out(`  link    ${l.bytesIn} B in, ${l.bytesOut} B out; ${l.crcErrors} CRC errors, ${l.resyncs} resyncs, ${l.ioErrors} I/O errors; ${d.reconnects} reconnects; ${d.meshStreams} mesh streams, ${d.inFlight} in flight`);
    const rows = d.methods.filter((m) => m.kind !== 'event');
    if (rows.length > 0) {
      const w = Math.max(6, ...rows.map((m) => m.method.length));
      ctx.out(`  ${'method'.padEnd(w)}  ${'calls'.padStart(7)}  ${'errors'.padStart(6)}  ${'p50'.padStart(9)}  ${'p99'.padStart(9)}  error codes`);
      for (const m of rows) {
        const errs = Object.values(m.errors).reduce((a, b) => a + b, 0);
        const codes = Object.entries(m.errors).map(([c, n]) => `${c}×${n}`).join(' ');
        ctx.out(`  ${m.method.padEnd(w)}  ${String(m.calls).padStart(7)}  ${String(errs).padStart(6)}  ${quantileBound(s.latencyBucketsSeconds, m.latency.buckets, 0.5).padStart(9)}  ${quantileBound(s.latencyBucketsSeconds, m.latency.buckets, 0.99).padStart(9)}  ${codes}`.trimEnd());
      }
    }
    const ev = d.methods.filter((m) => m.kind === 'event' && m.events > 0);
    if (ev.length > 0) ctx.out(`  events  ${ev.map((m) => `${m.method} ${m.events}`).join(', ')}`);
    if (d.untracked > 0) ctx.out(`  ${d.untracked} calls not matched to an answer (in-flight table full, or unknown ids)`);
  }
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  if (p.flags.gateway === true) {
    if (p.positionals.length > 1) throw new CliError('--gateway takes one address (host:port)', { exit: EXIT_USAGE, fix: 'e.g. cell status --gateway 127.0.0.1:9464' });
    const address = p.positionals[0] ?? GATEWAY_METRICS_ADDRESS;
    const s = await gatewayStatus(address);
    if (ctx.json) ctx.out(stringify(s));
    else printGateway(s, address, ctx);
    return 0;
  }
  if (p.flags.mesh === true) {
    const { meshStatus, printMeshStatus } = await import('./mesh.ts');
    printMeshStatus(await meshStatus(p, (p.flags.wait as number | undefined) ?? 3000), ctx);
    return 0;
  }
  const dirs = p.positionals.length > 0 ? p.positionals : ['.'];
  const rows = await Promise.all(dirs.map(statusOf));
  if (ctx.json) ctx.out(stringify(rows));
  else {
    for (const r of rows) {
      const title = `${r.name ?? r.dir}${r.version !== undefined ? ` ${r.version}` : ''}`;
      switch (r.state) {
        case 'running':
        case 'unresponsive':
          ctx.out(`${title}  ${r.state} (pid ${r.pid}, up ${formatDuration(r.uptimeMs ?? 0)})`);
          ctx.out(`  socket  ${r.socket}`);
          if (r.tcp !== undefined) ctx.out(`  tcp     ${r.tcp}`);
          if (r.state === 'running') ctx.out(`  calls   ${r.callsIn} served, ${r.errorsOut} answered with an error; ${r.connections} connections open, ${r.connectionsTotal} since start`);
          else ctx.out(`  the process is alive but its ops socket does not answer: ${String(r.error?.message)}`);
          break;
        case 'stopped': ctx.out(`${title}  stopped (start it: cell run ${r.dir})`); break;
        case 'stale':
          ctx.out(`${title}  stale: ${r.pid !== undefined ? `pid ${r.pid} is gone` : 'left-over files'}; removed ${r.removed!.map((f) => relative(process.cwd(), f) || f).join(', ')}`);
          break;
        case 'error': ctx.out(`${r.dir}  error: ${String(r.error?.message)}${r.error?.fix !== undefined ? ` (${String(r.error.fix)})` : ''}`); break;
      }
    }
  }
  return rows.every((r) => r.state === 'running') ? 0 : 1;
}
