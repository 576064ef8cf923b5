/*
 * Test driver of cell-aead.c (not part of any firmware image). It includes cell-aead.c, so that the
 * RFC 8439 vectors of the internal pieces (block function, encryption, Poly1305) can be checked
 * too. Two builds, both made by test/firmware/cell-aead-c.test.ts:
 *
 * Host (`cc -O2 -Wall -Wextra -Werror cell-aead-harness.c`): one command per line on stdin, one
 * answer line on stdout. Hex fields are lower- or upper-case; "-" is an empty field; numbers are
 * decimal or 0x-hex u32.
 *   seal <key> <nonce> <buf> <ad_off> <ad_len> <pt_off> <pt_len> <tag_off> <tag_len> [<buf_len>]
 *   open <key> <nonce> <buf> <ad_off> <ad_len> <ct_off> <ct_len> <tag_off> <tag_len> [<buf_len>]
 *        → "<result> <buf after the call>"; buf_len defaults to the bytes of <buf> (a larger one
 *          is only for calls that must fail before touching buf)
 *   hchacha <key> <in>             → "<out> <out when written over the key>"
 *   block <key> <nonce> <counter>  → the 64-byte ChaCha20 block (§2.3)
 *   xor <key> <nonce> <counter> <data> → data ^ keystream from block <counter> (§2.4)
 *   poly <key> <msg>               → the 16-byte Poly1305 tag (§2.5), from the pieces the AEAD uses
 *   anything else                  → "error"
 *
 * Cortex-M3 (-DCELL_AEAD_TARGET, linked with cortex-m.c and board-mps2-an385.c): the speed run
 * under `qemu-system-arm -M mps2-an385 -icount shift=N -no-reboot`, the method of
 * firmware/thermo-secure/bench: virtual time counts guest instructions, and SysTick's millis runs
 * on it, so each measurement loops for at least BENCH_MS virtual milliseconds and prints
 * `bench <name> <iterations> <ms>` (instructions per iteration = ms * 10^6 / 2^N / iterations).
 * First it seals and opens the RFC 8439 §2.8.2 vector and prints `check <seal result> <ciphertext
 * and tag> <open result> <plaintext>`, so the test knows the target build computes the right
 * thing; `bench calib` times a loop of exactly 2000 instructions more than `bench loop`, which
 * checks the conversion; `bench done` last, then a reset, which ends qemu.
 */
#include "cell-aead.c"

#ifndef CELL_AEAD_TARGET

#include <stdio.h>
#include <stdlib.h>

#define MAX_BYTES 65536

static char line[4 * MAX_BYTES + 1024];

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The next space-separated field of *s, or NULL. */
static char *field(char **s) {
  char *p = *s, *start;
  while (*p == ' ') p++;
  if (*p == 0) return NULL;
  start = p;
  while (*p != ' ' && *p != 0) p++;
  if (*p) *p++ = 0;
  *s = p;
  return start;
}

/* Hex field → out (at most max bytes): the byte count, or -1. */
static long hex(char **s, uint8_t *out, long max) {
  char *f = field(s);
  long n = 0;
  if (f == NULL) return -1;
  if (f[0] == '-' && f[1] == 0) return 0;
  for (; f[0] && f[1]; f += 2) {
    int hi = hexval(f[0]), lo = hexval(f[1]);
    if (hi < 0 || lo < 0 || n >= max) return -1;
    out[n++] = (uint8_t)(hi << 4 | lo);
  }
  return f[0] ? -1 : n;
}

static int num(char **s, uint32_t *v) {
  char *f = field(s), *end;
  unsigned long x;
  if (f == NULL) return 0;
  x = strtoul(f, &end, 0);
  if (*end != 0 || x > 0xffffffffUL) return 0;
  *v = (uint32_t)x;
  return 1;
}

static void put_hex(const uint8_t *b, long n) {
  long i;
  if (n == 0) fputs("-", stdout);
  for (i = 0; i < n; i++) printf("%02x", b[i]);
}

/* One command; 0 when it is malformed. */
static int command(char *s) {
  static uint8_t buf[MAX_BYTES];
  uint8_t key[32], nonce[12], in[16], out[64];
  char *cmd = field(&s);
  if (cmd == NULL) return 0;
  if (strcmp(cmd, "seal") == 0 || strcmp(cmd, "open") == 0) {
    uint32_t a[7];
    long n;
    int i;
    int32_t r;
    if (hex(&s, key, 32) != 32 || hex(&s, nonce, 12) != 12 || (n = hex(&s, buf, MAX_BYTES)) < 0) return 0;
    for (i = 0; i < 6; i++) if (!num(&s, &a[i])) return 0;
    if (!num(&s, &a[6])) a[6] = (uint32_t)n;
    else if (a[6] < (uint32_t)n) return 0;
    r = (cmd[0] == 's' ? cell_aead_seal : cell_aead_open)(key, nonce, buf, a[6], a[0], a[1], a[2], a[3], a[4], a[5]);
    printf("%ld ", (long)r);
    put_hex(buf, n);
  } else if (strcmp(cmd, "hchacha") == 0) {
    if (hex(&s, key, 32) != 32 || hex(&s, in, 16) != 16) return 0;
    cell_hchacha20(key, in, out);
    put_hex(out, 32);
    cell_hchacha20(key, in, key);
    fputs(" ", stdout);
    put_hex(key, 32);
  } else if (strcmp(cmd, "block") == 0 || strcmp(cmd, "xor") == 0) {
    uint32_t st[16], x[16], counter;
    long n = 64;
    if (hex(&s, key, 32) != 32 || hex(&s, nonce, 12) != 12 || !num(&s, &counter)) return 0;
    if (cmd[0] == 'x' && (n = hex(&s, buf, MAX_BYTES)) < 0) return 0;
    if (cmd[0] == 'b') memset(buf, 0, 64);
    chacha_setup(st, key, nonce, 13);
    st[12] = counter;
    chacha_xor(st, x, buf, (uint32_t)n);
    put_hex(buf, n);
  } else if (strcmp(cmd, "poly") == 0) {
    struct poly p;
    uint32_t k[8], tag[4], i;
    uint8_t last[16];
    long n, off = 0;
    if (hex(&s, out, 32) != 32 || (n = hex(&s, buf, MAX_BYTES)) < 0) return 0;
    for (i = 0; i < 8; i++) k[i] = ld32(out + 4 * i);
    poly_init(&p, k);
    for (; n - off >= 16; off += 16) poly_block(&p, buf + off, 1);
    if (n > off) { /* §2.5: the final partial block gets a 0x01 byte, zeros, and no 2^128 bit */
      memset(last, 0, 16);
      memcpy(last, buf + off, (size_t)(n - off));
      last[n - off] = 1;
      poly_block(&p, last, 0);
    }
    poly_finish(&p, tag);
    for (i = 0; i < 4; i++) st32(out + 4 * i, tag[i]);
    put_hex(out, 16);
  } else {
    return 0;
  }
  return 1;
}

int main(void) {
  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (!command(line)) fputs("error", stdout);
    fputs("\n", stdout);
  }
  return 0;
}

#else /* CELL_AEAD_TARGET: the speed run on the board */

#include "board.h"
#include "cell-rt.h"

#define BENCH_MS 200u
#define CALIB_LOOPS 1000u

static void put(const char *s) {
  while (*s) board_uart_putc((uint8_t)*s++);
}

static void put_u32(uint32_t v) {
  char b[11];
  int i = 10;
  b[i] = 0;
  do {
    b[--i] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v);
  put(b + i);
}

static void put_i32(int32_t v) {
  if (v < 0) {
    put("-");
    put_u32(0u - (uint32_t)v);
  } else {
    put_u32((uint32_t)v);
  }
}

static void put_hex(const uint8_t *b, uint32_t n) {
  static const char digits[] = "0123456789abcdef";
  uint32_t i;
  for (i = 0; i < n; i++) {
    board_uart_putc((uint8_t)digits[b[i] >> 4]);
    board_uart_putc((uint8_t)digits[b[i] & 15u]);
  }
}

void cell_panic(const char *reason) {
  put("!panic ");
  put(reason);
  put("\n");
  board_reset();
}

/* RFC 8439 §2.8.2: AD (12) | plaintext (114) | tag (16). */
static const uint8_t v_key[32] = {
  0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
  0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f};
static const uint8_t v_nonce[12] = {0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47};
static const uint8_t v_ad[12] = {0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};
static const char v_pt[] =
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

/* A link frame as thermo-secure seals it: a 20-byte header (AD), 32 payload bytes, an 8-byte tag. */
#define AD_BYTES 20u
#define PAYLOAD_BYTES 32u
#define TAG_BYTES 8u
static uint8_t frame[AD_BYTES + PAYLOAD_BYTES + TAG_BYTES];
static uint8_t sealed[sizeof frame];
static uint8_t key[32], nonce[12], sub[32];
static uint8_t check[12 + 114 + 16];
static volatile int32_t sink;

__attribute__((noinline)) static int32_t step(int op) {
  if (op == 0) return frame[5]; /* the loop alone */
  if (op == 1) { /* seal a copy of the frame (what is in the payload bytes does not matter) */
    memcpy(frame, sealed, sizeof frame);
    return cell_aead_seal(key, nonce, frame, sizeof frame, 0, AD_BYTES, AD_BYTES, PAYLOAD_BYTES,
                          AD_BYTES + PAYLOAD_BYTES, TAG_BYTES);
  }
  if (op == 2) { /* open a copy of the sealed frame */
    memcpy(frame, sealed, sizeof frame);
    return cell_aead_open(key, nonce, frame, sizeof frame, 0, AD_BYTES, AD_BYTES, PAYLOAD_BYTES,
                          AD_BYTES + PAYLOAD_BYTES, TAG_BYTES);
  }
  if (op == 3) { /* the copy of ops 1, 2 and 4 alone */
    memcpy(frame, sealed, sizeof frame);
    return frame[5];
  }
  if (op == 4) { /* a refused frame: the tag is checked, nothing decrypted */
    memcpy(frame, sealed, sizeof frame);
    frame[sizeof frame - 1] ^= 1;
    return cell_aead_open(key, nonce, frame, sizeof frame, 0, AD_BYTES, AD_BYTES, PAYLOAD_BYTES,
                          AD_BYTES + PAYLOAD_BYTES, TAG_BYTES);
  }
  if (op == 5) { /* a session key (the session's HChaCha20) */
    cell_hchacha20(key, sub, sub);
    return sub[0];
  }
  { /* op 6, the calibration: exactly 2 * CALIB_LOOPS instructions more than op 0 */
    uint32_t n = CALIB_LOOPS;
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
    return (int32_t)n;
  }
}

static void measure(const char *name, int op) {
  uint32_t iters = 0, t0 = board_millis(), t = t0;
  while (t - t0 < BENCH_MS) {
    uint32_t k;
    for (k = 0; k < 16; k++) sink += step(op);
    iters += 16;
    t = board_millis();
  }
  put("bench ");
  put(name);
  put(" ");
  put_u32(iters);
  put(" ");
  put_u32(t - t0);
  put("\n");
}

int main(void) {
  uint32_t i;
  int32_t r;
  memcpy(check, v_ad, 12);
  memcpy(check + 12, v_pt, 114);
  r = cell_aead_seal(v_key, v_nonce, check, sizeof check, 0, 12, 12, 114, 126, 16);
  put("check ");
  put_i32(r);
  put(" ");
  put_hex(check + 12, 114 + 16);
  r = cell_aead_open(v_key, v_nonce, check, sizeof check, 0, 12, 12, 114, 126, 16);
  put(" ");
  put_i32(r);
  put(" ");
  put_hex(check + 12, 114);
  put("\n");

  for (i = 0; i < 32; i++) key[i] = (uint8_t)(i * 29u + 7u);
  for (i = 0; i < 12; i++) nonce[i] = (uint8_t)(i + 1u);
  for (i = 0; i < AD_BYTES + PAYLOAD_BYTES; i++) frame[i] = (uint8_t)(i * 7u + 1u);
  cell_aead_seal(key, nonce, frame, sizeof frame, 0, AD_BYTES, AD_BYTES, PAYLOAD_BYTES, AD_BYTES + PAYLOAD_BYTES, TAG_BYTES);
  memcpy(sealed, frame, sizeof frame);
  measure("loop", 0);
  measure("seal", 1);
  measure("open", 2);
  measure("copy", 3);
  measure("open-refused", 4);
  measure("hchacha", 5);
  measure("calib", 6);
  put("bench done\n");
  return 0;
}

#endif
