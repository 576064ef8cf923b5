/*
 * TI Stellaris LM3S6965 evaluation board (Cortex-M3) as emulated by qemu `-M lm3s6965evb`.
 * UART0 is a PL011-style Stellaris UART at 0x4000C000 (LM3S6965 data sheet §13.6): DR 0x000
 * (bits 0-7 data, bit 11 OE overrun), FR 0x018 (bit4 RXFE, bit5 TXFF), IBRD 0x024, FBRD 0x028,
 * LCRH 0x02C, CTL 0x030, IM 0x038 / RIS 0x03C / MIS 0x040 / ICR 0x044 (bit4 RX, bit6 RT receive
 * timeout, bit10 OE). UART0 is IRQ 5 (qemu hw/arm/stellaris.c: uart_irq[] = {5, 6, 33, 34}).
 * Receive is interrupt-driven (Irq5_Handler → the ring in cortex-m.c); transmit is polled.
 * Clock gating: RCGC1 (0x400FE104) bit0 = UART0, RCGC2 (0x400FE108) bit0 = GPIO port A; the
 * pins PA0/PA1 default to the UART function after GPIOAFSEL/GPIODEN are set.
 */
#include "board.h"

const char board_name[] = "lm3s6965evb";

/* qemu's Stellaris system controller reports 12 MHz with the reset value of RCC (main
 * oscillator, no PLL); SysTick on this model counts at the core clock. */
#define CPU_HZ 12000000u
#define BAUD 115200u
#define BRD64 ((8u * CPU_HZ / BAUD + 1u) / 2u)

#define SYSCTL_RCGC1 0x400FE104u
#define SYSCTL_RCGC2 0x400FE108u
#define GPIOA 0x40004000u
#define GPIO_AFSEL (GPIOA + 0x420u)
#define GPIO_DEN (GPIOA + 0x51Cu)

#define UART0 0x4000C000u
#define UART_DR (UART0 + 0x000u)
#define UART_FR (UART0 + 0x018u)
#define UART_IBRD (UART0 + 0x024u)
#define UART_FBRD (UART0 + 0x028u)
#define UART_LCRH (UART0 + 0x02Cu)
#define UART_CTL (UART0 + 0x030u)
#define UART_IM (UART0 + 0x038u)
#define UART_ICR (UART0 + 0x044u)
#define FR_RXFE 0x10u
#define FR_TXFF 0x20u
#define INT_RX (1u << 4)
#define INT_RT (1u << 6)
#define INT_OE (1u << 10)
#define DR_OE (1u << 11)
#define UART0_IRQ 5u

void board_init(void) {
  REG32(SYSCTL_RCGC1) |= 1u;
  REG32(SYSCTL_RCGC2) |= 1u;
  REG32(GPIO_AFSEL) |= 3u;
  REG32(GPIO_DEN) |= 3u;
  REG32(UART_CTL) = 0;
  /* divisor = CPU_HZ / (16 * BAUD) = 6.5104 in 1/64 steps, rounded: 417 = 6 + 33/64 */
  REG32(UART_IBRD) = BRD64 >> 6;
  REG32(UART_FBRD) = BRD64 & 63u;
  REG32(UART_LCRH) = 0x70u;           /* 8 data bits, FIFOs on */
  REG32(UART_CTL) = 0x301u;           /* UARTEN | TXE | RXE */
  /* RX fires at the FIFO trigger level (IFLS reset value: half full), RT when a byte has waited
   * 32 bit times below it; qemu's model raises RX for every byte. */
  REG32(UART_IM) = INT_RX | INT_RT;
  board_irq_enable(UART0_IRQ);
  board_systick_init(CPU_HZ);
}

/* UART0: drain the RX FIFO into the ring. Clearing first, then draining until the FIFO is empty,
 * leaves no byte behind: one that arrives after the last read raises the interrupt again. */
void Irq5_Handler(void) {
  REG32(UART_ICR) = INT_RX | INT_RT | INT_OE;
  while ((REG32(UART_FR) & FR_RXFE) == 0) {
    if (board_rx_full(UART0_IRQ)) break; /* ring full: the rest waits in the FIFO */
    uint32_t d = REG32(UART_DR);
    if (d & DR_OE) board_rx_overruns++; /* the FIFO was full when a byte arrived: lost */
    board_rx_put((uint8_t)d);
  }
}

void board_uart_putc(uint8_t b) {
  while (REG32(UART_FR) & FR_TXFF) {
  }
  REG32(UART_DR) = b;
}

/* Link security storage (board.h). NOT a supported secure target: qemu does not emulate the
 * LM3S6965's flash controller and there is no flash driver here yet. The record is read from the
 * last 1 KiB flash page (0x0003FC00, kept free by lm3s6965evb.ld; written with the image, e.g.
 * qemu `-device loader,file=record.bin,addr=0x3fc00`). The boot counter's two pages are 2 x 64 B
 * of RAM in .noinit (14 values per page; RAM is scarce here): kept across a reset (qemu's
 * system_reset, SYSRESETREQ), LOST at every power cycle — the counter then starts again at 0,
 * and (boot counter, session) pairs repeat across power cycles. */
#define SEC_KEY_PAGE 0x0003FC00u
#define SEC_PAGE_BYTES 64u

static uint8_t sec_counter[2u * SEC_PAGE_BYTES] __attribute__((section(".noinit"), aligned(4)));

const uint8_t *board_sec_record(void) {
  return (const uint8_t *)SEC_KEY_PAGE;
}

uint8_t *board_sec_counter_pages(void) {
  return sec_counter;
}

uint32_t board_sec_page_bytes(void) {
  return SEC_PAGE_BYTES;
}
