// Poly1305 (RFC 8439 §2.5): the one-time authenticator, with the AEAD's pad16 step (§2.8.1).
//
// Portable core (docs/portable-subset.md): compiled by tsc and by asc. No u64 (tsc has none; all
// values are JS numbers), so the poly1305-donna-16 scheme: the 130-bit accumulator h and the
// clamped key r as 10 limbs of 13 bits, 32-bit accumulators, a carry in the middle of every row.
// Only 32×32→32 multiplies whose products are < 2^30: exact as JS doubles and as wasm i32.mul, and
// on Cortex-M3 a single-cycle MUL/MLA — constant time, unlike the 64-bit UMULL/UMLAL, whose early
// termination makes the 26-bit-limb donna-32 variable-time on that core.
//
// Why no sum reaches 2^32 (so `>>>` and `&` see the true value in JS, and a u32 never wraps in
// wasm):
//   - every r limb is ≤ 0x1fff, so a row factor (r_k or 5·r_k) is ≤ 5·8191 = 40955;
//   - between blocks every h limb is ≤ 0x1fff except h0 ≤ 0x1fff + 5 (carry() below), and a
//     message limb is ≤ 0x1fff (limb 9: ≤ 0xfff with the 2^128 bit), so h_j + m_j ≤ 16387;
//   - one product ≤ 16387 · 40955 = 671,129,585 (< 2^29.4);
//   - a half row is 5 products plus a carry-in < 2^20:
//       < 5 · 671,129,585 + 2^20 = 3,356,696,501 < 2^32 = 4,294,967,296;
//   - the carry out of a half row is < 2^32 / 2^13 = 2^19, the two of a row < 2^20 (the carry-in
//     above); the second half starts from the masked first half (< 2^13), not from a carry;
//   - carry() after the last row: limb 0 gets d0 + 5·c < 2^13 + 5·2^20 < 2^23, so the carry into
//     limb 1 is < 2^10, into limbs 2..9 and out of limb 9 at most 1: h0 ends ≤ 0x1fff + 5.
//
// State: one MAC at a time, in module-level work areas allocated at load (no allocation per
// call): poly1305Init → poly1305Update / poly1305Pad16 (any number) → poly1305Finish, which wipes
// the state. Callers check their ranges first (rule 7 of the subset); poly1305Mac is the checked
// one-shot form. Constant time: no branch or index depends on key or message bytes; the partial-
// block logic depends only on lengths. Loops rather than written-out limb code: in the firmware
// build (wasm2c) every array access is a bounds-checked load/store in C, so code size follows the
// number of access sites.

import { readU32LE } from '../wire/bytes.ts';
import { ERR_SECURE_BAD_LENGTH } from '../wire/errors.ts';

export const POLY1305_KEY_BYTES: i32 = 32;
export const POLY1305_TAG_BYTES: i32 = 16;

// L[R + 10 + k] = r_k and L[R + k] = 5·r_k (k = 1..9): row i of the product takes
// h_j · L[R + 10 + i - j] for every j — r_{i-j} when j ≤ i, 5·r_{10+i-j} (2^130 ≡ 5 mod p) when
// j > i — with no branch (L[R] is unused). L[H..H+10): the accumulator. L[D..D+10): the product
// rows in block().
const L: Uint32Array = new Uint32Array(40);
const R: i32 = 0;
const H: i32 = 20;
const D: i32 = 30;
// B[0, POS): a partial block waiting for more bytes; B[16..32): s, the second half of the key.
const B: Uint8Array = new Uint8Array(32);
let POS: i32 = 0;

/**
 * Add the 130-bit little-endian number b[o, o+16) + top·2^128 to the 10 limbs L[at, at+10), limb k
 * being bits 13k..13k+12: the four little-endian words cut at the limb boundaries (limb 2 takes
 * bits 26..31 of w0 and 0..6 of w1, and so on). `top` (0 or 1) is bit 128, so b is never read
 * past o+15. Straight-line: a third of the time of a byte-by-byte bit accumulator in both builds.
 */
function addLimbs(b: Uint8Array, o: i32, top: u32, at: i32): void {
  const w0 = readU32LE(b, o);
  const w1 = readU32LE(b, o + 4);
  const w2 = readU32LE(b, o + 8);
  const w3 = readU32LE(b, o + 12);
  const l = L;
  l[at] += w0 & 0x1fff;
  l[at + 1] += (w0 >>> 13) & 0x1fff;
  l[at + 2] += ((w0 >>> 26) | (w1 << 6)) & 0x1fff;
  l[at + 3] += (w1 >>> 7) & 0x1fff;
  l[at + 4] += ((w1 >>> 20) | (w2 << 12)) & 0x1fff;
  l[at + 5] += (w2 >>> 1) & 0x1fff;
  l[at + 6] += (w2 >>> 14) & 0x1fff;
  l[at + 7] += ((w2 >>> 27) | (w3 << 5)) & 0x1fff;
  l[at + 8] += (w3 >>> 8) & 0x1fff;
  l[at + 9] += (w3 >>> 21) | (top << 11);
}

/** Start a MAC with the 32-byte one-time key at key[keyOff]: r (clamped, §2.5) and s. Unchecked. */
export function poly1305Init(key: Uint8Array, keyOff: i32): void {
  poly1305Wipe();
  // r, clamped as in §2.5 (r[3], r[7], r[11], r[15] &= 15; r[4], r[8], r[12] &= 252, i.e.
  // r &= 0x0ffffffc0ffffffc0ffffffc0fffffff), into B[0..16); s into B[16..32). The mask depends
  // on the index i only, never on key bytes.
  for (let i = 0; i < 32; i++) {
    const mask: i32 = i >= 16 ? 255 : (i & 3) == 3 ? 15 : (i & 3) == 0 && i > 0 ? 252 : 255;
    B[i] = <u8>((<i32>key[keyOff + i]) & mask);
  }
  addLimbs(B, 0, 0, R + 10);
  for (let k = 1; k < 10; k++) L[R + k] = L[R + 10 + k] * 5;
}

/** h = (h + block) · r mod (2^130 - 5), partially reduced; the block is m[o, o+16) + hibit·2^128. */
function block(m: Uint8Array, o: i32, hibit: u32): void {
  const l = L;
  addLimbs(m, o, hibit, H);
  // Row i: d_i = Σ_j h_j · L[R + 10 + i - j], carried in two halves of 5 products (bounds: top).
  let c: u32 = 0;
  for (let i = 0; i < 10; i++) {
    let acc: u32 = c;
    for (let j = 0; j < 5; j++) acc += l[H + j] * l[R + 10 + i - j];
    c = acc >>> 13;
    acc &= 0x1fff;
    for (let j = 5; j < 10; j++) acc += l[H + j] * l[R + 10 + i - j];
    c += acc >>> 13;
    l[D + i] = acc & 0x1fff;
  }
  // The carry out of row 9 is worth 2^130 ≡ 5 (mod p): it re-enters at limb 0.
  carry(D, 5 * c);
}

/**
 * h = the limbs L[from, from+10) with c added at limb 0, carried so that every limb is < 2^13,
 * except that the carry out of limb 9 (2^130 ≡ 5 mod p) is folded back into limb 0, which may then
 * exceed 13 bits by at most 5. (The carry out of limb 9 is ≤ 1 for every input used here: see top.)
 */
function carry(from: i32, c: u32): void {
  const l = L;
  for (let i = 0; i < 10; i++) {
    const v: u32 = l[from + i] + c;
    c = v >>> 13;
    l[H + i] = v & 0x1fff;
  }
  l[H] += 5 * c;
}

/**
 * Feed m[off, off+len) (any length). While nothing is buffered, whole blocks are processed where
 * they are; the rest goes through B one byte at a time and a block is processed whenever 16 have
 * gathered. Unchecked: the caller checks the range.
 */
export function poly1305Update(m: Uint8Array, off: i32, len: i32): void {
  let i = 0;
  // Whole blocks straight from m while nothing is buffered: no copy through B.
  if (POS == 0) {
    for (; i + 16 <= len; i += 16) block(m, off + i, 1);
  }
  for (; i < len; i++) {
    B[POS] = m[off + i];
    if (++POS == 16) {
      block(B, 0, 1);
      POS = 0;
    }
  }
}

/**
 * Process a partial block B[0, POS), if any: B[POS] = `one`, zeros after it, and the 2^128 bit
 * when `one` is 0. pad16 is one = 0 (zero padding to a full block); the final partial block of
 * §2.5 is one = 1 (its 0x01 byte, and no 2^128 bit).
 */
function flush(one: u32): void {
  if (POS == 0) return;
  for (let i = POS; i < 16; i++) B[i] = <u8>(i == POS ? one : 0);
  block(B, 0, 1 - one);
  POS = 0;
}

/**
 * pad16 of RFC 8439 §2.8.1: zero bytes up to the next multiple of 16 of everything fed so far.
 * The padded block is a full 16-byte block (with its 2^128 bit). Nothing when already aligned.
 */
export function poly1305Pad16(): void {
  flush(0);
}

/**
 * The 16-byte tag at out[outOff, outOff+16): a final partial block gets its 0x01 byte and no
 * 2^128 bit (§2.5), then h is fully reduced mod p = 2^130 - 5 and s added mod 2^128. Wipes the
 * state. Unchecked: the caller checks the range.
 */
export function poly1305Finish(out: Uint8Array, outOff: i32): void {
  const l = L;
  flush(1);
  // One carry pass leaves every limb ≤ 0x1fff, so h < 2^130: on entry only h0 may exceed 13 bits
  // (by ≤ 5), and a carry leaves limb 9 only when limbs 1..9 were all 0x1fff and h0 ≥ 2^13; then
  // limbs 1..9 become 0 and limb 0 gets (h0 & 0x1fff) + 5 ≤ 4 + 5.
  carry(H, 0);
  // h mod p is h - p = h + 5 - 2^130 when h ≥ p, else h; c = 1 exactly when h ≥ p, i.e. when
  // h + 5 carries out of bit 130. The tag is (h mod p + s) mod 2^128, and 2^130 vanishes mod 2^128,
  // so the tag is (h + 5·c + s) mod 2^128: no select, no branch.
  let c: u32 = 5;
  for (let i = 0; i < 10; i++) c = (l[H + i] + c) >>> 13;
  // Tag bytes: the limbs leave a bit accumulator 8 bits at a time, plus s and 5·c, with the carry.
  let acc: u32 = 0;
  let bits = 0;
  let k = 0;
  let f: u32 = 5 * c;
  for (let j = 0; j < 16; j++) {
    for (; bits < 8; bits += 13) {
      acc |= l[H + k] << bits;
      k++;
    }
    f += (acc & 0xff) + (<u32>B[16 + j]);
    out[outOff + j] = <u8>(f & 0xff);
    f >>>= 8;
    acc >>>= 8;
    bits -= 8;
  }
  poly1305Wipe();
}

/** Zero the key, accumulator and buffered bytes (poly1305Finish does it; also for an abandoned MAC). */
export function poly1305Wipe(): void {
  for (let i = 0; i < 40; i++) L[i] = 0;
  for (let i = 0; i < 32; i++) B[i] = 0;
  POS = 0;
}

/**
 * One-shot Poly1305 (RFC 8439 §2.5): the tag of msg[msgOff, msgOff+msgLen) under the 32-byte
 * one-time key at key[keyOff], written at out[outOff, outOff+16). Returns 16, or
 * -ERR_SECURE_BAD_LENGTH (801) when a range is not inside its buffer (nothing written).
 */
export function poly1305Mac(key: Uint8Array, keyOff: i32, msg: Uint8Array, msgOff: i32, msgLen: i32,
  out: Uint8Array, outOff: i32): i32 {
  if (keyOff < 0 || keyOff > key.length - POLY1305_KEY_BYTES || msgOff < 0 || msgLen < 0 ||
    msgOff > msg.length - msgLen || outOff < 0 || outOff > out.length - POLY1305_TAG_BYTES) return -ERR_SECURE_BAD_LENGTH;
  poly1305Init(key, keyOff);
  poly1305Update(msg, msgOff, msgLen);
  poly1305Finish(out, outOff);
  return POLY1305_TAG_BYTES;
}
