// Canonical text and fingerprints of schemas (docs/wire-format.md §4.4).
// The canonical text has no whitespace:
//   scalars by name (`u8`, `bool`, `f64`, ...), `string<16>`, `bytes<32>`, `array<i16,8>`,
//   `list<u64,3>`, `optional<T>`, `enum Mode{off=0,on=1}` (members sorted by value),
//   `struct Reading{id:u32,name:string<16>}` (fields in declaration order; nested structs in full).
// Fingerprint = first 8 bytes of SHA-256 of the UTF-8 canonical text, read as a little-endian u64.
// Cost: one SHA-256 per struct (cached); never on the hot path.
import { sha256 } from '@noble/hashes/sha2.js';
import type { ArrayType, BytesType, EnumType, ListType, OptionalType, SchemaType, StringType, StructType } from './schema.ts';

const cache = new WeakMap<SchemaType, string>();

/** Canonical text of any schema type. */
export function canonicalText(t: SchemaType): string {
  let s = cache.get(t);
  if (s !== undefined) return s;
  switch (t.kind) {
    case 'string': s = `string<${(t as StringType).maxBytes}>`; break;
    case 'bytes': s = `bytes<${(t as BytesType).maxBytes}>`; break;
    case 'array': { const a = t as ArrayType<SchemaType>; s = `array<${canonicalText(a.element)},${a.length}>`; break; }
    case 'list': { const l = t as ListType<SchemaType>; s = `list<${canonicalText(l.element)},${l.maxLength}>`; break; }
    case 'optional': s = `optional<${canonicalText((t as OptionalType<SchemaType>).inner)}>`; break;
    case 'enum': {
      const e = t as EnumType<string>;
      const members = Object.entries(e.values as Record<string, number>).sort((a, b) => a[1] - b[1]);
      s = `enum ${e.name}{${members.map(([k, v]) => `${k}=${v}`).join(',')}}`;
      break;
    }
    case 'struct': {
      const st = t as StructType;
      s = `struct ${st.name}{${st.fieldNames.map((f) => `${f}:${canonicalText(st.fields[f]!)}`).join(',')}}`;
      break;
    }
    default: s = t.kind;
  }
  cache.set(t, s);
  return s;
}

const enc = new TextEncoder();

/** First 8 bytes of SHA-256(UTF-8 text), read as a little-endian u64. */
export function hash64(text: string): bigint {
  const d = sha256(enc.encode(text));
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(d[i]!);
  return v;
}

/** A u64 as 16 lower-case hex digits (the number printed big-endian, zero-padded). */
export function hex64(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

/** Fingerprint of a schema type: hash64(canonicalText(t)). */
export function fingerprintOf(t: SchemaType): bigint {
  return hash64(canonicalText(t));
}

/**
 * Key of an RPC method: hash64 over exactly
 *   `method <cellName>.<methodName>(<request canonical>)-><response canonical>`
 * e.g. `method Sensor.read(struct Req{id:u32})->struct Reading{id:u32,...}`: one space after
 * `method`, none elsewhere except the ones inside the canonical texts (`struct X`, `enum X`).
 */
export function methodKey(cellName: string, methodName: string, request: SchemaType, response: SchemaType): bigint {
  return hash64(methodText(cellName, methodName, request, response));
}

/** The text `methodKey` hashes. */
export function methodText(cellName: string, methodName: string, request: SchemaType, response: SchemaType): string {
  return `method ${cellName}.${methodName}(${canonicalText(request)})->${canonicalText(response)}`;
}
