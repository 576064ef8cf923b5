// Host speed of the portable ChaCha20-Poly1305 (src/secure/aead.ts, tsc build) for the frame
// shape of a secured link: 20-byte AD (the header) + 32-byte payload, 16-byte tag, sealed and opened
// in place in one buffer — next to @noble/ciphers' chacha20poly1305 (encrypt/decrypt with a fresh
// cipher object per message, its normal use) on the same bytes. Also HChaCha20 alone.
// Usage: node --import tsx bench/secure/aead.bench.ts [--rounds N]
// Method: every function is checked against noble first; then per round each candidate runs a
// fixed number of iterations (order alternating), µs/op is the median over rounds [min–max].
import { chacha20poly1305, hchacha } from '@noble/ciphers/chacha.js';
import { aeadOpen, aeadSeal } from '../../src/secure/aead.ts';
import { hchacha20 } from '../../src/secure/chacha20.ts';
import { Prng } from '../../test/helpers/prng.ts';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 15);
const AD = 20, PT = 32, TAG = 16;
const rng = new Prng(0xae4d);
const key = new Uint8Array(32), nonce = new Uint8Array(12), ad = new Uint8Array(AD), pt = new Uint8Array(PT);
rng.fill(key); rng.fill(nonce); rng.fill(ad); rng.fill(pt);

// One frame buffer: AD | payload | tag.
const frame = new Uint8Array(AD + PT + TAG);
const sealed = new Uint8Array(AD + PT + TAG);
frame.set(ad); frame.set(pt, AD);
if (aeadSeal(key, 0, nonce, 0, frame, 0, AD, AD, PT, AD + PT, TAG) !== PT) throw new Error('seal failed');
sealed.set(frame);
const ref = chacha20poly1305(key, nonce, ad).encrypt(pt);
if (Buffer.compare(Buffer.from(ref), Buffer.from(frame.subarray(AD))) !== 0) throw new Error('seal differs from noble');
if (aeadOpen(key, 0, nonce, 0, frame, 0, AD, AD, PT, AD + PT, TAG) !== PT || Buffer.compare(Buffer.from(frame.subarray(AD, AD + PT)), Buffer.from(pt)) !== 0) throw new Error('open failed');
const sub = new Uint8Array(32), hin = new Uint8Array(16);
rng.fill(hin);
hchacha20(key, 0, hin, 0, sub, 0);
const sigma = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const k32 = new Uint32Array(key.buffer.slice(0)), i32 = new Uint32Array(hin.buffer.slice(0)), o32 = new Uint32Array(8);
hchacha(sigma, k32, i32, o32);
if (Buffer.compare(Buffer.from(o32.buffer), Buffer.from(sub)) !== 0) throw new Error('hchacha20 differs from noble');

let sink = 0;
const cases: Record<string, (n: number) => void> = {
  'cell aeadSeal (in place)': (n) => {
    for (let i = 0; i < n; i++) { frame.set(pt, AD); sink ^= aeadSeal(key, 0, nonce, 0, frame, 0, AD, AD, PT, AD + PT, TAG); }
  },
  'noble encrypt': (n) => {
    for (let i = 0; i < n; i++) sink ^= chacha20poly1305(key, nonce, ad).encrypt(pt)[0]!;
  },
  'cell aeadOpen (in place)': (n) => {
    for (let i = 0; i < n; i++) { frame.set(sealed); sink ^= aeadOpen(key, 0, nonce, 0, frame, 0, AD, AD, PT, AD + PT, TAG); }
  },
  'noble decrypt': (n) => {
    for (let i = 0; i < n; i++) sink ^= chacha20poly1305(key, nonce, ad).decrypt(ref)[0]!;
  },
  'cell hchacha20': (n) => {
    for (let i = 0; i < n; i++) sink ^= hchacha20(key, 0, hin, 0, sub, 0);
  },
  'noble hchacha (Uint32Array words)': (n) => {
    for (let i = 0; i < n; i++) { hchacha(sigma, k32, i32, o32); sink ^= o32[0]!; }
  },
};

const ITER = 20_000;
for (const f of Object.values(cases)) f(ITER); // warm-up
const times: Record<string, number[]> = {};
const names = Object.keys(cases);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse();
  for (const name of order) {
    const t0 = performance.now();
    cases[name]!(ITER);
    (times[name] ??= []).push(((performance.now() - t0) * 1000) / ITER);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`ChaCha20-Poly1305, ${AD}-byte AD + ${PT}-byte payload, ${TAG}-byte tag; ${rounds} rounds × ${ITER} ops; Node ${process.version}`);
for (const name of names) {
  const t = times[name]!;
  console.log(`  ${name.padEnd(36)} ${med(t).toFixed(2).padStart(6)} µs/op  [${Math.min(...t).toFixed(2)}–${Math.max(...t).toFixed(2)}]`);
}
if (sink === 0x7fffffff) console.log('');
