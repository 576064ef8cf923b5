// Fixed layout of a schema (docs/wire-format.md §4 "Codec"): where every field lives on the wire.
// Shared by the interpreter (interpret.ts), the JS/TS code generators (compile.ts, codegen-ts.ts)
// and the AssemblyScript generator (codegen-as.ts). Pure data, computed once per type (cached).
//
// The rules (decided; every generator follows them byte for byte):
// - Fixed part: fields in declaration order, packed (no padding), little-endian.
//   bool 1 byte (0/1); u8/i8 1; u16/i16 2; u32/i32/f32 4; u64/i64/f64 8 (IEEE-754 LE).
//   enum: tag u8 when every value ≤ 255, else u16 (EnumType.size).
// - array(T, N): N × T's fixed encoding, inline. Nested struct: its fixed part inline.
// - string(N) / bytes(N) / list(T, N), at any depth (inside nested structs and optionals):
//   a length slot at the field's position, u8 when N ≤ 255 else u16 — the BYTE length for
//   string/bytes, the element COUNT for list. Contents go in the TAIL after the fixed part, in
//   the order of their length slots (depth-first field order = `StructLayout.lens` order).
//   A list's tail is count × T's fixed encoding.
// - optional(T): a presence byte (0/1), then T's fixed part. Absent ⇒ T's fixed part is all
//   zero bytes (so inner length slots are 0 and add no tail); the decoder requires the zeros.
//
// Example: struct R{id:u32,name:string<16>,samples:array<i16,8>}
//   slots: scalar id@0 u32 | len name@4 w1 ≤16 | array samples@5 8×2   fixedSize 21, maxSize 37
import type {
  ArrayType, EnumType, ListType, OptionalType, ScalarKind, ScalarType, SchemaType, StringType,
  BytesType, StructType,
} from './schema.ts';

/** A path from the value being laid out to a slot's value: field names, outermost first. */
export type Path = readonly string[];

/** A scalar (bool, integers, floats) at `offset`. Value: number | boolean | bigint (u64/i64). */
export interface ScalarSlot {
  readonly op: 'scalar';
  readonly path: Path;
  /** Byte offset from the start of the enclosing layout (struct or array element). */
  readonly offset: number;
  readonly kind: ScalarKind;
  /** 1, 2, 4 or 8. */
  readonly size: number;
}

/** An enum tag (u8 or u16) at `offset`. Value: the member name (string). */
export interface EnumSlot {
  readonly op: 'enum';
  readonly path: Path;
  readonly offset: number;
  /** Tag width: 1 or 2. */
  readonly size: number;
  readonly type: EnumType<string>;
  /** Members sorted by wire value: [value, name]. */
  readonly members: readonly (readonly [number, string])[];
}

/**
 * The length slot of a variable field (string/bytes: byte length; list: element count) at
 * `offset`, `width` bytes (1 when bound ≤ 255, else 2). The contents follow in the tail.
 */
export interface LenSlot {
  readonly op: 'len';
  readonly path: Path;
  readonly offset: number;
  /** 1 or 2. */
  readonly width: number;
  /** Maximum byte length (string/bytes) or element count (list). */
  readonly bound: number;
  readonly var: 'string' | 'bytes' | 'list';
  /** For lists: the element layout (tail = count × element.size bytes). */
  readonly element: ElementLayout | undefined;
  /** Largest tail: bound × (element size or 1). */
  readonly maxTail: number;
  readonly type: StringType | BytesType | ListType<SchemaType>;
}

/** array(T, N) inline at `offset`: `length` elements of `element.size` bytes each. */
export interface ArraySlot {
  readonly op: 'array';
  readonly path: Path;
  readonly offset: number;
  readonly length: number;
  readonly element: ElementLayout;
  /** length × element.size. */
  readonly size: number;
  readonly type: ArrayType<SchemaType>;
}

/**
 * A nested struct inline at `offset` (`size` bytes of fixed part). Group slot: its fields are
 * the next `count` slots of the same list (all descendants, depth-first), with paths extending
 * this slot's path. Value: an object.
 */
export interface StructSlot {
  readonly op: 'struct';
  readonly path: Path;
  readonly offset: number;
  readonly size: number;
  /** Number of descendant slots that follow this one. */
  readonly count: number;
  readonly type: StructType;
}

/**
 * optional(T): presence byte at `offset`, then T's fixed part (`size` bytes) at `offset + 1`.
 * Group slot: T's slots are the next `count` slots, with the SAME path (the inner value is the
 * field's value). When absent, bytes [offset+1, offset+1+size) are zero on the wire.
 */
export interface OptionalSlot {
  readonly op: 'optional';
  readonly path: Path;
  readonly offset: number;
  /** Size of T's fixed part (excludes the presence byte). */
  readonly size: number;
  readonly count: number;
  readonly type: OptionalType<SchemaType>;
}

export type Slot = ScalarSlot | EnumSlot | LenSlot | ArraySlot | StructSlot | OptionalSlot;

/**
 * Layout of one array/list element, offsets relative to the element's start. `slots[0]` is the
 * element itself with path [] (a scalar, enum, array, struct or optional slot); for struct and
 * optional elements the group's descendants follow. Elements never contain len slots.
 */
export interface ElementLayout {
  readonly type: SchemaType;
  /** Fixed size of one element (the stride). */
  readonly size: number;
  readonly slots: readonly Slot[];
  /**
   * How the JS value is held: `typed` → a typed array of `typedArray` (numeric scalars, u64/i64
   * as BigUint64Array/BigInt64Array); `plain` → a plain JS array (bool, enum, struct, optional,
   * nested array).
   */
  readonly holder: 'typed' | 'plain';
  /** Constructor name for `typed` holders, e.g. 'Int16Array'; undefined for `plain`. */
  readonly typedArray: TypedArrayName | undefined;
}

export type TypedArrayName =
  | 'Uint8Array' | 'Int8Array' | 'Uint16Array' | 'Int16Array' | 'Uint32Array' | 'Int32Array'
  | 'Float32Array' | 'Float64Array' | 'BigUint64Array' | 'BigInt64Array';

export interface StructLayout {
  readonly type: StructType;
  /** Bytes of the fixed part. */
  readonly fixedSize: number;
  /** fixedSize + every tail at its bound. */
  readonly maxSize: number;
  /** Every slot, depth-first in field order (= increasing offset), offsets from the struct start. */
  readonly slots: readonly Slot[];
  /** The len slots in tail order (a subsequence of `slots`). */
  readonly lens: readonly LenSlot[];
  /** True when there is no len slot anywhere (encoding is always exactly fixedSize bytes). */
  readonly isFixed: boolean;
}

const TYPED: Partial<Record<ScalarKind, TypedArrayName>> = {
  u8: 'Uint8Array', i8: 'Int8Array', u16: 'Uint16Array', i16: 'Int16Array', u32: 'Uint32Array',
  i32: 'Int32Array', f32: 'Float32Array', f64: 'Float64Array', u64: 'BigUint64Array', i64: 'BigInt64Array',
};

/** Typed-array constructor name used for arrays/lists of this scalar kind (undefined for bool). */
export function typedArrayName(kind: ScalarKind): TypedArrayName | undefined {
  return TYPED[kind];
}

/** Length-slot width for a bound: 1 when ≤ 255, else 2. */
export function lenWidth(bound: number): number {
  return bound <= 0xff ? 1 : 2;
}

/** Fixed-part size of any schema type (len slots count as their width). */
export function fixedSizeOf(t: SchemaType): number {
  switch (t.kind) {
    case 'string': return lenWidth((t as StringType).maxBytes);
    case 'bytes': return lenWidth((t as BytesType).maxBytes);
    case 'list': return lenWidth((t as ListType<SchemaType>).maxLength);
    case 'enum': return (t as EnumType<string>).size;
    case 'array': { const a = t as ArrayType<SchemaType>; return a.length * fixedSizeOf(a.element); }
    case 'optional': return 1 + fixedSizeOf((t as OptionalType<SchemaType>).inner);
    case 'struct': {
      const s = t as StructType;
      let n = 0;
      for (const f of s.fieldNames) n += fixedSizeOf(s.fields[f]!);
      return n;
    }
    default: return (t as ScalarType<unknown>).size;
  }
}

/** Append the slots of type `t` at `offset` with value path `path`; returns the end offset. */
function emit(t: SchemaType, path: Path, offset: number, out: Slot[]): number {
  switch (t.kind) {
    case 'string': case 'bytes': case 'list': {
      const bound = t.kind === 'list' ? (t as ListType<SchemaType>).maxLength : (t as StringType | BytesType).maxBytes;
      const element = t.kind === 'list' ? elementLayout((t as ListType<SchemaType>).element) : undefined;
      const width = lenWidth(bound);
      out.push({ op: 'len', path, offset, width, bound, var: t.kind, element, maxTail: bound * (element ? element.size : 1), type: t as LenSlot['type'] });
      return offset + width;
    }
    case 'enum': {
      const e = t as EnumType<string>;
      const members = Object.entries(e.values as Record<string, number>).map(([k, v]) => [v, k] as const).sort((a, b) => a[0] - b[0]);
      out.push({ op: 'enum', path, offset, size: e.size, type: e, members });
      return offset + e.size;
    }
    case 'array': {
      const a = t as ArrayType<SchemaType>;
      const element = elementLayout(a.element);
      const size = a.length * element.size;
      out.push({ op: 'array', path, offset, length: a.length, element, size, type: a });
      return offset + size;
    }
    case 'optional': {
      const o = t as OptionalType<SchemaType>;
      const at = out.length;
      out.push(undefined as unknown as Slot); // placeholder, filled below
      const end = emit(o.inner, path, offset + 1, out);
      out[at] = { op: 'optional', path, offset, size: end - offset - 1, count: out.length - at - 1, type: o };
      return end;
    }
    case 'struct': {
      const s = t as StructType;
      const at = out.length;
      out.push(undefined as unknown as Slot);
      let p = offset;
      for (const f of s.fieldNames) p = emit(s.fields[f]!, [...path, f], p, out);
      out[at] = { op: 'struct', path, offset, size: p - offset, count: out.length - at - 1, type: s };
      return p;
    }
    default: {
      const sc = t as ScalarType<unknown>;
      out.push({ op: 'scalar', path, offset, kind: sc.kind, size: sc.size });
      return offset + sc.size;
    }
  }
}

const elementCache = new WeakMap<SchemaType, ElementLayout>();

/** Layout of one array/list element of type `t` (must be fixed-size; schema.ts enforces it). */
export function elementLayout(t: SchemaType): ElementLayout {
  let e = elementCache.get(t);
  if (e) return e;
  const slots: Slot[] = [];
  const size = emit(t, [], 0, slots);
  if (slots.some((s) => s.op === 'len')) throw new TypeError(`array/list element ${t.kind} is not fixed-size`);
  const typedArray = t.kind === 'bool' || !(t.kind in TYPED) ? undefined : TYPED[t.kind as ScalarKind];
  e = Object.freeze({ type: t, size, slots: Object.freeze(slots), holder: typedArray ? 'typed' : 'plain', typedArray } as const);
  elementCache.set(t, e);
  return e;
}

const structCache = new WeakMap<StructType, StructLayout>();

/**
 * The layout of a struct: slots of its fields (NOT a leading slot for the struct itself; nested
 * structs do get a StructSlot), fixedSize, maxSize, and the len slots in tail order. Cached.
 */
export function layoutOf(t: StructType): StructLayout {
  let l = structCache.get(t);
  if (l) return l;
  const slots: Slot[] = [];
  let p = 0;
  for (const f of t.fieldNames) p = emit(t.fields[f]!, [f], p, slots);
  const lens = slots.filter((s): s is LenSlot => s.op === 'len');
  let maxSize = p;
  for (const s of lens) maxSize += s.maxTail;
  l = Object.freeze({ type: t, fixedSize: p, maxSize, slots: Object.freeze(slots), lens: Object.freeze(lens), isFixed: lens.length === 0 });
  structCache.set(t, l);
  return l;
}

/** Index just past group slot `slots[i]` (i + 1 + count for struct/optional, i + 1 otherwise). */
export function groupEnd(slots: readonly Slot[], i: number): number {
  const s = slots[i]!;
  return s.op === 'struct' || s.op === 'optional' ? i + 1 + s.count : i + 1;
}
