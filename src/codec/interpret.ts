// The generic codec (docs/wire-format.md §4 "Codec"): walks a struct's layout (layout.ts) slot by
// slot. For environments that forbid `new Function`, and as a cross-check
// of compile.ts: both must produce identical bytes, identical values and identical error codes
// (same check order — see the header of compile.ts). About 10× slower than the compiled path.
import { groupEnd, layoutOf, type ElementLayout, type LenSlot, type Slot } from './layout.ts';
import type { ScalarKind, StructType } from './schema.ts';
import { rt, zeroValue, type CodecImpl } from './compile.ts';
import {
  ERR_CODEC_BAD_BOOL, ERR_CODEC_BAD_OPTIONAL_TAG, ERR_CODEC_BAD_VALUE, ERR_CODEC_BUFFER_TOO_SMALL,
  ERR_CODEC_INVALID_UTF8, ERR_CODEC_LENGTH_OVER_BOUND, ERR_CODEC_TRUNCATED, ERR_CODEC_UNKNOWN_ENUM,
  ERR_CODEC_VALUE_OUT_OF_RANGE,
} from '../wire/errors.ts';

// One cached DataView per buffer (no allocation while the caller reuses its buffers).
let lastBuf: Uint8Array | undefined;
let lastView: DataView | undefined;
function view(buf: Uint8Array): DataView {
  if (buf !== lastBuf) {
    lastBuf = buf;
    lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return lastView!;
}
const TA = globalThis as unknown as Record<string, new (n: number) => ArrayLike<unknown> & { [i: number]: unknown }>;

function pathOf(prefix: string, s: Slot): string {
  const rel = s.path.join('.');
  return prefix === '' ? rel : rel === '' ? prefix : `${prefix}.${rel}`;
}

const RANGE: Partial<Record<ScalarKind, (v: number) => boolean>> = {
  u8: (v) => (v & 255) === v,
  i8: (v) => (v << 24 >> 24) === v,
  u16: (v) => (v & 65535) === v,
  i16: (v) => (v << 16 >> 16) === v,
  u32: (v) => (v >>> 0) === v,
  i32: (v) => (v | 0) === v,
};

/** Build the interpreted CodecImpl of `type`. */
export function interpretImpl<T = any>(type: StructType): CodecImpl<T> {
  const L = layoutOf(type);
  const F = L.fixedSize;
  const name = type.name;
  let errPath = '';
  let p = 0; // tail cursor of the message being encoded/decoded
  let end = 0; // decode limit

  function fail(code: number, path: string): number {
    errPath = path;
    return -code;
  }
  function failAt(code: number, prefix: string, slot: Slot): number {
    return fail(code, pathOf(prefix, slot));
  }

  // ---- encode ----
  function encScalar(kind: ScalarKind, v: unknown, buf: Uint8Array, o: number, prefix: string, slot: Slot): number {
    switch (kind) {
      case 'bool':
        if (v === true) buf[o] = 1; else if (v === false) buf[o] = 0; else return failAt(ERR_CODEC_BAD_VALUE, prefix, slot);
        return 0;
      case 'f32': case 'f64':
        if (typeof v !== 'number') return failAt(ERR_CODEC_BAD_VALUE, prefix, slot);
        if (kind === 'f32') view(buf).setFloat32(o, v, true); else view(buf).setFloat64(o, v, true);
        return 0;
      case 'u64': case 'i64': {
        if (typeof v === 'bigint') {
          if (kind === 'u64' ? v < 0n || v > 0xffffffffffffffffn : v < -0x8000000000000000n || v > 0x7fffffffffffffffn) return failAt(ERR_CODEC_VALUE_OUT_OF_RANGE, prefix, slot);
          if (kind === 'u64') view(buf).setBigUint64(o, v, true); else view(buf).setBigInt64(o, v, true);
        } else if (typeof v === 'number') {
          if (!Number.isSafeInteger(v) || (kind === 'u64' && v < 0)) return failAt(ERR_CODEC_VALUE_OUT_OF_RANGE, prefix, slot);
          view(buf).setUint32(o, v >>> 0, true);
          view(buf).setUint32(o + 4, Math.floor(v / 4294967296) >>> 0, true);
        } else return failAt(ERR_CODEC_BAD_VALUE, prefix, slot);
        return 0;
      }
      default: {
        if (typeof v !== 'number') return failAt(ERR_CODEC_BAD_VALUE, prefix, slot);
        if (!RANGE[kind]!(v)) return failAt(ERR_CODEC_VALUE_OUT_OF_RANGE, prefix, slot);
        const n = kind === 'u8' || kind === 'i8' ? 1 : kind === 'u16' || kind === 'i16' ? 2 : 4;
        for (let k = 0; k < n; k++) buf[o + k] = v >>> (8 * k);
        return 0;
      }
    }
  }

  function writeLen(s: LenSlot, buf: Uint8Array, o: number, n: number): void {
    buf[o] = n;
    if (s.width === 2) buf[o + 1] = n >> 8;
  }

  function encLen(s: LenSlot, v: unknown, buf: Uint8Array, o: number, path: string): number {
    if (s.var === 'string') {
      if (typeof v !== 'string') return fail(ERR_CODEC_BAD_VALUE, path);
      const r = rt.enc(v, buf, p, s.bound);
      if (r < 0) return fail(-r, path);
      writeLen(s, buf, o, r);
      p += r;
    } else if (s.var === 'bytes') {
      if (!(v instanceof Uint8Array)) return fail(ERR_CODEC_BAD_VALUE, path);
      const n = v.length;
      if (n > s.bound) return fail(ERR_CODEC_VALUE_OUT_OF_RANGE, path);
      if (p + n > buf.length) return fail(ERR_CODEC_BUFFER_TOO_SMALL, path);
      buf.set(v, p);
      writeLen(s, buf, o, n);
      p += n;
    } else {
      if (typeof v !== 'object' || v === null) return fail(ERR_CODEC_BAD_VALUE, path);
      const a = v as ArrayLike<unknown>;
      const n = a.length;
      if (typeof n !== 'number') return fail(ERR_CODEC_BAD_VALUE, path);
      if (n > s.bound) return fail(ERR_CODEC_VALUE_OUT_OF_RANGE, path);
      const el = s.element!;
      if (p + n * el.size > buf.length) return fail(ERR_CODEC_BUFFER_TOO_SMALL, path);
      writeLen(s, buf, o, n);
      const start = p;
      const ep = `${path}[]`;
      for (let k = 0; k < n; k++) {
        const r = enc(el.slots, 0, a[k], buf, start + k * el.size, ep);
        if (r < 0) return r;
      }
      p = start + n * el.size;
    }
    return 0;
  }

  function encArray(el: ElementLayout, length: number, v: unknown, buf: Uint8Array, o: number, path: string): number {
    if (typeof v !== 'object' || v === null) return fail(ERR_CODEC_BAD_VALUE, path);
    const a = v as ArrayLike<unknown>;
    if (a.length !== length) return fail(ERR_CODEC_VALUE_OUT_OF_RANGE, path);
    const ep = `${path}[]`;
    for (let k = 0; k < length; k++) {
      const r = enc(el.slots, 0, a[k], buf, o + k * el.size, ep);
      if (r < 0) return r;
    }
    return 0;
  }

  /** Encode slots[i] (value v) with offsets relative to `base`; `prefix` names the layout's value. */
  function enc(slots: readonly Slot[], i: number, v: unknown, buf: Uint8Array, base: number, prefix: string): number {
    const s = slots[i]!;
    const o = base + s.offset;
    switch (s.op) {
      case 'scalar': return encScalar(s.kind, v, buf, o, prefix, s);
      case 'enum': {
        const tag = typeof v === 'string' && Object.prototype.hasOwnProperty.call(s.type.values, v) ? (s.type.values as Record<string, number>)[v]! : -1;
        if (tag < 0) return fail(ERR_CODEC_BAD_VALUE, pathOf(prefix, s));
        buf[o] = tag & 255;
        if (s.size === 2) buf[o + 1] = tag >> 8;
        return 0;
      }
      case 'struct': {
        if (typeof v !== 'object' || v === null) return fail(ERR_CODEC_BAD_VALUE, pathOf(prefix, s));
        const obj = v as Record<string, unknown>;
        for (let j = i + 1; j < i + 1 + s.count; j = groupEnd(slots, j)) {
          const c = slots[j]!;
          const r = enc(slots, j, obj[c.path[c.path.length - 1]!], buf, base, prefix);
          if (r < 0) return r;
        }
        return 0;
      }
      case 'optional':
        if (v === undefined || v === null) {
          buf[o] = 0;
          buf.fill(0, o + 1, o + 1 + s.size);
          return 0;
        }
        buf[o] = 1;
        return enc(slots, i + 1, v, buf, base, prefix);
      case 'array': return encArray(s.element, s.length, v, buf, o, pathOf(prefix, s));
      case 'len': return encLen(s, v, buf, o, pathOf(prefix, s));
    }
  }

  function tryEncode(value: T, buf: Uint8Array, off: number): number {
    if (off + F > buf.length) return fail(ERR_CODEC_BUFFER_TOO_SMALL, '');
    if (typeof value !== 'object' || value === null) return fail(ERR_CODEC_BAD_VALUE, '');
    p = off + F;
    const obj = value as Record<string, unknown>;
    const slots = L.slots;
    for (let i = 0; i < slots.length; i = groupEnd(slots, i)) {
      const r = enc(slots, i, obj[slots[i]!.path[0]!], buf, off, '');
      if (r < 0) return r;
    }
    return p - off;
  }

  // ---- decode ----
  function decScalar(kind: ScalarKind, buf: Uint8Array, o: number, prefix: string, slot: Slot): unknown {
    switch (kind) {
      case 'bool': {
        const b = buf[o]!;
        if (b > 1) return err(ERR_CODEC_BAD_BOOL, pathOf(prefix, slot));
        return b === 1;
      }
      case 'u8': return buf[o]!;
      case 'i8': return buf[o]! << 24 >> 24;
      case 'u16': return buf[o]! | buf[o + 1]! << 8;
      case 'i16': return (buf[o]! | buf[o + 1]! << 8) << 16 >> 16;
      case 'u32': return (buf[o]! | buf[o + 1]! << 8 | buf[o + 2]! << 16 | buf[o + 3]! << 24) >>> 0;
      case 'i32': return buf[o]! | buf[o + 1]! << 8 | buf[o + 2]! << 16 | buf[o + 3]! << 24;
      case 'f32': return view(buf).getFloat32(o, true);
      case 'f64': return view(buf).getFloat64(o, true);
      case 'u64': return view(buf).getBigUint64(o, true);
      default: return view(buf).getBigInt64(o, true);
    }
  }

  // Decoders return the decoded value; an error is signalled by setting `bad` (a -code), since
  // a decoded value may itself be a negative number.
  let bad = 0;
  function err(code: number, path: string): undefined {
    bad = fail(code, path);
    return undefined;
  }

  /** Decode slots[i]; `cur` is the previous value (reused when it has the right shape). */
  function dec(slots: readonly Slot[], i: number, cur: unknown, buf: Uint8Array, base: number, prefix: string): unknown {
    const s = slots[i]!;
    const o = base + s.offset;
    switch (s.op) {
      case 'scalar': return decScalar(s.kind, buf, o, prefix, s);
      case 'enum': {
        const tag = s.size === 2 ? buf[o]! | buf[o + 1]! << 8 : buf[o]!;
        for (const [val, nm] of s.members) if (val === tag) return nm;
        return err(ERR_CODEC_UNKNOWN_ENUM, pathOf(prefix, s));
      }
      case 'struct': {
        let obj = cur as Record<string, unknown>;
        if (typeof obj !== 'object' || obj === null) obj = zeroValue(s.type) as Record<string, unknown>;
        for (let j = i + 1; j < i + 1 + s.count; j = groupEnd(slots, j)) {
          const c = slots[j]!;
          const f = c.path[c.path.length - 1]!;
          const v = dec(slots, j, obj[f], buf, base, prefix);
          if (bad) return undefined;
          obj[f] = v;
        }
        return obj;
      }
      case 'optional': {
        const g = buf[o]!;
        if (g === 0) {
          for (let k = o + 1; k < o + 1 + s.size; k++) if (buf[k] !== 0) return err(ERR_CODEC_BAD_OPTIONAL_TAG, pathOf(prefix, s));
          return undefined;
        }
        if (g === 1) return dec(slots, i + 1, cur, buf, base, prefix);
        return err(ERR_CODEC_BAD_OPTIONAL_TAG, pathOf(prefix, s));
      }
      case 'array': {
        const el = s.element;
        let a = cur as { [k: number]: unknown; length: number };
        if (el.typedArray) {
          if (!(a instanceof (TA[el.typedArray] as unknown as Function)) || a.length !== s.length) a = new TA[el.typedArray]!(s.length);
        } else if (!Array.isArray(a) || a.length !== s.length) a = new Array(s.length);
        const path = `${pathOf(prefix, s)}[]`;
        for (let k = 0; k < s.length; k++) {
          const v = dec(el.slots, 0, a[k], buf, o + k * el.size, path);
          if (bad) return undefined;
          a[k] = v;
        }
        return a;
      }
      case 'len': return decLen(s, cur, buf, o, pathOf(prefix, s));
    }
  }

  function decLen(s: LenSlot, cur: unknown, buf: Uint8Array, o: number, path: string): unknown {
    const n = s.width === 2 ? buf[o]! | buf[o + 1]! << 8 : buf[o]!;
    const el = s.element;
    const stride = el ? el.size : 1;
    if (n > s.bound) return err(ERR_CODEC_LENGTH_OVER_BOUND, path);
    if (p + n * stride > end) return err(ERR_CODEC_TRUNCATED, path);
    if (s.var === 'string') {
      const str = rt.dec(buf, p, n);
      if (str === null) return err(ERR_CODEC_INVALID_UTF8, path);
      p += n;
      return str;
    }
    if (s.var === 'bytes') {
      let b = cur as Uint8Array;
      if (!(b instanceof Uint8Array) || b.length !== n) b = new Uint8Array(n);
      b.set(buf.subarray(p, p + n));
      p += n;
      return b;
    }
    let a = cur as { [k: number]: unknown; length: number };
    if (el!.typedArray) {
      if (!(a instanceof (TA[el!.typedArray] as unknown as Function)) || a.length !== n) a = new TA[el!.typedArray]!(n);
    } else {
      if (!Array.isArray(a)) a = [];
      if (a.length !== n) a.length = n;
    }
    const start = p;
    const ep = `${path}[]`;
    for (let k = 0; k < n; k++) {
      const v = dec(el!.slots, 0, a[k], buf, start + k * el!.size, ep);
      if (bad) return undefined;
      a[k] = v;
    }
    p = start + n * el!.size;
    return a;
  }

  function tryDecode(buf: Uint8Array, off: number, e: number, out: T): number {
    end = e > buf.length ? buf.length : e;
    if (off < 0 || end - off < F) return fail(ERR_CODEC_TRUNCATED, '');
    p = off + F;
    bad = 0;
    const obj = out as Record<string, unknown>;
    const slots = L.slots;
    for (let i = 0; i < slots.length; i = groupEnd(slots, i)) {
      const f = slots[i]!.path[0]!;
      const v = dec(slots, i, obj[f], buf, off, '');
      if (bad) return bad;
      obj[f] = v;
    }
    return p - off;
  }

  // ---- size ----
  function size(slots: readonly Slot[], i: number, v: unknown, prefix: string): number {
    const s = slots[i]!;
    switch (s.op) {
      case 'struct': {
        let any = false;
        for (let j = i + 1; j < i + 1 + s.count; j++) if (slots[j]!.op === 'len') { any = true; break; }
        if (!any) return 0;
        if (typeof v !== 'object' || v === null) return fail(ERR_CODEC_BAD_VALUE, pathOf(prefix, s));
        const obj = v as Record<string, unknown>;
        let z = 0;
        for (let j = i + 1; j < i + 1 + s.count; j = groupEnd(slots, j)) {
          const c = slots[j]!;
          const r = size(slots, j, obj[c.path[c.path.length - 1]!], prefix);
          if (r < 0) return r;
          z += r;
        }
        return z;
      }
      case 'optional':
        return v === undefined || v === null ? 0 : size(slots, i + 1, v, prefix);
      case 'len': {
        const path = pathOf(prefix, s);
        let n: number;
        if (s.var === 'string') {
          if (typeof v !== 'string') return fail(ERR_CODEC_BAD_VALUE, path);
          n = rt.utf8Length(v);
          if (n < 0) return fail(-n, path);
        } else if (s.var === 'bytes') {
          if (!(v instanceof Uint8Array)) return fail(ERR_CODEC_BAD_VALUE, path);
          n = v.length;
        } else {
          if (typeof v !== 'object' || v === null || typeof (v as ArrayLike<unknown>).length !== 'number') return fail(ERR_CODEC_BAD_VALUE, path);
          n = (v as ArrayLike<unknown>).length * s.element!.size;
        }
        if (n > s.maxTail) return fail(ERR_CODEC_VALUE_OUT_OF_RANGE, path);
        return n;
      }
      default: return 0;
    }
  }

  function trySize(value: T): number {
    if (typeof value !== 'object' || value === null) return fail(ERR_CODEC_BAD_VALUE, '');
    const obj = value as Record<string, unknown>;
    const slots = L.slots;
    let z = F;
    for (let i = 0; i < slots.length; i = groupEnd(slots, i)) {
      const r = size(slots, i, obj[slots[i]!.path[0]!], '');
      if (r < 0) return r;
      z += r;
    }
    return z;
  }

  const create = (): T => zeroValue(type) as T;

  return {
    tryEncode,
    tryDecode,
    trySize,
    create,
    lastPath: () => errPath,
    encode(value: T, buf: Uint8Array, off = 0): number {
      if (!(off >= 0 && (off | 0) === off)) rt.badRange(`encode ${name}: off must be a non-negative integer, got ${off}`);
      const n = tryEncode(value, buf, off);
      if (n < 0) rt.raise(-n, name, 'encode', errPath);
      return n;
    },
    decode(buf: Uint8Array, off = 0, out?: T, e: number = buf.length): T {
      if (!(off >= 0 && (off | 0) === off && (e | 0) === e && e <= buf.length && off <= e)) {
        rt.badRange(`decode ${name}: need 0 <= off <= end <= buf.length, got off=${off} end=${e} length=${buf.length}`);
      }
      if (out === undefined) out = create();
      const n = tryDecode(buf, off, e, out);
      if (n < 0) rt.raise(-n, name, 'decode', errPath);
      if (n !== e - off) rt.raiseTrailing(name, n, e - off);
      return out;
    },
    encodedSize(value: T): number {
      const n = trySize(value);
      if (n < 0) rt.raise(-n, name, 'size', errPath);
      return n;
    },
  };
}
