// The specialised codec (docs/wire-format.md §4 "Codec"): JS source generated from a struct's
// layout (layout.ts) — straight-line code, offsets as constants, no per-field dispatch — turned
// into functions with `new Function` (compileImpl) or emitted as a module (codegen-ts.ts).
// interpret.ts is the generic path and must give identical bytes and identical error codes.
//
// Hot-path cost (Reading, 34-byte fixed part): encode/decode are one call each; multi-byte numbers
// via a DataView over the caller's buffer (cached per buffer: no allocation while buffers are
// reused); typed-array fields decoded in place (no allocation). Strings: decode allocates the string; ≤ 16 ASCII bytes take a
// fixed-arity String.fromCharCode path. u64/i64 decode allocates a BigInt.
//
// Checks, in this order (the interpreter follows the same order):
//   encode: off+fixedSize ≤ buf.length (BUFFER_TOO_SMALL); then each slot in layout order:
//     JS type (BAD_VALUE), range/bound (VALUE_OUT_OF_RANGE), tail room (BUFFER_TOO_SMALL).
//   decode: off+fixedSize ≤ end (TRUNCATED); then each slot in layout order: bool/enum/optional
//     byte, length bound (LENGTH_OVER_BOUND), tail room (TRUNCATED), UTF-8 (INVALID_UTF8).
// On error the output (buf or out) may be partly written.
import { CellError } from '../wire/cell-error.ts';
import { ERR_CODEC_TRAILING_BYTES } from '../wire/errors.ts';
import {
  elementLayout, groupEnd, layoutOf, type ElementLayout, type EnumSlot, type LenSlot, type Slot, type StructLayout,
} from './layout.ts';
import type { ArrayType, ListType, ScalarKind, SchemaType, StructType } from './schema.ts';
import { decodeUtf8, encodeUtf8, utf8Length } from './utf8.ts';

// ---------------------------------------------------------------------------------------------
// Runtime shared by generated code and the interpreter.

/** The functions every codec implementation provides (generated or interpreted). */
export interface CodecImpl<T = any> {
  /** Bytes written, or -code. */
  tryEncode(value: T, buf: Uint8Array, off: number): number;
  /** Bytes consumed (no trailing check), or -code. */
  tryDecode(buf: Uint8Array, off: number, end: number, out: T): number;
  /** Throwing encode (CellError 3xx). */
  encode(value: T, buf: Uint8Array, off?: number): number;
  /** Throwing decode; requires exactly end-off bytes (else CodecTrailingBytes). */
  decode(buf: Uint8Array, off?: number, out?: T, end?: number): T;
  /** Exact encoded size, or -code when the value cannot be encoded (bad type, over a bound). */
  trySize(value: T): number;
  /** Throwing trySize. */
  encodedSize(value: T): number;
  /** A new zero value. */
  create(): T;
  /** Field path of the last error from this codec (e.g. `samples[]`, `inner.name`). */
  lastPath(): string;
}

export interface Runtime {
  readonly dec: typeof decodeUtf8;
  readonly enc: typeof encodeUtf8;
  readonly utf8Length: typeof utf8Length;
  /** Throw the CellError for a code returned (negated) by a try* function. */
  raise(code: number, schema: string, op: string, path: string): never;
  raiseTrailing(schema: string, consumed: number, available: number): never;
  /** Throw a RangeError for bad (off, end) arguments. */
  badRange(what: string): never;
}

export const rt: Runtime = Object.freeze({
  dec: decodeUtf8,
  enc: encodeUtf8,
  utf8Length,
  raise(code: number, schema: string, op: string, path: string): never {
    const e = new CellError(code, undefined, { schema, op, field: path });
    e.message = `${e.name}: ${op} ${schema}${path ? ' field ' + path : ''}: ${e.hint}`;
    throw e;
  },
  raiseTrailing(schema: string, consumed: number, available: number): never {
    throw new CellError(ERR_CODEC_TRAILING_BYTES, `CodecTrailingBytes: decode ${schema}: ${available - consumed} byte(s) after the message`, { schema, op: 'decode', consumed, available });
  },
  badRange(what: string): never {
    throw new RangeError(what);
  },
});

/** Zero value of a schema type (what create() puts in a field). Used by the interpreter. */
export function zeroValue(t: SchemaType): unknown {
  switch (t.kind) {
    case 'bool': return false;
    case 'u64': case 'i64': return 0n;
    case 'string': return '';
    case 'bytes': return new Uint8Array(0);
    case 'optional': return undefined;
    case 'enum': return elementLayout(t).slots[0] && (elementLayout(t).slots[0] as EnumSlot).members[0]![1];
    case 'array': {
      const a = t as ArrayType<SchemaType>;
      const e = elementLayout(a.element);
      if (e.typedArray) return new (globalThis as any)[e.typedArray](a.length);
      const out = new Array(a.length);
      for (let i = 0; i < a.length; i++) out[i] = zeroValue(a.element);
      return out;
    }
    case 'list': {
      const e = elementLayout((t as ListType<SchemaType>).element);
      return e.typedArray ? new (globalThis as any)[e.typedArray](0) : [];
    }
    case 'struct': {
      const s = t as StructType;
      const o: Record<string, unknown> = {};
      for (const f of s.fieldNames) o[f] = zeroValue(s.fields[f]!);
      return o;
    }
    default: return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Code generation.

const UNROLL = 16; // arrays of scalars up to this length are unrolled
const COPY_UNROLL_BYTES = 64; // fixed byte arrays up to this length are copied by straight-line code (Gen.copyInFixed)
const ASCII_INLINE = 16; // strings with bounds up to this get an inline ASCII decode switch

const RANGE_CHECK: Partial<Record<ScalarKind, (v: string) => string>> = {
  u8: (v) => `(${v} & 255) !== ${v}`,
  i8: (v) => `(${v} << 24 >> 24) !== ${v}`,
  u16: (v) => `(${v} & 65535) !== ${v}`,
  i16: (v) => `(${v} << 16 >> 16) !== ${v}`,
  u32: (v) => `(${v} >>> 0) !== ${v}`,
  i32: (v) => `(${v} | 0) !== ${v}`,
};

class Gen {
  private n = 0;
  readonly out: string[] = [];
  /** struct type → name of its create function */
  readonly creators = new Map<SchemaType, string>();
  readonly creatorSrc: string[] = [];
  /** Set when the code being generated uses `dv` (then the function gets the cached-view prologue). */
  usesView = false;
  constructor(readonly root: StructType) {}
  v(p: string): string { return `${p}${this.n++}`; }
  line(s: string): void { this.out.push(s); }
  take(): string { const s = this.out.join('\n'); this.out.length = 0; return s; }

  // ---- create ----
  zeroExpr(t: SchemaType): string {
    switch (t.kind) {
      case 'bool': return 'false';
      case 'u64': case 'i64': return '0n';
      case 'string': return "''";
      case 'bytes': return 'new Uint8Array(0)';
      case 'optional': return 'undefined';
      case 'enum': return JSON.stringify((elementLayout(t).slots[0] as EnumSlot).members[0]![1]);
      case 'array': {
        const a = t as ArrayType<SchemaType>;
        const e = elementLayout(a.element);
        if (e.typedArray) return `new ${e.typedArray}(${a.length})`;
        if (a.length <= UNROLL) return `[${Array.from({ length: a.length }, () => this.zeroExpr(a.element)).join(', ')}]`;
        return `Array.from({ length: ${a.length} }, () => ${this.zeroExpr(a.element)})`;
      }
      case 'list': {
        const e = elementLayout((t as ListType<SchemaType>).element);
        return e.typedArray ? `new ${e.typedArray}(0)` : '[]';
      }
      case 'struct': return `${this.creator(t as StructType)}()`;
      default: return '0';
    }
  }
  creator(t: StructType): string {
    let name = this.creators.get(t);
    if (name) return name;
    name = `create_${this.creators.size}`;
    this.creators.set(t, name);
    // A class with field initialisers, not an object literal: measured on V8 11–13, decoding
    // floats into a literal-made `out` (`{ ts: 0 }`) inside an encode+decode loop allocated a
    // HeapNumber per float field per call, while the same fields on a class instance are stored
    // in place (0 GCs over 10^6 round trips; test/bench/alloc.test.ts). The prototype's
    // `constructor` is Object so values still compare deep-equal to plain objects.
    const body = t.fieldNames
      .map((f) => `${f === 'constructor' ? '["constructor"]' : f} = ${this.zeroExpr(t.fields[f]!)};`)
      .join(' ');
    const cls = name.replace("create_", "Value_");
    this.creatorSrc.push(
      `class ${cls} { ${body} }`,
      `Object.defineProperty(${cls}.prototype, 'constructor', { value: Object, writable: true, configurable: true });`,
      `function ${name}() { return new ${cls}(); }`,
    );
    return name;
  }

  // ---- encode ----
  /** Encode slot slots[i] whose value is `e`, at base + slot.offset. */
  enc(slots: readonly Slot[], i: number, e: string, base: string, path: string, shift = 0): void {
    const s = slots[i]!;
    const O = (k: number): string => `${base} + ${s.offset + shift + k}`;
    const fail = (code: number) => `return fail(${code}, ${JSON.stringify(path)});`;
    switch (s.op) {
      case 'scalar': this.encScalar(s.kind, e, O, path); return;
      case 'enum': {
        const v = this.v('e');
        this.line(`const ${v} = ${e};`);
        this.line(`switch (${v}) {`);
        for (const [val, name] of s.members) {
          this.line(`  case ${JSON.stringify(name)}: buf[${O(0)}] = ${val & 255};${s.size === 2 ? ` buf[${O(1)}] = ${val >> 8};` : ''} break;`);
        }
        this.line(`  default: ${fail(309)}`);
        this.line('}');
        return;
      }
      case 'struct': {
        const v = this.v('t');
        this.line(`const ${v} = ${e};`);
        this.line(`if (typeof ${v} !== 'object' || ${v} === null) ${fail(309)}`);
        for (let j = i + 1; j < i + 1 + s.count; j = groupEnd(slots, j)) {
          const f = slots[j]!.path[slots[j]!.path.length - 1]!;
          this.enc(slots, j, `${v}.${f}`, base, path ? `${path}.${f}` : f, shift);
        }
        return;
      }
      case 'optional': {
        const v = this.v('o');
        this.line(`const ${v} = ${e};`);
        this.line(`if (${v} === undefined || ${v} === null) {`);
        this.line(`buf[${O(0)}] = 0;`);
        this.zeroFill(O, 1, s.size);
        this.line('} else {');
        this.line(`buf[${O(0)}] = 1;`);
        this.enc(slots, i + 1, v, base, path, shift);
        this.line('}');
        return;
      }
      case 'array': {
        const a = this.v('a');
        this.line(`const ${a} = ${e};`);
        this.line(`if (typeof ${a} !== 'object' || ${a} === null) ${fail(309)}`);
        this.line(`if (${a}.length !== ${s.length}) ${fail(307)}`);
        const el = s.element;
        const ep = `${path}[]`;
        const bulk = s.length > UNROLL ? byteElement(el) : undefined;
        if (bulk) this.line(`if (${a} instanceof ${bulk}) tset.call(buf, ${a}, ${base} + ${s.offset + shift}); else {`);
        if (el.slots.length === 1 && el.slots[0]!.op === 'scalar' && s.length <= UNROLL) {
          for (let k = 0; k < s.length; k++) this.enc(el.slots, 0, `${a}[${k}]`, base, ep, s.offset + shift + k * el.size);
        } else {
          const k = this.v('i'), q = this.v('q');
          this.line(`for (let ${k} = 0; ${k} < ${s.length}; ${k}++) {`);
          this.line(`const ${q} = ${base} + ${s.offset + shift} + ${k} * ${el.size};`);
          this.enc(el.slots, 0, `${a}[${k}]`, q, ep);
          this.line('}');
        }
        if (bulk) this.line('}');
        return;
      }
      case 'len': this.encLen(s, e, O, path); return;
    }
  }

  zeroFill(O: (k: number) => string, from: number, n: number): void {
    if (n <= UNROLL) for (let k = 0; k < n; k++) this.line(`buf[${O(from + k)}] = 0;`);
    else this.line(`buf.fill(0, ${O(from)}, ${O(from + n)});`);
  }

  writeLen(s: LenSlot, O: (k: number) => string, n: string): void {
    this.line(`buf[${O(0)}] = ${n};`);
    if (s.width === 2) this.line(`buf[${O(1)}] = ${n} >> 8;`);
  }

  encLen(s: LenSlot, e: string, O: (k: number) => string, path: string): void {
    const fail = (code: number | string) => `return fail(${code}, ${JSON.stringify(path)});`;
    if (s.var === 'string') {
      const v = this.v('s'), r = this.v('r');
      this.line(`const ${v} = ${e};`);
      this.line(`if (typeof ${v} !== 'string') ${fail(309)}`);
      // ASCII fast path inline (no call); anything else goes through enc (strict, exact length).
      const k = this.v('k'), c = this.v('c');
      this.line(`const ${n0(v)} = ${v}.length;`);
      this.line(`let ${k} = 0;`);
      this.line(`if (${n0(v)} <= ${s.bound} && p + ${n0(v)} <= buf.length) for (; ${k} < ${n0(v)}; ${k}++) { const ${c} = ${v}.charCodeAt(${k}); if (${c} >= 128) break; buf[p + ${k}] = ${c}; }`);
      this.line(`const ${r} = ${k} === ${n0(v)} ? ${k} : enc(${v}, buf, p, ${s.bound});`);
      this.line(`if (${r} < 0) ${fail(`-${r}`)}`);
      this.writeLen(s, O, r);
      this.line(`p += ${r};`);
    } else if (s.var === 'bytes') {
      const v = this.v('b'), n = this.v('n');
      this.line(`const ${v} = ${e};`);
      this.line(`if (!(${v} instanceof Uint8Array)) ${fail(309)}`);
      this.line(`const ${n} = ${v}.length;`);
      this.line(`if (${n} > ${s.bound}) ${fail(307)}`);
      this.line(`if (p + ${n} > buf.length) ${fail(306)}`);
      this.line(`tset.call(buf, ${v}, p);`);
      this.writeLen(s, O, n);
      this.line(`p += ${n};`);
    } else {
      const el = s.element!;
      const a = this.v('a'), n = this.v('n'), k = this.v('i'), q = this.v('q');
      this.line(`const ${a} = ${e};`);
      this.line(`if (typeof ${a} !== 'object' || ${a} === null) ${fail(309)}`);
      this.line(`const ${n} = ${a}.length;`);
      this.line(`if (typeof ${n} !== 'number') ${fail(309)}`);
      this.line(`if (${n} > ${s.bound}) ${fail(307)}`);
      this.line(`if (p + ${n} * ${el.size} > buf.length) ${fail(306)}`);
      this.writeLen(s, O, n);
      const bulk = byteElement(el);
      if (bulk) this.line(`if (${a} instanceof ${bulk}) tset.call(buf, ${a}, p); else {`);
      this.line(`for (let ${k} = 0; ${k} < ${n}; ${k}++) {`);
      this.line(`const ${q} = p + ${k} * ${el.size};`);
      this.enc(el.slots, 0, `${a}[${k}]`, q, `${path}[]`);
      this.line('}');
      if (bulk) this.line('}');
      this.line(`p += ${n} * ${el.size};`);
    }
  }

  encScalar(kind: ScalarKind, e: string, O: (k: number) => string, path: string): void {
    const fail = (code: number) => `return fail(${code}, ${JSON.stringify(path)});`;
    const v = this.v('v');
    this.line(`const ${v} = ${e};`);
    switch (kind) {
      case 'bool':
        this.line(`if (${v} === true) buf[${O(0)}] = 1; else if (${v} === false) buf[${O(0)}] = 0; else ${fail(309)}`);
        return;
      case 'f32': case 'f64':
        this.usesView = true;
        this.line(`if (typeof ${v} !== 'number') ${fail(309)}`);
        this.line(`dv.${kind === 'f32' ? 'setFloat32' : 'setFloat64'}(${O(0)}, ${v}, true);`);
        return;
      case 'u64': case 'i64': {
        this.usesView = true;
        const range = kind === 'u64' ? `${v} < 0n || ${v} > 0xffffffffffffffffn` : `${v} < -0x8000000000000000n || ${v} > 0x7fffffffffffffffn`;
        this.line(`if (typeof ${v} === 'bigint') {`);
        this.line(`if (${range}) ${fail(307)}`);
        this.line(`dv.${kind === 'u64' ? 'setBigUint64' : 'setBigInt64'}(${O(0)}, ${v}, true);`);
        this.line(`} else if (typeof ${v} === 'number') {`);
        this.line(`if (!Number.isSafeInteger(${v})${kind === 'u64' ? ` || ${v} < 0` : ''}) ${fail(307)}`);
        this.line(`dv.setUint32(${O(0)}, ${v} >>> 0, true); dv.setUint32(${O(4)}, Math.floor(${v} / 4294967296) >>> 0, true);`);
        this.line(`} else ${fail(309)}`);
        return;
      }
      default: {
        this.line(`if (typeof ${v} !== 'number') ${fail(309)}`);
        this.line(`if (${RANGE_CHECK[kind]!(v)}) ${fail(307)}`);
        if (kind === 'u8' || kind === 'i8') this.line(`buf[${O(0)}] = ${v};`);
        else {
          this.usesView = true;
          this.line(`dv.${SETTER[kind]}(${O(0)}, ${v}, true);`);
        }
      }
    }
  }

  // ---- decode ----
  /** Decode slot slots[i] into lvalue `lv`, reading at base + slot.offset. */
  dec(slots: readonly Slot[], i: number, lv: string, base: string, path: string, shift = 0): void {
    const s = slots[i]!;
    const O = (k: number): string => `${base} + ${s.offset + shift + k}`;
    const fail = (code: number) => `return fail(${code}, ${JSON.stringify(path)});`;
    switch (s.op) {
      case 'scalar': this.decScalar(s.kind, lv, O, path); return;
      case 'enum': {
        const g = this.v('g');
        this.line(`const ${g} = ${s.size === 2 ? `buf[${O(0)}] | buf[${O(1)}] << 8` : `buf[${O(0)}]`};`);
        this.line(`switch (${g}) {`);
        for (const [val, name] of s.members) this.line(`  case ${val}: ${lv} = ${JSON.stringify(name)}; break;`);
        this.line(`  default: ${fail(304)}`);
        this.line('}');
        return;
      }
      case 'struct': {
        const t = this.v('t');
        this.line(`let ${t} = ${lv};`);
        this.line(`if (typeof ${t} !== 'object' || ${t} === null) ${lv} = ${t} = ${this.creator(s.type)}();`);
        for (let j = i + 1; j < i + 1 + s.count; j = groupEnd(slots, j)) {
          const f = slots[j]!.path[slots[j]!.path.length - 1]!;
          this.dec(slots, j, `${t}.${f}`, base, path ? `${path}.${f}` : f, shift);
        }
        return;
      }
      case 'optional': {
        const g = this.v('g');
        this.line(`const ${g} = buf[${O(0)}];`);
        this.line(`if (${g} === 0) {`);
        if (s.size <= UNROLL) {
          this.line(`if ((${Array.from({ length: s.size }, (_, k) => `buf[${O(1 + k)}]`).join(' | ')}) !== 0) ${fail(305)}`);
        } else {
          const k = this.v('i');
          this.line(`for (let ${k} = ${O(1)}; ${k} < ${O(1 + s.size)}; ${k}++) if (buf[${k}] !== 0) ${fail(305)}`);
        }
        this.line(`${lv} = undefined;`);
        this.line(`} else if (${g} === 1) {`);
        this.dec(slots, i + 1, lv, base, path, shift);
        this.line(`} else ${fail(305)}`);
        return;
      }
      case 'array': {
        const el = s.element;
        const a = this.v('a');
        this.line(`let ${a} = ${lv};`);
        if (el.typedArray) {
          this.line(`if (!(${a} instanceof ${el.typedArray}) || ${a}.length !== ${s.length}) ${lv} = ${a} = new ${el.typedArray}(${s.length});`);
        } else {
          this.line(`if (!Array.isArray(${a}) || ${a}.length !== ${s.length}) ${lv} = ${a} = new Array(${s.length});`);
        }
        const ep = `${path}[]`;
        if (s.length > UNROLL && byteElement(el)) {
          if (s.length <= COPY_UNROLL_BYTES) this.copyInFixed(a, `${base} + ${s.offset + shift}`, s.length);
          else this.copyIn(a, `${base} + ${s.offset + shift}`, String(s.length));
        } else if (el.slots.length === 1 && el.slots[0]!.op === 'scalar' && s.length <= UNROLL) {
          for (let k = 0; k < s.length; k++) this.dec(el.slots, 0, `${a}[${k}]`, base, ep, s.offset + shift + k * el.size);
        } else {
          const k = this.v('i'), q = this.v('q');
          this.line(`for (let ${k} = 0; ${k} < ${s.length}; ${k}++) {`);
          this.line(`const ${q} = ${base} + ${s.offset + shift} + ${k} * ${el.size};`);
          this.dec(el.slots, 0, `${a}[${k}]`, q, ep);
          this.line('}');
        }
        return;
      }
      case 'len': this.decLen(s, lv, O, path); return;
    }
  }

  /**
   * Copy `n` bytes from buf[src..] into the byte typed array `a` (Uint8Array or Int8Array: a
   * store keeps the low 8 bits, so the same code serves both) without allocating: four bytes per
   * little-endian DataView read, then single bytes. Measured ~2x the byte loop at 64 bytes, and
   * `a.set(buf.subarray(..))` allocates a view (a species-constructed Buffer when buf is one).
   */
  copyIn(a: string, src: string, n: string): void {
    this.usesView = true;
    const k = this.v('i'), w = this.v('w');
    this.line(`let ${k} = 0;`);
    this.line(`for (; ${k} + 4 <= ${n}; ${k} += 4) { const ${w} = dv.getUint32(${src} + ${k}, true); ${a}[${k}] = ${w}; ${a}[${k} + 1] = ${w} >>> 8; ${a}[${k} + 2] = ${w} >>> 16; ${a}[${k} + 3] = ${w} >>> 24; }`);
    this.line(`for (; ${k} < ${n}; ${k}++) ${a}[${k}] = buf[${src} + ${k}];`);
  }

  /**
   * copyIn for a fixed array of at most COPY_UNROLL_BYTES: the same reads and stores written out
   * straight (no loop counter, constant offsets): fewer instructions per call of the whole RPC
   * path (figures in bench/rpc/RESULTS.md).
   */
  copyInFixed(a: string, src: string, n: number): void {
    this.usesView = true;
    const o = this.v('o'), w = this.v('w');
    this.line(`const ${o} = ${src};`);
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      this.line(`{ const ${w} = dv.getUint32(${o} + ${k}, true); ${a}[${k}] = ${w}; ${a}[${k + 1}] = ${w} >>> 8; ${a}[${k + 2}] = ${w} >>> 16; ${a}[${k + 3}] = ${w} >>> 24; }`);
    }
    for (; k < n; k++) this.line(`${a}[${k}] = buf[${o} + ${k}];`);
  }

  decLen(s: LenSlot, lv: string, O: (k: number) => string, path: string): void {
    const fail = (code: number) => `return fail(${code}, ${JSON.stringify(path)});`;
    const n = this.v('n');
    const el = s.element;
    const stride = el ? el.size : 1;
    this.line(`const ${n} = ${s.width === 2 ? `buf[${O(0)}] | buf[${O(1)}] << 8` : `buf[${O(0)}]`};`);
    this.line(`if (${n} > ${s.bound}) ${fail(302)}`);
    this.line(`if (p + ${stride === 1 ? n : `${n} * ${stride}`} > end) ${fail(300)}`);
    if (s.var === 'string') {
      const v = this.v('s');
      if (s.bound <= ASCII_INLINE) {
        // ASCII fast path inline: fixed-arity String.fromCharCode per length; else strict decoder.
        this.line(`let ${v} = null;`);
        this.line(`switch (${n}) {`);
        this.line(`case 0: ${v} = ''; break;`);
        for (let len = 1; len <= s.bound; len++) {
          const xs = Array.from({ length: len }, (_, k) => `x${k}`);
          this.line(`case ${len}: { const ${xs.map((x, k) => `${x} = buf[p${k ? ` + ${k}` : ''}]`).join(', ')}; if (((${xs.join(' | ')}) & 128) === 0) ${v} = fc(${xs.join(', ')}); break; }`);
        }
        this.line('}');
        this.line(`if (${v} === null) ${v} = dec(buf, p, ${n});`);
      } else {
        this.line(`const ${v} = dec(buf, p, ${n});`);
      }
      this.line(`if (${v} === null) ${fail(303)}`);
      this.line(`${lv} = ${v};`);
      this.line(`p += ${n};`);
    } else if (s.var === 'bytes') {
      const b = this.v('b');
      this.line(`let ${b} = ${lv};`);
      this.line(`if (!(${b} instanceof Uint8Array) || ${b}.length !== ${n}) ${lv} = ${b} = new Uint8Array(${n});`);
      this.line(`if (${n} <= 64) {`);
      this.copyIn(b, 'p', n);
      this.line(`} else ${b}.set(buf.subarray(p, p + ${n}));`);
      this.line(`p += ${n};`);
    } else {
      const a = this.v('a'), k = this.v('i'), q = this.v('q');
      this.line(`let ${a} = ${lv};`);
      if (el!.typedArray) {
        this.line(`if (!(${a} instanceof ${el!.typedArray}) || ${a}.length !== ${n}) ${lv} = ${a} = new ${el!.typedArray}(${n});`);
      } else {
        this.line(`if (!Array.isArray(${a})) ${lv} = ${a} = [];`);
        this.line(`if (${a}.length !== ${n}) ${a}.length = ${n};`);
      }
      if (byteElement(el!)) {
        this.copyIn(a, 'p', n);
      } else {
        this.line(`for (let ${k} = 0; ${k} < ${n}; ${k}++) {`);
        this.line(`const ${q} = p + ${k} * ${el!.size};`);
        this.dec(el!.slots, 0, `${a}[${k}]`, q, `${path}[]`);
        this.line('}');
      }
      this.line(`p += ${n} * ${el!.size};`);
    }
  }

  decScalar(kind: ScalarKind, lv: string, O: (k: number) => string, path: string): void {
    switch (kind) {
      case 'bool': {
        const v = this.v('v');
        this.line(`const ${v} = buf[${O(0)}];`);
        this.line(`if (${v} > 1) return fail(301, ${JSON.stringify(path)});`);
        this.line(`${lv} = ${v} === 1;`);
        return;
      }
      case 'u8': this.line(`${lv} = buf[${O(0)}];`); return;
      case 'i8': this.line(`${lv} = buf[${O(0)}] << 24 >> 24;`); return;
      default:
        this.usesView = true;
        this.line(`${lv} = dv.${GETTER[kind]}(${O(0)}, true);`);
    }
  }

  // ---- size ----
  /** Emit code adding the tail sizes of slots[i] (value `e`) to `z`; only for slots containing len slots. */
  size(slots: readonly Slot[], i: number, e: string, path: string): void {
    const s = slots[i]!;
    const fail = (code: number | string) => `return fail(${code}, ${JSON.stringify(path)});`;
    const hasLen = (a: number, b: number) => slots.slice(a, b).some((x) => x.op === 'len');
    switch (s.op) {
      case 'struct': {
        if (!hasLen(i + 1, i + 1 + s.count)) return;
        const v = this.v('t');
        this.line(`const ${v} = ${e};`);
        this.line(`if (typeof ${v} !== 'object' || ${v} === null) ${fail(309)}`);
        for (let j = i + 1; j < i + 1 + s.count; j = groupEnd(slots, j)) {
          const f = slots[j]!.path[slots[j]!.path.length - 1]!;
          this.size(slots, j, `${v}.${f}`, path ? `${path}.${f}` : f);
        }
        return;
      }
      case 'optional': {
        if (!hasLen(i + 1, i + 1 + s.count)) return;
        const v = this.v('o');
        this.line(`const ${v} = ${e};`);
        this.line(`if (${v} !== undefined && ${v} !== null) {`);
        this.size(slots, i + 1, v, path);
        this.line('}');
        return;
      }
      case 'len': {
        const v = this.v('x'), n = this.v('n');
        this.line(`const ${v} = ${e};`);
        if (s.var === 'string') {
          this.line(`if (typeof ${v} !== 'string') ${fail(309)}`);
          this.line(`const ${n} = utf8Length(${v});`);
          this.line(`if (${n} < 0) ${fail(`-${n}`)}`);
        } else if (s.var === 'bytes') {
          this.line(`if (!(${v} instanceof Uint8Array)) ${fail(309)}`);
          this.line(`const ${n} = ${v}.length;`);
        } else {
          this.line(`if (typeof ${v} !== 'object' || ${v} === null || typeof ${v}.length !== 'number') ${fail(309)}`);
          this.line(`const ${n} = ${v}.length * ${s.element!.size};`);
        }
        this.line(`if (${n} > ${s.maxTail}) ${fail(307)}`);
        this.line(`z += ${n};`);
        return;
      }
      default: return;
    }
  }
}

const n0 = (v: string): string => `${v}n`;

/**
 * The typed array whose bytes are exactly the wire bytes of elements of `el` (u8 → Uint8Array,
 * i8 → Int8Array; one byte, so no endianness), or undefined. Such arrays/lists are encoded with
 * one `buf.set(a, p)` when the value is that typed array (every element is in range by
 * construction, so no check can fail and the bytes equal the per-element loop's); plain arrays
 * keep the checked loop. Decoding copies four bytes per DataView read (Gen.copyIn).
 */
function byteElement(el: ElementLayout): 'Uint8Array' | 'Int8Array' | undefined {
  if (el.slots.length !== 1 || el.slots[0]!.op !== 'scalar') return undefined;
  const k = (el.slots[0] as { kind: ScalarKind }).kind;
  return k === 'u8' ? 'Uint8Array' : k === 'i8' ? 'Int8Array' : undefined;
}

// Multi-byte numbers go through a DataView over the caller's buffer (cached per buffer, see
// generateFactorySource): TurboFan inlines DataView accesses, which measured ~1.5× faster than
// byte shifts plus a float scratch, and it makes the generated code host-endianness independent.
const SETTER: Partial<Record<ScalarKind, string>> = { u16: 'setUint16', i16: 'setInt16', u32: 'setUint32', i32: 'setInt32' };
const GETTER: Partial<Record<ScalarKind, string>> = {
  u16: 'getUint16', i16: 'getInt16', u32: 'getUint32', i32: 'getInt32', f32: 'getFloat32', f64: 'getFloat64', u64: 'getBigUint64', i64: 'getBigInt64',
};

function topLevel(slots: readonly Slot[]): number[] {
  const r: number[] = [];
  for (let i = 0; i < slots.length; i = groupEnd(slots, i)) r.push(i);
  return r;
}

/**
 * JS source of the factory body for `type`: a function body taking `rt` (the Runtime) and
 * returning a CodecImpl. Deterministic (same schema → same text). Used by compileImpl (via
 * `new Function('rt', body)`) and by codegen-ts.ts.
 */
export function generateFactorySource(type: StructType): string {
  const L: StructLayout = layoutOf(type);
  const g = new Gen(type);
  const root = g.creator(type);
  const top = topLevel(L.slots);
  const field = (i: number) => L.slots[i]!.path[0]!;
  const F = L.fixedSize;
  const name = JSON.stringify(type.name);

  for (const i of top) g.enc(L.slots, i, `value.${field(i)}`, 'off', field(i));
  const encBody = g.take();
  const encView = g.usesView;
  g.usesView = false;
  for (const i of top) g.dec(L.slots, i, `out.${field(i)}`, 'off', field(i));
  const decBody = g.take();
  const decView = g.usesView;
  for (const i of top) g.size(L.slots, i, `value.${field(i)}`, field(i));
  const sizeBody = g.take();
  const tail = !L.isFixed;

  return `'use strict';
// ${type.name}: fixed part ${F} bytes, at most ${L.maxSize} bytes.
const { dec, enc, utf8Length, raise, raiseTrailing, badRange } = rt;
const fc = String.fromCharCode;
let errPath = '';
// One DataView per buffer, cached (encode and decode usually see different buffers): no
// allocation while the caller reuses its buffers; one small DataView when it passes a new one.
let encBuf = null, encDV = null, decBuf = null, decDV = null;
function encView(buf) { encBuf = buf; return (encDV = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)); }
function decView(buf) { decBuf = buf; return (decDV = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)); }
function fail(code, path) { errPath = path; return -code; }
// TypedArray#set called through a constant: for \`buf.set\` optimised code kept a generic
// property load (a LoadIC call per encoded array, seen with perf and --print-opt-code in the
// pipelined benchmark); \`tset.call(buf, …)\` compiles to a direct call of the builtin.
const tset = Uint8Array.prototype.set;
${g.creatorSrc.join('\n')}
function tryEncode(value, buf, off) {
if (off + ${F} > buf.length) return fail(306, '');
if (typeof value !== 'object' || value === null) return fail(309, '');
${encView ? 'const dv = buf === encBuf ? encDV : encView(buf);' : ''}
${tail ? `let p = off + ${F};` : ''}
${encBody}
return ${tail ? 'p - off' : F};
}
function tryDecode(buf, off, end, out) {
if (end > buf.length) end = buf.length;
if (off < 0 || end - off < ${F}) return fail(300, '');
${decView ? 'const dv = buf === decBuf ? decDV : decView(buf);' : ''}
${tail ? `let p = off + ${F};` : ''}
${decBody}
return ${tail ? 'p - off' : F};
}
function trySize(value) {
if (typeof value !== 'object' || value === null) return fail(309, '');
let z = ${F};
${sizeBody}
return z;
}
function encode(value, buf, off = 0) {
if (!(off >= 0 && (off | 0) === off)) badRange('encode ' + ${name} + ': off must be a non-negative integer, got ' + off);
const n = tryEncode(value, buf, off);
if (n < 0) raise(-n, ${name}, 'encode', errPath);
return n;
}
function decode(buf, off = 0, out, end = buf.length) {
if (!(off >= 0 && (off | 0) === off && (end | 0) === end && end <= buf.length && off <= end)) badRange('decode ' + ${name} + ': need 0 <= off <= end <= buf.length, got off=' + off + ' end=' + end + ' length=' + buf.length);
if (out === undefined) out = ${root}();
const n = tryDecode(buf, off, end, out);
if (n < 0) raise(-n, ${name}, 'decode', errPath);
if (n !== end - off) raiseTrailing(${name}, n, end - off);
return out;
}
function encodedSize(value) {
const n = trySize(value);
if (n < 0) raise(-n, ${name}, 'size', errPath);
return n;
}
return { tryEncode, tryDecode, encode, decode, trySize, encodedSize, create: ${root}, lastPath: () => errPath };
`;
}

/** Compile the specialised codec for `type` with `new Function` (throws where eval is forbidden). */
export function compileImpl<T = any>(type: StructType): CodecImpl<T> {
  const src = generateFactorySource(type);
  // eslint-disable-next-line no-new-func
  const factory = new Function('rt', src) as (r: Runtime) => CodecImpl<T>;
  return factory(rt);
}
