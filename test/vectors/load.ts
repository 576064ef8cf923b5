// Loader for test/vectors/codec.json: converts the JSON form of a value to the codec's value and
// back, given its schema. JSON conventions (self-describing, also read by the wasm tests):
//   u64/i64: decimal string ("18446744073709551615"); f32/f64: number, or "NaN" / "Infinity" /
//   "-Infinity" / "-0"; bytes: lower-case hex string; numeric arrays/lists: plain arrays;
//   enum: member name; optional: the key is absent (or null) when absent; structs: objects.
import { readFileSync } from 'node:fs';
import type {
  ArrayType, ListType, OptionalType, SchemaType, StructType,
} from '../../src/codec/schema.ts';
import { typedArrayName } from '../../src/codec/layout.ts';
import { fromHex, toHex } from '../helpers/hex.ts';
import { SCHEMAS } from './schemas.ts';

export interface ValidCase { schema: string; name: string; input: unknown; hex: string }
export interface InvalidCase { schema: string; name: string; hex: string; error: number }
export interface CodecVectors { cases: ValidCase[]; invalid: InvalidCase[] }

export const VECTORS_PATH = new URL('./codec.json', import.meta.url);

export function loadVectors(): CodecVectors {
  return JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as CodecVectors;
}

export function schemaNamed(name: string): StructType {
  const s = SCHEMAS[name];
  if (!s) throw new Error(`vector names unknown schema ${name}`);
  return s;
}

function floatFrom(j: unknown): number {
  if (typeof j === 'number') return j;
  if (j === 'NaN') return NaN;
  if (j === 'Infinity') return Infinity;
  if (j === '-Infinity') return -Infinity;
  if (j === '-0') return -0;
  throw new TypeError(`bad float ${String(j)}`);
}

function floatTo(v: number): unknown {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return v;
}

/** JSON form → codec value. */
export function fromJson(t: SchemaType, j: unknown): unknown {
  switch (t.kind) {
    case 'u64': case 'i64': return BigInt(j as string);
    case 'f32': case 'f64': return floatFrom(j);
    case 'bytes': return fromHex(j as string);
    case 'optional': return j === undefined || j === null ? undefined : fromJson((t as OptionalType<SchemaType>).inner, j);
    case 'array': case 'list': {
      const el = (t as ArrayType<SchemaType> | ListType<SchemaType>).element;
      const items = (j as unknown[]).map((x) => fromJson(el, x));
      const ta = el.kind === 'bool' ? undefined : typedArrayName(el.kind as never);
      return ta ? (globalThis as any)[ta].from(items) : items;
    }
    case 'struct': {
      const s = t as StructType;
      const o: Record<string, unknown> = {};
      for (const f of s.fieldNames) {
        const v = (j as Record<string, unknown>)[f];
        if (s.fields[f]!.kind === 'optional' && (v === undefined || v === null)) { o[f] = undefined; continue; }
        o[f] = fromJson(s.fields[f]!, v);
      }
      return o;
    }
    default: return j;
  }
}

/** Codec value → JSON form (absent optionals are left out). */
export function toJson(t: SchemaType, v: unknown): unknown {
  switch (t.kind) {
    case 'u64': case 'i64': return String(v);
    case 'f32': case 'f64': return floatTo(v as number);
    case 'bytes': return toHex(v as Uint8Array);
    case 'optional': return v === undefined || v === null ? undefined : toJson((t as OptionalType<SchemaType>).inner, v);
    case 'array': case 'list': {
      const el = (t as ArrayType<SchemaType>).element;
      return Array.from(v as ArrayLike<unknown>, (x) => toJson(el, x) ?? null); // absent optional element → null
    }
    case 'struct': {
      const s = t as StructType;
      const o: Record<string, unknown> = {};
      for (const f of s.fieldNames) {
        const x = toJson(s.fields[f]!, (v as Record<string, unknown>)[f]);
        if (x !== undefined) o[f] = x;
      }
      return o;
    }
    default: return v;
  }
}
