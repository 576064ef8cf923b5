/* Cell bare-metal runtime: the pieces shared by the board files, wasm-rt-bare.c and host.c. */
#ifndef CELL_RT_H
#define CELL_RT_H

/**
 * Report `reason` on UART0 and reset the board. The line is sent between two 0x00 bytes
 * ("\0!panic <reason>\n\0"), so a host deframer drops it as one bad frame and stays in sync,
 * while a human on a terminal can read it.
 */
__attribute__((noreturn)) void cell_panic(const char *reason);

#endif
