/*
 * ChaCha20-Poly1305 (RFC 8439 §2.1-§2.8) with a truncated tag, and HChaCha20
 * (draft-irtf-cfrg-xchacha-03 §2.2), in C99 for the device (cell-aead.h has the interface; the
 * portable reference is src/secure/{chacha20,poly1305,aead}.ts). Written from the specifications.
 *
 * Why C: through wasm2c the portable code takes ~197,000 instructions to seal a 32-byte frame
 * (every array access a bounds-checked load, every call a depth count) and 2-3 KB of Cortex-M3
 * code; this file ~12,700 instructions and 1.6 KB. test/firmware/cell-aead-c.test.ts measures
 * its size and speed.
 *
 * Memory: no allocation and no state between calls. Each call keeps its work area (ChaCha20 input
 * state and block, Poly1305 key and accumulator, the tag: 320 bytes) on the stack, 540 bytes on
 * the deepest call path (measured by the test), and zeroes it through a volatile pointer before
 * it returns (a plain memset of a dead object may be optimised away).
 *
 * Constant time: no branch and no memory index depends on the key, the nonce, the keystream, the
 * Poly1305 key or accumulator, the plaintext, the ciphertext or the tag. Loops and branches depend
 * on lengths, offsets and loop counters only (all public); the tag compare ORs the differences of
 * all tag_len bytes and branches once, on the result. No lookup tables.
 *
 * Poly1305 arithmetic: 10 limbs of 13 bits, products by 32x32->32 multiplies only (MUL/MLA), sums
 * in 32 bits. The usual 26-bit-limb form needs 32x32->64 products (UMULL/UMLAL), and on
 * Cortex-M3 those terminate early depending on the size of their operands (TRM: UMULL/SMULL 3-5
 * cycles, UMLAL/SMLAL 4-7): their time would follow the secret accumulator and key. MUL and MLA
 * take a fixed time whatever the operands. The price is 100 multiply-adds per 16-byte block
 * instead of 25; for link frames of tens of bytes that is a few hundred cycles. The bounds that
 * keep every 32-bit sum exact are at poly_mul. No 64-bit multiply appears anywhere (the test checks
 * the Cortex-M3 disassembly for UMULL/UMLAL/SMULL/SMLAL).
 */
#include <stdint.h>
#include <string.h>

#include "cell-aead.h"

/* ---- bytes and words ---------------------------------------------------------------------- */

static uint32_t ld32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void st32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* Zero n words through a volatile pointer: the stores stay even though the words are dead. */
static void wipe32(uint32_t *p, uint32_t n) {
  volatile uint32_t *v = p;
  while (n--) *v++ = 0;
}

/* ---- ChaCha20 (RFC 8439 §2.1-§2.4) and the HChaCha20 core ------------------------------------ */

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))

/* The quarter round (§2.1) on words a, b, c, d of x (§2.2). */
static void qr(uint32_t x[16], uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  x[a] += x[b]; x[d] ^= x[a]; x[d] = ROTL32(x[d], 16);
  x[c] += x[d]; x[b] ^= x[c]; x[b] = ROTL32(x[b], 12);
  x[a] += x[b]; x[d] ^= x[a]; x[d] = ROTL32(x[d], 8);
  x[c] += x[d]; x[b] ^= x[c]; x[b] = ROTL32(x[b], 7);
}

/*
 * The input state (§2.3): "expand 32-byte k", the key as 8 little-endian words (4..11), and words
 * first..15 from src: the nonce for the block function (first = 13; the caller sets word 12, the
 * block counter), HChaCha20's 16-byte input (first = 12). Key and src are read here only, so the
 * output of a call may overwrite them.
 */
static void chacha_setup(uint32_t st[16], const uint8_t key[32], const uint8_t *src, uint32_t first) {
  uint32_t i;
  st[0] = 0x61707865u;
  st[1] = 0x3320646eu;
  st[2] = 0x79622d32u;
  st[3] = 0x6b206574u;
  for (i = 0; i < 8; i++) st[4 + i] = ld32(key + 4 * i);
  for (i = first; i < 16; i++) st[i] = ld32(src + 4 * (i - first));
}

/*
 * x = 20 rounds (10 double rounds: a column round, then a diagonal round, §2.3) of st, plus st
 * when feed_forward (the block function), not for HChaCha20 (draft §2.2).
 * Size over speed: one loop of 80 quarter rounds with their word indices computed from the loop
 * counter (196 bytes of Cortex-M3 code, ~3,900 instructions per block) rather than the 8 quarter
 * rounds of a double round written out (500 bytes, ~1,400 instructions). Flash is what the device
 * lacks; even a 512-byte frame seals in a few milliseconds at 25 MHz.
 */
static void chacha_core(uint32_t x[16], const uint32_t st[16], int feed_forward) {
  uint32_t i;
  for (i = 0; i < 16; i++) x[i] = st[i];
  for (i = 0; i < 80; i++) {
    /* i & 3 picks the column; (i >> 2) & 1 is 0 in a column round, 1 in a diagonal round,
     * whose quarter round j takes words j, 4 + (j+1)%4, 8 + (j+2)%4, 12 + (j+3)%4. */
    uint32_t j = i & 3, g = (i >> 2) & 1;
    qr(x, j, 4 + ((j + g) & 3), 8 + ((j + 2 * g) & 3), 12 + ((j + 3 * g) & 3));
  }
  if (feed_forward) {
    for (i = 0; i < 16; i++) x[i] += st[i];
  }
}

/*
 * ChaCha20 encryption (§2.4) in place: p[0, n) ^= the keystream from block st[12] on; st[12] is
 * left at the next block. x receives each keystream block (the caller wipes it).
 */
static void chacha_xor(uint32_t st[16], uint32_t x[16], uint8_t *p, uint32_t n) {
  while (n > 0) {
    uint32_t m = n < 64 ? n : 64;
    uint32_t i;
    chacha_core(x, st, 1);
    /* The block serialised little-endian (§2.3): byte i is byte i & 3 of word i >> 2. */
    for (i = 0; i < m; i++) p[i] ^= (uint8_t)(x[i >> 2] >> (8 * (i & 3)));
    st[12]++;
    p += m;
    n -= m;
  }
}

/* ---- Poly1305 (RFC 8439 §2.5) ---------------------------------------------------------------- */

/*
 * r[10 + k] = r_k (k = 0..9), the clamped key as 13-bit limbs; r[k] = 5 r_k (k = 1..9; r[0]
 * unused): row i of the product takes h_j * r[10 + i - j] for every j, which is r_(i-j) when
 * j <= i and 5 r_(10+i-j) when j > i (a limb product of weight 2^130 or more wraps to 5 times
 * it, since 2^130 = 5 mod p). h: the accumulator, 10 limbs of 13 bits (limb k holds bits
 * 13k..13k+12). s: the second half of the one-time key.
 */
struct poly {
  uint32_t r[20];
  uint32_t h[10];
  uint32_t s[4];
  uint32_t d[10]; /* poly_mul's product rows (here so that the caller's wipe covers them) */
};

/*
 * l[k] += bits 13k..13k+12 of the 130-bit number w[0] + w[1] 2^32 + w[2] 2^64 + w[3] 2^96 +
 * w[4] 2^128 (w[4] is 0 or 1). The shifts depend on k only; limbs 2, 4, 7 and 9 straddle two
 * words. poly_finish undoes it.
 */
static void add_limbs(uint32_t l[10], const uint32_t w[5]) {
  uint32_t k;
  for (k = 0; k < 10; k++) {
    uint32_t bit = 13 * k, sh = bit & 31;
    const uint32_t *p = w + (bit >> 5);
    uint32_t v = p[0] >> sh;
    if (sh > 19) v |= p[1] << (32 - sh); /* the limb reaches into the next word */
    l[k] += v & 0x1fffu;
  }
}

/* Start a MAC with the one-time key as 8 words (§2.6: the first 32 bytes of keystream block 0). */
static void poly_init(struct poly *p, const uint32_t key[8]) {
  uint32_t w[5], k;
  /* r &= 0x0ffffffc0ffffffc0ffffffc0fffffff (§2.5), word by word. */
  w[0] = key[0] & 0x0fffffffu;
  w[1] = key[1] & 0x0ffffffcu;
  w[2] = key[2] & 0x0ffffffcu;
  w[3] = key[3] & 0x0ffffffcu;
  w[4] = 0;
  memset(p, 0, sizeof *p);
  add_limbs(p->r + 10, w);
  for (k = 1; k < 10; k++) p->r[k] = 5 * p->r[10 + k];
  for (k = 0; k < 4; k++) p->s[k] = key[4 + k];
  wipe32(w, 5);
}

/*
 * h = h + d_in (limbs d[0..10), plus c at limb 0), carried so that every limb is below 2^13; the
 * carry out of limb 9 (worth 2^130 = 5 mod p) goes back into limb 0, which may then exceed 13
 * bits by at most 5 (the carry out of limb 9 is 0 or 1 for every input below). d may be h.
 */
static void poly_carry(uint32_t h[10], const uint32_t d[10], uint32_t c) {
  uint32_t i;
  for (i = 0; i < 10; i++) {
    uint32_t v = d[i] + c;
    c = v >> 13;
    h[i] = v & 0x1fffu;
  }
  h[0] += 5 * c;
}

/*
 * h = (h + m) r mod p, partially reduced (§2.5), for one block m given as 5 words (w[4] = 1: the
 * 2^128 bit of a full 16-byte block). Why no 32-bit sum overflows:
 *   - every r limb is < 2^13, so a factor r_k or 5 r_k is <= 5 * 8191 = 40955;
 *   - between blocks every h limb is <= 8191 except h0 <= 8191 + 5 (poly_carry), a message limb
 *     is <= 8191, so h_j + m_j <= 16387, and one product is <= 16387 * 40955 = 671,129,585;
 *   - a row is summed in two halves of 5 products: the first from the carry of the previous row
 *     (< 2^20, below), the second from the first half's low 13 bits; either is
 *     < 2^20 + 5 * 671,129,585 = 3,356,696,501 < 2^32;
 *   - each half's carry is < 2^32 / 2^13 = 2^19, the row's < 2^20; poly_carry then gets
 *     5 c < 5 * 2^20 at limb 0, so limb 0 carries < 2^10 into limb 1 and limbs 1..9 carry at
 *     most 1 each: h0 ends <= 8191 + 5, as assumed.
 */
static void poly_mul(struct poly *p, const uint32_t w[5]) {
  const uint32_t *h = p->h;
  uint32_t *d = p->d, c = 0, i;
  add_limbs(p->h, w);
  for (i = 0; i < 10; i++) {
    const uint32_t *r = p->r + 10 + i; /* r[-j]: the factor of h_j in row i */
    uint32_t acc = c + h[0] * r[0] + h[1] * r[-1] + h[2] * r[-2] + h[3] * r[-3] + h[4] * r[-4];
    c = acc >> 13;
    acc = (acc & 0x1fffu) + h[5] * r[-5] + h[6] * r[-6] + h[7] * r[-7] + h[8] * r[-8] + h[9] * r[-9];
    c += acc >> 13;
    d[i] = acc & 0x1fffu;
  }
  poly_carry(p->h, d, 5 * c);
}

/*
 * One 16-byte block m plus hibit 2^128 (1: a full block, or a block zero-padded by pad16,
 * §2.8.1; 0: the final partial block of §2.5, which carries its own 0x01 byte).
 */
static void poly_block(struct poly *p, const uint8_t m[16], uint32_t hibit) {
  uint32_t w[5];
  w[0] = ld32(m);
  w[1] = ld32(m + 4);
  w[2] = ld32(m + 8);
  w[3] = ld32(m + 12);
  w[4] = hibit;
  poly_mul(p, w);
}

/* The AEAD's input for one part (§2.8): m[0, n), then zeros up to a multiple of 16 (pad16). */
static void poly_padded(struct poly *p, const uint8_t *m, uint32_t n) {
  uint8_t b[16];
  for (; n >= 16; m += 16, n -= 16) poly_block(p, m, 1);
  if (n > 0) {
    memset(b, 0, sizeof b);
    memcpy(b, m, n);
    poly_block(p, b, 1);
  }
}

/*
 * The 16-byte tag as 4 little-endian words: h fully reduced mod p = 2^130 - 5, plus s, mod 2^128.
 * On entry only h0 may exceed 13 bits (by <= 5), so one carry pass leaves every limb < 2^13, h < 2^130
 * (a carry leaves limb 9 only when limbs 1..9 were all 8191 and h0 >= 2^13; then limb 0 becomes
 * at most 4 + 5). Then h >= p exactly when h + 5 carries out of bit 130 (c = 1), and h mod p is
 * h + 5 - 2^130: modulo 2^128 that is h + 5c, no select and no branch.
 */
static void poly_finish(struct poly *p, uint32_t tag[4]) {
  uint32_t *h = p->h, c = 5, i;
  uint32_t w[4];
  uint64_t f;
  poly_carry(h, h, 0);
  for (i = 0; i < 10; i++) c = (h[i] + c) >> 13;
  /* The limbs as 4 words (limb k at bit 13k; bits 128 and 129 fall off the top of w[3]). */
  w[0] = h[0] | h[1] << 13 | h[2] << 26;
  w[1] = h[2] >> 6 | h[3] << 7 | h[4] << 20;
  w[2] = h[4] >> 12 | h[5] << 1 | h[6] << 14 | h[7] << 27;
  w[3] = h[7] >> 5 | h[8] << 8 | h[9] << 21;
  f = 5 * c;
  for (i = 0; i < 4; i++) {
    f += (uint64_t)w[i] + p->s[i];
    tag[i] = (uint32_t)f;
    f >>= 32;
  }
  wipe32(w, 4);
}

/* ---- AEAD (RFC 8439 §2.8) -------------------------------------------------------------------- */

/* [off, off + n) inside a buffer of len bytes, without overflow. */
static int inside(uint32_t len, uint32_t off, uint32_t n) {
  return off <= len && n <= len - off;
}

/* Two ranges (both inside one buffer already) share no byte; an empty range overlaps nothing. */
static int disjoint(uint32_t a, uint32_t an, uint32_t b, uint32_t bn) {
  return an == 0 || bn == 0 || a + an <= b || b + bn <= a;
}

/* Everything secret a call holds: zeroed as one block before it returns. */
struct work {
  uint32_t st[16]; /* ChaCha20 input state (key, counter, nonce) */
  uint32_t x[16];  /* a keystream block */
  struct poly p;
  uint32_t tag[4];
};

/* cell_aead_seal (seal = 1) and cell_aead_open (seal = 0). */
static int32_t aead(int seal, const uint8_t key[32], const uint8_t nonce[12], uint8_t *buf, uint32_t buf_len,
                    uint32_t ad_off, uint32_t ad_len, uint32_t txt_off, uint32_t txt_len,
                    uint32_t tag_off, uint32_t tag_len) {
  struct work w;
  uint32_t i, diff = 0;
  if (buf_len > 0x7fffffffu || tag_len < 1 || tag_len > 16 ||
      !inside(buf_len, ad_off, ad_len) || !inside(buf_len, txt_off, txt_len) || !inside(buf_len, tag_off, tag_len) ||
      !disjoint(tag_off, tag_len, ad_off, ad_len) || !disjoint(tag_off, tag_len, txt_off, txt_len) ||
      !disjoint(ad_off, ad_len, txt_off, txt_len)) {
    return CELL_AEAD_BAD_LENGTH;
  }
  /* The Poly1305 one-time key: the first 32 bytes of keystream block 0 (§2.6). */
  chacha_setup(w.st, key, nonce, 13);
  w.st[12] = 0;
  chacha_core(w.x, w.st, 1);
  poly_init(&w.p, w.x);
  /* The text from block 1 on; seal encrypts first: the MAC covers the ciphertext. */
  w.st[12] = 1;
  if (seal) chacha_xor(w.st, w.x, buf + txt_off, txt_len);
  /* AD | pad16 | ciphertext | pad16 | len(AD) u64 LE | len(ciphertext) u64 LE. */
  poly_padded(&w.p, buf + ad_off, ad_len);
  poly_padded(&w.p, buf + txt_off, txt_len);
  {
    const uint32_t lengths[5] = {ad_len, 0, txt_len, 0, 1};
    poly_mul(&w.p, lengths);
  }
  poly_finish(&w.p, w.tag);
  /* Seal writes tag_len bytes of the tag; open compares all of them whatever the first difference. */
  for (i = 0; i < tag_len; i++) {
    uint8_t t = (uint8_t)(w.tag[i >> 2] >> (8 * (i & 3)));
    if (seal) buf[tag_off + i] = t;
    else diff |= (uint32_t)(t ^ buf[tag_off + i]);
  }
  /* Open decrypts only a frame whose tag matched: a forged frame leaves buf as it was. */
  if (!seal && diff == 0) chacha_xor(w.st, w.x, buf + txt_off, txt_len);
  wipe32((uint32_t *)&w, sizeof w / sizeof(uint32_t));
  return diff == 0 ? (int32_t)txt_len : CELL_AEAD_BAD_TAG;
}

int32_t cell_aead_seal(const uint8_t key[32], const uint8_t nonce[12], uint8_t *buf, uint32_t buf_len,
                       uint32_t ad_off, uint32_t ad_len, uint32_t pt_off, uint32_t pt_len,
                       uint32_t tag_off, uint32_t tag_len) {
  return aead(1, key, nonce, buf, buf_len, ad_off, ad_len, pt_off, pt_len, tag_off, tag_len);
}

int32_t cell_aead_open(const uint8_t key[32], const uint8_t nonce[12], uint8_t *buf, uint32_t buf_len,
                       uint32_t ad_off, uint32_t ad_len, uint32_t ct_off, uint32_t ct_len,
                       uint32_t tag_off, uint32_t tag_len) {
  return aead(0, key, nonce, buf, buf_len, ad_off, ad_len, ct_off, ct_len, tag_off, tag_len);
}

/* ---- HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2) --------------------------------------------- */

void cell_hchacha20(const uint8_t key[32], const uint8_t in[16], uint8_t out[32]) {
  uint32_t s[32]; /* s[0..16): the state, s[16..32): after the rounds */
  uint32_t i;
  chacha_setup(s, key, in, 12);
  chacha_core(s + 16, s, 0);
  /* Words 0..3 and 12..15, little-endian; key and in were read by chacha_setup. */
  for (i = 0; i < 4; i++) {
    st32(out + 4 * i, s[16 + i]);
    st32(out + 16 + 4 * i, s[28 + i]);
  }
  wipe32(s, 32);
}
