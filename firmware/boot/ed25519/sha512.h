/*
 * SHA-512 (FIPS 180-4 §6.4), for the bootloader's Ed25519 verification (ed25519-verify.h).
 * Plain C99, no allocation, no libc beyond <stdint.h>/<string.h>. Messages up to 2^64 - 1 bytes
 * in all (the byte count is 64-bit; §5.1.2's 128-bit bit length is derived from it).
 *
 *   cell_sha512_ctx c;
 *   cell_sha512_init(&c);
 *   cell_sha512_update(&c, part1, n1);  ...any number of parts, any lengths...
 *   cell_sha512_final(&c, digest);      digest: 64 bytes; the context must be re-initialised after
 *
 * or one-shot: cell_sha512(msg, len, digest).
 */
#ifndef CELL_SHA512_H
#define CELL_SHA512_H

#include <stdint.h>

typedef struct {
  uint64_t h[8];       /* the hash value H(i) */
  uint64_t bytes;      /* message bytes hashed so far */
  uint8_t block[128];  /* the pending partial block: bytes % 128 of them */
} cell_sha512_ctx;

void cell_sha512_init(cell_sha512_ctx *c);
void cell_sha512_update(cell_sha512_ctx *c, const uint8_t *data, uint32_t len);
void cell_sha512_final(cell_sha512_ctx *c, uint8_t digest[64]);
void cell_sha512(const uint8_t *data, uint32_t len, uint8_t digest[64]);

#endif
