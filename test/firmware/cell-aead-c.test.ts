// The device's ChaCha20-Poly1305 and HChaCha20 in C (firmware/runtime/cell-aead.c), built with the
// host cc into a temporary directory and driven through firmware/runtime/cell-aead-harness.c:
//  - every vector of test/vectors/secure-aead.json (RFC 8439 §2.3.2-§2.8.2, A.1-A.5; HChaCha20 of
//    draft-irtf-cfrg-xchacha-03 §2.2.1), the AEAD ones with tags of 16 and 8 bytes;
//  - truncated tags against @noble/ciphers; every single-bit flip of AD, ciphertext and tag refused
//    with the buffer untouched; the range errors of src/secure/aead.ts, plus the C-only ones
//    (u32 overflow, buf_len above 2^31 - 1);
//  - a differential run against both the portable TypeScript (src/secure: aeadSeal, aeadOpen,
//    hchacha20) and @noble/ciphers (chacha20poly1305, hchacha): 2,000 random cases (keys, nonces,
//    AD 0..64, plaintext 0..600 biased to block edges, tags 1..16, AD/text/tag in any order);
//    CELL_AEAD_C_FUZZ=<n> for more (CELL_AEAD_C_SEED=<n> for another sequence).
// With arm-none-eabi-gcc the Cortex-M3 build is measured (.text, no 64-bit multiplies, stack), and
// with qemu-system-arm it runs on mps2-an385: the §2.8.2 vector on the target, then instructions
// per operation under -icount (firmware/thermo-secure/bench's method: millis on the virtual clock).
// Without cc every test here is reported as skipped.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chacha20poly1305, hchacha } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { aeadOpen, aeadSeal } from '../../src/secure/aead.ts';
import { hchacha20 } from '../../src/secure/chacha20.ts';
import { fromHex, toHex } from '../helpers/hex.ts';
import { Prng } from '../helpers/prng.ts';
import { skipDeclared } from '../helpers/skip.ts';
import { loadAeadVectors } from '../secure/aead-vectors.ts';
import { callGraphStack, haveArm, haveCc, haveQemu, tempDirOnce } from '../helpers/c-tools.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const RT = join(root, 'firmware/runtime');
const BAD_TAG = -800;
const BAD_LENGTH = -801;



/** Registers `name` in `s`, or reports it skipped when a tool it needs is missing. */
function reg(s: ReturnType<typeof suite>, name: string, fn: () => void | Promise<void>, needs: Array<'cc' | 'arm' | 'qemu'> = ['cc']): void {
  const missing = needs.find((n) => !(n === 'cc' ? haveCc : n === 'arm' ? haveArm : haveQemu));
  if (missing === undefined) s(name, fn);
  else skipDeclared(s, name, { cc: 'no host C compiler (cc)', arm: 'no arm-none-eabi-gcc', qemu: 'no qemu-system-arm' }[missing]);
}

// ---- the host build and its harness ----

const tmpDir = tempDirOnce('aead');

let exe: string | null = null;
function harness(): string {
  if (exe === null) {
    const out = join(tmpDir(), 'harness');
    const r = spawnSync('cc', ['-std=c99', '-pedantic', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, 'cell-aead-harness.c'], { cwd: RT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc cell-aead-harness.c failed:\n${r.stdout}${r.stderr}`);
    exe = out;
  }
  return exe;
}

/** Runs harness lines; one answer per line. */
function ask(lines: string[]): string[] {
  const r = spawnSync(harness(), [], { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`harness exited ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  const out = r.stdout.split('\n');
  out.pop();
  assert.is(out.length, lines.length, 'one answer per line');
  return out;
}

const hx = (b: Uint8Array): string => (b.length === 0 ? '-' : Buffer.from(b).toString('hex'));
const unhex = (s: string): Uint8Array => (s === '-' ? new Uint8Array(0) : fromHex(s));

/** [adOff, adLen, txtOff, txtLen, tagOff, tagLen] (numbers as the C side gets them: u32). */
type Ranges = [number, number, number, number, number, number];

function aeadLine(op: 'seal' | 'open', key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, a: Ranges, bufLen?: number): string {
  return `${op} ${hx(key)} ${hx(nonce)} ${hx(buf)} ${a.map((v) => v >>> 0).join(' ')}${bufLen === undefined ? '' : ` ${bufLen >>> 0}`}`;
}

function parse(answer: string): { r: number; buf: Uint8Array } {
  const [r, b] = answer.split(' ');
  assert.ok(r !== undefined && b !== undefined && r !== 'error', `harness answer: ${answer.slice(0, 80)}`);
  return { r: Number(r), buf: unhex(b!) };
}

/** One seal or open through the harness: the result and the buffer after the call. */
function cCall(op: 'seal' | 'open', key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, a: Ranges, bufLen?: number): { r: number; buf: Uint8Array } {
  return parse(ask([aeadLine(op, key, nonce, buf, a, bufLen)])[0]!);
}

const V = loadAeadVectors();

/** `bytes` at offset `at` of a buffer of random filler, `extra` bytes longer than at + bytes. */
function placed(bytes: Uint8Array, at: number, extra = 5): Uint8Array {
  const b = new Uint8Array(at + bytes.length + extra);
  new Prng(at * 31 + bytes.length).fill(b);
  b.set(bytes, at);
  return b;
}

// ---- vectors ----

const vec = suite('firmware/runtime/cell-aead.c: RFC 8439 and XChaCha vectors (host cc)');

reg(vec, 'the vector file has every section', () => {
  assert.is(V.block.length, 6);
  assert.is(V.encrypt.length, 4);
  assert.is(V.poly1305.length, 12);
  assert.is(V.keygen.length, 6);
  assert.is(V.aead.length, 2);
  assert.is(V.hchacha20.length, 1);
});

reg(vec, 'ChaCha20 block function: RFC 8439 §2.3.2 and A.1 #1-#5', () => {
  const out = ask(V.block.map((t) => `block ${t.key} ${t.nonce} ${t.counter}`));
  V.block.forEach((t, i) => assert.is(out[i], t.out, t.name));
});

reg(vec, 'ChaCha20 encryption: RFC 8439 §2.4.2 and A.2 #1-#3, and back', () => {
  const out = ask(V.encrypt.flatMap((t) => [`xor ${t.key} ${t.nonce} ${t.counter} ${t.plaintext}`, `xor ${t.key} ${t.nonce} ${t.counter} ${t.ciphertext}`]));
  V.encrypt.forEach((t, i) => {
    assert.is(out[2 * i], t.ciphertext, t.name);
    assert.is(out[2 * i + 1], t.plaintext, `${t.name}: decryption`);
  });
});

reg(vec, 'Poly1305: RFC 8439 §2.5.2 and A.3 #1-#11', () => {
  const out = ask(V.poly1305.map((t) => `poly ${t.key} ${t.msg || '-'}`));
  V.poly1305.forEach((t, i) => assert.is(out[i], t.tag, t.name));
});

reg(vec, 'Poly1305 at the bounds of its 13-bit limbs: r all ones (as clamped) and 0xff messages, against noble', () => {
  // Random data keeps the limb sums far from 2^32; these make the row sums of poly_mul as large as
  // they get (a version without the carry between the half rows fails here, not on random cases).
  const rng = new Prng(0x13b1);
  const keys = [new Uint8Array(32).fill(0xff), new Uint8Array([...new Uint8Array(16).fill(0xff), ...new Uint8Array(16)])];
  for (let i = 0; i < 6; i++) {
    const k = new Uint8Array(32);
    rng.fill(k);
    k.fill(0xff, 0, 16);
    keys.push(k);
  }
  const msgs: Uint8Array[] = [];
  for (const n of [1, 15, 16, 17, 31, 32, 33, 64, 100, 256, 1000]) {
    msgs.push(new Uint8Array(n).fill(0xff));
    const m = new Uint8Array(n);
    rng.fill(m);
    msgs.push(m);
    // Blocks that push h to just below and above p = 2^130 - 5.
    msgs.push(new Uint8Array(n).map((_, j) => (j % 16 === 0 ? 0xfb : 0xff)));
  }
  // A first block chosen so that h = p - 1 - t afterwards (all limbs at or near 2^13 - 1), then
  // blocks of 0xff: the largest row sums poly_mul can meet (row 0 would pass 2^32 without the
  // carry between its halves). m1 = (p - 1 - t) / r - 2^128 mod p, for the first t where m1 < 2^128.
  const P = (1n << 130n) - 5n, B128 = 1n << 128n;
  const le = (b: Uint8Array): bigint => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
  const toLe = (n: bigint, len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  const pow = (b: bigint, e: bigint): bigint => { let x = 1n; for (; e > 0n; e >>= 1n, b = b * b % P) if (e & 1n) x = x * b % P; return x; };
  const crafted: [Uint8Array, Uint8Array][] = [];
  for (const k of keys) {
    const r = le(k.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
    const rInv = pow(r, P - 2n);
    for (let t = 0n; t < 64n; t++) {
      const m1 = (((P - 1n - t) * rInv - B128) % P + P) % P;
      if (m1 < B128) {
        crafted.push([k, new Uint8Array([...toLe(m1, 16), ...new Uint8Array(48).fill(0xff)])]);
        break;
      }
    }
  }
  assert.ok(crafted.length >= 4, `crafted ${crafted.length} saturating messages`);
  const lines: string[] = [], want: string[] = [];
  for (const [k, m] of crafted) {
    lines.push(`poly ${hx(k)} ${hx(m)}`);
    want.push(toHex(poly1305(m, k)));
  }
  for (const k of keys) {
    for (const m of msgs) {
      lines.push(`poly ${hx(k)} ${hx(m)}`);
      want.push(toHex(poly1305(m, k)));
    }
  }
  assert.equal(ask(lines), want);
});

reg(vec, 'Poly1305 key generation: RFC 8439 §2.6.2 and A.4 #1-#3 (block 0, first 32 bytes)', () => {
  const out = ask(V.keygen.map((t) => `block ${t.key} ${t.nonce} 0`));
  V.keygen.forEach((t, i) => assert.is(out[i]!.slice(0, 64), t.otk, t.name));
});

for (const t of V.aead) {
  reg(vec, `AEAD seal and open, tags of 16 and 8 bytes: ${t.name}`, () => {
    const ad = fromHex(t.ad), pt = fromHex(t.plaintext), key = fromHex(t.key), nonce = fromHex(t.nonce);
    for (const tagLen of [16, 8]) {
      // AD, plaintext, tag; 3 bytes of filler on each side.
      const buf = placed(new Uint8Array([...ad, ...pt, ...new Uint8Array(tagLen)]), 3, 3);
      const a: Ranges = [3, ad.length, 3 + ad.length, pt.length, 3 + ad.length + pt.length, tagLen];
      const s = cCall('seal', key, nonce, buf, a);
      assert.is(s.r, pt.length);
      assert.is(toHex(s.buf.subarray(a[2], a[4])), t.ciphertext);
      assert.is(toHex(s.buf.subarray(a[4], a[4] + tagLen)), t.tag.slice(0, 2 * tagLen), `tag prefix of ${tagLen}`);
      const want = buf.slice();
      want.set(s.buf.subarray(a[2], a[4] + tagLen), a[2]);
      assert.equal(s.buf, want, 'nothing but ciphertext and tag written');
      const o = cCall('open', key, nonce, s.buf, a);
      assert.is(o.r, pt.length);
      assert.is(toHex(o.buf.subarray(a[2], a[4])), t.plaintext);
    }
  });
  reg(vec, `AEAD decryption of the published ciphertext and tag, tag first: ${t.name}`, () => {
    const ad = fromHex(t.ad), ct = fromHex(t.ciphertext), tag = fromHex(t.tag);
    const o = cCall('open', fromHex(t.key), fromHex(t.nonce), new Uint8Array([...tag, ...ad, ...ct]), [16, ad.length, 16 + ad.length, ct.length, 0, 16]);
    assert.is(o.r, ct.length);
    assert.is(toHex(o.buf.subarray(16 + ad.length)), t.plaintext);
  });
}

reg(vec, 'HChaCha20: draft-irtf-cfrg-xchacha-03 §2.2.1, into a separate buffer and over the key', () => {
  const t = V.hchacha20[0]!;
  assert.is(ask([`hchacha ${t.key} ${t.input}`])[0], `${t.out} ${t.out}`);
});

reg(vec, 'the harness refuses malformed lines (so a wrong answer cannot pass as "error")', () => {
  assert.equal(ask(['nonsense', 'seal 00 00 00 0 0 0 0 0 1', 'hchacha 00']), ['error', 'error', 'error']);
});

vec.run();

// ---- truncated tags, tampering, ranges ----

const tags = suite('firmware/runtime/cell-aead.c: truncated tags, tampering, ranges (host cc)');

const KEY = fromHex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0');
const NONCE = fromHex('000000000102030405060708');
const AD20 = fromHex('ce120000010000001122334455667788' + '20000000'); // a 20-byte header
const PT32 = new Uint8Array(32).map((_, i) => (i * 37 + 5) & 0xff);
const FRAME = (tagLen: number): Ranges => [0, 20, 20, 32, 52, tagLen];

/** A frame AD(20) | ct(32) | tag(tagLen) sealed by the C code. */
function sealedFrame(tagLen: number): Uint8Array {
  const buf = new Uint8Array(52 + tagLen);
  buf.set(AD20);
  buf.set(PT32, 20);
  const s = cCall('seal', KEY, NONCE, buf, FRAME(tagLen));
  assert.is(s.r, 32);
  return s.buf;
}

reg(tags, 'tagLen 1..16: the ciphertext is noble\'s, the tag the prefix of noble\'s, and it opens', () => {
  const ref = chacha20poly1305(KEY, NONCE, AD20).encrypt(PT32);
  for (let tagLen = 1; tagLen <= 16; tagLen++) {
    const buf = sealedFrame(tagLen);
    assert.is(toHex(buf.subarray(20, 52)), toHex(ref.subarray(0, 32)), `ciphertext, tagLen ${tagLen}`);
    assert.is(toHex(buf.subarray(52)), toHex(ref.subarray(32, 32 + tagLen)), `tag, tagLen ${tagLen}`);
    const o = cCall('open', KEY, NONCE, buf, FRAME(tagLen));
    assert.is(o.r, 32);
    assert.equal(o.buf.subarray(20, 52), PT32);
  }
});

reg(tags, 'every single-bit flip of AD, ciphertext or tag is refused (-800), the buffer unchanged (tags of 16 and 8)', () => {
  for (const tagLen of [16, 8]) {
    const sealed = sealedFrame(tagLen);
    const lines: string[] = [];
    const tampered: Uint8Array[] = [];
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const buf = sealed.slice();
      buf[bit >> 3]! ^= 1 << (bit & 7);
      tampered.push(buf);
      lines.push(aeadLine('open', KEY, NONCE, buf, FRAME(tagLen)));
    }
    const out = ask(lines);
    out.forEach((answer, bit) => {
      const o = parse(answer);
      assert.is(o.r, BAD_TAG, `tagLen ${tagLen}, bit ${bit}`);
      assert.equal(o.buf, tampered[bit], `buffer changed: tagLen ${tagLen}, bit ${bit}`);
    });
    assert.is(out.length, (52 + tagLen) * 8);
    // A wrong key, nonce or AD length is refused too; a shorter prefix of a valid tag matches.
    const wrongKey = KEY.slice();
    wrongKey[31]! ^= 0x80;
    const wrongNonce = NONCE.slice();
    wrongNonce[0]! ^= 1;
    assert.is(cCall('open', wrongKey, NONCE, sealed, FRAME(tagLen)).r, BAD_TAG);
    assert.is(cCall('open', KEY, wrongNonce, sealed, FRAME(tagLen)).r, BAD_TAG);
    assert.is(cCall('open', KEY, NONCE, sealed, [0, 19, 20, 32, 52, tagLen]).r, BAD_TAG);
    assert.is(cCall('open', KEY, NONCE, sealed, FRAME(tagLen - 1)).r, 32);
  }
});

reg(tags, 'empty AD and empty plaintext: seal and open agree with noble', () => {
  for (const [adLen, ptLen] of [[0, 0], [0, 5], [7, 0]] as const) {
    const ad = AD20.subarray(0, adLen), pt = PT32.subarray(0, ptLen);
    const ref = chacha20poly1305(KEY, NONCE, ad).encrypt(pt);
    const a: Ranges = [0, adLen, adLen, ptLen, adLen + ptLen, 16];
    const s = cCall('seal', KEY, NONCE, new Uint8Array([...ad, ...pt, ...new Uint8Array(16)]), a);
    assert.is(s.r, ptLen);
    assert.is(toHex(s.buf.subarray(adLen)), toHex(ref));
    assert.is(cCall('open', KEY, NONCE, s.buf, a).r, ptLen);
  }
});

reg(tags, 'range errors: -801 and nothing written, for seal and open, as the portable aeadSeal/aeadOpen', () => {
  const base = sealedFrame(16);
  const n = base.length; // 68
  const ok = FRAME(16);
  // The cases of test/secure/aead.test.ts that apply (key and nonce are fixed-size pointers in C);
  // a negative number reaches C as its u32 (e.g. -1 as 0xffffffff).
  const bad: [string, Partial<Record<number, number>>][] = [
    ['negative AD offset', { 0: -1 }],
    ['negative AD length', { 1: -1 }],
    ['AD past the end', { 0: n - 10, 1: 11 }],
    ['negative text offset', { 2: -1 }],
    ['negative text length', { 3: -1 }],
    ['text past the end', { 2: 60, 3: 9 }],
    ['tag past the end', { 4: 53 }],
    ['negative tag offset', { 4: -1 }],
    ['tagLen 0', { 5: 0 }],
    ['tagLen 17', { 4: 0, 5: 17, 0: 17, 1: 3 }],
    ['tagLen -1', { 5: -1 }],
    ['tag overlapping the text', { 4: 51 }],
    ['tag overlapping the AD', { 4: 19, 5: 1 }],
    ['AD overlapping the text', { 1: 21 }],
    ['text inside the AD', { 0: 0, 1: 52, 2: 10, 3: 5 }],
    ['huge length (no overflow)', { 3: 0x7fffffff }],
    ['huge offset (no overflow)', { 2: 0x7fffffff, 3: 1 }],
  ];
  const cOnly: [string, Ranges, number?][] = [
    ['offset + length wraps at 2^32', [0xfffffff0, 0x20, 20, 32, 52, 16]],
    ['text length 2^32 - 1 at offset 1', [0, 0, 1, 0xffffffff, 52, 16]],
    ['tagLen 2^32 - 1', [0, 20, 20, 32, 52, 0xffffffff]],
    ['buf_len 2^31 (the result would not fit an int32_t)', ok, 0x80000000],
    ['buf_len 2^32 - 1', ok, 0xffffffff],
  ];
  const lines: string[] = [], names: string[] = [];
  for (const [name, change] of bad) {
    const a = ok.slice() as Ranges;
    for (const [i, v] of Object.entries(change)) a[Number(i)] = v!;
    for (const fn of [aeadSeal, aeadOpen]) {
      const portable = base.slice();
      assert.is(fn(KEY, 0, NONCE, 0, portable, ...a), BAD_LENGTH, `portable ${fn.name}: ${name}`);
      lines.push(aeadLine(fn === aeadSeal ? 'seal' : 'open', KEY, NONCE, base, a));
      names.push(`${fn === aeadSeal ? 'seal' : 'open'}: ${name}`);
    }
  }
  for (const [name, a, bufLen] of cOnly) {
    for (const op of ['seal', 'open'] as const) {
      lines.push(aeadLine(op, KEY, NONCE, base, a, bufLen));
      names.push(`${op}: ${name}`);
    }
  }
  ask(lines).forEach((answer, i) => {
    const o = parse(answer);
    assert.is(o.r, BAD_LENGTH, names[i]);
    assert.equal(o.buf, base, `wrote on ${names[i]}`);
  });
  // Adjacent ranges are fine, as are empty ranges anywhere inside the buffer (also at its end).
  assert.is(cCall('open', KEY, NONCE, base, ok).r, 32);
  assert.is(cCall('seal', KEY, NONCE, base, [30, 0, 31, 0, 0, 16]).r, 0);
  assert.is(cCall('seal', KEY, NONCE, base, [n, 0, n, 0, 0, 16]).r, 0);
  assert.is(cCall('seal', KEY, NONCE, base, [0, n - 16, n - 16, 0, n - 16, 16]).r, 0);
});

tags.run();

// ---- differential against the portable TypeScript and @noble/ciphers ----

const diff = suite('firmware/runtime/cell-aead.c: differential against src/secure and @noble/ciphers');

const EDGES = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256, 257, 511, 512, 513, 599, 600];
/** A length 0..max, half the time one at a block edge. */
function edgeLen(rng: Prng, max: number): number {
  if (rng.below(2) === 0) {
    const e = EDGES.filter((x) => x <= max);
    return e[rng.below(e.length)]!;
  }
  return rng.below(max + 1);
}

const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const words = (b: Uint8Array): Uint32Array => new Uint32Array(Array.from({ length: b.length / 4 }, (_, i) =>
  (b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24)) >>> 0));
const bytes = (w: Uint32Array): Uint8Array => Uint8Array.from({ length: w.length * 4 }, (_, i) => (w[i >> 2]! >>> ((i & 3) * 8)) & 0xff);

interface Case {
  key: Uint8Array; nonce: Uint8Array; a: Ranges;
  before: Uint8Array; sealed: Uint8Array; tampered: Uint8Array; hin: Uint8Array; sub: Uint8Array;
}

/**
 * One random case, with what the C code must answer, from noble and the portable code (which must
 * agree with each other first): the sealed buffer, the tampered one (one flipped bit of AD,
 * ciphertext or tag), and the HChaCha20 of the key and a random input.
 */
function makeCase(rng: Prng, failures: string[], it: number): Case {
  const key = new Uint8Array(32), nonce = new Uint8Array(12), hin = new Uint8Array(16);
  rng.fill(key);
  rng.fill(nonce);
  rng.fill(hin);
  const adLen = edgeLen(rng, 64), ptLen = edgeLen(rng, 600);
  const pick = rng.below(3);
  const tagLen = pick === 0 ? 16 : pick === 1 ? 8 : 1 + rng.below(16);
  // AD, plaintext and tag in a random order with gaps of 0..8 bytes, in a buffer of random bytes.
  const lens = [adLen, ptLen, tagLen], offs = [0, 0, 0];
  const order = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]][rng.below(6)]!;
  let at = rng.below(9);
  for (const w of order) { offs[w] = at; at += lens[w]! + rng.below(9); }
  const a: Ranges = [offs[0]!, adLen, offs[1]!, ptLen, offs[2]!, tagLen];
  const before = new Uint8Array(at);
  rng.fill(before);
  const ref = chacha20poly1305(key, nonce, before.slice(a[0], a[0] + adLen)).encrypt(before.slice(a[2], a[2] + ptLen));
  const sealed = before.slice();
  sealed.set(ref.subarray(0, ptLen), a[2]);
  sealed.set(ref.subarray(ptLen, ptLen + tagLen), a[4]);
  const portable = before.slice();
  const r = aeadSeal(key, 0, nonce, 0, portable, ...a);
  if (r !== ptLen || hx(portable) !== hx(sealed)) failures.push(`case ${it}: the portable seal differs from noble (${r})`);
  // With a tag under 4 bytes a changed AD or ciphertext matches by chance (1 in 2^(8 tagLen)):
  // there only the tag itself is flipped, which never matches.
  const bit = tagLen >= 4 ? rng.below((adLen + ptLen + tagLen) * 8) : (adLen + ptLen) * 8 + rng.below(tagLen * 8);
  const k = bit >> 3;
  const byteAt = k < adLen ? a[0] + k : k < adLen + ptLen ? a[2] + k - adLen : a[4] + k - adLen - ptLen;
  const tampered = sealed.slice();
  tampered[byteAt]! ^= 1 << (bit & 7);
  const t2 = tampered.slice();
  if (aeadOpen(key, 0, nonce, 0, t2, ...a) !== BAD_TAG || hx(t2) !== hx(tampered)) failures.push(`case ${it}: the portable open took a tampered frame`);
  const sub = new Uint8Array(32);
  hchacha20(key, 0, hin, 0, sub, 0);
  const o32 = new Uint32Array(8);
  hchacha(SIGMA, words(key), words(hin), o32);
  if (hx(bytes(o32)) !== hx(sub)) failures.push(`case ${it}: the portable hchacha20 differs from noble`);
  return { key, nonce, a, before, sealed, tampered, hin, sub };
}

interface DiffReport { cases: number; bytes: number; rejected: number; failures: string[] }

/** `n` cases from `seed`, in batches: per case seal, open, open of the tampered frame, HChaCha20. */
function runDiff(n: number, seed: number): DiffReport {
  const rng = new Prng(seed);
  const rep: DiffReport = { cases: 0, bytes: 0, rejected: 0, failures: [] };
  const BATCH = 1000;
  for (let done = 0; done < n && rep.failures.length <= 20; done += BATCH) {
    const cases: Case[] = [];
    const lines: string[] = [];
    for (let i = done; i < Math.min(n, done + BATCH); i++) {
      const c = makeCase(rng, rep.failures, i);
      cases.push(c);
      lines.push(aeadLine('seal', c.key, c.nonce, c.before, c.a), aeadLine('open', c.key, c.nonce, c.sealed, c.a),
        aeadLine('open', c.key, c.nonce, c.tampered, c.a), `hchacha ${hx(c.key)} ${hx(c.hin)}`);
    }
    const out = ask(lines);
    cases.forEach((c, j) => {
      const it = done + j;
      const fail = (what: string): void => { rep.failures.push(`case ${it} (seed ${seed}; ad ${c.a[1]} pt ${c.a[3]} tag ${c.a[5]}): ${what}`); };
      const s = parse(out[4 * j]!), o = parse(out[4 * j + 1]!), t = parse(out[4 * j + 2]!);
      const ptLen = c.a[3];
      if (s.r !== ptLen || hx(s.buf) !== hx(c.sealed)) return fail(`seal: ${s.r}, buffer ${hx(s.buf) === hx(c.sealed) ? 'right' : 'differs from noble and the portable code'}`);
      const opened = c.before.slice();
      opened.set(c.sealed.subarray(c.a[4], c.a[4] + c.a[5]), c.a[4]);
      if (o.r !== ptLen || hx(o.buf) !== hx(opened)) return fail(`open: ${o.r}, buffer ${hx(o.buf) === hx(opened) ? 'right' : 'wrong'}`);
      if (t.r !== BAD_TAG || hx(t.buf) !== hx(c.tampered)) return fail(`tampered open: ${t.r}, buffer ${hx(t.buf) === hx(c.tampered) ? 'untouched' : 'changed'}`);
      if (out[4 * j + 3] !== `${hx(c.sub)} ${hx(c.sub)}`) return fail('hchacha20 differs');
      rep.cases++;
      rep.bytes += ptLen;
      rep.rejected++;
    });
  }
  return rep;
}

const FUZZ = Number(process.env.CELL_AEAD_C_FUZZ ?? 2000);
const SEED = Number(process.env.CELL_AEAD_C_SEED ?? 0xc0aead);

reg(diff, `${FUZZ} random cases: seal, open, a tampered open and HChaCha20 agree with src/secure and noble`, () => {
  const t0 = Date.now();
  const rep = runDiff(FUZZ, SEED);
  console.log(`  cell-aead.c differential: ${rep.cases} cases (seed ${SEED}), ${rep.bytes} plaintext bytes, ` +
    `${rep.rejected} tampered frames refused, ${Date.now() - t0} ms`);
  assert.equal(rep.failures, []);
  assert.is(rep.cases, FUZZ);
  if (FUZZ >= 2000) assert.ok(rep.bytes > 100 * FUZZ, `only ${rep.bytes} bytes`);
});

diff.run();

// ---- the Cortex-M3 build ----

const target = suite('firmware/runtime/cell-aead.c: the Cortex-M3 build (arm-none-eabi-gcc -Os, qemu mps2-an385)');

// The brief's measurement flags; the firmware build (scripts/build-firmware.mjs CC_FLAGS) differs
// only in -g, -std=gnu11 and defines that do not touch this file.
const ARM_FLAGS = ['-mcpu=cortex-m3', '-mthumb', '-Os', '-ffunction-sections', '-fdata-sections', '-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror'];
const TEXT_LIMIT = 2355; // 2.3 KiB: seal, open and HChaCha20 together

function armGcc(args: string[], cwd: string): void {
  const r = spawnSync('arm-none-eabi-gcc', [...ARM_FLAGS, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`arm-none-eabi-gcc ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

reg(target, `.text within ${TEXT_LIMIT} B, no data or tables, no 64-bit multiply, the deepest call path within 1 KB of stack`, () => {
  const dir = mkdtempSync(join(tmpDir(), 'arm-'));
  armGcc(['-fstack-usage', '-fcallgraph-info=su', '-c', join(RT, 'cell-aead.c')], dir);
  const obj = join(dir, 'cell-aead.o');
  const size = spawnSync('arm-none-eabi-size', ['-A', obj], { encoding: 'utf8' });
  assert.is(size.status, 0, size.stderr);
  let text = 0;
  const fns: string[] = [];
  for (const m of size.stdout.matchAll(/^(\.text\S*|\.rodata\S*|\.data\S*|\.bss\S*)\s+(\d+)/gm)) {
    if (m[1]!.startsWith('.text')) {
      text += Number(m[2]);
      if (Number(m[2]) > 0) fns.push(`${m[1]!.replace(/^\.text\./, '')} ${m[2]}`);
    } else assert.is(Number(m[2]), 0, `${m[1]}: no data, no tables`);
  }
  const dis = spawnSync('arm-none-eabi-objdump', ['-d', obj], { encoding: 'utf8' });
  assert.is(dis.status, 0, dis.stderr);
  const long = dis.stdout.split('\n').filter((l) => /\t(u|s)(mull|mlal)/.test(l));
  assert.equal(long, [], 'no UMULL/UMLAL/SMULL/SMLAL (early termination: variable time on Cortex-M3)');
  assert.ok(!/__aeabi_/.test(dis.stdout), 'no compiler helper calls');
  const deepest = callGraphStack(dir, ['memcpy', 'memset']);
  const stacks = ['cell_aead_seal', 'cell_aead_open', 'cell_hchacha20'].map((f) => deepest(f));
  console.log(`  Cortex-M3 -Os: .text ${text} B (${fns.join(', ')})`);
  console.log(`  stack: seal ${stacks[0]![0]} B, open ${stacks[1]![0]} B, hchacha20 ${stacks[2]![0]} B + libc leaves (${stacks[0]![1].join(' > ')})`);
  assert.ok(text <= TEXT_LIMIT, `.text ${text} <= ${TEXT_LIMIT}`);
  for (const [s] of stacks) assert.ok(s <= 1024, `stack ${s} <= 1024`);
}, ['arm']);

reg(target, 'runs on mps2-an385: the §2.8.2 vector seals and opens; instructions per operation under qemu -icount', () => {
  const dir = mkdtempSync(join(tmpDir(), 'qemu-'));
  const elf = join(dir, 'bench.elf');
  // The firmware runtime's startup, SysTick and UART (cortex-m.c, board-mps2-an385.c) and its
  // linker script; the harness's -DCELL_AEAD_TARGET part as main().
  armGcc(['-g', '-DCELL_AEAD_TARGET', `-I${RT}`, '-nostartfiles', '-specs=nano.specs', '-specs=nosys.specs', '-Wl,--gc-sections',
    `-L${RT}`, `-T${join(RT, 'mps2-an385.ld')}`, '-o', elf,
    join(RT, 'cell-aead-harness.c'), join(RT, 'cortex-m.c'), join(RT, 'board-mps2-an385.c')], dir);
  const SHIFT = 3;
  const serial = join(dir, 'uart.txt');
  const t0 = Date.now();
  const q = spawnSync('qemu-system-arm', ['-M', 'mps2-an385', '-display', 'none', '-monitor', 'none', '-serial', `file:${serial}`,
    '-icount', `shift=${SHIFT}`, '-no-reboot', '-kernel', elf], { encoding: 'utf8', timeout: 120_000 });
  assert.is(q.status, 0, `qemu: ${q.error?.message ?? ''} ${q.stderr}`);
  const out = readFileSync(serial, 'latin1');
  const lines = out.trim().split('\n');
  assert.is(lines[lines.length - 1], 'bench done', out);
  const t = V.aead[0]!;
  assert.equal(lines[0]!.split(' '), ['check', '114', t.ciphertext + t.tag, '114', t.plaintext], 'RFC 8439 §2.8.2 on the target');
  const insn: Record<string, number> = {};
  for (const l of lines) {
    const m = l.match(/^bench (\S+) (\d+) (\d+)$/);
    if (m) insn[m[1]!] = (Number(m[3]) * 1e6) / 2 ** SHIFT / Number(m[2]);
  }
  // The conversion: the calibration loop is exactly 2000 instructions longer than the empty one.
  const calib = insn.calib! - insn.loop!;
  assert.ok(Math.abs(calib - 2000) < 20, `calibration: ${calib.toFixed(1)} instructions, expected 2000`);
  const seal = insn.seal! - insn.copy!, open = insn.open! - insn.copy!, refused = insn['open-refused']! - insn.copy!;
  const hch = insn.hchacha! - insn.loop!;
  const k = (x: number): string => `${(x / 1000).toFixed(2)}k`;
  console.log(`  mps2-an385, qemu -icount shift=${SHIFT} (${Date.now() - t0} ms), guest instructions per call, 20-byte AD + 32-byte payload + 8-byte tag:\n` +
    `    seal ${k(seal)}, open ${k(open)}, refused open ${k(refused)}, HChaCha20 ${k(hch)} (calibration ${calib.toFixed(0)}/2000)`);
  assert.ok(seal > 1000 && seal < 20_000, `seal: ${seal}`);
  assert.ok(open > 1000 && open < 20_000, `open: ${open}`);
  assert.ok(refused < open, 'a refused frame is not decrypted');
}, ['arm', 'qemu']);

target.run();
