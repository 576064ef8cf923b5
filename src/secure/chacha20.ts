// ChaCha20 (RFC 8439 §2.3 block function, §2.4 encryption) and HChaCha20
// (draft-irtf-cfrg-xchacha-03 §2.2: the first and last rows of the state after 20 rounds, no
// feed-forward).
//
// Portable core (docs/portable-subset.md): compiled by tsc and by asc. No allocation after module
// load: one module-level work area holds the 16 input words and the 16 working words. Key, nonce
// and data are read and written one byte at a time, little-endian (never a typed-array view over
// caller bytes).
//
// u32 arithmetic that agrees in both builds: additions `(a + b) | 0` (JS: int32 with the same
// bits as the wasm u32), rotations `(x << n) | (x >>> (32 - n))` (binaryen makes them i32.rotl,
// ROR on Cortex-M), xor; a word is only ever stored into the Uint32Array (which reduces it mod 2^32
// in JS) or taken apart with `(w >>> s) & 0xff`, so its JS sign never shows.
//
// Size over speed: the 20 rounds are one loop of 80 calls of one quarter-round function over the
// work area (10 double rounds of 8). The firmware build goes through wasm2c, where every memory
// access is a bounds-checked load or store in C; the form with 16 locals and the 8 quarter rounds
// of a double round written out took 1060 bytes of Cortex-M3 code against 340 for this one (and
// spills on Cortex-M3 anyway). bench/secure/aead.bench.ts gives the host cost.
//
// Constant time: no branch or index depends on the key, nonce, counter or data; loops depend only
// on lengths.

import { readU32LE } from '../wire/bytes.ts';
import { ERR_SECURE_BAD_LENGTH } from '../wire/errors.ts';

/** Bytes of a ChaCha20 key, nonce (RFC 8439: 96 bits), block; of an HChaCha20 input and output. */
export const CHACHA_KEY_BYTES: i32 = 32;
export const CHACHA_NONCE_BYTES: i32 = 12;
export const CHACHA_BLOCK_BYTES: i32 = 64;
export const HCHACHA_INPUT_BYTES: i32 = 16;
export const HCHACHA_OUTPUT_BYTES: i32 = 32;

// X[0..16): the input state (constants, key, counter, nonce). X[16..32): the working state, then
// the keystream block. Secret-bearing: chachaWipe() clears it (every exported call does).
const X: Uint32Array = new Uint32Array(32);
const W: i32 = 16;
/** True only in AssemblyScript (asc folds it): the tsc build takes the JavaScript fast path. */
const IN_WASM: bool = <i32>0.5 == 0;

/** True when [off, off+n) lies inside a buffer of `len` bytes (no overflow: every value is an i32). */
export function rangeInside(len: i32, off: i32, n: i32): bool {
  return off >= 0 && n >= 0 && off <= len - n;
}

/**
 * The input state X[0..16): the constants "expand 32-byte k", the key (words 4..11), and words
 * first..15 from src (little-endian, as every word). The block function (§2.3) takes first = 13
 * (the nonce; the caller sets the counter, word 12), HChaCha20 first = 12.
 */
function setup(key: Uint8Array, keyOff: i32, src: Uint8Array, srcOff: i32, first: i32): void {
  const x = X;
  x[0] = 0x61707865; // "expa"
  x[1] = 0x3320646e; // "nd 3"
  x[2] = 0x79622d32; // "2-by"
  x[3] = 0x6b206574; // "te k"
  for (let i = 4; i < 16; i++) {
    const fromKey = i < 12;
    if (fromKey || i >= first) x[i] = readU32LE(fromKey ? key : src, fromKey ? keyOff + 4 * i - 16 : srcOff + 4 * (i - first));
  }
}

/** X for the RFC 8439 block function (§2.3): constants, key, 32-bit block counter, 96-bit nonce. */
function setupIetf(key: Uint8Array, keyOff: i32, nonce: Uint8Array, nonceOff: i32, counter: u32): void {
  setup(key, keyOff, nonce, nonceOff, 13);
  X[12] = counter;
}

/** The quarter round of RFC 8439 §2.1 on X[a], X[b], X[c], X[d] (§2.2). */
function qr(a: i32, b: i32, c: i32, d: i32): void {
  const x = X;
  let xa: u32 = x[a], xb: u32 = x[b], xc: u32 = x[c], xd: u32 = x[d];
  xa = (xa + xb) | 0; xd ^= xa; xd = (xd << 16) | (xd >>> 16);
  xc = (xc + xd) | 0; xb ^= xc; xb = (xb << 12) | (xb >>> 20);
  xa = (xa + xb) | 0; xd ^= xa; xd = (xd << 8) | (xd >>> 24);
  xc = (xc + xd) | 0; xb ^= xc; xb = (xb << 7) | (xb >>> 25);
  x[a] = xa; x[b] = xb; x[c] = xc; x[d] = xd;
}

/**
 * X[16..32) = the 20 rounds of X[0..16) (10 double rounds: a column round and a diagonal round,
 * §2.3), plus X[0..16) when `feedForward` (the block function), not for HChaCha20.
 */
function rounds(feedForward: bool): void {
  if (!IN_WASM) {
    roundsInLocals(feedForward);
    return;
  }
  const x = X;
  for (let i = 0; i < 16; i++) x[W + i] = x[i];
  // 80 quarter rounds, 8 per double round: q & 7 = 0..3 the column round QR(i, 4+i, 8+i, 12+i),
  // 4..7 the diagonal round QR(i, 4+(i+1)%4, 8+(i+2)%4, 12+(i+3)%4), with i = q & 3.
  for (let q = 0; q < 80; q++) {
    const i = q & 3;
    const d = (q >>> 2) & 1;
    qr(W + i, W + 4 + ((i + d) & 3), W + 8 + ((i + 2 * d) & 3), W + 12 + ((i + 3 * d) & 3));
  }
  // The feed-forward as a mask, not a branch per word: all ones for the block function, 0 for HChaCha.
  const m: u32 = feedForward ? 0xffffffff : 0;
  for (let i = 0; i < 16; i++) x[W + i] = x[W + i] + (x[i] & m);
}

/**
 * `rounds` for V8 (tsc builds only; asc folds IN_WASM and drops it): the 16 words in locals and
 * the 8 quarter rounds of a double round written out, ~4× faster in JavaScript than the
 * array-indexed loop, which stays the firmware's form for its size (see the header). Same result:
 * every vector runs through both (the tsc and the wasm build).
 */
function roundsInLocals(feedForward: bool): void {
  const x = X;
    let x0: u32 = x[0], x1: u32 = x[1], x2: u32 = x[2], x3: u32 = x[3], x4: u32 = x[4], x5: u32 = x[5], x6: u32 = x[6], x7: u32 = x[7], x8: u32 = x[8], x9: u32 = x[9], x10: u32 = x[10], x11: u32 = x[11], x12: u32 = x[12], x13: u32 = x[13], x14: u32 = x[14], x15: u32 = x[15];
  for (let i = 0; i < 10; i++) {
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
  }
  const m: u32 = feedForward ? 0xffffffff : 0;
    x[W + 0] = x0 + (x[0] & m);
    x[W + 1] = x1 + (x[1] & m);
    x[W + 2] = x2 + (x[2] & m);
    x[W + 3] = x3 + (x[3] & m);
    x[W + 4] = x4 + (x[4] & m);
    x[W + 5] = x5 + (x[5] & m);
    x[W + 6] = x6 + (x[6] & m);
    x[W + 7] = x7 + (x[7] & m);
    x[W + 8] = x8 + (x[8] & m);
    x[W + 9] = x9 + (x[9] & m);
    x[W + 10] = x10 + (x[10] & m);
    x[W + 11] = x11 + (x[11] & m);
    x[W + 12] = x12 + (x[12] & m);
    x[W + 13] = x13 + (x[13] & m);
    x[W + 14] = x14 + (x[14] & m);
    x[W + 15] = x15 + (x[15] & m);
}

/** Byte i (0..63) of the keystream block X[16..32) serialised little-endian. */
function ks(i: i32): u32 {
  return (X[W + (i >>> 2)] >>> ((i & 3) << 3)) & 0xff;
}

/**
 * The ChaCha20 block function (RFC 8439 §2.3): the 64-byte keystream block for (key, counter,
 * nonce), written at out[outOff, outOff+64). Returns 64, or -ERR_SECURE_BAD_LENGTH (801) when key
 * (32 bytes), nonce (12) or the output range is not inside its buffer (nothing written).
 */
export function chachaBlock(key: Uint8Array, keyOff: i32, nonce: Uint8Array, nonceOff: i32, counter: u32,
  out: Uint8Array, outOff: i32): i32 {
  if (!rangeInside(key.length, keyOff, CHACHA_KEY_BYTES) || !rangeInside(nonce.length, nonceOff, CHACHA_NONCE_BYTES) ||
    !rangeInside(out.length, outOff, CHACHA_BLOCK_BYTES)) return -ERR_SECURE_BAD_LENGTH;
  setupIetf(key, keyOff, nonce, nonceOff, counter);
  rounds(true);
  for (let i = 0; i < CHACHA_BLOCK_BYTES; i++) out[outOff + i] = <u8>ks(i);
  chachaWipe();
  return CHACHA_BLOCK_BYTES;
}

/**
 * ChaCha20 encryption (RFC 8439 §2.4), in place: buf[off, off+len) ^= the keystream starting at
 * block `counter` (the AEAD uses 1; block 0 makes its Poly1305 key). Decryption is the same call.
 * The 32-bit counter wraps modulo 2^32 (the AEAD never gets near it: a buffer of < 2^31 bytes is
 * < 2^25 blocks). Returns len, or -ERR_SECURE_BAD_LENGTH (801) when a range is not inside its
 * buffer (nothing changed).
 */
export function chachaXor(key: Uint8Array, keyOff: i32, nonce: Uint8Array, nonceOff: i32, counter: u32,
  buf: Uint8Array, off: i32, len: i32): i32 {
  if (!rangeInside(key.length, keyOff, CHACHA_KEY_BYTES) || !rangeInside(nonce.length, nonceOff, CHACHA_NONCE_BYTES) ||
    !rangeInside(buf.length, off, len)) return -ERR_SECURE_BAD_LENGTH;
  chachaXorUnchecked(key, keyOff, nonce, nonceOff, counter, buf, off, len);
  chachaWipe();
  return len;
}

/**
 * @internal chachaXor without range checks and without the wipe: for src/secure callers that
 * checked every range themselves and call chachaWipe() when done (aead.ts).
 */
export function chachaXorUnchecked(key: Uint8Array, keyOff: i32, nonce: Uint8Array, nonceOff: i32, counter: u32,
  buf: Uint8Array, off: i32, len: i32): void {
  setupIetf(key, keyOff, nonce, nonceOff, counter);
  for (let done = 0; done < len; done += CHACHA_BLOCK_BYTES) {
    rounds(true);
    const n = len - done < CHACHA_BLOCK_BYTES ? len - done : CHACHA_BLOCK_BYTES;
    for (let i = 0; i < n; i++) buf[off + done + i] = <u8>((<u32>buf[off + done + i]) ^ ks(i));
    X[12] = X[12] + 1;
  }
}

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2): the ChaCha20 state with the key and the 16-byte
 * input in words 12..15, 20 rounds, no feed-forward; words 0..3 and 12..15 serialised little-endian
 * at out[outOff, outOff+32) (the XChaCha20 subkey). out may overlap key or in16 (both are read
 * first). Returns 32, or -ERR_SECURE_BAD_LENGTH (801) when a range is not inside its buffer.
 */
export function hchacha20(key: Uint8Array, keyOff: i32, in16: Uint8Array, inOff: i32, out: Uint8Array, outOff: i32): i32 {
  if (!rangeInside(key.length, keyOff, CHACHA_KEY_BYTES) || !rangeInside(in16.length, inOff, HCHACHA_INPUT_BYTES) ||
    !rangeInside(out.length, outOff, HCHACHA_OUTPUT_BYTES)) return -ERR_SECURE_BAD_LENGTH;
  setup(key, keyOff, in16, inOff, 12);
  rounds(false);
  // Bytes 0..15 and 48..63 of the result: words 0..3 and 12..15.
  for (let i = 0; i < 32; i++) out[outOff + i] = <u8>ks(i < 16 ? i : i + 32);
  chachaWipe();
  return HCHACHA_OUTPUT_BYTES;
}

/** Zero the module's key-bearing work area (input state and last keystream block). */
export function chachaWipe(): void {
  for (let i = 0; i < 32; i++) X[i] = 0;
}
