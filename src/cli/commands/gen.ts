// cell gen <target...> [--out DIR] [--json]      cell gen --offline [name...] [--out DIR]
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { CommandSpec, Parsed } from '../args.ts';
import { generateClient } from '../codegen.ts';
import { compareDescriptions } from '../compare.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { bool, str, stringify, type Ctx } from '../io.ts';
import { libSpecifier } from '../lib-path.ts';
import { fetchDescription } from '../remote.ts';
import {
  cachedNames, cacheFiles, cacheText, canonicalDescription, readCachedSchema, rememberTarget, writeIfChanged, type CachedSchema,
} from '../schema-cache.ts';
import { resolveTarget } from '../target.ts';

export const spec: CommandSpec = {
  name: 'gen',
  summary: 'Cache a running cell\'s schema and write a typed client for it.',
  details: [
    'Fetches the schema over the control channel and writes, under <out>/.cell/:',
    '  schemas/<name>.json  canonical JSON (sorted keys, fingerprints, method keys) — commit it',
    '  types/<name>.ts      the schema re-declared with the DSL and connect<Name>(link) → typed client',
    'so `tsc` checks every call of the consumer, and keeps doing so offline: `cell gen --offline`',
    'rewrites the .ts files from the cached JSON without a running cell (like sqlx\'s offline mode).',
  ].join('\n'),
  args: [{ name: 'target', desc: 'running cells: directory, socket path or host:port (with --offline: cached cell names, default all)', variadic: true }],
  flags: {
    out: { type: 'string', arg: 'dir', desc: 'project directory that holds .cell/ (default: .)' },
    offline: { type: 'boolean', desc: 'regenerate the .ts files from .cell/schemas without contacting any cell' },
    json: { type: 'boolean', desc: 'print [{name, version, schema, types, changed}] as JSON' },
  },
  examples: ['cell gen examples/thermo', 'cell gen 127.0.0.1:7070 --out ../app', 'cell gen --offline'],
};

interface GenResult { name: string; version: string; schema: string; types: string; schemaChanged: boolean; typesChanged: boolean; breaking?: string[] }

function writeTypes(out: string, d: CachedSchema): { path: string; changed: boolean } {
  const files = cacheFiles(out, d.name);
  const src = generateClient(d, {
    rpc: libSpecifier(files.types, 'rpc'), codec: libSpecifier(files.types, 'codec'), transports: libSpecifier(files.types, 'transports'),
  }, `.cell/schemas/${d.name}.json`);
  return { path: files.types, changed: writeIfChanged(files.types, src) };
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const out = resolve(str(p, 'out') ?? '.');
  const results: GenResult[] = [];
  if (bool(p, 'offline')) {
    const names = p.positionals.length > 0 ? p.positionals : cachedNames(out);
    if (names.length === 0) throw new CliError(`no cached schemas in ${relative(process.cwd(), out) || '.'}/.cell/schemas`, { exit: EXIT_USAGE, fix: 'fetch one from a running cell first: `cell gen <target>`' });
    for (const name of names) {
      const files = cacheFiles(out, name);
      if (!existsSync(files.schema)) throw new CliError(`no cached schema for "${name}" (${files.schema})`, { exit: EXIT_USAGE, fix: `cell gen <target of ${name}>` });
      const d = readCachedSchema(files.schema);
      const t = writeTypes(out, d);
      results.push({ name, version: d.version, schema: files.schema, types: t.path, schemaChanged: false, typesChanged: t.changed });
    }
  } else {
    if (p.positionals.length === 0) throw new CliError('missing <target>: the running cell to fetch the schema from', { exit: EXIT_USAGE, fix: 'cell gen <dir|socket|host:port>, or `cell gen --offline` to rebuild from the cache' });
    for (const text of p.positionals) {
      const target = resolveTarget(text);
      const d = canonicalDescription(await fetchDescription(target));
      const files = cacheFiles(out, d.name);
      let breaking: string[] | undefined;
      if (existsSync(files.schema)) {
        try {
          const r = compareDescriptions(readCachedSchema(files.schema), d);
          if (r.breaking) breaking = r.entries.filter((e) => e.breaking).map((e) => `${e.kind} ${e.name}: ${e.change}`);
        } catch { /* an unreadable old cache is simply replaced */ }
      }
      const schemaChanged = writeIfChanged(files.schema, cacheText(d));
      const t = writeTypes(out, d);
      rememberTarget(out, d.name, target.kind === 'unix' && target.dir !== undefined ? target.dir : text, target.kind === 'unix' && target.dir !== undefined ? 'path' : 'address');
      results.push({ name: d.name, version: d.version, schema: files.schema, types: t.path, schemaChanged, typesChanged: t.changed, ...(breaking !== undefined ? { breaking } : {}) });
    }
  }
  if (ctx.json) { ctx.out(stringify(results)); return 0; }
  const rel = (f: string): string => relative(process.cwd(), f) || f;
  for (const r of results) {
    ctx.out(`${r.name} ${r.version}`);
    ctx.out(`  schema  ${rel(r.schema)}${bool(p, 'offline') ? ' (cached)' : r.schemaChanged ? ' (written)' : ' (unchanged)'}`);
    ctx.out(`  client  ${rel(r.types)}${r.typesChanged ? ' (written)' : ' (unchanged)'}`);
    if (r.breaking !== undefined) ctx.out(`  note    breaking change against the previous cache: ${r.breaking.join('; ')} — rebuild the callers`);
  }
  return 0;
}
