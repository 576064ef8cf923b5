import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../helpers/hex.ts';
import { SCHEMAS } from '../vectors/schemas.ts';
import { toJson } from '../vectors/load.ts';
import type { StructType, SchemaType } from '../../src/codec/schema.ts';
import { prng, randomValue } from './_random.ts';
import { implsOf } from './_impls.ts';

const IMPLS = ['compiled', 'interpreted', 'aot'] as const;
const cross = suite('compiled == interpreted == AOT (fixed-seed random values)');

for (const [name, t] of Object.entries(SCHEMAS)) {
  cross(`${name}: 400 random values give identical bytes, sizes and decoded values`, async () => {
    const impls = await implsOf(t);
    const r = prng(0xce11 + name.length);
    const bufs = IMPLS.map(() => new Uint8Array(impls.compiled.maxSize + 2));
    for (let i = 0; i < 400; i++) {
      const v = randomValue(t, r);
      const hex = IMPLS.map((k, j) => toHex(bufs[j]!.subarray(1, 1 + impls[k].encode(v as never, bufs[j]!, 1))));
      assert.is(hex[1], hex[0], `${name} #${i} interpreted`);
      assert.is(hex[2], hex[0], `${name} #${i} aot`);
      const n = hex[0]!.length / 2;
      assert.ok(n >= impls.compiled.fixedSize && n <= impls.compiled.maxSize);
      for (const k of IMPLS) assert.is(impls[k].encodedSize(v as never), n, `${k} encodedSize`);
      const want = toJson(t, v);
      for (const k of IMPLS) assert.equal(toJson(t, impls[k].decode(bufs[0]!, 1, undefined, 1 + n)), want, `${name} #${i} ${k} decode`);
    }
  });
}

/** Break one leaf of a random value in a random way. */
const BAD = [undefined, null, 'x', 1.5, -1, 2 ** 64, NaN, 1n, -1n, 2n ** 70n, {}, [], 'é'.repeat(40), '\ud800', new Uint8Array(400), Array(70000).fill(0)];
function breakValue(t: SchemaType, v: unknown, r: () => number): unknown {
  if (t.kind === 'struct' && r() < 0.85) {
    const s = t as StructType;
    const f = s.fieldNames[Math.floor(r() * s.fieldNames.length)]!;
    return { ...(v as object), [f]: breakValue(s.fields[f]!, (v as Record<string, unknown>)[f], r) };
  }
  if ((t.kind === 'array' || t.kind === 'list') && r() < 0.5 && (v as ArrayLike<unknown>).length > 0) {
    const a = Array.from(v as ArrayLike<unknown>);
    const i = Math.floor(r() * a.length);
    a[i] = breakValue((t as unknown as { element: SchemaType }).element, a[i], r);
    return a;
  }
  return BAD[Math.floor(r() * BAD.length)];
}

cross('broken values: every implementation gives the same result code', async () => {
  for (const [name, t] of Object.entries(SCHEMAS)) {
    const impls = await implsOf(t);
    const r = prng(77 + name.length);
    const buf = new Uint8Array(impls.compiled.maxSize);
    for (let i = 0; i < 300; i++) {
      const v = breakValue(t, randomValue(t, r), r);
      const codes = IMPLS.map((k) => impls[k].tryEncode(v as never, buf, 0));
      assert.is(codes[1], codes[0], `${name} #${i} interpreted`);
      assert.is(codes[2], codes[0], `${name} #${i} aot`);
      if (codes[0]! < 0) assert.ok(codes[0]! <= -300 && codes[0]! >= -309);
      const sizes = IMPLS.map((k) => sizeOf(impls[k], v));
      assert.is(sizes[1], sizes[0]);
      assert.is(sizes[2], sizes[0]);
    }
  }
});
function sizeOf(c: { encodedSize(v: never): number }, v: unknown): number {
  try { return c.encodedSize(v as never); } catch (e) { return -(e as { code: number }).code; }
}
cross.run();

// Fixed byte arrays of 17..70 bytes (straight-line copy up to 64, the word loop above) at every
// alignment after a variable-free prefix: the compiled decode gives the interpreted one's bytes.
const fixedBytes = suite('compiled == interpreted: fixed byte arrays, every length 17..70, shifted');
fixedBytes('u8 and i8 arrays decode to the encoded values at offsets 0..3', async () => {
  const { struct, u8, i8, array } = await import('../../src/codec/index.ts');
  const r = prng(0xb17e);
  for (let n = 17; n <= 70; n++) {
    for (const [el, T] of [[u8, Uint8Array], [i8, Int8Array]] as const) {
      const t = struct(`Bytes${n}`, { head: u8, a: array(el, n), tail: u8 });
      const impls = await implsOf(t as unknown as StructType);
      for (let off = 0; off < 4; off++) {
        const a = new T(n).map(() => Math.floor(r() * 256));
        const v = { head: off, a, tail: 0x5a };
        const buf = new Uint8Array(off + impls.compiled.maxSize);
        impls.interpreted.encode(v as never, buf, off);
        const got = impls.compiled.decode(buf, off) as unknown as { head: number; a: Uint8Array | Int8Array; tail: number };
        assert.equal(Array.from(got.a), Array.from(a), `n ${n} ${T.name} offset ${off}`);
        assert.is(got.tail, 0x5a);
      }
    }
  }
});
fixedBytes.run();
