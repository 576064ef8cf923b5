// cell run [dir] [--tcp host:port] [--foreground]
import { relative } from 'node:path';
import type { CommandSpec, Parsed } from '../args.ts';
import { MAX_CONNECTIONS_LIMIT, parseMaxConnections, readCellDir } from '../cell-dir.ts';
import { startDetached } from '../daemon.ts';
import { CliError } from '../errors.ts';
import { bool, num, str, stringify, type Ctx } from '../io.ts';
import { LEVELS, type Level } from '../log.ts';
import { inspectRun } from '../run-state.ts';
import { runForeground } from '../serve-cell.ts';

export const spec: CommandSpec = {
  name: 'run',
  summary: 'Serve a cell directory on <dir>/.cell/run/cell.sock.',
  details: [
    'By default the cell is started in the background: the command returns once the socket answers',
    'HELLO and prints where the cell runs. Logs (JSON lines) go to <dir>/.cell/log/cell.log, the pid',
    'file is <dir>/.cell/run/cell.pid. A stale socket or pid file is removed; a live one is refused.',
    'SIGTERM/SIGINT (or `cell stop`) say GOODBYE to the clients and let calls in flight finish.',
  ].join('\n'),
  args: [{ name: 'dir', desc: 'cell directory (with cell.toml)', optional: true }],
  flags: {
    tcp: { type: 'string', arg: 'host:port', desc: 'also listen on TCP (default: cell.toml [run].tcp)' },
    foreground: { type: 'boolean', desc: 'stay in the foreground; log lines also go to stderr' },
    'log-level': { type: 'string', arg: 'level', desc: 'debug | info | warn | error (debug logs every call)' },
    'max-connections': { type: 'number', arg: 'n', desc: 'open connections over the app sockets; more are refused (default: cell.toml [run].max_connections, else 1024)' },
    'no-shm': { type: 'boolean', desc: 'refuse shared memory: local clients stay on the Unix socket (default: cell.toml [run].shm, else on)' },
    wait: { type: 'number', arg: 'ms', desc: 'how long to wait for the background cell to answer (default 60000)' },
    json: { type: 'boolean', desc: 'print {name, version, pid, socket, tcp, log} as JSON' },
  },
  examples: ['cell run examples/thermo', 'cell run . --tcp 127.0.0.1:7070 --log-level debug', 'cell run . --foreground'],
};

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const dirArg = p.positionals[0] ?? '.';
  const cd = readCellDir(dirArg);
  const tcp = str(p, 'tcp');
  if (tcp !== undefined && !/^[^\s/]*:\d{1,5}$/.test(tcp)) throw new CliError(`--tcp "${tcp}" is not host:port`, { exit: 2, fix: 'e.g. --tcp 127.0.0.1:7070' });
  const level = str(p, 'log-level');
  if (level !== undefined && !(LEVELS as readonly string[]).includes(level)) throw new CliError(`--log-level "${level}" is not one of ${LEVELS.join(', ')}`, { exit: 2 });
  const maxRaw = num(p, 'max-connections');
  const maxConnections = maxRaw === undefined ? undefined : parseMaxConnections(maxRaw);
  if (maxConnections === null) throw new CliError(`--max-connections ${maxRaw} is not an integer from 1 to ${MAX_CONNECTIONS_LIMIT}`, { exit: 2, fix: 'e.g. --max-connections 256' });

  if (bool(p, 'foreground')) {
    const detached = process.env.CELL_DETACHED === '1';
    return runForeground(cd, {
      ...(tcp !== undefined ? { tcp } : {}),
      ...(level !== undefined ? { logLevel: level as Level } : {}),
      ...(maxConnections !== undefined ? { maxConnections } : {}),
      ...(bool(p, 'no-shm') ? { shm: false } : {}),
      echo: !detached,
      onReady: detached ? undefined : (r) => ctx.err(`${cd.name} serving on ${r.socket}${r.tcp !== undefined ? ` and tcp ${r.tcp}` : ''} (Ctrl-C to stop)`),
    });
  }

  const st = inspectRun(cd.paths);
  if (st.state === 'running') {
    throw new CliError(`${cd.name} is already running (pid ${st.info.pid})`, {
      name: 'AlreadyRunning', fix: `call it (\`cell call ${dirArg} <method>\`) or stop it first (\`cell stop ${dirArg}\`)`,
    });
  }
  if (st.state === 'stale') ctx.err(`removed files left by a previous run that is gone: ${st.removed.map((f) => relative(process.cwd(), f)).join(', ')}`);
  const args = [...(tcp !== undefined ? ['--tcp', tcp] : []), ...(level !== undefined ? ['--log-level', level] : []), ...(maxConnections !== undefined ? ['--max-connections', String(maxConnections)] : []), ...(bool(p, 'no-shm') ? ['--no-shm'] : [])];
  const wait = num(p, 'wait');
  const info = await startDetached(cd, { args, ...(wait !== undefined ? { waitMs: wait } : {}) });
  if (ctx.json) {
    ctx.out(stringify({ name: info.name, version: info.version, pid: info.pid, socket: info.socket, ...(info.tcp !== undefined ? { tcp: info.tcp } : {}), log: cd.paths.logFile }));
    return 0;
  }
  ctx.out(`${info.name} ${info.version} is running (pid ${info.pid})`);
  ctx.out(`  socket  ${info.socket}`);
  if (info.tcp !== undefined) ctx.out(`  tcp     ${info.tcp}`);
  ctx.out(`  logs    ${cd.paths.logFile}`);
  ctx.out(`  call    cell call ${dirArg} <method> '<json>'`);
  ctx.out(`  stop    cell stop ${dirArg}`);
  return 0;
}
