/*
 * What every native board of the bootloader shares (docs/flash.md §10): the hand-over record the
 * bootloader leaves for the app it starts, the resident boot service's signature, the healthy
 * signal and recovery window defaults, and the flash backend boot-main.c calls. A board header
 * (firmware/boot/qemu/boot-qemu.h, firmware/boot/lm3s/boot-lm3s.h) defines the memory map, the
 * watchdog and BOOT_HANDOFF_ADDR, then includes this file.
 */
#ifndef CELL_BOOT_COMMON_H
#define CELL_BOOT_COMMON_H

#include <stdint.h>

/*
 * Boot attempts (docs/flash.md §5.5): the app's healthy signal is its first main-loop pass at or
 * after BOOT_HEALTHY_MS since its start (boot-app.c); the bootloader's limit of starts without
 * it is BootConfig.maxAttempts (3, loader.ts).
 */
#ifndef BOOT_HEALTHY_MS
#define BOOT_HEALTHY_MS 500u
#endif

/*
 * The recovery window (docs/flash.md §5.6): at a cold start (power-on: the hand-over record's
 * `warm` word does not hold BOOT_WARM_MAGIC — RAM survives every reset under qemu, so only a new
 * qemu process clears it) the bootloader serves the boot protocol for BOOT_RECOVERY_MS before it
 * boots an app; a frame answered in it keeps the device in the bootloader. 0 disables it.
 * Build-time: scripts/build-boot.mjs --recovery-ms <n> (or CELL_BOOT_RECOVERY_MS).
 */
#ifndef BOOT_RECOVERY_MS
#define BOOT_RECOVERY_MS 300u
#endif
#define BOOT_WARM_MAGIC 0x4d524157u /* "WARM" */
#define BOOT_HANDOFF_MAGIC 0x43424f54u /* "TOBC" */

/*
 * Channel-3 frame (header + payload, deframed) from the running app: the answer frame goes to
 * out[0..n). Returns n | BOOT_SERVICE_RESET (reset once the answer is out), or -1 when the
 * request does not fit.
 */
typedef int32_t (*boot_service_fn)(const uint8_t *req, uint32_t len, uint8_t *out, uint32_t max);
#define BOOT_SERVICE_RESET 0x10000

struct boot_handoff {
  uint32_t magic;
  uint32_t slot;
  boot_service_fn service;
  uint32_t warm; /* BOOT_WARM_MAGIC once the bootloader ran since power-on */
};

#define BOOT_HANDOFF ((volatile struct boot_handoff *)BOOT_HANDOFF_ADDR)

/*
 * The flash backend of a build (one C file per backend, linked into the bootloader only): the
 * boot-state pages and both slots as one range of BOOT_FLASH_PAGES pages of BOOT_PAGE_BYTES,
 * addressed from 0 (page 0-1 the state record copies, slot s at page 2 + s * BOOT_SLOT_PAGES).
 * NOR semantics everywhere: erase sets a page to 0xFF, a write may only clear bits (a write over
 * unerased bytes leaves old & new, which the loader sees as a hash mismatch, as on a real part).
 * Each returns 0, or -1 on any error (out of range, a controller fault, a failed verify).
 */
int boot_flash_open(void);
int boot_flash_read(uint32_t addr, uint8_t *dst, uint32_t len);
int boot_flash_write(uint32_t addr, const uint8_t *src, uint32_t len);
int boot_flash_erase(uint32_t page);

#endif
