/* Cell bare-metal runtime: the pieces shared by the board files, wasm-rt-bare.c and host.c. */
#ifndef CELL_RT_H
#define CELL_RT_H

/**
 * Report `reason` on UART0 and reset the board. The line is sent between two 0x00 bytes
 * ("\0!panic <reason>\n\0"), so a host deframer drops it as one bad frame and stays in sync,
 * while a human on a terminal can read it.
 */
__attribute__((noreturn)) void cell_panic(const char *reason);

/**
 * Called by host.c once per pass of the app's main loop. Empty (weak) in a plain image; an app
 * linked for a bootloader slot feeds the watchdog the bootloader armed here
 * (firmware/boot/qemu/boot-app.c), so an app that stops going round its loop is reset.
 */
void cell_main_loop_hook(void);

#endif
