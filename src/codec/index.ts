// cell/codec — schemas, fixed layouts, canonical fingerprints and zero-allocation codecs
// (docs/wire-format.md §4 "Codec").
//
//   import { struct, u32, f32, string, array, i16 } from 'cell/codec';
//   const Reading = struct('Reading', { id: u32, temp: f32, name: string(16), samples: array(i16, 8) });
//   const n = Reading.encode(value, buf, 0);          // bytes written; throws CellError 3xx
//   const out = Reading.create();
//   Reading.decode(buf, 0, out, n);                    // decodes into `out` (typed arrays reused)
//
// `struct()` compiles a specialised encoder/decoder on first use with `new Function` (see
// compile.ts). Where eval is forbidden (CSP) it falls back to the interpreter automatically, or
// use `{ mode: 'interpret' }`, or generate a module ahead of time with codegen-ts.ts.
//
// Value conventions: u64/i64 are bigint (encode also accepts a safe-integer number); numeric
// arrays/lists decode to typed arrays (encode accepts any ArrayLike<number>); bool/enum/struct
// elements are plain arrays; an enum is its member name; an absent optional is undefined
// (encode also accepts null or a missing key); bytes are Uint8Array.
import type { Codec } from './codec-api.ts';
import { canonicalText, fingerprintOf, hex64 } from './canonical.ts';
import { compileImpl, rt, type CodecImpl, type Runtime } from './compile.ts';
import { interpretImpl } from './interpret.ts';
import { layoutOf } from './layout.ts';
import { structType, type Fields, type StructType } from './schema.ts';

export * from './schema.ts';
export type { Codec, CodecOf } from './codec-api.ts';
export { canonicalText, fingerprintOf, hash64, hex64, methodKey, methodText } from './canonical.ts';
export {
  layoutOf, elementLayout, fixedSizeOf, lenWidth, typedArrayName, groupEnd,
  type StructLayout, type ElementLayout, type Slot, type ScalarSlot, type EnumSlot, type LenSlot,
  type ArraySlot, type StructSlot, type OptionalSlot, type Path, type TypedArrayName,
} from './layout.ts';
export { decodeUtf8, encodeUtf8, utf8Length } from './utf8.ts';
export { generateFactorySource, type CodecImpl, type Runtime } from './compile.ts';
export { interpretImpl } from './interpret.ts';

export interface CodecOptions {
  /**
   * `compiled`: specialised code via `new Function`, falling back to the interpreter if eval is
   * forbidden. `interpret`: always the generic layout walker.
   * @default 'compiled'
   */
  readonly mode?: 'compiled' | 'interpret';
}

/** A codec plus the implementation actually in use (for tests and diagnostics). */
export interface CodecInternals {
  /** Which implementation encode/decode run on (set on first use). */
  readonly implKind: 'compiled' | 'interpret' | 'aot' | 'pending';
  /** Field path of the last error from this codec's try* functions ('' for whole-message errors). */
  lastErrorPath(): string;
}

const IMPL_METHODS = ['encode', 'decode', 'tryEncode', 'tryDecode', 'encodedSize', 'create'] as const;

function build<S extends StructType>(t: S, load: () => [CodecImpl, CodecInternals['implKind']]): Codec<S> & CodecInternals {
  const L = layoutOf(t);
  const canonical = canonicalText(t);
  const fingerprint = fingerprintOf(t);
  let impl: CodecImpl | undefined;
  const c: any = {
    kind: 'struct',
    name: t.name,
    fields: t.fields,
    fieldNames: t.fieldNames,
    canonical,
    fingerprint,
    fingerprintHex: hex64(fingerprint),
    fixedSize: L.fixedSize,
    maxSize: L.maxSize,
    implKind: 'pending',
    lastErrorPath: () => (impl ? impl.lastPath() : ''),
  };
  // Lazy: the first call of any method builds the implementation and installs its functions
  // directly on the object, so later calls go straight to the generated code.
  const init = (): CodecImpl => {
    if (!impl) {
      const [i, kind] = load();
      impl = i;
      for (const m of IMPL_METHODS) c[m] = i[m];
      c.implKind = kind;
    }
    return impl;
  };
  c.encode = (v: unknown, b: Uint8Array, o?: number) => init().encode(v, b, o);
  c.decode = (b: Uint8Array, o?: number, out?: unknown, e?: number) => init().decode(b, o, out, e);
  c.tryEncode = (v: unknown, b: Uint8Array, o: number) => init().tryEncode(v, b, o);
  c.tryDecode = (b: Uint8Array, o: number, e: number, out: unknown) => init().tryDecode(b, o, e, out);
  c.encodedSize = (v: unknown) => init().encodedSize(v);
  c.create = () => init().create();
  return c as Codec<S> & CodecInternals;
}

function loadCompiled(t: StructType): [CodecImpl, CodecInternals['implKind']] {
  try {
    return [compileImpl(t), 'compiled'];
  } catch (e) {
    // Only an eval ban (EvalError / CSP) falls back; a generator bug must surface.
    if (!(e instanceof EvalError) && !/unsafe-eval|Content Security Policy|Code generation from strings/i.test(String((e as Error)?.message))) throw e;
  }
  return [interpretImpl(t), 'interpret'];
}

/** Turn a struct type (from `structType` or another codec) into a Codec. */
export function codec<S extends StructType>(t: S, options: CodecOptions = {}): Codec<S> & CodecInternals {
  if (t === null || typeof t !== 'object' || t.kind !== 'struct') throw new TypeError('codec() needs a struct type');
  const mode = options.mode ?? 'compiled';
  if (mode !== 'compiled' && mode !== 'interpret') throw new TypeError(`codec mode must be 'compiled' or 'interpret', got ${String(mode)}`);
  return build(t, mode === 'interpret' ? () => [interpretImpl(t), 'interpret'] : () => loadCompiled(t));
}

/** Declare a struct and get its codec (a Codec is also a struct type: nest it in other structs). */
export function struct<const F extends Fields>(name: string, fields: F, options?: CodecOptions): Codec<StructType<F>> & CodecInternals {
  return codec(structType(name, fields), options);
}

/**
 * Used by modules generated with codegen-ts.ts: wrap a generated factory as a Codec, checking
 * that the schema still has the fingerprint the code was generated from.
 */
export function defineGenerated<S extends StructType>(t: S, factory: (r: Runtime) => CodecImpl, fingerprintHex: string): Codec<S> & CodecInternals {
  const fp = hex64(fingerprintOf(t));
  if (fp !== fingerprintHex) throw new TypeError(`generated codec for ${t.name} is stale: schema fingerprint ${fp}, code generated for ${fingerprintHex}`);
  return build(t, () => [factory(rt), 'aot']);
}
