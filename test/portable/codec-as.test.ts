// The generated AssemblyScript codec (src/codec/codegen-as.ts → build/as-gen/codec.ts, compiled
// into build/wasm/core.wasm) against the Node codec (src/codec): same bytes, same error codes.
// Bytes are the common currency: Node encodes random values, both builds decode and re-encode,
// and random corruptions of valid messages must give the same code in both. Fixed seeds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { elementLayout, layoutOf } from '../../src/codec/layout.ts';
import type {
  ArrayType, BytesType, EnumType, ListType, OptionalType, ScalarKind, SchemaType, StringType, StructType,
} from '../../src/codec/schema.ts';
import { generateAssemblyScript } from '../../src/codec/codegen-as.ts';
import { toHex, fromHex } from '../helpers/hex.ts';
import { CoreWasm, ROOT, ensureWasm, loadCore, rng } from './wasm.ts';
import { Kitchen, Label, PORTABLE_SCHEMAS, portableSchemas, vectorSchemas } from './schemas.ts';

type Rand = () => number;
type NodeCodec = {
  tryEncode(v: unknown, buf: Uint8Array, off: number): number;
  tryDecode(buf: Uint8Array, off: number, end: number, out: unknown): number;
  create(): unknown;
};

const codecPath = join(ROOT, 'src/codec/index.ts');
const codecMod = existsSync(codecPath) ? await import(pathToFileURL(codecPath).href) : undefined;
if (!codecMod) console.log('  (skipped: src/codec/index.ts does not exist yet — AS codec vs Node codec)');

ensureWasm();
const wasm: CoreWasm = await loadCore();
const ALL: StructType[] = await portableSchemas();
const VECTOR_SCHEMAS = await vectorSchemas();

// ---- random values of a schema type (the Node representation) ----

const CHARS = ['a', 'Z', '0', ' ', '\u00e9', '\u07ff', '\u0800', '\u20ac', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'];
const utf8Len = (s: string) => new TextEncoder().encode(s).length;

function randomValue(t: SchemaType, r: Rand): unknown {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  switch (t.kind) {
    case 'bool': return r() < 0.5;
    case 'u8': return int(0, 255);
    case 'i8': return int(-128, 127);
    case 'u16': return int(0, 0xffff);
    case 'i16': return int(-0x8000, 0x7fff);
    case 'u32': return int(0, 0xffffffff);
    case 'i32': return int(-0x80000000, 0x7fffffff);
    case 'u64': return (BigInt(int(0, 0xffffffff)) << 32n) | BigInt(int(0, 0xffffffff));
    case 'i64': return BigInt.asIntN(64, (BigInt(int(0, 0xffffffff)) << 32n) | BigInt(int(0, 0xffffffff)));
    case 'f32': return r() < 0.1 ? [0, -0, Infinity, -Infinity, 1.5][int(0, 4)] : Math.fround((r() - 0.5) * 10 ** int(-10, 30));
    case 'f64': return r() < 0.1 ? [0, -0, Infinity, -Infinity, Number.MIN_VALUE][int(0, 4)] : (r() - 0.5) * 10 ** int(-300, 300);
    case 'enum': {
      const names = Object.keys((t as EnumType<string>).values);
      return names[int(0, names.length - 1)];
    }
    case 'string': {
      const max = (t as StringType).maxBytes;
      const target = r() < 0.2 ? max : int(0, max);
      let s = '';
      for (let k = 0; k < 4 * target + 4; k++) {
        const c = CHARS[int(0, CHARS.length - 1)]!;
        if (utf8Len(s + c) > target) continue;
        s += c;
      }
      return s;
    }
    case 'bytes': {
      const n = r() < 0.2 ? (t as BytesType).maxBytes : int(0, (t as BytesType).maxBytes);
      return Uint8Array.from({ length: n }, () => int(0, 255));
    }
    case 'array': case 'list': {
      const el = (t as ArrayType<SchemaType>).element;
      const n = t.kind === 'array' ? (t as ArrayType<SchemaType>).length : int(0, r() < 0.2 ? (t as ListType<SchemaType>).maxLength : Math.min(20, (t as ListType<SchemaType>).maxLength));
      const items = Array.from({ length: n }, () => randomValue(el, r));
      const ta = elementLayout(el).typedArray;
      return ta ? new (globalThis as any)[ta](items) : items;
    }
    case 'optional': return r() < 0.35 ? undefined : randomValue((t as OptionalType<SchemaType>).inner, r);
    case 'struct': {
      const s = t as StructType;
      const o: Record<string, unknown> = {};
      for (const f of s.fieldNames) {
        const v = randomValue(s.fields[f]!, r);
        if (v !== undefined) o[f] = v;
      }
      return o;
    }
  }
  throw new TypeError(`no random value for ${t.kind as ScalarKind}`);
}

function hasNaN(v: unknown): boolean {
  if (typeof v === 'number') return Number.isNaN(v);
  if (v instanceof Float32Array || v instanceof Float64Array) return v.some((x) => Number.isNaN(x));
  if (Array.isArray(v)) return v.some(hasNaN);
  if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) return Object.values(v).some(hasNaN);
  return false;
}

// ---- the two builds ----

function wasmDecode(name: string, bytes: Uint8Array): number {
  wasm.input(bytes);
  return wasm.x[`decode_${name}`]!(bytes.length);
}
function wasmEncode(name: string): [number, Uint8Array] {
  const n = wasm.x[`encode_${name}`]!();
  return [n, n > 0 ? wasm.output(n) : new Uint8Array(0)];
}
function nodeRoundTrip(c: NodeCodec, bytes: Uint8Array): [number, Uint8Array | undefined, unknown] {
  const out = c.create();
  const n = c.tryDecode(bytes, 0, bytes.length, out);
  if (n < 0) return [n, undefined, undefined];
  const buf = new Uint8Array(bytes.length + 16);
  const m = c.tryEncode(out, buf, 0);
  assert.ok(m >= 0, `node re-encode failed with ${m}`);
  return [n, buf.slice(0, m), out];
}

/** Both builds decode `bytes`; codes must match; on success both re-encodings must equal bytes[0..n). */
function compare(name: string, c: NodeCodec, bytes: Uint8Array, what: string): number {
  const [nn, nodeBytes, value] = nodeRoundTrip(c, bytes);
  const wn = wasmDecode(name, bytes);
  assert.is(wn, nn, `${what}: decode result (wasm vs node) for ${toHex(bytes)}`);
  if (nn < 0) return nn;
  const consumed = toHex(bytes.subarray(0, nn));
  const [we, wasmBytes] = wasmEncode(name);
  assert.is(we, nn, `${what}: wasm re-encode length`);
  assert.is(toHex(wasmBytes), consumed, `${what}: wasm re-encode bytes`);
  // Node goes through JS numbers: an f32 signalling NaN comes back quieted. Everything else is exact.
  if (toHex(nodeBytes!) !== consumed) assert.ok(hasNaN(value), `${what}: node re-encode bytes differ: ${toHex(nodeBytes!)} vs ${consumed}`);
  return nn;
}

// ---------------------------------------------------------------------------------------------

const gen = suite('codegen-as: generated module');

gen('is deterministic and self-contained (no imports)', () => {
  const a = generateAssemblyScript(PORTABLE_SCHEMAS);
  assert.is(generateAssemblyScript(PORTABLE_SCHEMAS), a);
  assert.not.match(a, /^\s*import\s/m);
});

gen('encode/decode/sizeOf never allocate (no new, subarray or slice in their bodies)', () => {
  const src = generateAssemblyScript(ALL);
  const bodies = src.match(/^export function (encode|decode|sizeOf)\w+\([\s\S]*?^}/gm) ?? [];
  assert.ok(bodies.length >= 3 * ALL.length, `found ${bodies.length} functions`);
  for (const b of bodies) assert.not.match(b, /\bnew\b|subarray|slice\(/, b.split('\n')[0]);
});

gen('takes offsets from layout.ts (fixed/max sizes as constants)', () => {
  const src = generateAssemblyScript(ALL);
  for (const s of ALL) {
    const L = layoutOf(s);
    const C = s.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
    assert.match(src, `export const ${C}_FIXED_SIZE: i32 = ${L.fixedSize};`);
    assert.match(src, `export const ${C}_MAX_SIZE: i32 = ${L.maxSize};`);
  }
});

gen('declares typed fields: Uint8Array + Length for strings, StaticArray + Count for lists, Present for optionals', () => {
  const src = generateAssemblyScript([Kitchen]);
  assert.match(src, 'text: Uint8Array = new Uint8Array(8);');
  assert.match(src, 'textLength: i32 = 0;');
  assert.match(src, 'path: StaticArray<Dot> = new StaticArray<Dot>(300);');
  assert.match(src, 'pathCount: i32 = 0;');
  assert.match(src, 'maybePresent: bool = false;');
  assert.match(src, 'g: u64 = 0;');
  assert.match(src, 'export namespace Speed {');
  assert.match(src, 'export const Boost: u8 = 2;');
  assert.match(src, 'maybes: StaticArray<Optional_Speed> = new StaticArray<Optional_Speed>(3);');
  assert.match(src, 'export class Optional_i16x2 {');
});
gen.run();

const diff = suite('AS codec == Node codec (random, fixed seed)');
if (codecMod) {
  const codecs = new Map<string, NodeCodec>(ALL.map((s) => [s.name, codecMod.codec(s) as NodeCodec]));

  for (const s of ALL) {
    diff(`${s.name}: 300 random values — decode and re-encode give identical bytes`, () => {
      const c = codecs.get(s.name)!;
      const r = rng(0x5eed ^ s.name.length);
      const buf = new Uint8Array(layoutOf(s).maxSize);
      for (let i = 0; i < 300; i++) {
        const v = randomValue(s, r);
        const n = c.tryEncode(v, buf, 0);
        assert.ok(n > 0, `node encode of random ${s.name} #${i} failed: ${n}`);
        assert.is(compare(s.name, c, buf.slice(0, n), `${s.name} #${i}`), n);
      }
    });
  }

  for (const s of [Kitchen, Label, ...Object.values(VECTOR_SCHEMAS)]) {
    diff(`${s.name}: 700 corrupted, truncated and extended messages — same code in both builds`, () => {
      const c = codecs.get(s.name)!;
      const r = rng(0xbad ^ s.name.length);
      const buf = new Uint8Array(layoutOf(s).maxSize);
      const seen = new Set<number>();
      for (let i = 0; i < 700; i++) {
        const n = c.tryEncode(randomValue(s, r), buf, 0);
        let b: Uint8Array = buf.slice(0, n);
        const how = Math.floor(r() * 4);
        if (how === 0 && n > 0) b = b.slice(0, Math.floor(r() * n));
        else if (how === 1) b = Uint8Array.from([...b, ...Array.from({ length: 1 + Math.floor(r() * 4) }, () => Math.floor(r() * 256))]);
        else {
          const flips = 1 + Math.floor(r() * 3);
          for (let k = 0; k < flips && b.length > 0; k++) {
            const at = Math.floor(r() * Math.min(b.length, how === 2 ? layoutOf(s).fixedSize : b.length));
            b[at] = r() < 0.5 ? Math.floor(r() * 256) : b[at]! ^ (1 << Math.floor(r() * 8));
          }
        }
        seen.add(compare(s.name, c, b, `${s.name} #${i} (mutation ${how})`));
      }
      if (s === Kitchen) for (const code of [-300, -301, -302, -304, -305]) assert.ok(seen.has(code), `Kitchen corruptions reached ${code}`);
    });
  }

  diff('every prefix of a full Kitchen message is truncated (300) in both builds', () => {
    const c = codecs.get('Kitchen')!;
    const buf = new Uint8Array(layoutOf(Kitchen).maxSize);
    const n = c.tryEncode(randomValue(Kitchen, rng(7)), buf, 0);
    for (let k = 0; k < n; k++) assert.is(compare('Kitchen', c, buf.slice(0, k), `prefix ${k}`), -300);
  });

  diff('strict UTF-8: the same strings are accepted and rejected (Label.text)', () => {
    const c = codecs.get('Label')!;
    const cases: [string, number][] = [
      ['', 0], ['41', 0], ['c280', 0], ['dfbf', 0], ['e0a080', 0], ['ed9fbf', 0], ['ee8080', 0], ['efbfbf', 0],
      ['f0908080', 0], ['f48fbfbf', 0], ['efbbbf', 0],
      ['80', 303], ['bf', 303], ['c0af', 303], ['c1bf', 303], ['c2', 303], ['c241', 303], ['e080af', 303],
      ['e09f80', 303], ['eda080', 303], ['edbfbf', 303], ['e282', 303], ['f08f8080', 303], ['f4908080', 303],
      ['f5808080', 303], ['f8', 303], ['fe', 303], ['ff', 303], ['f09080', 303], ['41c3', 303], ['e28228', 303],
    ];
    for (const [hex, code] of cases) {
      const text = fromHex(hex);
      const msg = Uint8Array.from([7, text.length, 0, 0, ...text]);
      const n = compare('Label', c, msg, `text ${hex}`);
      assert.is(n, code === 0 ? msg.length : -code, `text ${hex}`);
    }
  });

  diff('encode into a too-small buffer: same code (306) at every capacity', () => {
    for (const s of ALL) {
      const c = codecs.get(s.name)!;
      const buf = new Uint8Array(layoutOf(s).maxSize);
      const r = rng(99);
      for (let i = 0; i < 5; i++) {
        const v = randomValue(s, r);
        const n = c.tryEncode(v, buf, 0);
        assert.is(wasmDecode(s.name, buf.slice(0, n)), n);
        for (let cap = 0; cap <= n; cap++) {
          const nodeCode = c.tryEncode(v, new Uint8Array(cap), 0);
          assert.is(wasm.x[`encodeCap_${s.name}`]!(cap), nodeCode, `${s.name} cap ${cap} of ${n}`);
        }
      }
    }
  });
}
diff.run();

// ---------------------------------------------------------------------------------------------
// test/vectors/codec.json (H2's golden vectors) through both builds

const cv = suite('codec.json through the Node codec and the generated AssemblyScript');
const cvPath = join(ROOT, 'test/vectors/codec.json');
if (!codecMod) {
  // reported above
} else if (!existsSync(cvPath)) {
  console.log('  (skipped: test/vectors/codec.json does not exist yet)');
} else {
  const load = await import(pathToFileURL(join(ROOT, 'test/vectors/load.ts')).href);
  const vectors = load.loadVectors() as { cases: { schema: string; name: string; input: unknown; hex: string }[]; invalid: { schema: string; name: string; hex: string; error: number | string }[] };
  const nodeCodec = (name: string): NodeCodec => codecMod.codec(load.schemaNamed(name)) as NodeCodec;
  for (const c of vectors.cases) {
    cv(`${c.schema}: ${c.name}`, () => {
      const s = load.schemaNamed(c.schema) as StructType;
      const nc = nodeCodec(c.schema);
      const buf = new Uint8Array(layoutOf(s).maxSize);
      const n = nc.tryEncode(load.fromJson(s, c.input), buf, 0);
      assert.is(toHex(buf.subarray(0, Math.max(n, 0))), c.hex, 'node encode');
      const bytes = fromHex(c.hex);
      assert.is(wasmDecode(c.schema, bytes), bytes.length, 'wasm decode');
      const [we, wb] = wasmEncode(c.schema);
      assert.is(we, bytes.length, 'wasm re-encode length');
      assert.is(toHex(wb), c.hex, 'wasm re-encode');
      assert.is(nc.tryDecode(bytes, 0, bytes.length, nc.create()), bytes.length, 'node decode');
    });
  }
  for (const c of vectors.invalid) {
    cv(`${c.schema} rejects with ${c.error}: ${c.name}`, () => {
      const bytes = fromHex(c.hex);
      const nc = nodeCodec(c.schema);
      const code = Number(c.error);
      // tryDecode leaves trailing bytes to the caller; decode() reports them as 308.
      const asCode = (n: number) => (n >= 0 && n !== bytes.length ? -308 : n);
      assert.is(asCode(nc.tryDecode(bytes, 0, bytes.length, nc.create())), -code, 'node');
      assert.is(asCode(wasmDecode(c.schema, bytes)), -code, 'wasm');
    });
  }
}
cv.run();
