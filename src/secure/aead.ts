// AEAD_CHACHA20_POLY1305 (RFC 8439 §2.8) sealed and opened in place in one buffer, with the tag
// truncated to its first tagLen (1..16) bytes.
//
// Seal: Poly1305 one-time key = first 32 bytes of the ChaCha20 block 0 (§2.6); ChaCha20 from
// block 1 over the plaintext, in place (§2.4); Poly1305 over
//   AD | pad16 | ciphertext | pad16 | len(AD) as u64 LE | len(ciphertext) as u64 LE   (§2.8)
// and the first tagLen bytes of the 16-byte tag. Open: the same MAC over AD and ciphertext, a
// constant-time compare of tagLen bytes, and only then the decryption: a forged or damaged frame
// leaves the buffer exactly as it was.
//
// Portable core (docs/portable-subset.md): compiled by tsc and by asc; imports only src/wire and
// src/secure. No allocation per call (module-level work areas, wiped after every call). Every
// range is checked against its buffer before a byte is touched (rule 7). Constant time: no branch
// or index depends on key, plaintext, ciphertext or tag bytes — loops run over lengths, which are
// public; the tag compare ORs the differences of all tagLen bytes and branches once, on the result.

import { ERR_SECURE_BAD_LENGTH, ERR_SECURE_BAD_TAG } from '../wire/errors.ts';
import { chachaWipe, chachaXorUnchecked, rangeInside } from './chacha20.ts';
import { poly1305Finish, poly1305Init, poly1305Pad16, poly1305Update } from './poly1305.ts';

export const AEAD_KEY_BYTES: i32 = 32;
export const AEAD_NONCE_BYTES: i32 = 12;
/** The full Poly1305 tag; aeadSeal/aeadOpen take any tagLen from 1 to this. */
export const AEAD_TAG_MAX_BYTES: i32 = 16;

// A[0..32): the Poly1305 one-time key; A[32..48): the computed tag; A[48..64): the §2.8 length
// block. All zero between calls: every call that gets past the range checks zeroes it at the end.
const A: Uint8Array = new Uint8Array(64);
const TAG: i32 = 32;
const LENGTHS: i32 = 48;

/** Two ranges share no byte (an empty range overlaps nothing). Both are inside one buffer already. */
function disjoint(a: i32, an: i32, b: i32, bn: i32): bool {
  return an == 0 || bn == 0 || a + an <= b || b + bn <= a;
}

/**
 * The shared body of aeadSeal (seal = true) and aeadOpen. Ranges first: key, nonce, AD, text and
 * tag inside their buffers, tagLen in 1..16, and no overlap between tag, AD and text (in-place
 * sealing would MAC or overwrite bytes it has just changed). Key and nonce may live in buf but not
 * inside the text range (seal would read them before encryption, open before decryption; not
 * checked).
 */
function crypt(seal: bool, key: Uint8Array, keyOff: i32, nonce: Uint8Array, nonceOff: i32, buf: Uint8Array,
  adOff: i32, adLen: i32, txtOff: i32, txtLen: i32, tagOff: i32, tagLen: i32): i32 {
  const n = buf.length;
  if (!rangeInside(key.length, keyOff, AEAD_KEY_BYTES) || !rangeInside(nonce.length, nonceOff, AEAD_NONCE_BYTES) ||
    tagLen < 1 || tagLen > AEAD_TAG_MAX_BYTES ||
    !rangeInside(n, adOff, adLen) || !rangeInside(n, txtOff, txtLen) || !rangeInside(n, tagOff, tagLen) ||
    !disjoint(tagOff, tagLen, adOff, adLen) || !disjoint(tagOff, tagLen, txtOff, txtLen) ||
    !disjoint(adOff, adLen, txtOff, txtLen)) return -ERR_SECURE_BAD_LENGTH;
  const a = A;
  // The one-time key (§2.6): the first 32 bytes of keystream block 0, i.e. block 0 over A[0..32),
  // which is all zero here (see A).
  chachaXorUnchecked(key, keyOff, nonce, nonceOff, 0, a, 0, 32);
  // Seal encrypts from block 1 before the MAC: the MAC is over the ciphertext (§2.8).
  if (seal) chachaXorUnchecked(key, keyOff, nonce, nonceOff, 1, buf, txtOff, txtLen);
  // Poly1305 over AD | pad16 | ciphertext | pad16 | len(AD) u64 LE | len(ct) u64 LE.
  poly1305Init(a, 0);
  poly1305Update(buf, adOff, adLen);
  poly1305Pad16();
  poly1305Update(buf, txtOff, txtLen);
  poly1305Pad16();
  for (let i = 0; i < 4; i++) {
    // The low bytes of the two u64; the high words of an i32 length stay zero (see A).
    a[LENGTHS + i] = <u8>((adLen >>> (i << 3)) & 0xff);
    a[LENGTHS + 8 + i] = <u8>((txtLen >>> (i << 3)) & 0xff);
  }
  poly1305Update(a, LENGTHS, 16);
  poly1305Finish(a, TAG);
  // Seal writes the tag; open compares all tagLen bytes whatever the first difference (the time
  // depends on tagLen only) and decrypts only when every byte matched.
  let diff: u32 = 0;
  for (let i = 0; i < tagLen; i++) {
    if (seal) buf[tagOff + i] = a[TAG + i];
    else diff |= (<u32>a[TAG + i]) ^ (<u32>buf[tagOff + i]);
  }
  if (!seal && diff == 0) chachaXorUnchecked(key, keyOff, nonce, nonceOff, 1, buf, txtOff, txtLen);
  for (let i = 0; i < 64; i++) a[i] = 0;
  chachaWipe();
  return diff == 0 ? txtLen : -ERR_SECURE_BAD_TAG;
}

/** Encrypt buf[ptOff, ptOff+ptLen) in place; MAC over AD = buf[adOff, adOff+adLen) and the ciphertext (RFC 8439 §2.8 layout: AD, pad16, ct, pad16, len(AD) u64, len(ct) u64); write the first tagLen (1..16) bytes of the 16-byte tag at buf[tagOff]. Returns ptLen, or a negative error code. */
export function aeadSeal(key: Uint8Array, keyOff: i32, nonce: Uint8Array, nonceOff: i32, buf: Uint8Array, adOff: i32, adLen: i32, ptOff: i32, ptLen: i32, tagOff: i32, tagLen: i32): i32 {
  // -ERR_SECURE_BAD_LENGTH (801): key (32 bytes), nonce (12), AD, plaintext or tag not inside its
  // buffer, tagLen outside 1..16, or tag, AD and plaintext ranges overlapping. Nothing is written.
  return crypt(true, key, keyOff, nonce, nonceOff, buf, adOff, adLen, ptOff, ptLen, tagOff, tagLen);
}

/** Verify the tagLen-byte tag at buf[tagOff] over AD and ciphertext in CONSTANT TIME, then (only if it matches) decrypt buf[ctOff, ctOff+ctLen) in place. Returns ctLen, or -ERR_SECURE_BAD_TAG (the buffer untouched) or another negative code. */
export function aeadOpen(key: Uint8Array, keyOff: i32, nonce: Uint8Array, nonceOff: i32, buf: Uint8Array, adOff: i32, adLen: i32, ctOff: i32, ctLen: i32, tagOff: i32, tagLen: i32): i32 {
  // -ERR_SECURE_BAD_LENGTH (801) as for aeadSeal; -ERR_SECURE_BAD_TAG (800) when the tag differs.
  return crypt(false, key, keyOff, nonce, nonceOff, buf, adOff, adLen, ctOff, ctLen, tagOff, tagLen);
}
