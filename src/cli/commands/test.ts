// cell test [dir]
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CommandSpec, Parsed } from '../args.ts';
import { readCellDir } from '../cell-dir.ts';
import { CliError } from '../errors.ts';
import type { Ctx } from '../io.ts';
import { hookArgs } from '../loader.ts';

export const spec: CommandSpec = {
  name: 'test',
  summary: 'Run a cell directory\'s tests with node:test.',
  details: [
    'Runs every test/**/*.test.ts of the cell with `node --test`, with TypeScript (tsx) and `cell/...`',
    'imports resolved as for `cell run`. Exit code 0 when they pass, 1 otherwise.',
  ].join('\n'),
  args: [{ name: 'dir', desc: 'cell directory (default: .)', optional: true }],
  flags: {},
  examples: ['cell test .', 'cell test examples/thermo'],
};

function walk(dir: string, out: string[]): string[] {
  for (const n of readdirSync(dir)) {
    if (n === 'node_modules' || n.startsWith('.')) continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.test\.(ts|mts|js|mjs)$/.test(n)) out.push(p);
  }
  return out;
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const cd = readCellDir(p.positionals[0] ?? '.');
  const testDir = join(cd.dir, 'test');
  const files = existsSync(testDir) ? walk(testDir, []).sort() : [];
  if (files.length === 0) throw new CliError(`no test files in ${testDir}`, { name: 'NoTests', fix: 'add test/<something>.test.ts (see the one `cell new` writes)' });
  ctx.err(`running ${files.length} test file(s) of ${cd.name}: ${files.map((f) => relative(cd.dir, f)).join(', ')}`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [...hookArgs(), '--test', ...files], { cwd: cd.dir, stdio: 'inherit' });
    child.once('exit', (c, sig) => resolve(c ?? (sig !== null ? 1 : 0)));
    child.once('error', () => resolve(1));
  });
  return code === 0 ? 0 : 1;
}
