// The link security examples of docs/wire-format.md §7 and test/vectors/secure-frames.json,
// computed by the portable session code: a device with a fixed key answers a fixed OPEN, and the
// REQUEST frame of docs/wire-format.md §2 is sealed host → device with the session's counter 0.
import { SecureDevice } from '../../src/secure/device.ts';
import { SecureSession } from '../../src/secure/session.ts';
import { REPLAY_STRICT } from '../../src/secure/replay.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import { hchacha20 } from '../../src/secure/chacha20.ts';
import { Header, HEADER_BYTES, KIND_REQUEST, writeHeader } from '../../src/wire/header.ts';
import {
  SEC_DIR_DEVICE_TO_HOST, SEC_DIR_HOST_TO_DEVICE, SEC_OPEN_BYTES, SEC_PROVISION_BYTES, LINK_OP_SEC_OPEN,
  SEC_SUITE_CHACHA20_POLY1305, SEC_TRAILER_BYTES,
} from '../../src/wire/layouts.ts';
import { writeSecOpHeader } from '../../src/secure/device.ts';

export const VECTOR_DEVICE_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
export const VECTOR_DEVICE_ID = Uint8Array.from([0x00, 0xc0, 0xff, 0xee, 0x00, 0x00, 0x00, 0x17]);
export const VECTOR_HOST_NONCE = Uint8Array.from({ length: 8 }, (_, i) => 0xa0 + i);
export const VECTOR_BOOT_COUNTER = 5;

export interface SecureExamples {
  request: Uint8Array; open: Uint8Array; accept: Uint8Array; sessionKey: Uint8Array;
  plain: Uint8Array; sealed: Uint8Array;
}

export function secureExamples(): SecureExamples {
  const rec = new Uint8Array(SEC_PROVISION_BYTES);
  writeProvision(VECTOR_DEVICE_ID, VECTOR_DEVICE_KEY, rec, 0);
  const dev = new SecureDevice();
  dev.provision(rec, 0, VECTOR_BOOT_COUNTER);
  const out = new Uint8Array(128);
  const request = out.slice(0, dev.request(0, true, out, 0));
  const open = new Uint8Array(HEADER_BYTES + SEC_OPEN_BYTES);
  writeSecOpHeader(open, 0, LINK_OP_SEC_OPEN, 0, SEC_OPEN_BYTES);
  open[HEADER_BYTES] = SEC_SUITE_CHACHA20_POLY1305;
  open.set(VECTOR_HOST_NONCE, HEADER_BYTES + 2);
  const n = dev.receive(open.slice(), 0, open.length, 0, out, 0);
  if (n !== 0) throw new Error(`OPEN refused: ${n}`);
  const accept = out.slice(0, dev.answerLen);
  const kdf = new Uint8Array(16);
  kdf.set(VECTOR_HOST_NONCE, 0);
  kdf[8] = VECTOR_BOOT_COUNTER; kdf[12] = 1;
  const sessionKey = new Uint8Array(32);
  hchacha20(VECTOR_DEVICE_KEY, 0, kdf, 0, sessionKey, 0);
  // The request of §2 (call id 1, key 0x8877665544332211, payload de ad be ef), sealed by the host.
  const plain = new Uint8Array(24);
  const h = new Header();
  h.kind = KIND_REQUEST; h.callId = 1; h.keyLo = 0x44332211; h.keyHi = 0x88776655; h.length = 4;
  writeHeader(h, plain, 0);
  plain.set([0xde, 0xad, 0xbe, 0xef], 20);
  const host = new SecureSession(SEC_DIR_HOST_TO_DEVICE, SEC_DIR_DEVICE_TO_HOST, REPLAY_STRICT);
  host.start(VECTOR_DEVICE_KEY, 0, VECTOR_HOST_NONCE, 0, VECTOR_BOOT_COUNTER, 1);
  const sealed = new Uint8Array(plain.length + SEC_TRAILER_BYTES);
  sealed.set(plain);
  const m = host.seal(sealed, 0, plain.length, true);
  if (m !== sealed.length) throw new Error(`seal: ${m}`);
  return { request, open, accept, sessionKey, plain, sealed };
}
