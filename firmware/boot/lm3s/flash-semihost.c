/*
 * The flash backend of the lm3s6965evb qemu build (boot-common.h, map in boot-lm3s.h): qemu's
 * Stellaris flash is ROM to the guest, so the "flash" is a host file reached through ARM
 * semihosting (the "Semihosting for AArch32 and AArch64" spec: on M-profile `bkpt 0xab`, the
 * operation in r0, a pointer to its argument block in r1, the result back in r0). qemu serves it
 * with `-semihosting-config enable=on,target=native,arg=cell-flash,arg=<file>`: the command line
 * (SYS_GET_CMDLINE) must be exactly "cell-flash <file>", so a qemu started without these
 * arguments — whose command line is the kernel's path — never has its ELF opened as flash.
 * Without semihosting at all `bkpt` faults (a HardFault, then a reset loop): this build is for
 * qemu only. The file is created (all 0xFF, a blank chip) when missing or short; writes reach the
 * host file at once, so it survives a power cycle (a new qemu process).
 * NOR semantics as in flash-ram.c: read, AND, write back.
 */
#include <stdint.h>
#include <string.h>
#include "boot-lm3s.h"

#define SYS_OPEN 0x01u
#define SYS_WRITE 0x05u
#define SYS_READ 0x06u
#define SYS_SEEK 0x0Au
#define SYS_FLEN 0x0Cu
#define SYS_GET_CMDLINE 0x15u
#define MODE_RPLUS_B 3u /* fopen "r+b" */
#define MODE_WPLUS_B 7u /* fopen "w+b" */

#define FLASH_BYTES (BOOT_FLASH_PAGES * BOOT_PAGE_BYTES)
/* Bytes moved per semihosting call on a read-modify-write or an erase (on the stack). */
#define STEP_BYTES 256u

static int32_t handle = -1;

static int32_t semihost(uint32_t op, const void *args) {
  register uint32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = args;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return (int32_t)r0;
}

static int seek(uint32_t pos) {
  const uint32_t a[2] = {(uint32_t)handle, pos};
  return semihost(SYS_SEEK, a) == 0 ? 0 : -1;
}

/* SYS_READ / SYS_WRITE answer the number of bytes NOT transferred: 0 is success. */
static int xfer(uint32_t op, uint32_t pos, const void *buf, uint32_t len) {
  if (seek(pos) != 0) return -1;
  const uint32_t a[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, len};
  return semihost(op, a) == 0 ? 0 : -1;
}

static int fill_ff(uint32_t pos, uint32_t len) {
  uint8_t ff[STEP_BYTES];
  memset(ff, 0xff, sizeof ff);
  while (len > 0) {
    uint32_t n = len < STEP_BYTES ? len : STEP_BYTES;
    if (xfer(SYS_WRITE, pos, ff, n) != 0) return -1;
    pos += n;
    len -= n;
  }
  return 0;
}

int boot_flash_open(void) {
  char cmd[160];
  uint32_t a[3] = {(uint32_t)(uintptr_t)cmd, sizeof cmd - 1u, 0};
  if (semihost(SYS_GET_CMDLINE, a) != 0) return -1;
  cmd[a[1] < sizeof cmd ? a[1] : sizeof cmd - 1u] = 0;
  static const char tag[] = "cell-flash ";
  if (strncmp(cmd, tag, sizeof tag - 1u) != 0 || cmd[sizeof tag - 1u] == 0) return -1;
  const char *path = cmd + sizeof tag - 1u;
  uint32_t o[3] = {(uint32_t)(uintptr_t)path, MODE_RPLUS_B, (uint32_t)strlen(path)};
  handle = semihost(SYS_OPEN, o);
  if (handle < 0) {
    o[1] = MODE_WPLUS_B;
    handle = semihost(SYS_OPEN, o);
    if (handle < 0) return -1;
  }
  const uint32_t f[1] = {(uint32_t)handle};
  int32_t have = semihost(SYS_FLEN, f);
  if (have < 0) have = 0;
  if ((uint32_t)have < FLASH_BYTES && fill_ff((uint32_t)have, FLASH_BYTES - (uint32_t)have) != 0) {
    handle = -1;
    return -1;
  }
  return 0;
}

static int in_range(uint32_t addr, uint32_t len) { return handle >= 0 && (uint64_t)addr + len <= FLASH_BYTES; }

int boot_flash_read(uint32_t addr, uint8_t *dst, uint32_t len) {
  if (!in_range(addr, len)) return -1;
  return len == 0 ? 0 : xfer(SYS_READ, addr, dst, len);
}

int boot_flash_write(uint32_t addr, const uint8_t *src, uint32_t len) {
  if (!in_range(addr, len)) return -1;
  uint8_t buf[STEP_BYTES];
  while (len > 0) {
    uint32_t n = len < STEP_BYTES ? len : STEP_BYTES;
    if (xfer(SYS_READ, addr, buf, n) != 0) return -1;
    for (uint32_t i = 0; i < n; i++) buf[i] &= src[i];
    if (xfer(SYS_WRITE, addr, buf, n) != 0) return -1;
    addr += n;
    src += n;
    len -= n;
  }
  return 0;
}

int boot_flash_erase(uint32_t page) {
  if (page >= BOOT_FLASH_PAGES || handle < 0) return -1;
  return fill_ff(page * BOOT_PAGE_BYTES, BOOT_PAGE_BYTES);
}
