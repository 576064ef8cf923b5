// AssemblyScript entry (target `core`, with vectors.ts): ChaCha20, Poly1305, HChaCha20 and the
// ChaCha20-Poly1305 AEAD of src/secure (RFC 8439; draft-irtf-cfrg-xchacha-03 §2.2) over the static
// I/O area of io.ts, for test/portable/secure-wasm.test.ts. See vectors.ts for the calling
// convention. Key, nonce and inputs are bytes of IN at the offsets given; results go to OUT, or
// stay in place in IN for the in-place operations.
import { IN, OUT } from './io.ts';
import { chachaBlock, chachaXor, hchacha20 } from '../../src/secure/chacha20.ts';
import { poly1305Mac } from '../../src/secure/poly1305.ts';
import { aeadOpen, aeadSeal } from '../../src/secure/aead.ts';

/** ChaCha20 block (key IN[keyOff..+32), nonce IN[nonceOff..+12)) → OUT[outOff..+64); 64 or -code. */
export function secureBlock(keyOff: i32, nonceOff: i32, counter: u32, outOff: i32): i32 {
  return chachaBlock(IN, keyOff, IN, nonceOff, counter, OUT, outOff);
}

/** ChaCha20 over IN[off..off+len) in place from block `counter`; len or -code. */
export function secureXor(keyOff: i32, nonceOff: i32, counter: u32, off: i32, len: i32): i32 {
  return chachaXor(IN, keyOff, IN, nonceOff, counter, IN, off, len);
}

/** Poly1305 of IN[msgOff..+msgLen) under the key IN[keyOff..+32) → OUT[outOff..+16); 16 or -code. */
export function securePoly1305(keyOff: i32, msgOff: i32, msgLen: i32, outOff: i32): i32 {
  return poly1305Mac(IN, keyOff, IN, msgOff, msgLen, OUT, outOff);
}

/** HChaCha20 (key IN[keyOff..+32), input IN[inOff..+16)) → OUT[outOff..+32); 32 or -code. */
export function secureHChaCha(keyOff: i32, inOff: i32, outOff: i32): i32 {
  return hchacha20(IN, keyOff, IN, inOff, OUT, outOff);
}

/**
 * aeadSeal over buf = a view of IN[bufOff, bufOff+bufLen) (so range checks see a buffer of exactly
 * bufLen bytes; the view is a small allocation, acceptable in this test build); offsets are
 * relative to buf. Key and nonce are read from IN at absolute offsets.
 */
export function secureSeal(keyOff: i32, nonceOff: i32, bufOff: i32, bufLen: i32, adOff: i32, adLen: i32,
  ptOff: i32, ptLen: i32, tagOff: i32, tagLen: i32): i32 {
  return aeadSeal(IN, keyOff, IN, nonceOff, IN.subarray(bufOff, bufOff + bufLen), adOff, adLen, ptOff, ptLen, tagOff, tagLen);
}

/** aeadOpen over the same view as secureSeal. */
export function secureOpen(keyOff: i32, nonceOff: i32, bufOff: i32, bufLen: i32, adOff: i32, adLen: i32,
  ctOff: i32, ctLen: i32, tagOff: i32, tagLen: i32): i32 {
  return aeadOpen(IN, keyOff, IN, nonceOff, IN.subarray(bufOff, bufOff + bufLen), adOff, adLen, ctOff, ctLen, tagOff, tagLen);
}
