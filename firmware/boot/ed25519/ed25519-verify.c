/*
 * Ed25519 verification, written from RFC 8032 §5.1 (§5.1.2 encoding, §5.1.3 decoding, §5.1.4
 * point arithmetic, §5.1.7 verification); the API and return codes are in ed25519-verify.h.
 *
 * Not constant time, on purpose: verification only handles public data (the key, the signed
 * manifest and its signature), so the branches and early returns on it leak nothing secret. Do
 * not reuse these routines for signing or key exchange.
 *
 * Field GF(p), p = 2^255 - 19: an element is 16 signed limbs of (nominally) 16 bits, value
 * sum(limb[i] * 2^(16 i)), kept in int32_t and multiplied into int64_t (one SMULL/SMLAL each on
 * the Cortex-M3). Sums and differences are left unnormalised; fe_mul reduces its result (2^256 ≡ 38
 * mod p) to limbs in [0, 2^16) except limb 0 in [-38, 2^16 + 38). Every multiplication input in
 * this file is a constant, a product, or a sum or difference of at most four of them, so limbs
 * stay below 2^19 in magnitude and a product's column sums below 2^48: no overflow anywhere.
 *
 * Points: extended homogeneous coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z, with the
 * addition and doubling formulas of §5.1.4 (complete for this curve: no special cases).
 *
 * [S]B - [k]A is computed with one shared double-and-add pass over the 253 bits of S and k
 * (Straus/Shamir: B, -A and B - A precomputed), then encoded and compared with R's 32 bytes.
 */
#include "ed25519-verify.h"

#include <string.h>

#include "sha512.h"

/* Keeps large stack frames apart (see check); only a hint, the code is correct without it. */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* The carries below shift negative int64_t right and rely on the shift being arithmetic (floor
 * division by 2^16), as it is on every compiler this builds with; refuse to build otherwise. */
typedef char cell_ed25519_needs_arithmetic_shift[(((int64_t)-1) >> 1) == -1 ? 1 : -1];

typedef int32_t fe[16];

typedef struct {
  fe x, y, z, t;
} pt;

/* d = -121665/121666, 2d, sqrt(-1) = 2^((p-1)/4), and the base point B (§5.1: y = 4/5, x even;
 * T = xy), as limbs; computed from their definitions in RFC 8032 and checked by the tests. */
static const fe D = {0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070,
                     0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203};
static const fe D2 = {0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0,
                      0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406};
static const fe SQRTM1 = {0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43,
                          0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83};
static const pt BASE = {
  {0xd51a, 0x8f25, 0x2d60, 0xc956, 0xa7b2, 0x9525, 0xc760, 0x692c,
   0xdc5c, 0xfdd6, 0xe231, 0xc0a4, 0x53fe, 0xcd6e, 0x36d3, 0x2169},
  {0x6658, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666,
   0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666},
  {1},
  {0xdda3, 0xa5b7, 0x8ab3, 0x6dde, 0x52f5, 0x7751, 0x9f80, 0x20f0,
   0xe37d, 0x64ab, 0x4e8e, 0x66ea, 0x7665, 0xd78b, 0x5f0f, 0x6787},
};

/* L = 2^252 + 27742317777372353535851937790883648493, the order of B, as little-endian words. */
static const uint32_t L[8] = {0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu,
                              0x00000000u, 0x00000000u, 0x00000000u, 0x10000000u};

/* ---- GF(p) ---- */

static void fe_add(fe o, const fe a, const fe b) {
  for (int i = 0; i < 16; i++) o[i] = a[i] + b[i];
}

static void fe_sub(fe o, const fe a, const fe b) {
  for (int i = 0; i < 16; i++) o[i] = a[i] - b[i];
}

/* (x, y) = (y - x, y + x), in place: the E/H and F/G pairs of §5.1.4 without more temporaries. */
static void fe_bfly(fe x, fe y) {
  for (int i = 0; i < 16; i++) {
    int32_t d = y[i] - x[i];
    y[i] += x[i];
    x[i] = d;
  }
}

/* One carry pass: limbs 0..15 into [0, 2^16), the carry out of limb 15 (weight 2^256 ≡ 38) added
 * to limb 0. */
static void carry(int64_t t[16]) {
  for (int i = 0; i < 16; i++) {
    int64_t c = t[i] >> 16;
    t[i] &= 0xffff;
    if (i < 15)
      t[i + 1] += c;
    else
      t[0] += 38 * c;
  }
}

#ifdef CELL_ED25519_COUNT_MUL
/* Host measurements (harness.c): GF(p) multiplications, and how many of them were squarings. */
unsigned long cell_ed25519_mul_count, cell_ed25519_sq_count;
#endif

/* o = a * b; o may be a or b. Column i sums the products a[j] b[m] of weight 2^(16 i): j + m = i,
 * or j + m = i + 16 (weight 2^256 * 2^(16 i), and 2^256 ≡ 38). |column| < 16 * 38 * 2^38 < 2^48;
 * the first carry pass leaves a carry below 2^33 out of limb 15, so limb 0 below 2^39; the second
 * leaves limbs 1..15 in [0, 2^16) and a carry of -1, 0 or 1 out of limb 15, so limb 0 in
 * [-38, 2^16 + 38). */
static void fe_mul(fe o, const fe a, const fe b) {
  /* e[15 + m] = b[m], e[m - 1] = 38 b[m] (< 2^25): column i is the sum of a[j] e[i + 15 - j]. */
  int32_t e[31];
  int64_t t[16];
#ifdef CELL_ED25519_COUNT_MUL
  cell_ed25519_mul_count++;
#endif
  for (int m = 0; m < 16; m++) {
    e[15 + m] = b[m];
    if (m > 0) e[m - 1] = 38 * b[m];
  }
  for (int i = 0; i < 16; i++) {
    const int32_t *c = e + i + 15;
    int64_t acc = 0;
    for (int j = 0; j < 16; j += 4) { /* unrolled by hand: SMLALs back to back */
      acc += (int64_t)a[j] * c[-j];
      acc += (int64_t)a[j + 1] * c[-j - 1];
      acc += (int64_t)a[j + 2] * c[-j - 2];
      acc += (int64_t)a[j + 3] * c[-j - 3];
    }
    t[i] = acc;
  }
  carry(t);
  carry(t);
  for (int i = 0; i < 16; i++) o[i] = (int32_t)t[i];
}

/* o = a^2; o may be a. (A dedicated squaring, each cross product computed once and doubled, does
 * 136 multiplications instead of 256 but its loops cost more than the unrolled one above: on the
 * Cortex-M3 it made a verification slower, not faster.) */
static void fe_sq(fe o, const fe a) {
#ifdef CELL_ED25519_COUNT_MUL
  cell_ed25519_sq_count++;
#endif
  fe_mul(o, a, a);
}

/* o = x^(2^n); o may be x; n >= 1. */
static void fe_sqn(fe o, const fe x, int n) {
  fe_sq(o, x);
  while (--n > 0) fe_sq(o, o);
}

/* o = x^(2^255 - 21) = x^(p - 2) = 1/x (inv), or x^(2^252 - 3) = x^((p - 5)/8) (the square root
 * of §5.1.3); o may be x. Both exponents are (2^250 - 1) shifted left plus a small tail (11 = 01011b
 * after 5 squarings, 1 after 2), and x^(2^250 - 1) is built from x^(2^k - 1) for k = 5, 10, 20, 40,
 * 50, 100, 200, 250, each from smaller ones: x^(2^(a+b) - 1) = (x^(2^a - 1))^(2^b) * x^(2^b - 1).
 * 254 squarings and 11 multiplications (square-and-multiply would need about 250 of each). */
static void fe_pow(fe o, const fe x, int inv) {
  fe x11, e, acc, tmp;
  fe_sq(acc, x);             /* x^2 */
  fe_sqn(e, acc, 2);         /* x^8 */
  fe_mul(e, e, x);           /* x^9 */
  fe_mul(x11, e, acc);       /* x^11 */
  fe_sq(acc, x11);           /* x^22 */
  fe_mul(e, acc, e);         /* x^31: k = 5 */
  fe_sqn(acc, e, 5);
  fe_mul(e, acc, e);         /* k = 10, kept in e for k = 50 */
  fe_sqn(acc, e, 10);
  fe_mul(acc, acc, e);       /* 20 */
  fe_sqn(tmp, acc, 20);
  fe_mul(acc, tmp, acc);     /* 40 */
  fe_sqn(acc, acc, 10);
  fe_mul(e, acc, e);         /* 50, kept in e for k = 250 */
  fe_sqn(acc, e, 50);
  fe_mul(acc, acc, e);       /* 100 */
  fe_sqn(tmp, acc, 100);
  fe_mul(acc, tmp, acc);     /* 200 */
  fe_sqn(acc, acc, 50);
  fe_mul(acc, acc, e);       /* 250 */
  if (inv) {
    fe_sqn(acc, acc, 5);     /* (2^250 - 1) * 2^5 = 2^255 - 32 */
    fe_mul(o, acc, x11);     /* + 11 */
  } else {
    fe_sqn(acc, acc, 2);     /* 2^252 - 4 */
    fe_mul(o, acc, x);       /* + 1 */
  }
}

/* The canonical little-endian encoding of a mod p (§5.1.2). Three carry passes take any int32_t
 * limbs to [0, 2^16) each (the second leaves a carry of at most 1 in magnitude into limb 0, and a
 * third pass cannot carry out of limb 15 again: that needs limbs 1..15 all 0xffff or all 0, after
 * which limb 0 stays in range), i.e. a value in [0, 2^256) < 3p; then p is subtracted up to twice. */
static void fe_pack(uint8_t out[32], const fe a) {
  int64_t t[16];
  for (int i = 0; i < 16; i++) t[i] = a[i];
  carry(t);
  carry(t);
  carry(t);
  for (int k = 0; k < 2; k++) {
    int32_t m[16];
    int32_t borrow = 0;
    for (int i = 0; i < 16; i++) {
      int32_t pi = i == 0 ? 0xffed : i == 15 ? 0x7fff : 0xffff;
      m[i] = (int32_t)t[i] - pi - borrow;
      borrow = m[i] < 0;
      m[i] &= 0xffff;
    }
    if (!borrow)
      for (int i = 0; i < 16; i++) t[i] = m[i];
  }
  for (int i = 0; i < 16; i++) {
    out[2 * i] = (uint8_t)t[i];
    out[2 * i + 1] = (uint8_t)(t[i] >> 8);
  }
}

/* The 255-bit little-endian integer in s (bit 255, the sign of x in a point encoding, ignored);
 * not reduced mod p: a y >= p is caught by comparing with fe_pack's canonical encoding. */
static void fe_unpack(fe o, const uint8_t s[32]) {
  for (int i = 0; i < 16; i++) o[i] = s[2 * i] | (s[2 * i + 1] << 8);
  o[15] &= 0x7fff;
}

static int fe_iszero(const fe a) {
  uint8_t s[32];
  uint8_t acc = 0;
  fe_pack(s, a);
  for (int i = 0; i < 32; i++) acc |= s[i];
  return acc == 0;
}

/* The "sign" of x (§5.1.2): the least significant bit of its canonical value. */
static int fe_parity(const fe a) {
  uint8_t s[32];
  fe_pack(s, a);
  return s[0] & 1;
}

/* ---- Points (§5.1.4) ---- */

/* X3 = E*F, Y3 = G*H, T3 = E*H, Z3 = F*G: the common tail of addition and doubling. */
static void pt_finish(pt *r, const fe e, const fe f, const fe g, const fe h) {
  fe_mul(r->x, e, f);
  fe_mul(r->y, g, h);
  fe_mul(r->t, e, h);
  fe_mul(r->z, f, g);
}

/* r = p + q; r may be p or q. */
static void pt_add(pt *r, const pt *p, const pt *q) {
  fe a, b, u, v;
  fe_sub(u, p->y, p->x);
  fe_sub(v, q->y, q->x);
  fe_mul(a, u, v);       /* A = (Y1-X1)*(Y2-X2) */
  fe_add(u, p->y, p->x);
  fe_add(v, q->y, q->x);
  fe_mul(b, u, v);       /* B = (Y1+X1)*(Y2+X2) */
  fe_mul(u, p->t, q->t);
  fe_mul(u, u, D2);      /* C = T1*2*d*T2 */
  fe_mul(v, p->z, q->z);
  fe_add(v, v, v);       /* D = Z1*2*Z2 */
  fe_bfly(a, b);         /* E = B-A, H = B+A */
  fe_bfly(u, v);         /* F = D-C, G = D+C */
  pt_finish(r, a, u, v, b);
}

/* r = 2p; r may be p. */
static void pt_double(pt *r, const pt *p) {
  fe a, b, c, e;
  fe_sq(b, p->x);        /* A = X1^2 (in b) */
  fe_sq(a, p->y);        /* B = Y1^2 (in a) */
  fe_bfly(a, b);         /* G = A-B (in a), H = A+B (in b) */
  fe_sq(c, p->z);
  fe_add(c, c, c);       /* C = 2*Z1^2 */
  fe_add(c, c, a);       /* F = C+G */
  fe_add(e, p->x, p->y);
  fe_sq(e, e);
  fe_sub(e, b, e);       /* E = H-(X1+Y1)^2 */
  pt_finish(r, e, c, a, b);
}

/* §5.1.3, strict: 0 when s is the encoding of a point (then in r), -1 otherwise. r->x and r->t
 * double as scratch (x and v x^2) until the end. */
NOINLINE static int pt_decode(pt *r, const uint8_t s[32]) {
  fe u, v;
  int32_t *x = r->x, *w = r->t;
  uint8_t chk[32];
  int sign = s[31] >> 7;
  /* 1. y < p: the canonical re-encoding of y (with the sign bit copied) must give s back. */
  fe_unpack(r->y, s);
  fe_pack(chk, r->y);
  chk[31] |= (uint8_t)(sign << 7);
  if (memcmp(chk, s, 32) != 0) return -1;
  memset(r->z, 0, sizeof r->z);
  r->z[0] = 1;
  /* 2. u = y^2 - 1, v = d y^2 + 1, x = u v^3 (u v^7)^((p-5)/8). */
  fe_sq(u, r->y);
  fe_mul(v, u, D);
  fe_add(v, v, r->z);
  fe_sub(u, u, r->z);
  fe_sq(w, v);
  fe_mul(w, w, v); /* v^3 */
  fe_sq(x, w);
  fe_mul(x, x, v);
  fe_mul(x, x, u); /* u v^7 */
  fe_pow(x, x, 0);
  fe_mul(x, x, w);
  fe_mul(x, x, u);
  /* 3. v x^2 = u: x is a root; v x^2 = -u: x * sqrt(-1) is; otherwise there is none. */
  fe_sq(w, x);
  fe_mul(w, w, v);
  fe_sub(w, w, u);
  if (!fe_iszero(w)) {
    fe_add(w, w, u);
    fe_add(w, w, u);
    if (!fe_iszero(w)) return -1;
    fe_mul(x, x, SQRTM1);
  }
  /* 4. x = 0 with the sign bit set is not an encoding; otherwise take the root of that sign. */
  if (fe_iszero(x) && sign) return -1;
  if (fe_parity(x) != sign)
    for (int i = 0; i < 16; i++) x[i] = -x[i];
  fe_mul(r->t, x, r->y);
  return 0;
}

/* ---- Scalars mod L ---- */

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* o = a - L (256-bit words); returns the borrow: 1 when a < L (o then meaningless). */
static uint32_t sc_sub_l(uint32_t o[8], const uint32_t a[8]) {
  uint32_t borrow = 0;
  for (int i = 0; i < 8; i++) {
    uint64_t d = (uint64_t)a[i] - L[i] - borrow;
    o[i] = (uint32_t)d;
    borrow = (uint32_t)(d >> 63);
  }
  return borrow;
}

/* k = SHA-512(R || A || M) as a little-endian 512-bit integer, reduced mod L (as @noble/curves and
 * the usual implementations do): bit by bit from the top, r = 2r + bit, minus L when r >= L
 * (r < L before, so 2r + 1 < 2L < 2^254: one subtraction, no overflow). 512 short steps: a small
 * fraction of a verification's time, and of the code a Barrett reduction would take. */
NOINLINE static void hash_k(uint32_t k[8], const uint8_t sig[64], const uint8_t pub[32],
                            const uint8_t *msg, uint32_t len) {
  cell_sha512_ctx c;
  uint8_t h[64];
  uint32_t t[8];
  cell_sha512_init(&c);
  cell_sha512_update(&c, sig, 32);
  cell_sha512_update(&c, pub, 32);
  cell_sha512_update(&c, msg, len);
  cell_sha512_final(&c, h);
  memset(k, 0, 8 * sizeof k[0]);
  for (int i = 511; i >= 0; i--) {
    uint32_t bit = (h[i >> 3] >> (i & 7)) & 1;
    for (int j = 0; j < 8; j++) {
      uint32_t w = k[j];
      k[j] = (w << 1) | bit;
      bit = w >> 31;
    }
    if (!sc_sub_l(t, k)) memcpy(k, t, sizeof t);
  }
}

/* ---- §5.1.7 ---- */

/* With -A in na (decoded by the caller): 0 when [S]B + [k](-A) encodes to R. Kept apart from
 * cell_ed25519_verify so that hash_k's SHA-512 context, pt_decode's temporaries and this
 * function's two points are never on the stack at the same time. */
NOINLINE static int check(const uint8_t sig[64], const uint32_t k[8], pt *na) {
  pt q, bna; /* the accumulator, B - A */
  uint8_t enc[32];

  /* A of order 1, 2, 4 or 8: [8]A is the neutral point (0, 1), i.e. X = 0 (the only other point
   * with x = 0, (0, -1), has order 2 and cannot be [8]A). */
  pt_double(&q, na);
  pt_double(&q, &q);
  pt_double(&q, &q);
  if (fe_iszero(q.x)) return CELL_ED25519_WEAK_KEY;
  for (int i = 0; i < 16; i++) {
    na->x[i] = -na->x[i];
    na->t[i] = -na->t[i];
  }

  /* q = [S]B + [k](-A), one double-and-add pass over both scalars (S, k < L < 2^253: bits
   * 252..0), adding B, -A or B - A. */
  pt_add(&bna, &BASE, na);
  memset(&q, 0, sizeof q);
  q.y[0] = 1;
  q.z[0] = 1;
  for (int i = 252; i >= 0; i--) {
    int sb = (sig[32 + (i >> 3)] >> (i & 7)) & 1;
    int kb = (k[i >> 5] >> (i & 31)) & 1;
    pt_double(&q, &q);
    if (sb && kb)
      pt_add(&q, &q, &bna);
    else if (sb)
      pt_add(&q, &q, &BASE);
    else if (kb)
      pt_add(&q, &q, na);
  }

  /* Encode q (x = X/Z, y = Y/Z; §5.1.2) and compare with R. R is not decoded on its own: this
   * encoding is always canonical (y < p; x = 0 only with a clear sign bit), so the 32 bytes match
   * exactly when R decodes (§5.1.3), and to this very point; an R that does not decode (y >= p,
   * no square root, x = 0 with the sign bit set) never matches. */
  fe_pow(q.t, q.z, 1); /* 1/Z, into the T no longer needed */
  fe_mul(q.x, q.x, q.t);
  fe_mul(q.y, q.y, q.t);
  fe_pack(enc, q.y);
  enc[31] |= (uint8_t)(fe_parity(q.x) << 7);
  return memcmp(enc, sig, 32) == 0 ? CELL_ED25519_OK : CELL_ED25519_MISMATCH;
}

int cell_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, uint32_t len,
                        const uint8_t pub[32]) {
  uint32_t s[8], k[8];
  pt a;
  /* Step 1: S (the second half of the signature) must be below L, A must decode (R: see check). */
  for (int i = 0; i < 8; i++) s[i] = load_le32(sig + 32 + 4 * i);
  if (!sc_sub_l(k, s)) return CELL_ED25519_BAD_S;
  if (pt_decode(&a, pub) != 0) return CELL_ED25519_BAD_KEY;
  /* Step 2: k = SHA-512(R || A || M) mod L. */
  hash_k(k, sig, pub, msg, len);
  /* Step 3. */
  return check(sig, k, &a);
}
