// `cell run` without --foreground: start this CLI again as `cell run <dir> --foreground` in the
// background, wait until the socket answers HELLO, then let it go (docs/cli.md "cell run").
// The child's stdout/stderr go to .cell/log/cell.out, so a crash during start-up is shown here.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { closeSync, existsSync, fchmodSync, openSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, defineCell } from '../rpc/index.ts';
import { connectUnix } from '../transports/index.ts';
import type { CellDir } from './cell-dir.ts';
import { CliError } from './errors.ts';
import { connectablePath, privateDir, stateDir } from './run-files.ts';
import { readRunInfo, type RunInfo } from './run-state.ts';

const PROBE = defineCell({ name: 'cell_cli' });

/** Does the socket complete a HELLO exchange? */
export async function helloOk(socket: string, timeoutMs = 1000): Promise<boolean> {
  if (!existsSync(socket)) return false;
  try {
    const c = await connect(PROBE, await connectUnix(connectablePath(socket)), { helloTimeoutMs: timeoutMs, heartbeatMs: 0 });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Node flags to pass on to the child: loaders yes (`--import tsx` made absolute, since the child
 * may resolve from another directory), the inspector no (it would clash on its port).
 */
function childExecArgv(): string[] {
  const req = createRequire(import.meta.url);
  const abs = (spec: string): string => (spec === 'tsx' || spec.startsWith('tsx/') ? pathToFileURL(req.resolve(spec)).href : spec);
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--inspect') || a.startsWith('--debug')) continue;
    if ((a === '--import' || a === '--loader') && i + 1 < argv.length) { out.push(a, abs(argv[++i]!)); continue; }
    const m = /^(--import|--loader)=(.*)$/.exec(a);
    out.push(m !== null ? `${m[1]}=${abs(m[2]!)}` : a);
  }
  return out;
}

function tail(file: string, from: number, maxLines = 20): string {
  try {
    const text = readFileSync(file, 'utf8').slice(from);
    return text.trimEnd().split('\n').slice(-maxLines).join('\n');
  } catch {
    return '';
  }
}

export interface DetachOptions {
  /** Give up after this long. @default 60000 */
  waitMs?: number;
  /** Extra arguments for the child's `cell run` (e.g. --tcp, --log-level). */
  args?: readonly string[];
}

/** Start the cell in the background; resolves once it answers HELLO, with its pid file. */
export async function startDetached(cd: CellDir, opts: DetachOptions = {}): Promise<RunInfo> {
  const paths = cd.paths;
  stateDir(paths.state);
  privateDir(paths.logDir, 0o700);
  const outStart = existsSync(paths.outFile) ? statSync(paths.outFile).size : 0;
  const out = openSync(paths.outFile, 'a', 0o600);
  fchmodSync(out, 0o600);
  const script = process.argv[1]!;
  const child = spawn(process.execPath, [...childExecArgv(), script, 'run', cd.dir, '--foreground', ...(opts.args ?? [])], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, CELL_DETACHED: '1' },
  });
  closeSync(out);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.once('exit', (code, signal) => { exited = { code, signal }; });
  const spawnErr = new Promise<Error>((r) => child.once('error', r));
  let failed: Error | null = null;
  void spawnErr.then((e) => { failed = e; });

  const deadline = Date.now() + (opts.waitMs ?? 60000);
  for (;;) {
    if (failed !== null) throw new CliError(`cannot start ${process.execPath}: ${(failed as Error).message}`, { name: 'StartFailed' });
    if (exited !== null) {
      const ex = exited as { code: number | null; signal: NodeJS.Signals | null };
      const output = tail(paths.outFile, outStart);
      throw new CliError(`${cd.name} exited during start-up (${ex.signal !== null ? `signal ${ex.signal}` : `exit code ${ex.code}`})`, {
        name: 'StartFailed',
        fix: `fix the error above and run it again; to watch it start: \`cell run ${cd.dir} --foreground\``,
        detail: output !== '' ? { output } : undefined,
      });
    }
    if (await helloOk(paths.socket)) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new CliError(`${cd.name} did not answer on ${paths.socket} within ${opts.waitMs ?? 60000} ms`, {
        code: 401, fix: `look at its output: ${paths.outFile} and \`cell logs ${cd.dir}\`; raise --wait`,
      });
    }
    await sleep(50);
  }
  child.unref();
  const info = readRunInfo(paths);
  if (info === null || info === 'garbage') throw new CliError(`${cd.name} answers but wrote no pid file`, { name: 'StartFailed' });
  return info;
}
