/*
 * ARM MPS2+ AN385 (Cortex-M3, 25 MHz) as emulated by qemu `-M mps2-an385`.
 * UART0 is an ARM CMSDK APB UART at 0x40004000 (CMSDK technical reference manual, ARM DDI 0479,
 * §4.3): DATA 0x00, STATE 0x04 (bit0 TX full, bit1 RX full, bit3 RX overrun, write 1 to clear),
 * CTRL 0x08 (bit0 TX enable, bit1 RX enable, bit3 RX interrupt enable), INTSTATUS/INTCLEAR 0x0C
 * (bit1 RX; write 1 to clear), BAUDDIV 0x10 (>= 16). One byte of buffering each way.
 * Interrupts (qemu hw/arm/mps2.c, AN385): UART0 RX = IRQ 0, TX = IRQ 1; the overrun lines of
 * UART0-2 are ORed into IRQ 12 (not used: the RX handler reads the overrun bit itself).
 * Receive is interrupt-driven (Irq0_Handler → the ring in cortex-m.c); transmit is polled.
 */
#include "board.h"

const char board_name[] = "mps2-an385";

#define CPU_HZ 25000000u
#define BAUD 115200u

#define UART0 0x40004000u
#define UART_DATA (UART0 + 0x00u)
#define UART_STATE (UART0 + 0x04u)
#define UART_CTRL (UART0 + 0x08u)
#define UART_INTSTATUS (UART0 + 0x0Cu)
#define UART_BAUDDIV (UART0 + 0x10u)
#define STATE_TXFULL 1u
#define STATE_RXFULL 2u
#define STATE_RXOVERRUN 8u
#define CTRL_TX_EN 1u
#define CTRL_RX_EN 2u
#define CTRL_RX_INTEN 8u
#define INT_RX 2u
#define UART0_RX_IRQ 0u

void board_init(void) {
  REG32(UART_BAUDDIV) = CPU_HZ / BAUD;
  REG32(UART_CTRL) = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INTEN;
  /* qemu's CMSDK model only asks its chardev for input again after the guest reads DATA; without
   * this read the first received byte waits ~1 s (the chardev's retry timer). Harmless on HW. */
  (void)REG32(UART_DATA);
  board_irq_enable(UART0_RX_IRQ);
  board_systick_init(CPU_HZ);
}

/* UART0 RX: move the received byte into the ring. The interrupt status is cleared first, so a
 * byte that arrives while we drain raises the interrupt again instead of being left behind. */
void Irq0_Handler(void) {
  REG32(UART_INTSTATUS) = INT_RX;
  while (REG32(UART_STATE) & STATE_RXFULL) {
    if (board_rx_full(UART0_RX_IRQ)) break; /* ring full: the byte waits in DATA */
    board_rx_put((uint8_t)REG32(UART_DATA));
  }
  if (REG32(UART_STATE) & STATE_RXOVERRUN) { /* a byte arrived while DATA was full: one lost */
    REG32(UART_STATE) = STATE_RXOVERRUN;
    board_rx_overruns++;
  }
}

void board_uart_putc(uint8_t b) {
  while (REG32(UART_STATE) & STATE_TXFULL) {
  }
  REG32(UART_DATA) = b;
}

/* Link security storage (board.h): in qemu's stand-in for flash, the machine RAM at 0x21000000
 * (file-backed with -object memory-backend-file, so it survives a power cycle; docs/flash.md
 * §10.1), above the bootloader's pages 0-129: the key page at 0x21040000 (1 KiB page 256; the
 * 64-byte record at its start, written into the backing file when the device is "flashed"), the
 * boot counter's two pages at 0x21040400 and 0x21040800. A fresh backing file is all zeros: no
 * record (a plain device), counter pages invalid (the counter starts at 0). */
#define SEC_AREA 0x21040000u
#define SEC_PAGE_BYTES 1024u

const uint8_t *board_sec_record(void) {
  return (const uint8_t *)SEC_AREA;
}

uint8_t *board_sec_counter_pages(void) {
  return (uint8_t *)(SEC_AREA + SEC_PAGE_BYTES);
}

uint32_t board_sec_page_bytes(void) {
  return SEC_PAGE_BYTES;
}
