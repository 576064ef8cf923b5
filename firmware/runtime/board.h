/*
 * Board support interface for Cell firmware (docs/firmware.md §"Runtime").
 * One implementation per board (board-<name>.c); everything above this header is portable.
 * Interrupts: SysTick and the UART0 receive interrupt (it fills a ring in cortex-m.c); transmit
 * is polled.
 */
#ifndef CELL_BOARD_H
#define CELL_BOARD_H

#include <stdint.h>

/** Board name, e.g. "mps2-an385" (printed in the boot line). */
extern const char board_name[];

/** Clocks, UART0 (8N1) and SysTick (1 kHz). Called once from reset, before main. */
void board_init(void);

/** Read one received byte from the receive ring: 0..255, or -1 when it is empty. Never blocks. */
int board_uart_getc(void);

/** Send one byte; waits while the transmit buffer is full. */
void board_uart_putc(uint8_t b);

/** Milliseconds since board_init (wraps after ~49.7 days). */
uint32_t board_millis(void);

/** System reset through SCB AIRCR.SYSRESETREQ; does not return. */
__attribute__((noreturn)) void board_reset(void);

/** Receive statistics: 0 = bytes lost by the UART (hardware overruns), 1 = peak ring fill. */
uint32_t board_uart_stat(uint32_t which);

/** Sleep (WFI) until the next interrupt if no received byte waits in the ring. */
void board_idle(void);

/* Link security storage (host.c's env.sec_* imports; docs/firmware.md §"Link security on the
 * device"): where the 64-byte provisioning record is (NULL: the board has none) and the boot
 * counter's two pages of board_sec_page_bytes() each (0: none). The record is written when the
 * device is flashed; the pages are "flash": erased to 0xFF, programmed by clearing bits. */
const uint8_t *board_sec_record(void);
uint8_t *board_sec_counter_pages(void);
uint32_t board_sec_page_bytes(void);

/* Shared by the board files: SysTick counter and the Cortex-M system control registers. */
extern volatile uint32_t board_ticks_ms;
void board_systick_init(uint32_t cpu_hz);
void board_irq_enable(uint32_t irq);

/* The receive ring (cortex-m.c), for the board's UART RX interrupt handler only:
 * board_rx_full(irq) is 1 when the ring has no room — it has then masked `irq` until the main
 * loop takes a byte, so leave the byte in the UART and return; else board_rx_put stores one. */
int board_rx_full(uint32_t irq);
void board_rx_put(uint8_t b);
extern volatile uint32_t board_rx_overruns;

#define REG32(addr) (*(volatile uint32_t *)(addr))

#endif
