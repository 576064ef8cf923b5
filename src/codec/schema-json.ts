// Schemas as JSON, and a cell's full description (docs/rpc.md §6 "Schema JSON").
// This is what the control channel's `describe` returns and what `cell gen` caches under .cell/:
// every DSL type round-trips through schemaToJson → JSON.stringify → JSON.parse → schemaFromJson
// to a type with the same canonical text (hence the same fingerprint and method keys).
//
//   scalars       "u32"                       (bool u8 i8 u16 i16 u32 i32 u64 i64 f32 f64)
//   string/bytes  {"kind":"string","maxBytes":16}
//   array         {"kind":"array","element":T,"length":8}
//   list          {"kind":"list","element":T,"maxLength":8}
//   enum          {"kind":"enum","name":"Mode","values":{"off":0,"on":1}}
//   optional      {"kind":"optional","inner":T}
//   struct        {"kind":"struct","name":"Reading","fields":[{"name":"id","type":T},...]}  (wire order)
//
// Node-side only. Layering: this module knows nothing of rpc; describeCell takes any object of
// the CellLike shape (an rpc CellDef is one).
import {
  array, bool, bytes, enumOf, f32, f64, i16, i32, i64, i8, list, optional, string, structType, u16, u32, u64, u8,
  type ArrayType, type BytesType, type EnumType, type Fields, type ListType, type OptionalType, type ScalarKind,
  type SchemaType, type StringType, type StructType,
} from './schema.ts';
import { canonicalText, fingerprintOf, hex64 } from './canonical.ts';
import { struct as codecStruct } from './index.ts';

export type SchemaJson =
  | ScalarKind
  | { kind: 'string' | 'bytes'; maxBytes: number }
  | { kind: 'array'; element: SchemaJson; length: number }
  | { kind: 'list'; element: SchemaJson; maxLength: number }
  | { kind: 'enum'; name: string; values: Record<string, number> }
  | { kind: 'optional'; inner: SchemaJson }
  | { kind: 'struct'; name: string; fields: { name: string; type: SchemaJson }[] };

const SCALARS: Record<ScalarKind, SchemaType> = { bool, u8, i8, u16, i16, u32, i32, u64, i64, f32, f64 };

/** A schema type as plain JSON (see the table at the top of this file). */
export function schemaToJson(t: SchemaType): SchemaJson {
  switch (t.kind) {
    case 'string': case 'bytes': return { kind: t.kind, maxBytes: (t as StringType | BytesType).maxBytes };
    case 'array': { const a = t as ArrayType<SchemaType>; return { kind: 'array', element: schemaToJson(a.element), length: a.length }; }
    case 'list': { const l = t as ListType<SchemaType>; return { kind: 'list', element: schemaToJson(l.element), maxLength: l.maxLength }; }
    case 'enum': { const e = t as EnumType<string>; return { kind: 'enum', name: e.name, values: { ...(e.values as Record<string, number>) } }; }
    case 'optional': return { kind: 'optional', inner: schemaToJson((t as OptionalType<SchemaType>).inner) };
    case 'struct': {
      const s = t as StructType;
      return { kind: 'struct', name: s.name, fields: s.fieldNames.map((f) => ({ name: f, type: schemaToJson(s.fields[f]!) })) };
    }
    default:
      if (t.kind in SCALARS) return t.kind as ScalarKind;
      throw new TypeError(`not a schema type: kind ${String((t as SchemaType).kind)}`);
  }
}

export interface FromJsonOptions {
  /**
   * Builds a struct from its name and fields. The default gives working codecs (encode/decode)
   * for every struct, nested ones included; pass `structType` for plain descriptions only.
   * @default struct from src/codec/index.ts (compiled codec)
   */
  struct?: (name: string, fields: Fields) => StructType;
}

/** Rebuild a schema type from JSON. Throws TypeError/RangeError (with the path) on bad input. */
export function schemaFromJson(json: unknown, opts: FromJsonOptions = {}, path = '$'): SchemaType {
  const mk = opts.struct ?? (codecStruct as (name: string, fields: Fields) => StructType);
  if (typeof json === 'string') {
    const s = SCALARS[json as ScalarKind];
    if (s === undefined) throw new TypeError(`${path}: unknown scalar "${json}"`);
    return s;
  }
  if (json === null || typeof json !== 'object') throw new TypeError(`${path}: expected a schema, got ${JSON.stringify(json)}`);
  const j = json as Record<string, unknown>;
  const num = (k: string): number => {
    if (typeof j[k] !== 'number') throw new TypeError(`${path}.${k}: expected a number`);
    return j[k] as number;
  };
  switch (j.kind) {
    case 'string': return string(num('maxBytes'));
    case 'bytes': return bytes(num('maxBytes'));
    case 'array': return array(schemaFromJson(j.element, opts, `${path}.element`), num('length'));
    case 'list': return list(schemaFromJson(j.element, opts, `${path}.element`), num('maxLength'));
    case 'optional': return optional(schemaFromJson(j.inner, opts, `${path}.inner`));
    case 'enum': {
      if (typeof j.name !== 'string' || j.values === null || typeof j.values !== 'object') throw new TypeError(`${path}: enum needs name and values`);
      return enumOf(j.name, j.values as Record<string, number>);
    }
    case 'struct': {
      if (typeof j.name !== 'string' || !Array.isArray(j.fields)) throw new TypeError(`${path}: struct needs name and fields[]`);
      const fields: Record<string, SchemaType> = {};
      for (const [i, f] of (j.fields as unknown[]).entries()) {
        const fo = f as { name?: unknown; type?: unknown };
        if (fo === null || typeof fo !== 'object' || typeof fo.name !== 'string') throw new TypeError(`${path}.fields[${i}]: expected {name, type}`);
        if (Object.prototype.hasOwnProperty.call(fields, fo.name)) throw new TypeError(`${path}.fields[${i}]: duplicate field "${fo.name}"`);
        fields[fo.name] = schemaFromJson(fo.type, opts, `${path}.${j.name}.${fo.name}`);
      }
      return mk(j.name, fields);
    }
    default: throw new TypeError(`${path}: unknown kind ${JSON.stringify(j.kind)}`);
  }
}

// ---- cell description --------------------------------------------------------------------------

/** The shape describeCell needs (an rpc CellDef has it). */
export interface CellLike {
  readonly name: string;
  readonly version: string;
  readonly methods: { readonly [k: string]: { readonly request: SchemaType; readonly response: SchemaType; readonly errors: ErrorsLike } };
  // `unknown`: a CellDef declared without streams/events has these typed unknown (rpc/define.ts);
  // at run time they are always objects.
  readonly streams: StreamsLike | unknown;
  readonly events: EventsLike | unknown;
  readonly entries: readonly { readonly kind: string; readonly name: string; readonly key: bigint }[];
}
type StreamsLike = { readonly [k: string]: { readonly request: SchemaType; readonly item: SchemaType; readonly errors: ErrorsLike } };
type EventsLike = { readonly [k: string]: SchemaType };
type ErrorsLike = { readonly [name: string]: { readonly code: number; readonly payload: SchemaType | undefined } };

export interface ErrorDescription { name: string; code: number; payload?: SchemaJson }
export interface TypeDescription { schema: SchemaJson; canonical: string; fingerprint: string }
export interface CellDescription {
  name: string;
  version: string;
  /** RPC protocol version. */
  protocol: number;
  methods: { name: string; key: string; request: TypeDescription; response: TypeDescription; errors: ErrorDescription[] }[];
  streams: { name: string; key: string; request: TypeDescription; item: TypeDescription; errors: ErrorDescription[] }[];
  events: { name: string; key: string; payload: TypeDescription }[];
}

/**
 * The first entry of a peer's HELLO table that `d` does not describe under the same name and key
 * (with the key `d` has for that name, if any), or null when `d` describes every one: a
 * description kept apart from its cell (a device's schema file) may only stand in for it then.
 */
export function firstUndescribedEntry<E extends { readonly kind: string; readonly name: string; readonly key: bigint }>(
  d: CellDescription, entries: readonly E[],
): { entry: E; describedKey: string | undefined } | null {
  const described = new Map([...d.methods, ...d.streams, ...d.events].map((x) => [x.name, x.key]));
  for (const entry of entries) {
    const k = described.get(entry.name);
    if (k !== hex64(entry.key)) return { entry, describedKey: k };
  }
  return null;
}

function typeDesc(t: SchemaType): TypeDescription {
  return { schema: schemaToJson(t), canonical: canonicalText(t), fingerprint: hex64(fingerprintOf(t)) };
}
function errorsDesc(errors: ErrorsLike): ErrorDescription[] {
  return Object.entries(errors).map(([name, e]) => (e.payload === undefined ? { name, code: e.code } : { name, code: e.code, payload: schemaToJson(e.payload) }));
}

/** A cell's full schema as JSON: keys and fingerprints as 16 hex digits. */
export function describeCell(cell: CellLike): CellDescription {
  const keyOf = (name: string): string => {
    const e = cell.entries.find((x) => x.name === name);
    return e === undefined ? '' : hex64(e.key);
  };
  return {
    name: cell.name,
    version: cell.version,
    protocol: 1,
    methods: Object.entries(cell.methods).map(([name, m]) => ({ name, key: keyOf(name), request: typeDesc(m.request), response: typeDesc(m.response), errors: errorsDesc(m.errors) })),
    streams: Object.entries((cell.streams ?? {}) as StreamsLike).map(([name, s]) => ({ name, key: keyOf(name), request: typeDesc(s.request), item: typeDesc(s.item), errors: errorsDesc(s.errors) })),
    events: Object.entries((cell.events ?? {}) as EventsLike).map(([name, t]) => ({ name, key: keyOf(name), payload: typeDesc(t) })),
  };
}
