/*
 * ChaCha20-Poly1305 (RFC 8439 §2.8) with a truncated tag, and HChaCha20
 * (draft-irtf-cfrg-xchacha-03 §2.2), for the device side of link security (docs/security.md,
 * docs/wire-format.md §7). The C twin of src/secure/aead.ts and src/secure/chacha20.ts: the same
 * in-place, one-buffer interface, the same range rules, the same return codes. The firmware app
 * reaches it through wasm imports (firmware/runtime/host.c); the simulator runs the portable code
 * behind the same imports. Proven by test/firmware/cell-aead-c.test.ts (cell-aead-harness.c).
 *
 * No allocation, no state between calls (work areas on the stack, wiped before returning), no
 * libc beyond <stdint.h>/<string.h>; constant time in the secrets (see cell-aead.c).
 */
#ifndef CELL_AEAD_H
#define CELL_AEAD_H

#include <stdint.h>

/* Return codes: -ERR_SECURE_BAD_TAG and -ERR_SECURE_BAD_LENGTH of src/wire/errors.ts. */
#define CELL_AEAD_BAD_TAG (-800)
#define CELL_AEAD_BAD_LENGTH (-801)

/*
 * Seal buf[pt_off, pt_off+pt_len) in place; AD = buf[ad_off, ad_off+ad_len); write the first
 * tag_len (1..16) bytes of the RFC 8439 tag at buf[tag_off]. Returns pt_len, or -801 for a bad
 * length, and then nothing is written: a range not inside buf_len, tag_len outside 1..16, tag, AD
 * and plaintext ranges overlapping (empty ranges overlap nothing), or buf_len above 2^31 - 1 (the
 * result must fit the int32_t). key and nonce are read before buf is written, so they may lie
 * anywhere, in buf too.
 */
int32_t cell_aead_seal(const uint8_t key[32], const uint8_t nonce[12], uint8_t *buf, uint32_t buf_len,
                       uint32_t ad_off, uint32_t ad_len, uint32_t pt_off, uint32_t pt_len,
                       uint32_t tag_off, uint32_t tag_len);

/*
 * Verify the tag_len-byte tag at buf[tag_off] over AD and ciphertext in constant time, then, only
 * when it matches, decrypt buf[ct_off, ct_off+ct_len) in place. Returns ct_len; -800 for a bad tag
 * (the buffer untouched); -801 for a bad length, as cell_aead_seal (the buffer untouched).
 */
int32_t cell_aead_open(const uint8_t key[32], const uint8_t nonce[12], uint8_t *buf, uint32_t buf_len,
                       uint32_t ad_off, uint32_t ad_len, uint32_t ct_off, uint32_t ct_len,
                       uint32_t tag_off, uint32_t tag_len);

/* HChaCha20: the 32-byte subkey of key and the 16-byte in. out may overlap key or in. */
void cell_hchacha20(const uint8_t key[32], const uint8_t in[16], uint8_t out[32]);

#endif
