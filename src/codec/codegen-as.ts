// AssemblyScript code generator for schemas (docs/wire-format.md §4 "Codec"; docs/portable-subset.md).
// Node-side only: turns StructTypes into one self-contained AssemblyScript module (no imports,
// byte ops only) whose encoders/decoders give the SAME bytes and the SAME error codes as the
// Node codec. Offsets, length slots and tail order come from layout.ts, never recomputed here,
// so the generators cannot disagree.
//
// Generated API, per struct `Name` (nested structs get their own class and functions too):
//   export class Name { field: T = 0; ... }       // preallocated: decode never allocates
//     scalars → u8..i64/f32/f64/bool; enum → its tag (u8/u16) with `export namespace Enum { const Member }`;
//     nested struct → a class instance; array(T, N) → StaticArray<T>(N);
//     string(N)/bytes(N) → `f: Uint8Array` (N bytes) + `fLength: i32`;
//     list(T, N) → `f: StaticArray<T>` (N) + `fCount: i32`;
//     optional(T) → `fPresent: bool` + T's members under the same name (unspecified when absent);
//     optional(T) as an array/list element → `class Optional_<T> { present: bool; value: T }`.
//   export const NAME_FIXED_SIZE: i32, NAME_MAX_SIZE: i32
//   export function sizeOfName(v): i32                  // bytes, or -307 / -309
//   export function encodeName(v, buf, off): i32        // bytes written, or -306 / -307 / -309
//   export function decodeName(buf, off, end, v): i32   // bytes consumed, or -300..-305
// Checks happen in the Node codec's order (compile.ts), so both builds return the same code:
//   encode: fixed part fits (306); then each slot in wire order, each tail written at its
//     length slot: undeclared enum tag or invalid UTF-8 in a string (309, what Node reports for
//     an unknown enum name or a lone surrogate), length/count over its bound (307), room (306).
//   decode: `end` is clamped to buf.length; fixed part present (300); then each slot in wire
//     order: bool 301, enum 304, presence byte / non-zero bytes under an absent optional 305,
//     length over bound 302, tail past `end` 300, invalid UTF-8 303, list elements in order.
//   Trailing bytes after the message are the caller's business (Node's decode() reports 308).
import { groupEnd, layoutOf } from './layout.ts';
import type { ElementLayout, LenSlot, Path, Slot } from './layout.ts';
import type {
  ArrayType, BytesType, EnumType, ListType, OptionalType, ScalarKind, SchemaType, StringType, StructType,
} from './schema.ts';

export interface AsCodegenOptions {
  /** A comment placed at the top of the module (e.g. the command that generated it). @default '' */
  readonly banner?: string;
}

const AS_TYPE: Record<ScalarKind, string> = {
  bool: 'bool', u8: 'u8', i8: 'i8', u16: 'u16', i16: 'i16', u32: 'u32', i32: 'i32',
  u64: 'u64', i64: 'i64', f32: 'f32', f64: 'f64',
};

const ERRORS = `const ERR_TRUNCATED: i32 = 300;
const ERR_BAD_BOOL: i32 = 301;
const ERR_LENGTH_OVER_BOUND: i32 = 302;
const ERR_INVALID_UTF8: i32 = 303;
const ERR_UNKNOWN_ENUM: i32 = 304;
const ERR_BAD_OPTIONAL_TAG: i32 = 305;
const ERR_BUFFER_TOO_SMALL: i32 = 306;
const ERR_VALUE_OUT_OF_RANGE: i32 = 307;
const ERR_BAD_VALUE: i32 = 309;`;

// Little-endian byte access and strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF, no truncated sequence). Callers check bounds first.
const HELPERS = `@inline function rd16(b: Uint8Array, p: i32): u32 {
  return (<u32>b[p]) | ((<u32>b[p + 1]) << 8);
}
@inline function rd32(b: Uint8Array, p: i32): u32 {
  return (<u32>b[p]) | ((<u32>b[p + 1]) << 8) | ((<u32>b[p + 2]) << 16) | ((<u32>b[p + 3]) << 24);
}
@inline function rd64(b: Uint8Array, p: i32): u64 {
  return (<u64>rd32(b, p)) | ((<u64>rd32(b, p + 4)) << 32);
}
@inline function wr16(b: Uint8Array, p: i32, v: u32): void {
  b[p] = <u8>v;
  b[p + 1] = <u8>(v >>> 8);
}
@inline function wr32(b: Uint8Array, p: i32, v: u32): void {
  b[p] = <u8>v;
  b[p + 1] = <u8>(v >>> 8);
  b[p + 2] = <u8>(v >>> 16);
  b[p + 3] = <u8>(v >>> 24);
}
@inline function wr64(b: Uint8Array, p: i32, v: u64): void {
  wr32(b, p, <u32>v);
  wr32(b, p + 4, <u32>(v >>> 32));
}
function validUtf8(b: Uint8Array, p: i32, n: i32): bool {
  const end = p + n;
  while (p < end) {
    const c = <u32>b[p];
    if (c < 0x80) { p++; continue; }
    let need: i32;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;
      else if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      else if (c == 0xf4) hi = 0x8f;
    } else return false;
    if (end - p - 1 < need) return false;
    const c1 = <u32>b[p + 1];
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const ck = <u32>b[p + k];
      if (ck < 0x80 || ck > 0xbf) return false;
    }
    p += need + 1;
  }
  return true;
}`;

/** Generate one self-contained AssemblyScript module for `structs` (and every struct/enum they use). */
export function generateAssemblyScript(structs: readonly StructType[], opts: AsCodegenOptions = {}): string {
  const g = new Gen();
  for (const s of structs) g.collect(s);
  const out: string[] = [];
  out.push('// Generated by src/codec/codegen-as.ts — do not edit. AssemblyScript only; no allocation in encode/decode.');
  if (opts.banner) for (const line of opts.banner.split('\n')) out.push(`// ${line}`);
  out.push('', ERRORS, '', HELPERS, '');
  for (const e of g.enums.values()) out.push(g.enumDecl(e), '');
  for (const [name, inner] of g.holders) out.push(g.holderDecl(name, inner), '');
  for (const s of g.structs.values()) out.push(g.classDecl(s), '');
  for (const s of g.structs.values()) out.push(g.functions(s), '');
  return out.join('\n');
}

export interface AsHarnessOptions {
  /** Module specifier of the generated codec, relative to the harness file. @default './codec.ts' */
  readonly codecModule?: string;
  /** Module specifier exporting the `IN`/`OUT` Uint8Arrays (firmware/core/io.ts). */
  readonly ioModule: string;
}

/**
 * Test glue for the vector runner (test/portable): per struct one static instance and
 * `decode_<Name>(len)` (IN[0..len) → instance; bytes or -code), `encode_<Name>()`
 * (instance → OUT[0..); bytes or -code) and `encodeCap_<Name>(cap)` (the same into a buffer of
 * `cap` bytes; allocates a view per call, acceptable in a test build only).
 */
export function generateAssemblyScriptHarness(structs: readonly StructType[], opts: AsHarnessOptions): string {
  const codec = opts.codecModule ?? './codec.ts';
  const names = structs.map((s) => s.name);
  const out: string[] = [
    '// Generated by src/codec/codegen-as.ts (test harness) — do not edit.',
    `import { IN, OUT } from '${opts.ioModule}';`,
    `import { ${names.flatMap((n) => [n, `encode${n}`, `decode${n}`]).join(', ')} } from '${codec}';`,
    '',
  ];
  for (const n of names) {
    out.push(
      `const V_${n} = new ${n}();`,
      `export function decode_${n}(len: i32): i32 { return decode${n}(IN, 0, len, V_${n}); }`,
      `export function encode_${n}(): i32 { return encode${n}(V_${n}, OUT, 0); }`,
      `export function encodeCap_${n}(cap: i32): i32 { return encode${n}(V_${n}, OUT.subarray(0, cap), 0); }`,
      '',
    );
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

type Acc = (path: Path) => string;

class Gen {
  readonly structs = new Map<string, StructType>();
  readonly enums = new Map<string, EnumType<string>>();
  /** Holder classes for optional array/list elements: class name → inner type. */
  readonly holders = new Map<string, SchemaType>();
  private v = 0;

  collect(t: SchemaType): void {
    switch (t.kind) {
      case 'struct': {
        const s = t as StructType;
        const seen = this.structs.get(s.name);
        if (seen) {
          if (seen !== s && !sameShape(seen, s)) throw new TypeError(`two different structs are named ${s.name}`);
          return;
        }
        for (const f of s.fieldNames) this.collect(s.fields[f]!);
        this.structs.set(s.name, s); // after its children: classes are declared inner first
        return;
      }
      case 'enum': {
        const e = t as EnumType<string>;
        const seen = this.enums.get(e.name);
        if (seen && seen !== e && JSON.stringify(seen.values) !== JSON.stringify(e.values)) {
          throw new TypeError(`two different enums are named ${e.name}`);
        }
        this.enums.set(e.name, e);
        return;
      }
      case 'array': case 'list': {
        const el = (t as ArrayType<SchemaType>).element;
        if (el.kind === 'optional') this.holders.set(holderName(el), (el as OptionalType<SchemaType>).inner);
        this.collect(el);
        return;
      }
      case 'optional': this.collect((t as OptionalType<SchemaType>).inner); return;
      default: return;
    }
  }

  private tmp(prefix: string): string {
    return `${prefix}${this.v++}`;
  }

  enumDecl(e: EnumType<string>): string {
    const ty = e.size === 1 ? 'u8' : 'u16';
    const lines = Object.entries(e.values as Record<string, number>).map(([k, v]) => `  export const ${k}: ${ty} = ${v};`);
    return `/** enum ${e.name}: wire tag ${ty}. */\nexport namespace ${e.name} {\n${lines.join('\n')}\n}`;
  }

  /** AS type of a value of schema type `t` held in a field or element (not for string/bytes/list/optional). */
  private valueType(t: SchemaType): string {
    switch (t.kind) {
      case 'struct': return (t as StructType).name;
      case 'enum': return (t as EnumType<string>).size === 1 ? 'u8' : 'u16';
      case 'array': return `StaticArray<${this.valueType((t as ArrayType<SchemaType>).element)}>`;
      case 'optional': return holderName(t);
      case 'string': case 'bytes': case 'list':
        throw new TypeError(`${t.kind} is not an element type`);
      default: return AS_TYPE[t.kind as ScalarKind];
    }
  }

  /** Initialiser expression for a value of type `t`; `fill` collects constructor statements for `target`. */
  private init(t: SchemaType, target: string, fill: string[], depth: number): string {
    switch (t.kind) {
      case 'struct': return `new ${(t as StructType).name}()`;
      case 'optional': return `new ${holderName(t)}()`;
      case 'enum': return String(Math.min(...Object.values((t as EnumType<string>).values as Record<string, number>)));
      case 'bool': return 'false';
      case 'array': {
        const a = t as ArrayType<SchemaType>;
        this.fillElements(a.element, a.length, target, fill, depth);
        return `new ${this.valueType(a)}(${a.length})`;
      }
      default: return '0';
    }
  }

  /** Constructor statements giving every element of a StaticArray of structs/arrays its own instance. */
  private fillElements(el: SchemaType, n: number, target: string, fill: string[], depth: number): void {
    if (el.kind !== 'struct' && el.kind !== 'array' && el.kind !== 'optional') return;
    const i = `i${depth}`;
    const inner: string[] = [];
    const init = this.init(el, `${target}[${i}]`, inner, depth + 1);
    fill.push(`for (let ${i} = 0; ${i} < ${n}; ${i}++) {`, `  ${target}[${i}] = ${init};`, ...inner.map((l) => `  ${l}`), '}');
  }

  /** An optional array/list element: `present` + `value` (value unspecified when absent). */
  holderDecl(name: string, inner: SchemaType): string {
    const fill: string[] = [];
    const lines = [`  present: bool = false;`, `  value: ${this.valueType(inner)} = ${this.init(inner, 'this.value', fill, 0)};`];
    const ctor = fill.length ? ['  constructor() {', ...fill.map((l) => `    ${l}`), '  }'] : [];
    return [`/** optional element: \`value\` is meaningful when \`present\`. */`, `export class ${name} {`, ...lines, ...ctor, '}'].join('\n');
  }

  classDecl(s: StructType): string {
    const lines: string[] = [];
    const fill: string[] = [];
    const member = (name: string, t: SchemaType): void => {
      switch (t.kind) {
        case 'string': case 'bytes': {
          const n = (t as StringType | BytesType).maxBytes;
          lines.push(`  /** ${t.kind}(${n}): bytes [0, ${name}Length) are the value${t.kind === 'string' ? ' (UTF-8)' : ''}. */`);
          lines.push(`  ${name}: Uint8Array = new Uint8Array(${n});`, `  ${name}Length: i32 = 0;`);
          return;
        }
        case 'list': {
          const l = t as ListType<SchemaType>;
          lines.push(`  /** list(${l.maxLength}): elements [0, ${name}Count) are the value. */`);
          lines.push(`  ${name}: StaticArray<${this.valueType(l.element)}> = new StaticArray<${this.valueType(l.element)}>(${l.maxLength});`);
          lines.push(`  ${name}Count: i32 = 0;`);
          this.fillElements(l.element, l.maxLength, `this.${name}`, fill, 0);
          return;
        }
        case 'optional': {
          lines.push(`  ${name}Present: bool = false;`);
          member(name, (t as OptionalType<SchemaType>).inner);
          return;
        }
        default:
          lines.push(`  ${name}: ${this.valueType(t)} = ${this.init(t, `this.${name}`, fill, 0)};`);
      }
    };
    for (const f of s.fieldNames) member(f, s.fields[f]!);
    const L = layoutOf(s);
    const head = `/** struct ${s.name}: fixed part ${L.fixedSize} bytes, at most ${L.maxSize}. */\nexport class ${s.name} {`;
    const ctor = fill.length ? ['  constructor() {', ...fill.map((l) => `    ${l}`), '  }'] : [];
    return [head, ...lines, ...ctor, '}'].join('\n');
  }

  functions(s: StructType): string {
    const L = layoutOf(s);
    const N = s.name;
    const C = constName(N);
    const root: Acc = (p) => ['v', ...p].join('.');
    const F = L.fixedSize;
    const out: string[] = [];
    out.push(`export const ${C}_FIXED_SIZE: i32 = ${F};`, `export const ${C}_MAX_SIZE: i32 = ${L.maxSize};`, '');

    // sizeOf: range checks (lengths, counts, enum tags) and the exact encoded size.
    this.v = 0;
    const sz: string[] = [];
    this.sizeSlots(L.slots, 0, L.slots.length, root, sz, '  ');
    out.push(`/** Encoded size of \`v\` in bytes, or -307 (length/count over its bound) / -309 (undeclared enum tag, invalid UTF-8). */`);
    out.push(`export function sizeOf${N}(v: ${N}): i32 {`, `  let n: i32 = ${F};`, ...sz, '  return n;', '}', '');

    // encode: the fixed part must fit (306); then every slot in wire order, each tail written at
    // its length slot (tails follow length-slot order): 309 enum/UTF-8, 307 bound, 306 room.
    this.v = 0;
    const en: string[] = [];
    this.encodeSlots(L.slots, 0, L.slots.length, 'off', root, en, '  ');
    out.push(`/** Encode \`v\` at buf[off..); returns bytes written, or -306 / -307 / -309 (buf may be partly written). */`);
    out.push(`export function encode${N}(v: ${N}, buf: Uint8Array, off: i32): i32 {`);
    out.push(`  if (off < 0 || off > buf.length - ${F}) return -ERR_BUFFER_TOO_SMALL;`);
    if (!L.isFixed) out.push(`  let q = off + ${F};`);
    out.push(...en, `  return ${L.isFixed ? F : 'q - off'};`, '}', '');

    // decode: the fixed part must be there (300); then every slot in wire order, each tail read
    // at its length slot: 301 bool, 304 enum, 305 optional, 302 bound, 300 tail, 303 UTF-8.
    this.v = 0;
    const de: string[] = [];
    this.decodeSlots(L.slots, 0, L.slots.length, 'off', root, de, '  ');
    out.push(`/** Decode buf[off..end) into \`v\`; returns bytes consumed (trailing bytes are the caller's), or -300..-305. \`v\` may be partly written on error. */`);
    out.push(`export function decode${N}(buf: Uint8Array, off: i32, end: i32, v: ${N}): i32 {`);
    out.push('  if (end > buf.length) end = buf.length;');
    out.push(`  if (off < 0 || end - off < ${F}) return -ERR_TRUNCATED;`);
    if (!L.isFixed) out.push(`  let q = off + ${F};`);
    out.push(...de, `  return ${L.isFixed ? F : 'q - off'};`, '}');
    return out.join('\n');
  }

  // ---- sizeOf ----

  private sizeSlots(slots: readonly Slot[], from: number, to: number, acc: Acc, out: string[], ind: string): void {
    for (let i = from; i < to; i = groupEnd(slots, i)) {
      const s = slots[i]!;
      switch (s.op) {
        case 'enum': out.push(`${ind}if (${enumInvalid(s.members, acc(s.path))}) return -ERR_BAD_VALUE;`); break;
        case 'len': {
          const n = lenMember(s, acc);
          out.push(`${ind}if (${n} < 0 || ${n} > ${s.bound}) return -ERR_VALUE_OUT_OF_RANGE;`);
          if (s.var === 'string') out.push(`${ind}if (!validUtf8(${acc(s.path)}, 0, ${n})) return -ERR_BAD_VALUE;`);
          if (s.var === 'list' && s.element) {
            out.push(`${ind}n += ${n}${s.element.size === 1 ? '' : ` * ${s.element.size}`};`);
            if (hasChecks(s.element.slots)) this.sizeLoop(s.element, acc(s.path), n, out, ind);
          } else {
            out.push(`${ind}n += ${n};`);
          }
          break;
        }
        case 'array':
          if (hasChecks(s.element.slots)) this.sizeLoop(s.element, acc(s.path), String(s.length), out, ind);
          break;
        case 'optional': {
          const [pres, inner] = optionalAccess(s.path, acc);
          const body: string[] = [];
          this.sizeSlots(slots, i + 1, i + 1 + s.count, inner, body, ind + '  ');
          if (body.length) out.push(`${ind}if (${pres}) {`, ...body, `${ind}}`);
          break;
        }
        case 'struct': this.sizeSlots(slots, i + 1, i + 1 + s.count, acc, out, ind); break;
        default: break;
      }
    }
  }

  private sizeLoop(el: ElementLayout, arr: string, count: string, out: string[], ind: string): void {
    const i = this.tmp('i');
    out.push(`${ind}for (let ${i} = 0; ${i} < ${count}; ${i}++) {`);
    this.sizeSlots(el.slots, 0, el.slots.length, elemAcc(arr, i), out, ind + '  ');
    out.push(`${ind}}`);
  }

  // ---- encode ----

  private encodeSlots(slots: readonly Slot[], from: number, to: number, base: string, acc: Acc, out: string[], ind: string): void {
    for (let i = from; i < to; i = groupEnd(slots, i)) {
      const s = slots[i]!;
      const p = at(base, s.offset);
      switch (s.op) {
        case 'scalar': out.push(`${ind}${writeScalar(s.kind, p, acc(s.path))};`); break;
        case 'enum':
          out.push(`${ind}if (${enumInvalid(s.members, acc(s.path))}) return -ERR_BAD_VALUE;`);
          out.push(`${ind}${s.size === 1 ? `buf[${p}] = <u8>${acc(s.path)}` : `wr16(buf, ${p}, <u32>${acc(s.path)})`};`);
          break;
        case 'len': this.encodeLen(s, p, acc, out, ind); break;
        case 'array': this.encodeLoop(s.element, acc(s.path), String(s.length), p, out, ind); break;
        case 'struct': this.encodeSlots(slots, i + 1, i + 1 + s.count, base, acc, out, ind); break;
        case 'optional': {
          const [pres, inner] = optionalAccess(s.path, acc);
          out.push(`${ind}if (${pres}) {`, `${ind}  buf[${p}] = 1;`);
          this.encodeSlots(slots, i + 1, i + 1 + s.count, base, inner, out, ind + '  ');
          const k = this.tmp('k');
          out.push(`${ind}} else {`, `${ind}  buf[${p}] = 0;`);
          out.push(`${ind}  for (let ${k} = 1; ${k} <= ${s.size}; ${k}++) buf[${p} + ${k}] = 0;`, `${ind}}`);
          break;
        }
      }
    }
  }

  /** A length slot and its tail, written at `q` (tails are in length-slot order). */
  private encodeLen(s: LenSlot, p: string, acc: Acc, out: string[], ind: string): void {
    const n = this.tmp('n');
    const stride = s.element ? s.element.size : 1;
    const bytes = stride === 1 ? n : `${n} * ${stride}`;
    out.push(`${ind}const ${n} = ${lenMember(s, acc)};`);
    out.push(`${ind}if (${n} < 0 || ${n} > ${s.bound}) return -ERR_VALUE_OUT_OF_RANGE;`);
    if (s.var === 'string') out.push(`${ind}if (!validUtf8(${acc(s.path)}, 0, ${n})) return -ERR_BAD_VALUE;`);
    out.push(`${ind}if (buf.length - q < ${bytes}) return -ERR_BUFFER_TOO_SMALL;`);
    out.push(`${ind}${s.width === 1 ? `buf[${p}] = <u8>${n}` : `wr16(buf, ${p}, <u32>${n})`};`);
    if (s.var === 'list') {
      this.encodeLoop(s.element!, acc(s.path), n, 'q', out, ind);
    } else {
      const k = this.tmp('k');
      out.push(`${ind}for (let ${k} = 0; ${k} < ${n}; ${k}++) buf[q + ${k}] = ${acc(s.path)}[${k}];`);
    }
    out.push(`${ind}q += ${bytes};`);
  }

  private encodeLoop(el: ElementLayout, arr: string, count: string, start: string, out: string[], ind: string): void {
    const i = this.tmp('i');
    const e = this.tmp('e');
    out.push(`${ind}for (let ${i} = 0, ${e} = ${start}; ${i} < ${count}; ${i}++, ${e} += ${el.size}) {`);
    this.encodeSlots(el.slots, 0, el.slots.length, e, elemAcc(arr, i), out, ind + '  ');
    out.push(`${ind}}`);
  }

  // ---- decode ----

  private decodeSlots(slots: readonly Slot[], from: number, to: number, base: string, acc: Acc, out: string[], ind: string): void {
    for (let i = from; i < to; i = groupEnd(slots, i)) {
      const s = slots[i]!;
      const p = at(base, s.offset);
      switch (s.op) {
        case 'scalar':
          if (s.kind === 'bool') {
            const t = this.tmp('b');
            out.push(`${ind}const ${t} = buf[${p}];`, `${ind}if (${t} > 1) return -ERR_BAD_BOOL;`, `${ind}${acc(s.path)} = ${t} != 0;`);
          } else {
            out.push(`${ind}${acc(s.path)} = ${readScalar(s.kind, p)};`);
          }
          break;
        case 'enum': {
          const t = this.tmp('t');
          const ty = s.size === 1 ? 'u8' : 'u16';
          out.push(`${ind}const ${t}: ${ty} = ${s.size === 1 ? `buf[${p}]` : `<u16>rd16(buf, ${p})`};`);
          out.push(`${ind}if (${enumInvalid(s.members, t)}) return -ERR_UNKNOWN_ENUM;`, `${ind}${acc(s.path)} = ${t};`);
          break;
        }
        case 'len': this.decodeLen(s, p, acc, out, ind); break;
        case 'array': this.decodeLoop(s.element, acc(s.path), String(s.length), p, out, ind); break;
        case 'struct': this.decodeSlots(slots, i + 1, i + 1 + s.count, base, acc, out, ind); break;
        case 'optional': {
          const t = this.tmp('o');
          const k = this.tmp('k');
          out.push(`${ind}const ${t} = buf[${p}];`, `${ind}if (${t} == 0) {`);
          out.push(`${ind}  for (let ${k} = 1; ${k} <= ${s.size}; ${k}++) if (buf[${p} + ${k}] != 0) return -ERR_BAD_OPTIONAL_TAG;`);
          const [pres, inner] = optionalAccess(s.path, acc);
          out.push(`${ind}  ${pres} = false;`, `${ind}} else if (${t} == 1) {`, `${ind}  ${pres} = true;`);
          this.decodeSlots(slots, i + 1, i + 1 + s.count, base, inner, out, ind + '  ');
          out.push(`${ind}} else return -ERR_BAD_OPTIONAL_TAG;`);
          break;
        }
      }
    }
  }

  /** A length slot and its tail, read at `q`. */
  private decodeLen(s: LenSlot, p: string, acc: Acc, out: string[], ind: string): void {
    const n = this.tmp('n');
    const stride = s.element ? s.element.size : 1;
    const bytes = stride === 1 ? n : `${n} * ${stride}`;
    out.push(`${ind}const ${n}: i32 = ${s.width === 1 ? `<i32>buf[${p}]` : `<i32>rd16(buf, ${p})`};`);
    out.push(`${ind}if (${n} > ${s.bound}) return -ERR_LENGTH_OVER_BOUND;`);
    out.push(`${ind}if (end - q < ${bytes}) return -ERR_TRUNCATED;`);
    if (s.var === 'list') {
      this.decodeLoop(s.element!, acc(s.path), n, 'q', out, ind);
    } else {
      if (s.var === 'string') out.push(`${ind}if (!validUtf8(buf, q, ${n})) return -ERR_INVALID_UTF8;`);
      const k = this.tmp('k');
      out.push(`${ind}for (let ${k} = 0; ${k} < ${n}; ${k}++) ${acc(s.path)}[${k}] = buf[q + ${k}];`);
    }
    out.push(`${ind}${lenMember(s, acc)} = ${n};`, `${ind}q += ${bytes};`);
  }

  private decodeLoop(el: ElementLayout, arr: string, count: string, start: string, out: string[], ind: string): void {
    const i = this.tmp('i');
    const e = this.tmp('e');
    out.push(`${ind}for (let ${i} = 0, ${e} = ${start}; ${i} < ${count}; ${i}++, ${e} += ${el.size}) {`);
    this.decodeSlots(el.slots, 0, el.slots.length, e, elemAcc(arr, i), out, ind + '  ');
    out.push(`${ind}}`);
  }
}

// ---- helpers ----

function constName(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function at(base: string, offset: number): string {
  return offset === 0 ? base : `${base} + ${offset}`;
}

function elemAcc(arr: string, i: string): Acc {
  return (p) => [`${arr}[${i}]`, ...p].join('.');
}

function lenMember(s: LenSlot, acc: Acc): string {
  return `${acc(s.path)}${s.var === 'list' ? 'Count' : 'Length'}`;
}

/**
 * The presence flag of an optional slot and the accessor for its inner slots: a struct field `f`
 * has `fPresent` and keeps its own members; an array/list element (empty path) is a holder
 * object with `.present` and `.value`.
 */
function optionalAccess(path: Path, acc: Acc): [string, Acc] {
  if (path.length > 0) return [`${acc(path)}Present`, acc];
  const el = acc([]);
  return [`${el}.present`, (p) => [`${el}.value`, ...p].join('.')];
}

/** Class name of the holder for an optional element type, e.g. Optional_u8, Optional_Point, Optional_i16x4. */
function holderName(t: SchemaType): string {
  return `Optional_${typeTag((t as OptionalType<SchemaType>).inner)}`;
}

function typeTag(t: SchemaType): string {
  switch (t.kind) {
    case 'struct': return (t as StructType).name;
    case 'enum': return (t as EnumType<string>).name;
    case 'array': return `${typeTag((t as ArrayType<SchemaType>).element)}x${(t as ArrayType<SchemaType>).length}`;
    case 'optional': return holderName(t);
    default: return t.kind;
  }
}

/** True when any slot needs a check in sizeOf (enum tags; len slots never occur in elements). */
function hasChecks(slots: readonly Slot[]): boolean {
  return slots.some((s) => s.op === 'enum' || (s.op === 'array' && hasChecks(s.element.slots)));
}

/** A boolean AS expression that is true when tag `t` is not a member. Ranges collapse to comparisons. */
function enumInvalid(members: readonly (readonly [number, string])[], t: string): string {
  const values = members.map((m) => m[0]).sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < values.length) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    const lo = values[i]!;
    const hi = values[j]!;
    if (lo === hi) parts.push(`${t} != ${lo}`);
    else if (lo === 0) parts.push(`${t} > ${hi}`);
    else parts.push(`(${t} < ${lo} || ${t} > ${hi})`);
    i = j + 1;
  }
  return parts.join(' && ');
}

function writeScalar(kind: ScalarKind, p: string, x: string): string {
  switch (kind) {
    case 'bool': return `buf[${p}] = ${x} ? 1 : 0`;
    case 'u8': case 'i8': return `buf[${p}] = <u8>${x}`;
    case 'u16': case 'i16': return `wr16(buf, ${p}, <u32>${x})`;
    case 'u32': case 'i32': return `wr32(buf, ${p}, <u32>${x})`;
    case 'u64': case 'i64': return `wr64(buf, ${p}, <u64>${x})`;
    case 'f32': return `wr32(buf, ${p}, reinterpret<u32>(${x}))`;
    case 'f64': return `wr64(buf, ${p}, reinterpret<u64>(${x}))`;
  }
}

function readScalar(kind: ScalarKind, p: string): string {
  switch (kind) {
    case 'bool': return `buf[${p}] != 0`;
    case 'u8': return `buf[${p}]`;
    case 'i8': return `<i8>buf[${p}]`;
    case 'u16': return `<u16>rd16(buf, ${p})`;
    case 'i16': return `<i16>rd16(buf, ${p})`;
    case 'u32': return `rd32(buf, ${p})`;
    case 'i32': return `<i32>rd32(buf, ${p})`;
    case 'u64': return `rd64(buf, ${p})`;
    case 'i64': return `<i64>rd64(buf, ${p})`;
    case 'f32': return `reinterpret<f32>(rd32(buf, ${p}))`;
    case 'f64': return `reinterpret<f64>(rd64(buf, ${p}))`;
  }
}

function sameShape(a: StructType, b: StructType): boolean {
  const L = layoutOf(a);
  const M = layoutOf(b);
  return L.fixedSize === M.fixedSize && L.maxSize === M.maxSize && a.fieldNames.join() === b.fieldNames.join();
}

