// A CellDef rebuilt from a cell's description (docs/rpc.md §6 "describe"): what a caller that
// has no source of the cell (the CLI, a mesh client by name, a gateway) uses to call it. The
// keys rebuilt from the JSON must equal the described ones, so a description that does not
// round-trip can never encode a request the cell would misread.
import { CellError } from '../wire/cell-error.ts';
import { ERR_RPC_MALFORMED, ERR_RPC_SCHEMA_MISMATCH } from '../wire/errors.ts';
import { hex64 } from '../codec/canonical.ts';
import { struct } from '../codec/index.ts';
import { schemaFromJson, type CellDescription, type SchemaJson } from '../codec/schema-json.ts';
import { appError, defineCell, method, stream, type AnyCodec, type AppErrorDef, type CellDef, type ErrorsDecl } from './define.ts';

/** Check the shape of a describe() answer or a cached schema file; Malformed (406) when it is not one. */
export function checkDescription(d: unknown, where = 'describe()'): CellDescription {
  const o = d as Partial<CellDescription> | null;
  if (o === null || typeof o !== 'object' || typeof o.name !== 'string' || !Array.isArray(o.methods) || !Array.isArray(o.streams) || !Array.isArray(o.events)) {
    throw new CellError(ERR_RPC_MALFORMED, `${where} is not a cell description (name, methods, streams, events)`, { where });
  }
  return o as CellDescription;
}

function codecOf(j: SchemaJson, where: string): AnyCodec {
  let t;
  try {
    t = schemaFromJson(j, { struct: (name, fields) => struct(name, fields) }, where);
  } catch (e) {
    if (e instanceof CellError) throw e;
    throw new CellError(ERR_RPC_MALFORMED, (e as Error).message, { where });
  }
  if (t.kind !== 'struct') throw new CellError(ERR_RPC_MALFORMED, `${where}: messages must be structs, got ${t.kind}`, { where });
  return t as AnyCodec;
}

function errorsOf(errs: CellDescription['methods'][number]['errors'], where: string): ErrorsDecl {
  const out: Record<string, AppErrorDef> = {};
  for (const e of errs) out[e.name] = e.payload === undefined ? appError(e.code) : appError(e.code, codecOf(e.payload, `${where}.errors.${e.name}`));
  return out;
}

/**
 * Rebuild a CellDef from a description. Malformed (406) when a schema does not parse;
 * SchemaMismatch (402) when a key computed from the JSON differs from the described one (the
 * caller and the cell use different schema rules: another Cell version).
 */
export function defFromDescription(d: CellDescription): CellDef {
  const methods: Record<string, ReturnType<typeof method>> = {};
  for (const m of d.methods) methods[m.name] = method(codecOf(m.request.schema, `${m.name}.request`), codecOf(m.response.schema, `${m.name}.response`), { errors: errorsOf(m.errors, m.name) });
  const streams: Record<string, ReturnType<typeof stream>> = {};
  for (const s of d.streams) streams[s.name] = stream(codecOf(s.request.schema, `${s.name}.request`), codecOf(s.item.schema, `${s.name}.item`), { errors: errorsOf(s.errors, s.name) });
  const events: Record<string, AnyCodec> = {};
  for (const e of d.events) events[e.name] = codecOf(e.payload.schema, `${e.name}.payload`);
  const def = defineCell({ name: d.name, version: d.version, methods, streams, events }) as unknown as CellDef;
  const described = new Map([...d.methods, ...d.streams, ...d.events].map((x) => [x.name, x.key]));
  for (const e of def.entries) {
    if (described.get(e.name) !== hex64(e.key)) {
      throw new CellError(ERR_RPC_SCHEMA_MISMATCH, `${e.kind} "${e.name}": the key rebuilt from the schema JSON (${hex64(e.key)}) differs from the cell's (${described.get(e.name)})`, { entry: e.name, rebuilt: hex64(e.key), described: described.get(e.name) });
    }
  }
  return def;
}
