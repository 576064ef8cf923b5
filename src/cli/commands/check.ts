// cell check [target...] [--dir DIR] [--json]
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { CommandSpec, Parsed } from '../args.ts';
import { compareDescriptions, type CompareReport } from '../compare.ts';
import { CliError, errorJson, EXIT_BREAKING, EXIT_ERROR, EXIT_USAGE, toCliError } from '../errors.ts';
import { str, stringify, type Ctx } from '../io.ts';
import { fetchDescription } from '../remote.ts';
import { cacheFiles, readCachedSchema, readTargets } from '../schema-cache.ts';
import { resolveTarget } from '../target.ts';

export const spec: CommandSpec = {
  name: 'check',
  summary: 'Compare cached schemas (.cell/schemas) with the running cells.',
  details: [
    'For each method, stream and event: unchanged; added (compatible); removed, or request/response',
    'schema changed (breaking: its method key changed, so callers built from the cache get',
    'SchemaMismatch/UnknownMethod). Without targets, checks every cell `cell gen` fetched (.cell/targets.json).',
    'Exit code 3 on a breaking change, 1 when a cell cannot be reached or has no cached schema, else 0.',
  ].join('\n'),
  args: [{ name: 'target', desc: 'running cells: directory, socket path or host:port (default: those in .cell/targets.json)', variadic: true }],
  flags: {
    dir: { type: 'string', arg: 'dir', desc: 'project directory that holds .cell/ (default: .)' },
    json: { type: 'boolean', desc: 'print [{target, name, breaking, entries: [...]}] as JSON' },
  },
  examples: ['cell check', 'cell check examples/thermo --json'],
};

type Row = { target: string } & ({ ok: true; report: CompareReport; cache: string } | { ok: false; error: ReturnType<typeof errorJson> });

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const dir = resolve(str(p, 'dir') ?? '.');
  let targets = p.positionals;
  if (targets.length === 0) {
    targets = Object.values(readTargets(dir));
    if (targets.length === 0) {
      throw new CliError(`nothing to check: no targets given and no ${relative(process.cwd(), dir) || '.'}/.cell/targets.json`, { exit: EXIT_USAGE, fix: 'cache a schema first (`cell gen <target>`), or name the cells: `cell check <target...>`' });
    }
  }
  const rows: Row[] = [];
  for (const text of targets) {
    try {
      const running = await fetchDescription(resolveTarget(text));
      const cache = cacheFiles(dir, running.name).schema;
      if (!existsSync(cache)) throw new CliError(`${running.name} has no cached schema (${relative(process.cwd(), cache)})`, { name: 'NotCached', fix: `cache it: \`cell gen ${text}\`` });
      rows.push({ target: text, ok: true, cache, report: compareDescriptions(readCachedSchema(cache), running) });
    } catch (e) {
      rows.push({ target: text, ok: false, error: errorJson(toCliError(e, text)) });
    }
  }
  const breaking = rows.some((r) => r.ok && r.report.breaking);
  const failed = rows.some((r) => !r.ok);
  if (ctx.json) ctx.out(stringify(rows.map((r) => (r.ok ? { target: r.target, cache: r.cache, ...r.report } : r))));
  else {
    for (const r of rows) {
      if (!r.ok) {
        ctx.out(`${r.target}: ${String(r.error.name)}${r.error.code !== undefined ? ` (code ${String(r.error.code)})` : ''}: ${String(r.error.message)}`);
        if (r.error.fix !== undefined) ctx.out(`  fix: ${String(r.error.fix)}`);
        continue;
      }
      const rep = r.report;
      const versions = rep.cachedVersion === rep.runningVersion ? rep.runningVersion : `cached ${rep.cachedVersion}, running ${rep.runningVersion}`;
      ctx.out(`${rep.name} (${versions}) — ${relative(process.cwd(), r.cache)} vs ${r.target}`);
      for (const e of rep.entries) {
        const tag = e.change === 'unchanged' ? '' : e.breaking ? '  BREAKING' : '  compatible';
        ctx.out(`  ${e.change.padEnd(9)} ${e.kind.padEnd(6)} ${e.name}${tag}`);
        for (const d of e.details) ctx.out(`              ${d}`);
      }
      ctx.out(rep.breaking
        ? '  → breaking: callers built from the cache will fail (SchemaMismatch/UnknownMethod). Run `cell gen` and fix the callers tsc then reports.'
        : rep.stale ? '  → compatible; run `cell gen` to refresh the cache and use what is new.' : '  → up to date.');
    }
  }
  return breaking ? EXIT_BREAKING : failed ? EXIT_ERROR : 0;
}
