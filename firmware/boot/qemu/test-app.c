/*
 * Slot images that start but can never be confirmed, for test/firmware/boot-qemu.test.ts (built by
 * scripts/build-boot.mjs as build/firmware/boot-test-<kind>-mps2-an385.bin; not shipped). Each is
 * linked like a real slot app (app-mps2-an385.ld, the runtime's cortex-m.c: a valid vector table
 * whose NMI and fault entries go to Fault_Handler → cell_panic → reset), then, in main():
 *   TEST_APP_FAULT     executes an undefined instruction (UsageFault, escalated to HardFault)
 *   TEST_APP_HANG      masks interrupts and spins: only the watchdog's NMI gets it out
 *   TEST_APP_HANG_NMI  the same, with an NMI handler that spins too: only the watchdog's own
 *                      reset (its second timeout) gets it out
 * None of them feeds the watchdog the bootloader armed (boot-qemu.h).
 */
#include <stdint.h>
#include "board.h"
#include "cell-rt.h"

static void uart_puts(const char *s) {
  while (*s) board_uart_putc((uint8_t)*s++);
}

void cell_panic(const char *reason) {
  board_uart_putc(0);
  uart_puts("!panic test-app ");
  uart_puts(reason);
  uart_puts("\n");
  board_uart_putc(0);
  board_reset();
}

#if defined(TEST_APP_HANG_NMI)
#define SCB_VTOR 0xE000ED08u
static void spin(void) {
  for (;;) {
  }
}
/* A copy of the vector table with the NMI entry replaced (VTOR needs 128-byte alignment). */
static uint32_t vectors[32] __attribute__((aligned(128)));
#endif

int main(void) {
#if defined(TEST_APP_FAULT)
  __asm__ volatile("udf #0" ::: "memory");
#elif defined(TEST_APP_HANG)
  __asm__ volatile("cpsid i" ::: "memory");
  for (;;) {
  }
#elif defined(TEST_APP_HANG_NMI)
  const uint32_t *vt = (const uint32_t *)REG32(SCB_VTOR);
  for (int i = 0; i < 32; i++) vectors[i] = vt[i];
  vectors[2] = (uint32_t)(uintptr_t)spin;
  __asm__ volatile("dsb" ::: "memory");
  REG32(SCB_VTOR) = (uint32_t)(uintptr_t)vectors;
  __asm__ volatile("dsb\n isb\n cpsid i" ::: "memory");
  for (;;) {
  }
#else
#error "define TEST_APP_FAULT, TEST_APP_HANG or TEST_APP_HANG_NMI"
#endif
  return 0;
}
