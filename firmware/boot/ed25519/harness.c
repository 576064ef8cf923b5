/*
 * Host test harness for sha512.c and ed25519-verify.c (test/boot/ed25519-c.test.ts builds it with
 * the host cc). Reads lines on stdin, answers one line each on stdout:
 *   v <pub hex> <sig hex> <msg hex>   ->  1 (valid) or 0 (invalid); the message may be empty
 *   h <msg hex>                       ->  SHA-512 of the message, 128 hex digits (one-shot)
 *   p <msg hex>                       ->  the same through init/update/final, fed in pieces of
 *                                        1, 2, 3, ... bytes (exercises the partial-block paths)
 *   c <pub hex> <sig hex> <msg hex>   ->  cell_ed25519_verify's return code
 *   m                                 ->  "<multiplications> <squarings among them>" in GF(p) done
 *                                        by the last v/c (with -DCELL_ED25519_COUNT_MUL; else -1)
 * A malformed line answers "?". Not firmware: uses stdio and malloc freely.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ed25519-verify.h"
#include "sha512.h"

#ifdef CELL_ED25519_COUNT_MUL
extern unsigned long cell_ed25519_mul_count, cell_ed25519_sq_count;
#endif

static char *line;
static size_t cap;

/* One line without its newline, or NULL at end of input. */
static char *read_line(void) {
  size_t n = 0;
  int ch;
  while ((ch = getchar()) != EOF && ch != '\n') {
    if (n + 1 >= cap) {
      cap = cap ? cap * 2 : 4096;
      line = realloc(line, cap);
      if (!line) exit(2);
    }
    line[n++] = (char)ch;
  }
  if (ch == EOF && n == 0) return NULL;
  if (!line) {
    cap = 4096;
    line = malloc(cap);
    if (!line) exit(2);
  }
  line[n] = 0;
  return line;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes the hex token at *p (advancing past it and following spaces) into a malloc'd buffer;
 * returns its length, or -1 when the token is not whole bytes of hex. */
static long hex_token(char **p, uint8_t **out) {
  char *s = *p;
  size_t n = 0;
  while (s[n] && s[n] != ' ') n++;
  if (n % 2) return -1;
  *out = malloc(n / 2 + 1);
  if (!*out) exit(2);
  for (size_t i = 0; i < n / 2; i++) {
    int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    (*out)[i] = (uint8_t)(hi << 4 | lo);
  }
  s += n;
  while (*s == ' ') s++;
  *p = s;
  return (long)(n / 2);
}

static void print_hex(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\n");
}

int main(void) {
  char *l;
  while ((l = read_line()) != NULL) {
    char cmd = l[0];
    char *p = l + 1;
    while (*p == ' ') p++;
    if (cmd == 'h' || cmd == 'p') {
      uint8_t *msg = NULL, digest[64];
      long n = hex_token(&p, &msg);
      if (n < 0) {
        printf("?\n");
      } else if (cmd == 'h') {
        cell_sha512(msg, (uint32_t)n, digest);
        print_hex(digest, 64);
      } else {
        cell_sha512_ctx c;
        long off = 0, step = 1;
        cell_sha512_init(&c);
        while (off < n) {
          long k = step < n - off ? step : n - off;
          cell_sha512_update(&c, msg + off, (uint32_t)k);
          off += k;
          step++;
        }
        cell_sha512_final(&c, digest);
        print_hex(digest, 64);
      }
      free(msg);
    } else if (cmd == 'v' || cmd == 'c') {
      uint8_t *pub = NULL, *sig = NULL, *msg = NULL;
      long np = hex_token(&p, &pub);
      long ns = np == 32 ? hex_token(&p, &sig) : -1;
      long nm = ns == 64 ? hex_token(&p, &msg) : -1;
      if (nm < 0) {
        printf("?\n");
      } else {
#ifdef CELL_ED25519_COUNT_MUL
        cell_ed25519_mul_count = cell_ed25519_sq_count = 0;
#endif
        int r = cell_ed25519_verify(sig, msg, (uint32_t)nm, pub);
        if (cmd == 'v')
          printf("%d\n", r == 0 ? 1 : 0);
        else
          printf("%d\n", r);
      }
      free(pub);
      free(sig);
      free(msg);
    } else if (cmd == 'm') {
#ifdef CELL_ED25519_COUNT_MUL
      printf("%lu %lu\n", cell_ed25519_mul_count, cell_ed25519_sq_count);
#else
      printf("-1\n");
#endif
    } else {
      printf("?\n");
    }
  }
  return 0;
}
