import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../../src/wire/errors.ts';
import { hasCode } from '../../src/wire/cell-error.ts';
import { struct, codec, u32, f32, f64, u8, i16, string, array } from '../../src/codec/index.ts';
import { toHex } from '../helpers/hex.ts';
import { Everything, Ping, Reading } from '../vectors/schemas.ts';
import { implsOf } from './_impls.ts';

const IMPLS = ['compiled', 'interpreted', 'aot'] as const;
const MSG = {
  id: 123456789, ts: 1732197442123.4567, temp: 23.4, flags: 0xa5, name: 'sensor-07/west',
  samples: [12, -34, 560, -7800, 32767, -32768, 0, 1],
};

/** The reference message laid out by hand with a DataView (independent of the generated code). */
function handReading(m: typeof MSG): string {
  const name = new TextEncoder().encode(m.name);
  const b = new Uint8Array(34 + name.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, m.id, true);
  dv.setFloat64(4, m.ts, true);
  dv.setFloat32(12, m.temp, true);
  dv.setUint8(16, m.flags);
  dv.setUint8(17, name.length);
  m.samples.forEach((s, i) => dv.setInt16(18 + 2 * i, s, true));
  b.set(name, 34);
  return toHex(b);
}

const layout = suite('codec: Reading layout');

layout('id@0 u32, ts@4 f64, temp@12 f32, flags@16, name length@17, samples@18..33, name bytes in the tail@34', async () => {
  const impls = await implsOf(Reading);
  for (const k of IMPLS) {
    const c = impls[k];
    assert.is(c.fixedSize, 34);
    assert.is(c.maxSize, 50);
    const buf = new Uint8Array(64);
    const n = c.encode(MSG as never, buf);
    assert.is(n, 48);
    assert.is(toHex(buf.subarray(0, n)), handReading(MSG), k);
  }
});

layout('decoded values: f32 rounds, samples is an Int16Array', () => {
  const c = codec(Reading);
  const buf = new Uint8Array(c.maxSize);
  const out = c.decode(buf, 0, undefined, c.encode(MSG as never, buf));
  assert.is(out.temp, Math.fround(23.4));
  assert.is(out.ts, MSG.ts);
  assert.instance(out.samples, Int16Array);
  assert.equal(Array.from(out.samples as Int16Array), MSG.samples);
  assert.is(out.name, MSG.name);
});
layout.run();

const encErr = suite('codec: encode rejects bad values with a code');

function expectEncode(name: string, c: { encode(v: never, b: Uint8Array, o?: number): number; tryEncode(v: never, b: Uint8Array, o: number): number }, value: unknown, code: number, field?: string, size = 600): void {
  const buf = new Uint8Array(size);
  assert.is(c.tryEncode(value as never, buf, 0), -code, `${name}: tryEncode`);
  try {
    c.encode(value as never, buf, 0);
    assert.unreachable(`${name}: encode accepted`);
  } catch (e) {
    assert.ok(hasCode(e, code), `${name}: ${String(e)}`);
    if (field !== undefined) assert.is((e as { detail: { field: string } }).detail.field, field, name);
  }
}

const readingBad: [string, Record<string, unknown>, number, string][] = [
  ['id -1', { id: -1 }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'id'],
  ['id 2^32', { id: 2 ** 32 }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'id'],
  ['id 1.5', { id: 1.5 }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'id'],
  ['id NaN', { id: NaN }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'id'],
  ['id "5"', { id: '5' }, E.ERR_CODEC_BAD_VALUE, 'id'],
  ['id 5n', { id: 5n }, E.ERR_CODEC_BAD_VALUE, 'id'],
  ['id missing', { id: undefined }, E.ERR_CODEC_BAD_VALUE, 'id'],
  ['ts "1"', { ts: '1' }, E.ERR_CODEC_BAD_VALUE, 'ts'],
  ['flags 256', { flags: 256 }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'flags'],
  ['name 17 ASCII bytes', { name: 'x'.repeat(17) }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'name'],
  ['name 9 × é = 18 bytes', { name: 'é'.repeat(9) }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'name'],
  ['name lone high surrogate', { name: 'ab\ud800' }, E.ERR_CODEC_BAD_VALUE, 'name'],
  ['name lone low surrogate', { name: '\udc00ab' }, E.ERR_CODEC_BAD_VALUE, 'name'],
  ['name a number', { name: 42 }, E.ERR_CODEC_BAD_VALUE, 'name'],
  ['samples 7 long', { samples: [1, 2, 3, 4, 5, 6, 7] }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'samples'],
  ['samples element 40000', { samples: [1, 2, 3, 4, 5, 6, 7, 40000] }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'samples[]'],
  ['samples element "1"', { samples: ['1', 2, 3, 4, 5, 6, 7, 8] }, E.ERR_CODEC_BAD_VALUE, 'samples[]'],
  ['samples null', { samples: null }, E.ERR_CODEC_BAD_VALUE, 'samples'],
];

encErr('Reading: each bad field gives its code and names the field (all implementations)', async () => {
  const impls = await implsOf(Reading);
  for (const k of IMPLS) {
    for (const [name, patch, code, field] of readingBad) expectEncode(`${k} ${name}`, impls[k], { ...MSG, ...patch }, code, field);
    expectEncode(`${k} null value`, impls[k], null, E.ERR_CODEC_BAD_VALUE);
    expectEncode(`${k} buffer smaller than the fixed part`, impls[k], MSG, E.ERR_CODEC_BUFFER_TOO_SMALL, '', 33);
    expectEncode(`${k} buffer too small for the tail`, impls[k], MSG, E.ERR_CODEC_BUFFER_TOO_SMALL, 'name', 40);
    expectEncode(`${k} non-ASCII tail too small`, impls[k], { ...MSG, name: 'ééé' }, E.ERR_CODEC_BUFFER_TOO_SMALL, 'name', 38);
    // a 16-byte name fits exactly; the encoder never truncates
    const buf = new Uint8Array(50);
    assert.is(impls[k].encode({ ...MSG, name: 'é'.repeat(8) } as never, buf), 50);
  }
});

encErr('Everything: 64-bit, enum, bytes, list, nested and optional values', async () => {
  const impls = await implsOf(Everything);
  const base = impls.compiled.create() as Record<string, unknown>;
  const cases: [string, Record<string, unknown>, number, string][] = [
    ['u64 -1n', { a_u64: -1n }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'a_u64'],
    ['u64 2^64', { a_u64: 2n ** 64n }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'a_u64'],
    ['u64 2^53 as number (not safe)', { a_u64: 2 ** 53 }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'a_u64'],
    ['u64 -1 as number', { a_u64: -1 }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'a_u64'],
    ['i64 2^63', { a_i64: 2n ** 63n }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'a_i64'],
    ['u64 "1"', { a_u64: '1' }, E.ERR_CODEC_BAD_VALUE, 'a_u64'],
    ['bool 1', { flag: 1 }, E.ERR_CODEC_BAD_VALUE, 'flag'],
    ['enum unknown name', { mode: 'nope' }, E.ERR_CODEC_BAD_VALUE, 'mode'],
    ['enum number', { mode: 1 }, E.ERR_CODEC_BAD_VALUE, 'mode'],
    ['bytes a plain array', { blob: [1, 2] }, E.ERR_CODEC_BAD_VALUE, 'blob'],
    ['bytes 301', { blob: new Uint8Array(301) }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'blob'],
    ['list 6 > 5', { nums: [1, 2, 3, 4, 5, 6] }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'nums'],
    ['list element 2^31', { nums: [2 ** 31] }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'nums[]'],
    ['list of structs: missing y', { pts: [{ x: 1 }] }, E.ERR_CODEC_BAD_VALUE, 'pts[].y'],
    ['nested struct missing', { point: undefined }, E.ERR_CODEC_BAD_VALUE, 'point'],
    ['array of structs element null', { path: [{ x: 1, y: 2 }, null] }, E.ERR_CODEC_BAD_VALUE, 'path[]'],
    ['bool array element "x"', { bits: [true, false, 'x', true] }, E.ERR_CODEC_BAD_VALUE, 'bits[]'],
    ['optional string too long', { opt_s: 'x'.repeat(11) }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'opt_s'],
    ['optional struct inner list too long', { opt_inner: { label: '', at: { x: 0, y: 0 }, tags: [1, 2, 3, 4, 5] } }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'opt_inner.tags'],
    ['nested string too long', { inner: { label: '123456789', at: { x: 0, y: 0 }, tags: [] } }, E.ERR_CODEC_VALUE_OUT_OF_RANGE, 'inner.label'],
  ];
  for (const k of IMPLS) {
    for (const [name, patch, code, field] of cases) expectEncode(`${k} ${name}`, impls[k], { ...base, ...patch }, code, field);
  }
});

encErr('u64/i64 accept safe-integer numbers (same bytes as the bigint); null and missing optionals are absent', async () => {
  const impls = await implsOf(Everything);
  for (const k of IMPLS) {
    const c = impls[k];
    const base = c.create() as Record<string, unknown>;
    const enc = (v: Record<string, unknown>) => { const b = new Uint8Array(c.maxSize); return toHex(b.subarray(0, c.encode(v as never, b))); };
    assert.is(enc({ ...base, a_u64: 2 ** 53 - 1, a_i64: -(2 ** 40) - 3 }), enc({ ...base, a_u64: 2n ** 53n - 1n, a_i64: -(2n ** 40n) - 3n }), k);
    assert.is(enc({ ...base, opt_n: null, opt_s: null }), enc(base), k);
    const { opt_inner: _drop, ...missing } = base;
    assert.is(enc(missing), enc(base), k);
  }
});
encErr.run();

const dec = suite('codec: decode API');

dec('off/end bound the message; trailing bytes are CodecTrailingBytes; bad arguments are RangeError', () => {
  const c = codec(Ping);
  const buf = new Uint8Array([9, 0x01, 0x00, 0x01, 9, 9]);
  assert.equal(c.decode(buf, 1, undefined, 4), { seq: 1, ok: true });
  assert.is(c.tryDecode(buf, 1, 6, c.create()), 3, 'tryDecode does not check trailing bytes');
  try { c.decode(buf, 1); assert.unreachable(); } catch (e) { assert.ok(hasCode(e, E.ERR_CODEC_TRAILING_BYTES)); assert.is((e as Error).name, 'CodecTrailingBytes'); }
  assert.throws(() => c.decode(buf, 0, undefined, 7), (e: unknown) => e instanceof RangeError);
  assert.throws(() => c.decode(buf, -1), (e: unknown) => e instanceof RangeError);
  assert.throws(() => c.decode(buf, 4, undefined, 3), (e: unknown) => e instanceof RangeError);
  assert.throws(() => c.encode({ seq: 1, ok: true }, new Uint8Array(8), -1), (e: unknown) => e instanceof RangeError);
  assert.is(c.tryDecode(buf, 4, 6, c.create()), -E.ERR_CODEC_TRUNCATED);
});

dec('errors are CellError with a stable name, the code and the field', () => {
  const c = codec(Reading);
  const b = new Uint8Array(c.maxSize);
  const n = c.encode(MSG as never, b);
  b[17] = 20;
  try { c.decode(b, 0, undefined, n); assert.unreachable(); } catch (e) {
    const err = e as { code: number; name: string; detail: Record<string, unknown>; message: string };
    assert.is(err.code, E.ERR_CODEC_LENGTH_OVER_BOUND);
    assert.is(err.name, 'CodecLengthOverBound');
    assert.equal(err.detail, { schema: 'Reading', op: 'decode', field: 'name' });
    assert.match(err.message, 'Reading');
  }
});

dec('decoding into a reused out keeps the same typed arrays and nested objects (zero-allocation contract)', async () => {
  for (const t of [Reading, Everything]) {
    const impls = await implsOf(t);
    for (const k of IMPLS) {
      const c = impls[k];
      const src = c.create() as Record<string, any>;
      if (t === Reading) Object.assign(src, MSG);
      else Object.assign(src, { nums: new Int32Array([1, 2]), blob: new Uint8Array([1, 2, 3]), opt_inner: { label: 'a', at: { x: 1, y: 2 }, tags: new Uint8Array([1]) } });
      const buf = new Uint8Array(c.maxSize);
      const n = c.encode(src as never, buf);
      const out = c.create() as Record<string, any>;
      c.decode(buf, 0, out as never, n);
      const keep = t === Reading ? [out.samples] : [out.nums, out.blob, out.point, out.path, out.path[0], out.bits, out.inner, out.inner.at, out.opt_inner, out.opt_inner.at];
      for (let i = 0; i < 3; i++) c.decode(buf, 0, out as never, n);
      const after = t === Reading ? [out.samples] : [out.nums, out.blob, out.point, out.path, out.path[0], out.bits, out.inner, out.inner.at, out.opt_inner, out.opt_inner.at];
      after.forEach((x, i) => assert.ok(x === keep[i], `${t.name} ${k}: object ${i} replaced`));
      if (t === Reading) assert.equal(Array.from(out.samples), MSG.samples);
    }
  }
});

dec('create() gives zero values of the right shapes', () => {
  const c = codec(Everything);
  const z = c.create() as Record<string, any>;
  assert.is(z.a_u64, 0n);
  assert.is(z.mode, 'off');
  assert.is(z.opt_n, undefined);
  assert.ok('opt_n' in z, 'optional keys are present (stable object shape)');
  assert.instance(z.nums, Int32Array);
  assert.is(z.nums.length, 0);
  assert.instance(z.bigs, BigUint64Array);
  assert.equal(z.bits, [false, false, false, false]);
  assert.equal(z.path, [{ x: 0, y: 0 }, { x: 0, y: 0 }]);
  assert.ok(z !== c.create(), 'a new object each time');
});
dec.run();

const api = suite('codec: struct() and codec()');

api('struct() compiles lazily on first use; codecs nest as field types', () => {
  const R = struct('R2', { id: u32, t: f32, v: f64, f: u8, name: string(16), s: array(i16, 8) });
  assert.is(R.implKind, 'pending');
  assert.is(R.canonical, 'struct R2{id:u32,t:f32,v:f64,f:u8,name:string<16>,s:array<i16,8>}');
  R.create();
  assert.is(R.implKind, 'compiled');
  const Outer = struct('Outer', { head: u8, r: R });
  assert.is(Outer.canonical, `struct Outer{head:u8,r:${R.canonical}}`);
  assert.is(Outer.fixedSize, 1 + R.fixedSize);
  const v = { head: 7, r: { id: 1, t: 0.5, v: 2, f: 3, name: 'hi', s: new Int16Array(8) } };
  const b = new Uint8Array(Outer.maxSize);
  const n = Outer.encode(v, b);
  assert.equal(Outer.decode(b, 0, undefined, n), v);
  assert.is(struct('I', { a: u8 }, { mode: 'interpret' }).create() && 'ok', 'ok');
  assert.throws(() => codec({ kind: 'u8' } as never), TypeError);
});
api.run();

const alloc = suite('codec: zero allocation in steady state');

alloc('2M encode+decode round trips of a message without strings/bytes/64-bit ints trigger no scavenge', async () => {
  const { generateFactorySource } = await import('../../src/codec/compile.ts');
  const { structType, u32, f64: F64, f32: F32, u8: U8, i16: I16, array: arr, bool: B, enumOf, optional, list, i32, u16 } = await import('../../src/codec/index.ts');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  const T = structType('Fixed', {
    id: u32, ts: F64, temp: F32, flags: U8, samples: arr(I16, 8), pos: structType('P', { x: i32, y: i32 }),
    on: B, mode: enumOf('M', { a: 0, b: 1 }), o: optional(u16), l: list(u16, 4),
  });
  const dir = mkdtempSync(join(tmpdir(), 'cell-alloc-'));
  const file = join(dir, 'alloc.mjs');
  // Plain node (no tsx loader) so only the generated code runs in the loop.
  writeFileSync(file, `
const rt = { dec: null, enc: null, utf8Length: null, raise() { throw new Error('raise'); }, raiseTrailing() { throw new Error('trailing'); }, badRange() { throw new Error('range'); } };
const c = new Function('rt', ${JSON.stringify(generateFactorySource(T))})(rt);
const v = { id: 1, ts: 2.5, temp: 1.5, flags: 3, samples: new Int16Array(8), pos: { x: 1, y: 2 }, on: true, mode: 'b', o: 7, l: new Uint16Array([1, 2, 3]) };
const buf = new Uint8Array(64); const out = c.create(); let sink = 0;
function loop(n) { for (let i = 0; i < n; i++) { const k = c.encode(v, buf, 0); sink += c.decode(buf, 0, out, k).flags; } }
loop(200000); // warm-up: start-up and JIT compilation may scavenge; only the steady state counts
console.log('--- steady state ---');
loop(2000000);
if (sink !== 6600000) throw new Error('bad sink ' + sink);
`);
  const r = spawnSync(process.execPath, ['--trace-gc', file], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const steady = r.stdout.slice(r.stdout.indexOf('--- steady state ---'));
  assert.ok(steady.length > 0, 'marker printed');
  const scavenges = (steady.match(/Scavenge/g) ?? []).length;
  assert.ok(scavenges <= 1, `${scavenges} scavenges: the steady state allocates`);
});
alloc.run();
