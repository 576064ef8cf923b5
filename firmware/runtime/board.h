/*
 * Board support interface for Cell firmware (docs/firmware.md §"Runtime").
 * One implementation per board (board-<name>.c); everything above this header is portable.
 * Polled I/O only: no interrupts are enabled except SysTick.
 */
#ifndef CELL_BOARD_H
#define CELL_BOARD_H

#include <stdint.h>

/** Board name, e.g. "mps2-an385" (printed in the boot line). */
extern const char board_name[];

/** Clocks, UART0 (8N1) and SysTick (1 kHz). Called once from reset, before main. */
void board_init(void);

/** Read one received byte: 0..255, or -1 when the receive buffer is empty. Never blocks. */
int board_uart_getc(void);

/** Send one byte; waits while the transmit buffer is full. */
void board_uart_putc(uint8_t b);

/** Milliseconds since board_init (wraps after ~49.7 days). */
uint32_t board_millis(void);

/** System reset through SCB AIRCR.SYSRESETREQ; does not return. */
__attribute__((noreturn)) void board_reset(void);

/* Shared by the board files: SysTick counter and the Cortex-M system control registers. */
extern volatile uint32_t board_ticks_ms;
void board_systick_init(uint32_t cpu_hz);

#define REG32(addr) (*(volatile uint32_t *)(addr))

#endif
