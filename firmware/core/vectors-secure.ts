// AssemblyScript entry (target `core`, with vectors.ts): ChaCha20, Poly1305, HChaCha20 and the
// ChaCha20-Poly1305 AEAD of src/secure (RFC 8439; draft-irtf-cfrg-xchacha-03 §2.2) over the static
// I/O area of io.ts, for test/portable/secure-wasm.test.ts. See vectors.ts for the calling
// convention. Key, nonce and inputs are bytes of IN at the offsets given; results go to OUT, or
// stay in place in IN for the in-place operations.
import { IN, OUT } from './io.ts';
import { chachaBlock, chachaXor, hchacha20 } from '../../src/secure/chacha20.ts';
import { poly1305Mac } from '../../src/secure/poly1305.ts';
import { aeadOpen, aeadSeal } from '../../src/secure/aead.ts';
import { SecureDevice, SEC_CONSUMED } from '../../src/secure/device.ts';
import { SecureSession } from '../../src/secure/session.ts';
import { REPLAY_STRICT } from '../../src/secure/replay.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import { SEC_DIR_DEVICE_TO_HOST, SEC_DIR_HOST_TO_DEVICE, SEC_PROVISION_BYTES } from '../../src/wire/layouts.ts';

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

// ---- the session (src/secure/session.ts, device.ts, provision.ts): test/vectors/secure-frames.json

const SEC_DEVICE = new SecureDevice();
const SEC_HOST = new SecureSession(SEC_DIR_HOST_TO_DEVICE, SEC_DIR_DEVICE_TO_HOST, REPLAY_STRICT);
const SEC_REC = new Uint8Array(SEC_PROVISION_BYTES);
const SEC_KEY = new Uint8Array(32);
const SEC_ID = new Uint8Array(8);
const SEC_NONCE = new Uint8Array(8);

/**
 * The flow of secure-frames.json: IN[0..32) device key, IN[32..40) device id, IN[40..48) host
 * nonce, IN[48..48+openLen) the OPEN frame, IN[128..128+plainLen) a plain frame. The device
 * (provisioned, boot counter `boot`) writes its REQUEST at OUT[0..), answers the OPEN with ACCEPT
 * at OUT[64..); the host seals the plain frame (session `session`) at OUT[128..). Returns
 * requestLen | acceptLen << 8 | sealedLen << 16, or a negative code.
 */
export function secureSessionFlow(boot: u32, session: u32, openLen: i32, plainLen: i32): i32 {
  for (let i = 0; i < 32; i++) SEC_KEY[i] = IN[i];
  for (let i = 0; i < 8; i++) { SEC_ID[i] = IN[32 + i]; SEC_NONCE[i] = IN[40 + i]; }
  const p = writeProvision(SEC_ID, SEC_KEY, SEC_REC, 0);
  if (p < 0) return p;
  const q = SEC_DEVICE.provision(SEC_REC, 0, boot);
  if (q < 0) return q;
  const req = SEC_DEVICE.request(0, true, OUT, 0);
  const n = SEC_DEVICE.receive(IN, 48, openLen, 0, OUT, 64);
  if (n != SEC_CONSUMED) return n < 0 ? n : -1;
  const acc = SEC_DEVICE.answerLen;
  SEC_HOST.start(SEC_KEY, 0, SEC_NONCE, 0, boot, session);
  for (let i = 0; i < plainLen; i++) OUT[128 + i] = IN[128 + i];
  const s = SEC_HOST.seal(OUT, 128, plainLen, true);
  if (s < 0) return s;
  // And the device opens it back (checked by the host test against the plain frame).
  return req | (acc << 8) | (s << 16);
}

/** The device opens the sealed frame at OUT[128..128+len) in place (after secureSessionFlow); the plain length or -code. */
export function secureDeviceOpen(len: i32): i32 {
  return SEC_DEVICE.receive(OUT, 128, len, 0, OUT, 512);
}
