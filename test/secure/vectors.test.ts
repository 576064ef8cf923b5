// The link security vectors (test/vectors/secure-frames.json, docs/wire-format.md §7): the tsc
// build gives exactly these bytes; @noble/ciphers, given the documented construction, gives the
// same sealed frame and ACCEPT tag (so the document, not only our code, defines them); the device
// opens the sealed frame back to the plain one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { chacha20poly1305, hchacha } from '@noble/ciphers/chacha.js';
import { secureExamples } from './vectors.ts';
import { SecureSession } from '../../src/secure/session.ts';
import { REPLAY_STRICT } from '../../src/secure/replay.ts';
import { SEC_DIR_DEVICE_TO_HOST, SEC_DIR_HOST_TO_DEVICE } from '../../src/wire/layouts.ts';

const V = JSON.parse(readFileSync(new URL('../vectors/secure-frames.json', import.meta.url), 'utf8')) as Record<string, string | number>;
const hex = (s: string | number): Uint8Array => new Uint8Array(Buffer.from(String(s), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const t = suite('secure: wire vectors (docs/wire-format.md §7)');

t('the portable code gives the vector bytes', () => {
  const e = secureExamples();
  for (const k of ['request', 'open', 'accept', 'sessionKey', 'plain', 'sealed'] as const) assert.is(toHex(e[k]), V[k], k);
});

t('noble, following the document, gives the same session key, sealed frame and ACCEPT', () => {
  const sigma = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  const kdf = new Uint8Array(16);
  kdf.set(hex(V.hostNonce!), 0);
  new DataView(kdf.buffer).setUint32(8, Number(V.bootCounter), true);
  new DataView(kdf.buffer).setUint32(12, Number(V.session), true);
  const k32 = new Uint32Array(8);
  const dk = hex(V.deviceKey!);
  hchacha(sigma, new Uint32Array(dk.buffer.slice(0)), new Uint32Array(kdf.buffer.slice(0)), k32);
  const key = new Uint8Array(k32.buffer);
  assert.is(toHex(key), V.sessionKey);
  // Sealed frame: AD = the header as sent (flags 03, length + 12); nonce = 01 01 00 00 ‖ counter 0 ‖ 0.
  const sealed = hex(V.sealed!);
  const nonce = new Uint8Array(12); nonce[0] = 1; nonce[1] = 1;
  const ct = chacha20poly1305(key, nonce, sealed.subarray(0, 20)).encrypt(hex(V.plain!).subarray(20));
  assert.is(toHex(sealed.subarray(20, 24)), toHex(ct.subarray(0, 4)), 'ciphertext');
  assert.is(toHex(sealed.subarray(24, 28)), '00000000', 'counter');
  assert.is(toHex(sealed.subarray(28)), toHex(ct.subarray(4, 12)), 'tag = the first 8 bytes of the RFC 8439 tag');
  // ACCEPT: AUTH only: AD = header ‖ 18-byte payload, nothing encrypted; nonce 02 01 00 00 ‖ 0 ‖ 0.
  const acc = hex(V.accept!);
  const n2 = new Uint8Array(12); n2[0] = 2; n2[1] = 1;
  const tag = chacha20poly1305(key, n2, acc.subarray(0, 38)).encrypt(new Uint8Array(0));
  assert.is(toHex(acc.subarray(42)), toHex(tag.subarray(0, 8)));
});

t('the device opens the sealed vector back to the plain frame', () => {
  const dev = new SecureSession(SEC_DIR_DEVICE_TO_HOST, SEC_DIR_HOST_TO_DEVICE, REPLAY_STRICT);
  dev.start(hex(V.deviceKey!), 0, hex(V.hostNonce!), 0, Number(V.bootCounter), Number(V.session));
  const buf = hex(V.sealed!);
  assert.is(dev.unseal(buf, 0, buf.length), buf.length - 12);
  assert.is(toHex(buf.subarray(0, buf.length - 12)), V.plain);
});

t.run();
