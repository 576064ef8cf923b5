// A `cell gateway` process for the tests (bin/cell.mjs: from the TypeScript sources with
// `fromSource`, else the built package, whose `cell gateway` runs dist/bundle/cell.mjs), with
// the JSON lines it printed and a wait for an event. Used by test/cli/gateway-stop.test.ts and
// test/gateway/bundle.test.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../hw-tests/lib/procs.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export type Line = Record<string, unknown> & { event: string };

/** A `cell gateway` process and the JSON lines it printed. */
export interface GatewayProc {
  readonly child: ChildProcess;
  readonly lines: Line[];
  readonly stderr: () => string;
  /** The first line with this event (and matching `pred`), waiting for it. */
  waitFor(event: string, pred?: (l: Line) => boolean): Promise<Line>;
  /** Resolves with the exit code (null: killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** A hang guard, not a timing assertion. */
export const HANG_MS = 60_000;

/** `cell gateway --config <dir>/gateway.toml` with `config` written there, from the sources. */
export function startGatewayCli(dir: string, config: string): GatewayProc {
  const file = join(dir, 'gateway.toml');
  writeFileSync(file, config);
  return spawnGateway(dir, ['--config', file], true);
}

/** `cell gateway <args>` in `cwd`; `fromSource`: through tsx, else the built package. */
export function spawnGateway(cwd: string, args: readonly string[], fromSource: boolean): GatewayProc {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  if (fromSource) env.CELL_CLI_FROM_SOURCE = '1';
  else delete env.CELL_CLI_FROM_SOURCE;
  const child = spawnTracked(process.execPath, [join(root, 'bin/cell.mjs'), 'gateway', ...args], { cwd, env });
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const text = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (text.trim() === '') continue;
      let l: Line;
      try { l = JSON.parse(text) as Line; } catch { l = { event: '(not JSON)', text }; }
      lines.push(l);
      for (const w of [...waiters]) w();
    }
  });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { for (const w of [...waiters]) w(); resolve(code); }));
  const dump = (): string => `stdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${err}`;
  return {
    child, lines, stderr: () => err, exited,
    waitFor(event, pred = () => true) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const l = lines.find((x) => x.event === event && pred(x));
          if (l !== undefined) { done(); resolve(l); return; }
          if (child.exitCode !== null || child.signalCode !== null) { done(); reject(new Error(`gateway exited (${child.exitCode ?? child.signalCode}) before "${event}"\n${dump()}`)); }
        };
        const timer = setTimeout(() => { done(); reject(new Error(`no "${event}" within ${HANG_MS} ms\n${dump()}`)); }, HANG_MS);
        const done = (): void => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
  };
}

