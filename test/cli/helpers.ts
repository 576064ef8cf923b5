// Helpers for the CLI suites: temp dirs, the CLI as a child process (bin/cell.mjs, from source)
// or in-process (main() with captured output), and cleanup of every cell a test started — also
// when a test fails or the process exits early.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'cell.mjs');

export interface Result { code: number; stdout: string; stderr: string }

const temps: string[] = [];
const cells = new Set<string>();

export function tempDir(prefix = 'cell-cli-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** Remember a cell directory so its process is stopped at cleanup. */
export function track(dir: string): string {
  cells.add(dir);
  return dir;
}

/** Run `cell ...args` as a child process (the sources, via bin/cell.mjs). */
export function cli(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, CELL_CLI_FROM_SOURCE: '1', NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Run the CLI in this process (fast; not for `run`, which forks). */
export async function cliIn(args: readonly string[]): Promise<Result> {
  let stdout = '', stderr = '';
  const code = await main(args, { out: (l) => { stdout += l + '\n'; }, err: (l) => { stderr += l + '\n'; } });
  return { code, stdout, stderr };
}

function pidOf(dir: string): number | undefined {
  try { return (JSON.parse(readFileSync(join(dir, '.cell', 'run', 'cell.pid'), 'utf8')) as { pid: number }).pid; } catch { return undefined; }
}

/** Stop every tracked cell (SIGTERM, then SIGKILL) and remove the temp dirs. */
export function cleanup(): void {
  for (const dir of cells) {
    const pid = pidOf(dir);
    if (pid === undefined) continue;
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      try { process.kill(pid, 0); } catch { break; }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  cells.clear();
  for (const d of temps.splice(0)) if (existsSync(d)) rmSync(d, { recursive: true, force: true });
}
process.once('exit', cleanup);

/** The JSON document printed on stdout (the last non-empty line for one-line output). */
export function json<T = unknown>(r: Result): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

export function explain(r: Result): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}
