// `cell check`: what changed between a cached schema and the running cell (docs/cli.md "cell check").
//
//   unchanged  same key (same cell, name, request and response schemas) and same declared errors
//   added      the running cell has it, the cache does not: compatible (callers built from the
//              cache never call it)
//   removed    the cache has it, the running cell does not: breaking (UnknownMethod)
//   changed    the key differs (request or response schema changed): breaking (SchemaMismatch);
//              or only the declared errors differ: breaking when an error's code or payload changed,
//              compatible when errors were only added or removed
import { sameJson } from './canonical-json.ts';
import type { CellDescription, ErrorDescription, SchemaJson, TypeDescription } from '../codec/schema-json.ts';

export type Change = 'unchanged' | 'added' | 'removed' | 'changed';

export interface EntryReport {
  readonly kind: 'method' | 'stream' | 'event';
  readonly name: string;
  readonly change: Change;
  readonly breaking: boolean;
  /** What differs, for people: "response Reading: field celsius f32 → f64". */
  readonly details: string[];
  readonly cachedKey?: string;
  readonly runningKey?: string;
}

export interface CompareReport {
  readonly name: string;
  readonly cachedVersion: string;
  readonly runningVersion: string;
  readonly breaking: boolean;
  /** Anything added or changed compatibly: the cache is out of date (run `cell gen`). */
  readonly stale: boolean;
  readonly entries: EntryReport[];
}

type AnyEntry = { name: string; key: string; errors?: ErrorDescription[] } & Record<string, unknown>;

function show(t: SchemaJson): string {
  if (typeof t === 'string') return t;
  switch (t.kind) {
    case 'string': case 'bytes': return `${t.kind}<${t.maxBytes}>`;
    case 'array': return `array<${show(t.element)},${t.length}>`;
    case 'list': return `list<${show(t.element)},${t.maxLength}>`;
    case 'optional': return `optional<${show(t.inner)}>`;
    case 'enum': return `enum ${t.name}`;
    case 'struct': return `struct ${t.name}`;
  }
}

/** Field-level differences between two struct schemas (top level, then nested structs by path). */
export function structDiff(a: SchemaJson, b: SchemaJson, path: string): string[] {
  if (sameJson(a, b)) return [];
  if (typeof a === 'string' || typeof b === 'string' || a.kind !== 'struct' || b.kind !== 'struct') return [`${path}: ${show(a)} → ${show(b)}`];
  const out: string[] = [];
  if (a.name !== b.name) out.push(`${path}: struct renamed ${a.name} → ${b.name}`);
  const bf = new Map(b.fields.map((f) => [f.name, f.type]));
  const af = new Map(a.fields.map((f) => [f.name, f.type]));
  for (const f of a.fields) {
    const nt = bf.get(f.name);
    if (nt === undefined) out.push(`${path}.${f.name}: field removed (was ${show(f.type)})`);
    else if (!sameJson(nt, f.type)) {
      out.push(...(typeof nt === 'object' && nt.kind === 'struct' && typeof f.type === 'object' && f.type.kind === 'struct'
        ? structDiff(f.type, nt, `${path}.${f.name}`) : [`${path}.${f.name}: ${show(f.type)} → ${show(nt)}`]));
    }
  }
  for (const f of b.fields) if (!af.has(f.name)) out.push(`${path}.${f.name}: field added (${show(f.type)})`);
  if (out.length === 0) {
    const order = (s: typeof a): string => s.fields.map((f) => f.name).join(',');
    if (order(a) !== order(b)) out.push(`${path}: fields reordered (${order(a)} → ${order(b)})`);
  }
  return out.length > 0 ? out : [`${path}: schema changed`];
}

function typeDiff(role: string, a: TypeDescription, b: TypeDescription): string[] {
  if (a.fingerprint === b.fingerprint) return [];
  return structDiff(a.schema, b.schema, role).map((d) => `${d}`);
}

function errorDiff(a: ErrorDescription[] = [], b: ErrorDescription[] = []): { details: string[]; breaking: boolean } {
  const details: string[] = [];
  let breaking = false;
  const bm = new Map(b.map((e) => [e.name, e]));
  const am = new Map(a.map((e) => [e.name, e]));
  for (const e of a) {
    const n = bm.get(e.name);
    if (n === undefined) details.push(`error ${e.name} (${e.code}) no longer declared`);
    else {
      if (n.code !== e.code) { details.push(`error ${e.name}: code ${e.code} → ${n.code}`); breaking = true; }
      if (!sameJson(n.payload, e.payload)) {
        details.push(...(e.payload !== undefined && n.payload !== undefined ? structDiff(e.payload, n.payload, `error ${e.name} payload`) : [`error ${e.name}: payload ${e.payload === undefined ? 'added' : 'removed'}`]));
        breaking = true;
      }
    }
  }
  for (const e of b) if (!am.has(e.name)) details.push(`error ${e.name} (${e.code}) newly declared`);
  return { details, breaking };
}

function compareKind(kind: EntryReport['kind'], cached: AnyEntry[], running: AnyEntry[], out: EntryReport[]): void {
  const rm = new Map(running.map((e) => [e.name, e]));
  const cm = new Map(cached.map((e) => [e.name, e]));
  for (const c of cached) {
    const r = rm.get(c.name);
    if (r === undefined) {
      out.push({ kind, name: c.name, change: 'removed', breaking: true, details: [`the running cell has no ${kind} "${c.name}": callers get UnknownMethod`], cachedKey: c.key });
      continue;
    }
    const errs = errorDiff(c.errors, r.errors);
    if (c.key !== r.key) {
      const details = kind === 'event'
        ? typeDiff('payload', c.payload as TypeDescription, r.payload as TypeDescription)
        : [
          ...typeDiff('request', c.request as TypeDescription, r.request as TypeDescription),
          ...typeDiff(kind === 'stream' ? 'item' : 'response', (c.response ?? c.item) as TypeDescription, (r.response ?? r.item) as TypeDescription),
        ];
      if (details.length === 0) details.push('the key changed');
      out.push({ kind, name: c.name, change: 'changed', breaking: true, details: [...details, ...errs.details], cachedKey: c.key, runningKey: r.key });
    } else if (errs.details.length > 0) {
      out.push({ kind, name: c.name, change: 'changed', breaking: errs.breaking, details: errs.details, cachedKey: c.key, runningKey: r.key });
    } else {
      out.push({ kind, name: c.name, change: 'unchanged', breaking: false, details: [], cachedKey: c.key, runningKey: r.key });
    }
  }
  for (const r of running) {
    if (!cm.has(r.name)) out.push({ kind, name: r.name, change: 'added', breaking: false, details: ['new in the running cell: run `cell gen` to call it with types'], runningKey: r.key });
  }
}

export function compareDescriptions(cached: CellDescription, running: CellDescription): CompareReport {
  const entries: EntryReport[] = [];
  compareKind('method', cached.methods as unknown as AnyEntry[], running.methods as unknown as AnyEntry[], entries);
  compareKind('stream', cached.streams as unknown as AnyEntry[], running.streams as unknown as AnyEntry[], entries);
  compareKind('event', cached.events as unknown as AnyEntry[], running.events as unknown as AnyEntry[], entries);
  return {
    name: running.name,
    cachedVersion: cached.version,
    runningVersion: running.version,
    breaking: entries.some((e) => e.breaking),
    stale: entries.some((e) => e.change !== 'unchanged'),
    entries,
  };
}
