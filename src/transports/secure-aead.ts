// The host's AEAD for sealed frames (docs/security.md §4): the portable ChaCha20-Poly1305 of
// src/secure/aead.ts for small payloads, Node's OpenSSL (node:crypto, `chacha20-poly1305` with an
// 8-byte tag) for big ones. Both give the same bytes (test/secure/host-aead.test.ts checks it
// against the portable code and @noble/ciphers). Why two: the portable code allocates nothing
// and is fastest for the small frames calls are made of; OpenSSL is ~8× faster per byte at 4 KB
// but allocates a cipher object per call, which a 4 KB frame amortises.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { ERR_SECURE_BAD_TAG } from '../wire/errors.ts';
import { Aead } from '../secure/session.ts';

/** Payloads from this size on go through OpenSSL. */
export const OPENSSL_FROM_BYTES = 512;

export class HostAead extends Aead {
  override seal(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: number, adLen: number, ptOff: number, ptLen: number, tagOff: number, tagLen: number): number {
    if (ptLen < OPENSSL_FROM_BYTES) return super.seal(key, nonce, buf, adOff, adLen, ptOff, ptLen, tagOff, tagLen);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: tagLen });
    c.setAAD(buf.subarray(adOff, adOff + adLen), { plaintextLength: ptLen });
    const ct = c.update(buf.subarray(ptOff, ptOff + ptLen));
    c.final();
    buf.set(ct, ptOff);
    buf.set(c.getAuthTag(), tagOff);
    return ptLen;
  }

  override open(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: number, adLen: number, ctOff: number, ctLen: number, tagOff: number, tagLen: number): number {
    if (ctLen < OPENSSL_FROM_BYTES) return super.open(key, nonce, buf, adOff, adLen, ctOff, ctLen, tagOff, tagLen);
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: tagLen });
    d.setAAD(buf.subarray(adOff, adOff + adLen), { plaintextLength: ctLen });
    d.setAuthTag(buf.subarray(tagOff, tagOff + tagLen));
    const pt = d.update(buf.subarray(ctOff, ctOff + ctLen));
    try {
      d.final(); // throws when the tag differs: only then is the plaintext written back
    } catch {
      return -ERR_SECURE_BAD_TAG;
    }
    buf.set(pt, ctOff);
    return ctLen;
  }
}

/** One instance for every host session (it holds no state). */
export const hostAead = new HostAead();
