// JSON text ↔ codec values, driven by a schema's JSON form (src/codec/schema-json.ts), for
// `cell call` (docs/cli.md "Values as JSON"). Input is checked field by field so a mistake is
// reported with its path (`ReadReq.channel: expected u8 (0..255), got 300`), before anything is
// encoded. Conventions:
//   u64/i64      a number (safe integer) or a decimal string in; a number out when safe, else a string
//   bytes        a hex string ("0a0b") or an array of byte values in; a hex string out
//   enum         the member name (or its numeric value) in; the member name out
//   optional     null or a missing key in; null out
//   f32          printed with the fewest digits that read back to the same f32 (21.4, not 21.399999618530273)
import type { SchemaJson } from '../codec/schema-json.ts';
import { utf8Length } from '../codec/utf8.ts';

export class ValueError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ValueError';
  }
}

const INT_RANGE: Record<string, [number, number]> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};
const BIG_RANGE: Record<string, [bigint, bigint]> = {
  u64: [0n, 0xffffffffffffffffn], i64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

export function describeType(t: SchemaJson): string {
  if (typeof t === 'string') {
    const r = INT_RANGE[t] ?? BIG_RANGE[t];
    return r !== undefined ? `${t} (${r[0]}..${r[1]})` : t;
  }
  switch (t.kind) {
    case 'string': return `string (at most ${t.maxBytes} UTF-8 bytes)`;
    case 'bytes': return `bytes (hex string, at most ${t.maxBytes} bytes)`;
    case 'array': return `array of ${t.length} ${describeType(t.element)}`;
    case 'list': return `list of at most ${t.maxLength} ${describeType(t.element)}`;
    case 'enum': return `enum ${t.name} (${Object.keys(t.values).map((k) => `"${k}"`).join(' | ')})`;
    case 'optional': return `optional ${describeType(t.inner)}`;
    case 'struct': return `struct ${t.name} {${t.fields.map((f) => ` ${f.name}`).join(',')} }`;
  }
}

const got = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

/** Check a JSON value against `t` and convert it to what the codec encodes. Throws ValueError. */
export function fromJson(t: SchemaJson, v: unknown, path: string): unknown {
  const fail = (what: string): never => { throw new ValueError(path, `expected ${what}, got ${got(v)}`); };
  if (typeof t === 'string') {
    if (t === 'bool') return typeof v === 'boolean' ? v : fail('true or false');
    if (t === 'f32' || t === 'f64') return typeof v === 'number' ? v : fail(`a number (${t})`);
    const r = INT_RANGE[t];
    if (r !== undefined) return typeof v === 'number' && Number.isInteger(v) && v >= r[0] && v <= r[1] ? v : fail(describeType(t));
    const br = BIG_RANGE[t]!;
    let b: bigint | undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
    else if (typeof v === 'string' && /^-?\d+$/.test(v)) b = BigInt(v);
    if (b === undefined || b < br[0] || b > br[1]) return fail(`${describeType(t)} as a number or a decimal string`);
    return b;
  }
  switch (t.kind) {
    case 'string': {
      if (typeof v !== 'string') return fail(describeType(t));
      const n = utf8Length(v);
      if (n > t.maxBytes) throw new ValueError(path, `string of ${n} UTF-8 bytes is longer than its bound of ${t.maxBytes}`);
      return v;
    }
    case 'bytes': {
      let b: Uint8Array | undefined;
      if (typeof v === 'string' && /^([0-9a-fA-F]{2})*$/.test(v)) b = Uint8Array.from(v.match(/../g) ?? [], (h) => parseInt(h, 16));
      else if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) b = Uint8Array.from(v as number[]);
      if (b === undefined) return fail(describeType(t));
      if (b.length > t.maxBytes) throw new ValueError(path, `${b.length} bytes is longer than the bound of ${t.maxBytes}`);
      return b;
    }
    case 'array': case 'list': {
      if (!Array.isArray(v)) return fail(describeType(t));
      if (t.kind === 'array' && v.length !== t.length) throw new ValueError(path, `expected exactly ${t.length} elements, got ${v.length}`);
      if (t.kind === 'list' && v.length > t.maxLength) throw new ValueError(path, `${v.length} elements is more than the bound of ${t.maxLength}`);
      return v.map((x, i) => fromJson(t.element, x, `${path}[${i}]`));
    }
    case 'enum': {
      if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(t.values, v)) return v;
      if (typeof v === 'number') {
        const name = Object.entries(t.values).find(([, n]) => n === v)?.[0];
        if (name !== undefined) return name;
      }
      return fail(describeType(t));
    }
    case 'optional': return v === null || v === undefined ? undefined : fromJson(t.inner, v, path);
    case 'struct': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(`an object for struct ${t.name}`);
      const o = v as Record<string, unknown>;
      const names = new Set(t.fields.map((f) => f.name));
      for (const k of Object.keys(o)) {
        if (!names.has(k)) throw new ValueError(`${path}.${k}`, `${t.name} has no field "${k}" (fields: ${[...names].join(', ')})`);
      }
      const out: Record<string, unknown> = {};
      for (const f of t.fields) {
        const fp = `${path}.${f.name}`;
        if (!(f.name in o) || o[f.name] === undefined) {
          if (typeof f.type === 'object' && f.type.kind === 'optional') continue;
          throw new ValueError(fp, `missing field (${describeType(f.type)})`);
        }
        out[f.name] = fromJson(f.type, o[f.name], fp);
      }
      return out;
    }
  }
}

/** A decoded value as plain JSON (see the conventions at the top of this file). */
export function toJson(t: SchemaJson, v: unknown): unknown {
  if (typeof t === 'string') {
    if (t === 'u64' || t === 'i64') {
      const b = typeof v === 'bigint' ? v : BigInt(v as number);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
    }
    if (t === 'f32') return shortestF32(v as number);
    return v;
  }
  switch (t.kind) {
    case 'string': case 'enum': return v;
    case 'bytes': return Array.from(v as Uint8Array, (b) => b.toString(16).padStart(2, '0')).join('');
    case 'array': case 'list': return Array.from(v as ArrayLike<unknown>, (x) => toJson(t.element, x));
    case 'optional': return v === undefined || v === null ? null : toJson(t.inner, v);
    case 'struct': {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of t.fields) out[f.name] = toJson(f.type, o[f.name]);
      return out;
    }
  }
}

/** The shortest decimal that reads back as the same f32. */
export function shortestF32(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return x;
}

/**
 * Deepest nesting of arrays and objects a JSON argument may have. A schema's values nest one
 * level per struct, list or array; 64 is far above any schema worth calling from a command line,
 * and far below the depth at which checking and printing the value (recursive) would exhaust the
 * stack — which ended as an internal error (exit 1) instead of a usage error.
 */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of JSON text (brackets outside strings), stopping once it passes `max`. */
export function jsonDepth(text: string, max = Infinity): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) { if (++depth > deepest) { deepest = depth; if (deepest > max) return deepest; } }
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Parse a JSON argument; a syntax error names the position; nesting is bounded (MAX_JSON_DEPTH). */
export function parseJsonArg(text: string): unknown {
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new ValueError('argument', `nested deeper than ${MAX_JSON_DEPTH} levels of arrays and objects; no request schema needs that`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValueError('argument', `not valid JSON (${(e as Error).message}); quote it for the shell: '{"channel": 1}'`);
  }
}
