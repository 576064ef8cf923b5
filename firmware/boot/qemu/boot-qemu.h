/*
 * The native qemu target of the bootloader (docs/flash.md §10), board mps2-an385 (qemu
 * -M mps2-an385: 4 MiB of SSRAM at 0x00000000, more SSRAM at 0x20000000; all of it RAM).
 *
 * Memory map (everything outside the bootloader ELF keeps its contents across a qemu
 * `system_reset` / SYSRESETREQ: only `-kernel` blobs are copied back by rom_reset; RAM is never
 * cleared by a reset):
 *   0x00000000  bootloader code (the `-kernel` ELF, firmware/boot/qemu/boot-mps2-an385.ld)
 *   0x00100000  app execution region, 64 KiB: the chosen slot is copied here (RAM-load) and
 *               entered through its vector table (firmware/boot/qemu/app-mps2-an385.ld)
 *   0x21000000  the "flash" (the machine RAM, 16 MiB "PSRAM": qemu backs it with a file given
 *               `-object memory-backend-file,id=f,size=16M,mem-path=<file>,share=on -machine
 *               memory-backend=f`, so it also survives a power cycle = a new qemu process):
 *               1 KiB pages; pages 0-1 the two boot-state record copies, slot 0 at page 2, slot 1
 *               at page 2 + 64 (64 KiB each); 130 KiB in all
 *   0x20000000  app RAM, 64 KiB (the app's stack, .data, .bss)
 *   0x20100000  bootloader RAM, 64 KiB: stays intact while the app runs, because the app calls
 *               the bootloader's instance for channel-3 frames (the resident boot service)
 *   0x20200000  the hand-over record below (written by the bootloader before each jump)
 */
#ifndef CELL_BOOT_QEMU_H
#define CELL_BOOT_QEMU_H

#include <stdint.h>

#define BOOT_FLASH_BASE 0x21000000u
#define BOOT_PAGE_BYTES 1024u
#define BOOT_SLOT_PAGES 64u
#define BOOT_FLASH_PAGES (2u + 2u * BOOT_SLOT_PAGES)
#define BOOT_EXEC_BASE 0x00100000u
#define BOOT_EXEC_BYTES (BOOT_SLOT_PAGES * BOOT_PAGE_BYTES)
#define BOOT_CHUNK_BYTES 1024u
#define BOOT_WINDOW 4u

/*
 * The CMSDK APB watchdog of mps2-an385 (qemu hw/arm/mps2.c maps "cmsdk-apb-watchdog" at
 * 0x40008000, WDOGCLK = the 25 MHz system clock, its interrupt wired to the NMI; CMSDK TRM ARM DDI
 * 0479 §4.6): it counts WDOGLOAD down; the first time it reaches zero it raises the interrupt
 * (INTEN) and reloads, the second time (interrupt still not cleared) it asserts the system reset
 * (RESEN; qemu: watchdog_perform_action, a machine reset by default). Writing WDOGINTCLR clears
 * the interrupt and reloads the counter: that is the feed. WDOGLOCK: 0x1ACCE551 unlocks the other
 * registers, any other value locks them. A system reset disables it (WDOGCONTROL = 0).
 *
 * The bootloader arms it before every jump to an app; the app's main loop feeds it
 * (boot-app.c: cell_main_loop_hook). An app that never gets round its loop — hung, or stuck in a
 * fault handler — takes the NMI after BOOT_WDOG_MS (the runtime's NMI handler panics and resets)
 * and, should even that not run, the watchdog's own reset BOOT_WDOG_MS later. A trial that does
 * that is rolled back by the next boot.
 */
#define BOOT_WDOG_BASE 0x40008000u
#define BOOT_WDOG_LOAD (BOOT_WDOG_BASE + 0x000u)
#define BOOT_WDOG_CONTROL (BOOT_WDOG_BASE + 0x008u) /* bit0 INTEN (also starts the counter), bit1 RESEN */
#define BOOT_WDOG_INTCLR (BOOT_WDOG_BASE + 0x00Cu)
#define BOOT_WDOG_LOCK (BOOT_WDOG_BASE + 0xC00u)
#define BOOT_WDOG_UNLOCK 0x1ACCE551u
#define BOOT_WDOG_CLK_HZ 25000000u
#define BOOT_WDOG_MS 2000u

/** Clear the watchdog's interrupt and reload its counter (the registers stay locked). */
static inline void boot_wdog_feed(void) {
  *(volatile uint32_t *)BOOT_WDOG_LOCK = BOOT_WDOG_UNLOCK;
  *(volatile uint32_t *)BOOT_WDOG_INTCLR = 1u;
  *(volatile uint32_t *)BOOT_WDOG_LOCK = 0u;
}

#define BOOT_HANDOFF_ADDR 0x20200000u
/* The initial stack pointer of an app image must lie in app RAM (jump_to_app checks it). */
#define BOOT_APP_RAM_BASE 0x20000000u
#define BOOT_APP_RAM_END 0x20100000u

/** Arm the watchdog for the app about to start; it stays locked. */
static inline void boot_wdog_arm(void) {
  *(volatile uint32_t *)BOOT_WDOG_LOCK = BOOT_WDOG_UNLOCK;
  *(volatile uint32_t *)BOOT_WDOG_CONTROL = 0;
  *(volatile uint32_t *)BOOT_WDOG_LOAD = BOOT_WDOG_CLK_HZ / 1000u * BOOT_WDOG_MS;
  *(volatile uint32_t *)BOOT_WDOG_INTCLR = 1u;
  *(volatile uint32_t *)BOOT_WDOG_CONTROL = 3u; /* INTEN (counts; first expiry → NMI) | RESEN (second → reset) */
  *(volatile uint32_t *)BOOT_WDOG_LOCK = 0u;
}

#include "boot-common.h"

#endif
