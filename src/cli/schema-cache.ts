// The schema cache of `cell gen` (docs/cli.md ".cell/ layout"), like sqlx's offline mode:
//   .cell/schemas/<name>.json   the cell's description as canonical JSON (stable key order, entries
//                               sorted by name, fingerprints and method keys): commit it
//   .cell/types/<name>.ts       the typed client generated from it: commit it too
//   .cell/targets.json          where each cached cell was fetched from (for `cell check` without arguments)
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { CellDescription } from '../codec/schema-json.ts';
import { canonicalJson } from './canonical-json.ts';
import { CliError } from './errors.ts';
import { checkDescription } from './remote.ts';

export const CACHE_FORMAT = 'cell-schema/1';

export interface CachedSchema extends CellDescription {
  readonly format: string;
}

export interface CacheFiles {
  readonly schema: string;
  readonly types: string;
}

export function cacheFiles(outDir: string, name: string): CacheFiles {
  return { schema: join(outDir, '.cell', 'schemas', `${name}.json`), types: join(outDir, '.cell', 'types', `${name}.ts`) };
}

const byName = <T extends { name: string }>(xs: readonly T[]): T[] => [...xs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** The description in cache form: entries and errors sorted by name, plus the format tag. */
export function canonicalDescription(d: CellDescription): CachedSchema {
  return {
    format: CACHE_FORMAT,
    name: d.name,
    version: d.version,
    protocol: d.protocol,
    methods: byName(d.methods).map((m) => ({ ...m, errors: byName(m.errors) })),
    streams: byName(d.streams).map((s) => ({ ...s, errors: byName(s.errors) })),
    events: byName(d.events),
  };
}

/** The text of a cache file: sorted keys at every level, 2-space indent, final newline. */
export function cacheText(v: unknown): string {
  return canonicalJson(v, 2) + '\n';
}

/** Write a file atomically (temp file + rename); returns true when the content changed. */
export function writeIfChanged(path: string, text: string): boolean {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return true;
}

export function readCachedSchema(path: string): CachedSchema {
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`, { name: 'BadSchemaCache', fix: 'regenerate it from the running cell: `cell gen <target>`' });
  }
  const d = checkDescription(o, path) as CachedSchema;
  if (d.format !== CACHE_FORMAT) {
    throw new CliError(`${path} has format ${JSON.stringify(d.format)}, this CLI reads ${CACHE_FORMAT}`, { name: 'BadSchemaCache', fix: 'regenerate it: `cell gen <target>`' });
  }
  return d;
}

/** Names of every cached schema under outDir/.cell/schemas. */
export function cachedNames(outDir: string): string[] {
  const dir = join(outDir, '.cell', 'schemas');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

// ---- targets.json ------------------------------------------------------------------------------

function targetsFile(outDir: string): string {
  return join(outDir, '.cell', 'targets.json');
}

/** Remember where `name` was fetched from (paths stored relative to outDir, so the file can be committed). */
export function rememberTarget(outDir: string, name: string, target: string, kind: 'path' | 'address'): void {
  const all = readTargetsRaw(outDir);
  all[name] = kind === 'path' ? relative(resolve(outDir), resolve(target)) || '.' : target;
  writeIfChanged(targetsFile(outDir), cacheText(all));
}

function readTargetsRaw(outDir: string): Record<string, string> {
  const f = targetsFile(outDir);
  if (!existsSync(f)) return {};
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

/** name → target (paths made absolute again). */
export function readTargets(outDir: string): Record<string, string> {
  const o = readTargetsRaw(outDir);
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, /^[^/]*:\d+$/.test(v) || v.startsWith('unix:') || isAbsolute(v) ? v : resolve(outDir, v)]));
}
