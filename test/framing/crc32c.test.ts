import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32c, crc32cUpdate, crc32cSmall, crc32cWrite } from '../../src/framing/crc32c.ts';
import { ERR_FRAME_BUFFER_TOO_SMALL } from '../../src/wire/errors.ts';
import { fromHex } from '../helpers/hex.ts';
import { loadVectors, prng, randomBytes, testLengths, crc32cRef } from './util.ts';

const V = loadVectors('crc32c');
const hex8 = (v: number) => v.toString(16).padStart(8, '0');

const vectors = suite('crc32c golden vectors (test/vectors/crc32c.json)');
for (const c of V.cases) {
  vectors(`fast, small and update agree on: ${c.name}`, () => {
    const input = fromHex(c.input);
    assert.is(hex8(crc32c(input)), c.hex);
    assert.is(hex8(crc32cSmall(input)), c.hex);
    assert.is(hex8(crc32cUpdate(0, input)), c.hex);
  });
}

const api = suite('crc32c');
api('returns an unsigned 32-bit value', () => {
  const v = crc32c(new TextEncoder().encode('123456789'));
  assert.is(v, 0xe3069283);
  assert.ok(v > 0x7fffffff);
});
api('honours off/len and treats len -1 as "to the end"', () => {
  const b = new TextEncoder().encode('xx123456789yy');
  assert.is(crc32c(b, 2, 9), 0xe3069283);
  assert.is(crc32cSmall(b, 2, 9), 0xe3069283);
  assert.is(crc32c(b, 2, -1), crc32cRef(b.subarray(2)));
});
api('clamps an out-of-range off/len to the buffer instead of reading past it', () => {
  const b = new TextEncoder().encode('123456789');
  assert.is(crc32c(b, 0, 100), 0xe3069283);
  assert.is(crc32c(b, -5, -1), 0xe3069283);
  assert.is(crc32c(b, 20, 4), 0);
  assert.is(crc32cSmall(b, 0, 100), 0xe3069283);
});
api('crc32cUpdate continues a finalized value: update(crc32c(a), b) == crc32c(a ++ b)', () => {
  const rnd = prng(99);
  const data = randomBytes(rnd, 1000, 0.1);
  for (const cut of [0, 1, 15, 16, 17, 500, 999, 1000]) {
    const whole = crc32c(data);
    assert.is(crc32cUpdate(crc32c(data, 0, cut), data, cut, -1), whole, `cut ${cut}`);
    assert.is(crc32cSmall(data, cut, -1, crc32cSmall(data, 0, cut)), whole, `small cut ${cut}`);
  }
});
api('crc32cWrite stores the CRC little-endian at dst[dstOff..+4) and returns 4', () => {
  const b = new TextEncoder().encode('xx123456789yy');
  const dst = new Uint8Array(7).fill(0xaa);
  assert.is(crc32cWrite(b, 2, 9, dst, 2), 4);
  assert.equal(Array.from(dst), [0xaa, 0xaa, 0x83, 0x92, 0x06, 0xe3, 0xaa]);
  // same clamping of the source range as crc32c; dst may be the source buffer
  const c = new Uint8Array(13);
  c.set(new TextEncoder().encode('123456789'));
  assert.is(crc32cWrite(c, 0, 9, c, 9), 4);
  assert.is(crc32cWrite(new TextEncoder().encode('123456789'), 0, 100, dst, 3), 4);
  assert.equal(Array.from(c.subarray(9)), [0x83, 0x92, 0x06, 0xe3]);
  assert.equal(Array.from(dst.subarray(3)), [0x83, 0x92, 0x06, 0xe3]);
});
api('crc32cWrite rejects a destination range outside dst and writes nothing', () => {
  const b = new TextEncoder().encode('123456789');
  const dst = new Uint8Array(6).fill(0xaa);
  for (const off of [-1, 3, 6, 100]) assert.is(crc32cWrite(b, 0, 9, dst, off), -ERR_FRAME_BUFFER_TOO_SMALL, `dstOff ${off}`);
  assert.is(crc32cWrite(b, 0, 9, new Uint8Array(3), 0), -ERR_FRAME_BUFFER_TOO_SMALL);
  assert.ok(dst.every((v) => v === 0xaa));
  assert.is(crc32cWrite(b, 0, 9, dst, 2), 4);
});

const random = suite('crc32c random inputs (fixed seed)');
random('slice-by-16 == nibble table == bitwise reference, at every length and offset 0..3', () => {
  const rnd = prng(0xc7c);
  for (const len of testLengths(rnd)) {
    const data = randomBytes(rnd, len + 3, 0.15);
    for (let off = 0; off < 4; off++) {
      const want = crc32cRef(data.subarray(off, off + len));
      assert.is(crc32c(data, off, len), want, `len ${len} off ${off}`);
      assert.is(crc32cSmall(data, off, len), want);
      assert.is(crc32cUpdate(0, data, off, len), want);
      const w = new Uint8Array(4);
      assert.is(crc32cWrite(data, off, len, w, 0), 4);
      assert.is((w[0]! | w[1]! << 8 | w[2]! << 16 | w[3]! << 24) >>> 0, want);
    }
  }
});

vectors.run();
api.run();
random.run();
