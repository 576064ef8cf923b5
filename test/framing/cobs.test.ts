import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cobsMaxEncodedBytes, cobsEncodedBytes, cobsEncode, cobsDecode } from '../../src/framing/cobs.ts';
import * as E from '../../src/wire/errors.ts';
import { toHex, fromHex } from '../helpers/hex.ts';
import { loadVectors, prng, randomBytes, testLengths, cobsDecodeRef } from './util.ts';

const V = loadVectors('cobs');

const vectors = suite('cobs golden vectors (test/vectors/cobs.json)');
for (const c of V.cases) {
  vectors(`encodes and decodes: ${c.name}`, () => {
    const input = fromHex(c.input);
    const dst = new Uint8Array(cobsMaxEncodedBytes(input.length));
    const n = cobsEncode(input, dst);
    assert.is(toHex(dst.subarray(0, n)), c.hex);
    assert.is(cobsEncodedBytes(input), n);
    const back = new Uint8Array(input.length);
    assert.is(cobsDecode(fromHex(c.hex), back), input.length);
    assert.is(toHex(back), c.input);
  });
}
for (const c of V.invalid) {
  vectors(`rejects with code ${c.error}: ${c.name}`, () => {
    const src = fromHex(c.hex);
    assert.is(cobsDecode(src, new Uint8Array(src.length + 8)), -c.error);
  });
}

const encode = suite('cobsEncode');
encode('cobsMaxEncodedBytes is n + floor(n/254) + 1', () => {
  assert.is(cobsMaxEncodedBytes(0), 1);
  assert.is(cobsMaxEncodedBytes(253), 254);
  assert.is(cobsMaxEncodedBytes(254), 256);
  assert.is(cobsMaxEncodedBytes(508), 511);
});
encode('honours srcOff/srcLen/dstOff and leaves neighbours alone', () => {
  const src = fromHex('ffff11220033ffff');
  const dst = new Uint8Array(12).fill(0xaa);
  assert.is(cobsEncode(src, dst, 2, 4, 3), 5);
  assert.is(toHex(dst), 'aaaaaa' + '0311220233' + 'aaaaaaaa');
});
encode('fits an exact-size buffer smaller than the worst case', () => {
  const src = new Uint8Array(300).fill(0); // encoded size 301
  const dst = new Uint8Array(301);
  assert.is(cobsEncode(src, dst), 301);
});
encode('refuses a buffer one byte too small without writing', () => {
  const src = fromHex('11220033');
  const dst = new Uint8Array(4).fill(0xaa);
  assert.is(cobsEncode(src, dst), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.is(toHex(dst), 'aaaaaaaa');
  assert.is(cobsEncode(src, new Uint8Array(10), 0, -1, 6), -E.ERR_FRAME_BUFFER_TOO_SMALL);
});
encode('refuses a source range outside src and a bad dstOff', () => {
  const src = new Uint8Array(4);
  assert.is(cobsEncode(src, new Uint8Array(10), 2, 3), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.is(cobsEncode(src, new Uint8Array(10), -1, 2), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.is(cobsEncode(src, new Uint8Array(10), 0, -1, 11), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.is(cobsEncode(src, new Uint8Array(10), 0, -1, -1), -E.ERR_FRAME_BUFFER_TOO_SMALL);
});

const decode = suite('cobsDecode');
decode('decodes empty input to 0 bytes', () => {
  assert.is(cobsDecode(new Uint8Array(0), new Uint8Array(0)), 0);
});
decode('reports a too-small destination', () => {
  assert.is(cobsDecode(fromHex('0311220233'), new Uint8Array(3)), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.is(cobsDecode(fromHex('0311220233'), new Uint8Array(2)), -E.ERR_FRAME_BUFFER_TOO_SMALL);
  assert.is(cobsDecode(fromHex('0311220233'), new Uint8Array(4)), 4);
});
decode('decodes in place (dst === src, dstOff <= srcOff)', () => {
  const rnd = prng(7);
  for (const len of [0, 1, 253, 254, 255, 600]) {
    const data = randomBytes(rnd, len, 0.2);
    const buf = new Uint8Array(cobsMaxEncodedBytes(len) + 3);
    const n = cobsEncode(data, buf, 0, -1, 3);
    assert.is(cobsDecode(buf, buf, 3, n, 0), len);
    assert.is(toHex(buf.subarray(0, len)), toHex(data));
  }
});
decode('accepts the non-minimal trailing 01 after a full block', () => {
  const enc = new Uint8Array(256);
  enc[0] = 0xff;
  enc.fill(0x01, 1, 255);
  enc[255] = 0x01;
  assert.is(cobsDecode(enc, new Uint8Array(256)), 254);
});

const roundTrip = suite('cobs round trip (fixed seed)');
roundTrip('every length 0..1100 incl. block boundaries, zero-heavy, zero-free and mixed', () => {
  const rnd = prng(0xc0b5);
  for (const len of testLengths(rnd)) {
    for (const zf of [0, 0.02, 0.15, 0.5, 1]) {
      const data = randomBytes(rnd, len, zf);
      const enc = new Uint8Array(cobsMaxEncodedBytes(len) + 2);
      const n = cobsEncode(data, enc, 0, -1, 1);
      assert.ok(n > 0 && n <= cobsMaxEncodedBytes(len), `len ${len}`);
      assert.is(n, cobsEncodedBytes(data));
      const body = enc.subarray(1, 1 + n);
      assert.ok(!body.includes(0), `no zero in output, len ${len}`);
      assert.is(toHex(cobsDecodeRef(body)!), toHex(data), `reference decodes len ${len} zf ${zf}`);
      const dec = new Uint8Array(len);
      assert.is(cobsDecode(enc, dec, 1, n), len);
      assert.is(toHex(dec), toHex(data));
    }
  }
});

vectors.run();
encode.run();
decode.run();
roundTrip.run();
