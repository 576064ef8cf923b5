/*
 * ARM MPS2+ AN385 (Cortex-M3, 25 MHz) as emulated by qemu `-M mps2-an385`.
 * UART0 is an ARM CMSDK APB UART at 0x40004000 (CMSDK technical reference manual, ARM DDI 0479,
 * §4.3): DATA 0x00, STATE 0x04 (bit0 TX full, bit1 RX full), CTRL 0x08 (bit0 TX enable,
 * bit1 RX enable), BAUDDIV 0x10 (>= 16). One byte of buffering each way.
 */
#include "board.h"

const char board_name[] = "mps2-an385";

#define CPU_HZ 25000000u
#define BAUD 115200u

#define UART0 0x40004000u
#define UART_DATA (UART0 + 0x00u)
#define UART_STATE (UART0 + 0x04u)
#define UART_CTRL (UART0 + 0x08u)
#define UART_BAUDDIV (UART0 + 0x10u)
#define STATE_TXFULL 1u
#define STATE_RXFULL 2u

void board_init(void) {
  REG32(UART_BAUDDIV) = CPU_HZ / BAUD;
  REG32(UART_CTRL) = 3u; /* TX + RX enable */
  /* qemu's CMSDK model only asks its chardev for input again after the guest reads DATA; without
   * this read the first received byte waits ~1 s (the chardev's retry timer). Harmless on HW. */
  (void)REG32(UART_DATA);
  board_systick_init(CPU_HZ);
}

int board_uart_getc(void) {
  if ((REG32(UART_STATE) & STATE_RXFULL) == 0) return -1;
  return (int)(REG32(UART_DATA) & 0xffu);
}

void board_uart_putc(uint8_t b) {
  while (REG32(UART_STATE) & STATE_TXFULL) {
  }
  REG32(UART_DATA) = b;
}
