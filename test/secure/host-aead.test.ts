// The host's AEAD (src/transports/secure-aead.ts) gives the bytes of the portable code and of
// @noble/ciphers at every size around the OpenSSL threshold, and refuses what they refuse.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { HostAead, OPENSSL_FROM_BYTES } from '../../src/transports/secure-aead.ts';
import { Aead } from '../../src/secure/session.ts';
import { Prng } from '../helpers/prng.ts';

const t = suite('secure: the host AEAD (portable below the threshold, OpenSSL above)');
const host = new HostAead();
const portable = new Aead();

t('same ciphertext and 8-byte tag as the portable code and noble; opens both', () => {
  const r = new Prng(0x5ec);
  for (const n of [0, 1, 100, OPENSSL_FROM_BYTES - 1, OPENSSL_FROM_BYTES, OPENSSL_FROM_BYTES + 1, 1000, 4000, 4084]) {
    for (let k = 0; k < 4; k++) {
      const key = Uint8Array.from({ length: 32 }, () => r.below(256));
      const nonce = Uint8Array.from({ length: 12 }, () => r.below(256));
      const frame = Uint8Array.from({ length: 20 + n + 12 }, () => r.below(256));
      const a = frame.slice(), b = frame.slice();
      assert.is(host.seal(key, nonce, a, 0, 20, 20, n, 20 + n + 4, 8), n);
      assert.is(portable.seal(key, nonce, b, 0, 20, 20, n, 20 + n + 4, 8), n);
      assert.equal(a, b, `seal of ${n} B`);
      const ref = chacha20poly1305(key, nonce, frame.subarray(0, 20)).encrypt(frame.subarray(20, 20 + n));
      assert.equal(a.subarray(20, 20 + n), ref.subarray(0, n));
      assert.equal(a.subarray(24 + n, 32 + n), ref.subarray(n, n + 8));
      const c = a.slice();
      assert.is(host.open(key, nonce, c, 0, 20, 20, n, 20 + n + 4, 8), n);
      assert.equal(c.subarray(20, 20 + n), frame.subarray(20, 20 + n), `open of ${n} B`);
      const bad = a.slice();
      bad[20 + n + 4 + (k % 8)] ^= 1 << k;
      const before = bad.slice();
      assert.is(host.open(key, nonce, bad, 0, 20, 20, n, 20 + n + 4, 8), -800);
      assert.equal(bad, before, 'a refused frame is left as it was');
    }
  }
});

t.run();
