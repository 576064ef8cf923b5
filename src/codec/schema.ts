// The schema model and DSL (docs/wire-format.md §4 "Codec").
// Node-side only: the DSL builds a plain description of a type; layout.ts gives it fixed offsets,
// canonical.ts its text form and fingerprint, compile.ts its encode/decode, codegen-as.ts its
// AssemblyScript. This file holds only the model, so every other module can depend on it.
//
//   const Reading = struct('Reading', { id: u32, temp: f32, name: string(16), samples: array(i16, 8) });
//   type Reading = Infer<typeof Reading>;

/** Scalar kinds, by wire size: bool/u8/i8 = 1, u16/i16 = 2, u32/i32/f32 = 4, u64/i64/f64 = 8. */
export type ScalarKind = 'bool' | 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64';
export type TypeKind = ScalarKind | 'string' | 'bytes' | 'array' | 'list' | 'struct' | 'enum' | 'optional';

/** Base of every schema type. `T` is the TypeScript value type; `__value` exists only for inference. */
export interface SchemaType<T = unknown> {
  readonly kind: TypeKind;
  /** Phantom: never present at run time. */
  readonly __value?: T;
}

export interface ScalarType<T, K extends ScalarKind = ScalarKind> extends SchemaType<T> {
  readonly kind: K;
  /** Bytes on the wire. */
  readonly size: number;
}

export interface StringType extends SchemaType<string> {
  readonly kind: 'string';
  /** Maximum length in UTF-8 bytes (not characters). */
  readonly maxBytes: number;
}

export interface BytesType extends SchemaType<Uint8Array> {
  readonly kind: 'bytes';
  readonly maxBytes: number;
}

/** Element types allowed in arrays and lists: fixed-size types only (no string/bytes/list). */
export type ElementType = SchemaType & { readonly kind: Exclude<TypeKind, 'string' | 'bytes' | 'list'> };

export interface ArrayType<E extends SchemaType> extends SchemaType<ArrayValue<E>> {
  readonly kind: 'array';
  readonly element: E;
  /** Exact element count. */
  readonly length: number;
}

export interface ListType<E extends SchemaType> extends SchemaType<ArrayValue<E>> {
  readonly kind: 'list';
  readonly element: E;
  /** Maximum element count. */
  readonly maxLength: number;
}

export interface EnumType<K extends string> extends SchemaType<K> {
  readonly kind: 'enum';
  readonly name: string;
  /** Declared members, name → wire value. */
  readonly values: Readonly<Record<K, number>>;
  /** Wire width of the tag: 1 when every value is in 0..255, else 2. */
  readonly size: number;
}

export interface OptionalType<V extends SchemaType> extends SchemaType<Infer<V> | undefined> {
  readonly kind: 'optional';
  readonly inner: V;
}

export type Fields = { readonly [name: string]: SchemaType };

export interface StructType<F extends Fields = Fields> extends SchemaType<InferFields<F>> {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: F;
  /** Field names in declaration order (which is wire order). */
  readonly fieldNames: readonly string[];
}

/** The TypeScript value of a schema type. */
export type Infer<S> = S extends SchemaType<infer T> ? T : never;

type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends OptionalType<SchemaType> ? K : never }[keyof F];
type RequiredKeys<F extends Fields> = Exclude<keyof F, OptionalKeys<F>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type InferFields<F extends Fields> = Simplify<
  { -readonly [K in RequiredKeys<F>]: Infer<F[K]> } & { -readonly [K in OptionalKeys<F>]?: Infer<F[K]> }
>;

/**
 * Numeric arrays and lists decode to typed arrays (no boxing, reused by decode); u64/i64 to
 * BigInt64Array/BigUint64Array; bool, enum and struct elements to plain arrays.
 */
export type ArrayValue<E extends SchemaType> =
  E extends ScalarType<unknown, infer K> ? TypedArrayOf<K> : Infer<E>[];

export type TypedArrayOf<K extends TypeKind> =
  K extends 'u8' ? Uint8Array :
  K extends 'i8' ? Int8Array :
  K extends 'u16' ? Uint16Array :
  K extends 'i16' ? Int16Array :
  K extends 'u32' ? Uint32Array :
  K extends 'i32' ? Int32Array :
  K extends 'f32' ? Float32Array :
  K extends 'f64' ? Float64Array :
  K extends 'u64' ? BigUint64Array :
  K extends 'i64' ? BigInt64Array :
  K extends 'bool' ? boolean[] :
  never;

// ---- scalar constructors ----

function scalar<T, K extends ScalarKind>(kind: K, size: number): ScalarType<T, K> {
  return Object.freeze({ kind, size });
}

export const bool: ScalarType<boolean, 'bool'> = scalar('bool', 1);
export const u8: ScalarType<number, 'u8'> = scalar('u8', 1);
export const i8: ScalarType<number, 'i8'> = scalar('i8', 1);
export const u16: ScalarType<number, 'u16'> = scalar('u16', 2);
export const i16: ScalarType<number, 'i16'> = scalar('i16', 2);
export const u32: ScalarType<number, 'u32'> = scalar('u32', 4);
export const i32: ScalarType<number, 'i32'> = scalar('i32', 4);
/** 64-bit integers are bigint in TypeScript: decoding one allocates a BigInt. */
export const u64: ScalarType<bigint, 'u64'> = scalar('u64', 8);
export const i64: ScalarType<bigint, 'i64'> = scalar('i64', 8);
export const f32: ScalarType<number, 'f32'> = scalar('f32', 4);
export const f64: ScalarType<number, 'f64'> = scalar('f64', 8);

// ---- argument checks (RangeError/TypeError at definition time, never on the wire) ----

const MAX_BOUND = 0xffff;

function checkBound(what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min || n > MAX_BOUND) {
    throw new RangeError(`${what} must be an integer from ${min} to ${MAX_BOUND}, got ${n}`);
  }
}

function checkName(what: string, name: string): void {
  // `__proto__` would be the prototype, not a field, in generated code and object literals.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name === '__proto__') {
    throw new TypeError(`${what} "${name}" must be an identifier: letters, digits and _ , not starting with a digit`);
  }
}

function checkElement(what: string, element: SchemaType): void {
  if (element.kind === 'string' || element.kind === 'bytes' || element.kind === 'list') {
    throw new TypeError(`${what} elements must have a fixed size; ${element.kind} is variable (wrap it in a struct field instead)`);
  }
  if (element.kind === 'optional' && !isFixedSize(element)) {
    throw new TypeError(`${what} elements must have a fixed size; optional(${(element as OptionalType<SchemaType>).inner.kind}) is variable`);
  }
  if (element.kind === 'struct' && !isFixedSize(element)) {
    throw new TypeError(`${what} elements must have a fixed size; struct ${(element as StructType).name} has string, bytes or list fields`);
  }
}

/** True when the type has no string, bytes or list anywhere inside (its encoding has no tail). */
export function isFixedSize(t: SchemaType): boolean {
  switch (t.kind) {
    case 'string': case 'bytes': case 'list': return false;
    case 'array': return isFixedSize((t as ArrayType<SchemaType>).element);
    case 'optional': return isFixedSize((t as OptionalType<SchemaType>).inner);
    case 'struct': {
      const s = t as StructType;
      return s.fieldNames.every((n) => isFixedSize(s.fields[n]!));
    }
    default: return true;
  }
}

// ---- composite constructors ----

/** A UTF-8 string of at most `maxBytes` bytes (1..65535). */
export function string(maxBytes: number): StringType {
  checkBound('string maxBytes', maxBytes, 1);
  return Object.freeze({ kind: 'string', maxBytes });
}

/** Raw bytes, at most `maxBytes` (1..65535). */
export function bytes(maxBytes: number): BytesType {
  checkBound('bytes maxBytes', maxBytes, 1);
  return Object.freeze({ kind: 'bytes', maxBytes });
}

/** Exactly `length` elements of a fixed-size type, inline in the fixed part. */
export function array<E extends SchemaType>(element: E, length: number): ArrayType<E> {
  checkBound('array length', length, 1);
  checkElement('array', element);
  return Object.freeze({ kind: 'array', element, length });
}

/** Up to `maxLength` elements of a fixed-size type: a count in the fixed part, elements in the tail. */
export function list<E extends SchemaType>(element: E, maxLength: number): ListType<E> {
  checkBound('list maxLength', maxLength, 1);
  checkElement('list', element);
  return Object.freeze({ kind: 'list', element, maxLength });
}

/** An enum carried as its numeric tag; decodes to the member name. */
export function enumOf<const K extends string>(name: string, values: Record<K, number>): EnumType<K> {
  checkName('enum name', name);
  const seen = new Set<number>();
  let max = 0;
  for (const key of Object.keys(values) as K[]) {
    checkName(`enum ${name} member`, key);
    const v = values[key];
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`enum ${name}.${key} = ${v}: values must be integers 0..65535`);
    if (seen.has(v)) throw new RangeError(`enum ${name}: value ${v} is used twice`);
    seen.add(v);
    if (v > max) max = v;
  }
  if (seen.size === 0) throw new RangeError(`enum ${name} has no members`);
  return Object.freeze({ kind: 'enum', name, values: Object.freeze({ ...values }), size: max <= 0xff ? 1 : 2 });
}

/** A value that may be absent: a presence byte (0/1) in the fixed part, then the value. */
export function optional<V extends SchemaType>(inner: V): OptionalType<V> {
  if (inner.kind === 'optional') throw new TypeError('optional(optional(...)) is not allowed');
  return Object.freeze({ kind: 'optional', inner });
}

/**
 * Declare a struct. Fields are laid out in declaration order. The returned object is a plain
 * description; `codec(...)` (src/codec/index.ts) turns it into encode/decode.
 */
export function structType<const F extends Fields>(name: string, fields: F): StructType<F> {
  checkName('struct name', name);
  const fieldNames = Object.keys(fields);
  if (fieldNames.length === 0) throw new RangeError(`struct ${name} has no fields`);
  for (const f of fieldNames) {
    checkName(`struct ${name} field`, f);
    const t = fields[f];
    if (t === null || typeof t !== 'object' || typeof (t as SchemaType).kind !== 'string') {
      throw new TypeError(`struct ${name}.${f} is not a schema type`);
    }
  }
  return Object.freeze({ kind: 'struct', name, fields: Object.freeze({ ...fields }), fieldNames: Object.freeze(fieldNames) }) as StructType<F>;
}
