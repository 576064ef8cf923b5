import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { frameMaxEncodedBytes, frameEncode, frameDecode, FRAME_CRC_BYTES } from '../../src/framing/frame.ts';
import { cobsDecode } from '../../src/framing/cobs.ts';
import * as E from '../../src/wire/errors.ts';
import { toHex, fromHex } from '../helpers/hex.ts';
import { loadVectors, prng, randomBytes, testLengths, crc32cRef, cobsDecodeRef } from './util.ts';

const V = loadVectors('frame');

const vectors = suite('frame golden vectors (test/vectors/frame.json)');
for (const c of V.cases) {
  vectors(`encodes and decodes: ${c.name}`, () => {
    const input = fromHex(c.input);
    const dst = new Uint8Array(frameMaxEncodedBytes(input.length));
    const n = frameEncode(input, 0, input.length, dst, 0);
    assert.is(toHex(dst.subarray(0, n)), c.hex);
    const enc = fromHex(c.hex);
    const out = new Uint8Array(enc.length);
    assert.is(frameDecode(enc, 0, enc.length, out, 0), input.length);
    assert.is(toHex(out.subarray(0, input.length)), c.input);
  });
}
for (const c of V.invalid) {
  vectors(`frameDecode rejects with code ${c.error}: ${c.name}`, () => {
    const enc = fromHex(c.hex);
    assert.is(frameDecode(enc, 0, -1, new Uint8Array(enc.length + 8), 0), -c.error);
  });
}

const encode = suite('frameEncode');
encode('frameMaxEncodedBytes covers COBS of bytes + CRC + delimiter', () => {
  assert.is(frameMaxEncodedBytes(1), 7);
  assert.is(frameMaxEncodedBytes(250), 257);
  assert.is(frameMaxEncodedBytes(251), 258);
});
encode('writes at an offset and leaves neighbours alone', () => {
  const src = fromHex('ff11220033ff');
  const dst = new Uint8Array(20).fill(0xaa);
  const n = frameEncode(src, 1, 4, dst, 2);
  assert.is(dst[0], 0xaa);
  assert.is(dst[1], 0xaa);
  assert.is(dst[2 + n], 0xaa);
  assert.is(toHex(dst.subarray(2, 2 + n)), '03112206331e43def100');
});
encode('fits an exact-size buffer, refuses one byte less without writing', () => {
  // All zeros: no block ever fills up, so COBS adds exactly one byte: 1 + 600 + 4, + delimiter.
  const src = new Uint8Array(600);
  const want = 1 + 600 + FRAME_CRC_BYTES + 1;
  assert.ok(want < frameMaxEncodedBytes(600));
  assert.is(frameEncode(src, 0, 600, new Uint8Array(want), 0), want);
  const small = new Uint8Array(want - 1).fill(0xaa);
  assert.is(frameEncode(src, 0, 600, small, 0), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.ok(small.every((b) => b === 0xaa));
});
encode('refuses an empty frame and a bad source range', () => {
  assert.is(frameEncode(new Uint8Array(4), 0, 0, new Uint8Array(16), 0), -E.ERR_FRAME_TOO_SHORT);
  assert.is(frameEncode(new Uint8Array(4), 2, 3, new Uint8Array(16), 0), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.is(frameEncode(new Uint8Array(4), 0, 4, new Uint8Array(16), 17), -E.ERR_FRAME_BUFFER_TOO_SMALL);
});

const decode = suite('frameDecode');
decode('decodes in place and accepts input without the delimiter', () => {
  const src = fromHex('11220033');
  const buf = new Uint8Array(16);
  const n = frameEncode(src, 0, 4, buf, 0);
  assert.is(frameDecode(buf, 0, n - 1, buf, 0), 4);
  assert.is(toHex(buf.subarray(0, 4)), '11220033');
});
decode('needs room for the CRC bytes in dst', () => {
  const enc = fromHex('03112206331e43def100');
  assert.is(frameDecode(enc, 0, -1, new Uint8Array(7), 0), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.is(frameDecode(enc, 0, -1, new Uint8Array(8), 0), 4);
});

const roundTrip = suite('frame round trip (fixed seed)');
roundTrip('every length 1..1100 incl. block boundaries, zero-heavy, zero-free and mixed', () => {
  const rnd = prng(0xf4a3e);
  for (const len of testLengths(rnd)) {
    if (len === 0) continue;
    for (const zf of [0, 0.15, 1]) {
      const data = randomBytes(rnd, len, zf);
      const enc = new Uint8Array(frameMaxEncodedBytes(len));
      const n = frameEncode(data, 0, len, enc, 0);
      assert.ok(n > 0 && n <= enc.length);
      assert.is(enc[n - 1], 0);
      assert.ok(!enc.subarray(0, n - 1).includes(0), 'only the delimiter is 0x00');
      // Reference check: COBS body decodes to data ++ CRC LE.
      const body = cobsDecodeRef(enc.subarray(0, n - 1))!;
      assert.is(body.length, len + 4);
      assert.is(toHex(body.subarray(0, len)), toHex(data));
      assert.is(new DataView(body.buffer).getUint32(len, true), crc32cRef(data));
      const out = new Uint8Array(len + 4);
      assert.is(frameDecode(enc, 0, n, out, 0), len);
      assert.is(toHex(out.subarray(0, len)), toHex(data));
      assert.is(cobsDecode(enc, out, 0, n - 1), len + 4);
    }
  }
});

vectors.run();
encode.run();
decode.run();
roundTrip.run();
