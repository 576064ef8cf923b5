// cell status [dir...] [--json]
// cell status --mesh [--bootstrap MA]... [--wait ms] [--json]   (peers and the cells they provide: commands/mesh.ts)
import { relative } from 'node:path';
import { connect } from '../../rpc/index.ts';
import { connectUnix } from '../../transports/index.ts';
import type { CommandSpec, Parsed } from '../args.ts';
import { readCellDir, type CellDir } from '../cell-dir.ts';
import { errorJson, toCliError } from '../errors.ts';
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
  ].join('\n'),
  args: [{ name: 'dir', desc: 'cell directories (default: .)', variadic: true }],
  flags: {
    json: { type: 'boolean', desc: 'print an array of status objects' },
    mesh: { type: 'boolean', desc: 'list the mesh peers found and the cells each provides (docs/mesh.md)' },
    bootstrap: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'with --mesh: peer to dial first (else CELL_MESH_BOOTSTRAP, and mDNS)' },
    'no-mdns': { type: 'boolean', desc: 'with --mesh: no LAN discovery' },
    wait: { type: 'number', arg: 'ms', desc: 'with --mesh: how long to look for peers (default 3000)' },
  },
  examples: ['cell status examples/thermo', 'cell status cells/* --json', 'cell status --mesh --wait 5000'],
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

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
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
