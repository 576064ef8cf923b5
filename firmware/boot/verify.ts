// The bootloader's signature check (docs/flash.md §5.4): Ed25519 over a manifest's signed bytes,
// injected into the Bootloader the way Flash is (a class with an overridable method; asc
// dispatches the override). Portable subset (tsc + asc). Implementations:
//   ImportVerifier (import-flash.ts, asc only)  env.ed25519_verify: the C verifier of
//                  firmware/boot/ed25519/ on the native board, @noble/curves in the wasm tests
//   NobleVerifier  (noble-verify.ts, tsc only)  @noble/curves, strict (zip215: false) as the C
// The base class verifies nothing: a bootloader given no verifier refuses every signed image
// (713) when it has a trusted key.

export class Verifier {
  /**
   * Is sig (64 bytes) a valid Ed25519 signature of msg[msgOff..msgOff+len) under pub (32 bytes)?
   * Strict RFC 8032 (S < L, canonical key, no small-order key), as @noble/curves with zip215: false.
   */
  verify(sig: Uint8Array, msg: Uint8Array, msgOff: i32, len: i32, pub: Uint8Array): bool { return false; }
}
