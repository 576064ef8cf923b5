// The bootloader's Verifier (verify.ts) for the tsc builds — the simulator
// (hw-tests/lib/boot-sim-device.ts) and the tests: @noble/curves' Ed25519 in its strict mode
// (zip215: false), which accepts exactly what firmware/boot/ed25519/ed25519-verify.c accepts
// (test/boot/ed25519-c.test.ts). Not portable (tsc only): asc builds use ImportVerifier.
import { ed25519 } from '@noble/curves/ed25519.js';
import { Verifier } from './verify.ts';

export class NobleVerifier extends Verifier {
  /** Verifications done (the tests count them). */
  calls = 0;

  override verify(sig: Uint8Array, msg: Uint8Array, msgOff: number, len: number, pub: Uint8Array): boolean {
    this.calls++;
    try {
      return ed25519.verify(sig, msg.subarray(msgOff, msgOff + len), pub, { zip215: false });
    } catch {
      return false;
    }
  }
}
