/*
 * The Cortex-M3 build of sha512.c and ed25519-verify.c, run bare on qemu's mps2-an385
 * (test/boot/ed25519-c.test.ts links it with target-test.ld and runs it under
 * `qemu-system-arm -M mps2-an385 -semihosting -icount shift=0`). Not part of the bootloader.
 *
 * The test generates target-vectors.h: `static const struct target_case cases[]` (name, key,
 * signature, message). For each case this verifies the signature and a copy with one bit flipped,
 * timing the first with SysTick (processor clock, on qemu's virtual clock: with -icount shift=0 one
 * instruction is 1 ns, and a calibration loop of known length gives instructions per tick) and
 * measuring its stack high-water mark (the stack below is painted first). One line per case on
 * the semihosting console:
 *   case <name> <message bytes> <result> <result with a flipped bit> <ticks> <stack bytes>
 * then `calib <instructions> <ticks>`, `sha512 <bytes> <ticks>` and `done`.
 */
#include <stdint.h>
#include <string.h>

#include "ed25519-verify.h"
#include "sha512.h"

struct target_case {
  const char *name;
  const uint8_t *pub, *sig, *msg;
  uint32_t len;
};

#include "target-vectors.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define PAINT 0xa5a5a5a5u
#define PAINT_WORDS 2048 /* 8 KB below the caller's stack pointer */

static int semihost(int op, const void *arg) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static void put(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */

static void put_int(int32_t v) {
  char b[13];
  int i = 12;
  uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
  b[i] = 0;
  do {
    b[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) b[--i] = '-';
  put(" ");
  put(b + i);
}

static uint32_t ticks_since(uint32_t t0) { return (t0 - SYST_CVR) & 0xffffffu; }

__attribute__((noinline)) static void spin(uint32_t n) {
  __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
}

static uint32_t ticks, stack_bytes;

/* Verifies with the stack below painted; the deepest word overwritten gives the stack used. */
__attribute__((noinline)) static int measured(const struct target_case *c) {
  uint32_t *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  uint32_t *lo = sp - PAINT_WORDS;
  for (uint32_t *p = lo; p < sp - 16; p++) *p = PAINT;
  uint32_t t0 = SYST_CVR;
  int r = cell_ed25519_verify(c->sig, c->msg, c->len, c->pub);
  ticks = ticks_since(t0);
  uint32_t *p = lo;
  while (p < sp && *p == PAINT) p++;
  stack_bytes = (uint32_t)((uint8_t *)sp - (uint8_t *)p);
  return r;
}

static uint8_t big[4096]; /* .bss is not cleared: qemu's RAM starts zeroed */

int main(void) {
  SYST_RVR = 0xffffffu;
  SYST_CVR = 0;
  SYST_CSR = 5; /* enabled, processor clock, no interrupt */
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t bad[64];
    int r = measured(&cases[i]);
    memcpy(bad, cases[i].sig, 64);
    bad[i % 64] ^= (uint8_t)(1u << (i % 8));
    int r2 = cell_ed25519_verify(bad, cases[i].msg, cases[i].len, cases[i].pub);
    put("case ");
    put(cases[i].name);
    put_int((int32_t)cases[i].len);
    put_int(r);
    put_int(r2);
    put_int((int32_t)ticks);
    put_int((int32_t)stack_bytes);
    put("\n");
  }
  uint32_t t0 = SYST_CVR;
  spin(1000000); /* 2 instructions per turn */
  uint32_t calib = ticks_since(t0);
  put("calib");
  put_int(2000000);
  put_int((int32_t)calib);
  put("\n");
  uint8_t digest[64];
  t0 = SYST_CVR;
  cell_sha512(big, sizeof big, digest);
  uint32_t sha = ticks_since(t0);
  put("sha512");
  put_int((int32_t)sizeof big);
  put_int((int32_t)sha);
  put("\ndone\n");
  semihost(0x18, (const void *)0x20026u); /* SYS_EXIT, ADP_Stopped_ApplicationExit */
  for (;;) {
  }
}

extern uint32_t _estack;
void reset_handler(void);
void reset_handler(void) {
  main();
}

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
  &_estack,
  (const void *)reset_handler,
};
