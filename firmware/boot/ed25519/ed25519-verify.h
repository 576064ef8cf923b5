/*
 * Ed25519 signature verification (RFC 8032 §5.1.7), strict, for the bootloader: checks an image
 * manifest's signature against a public key it trusts. Plain C99, no allocation, no recursion,
 * no libc beyond <stdint.h>/<string.h>; SHA-512 from sha512.h.
 *
 * cell_ed25519_verify(sig, msg, len, pub) returns 0 when sig is a valid signature of the len bytes
 * at msg under pub, and a negative number otherwise:
 *   CELL_ED25519_BAD_S        S >= L (a non-canonical scalar, §5.1.7 step 1)
 *   CELL_ED25519_BAD_KEY      pub does not decode (§5.1.3: y >= p, x² has no root, or x = 0 with
 *                             the sign bit set)
 *   CELL_ED25519_WEAK_KEY     pub is a point of small order ([8]A = 0: a key any signature could
 *                             be forged for; refused as @noble/curves' strict mode does)
 *   CELL_ED25519_MISMATCH     [S]B != R + [k]A, R included when it does not decode (see the .c)
 * The check is the cofactorless one ([S]B = R + [k]A, which §5.1.7 allows), so everything it
 * accepts is accepted by the cofactored [8][S]B = [8]R + [8][k]A too, not the other way round
 * (they differ only for R or A with a component of order 2, 4 or 8, which honest signers and
 * keys never have).
 *
 * Cost on the Cortex-M3 (arm-none-eabi-gcc -Os, measured by test/boot/ed25519-c.test.ts): about
 * 3.1 KB of .text and 1.2 KB of .rodata with sha512.c, 1.6 KB of stack at the deepest, and
 * 8.6 million instructions for one verification (qemu -icount). Reentrant, no static state.
 */
#ifndef CELL_ED25519_VERIFY_H
#define CELL_ED25519_VERIFY_H

#include <stdint.h>

#define CELL_ED25519_OK 0
#define CELL_ED25519_BAD_S (-1)
#define CELL_ED25519_BAD_KEY (-2)
#define CELL_ED25519_WEAK_KEY (-3)
#define CELL_ED25519_MISMATCH (-4)

int cell_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, uint32_t len,
                        const uint8_t pub[32]);

#endif
