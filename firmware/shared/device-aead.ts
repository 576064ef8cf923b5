// The device's AEAD (docs/firmware.md §"Link security on the device"): SecureSession.aead
// (src/secure/session.ts) replaced by one that calls the board's ChaCha20-Poly1305 through wasm
// imports — on the device firmware/runtime/cell-aead.c (host.c: env.aead_*), in the simulator the
// portable src/secure/aead.ts (hw-tests/lib/sim-device.mjs). The same bytes and return codes as
// the portable Aead, for ~7k instead of ~197k Cortex-M3 instructions per sealed 32-byte frame
// and without the portable AEAD's ~3 KB of wasm2c code (test/firmware/cell-aead-c.test.ts).
// AssemblyScript only.
//
//   env.aead_seal(key, nonce, ad, adLen, pt, ptLen, tag, tagLen): i32
//   env.aead_open(key, nonce, ad, adLen, ct, ctLen, tag, tagLen): i32
//   env.hchacha20(key, in, out)   32-byte key, 16-byte input, 32-byte output (a trap outside memory)
// Pointers into linear memory: key (32 bytes) and nonce (12) must lie in it (else a trap); AD,
// text and tag are checked against it with the rules and codes of aeadSeal/aeadOpen (-800 bad
// tag, -801 bad length: a range outside memory, tagLen outside 1..16, overlapping ranges). Here
// they are first checked against `buf`, so the result is the portable Aead's for every input.
// Pointers rather than buf + offsets: 8 parameters, within the firmware runtime's function-type
// limits (firmware/runtime/wasm-rt-bare.c: at most 10 parameters + results, 16 types).
import { SessionAead } from '../../src/secure/session.ts';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES } from '../../src/secure/aead.ts';
import { ERR_SECURE_BAD_LENGTH } from '../../src/wire/errors.ts';

@external("env", "aead_seal")
declare function aead_seal(key: usize, nonce: usize, ad: usize, adLen: i32, pt: usize, ptLen: i32, tag: usize, tagLen: i32): i32;
@external("env", "hchacha20")
declare function hchacha20_import(key: usize, in16: usize, out: usize): void;
@external("env", "aead_open")
declare function aead_open(key: usize, nonce: usize, ad: usize, adLen: i32, ct: usize, ctLen: i32, tag: usize, tagLen: i32): i32;

/** Key and nonce long enough, AD, text and tag inside buf. */
function fits(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: i32, adLen: i32, txtOff: i32, txtLen: i32, tagOff: i32, tagLen: i32): bool {
  const n = buf.length;
  return key.length >= AEAD_KEY_BYTES && nonce.length >= AEAD_NONCE_BYTES &&
    adOff >= 0 && adLen >= 0 && adOff <= n - adLen && txtOff >= 0 && txtLen >= 0 && txtOff <= n - txtLen &&
    tagOff >= 0 && tagLen >= 0 && tagOff <= n - tagLen;
}

export class DeviceAead extends SessionAead {
  seal(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: i32, adLen: i32, ptOff: i32, ptLen: i32, tagOff: i32, tagLen: i32): i32 {
    if (!fits(key, nonce, buf, adOff, adLen, ptOff, ptLen, tagOff, tagLen)) return -ERR_SECURE_BAD_LENGTH;
    const p = buf.dataStart;
    return aead_seal(key.dataStart, nonce.dataStart, p + <usize>adOff, adLen, p + <usize>ptOff, ptLen, p + <usize>tagOff, tagLen);
  }

  open(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: i32, adLen: i32, ctOff: i32, ctLen: i32, tagOff: i32, tagLen: i32): i32 {
    if (!fits(key, nonce, buf, adOff, adLen, ctOff, ctLen, tagOff, tagLen)) return -ERR_SECURE_BAD_LENGTH;
    const p = buf.dataStart;
    return aead_open(key.dataStart, nonce.dataStart, p + <usize>adOff, adLen, p + <usize>ctOff, ctLen, p + <usize>tagOff, tagLen);
  }

  hchacha20(key: Uint8Array, keyOff: i32, in16: Uint8Array, out: Uint8Array): void {
    hchacha20_import(key.dataStart + <usize>keyOff, in16.dataStart, out.dataStart);
  }
}
