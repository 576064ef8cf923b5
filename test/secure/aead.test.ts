// src/secure (tsc build): ChaCha20, Poly1305 and ChaCha20-Poly1305 against every applicable test
// vector of RFC 8439 (§2.3.2, §2.4.2, §2.5.2, §2.6.2, §2.8.2, Appendix A.1-A.5) and HChaCha20
// against draft-irtf-cfrg-xchacha-03 §2.2.1, all from test/vectors/secure-aead.json (which the wasm
// build runs too: test/portable/secure-wasm.test.ts); truncated tags against @noble/ciphers'
// tag prefix; every single-bit flip of AD, ciphertext and tag refused with the buffer unchanged;
// range errors; and 2 000 differential cases against @noble/ciphers (the "secure-aead-diff" fuzz
// target, 100 000 cases in `npm run fuzz`).
// The §2.1.1 / §2.2.1 quarter-round vectors have no test of their own: the quarter round is not
// exported, and every block vector runs 80 of them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import * as errors from '../../src/wire/errors.ts';
import { aeadOpen, aeadSeal, AEAD_TAG_MAX_BYTES } from '../../src/secure/aead.ts';
import { chachaBlock, chachaXor, hchacha20 } from '../../src/secure/chacha20.ts';
import { poly1305Finish, poly1305Init, poly1305Mac, poly1305Pad16, poly1305Update } from '../../src/secure/poly1305.ts';
import { fromHex, toHex } from '../helpers/hex.ts';
import { Prng } from '../helpers/prng.ts';
import { runSecureAeadDiff } from '../fuzz/harness.ts';
import { loadAeadVectors } from './aead-vectors.ts';

const BAD_TAG = -800;
const BAD_LENGTH = -801;

const V = loadAeadVectors();

/** `bytes` at offset `at` of a buffer of random filler, `extra` bytes longer than at + bytes. */
function placed(bytes: Uint8Array, at: number, extra = 5): Uint8Array {
  const b = new Uint8Array(at + bytes.length + extra);
  new Prng(at * 31 + bytes.length).fill(b);
  b.set(bytes, at);
  return b;
}

const vec = suite('secure: RFC 8439 and XChaCha vectors (tsc build)');

vec('the vector file has every section', () => {
  assert.is(V.block.length, 6);
  assert.is(V.encrypt.length, 4);
  assert.is(V.poly1305.length, 12);
  assert.is(V.keygen.length, 6);
  assert.is(V.aead.length, 2);
  assert.is(V.hchacha20.length, 1);
});

for (const t of V.block) {
  vec(`ChaCha20 block: ${t.name}`, () => {
    const out = placed(new Uint8Array(64), 3);
    const before = out.slice();
    assert.is(chachaBlock(placed(fromHex(t.key), 7), 7, placed(fromHex(t.nonce), 1), 1, t.counter, out, 3), 64);
    assert.is(toHex(out.subarray(3, 67)), t.out);
    assert.equal(out.subarray(0, 3), before.subarray(0, 3));
    assert.equal(out.subarray(67), before.subarray(67));
  });
}

for (const t of V.encrypt) {
  vec(`ChaCha20 encryption: ${t.name}`, () => {
    const pt = fromHex(t.plaintext);
    const key = fromHex(t.key), nonce = fromHex(t.nonce);
    const buf = placed(pt, 9);
    assert.is(chachaXor(key, 0, nonce, 0, t.counter, buf, 9, pt.length), pt.length);
    assert.is(toHex(buf.subarray(9, 9 + pt.length)), t.ciphertext);
    assert.is(chachaXor(key, 0, nonce, 0, t.counter, buf, 9, pt.length), pt.length);
    assert.is(toHex(buf.subarray(9, 9 + pt.length)), t.plaintext, 'decryption is the same call');
  });
}

for (const t of V.poly1305) {
  vec(`Poly1305: ${t.name}`, () => {
    const msg = fromHex(t.msg);
    const out = new Uint8Array(20);
    assert.is(poly1305Mac(placed(fromHex(t.key), 2), 2, placed(msg, 4), 4, msg.length, out, 4), 16);
    assert.is(toHex(out.subarray(4)), t.tag);
  });
}

vec('Poly1305: every split of the §2.5.2 and A.3 #2 messages into two updates gives the one-shot tag', () => {
  for (const t of [V.poly1305[0]!, V.poly1305[2]!]) {
    const msg = fromHex(t.msg), key = fromHex(t.key), out = new Uint8Array(16);
    for (let cut = 0; cut <= msg.length; cut++) {
      poly1305Init(key, 0);
      poly1305Update(msg, 0, cut);
      poly1305Update(msg, cut, msg.length - cut);
      poly1305Finish(out, 0);
      assert.is(toHex(out), t.tag, `cut at ${cut}`);
    }
  }
});

vec('Poly1305: pad16 is zero padding to a full block (§2.8.1), against noble on the padded message', () => {
  const r = new Prng(0x9ad);
  const key = new Uint8Array(32), out = new Uint8Array(16);
  for (let n = 0; n <= 40; n++) {
    r.fill(key);
    const msg = new Uint8Array(n);
    r.fill(msg);
    poly1305Init(key, 0);
    poly1305Update(msg, 0, n);
    poly1305Pad16();
    poly1305Update(msg, 0, n);
    poly1305Finish(out, 0);
    const pad = (x: number) => (16 - (x % 16)) % 16;
    const padded = new Uint8Array(n + pad(n) + n);
    padded.set(msg, 0);
    padded.set(msg, n + pad(n));
    assert.is(toHex(out), toHex(poly1305(padded, key)), `length ${n}`);
  }
});

for (const t of V.keygen) {
  vec(`Poly1305 key generation: ${t.name}`, () => {
    const out = new Uint8Array(64);
    assert.is(chachaBlock(fromHex(t.key), 0, fromHex(t.nonce), 0, 0, out, 0), 64);
    assert.is(toHex(out.subarray(0, 32)), t.otk);
  });
}

for (const t of V.aead) {
  vec(`AEAD seal and open: ${t.name}`, () => {
    const ad = fromHex(t.ad), pt = fromHex(t.plaintext), key = fromHex(t.key), nonce = fromHex(t.nonce);
    // The frame layout: AD, then the plaintext, then the tag; 3 bytes of filler on each side.
    const buf = placed(new Uint8Array([...ad, ...pt, ...new Uint8Array(16)]), 3, 3);
    const adOff = 3, ptOff = 3 + ad.length, tagOff = ptOff + pt.length;
    assert.is(aeadSeal(key, 0, nonce, 0, buf, adOff, ad.length, ptOff, pt.length, tagOff, 16), pt.length);
    assert.is(toHex(buf.subarray(ptOff, tagOff)), t.ciphertext);
    assert.is(toHex(buf.subarray(tagOff, tagOff + 16)), t.tag);
    assert.is(toHex(buf.subarray(adOff, ptOff)), t.ad, 'AD untouched');
    assert.is(aeadOpen(key, 0, nonce, 0, buf, adOff, ad.length, ptOff, pt.length, tagOff, 16), pt.length);
    assert.is(toHex(buf.subarray(ptOff, tagOff)), t.plaintext);
  });
  vec(`AEAD decryption of the published ciphertext and tag, tag first: ${t.name}`, () => {
    const ad = fromHex(t.ad), ct = fromHex(t.ciphertext), tag = fromHex(t.tag);
    const buf = new Uint8Array([...tag, ...ad, ...ct]);
    assert.is(aeadOpen(fromHex(t.key), 0, fromHex(t.nonce), 0, buf, 16, ad.length, 16 + ad.length, ct.length, 0, 16), ct.length);
    assert.is(toHex(buf.subarray(16 + ad.length)), t.plaintext);
  });
}

for (const t of V.hchacha20) {
  vec(`HChaCha20: ${t.name}`, () => {
    const out = placed(new Uint8Array(32), 5);
    const before = out.slice();
    assert.is(hchacha20(placed(fromHex(t.key), 1), 1, placed(fromHex(t.input), 6), 6, out, 5), 32);
    assert.is(toHex(out.subarray(5, 37)), t.out);
    assert.equal(out.subarray(37), before.subarray(37));
    // In place over the key (XChaCha20 derives a subkey into its own key buffer).
    const key = fromHex(t.key);
    assert.is(hchacha20(key, 0, fromHex(t.input), 0, key, 0), 32);
    assert.is(toHex(key), t.out);
  });
}

vec.run();

// ---------------------------------------------------------------------------------------------

const tags = suite('secure: truncated tags, tampering, ranges');

const KEY = fromHex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0');
const NONCE = fromHex('000000000102030405060708');
const AD20 = fromHex('ce120000010000001122334455667788' + '20000000'); // a 20-byte header
const PT32 = new Uint8Array(32).map((_, i) => (i * 37 + 5) & 0xff);

/** A sealed frame AD(20) | ct(32) | tag(tagLen). */
function sealedFrame(tagLen: number): Uint8Array {
  const buf = new Uint8Array(52 + tagLen);
  buf.set(AD20);
  buf.set(PT32, 20);
  assert.is(aeadSeal(KEY, 0, NONCE, 0, buf, 0, 20, 20, 32, 52, tagLen), 32);
  return buf;
}

tags('tagLen 1..16: the tag is the prefix of noble\'s 16-byte tag, the ciphertext noble\'s, and it opens', () => {
  const ref = chacha20poly1305(KEY, NONCE, AD20).encrypt(PT32);
  for (let tagLen = 1; tagLen <= AEAD_TAG_MAX_BYTES; tagLen++) {
    const buf = sealedFrame(tagLen);
    assert.is(toHex(buf.subarray(20, 52)), toHex(ref.subarray(0, 32)), `ciphertext, tagLen ${tagLen}`);
    assert.is(toHex(buf.subarray(52)), toHex(ref.subarray(32, 32 + tagLen)), `tag, tagLen ${tagLen}`);
    assert.is(aeadOpen(KEY, 0, NONCE, 0, buf, 0, 20, 20, 32, 52, tagLen), 32);
    assert.equal(buf.subarray(20, 52), PT32);
  }
});

tags('every single-bit flip of AD, ciphertext or tag is refused (-800) and leaves the buffer unchanged (tags of 16, 8, 4)', () => {
  for (const tagLen of [16, 8, 4]) {
    const sealed = sealedFrame(tagLen);
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const buf = sealed.slice();
      buf[bit >> 3] ^= 1 << (bit & 7);
      const tampered = buf.slice();
      assert.is(aeadOpen(KEY, 0, NONCE, 0, buf, 0, 20, 20, 32, 52, tagLen), BAD_TAG, `tagLen ${tagLen}, bit ${bit}`);
      assert.equal(buf, tampered, `buffer changed: tagLen ${tagLen}, bit ${bit}`);
    }
    // A wrong key, nonce, AD length or tag length is refused too.
    const wrongKey = KEY.slice();
    wrongKey[31] ^= 0x80;
    const wrongNonce = NONCE.slice();
    wrongNonce[0] ^= 1;
    assert.is(aeadOpen(wrongKey, 0, NONCE, 0, sealed.slice(), 0, 20, 20, 32, 52, tagLen), BAD_TAG);
    assert.is(aeadOpen(KEY, 0, wrongNonce, 0, sealed.slice(), 0, 20, 20, 32, 52, tagLen), BAD_TAG);
    assert.is(aeadOpen(KEY, 0, NONCE, 0, sealed.slice(), 0, 19, 20, 32, 52, tagLen), BAD_TAG);
    if (tagLen > 1) assert.is(aeadOpen(KEY, 0, NONCE, 0, sealed.slice(), 0, 20, 20, 32, 52, tagLen - 1), 32, 'a shorter prefix of a valid tag still matches');
  }
});

tags('empty AD and empty plaintext: seal and open agree with noble', () => {
  for (const [adLen, ptLen] of [[0, 0], [0, 5], [7, 0]] as const) {
    const ad = AD20.subarray(0, adLen), pt = PT32.subarray(0, ptLen);
    const ref = chacha20poly1305(KEY, NONCE, ad).encrypt(pt);
    const buf = new Uint8Array([...ad, ...pt, ...new Uint8Array(16)]);
    assert.is(aeadSeal(KEY, 0, NONCE, 0, buf, 0, adLen, adLen, ptLen, adLen + ptLen, 16), ptLen);
    assert.is(toHex(buf.subarray(adLen)), toHex(ref));
    assert.is(aeadOpen(KEY, 0, NONCE, 0, buf, 0, adLen, adLen, ptLen, adLen + ptLen, 16), ptLen);
  }
});

tags('range errors: -801 and nothing written, for seal and open', () => {
  const base = sealedFrame(16);
  const n = base.length; // 68
  // [keyBuf, keyOff, nonceBuf, nonceOff, adOff, adLen, txtOff, txtLen, tagOff, tagLen]
  type Args = [Uint8Array, number, Uint8Array, number, number, number, number, number, number, number];
  const ok: Args = [KEY, 0, NONCE, 0, 0, 20, 20, 32, 52, 16];
  const bad: [string, Partial<Record<number, unknown>>][] = [
    ['key of 31 bytes', { 0: KEY.subarray(0, 31) }],
    ['key offset past the end', { 1: 1 }],
    ['negative key offset', { 1: -1 }],
    ['nonce of 11 bytes', { 2: NONCE.subarray(0, 11) }],
    ['nonce offset past the end', { 3: 1 }],
    ['negative AD offset', { 4: -1 }],
    ['negative AD length', { 5: -1 }],
    ['AD past the end', { 4: n - 10, 5: 11 }],
    ['negative text offset', { 6: -1 }],
    ['negative text length', { 7: -1 }],
    ['text past the end', { 6: 60, 7: 9 }],
    ['tag past the end', { 8: 53 }],
    ['negative tag offset', { 8: -1 }],
    ['tagLen 0', { 9: 0 }],
    ['tagLen 17', { 8: 0, 9: 17, 4: 17, 5: 3 }],
    ['tagLen -1', { 9: -1 }],
    ['tag overlapping the text', { 8: 51 }],
    ['tag overlapping the AD', { 8: 19, 9: 1 }],
    ['AD overlapping the text', { 5: 21 }],
    ['huge length (no overflow)', { 7: 0x7fffffff }],
    ['huge offset (no overflow)', { 6: 0x7fffffff, 7: 1 }],
  ];
  for (const [name, change] of bad) {
    const a = ok.slice() as Args;
    for (const [i, v] of Object.entries(change)) (a as unknown[])[Number(i)] = v;
    for (const fn of [aeadSeal, aeadOpen]) {
      const buf = base.slice();
      assert.is(fn(a[0], a[1], a[2], a[3], buf, a[4], a[5], a[6], a[7], a[8], a[9]), BAD_LENGTH, `${fn.name}: ${name}`);
      assert.equal(buf, base, `${fn.name} wrote on ${name}`);
    }
  }
  // Adjacent ranges are fine, as are empty ranges anywhere inside the buffer.
  assert.is(aeadOpen(KEY, 0, NONCE, 0, base.slice(), 0, 20, 20, 32, 52, 16), 32);
  assert.is(aeadSeal(KEY, 0, NONCE, 0, base.slice(), 30, 0, 31, 0, 0, 16), 0);
});

tags('range errors of chachaBlock, chachaXor, hchacha20 and poly1305Mac: -801 and nothing written', () => {
  const out = new Uint8Array(64).fill(0xa5);
  assert.is(chachaBlock(KEY, 1, NONCE, 0, 0, out, 0), BAD_LENGTH);
  assert.is(chachaBlock(KEY, 0, NONCE, 1, 0, out, 0), BAD_LENGTH);
  assert.is(chachaBlock(KEY, 0, NONCE, 0, 0, out, 1), BAD_LENGTH);
  assert.is(chachaXor(KEY, 0, NONCE, 0, 1, out, 60, 5), BAD_LENGTH);
  assert.is(chachaXor(KEY, 0, NONCE, 0, 1, out, -1, 5), BAD_LENGTH);
  assert.is(chachaXor(KEY, 0, NONCE, 0, 1, out, 0, -1), BAD_LENGTH);
  assert.is(hchacha20(KEY, 0, NONCE, 0, out, 0), BAD_LENGTH, 'a 12-byte input');
  assert.is(hchacha20(KEY, 0, out, 49, out, 0), BAD_LENGTH);
  assert.is(hchacha20(KEY, 0, out, 0, out, 33), BAD_LENGTH);
  assert.is(poly1305Mac(KEY.subarray(0, 31), 0, out, 0, 1, out, 0), BAD_LENGTH);
  assert.is(poly1305Mac(KEY, 0, out, 10, 55, out, 0), BAD_LENGTH);
  assert.is(poly1305Mac(KEY, 0, out, 0, 1, out, 49), BAD_LENGTH);
  assert.ok(out.every((b) => b === 0xa5));
  assert.is(chachaXor(KEY, 0, NONCE, 0, 1, out, 64, 0), 0, 'an empty range at the end is fine');
});

tags('the counter wraps mod 2^32 inside one chachaXor (RFC 8439 §2.4 32-bit counter)', () => {
  const a = new Uint8Array(128), b = new Uint8Array(64);
  chachaXor(KEY, 0, NONCE, 0, 0xffffffff, a, 0, 128);
  chachaBlock(KEY, 0, NONCE, 0, 0, b, 0);
  assert.equal(a.subarray(64), b);
});

tags('error codes: 800 and 801, the names the lead adds to src/wire/errors.ts', () => {
  const e = errors as unknown as Record<string, unknown>;
  if ('ERR_SECURE_BAD_TAG' in e) assert.is(e.ERR_SECURE_BAD_TAG, 800);
  if ('ERR_SECURE_BAD_LENGTH' in e) assert.is(e.ERR_SECURE_BAD_LENGTH, 801);
});

tags.run();

// ---------------------------------------------------------------------------------------------

const diff = suite('secure: differential against @noble/ciphers (fixed seed)');

diff('2 000 random cases (AD 0..64, plaintext 0..600, tags 1..16, any layout): seal, open, tamper, HChaCha20', () => {
  const report = runSecureAeadDiff(2_000, 0xce11);
  assert.equal(report.failures, []);
  assert.is(report.rejected, 2_000);
  assert.ok(report.bytes > 100_000, `only ${report.bytes} bytes`);
});

diff.run();
