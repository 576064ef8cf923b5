// src/secure in the AssemblyScript build: every vector of test/vectors/secure-aead.json (RFC 8439
// ChaCha20 block and encryption, Poly1305, key generation, AEAD; HChaCha20 of
// draft-irtf-cfrg-xchacha-03) through build/wasm/core.wasm (firmware/core/vectors-secure.ts), then
// 500 fixed-seed random cases differential against the tsc build: seal, open, a flipped bit,
// invalid ranges, HChaCha20, Poly1305 and ChaCha20 at any counter — same bytes, same codes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { aeadOpen, aeadSeal } from '../../src/secure/aead.ts';
import { chachaXor, hchacha20 } from '../../src/secure/chacha20.ts';
import { poly1305Mac } from '../../src/secure/poly1305.ts';
import { fromHex, toHex } from '../helpers/hex.ts';
import { Prng } from '../helpers/prng.ts';
import { CoreWasm, ROOT, ensureWasm, loadCore } from './wasm.ts';
import { loadAeadVectors } from '../secure/aead-vectors.ts';

ensureWasm();
// wasm.ts watches src/wire, src/framing and firmware/core; a change in src/secure rebuilds here.
const coreWasm = join(ROOT, 'build/wasm/core.wasm');
const secureDir = join(ROOT, 'src/secure');
const newestSecure = Math.max(...readdirSync(secureDir).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(secureDir, f)).mtimeMs));
if (!existsSync(coreWasm) || statSync(coreWasm).mtimeMs < newestSecure) {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-wasm.mjs'), '--target', 'core'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build-wasm.mjs --target core failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}
const wasm: CoreWasm = await loadCore();
const x = wasm.x;

const V = loadAeadVectors();

// Layout of the IN area: key at 0, nonce (12) or HChaCha20 input (16) at 32, the buffer from 64.
const KEY_AT = 0, NONCE_AT = 32, BUF_AT = 64;

/** A copy of IN[at, at+n) (the in-place results). */
function inBytes(at: number, n: number): Uint8Array {
  return wasm.memory8().slice(x.inPtr!() + at, x.inPtr!() + at + n);
}

const vec = suite('secure: RFC 8439 and XChaCha vectors through the asc build');

vec('the wasm build exports the secure entry', () => {
  for (const f of ['secureBlock', 'secureXor', 'securePoly1305', 'secureHChaCha', 'secureSeal', 'secureOpen']) assert.ok(wasm.has(f), f);
});

for (const t of V.block) {
  vec(`ChaCha20 block: ${t.name}`, () => {
    wasm.input(fromHex(t.key), KEY_AT);
    wasm.input(fromHex(t.nonce), NONCE_AT);
    assert.is(x.secureBlock!(KEY_AT, NONCE_AT, t.counter, 8), 64);
    assert.is(toHex(wasm.output(64, 8)), t.out);
  });
}

for (const t of V.keygen) {
  vec(`Poly1305 key generation: ${t.name}`, () => {
    wasm.input(fromHex(t.key), KEY_AT);
    wasm.input(fromHex(t.nonce), NONCE_AT);
    assert.is(x.secureBlock!(KEY_AT, NONCE_AT, 0, 0), 64);
    assert.is(toHex(wasm.output(32)), t.otk);
  });
}

for (const t of V.encrypt) {
  vec(`ChaCha20 encryption: ${t.name}`, () => {
    const pt = fromHex(t.plaintext);
    wasm.input(fromHex(t.key), KEY_AT);
    wasm.input(fromHex(t.nonce), NONCE_AT);
    wasm.input(pt, BUF_AT + 3);
    assert.is(x.secureXor!(KEY_AT, NONCE_AT, t.counter, BUF_AT + 3, pt.length), pt.length);
    assert.is(toHex(inBytes(BUF_AT + 3, pt.length)), t.ciphertext);
  });
}

for (const t of V.poly1305) {
  vec(`Poly1305: ${t.name}`, () => {
    const msg = fromHex(t.msg);
    wasm.input(fromHex(t.key), KEY_AT);
    wasm.input(msg, BUF_AT + 1);
    assert.is(x.securePoly1305!(KEY_AT, BUF_AT + 1, msg.length, 4), 16);
    assert.is(toHex(wasm.output(16, 4)), t.tag);
  });
}

for (const t of V.aead) {
  vec(`AEAD seal, open, and decryption of the published bytes: ${t.name}`, () => {
    const ad = fromHex(t.ad), pt = fromHex(t.plaintext);
    const a = ad.length, p = pt.length;
    wasm.input(fromHex(t.key), KEY_AT);
    wasm.input(fromHex(t.nonce), NONCE_AT);
    wasm.input(new Uint8Array([...ad, ...pt, ...new Uint8Array(16)]), BUF_AT);
    assert.is(x.secureSeal!(KEY_AT, NONCE_AT, BUF_AT, a + p + 16, 0, a, a, p, a + p, 16), p);
    assert.is(toHex(inBytes(BUF_AT, a + p + 16)), t.ad + t.ciphertext + t.tag);
    assert.is(x.secureOpen!(KEY_AT, NONCE_AT, BUF_AT, a + p + 16, 0, a, a, p, a + p, 16), p);
    assert.is(toHex(inBytes(BUF_AT + a, p)), t.plaintext);
    // The published ciphertext and tag, laid out tag | AD | ciphertext.
    wasm.input(new Uint8Array([...fromHex(t.tag), ...ad, ...fromHex(t.ciphertext)]), BUF_AT);
    assert.is(x.secureOpen!(KEY_AT, NONCE_AT, BUF_AT, 16 + a + p, 16, a, 16 + a, p, 0, 16), p);
    assert.is(toHex(inBytes(BUF_AT + 16 + a, p)), t.plaintext);
  });
}

for (const t of V.hchacha20) {
  vec(`HChaCha20: ${t.name}`, () => {
    wasm.input(fromHex(t.key), KEY_AT);
    wasm.input(fromHex(t.input), NONCE_AT);
    assert.is(x.secureHChaCha!(KEY_AT, NONCE_AT, 0), 32);
    assert.is(toHex(wasm.output(32)), t.out);
  });
}

vec.run();

// ---------------------------------------------------------------------------------------------

const diff = suite('secure: random differential (fixed seed): tsc build == asc build');

const EDGES = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 600];
const len = (r: Prng, max: number) => (r.below(2) === 0 ? EDGES.filter((e) => e <= max)[r.below(EDGES.filter((e) => e <= max).length)]! : r.below(max + 1));

diff('500 cases: seal, open, a flipped bit, an invalid range; HChaCha20, Poly1305, ChaCha20 at any counter', () => {
  const r = new Prng(0x5ec0);
  const key = new Uint8Array(32), nonce = new Uint8Array(12), in16 = new Uint8Array(16);
  let refused = 0, invalid = 0;
  for (let it = 0; it < 500; it++) {
    r.fill(key); r.fill(nonce); r.fill(in16);
    wasm.input(key, KEY_AT);
    const adLen = len(r, 64), ptLen = len(r, 600), tagLen = 1 + r.below(16);
    // AD | gap | plaintext | gap | tag, or tag first.
    const tagFirst = r.below(2) === 0;
    const g1 = r.below(4), g2 = r.below(4);
    const adOff = tagFirst ? tagLen + g1 : 0, ptOff = adOff + adLen + g2, tagOff = tagFirst ? 0 : ptOff + ptLen + g1;
    const n = tagFirst ? ptOff + ptLen : tagOff + tagLen;
    const buf = new Uint8Array(n);
    r.fill(buf);
    const ctx = `case ${it}: ad ${adLen} pt ${ptLen} tag ${tagLen}${tagFirst ? ' (tag first)' : ''}`;
    wasm.input(nonce, NONCE_AT);
    wasm.input(buf, BUF_AT);
    const args = [adOff, adLen, ptOff, ptLen, tagOff, tagLen] as const;

    // Seal.
    assert.is(aeadSeal(key, 0, nonce, 0, buf, ...args), ptLen, ctx);
    assert.is(x.secureSeal!(KEY_AT, NONCE_AT, BUF_AT, n, ...args), ptLen, ctx);
    assert.is(toHex(inBytes(BUF_AT, n)), toHex(buf), `sealed bytes: ${ctx}`);
    const sealed = buf.slice();

    // A flipped bit of AD, ciphertext or tag: -800 in both, nothing changed.
    // (With a tag under 4 bytes a changed AD or ciphertext byte can match by chance, 1 in 2^(8·tagLen):
    // then only the tag is flipped, which never matches.)
    const spans = [[adOff, adLen], [ptOff, ptLen], [tagOff, tagLen]].filter(([o, l]) => l! > 0 && (tagLen >= 4 || o === tagOff));
    const [so, sl] = spans[r.below(spans.length)]!;
    const at = so! + r.below(sl!), bit = 1 << r.below(8);
    buf[at] ^= bit;
    wasm.input(buf, BUF_AT);
    assert.is(aeadOpen(key, 0, nonce, 0, buf, ...args), -800, ctx);
    assert.is(x.secureOpen!(KEY_AT, NONCE_AT, BUF_AT, n, ...args), -800, ctx);
    assert.is(toHex(inBytes(BUF_AT, n)), toHex(buf), `refused open changed the wasm buffer: ${ctx}`);
    buf[at] ^= bit;
    refused++;

    // Open.
    wasm.input(buf, BUF_AT);
    assert.is(aeadOpen(key, 0, nonce, 0, buf, ...args), ptLen, ctx);
    assert.is(x.secureOpen!(KEY_AT, NONCE_AT, BUF_AT, n, ...args), ptLen, ctx);
    assert.is(toHex(inBytes(BUF_AT, n)), toHex(buf), `opened bytes: ${ctx}`);

    // One parameter made invalid: both refuse with the same code and change nothing.
    const bad = [...args] as number[];
    const which = r.below(6);
    bad[which] = [-1, n + 1, 0x7fffffff, which === 5 ? 17 : -5][r.below(4)]!;
    if (which === 5 && r.below(2) === 0) bad[5] = 0;
    const b2 = sealed.slice();
    wasm.input(b2, BUF_AT);
    const want = aeadSeal(key, 0, nonce, 0, b2, ...(bad as [number, number, number, number, number, number]));
    assert.is(x.secureSeal!(KEY_AT, NONCE_AT, BUF_AT, n, ...bad), want, `invalid ${which}: ${ctx}`);
    assert.is(toHex(inBytes(BUF_AT, n)), toHex(b2), `seal with a changed parameter: ${ctx}`);
    if (want === -801) {
      invalid++;
      assert.equal(b2, sealed, `refused seal changed the buffer: ${ctx}`);
    }

    // HChaCha20, Poly1305 over the sealed buffer, ChaCha20 from a counter near the wrap.
    wasm.input(in16, NONCE_AT);
    const sub = new Uint8Array(32);
    assert.is(hchacha20(key, 0, in16, 0, sub, 0), 32);
    assert.is(x.secureHChaCha!(KEY_AT, NONCE_AT, 0), 32);
    assert.is(toHex(wasm.output(32)), toHex(sub), `hchacha20: ${ctx}`);
    const tag = new Uint8Array(16);
    assert.is(poly1305Mac(key, 0, sealed, 0, n, tag, 0), 16);
    wasm.input(sealed, BUF_AT);
    assert.is(x.securePoly1305!(KEY_AT, BUF_AT, n, 0), 16);
    assert.is(toHex(wasm.output(16)), toHex(tag), `poly1305: ${ctx}`);
    const counter = r.below(2) === 0 ? (0xffffffff - r.below(12)) >>> 0 : r.next();
    wasm.input(nonce, NONCE_AT);
    assert.is(chachaXor(key, 0, nonce, 0, counter, sealed, 0, n), n);
    assert.is(x.secureXor!(KEY_AT, NONCE_AT, counter, BUF_AT, n), n);
    assert.is(toHex(inBytes(BUF_AT, n)), toHex(sealed), `chacha20 at counter ${counter}: ${ctx}`);
  }
  assert.is(refused, 500);
  assert.ok(invalid > 400, `only ${invalid} invalid-range cases`);
});

diff.run();
