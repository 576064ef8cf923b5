/*
 * The native bootloader on the TI Stellaris LM3S6965 (board lm3s6965evb: 256 KiB flash at
 * 0x00000000, 64 KiB SRAM at 0x20000000; docs/flash.md §10). Two builds share this map and
 * differ only in the flash backend (boot-common.h):
 *   qemu     lm3s/flash-semihost.c: qemu's Stellaris flash is ROM to the guest and qemu 7.2 has no
 *            flash controller model, so the "flash" is a host file reached by ARM semihosting
 *            (qemu -semihosting-config enable=on,target=native,arg=cell-flash,arg=<file>); the
 *            file keeps the layout below from offset 0 and survives a power cycle.
 *   silicon  lm3s/flash-lm3s.c: the chip's flash controller (FMA/FMD/FMC), the layout below at
 *            BOOT_FLASH_BASE. Checked against a register model on the host only
 *            (test/firmware/boot-lm3s-flash-c.test.ts): NOT run on silicon.
 *
 * Flash (the chip's; 1 KiB erase pages):
 *   0x00000000  bootloader, at most 32 KiB (the `-kernel` ELF, boot-lm3s6965evb.ld)
 *   0x00008000  BOOT_FLASH_BASE (silicon build): pages 0-1 the two boot-state record copies,
 *               slot 0 at page 2, slot 1 at page 2 + 28 (28 KiB each): 58 KiB, up to 0x00016800
 *   0x0003FC00  the link-security key page of the runtime (board-lm3s6965evb.c), untouched
 * SRAM (the app is RAM-loaded, as on mps2-an385: one image runs from either slot, and under qemu
 * nothing can execute from a writable flash anyway):
 *   0x20000000  app execution region, 28 KiB: the chosen slot is copied here and entered through
 *               its vector table (VTOR; app-lm3s6965evb.ld)
 *   0x20007000  app RAM, 12 KiB (the app's stack, .data, .bss)
 *   0x2000A000  bootloader RAM, 24 KiB - 16 B: stays intact while the app runs, because the app
 *               calls the bootloader's instance for channel-3 frames (the resident boot service)
 *   0x2000FFF0  the hand-over record (boot-common.h), 16 B
 * SRAM keeps its contents across qemu's system_reset and SYSRESETREQ, so the `warm` word tells a
 * reset from a power-on there. On the chip SRAM is undefined after power-on (it may read as
 * "warm" and skip the recovery window): silicon should use the reset cause (RESC) instead.
 */
#ifndef CELL_BOOT_LM3S_H
#define CELL_BOOT_LM3S_H

#include <stdint.h>

#define BOOT_PAGE_BYTES 1024u
#define BOOT_SLOT_PAGES 28u
#define BOOT_FLASH_PAGES (2u + 2u * BOOT_SLOT_PAGES)
#define BOOT_FLASH_BASE 0x00008000u
#define BOOT_EXEC_BASE 0x20000000u
#define BOOT_EXEC_BYTES (BOOT_SLOT_PAGES * BOOT_PAGE_BYTES)
#define BOOT_CHUNK_BYTES 1024u
#define BOOT_WINDOW 4u
#define BOOT_APP_RAM_BASE 0x20007000u
#define BOOT_APP_RAM_END 0x2000A000u
#define BOOT_HANDOFF_ADDR 0x2000FFF0u

/*
 * The Stellaris watchdog (LM3S6965 data sheet, "Watchdog Timer"; qemu 7.2 models it as
 * "luminary-watchdog" at 0x40000000, interrupt on IRQ 18): WDTLOAD 0x000, WDTCTL 0x008 (bit0
 * INTEN: starts the counter and, once set, is cleared only by a reset; bit1 RESEN), WDTICR 0x00C
 * (any write clears the interrupt and reloads: the feed), WDTLOCK 0xC00 (0x1ACCE551 unlocks).
 * The first time the counter reaches zero it raises IRQ 18, the second time (interrupt still not
 * cleared) it resets the chip. The bootloader leaves IRQ 18 disabled: the runtime's vector table
 * (cortex-m.c) has 16 external entries only, and the NMI of mps2-an385 has no counterpart here.
 * So an app that stops feeding is reset by the watchdog itself 2 x BOOT_WDOG_MS after its last
 * feed, whether or not it masked interrupts. Clocked by the system clock (12 MHz in qemu and with
 * the board's reset RCC). Clock gate: RCGC0 bit 3 (ignored by qemu).
 */
#define BOOT_WDOG_BASE 0x40000000u
#define BOOT_WDOG_LOAD (BOOT_WDOG_BASE + 0x000u)
#define BOOT_WDOG_CONTROL (BOOT_WDOG_BASE + 0x008u)
#define BOOT_WDOG_INTCLR (BOOT_WDOG_BASE + 0x00Cu)
#define BOOT_WDOG_LOCK (BOOT_WDOG_BASE + 0xC00u)
#define BOOT_WDOG_UNLOCK 0x1ACCE551u
#define BOOT_WDOG_CLK_HZ 12000000u
#define BOOT_WDOG_MS 1000u
#define BOOT_SYSCTL_RCGC0 0x400FE100u

/** Clear the watchdog's interrupt and reload its counter (the registers stay locked). */
static inline void boot_wdog_feed(void) {
  *(volatile uint32_t *)BOOT_WDOG_LOCK = BOOT_WDOG_UNLOCK;
  *(volatile uint32_t *)BOOT_WDOG_INTCLR = 1u;
  *(volatile uint32_t *)BOOT_WDOG_LOCK = 0u;
}

/** Arm the watchdog for the app about to start; it stays locked. */
static inline void boot_wdog_arm(void) {
  *(volatile uint32_t *)BOOT_SYSCTL_RCGC0 |= 1u << 3;
  *(volatile uint32_t *)BOOT_WDOG_LOCK = BOOT_WDOG_UNLOCK;
  *(volatile uint32_t *)BOOT_WDOG_LOAD = BOOT_WDOG_CLK_HZ / 1000u * BOOT_WDOG_MS;
  *(volatile uint32_t *)BOOT_WDOG_INTCLR = 1u;
  *(volatile uint32_t *)BOOT_WDOG_CONTROL = 3u; /* INTEN | RESEN */
  *(volatile uint32_t *)BOOT_WDOG_LOCK = 0u;
}

#include "boot-common.h"

#endif
