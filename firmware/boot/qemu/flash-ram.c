/*
 * The flash backend of the mps2-an385 build (boot-common.h): the "flash" is the machine RAM at
 * BOOT_FLASH_BASE (boot-qemu.h), backed by a host file by qemu itself, so the guest reads and
 * writes it as memory. NOR semantics are kept by hand: a write clears bits only.
 */
#include <stdint.h>
#include <string.h>
#include "boot-qemu.h"

#define FLASH_BYTES (BOOT_FLASH_PAGES * BOOT_PAGE_BYTES)
#define FLASH ((uint8_t *)BOOT_FLASH_BASE)

static int in_range(uint32_t addr, uint32_t len) { return (uint64_t)addr + len <= FLASH_BYTES; }

int boot_flash_open(void) { return 0; }

int boot_flash_read(uint32_t addr, uint8_t *dst, uint32_t len) {
  if (!in_range(addr, len)) return -1;
  memcpy(dst, FLASH + addr, len);
  return 0;
}

int boot_flash_write(uint32_t addr, const uint8_t *src, uint32_t len) {
  if (!in_range(addr, len)) return -1;
  for (uint32_t i = 0; i < len; i++) FLASH[addr + i] &= src[i];
  return 0;
}

int boot_flash_erase(uint32_t page) {
  if (page >= BOOT_FLASH_PAGES) return -1;
  memset(FLASH + page * BOOT_PAGE_BYTES, 0xff, BOOT_PAGE_BYTES);
  return 0;
}
