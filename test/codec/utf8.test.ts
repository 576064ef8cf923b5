import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeUtf8, decodeUtf8Strict, encodeUtf8, utf8Length } from '../../src/codec/utf8.ts';
import * as E from '../../src/wire/errors.ts';
import { prng } from './_random.ts';

const td = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const te = new TextEncoder();
function ref(b: Uint8Array): string | null {
  try { return td.decode(b); } catch { return null; }
}

const dec = suite('decodeUtf8 (strict)');

dec('agrees with TextDecoder {fatal} on 20000 random byte strings biased to UTF-8 edges', () => {
  const r = prng(42);
  const EDGE = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
  const buf = new Uint8Array(64);
  for (let i = 0; i < 20000; i++) {
    const n = Math.floor(r() * 24);
    for (let k = 0; k < n; k++) buf[k] = r() < 0.6 ? EDGE[Math.floor(r() * EDGE.length)]! : Math.floor(r() * 256);
    const b = buf.subarray(0, n);
    const want = ref(b);
    assert.is(decodeUtf8(buf, 0, n), want, `bytes ${Buffer.from(b).toString('hex')}`);
    assert.is(decodeUtf8Strict(buf, 0, n), want, `strict: bytes ${Buffer.from(b).toString('hex')}`);
  }
});

dec('known rejections and acceptances', () => {
  const d = (hex: string) => {
    const b = new Uint8Array(Buffer.from(hex, 'hex'));
    const r = decodeUtf8(b, 0, b.length);
    assert.is(decodeUtf8Strict(b, 0, b.length), r, `strict vs decodeUtf8: ${hex}`);
    // the same bytes after 20 ASCII bytes, so the long-string path is taken too
    const long = new Uint8Array(20 + b.length).fill(0x41);
    long.set(b, 20);
    const rl = decodeUtf8(long, 0, long.length);
    assert.is(rl, r === null ? null : 'A'.repeat(20) + r, `long: ${hex}`);
    return r;
  };
  for (const bad of ['c0af', 'c1bf', 'e080af', 'f08080af', 'eda080', 'edbfbf', 'f4908080', 'f5808080', 'ff', '80', 'e282', 'c3', 'f09f98']) assert.is(d(bad), null, bad);
  assert.is(d('efbbbf41'), '\ufeffA', 'BOM is kept');
  assert.is(d('f48fbfbf'), '\u{10ffff}');
  assert.is(d('ed9fbf'), '\ud7ff');
  assert.is(d('ee8080'), '\ue000');
  assert.is(d(''), '');
});

dec('long strings (past the 4096-unit chunk, up to 65535 bytes)', () => {
  const s = 'ab€😀'.repeat(7281) + 'xxxxxx'; // 9 × 7281 + 6 = 65535 bytes
  const b = te.encode(s);
  assert.is(b.length, 65535);
  assert.is(decodeUtf8Strict(b, 0, b.length), s);
  assert.is(decodeUtf8(b, 0, b.length), s);
});
dec.run();

const enc = suite('encodeUtf8');

enc('agrees with TextEncoder on random well-formed strings; utf8Length matches', () => {
  const r = prng(7);
  const buf = new Uint8Array(512);
  for (let i = 0; i < 5000; i++) {
    let s = '';
    const n = Math.floor(r() * 40);
    for (let k = 0; k < n; k++) {
      const x = r();
      s += x < 0.5 ? String.fromCharCode(Math.floor(r() * 128)) : x < 0.7 ? String.fromCharCode(0x80 + Math.floor(r() * 0x780))
        : x < 0.9 ? String.fromCharCode(0xe000 + Math.floor(r() * 0x2000)) : String.fromCodePoint(0x10000 + Math.floor(r() * 0xfffff));
    }
    const want = te.encode(s);
    const w = encodeUtf8(s, buf, 3, 500);
    assert.is(w, want.length);
    assert.is(Buffer.from(buf.subarray(3, 3 + w)).toString('hex'), Buffer.from(want).toString('hex'));
    assert.is(utf8Length(s), want.length);
  }
});

enc('lone surrogates are BAD_VALUE; over the bound is VALUE_OUT_OF_RANGE; no room is BUFFER_TOO_SMALL', () => {
  const buf = new Uint8Array(8);
  assert.is(encodeUtf8('a\ud800b', buf, 0, 8), -E.ERR_CODEC_BAD_VALUE);
  assert.is(encodeUtf8('\udfff', buf, 0, 8), -E.ERR_CODEC_BAD_VALUE);
  assert.is(encodeUtf8('\ud83d', buf, 0, 8), -E.ERR_CODEC_BAD_VALUE);
  assert.is(encodeUtf8('abcdefghi', buf, 0, 8), -E.ERR_CODEC_VALUE_OUT_OF_RANGE);
  assert.is(encodeUtf8('éééé', buf, 0, 7), -E.ERR_CODEC_VALUE_OUT_OF_RANGE);
  assert.is(encodeUtf8('abcd', buf, 5, 8), -E.ERR_CODEC_BUFFER_TOO_SMALL);
  assert.is(encodeUtf8('😀', buf, 4, 8), 4);
  assert.is(encodeUtf8('😀', buf, 5, 8), -E.ERR_CODEC_BUFFER_TOO_SMALL);
});
enc.run();
