/*
 * The flash backend of the lm3s6965evb silicon build (boot-common.h; map in boot-lm3s.h): the
 * LM3S6965's own flash through its flash controller, written from the data sheet ("Internal
 * Memory", "Flash Memory Initialization and Configuration", register descriptions of FMA, FMD,
 * FMC, FCRIS, FCMISC and USECRL). NOT run on a chip: it is checked against a register-level
 * model of the controller on the host (lm3s/flash-model.c, test/firmware/boot-lm3s-flash-c.test.ts).
 *
 *   FMA    0x400FD000  address of the word to program / of the 1 KiB page to erase
 *   FMD    0x400FD004  the word to program
 *   FMC    0x400FD008  WRKEY 0xA442 in bits 31:16 with WRITE (bit 0) or ERASE (bit 1) starts the
 *                      operation; the bit reads 1 until it is done (the CPU stalls on flash
 *                      fetches meanwhile, so polling from flash-resident code is allowed)
 *   FCRIS  0x400FD00C  bit 0 ARIS: the access was refused (a page protected by FMPPEn, or the
 *                      address out of range); bit 1 PRIS: program/erase done
 *   FCMISC 0x400FD014  write 1 to clear the matching FCRIS bit
 *   USECRL 0x400FE140  system clocks per microsecond minus 1: program/erase timing is derived from
 *                      it, so it must match the clock (the reset value assumes 50 MHz)
 * Reads are plain loads from the memory-mapped flash. Programming is per 32-bit word and can only
 * clear bits; bytes of a word outside the written range are programmed as 0xFF, which leaves them
 * as they were. Every operation is verified by reading back.
 */
#include <stdint.h>
#include <string.h>
#include "boot-lm3s.h"

#define FLASH_BYTES (BOOT_FLASH_PAGES * BOOT_PAGE_BYTES)

#define FC_FMA 0x000u
#define FC_FMD 0x004u
#define FC_FMC 0x008u
#define FC_FCRIS 0x00Cu
#define FC_FCMISC 0x014u
#define FMC_WRKEY 0xA4420000u
#define FMC_WRITE 0x1u
#define FMC_ERASE 0x2u
#define FCRIS_ARIS 0x1u
#define FCRIS_PRIS 0x2u
#define USECRL 0x400FE140u

/* The system clock in MHz (USECRL = this - 1): the board's 12 MHz reset clock unless told. */
#ifndef BOOT_LM3S_CLOCK_MHZ
#define BOOT_LM3S_CLOCK_MHZ 12u
#endif
/* Polls of FMC before a program or erase is given up as hung (a word takes ~20-50 us, a page
 * erase ~20 ms on the chip: far below this at any clock). */
#ifndef BOOT_LM3S_POLLS
#define BOOT_LM3S_POLLS 4000000u
#endif

/* Register and flash access: the chip's addresses, or (LM3S_FLASH_MODEL) the host model's. */
#ifdef LM3S_FLASH_MODEL
uint32_t model_fc_read(uint32_t off);
void model_fc_write(uint32_t off, uint32_t v);
void model_sysctl_write(uint32_t addr, uint32_t v);
extern uint8_t model_flash[];
#define FC_RD(off) model_fc_read(off)
#define FC_WR(off, v) model_fc_write((off), (v))
#define SYSCTL_WR(a, v) model_sysctl_write((a), (v))
#define FLASH_AT(addr) ((const volatile uint8_t *)(model_flash + (addr)))
#else
#define FC_RD(off) (*(volatile uint32_t *)(0x400FD000u + (off)))
#define FC_WR(off, v) (*(volatile uint32_t *)(0x400FD000u + (off)) = (v))
#define SYSCTL_WR(a, v) (*(volatile uint32_t *)(a) = (v))
#define FLASH_AT(addr) ((const volatile uint8_t *)(uintptr_t)(addr))
#endif

static uint32_t word_at(uint32_t chip_addr) {
  const volatile uint8_t *p = FLASH_AT(chip_addr);
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Start `op` on FMA = chip_addr (FMD already set for a write), wait, check ARIS. */
static int run(uint32_t chip_addr, uint32_t op) {
  FC_WR(FC_FCMISC, FCRIS_ARIS | FCRIS_PRIS);
  FC_WR(FC_FMA, chip_addr);
  FC_WR(FC_FMC, FMC_WRKEY | op);
  uint32_t n = 0;
  while (FC_RD(FC_FMC) & op) {
    if (++n >= BOOT_LM3S_POLLS) return -1;
  }
  uint32_t ris = FC_RD(FC_FCRIS);
  FC_WR(FC_FCMISC, FCRIS_ARIS | FCRIS_PRIS);
  return (ris & FCRIS_ARIS) ? -1 : 0;
}

int boot_flash_open(void) {
  SYSCTL_WR(USECRL, BOOT_LM3S_CLOCK_MHZ - 1u);
  return 0;
}

static int in_range(uint32_t addr, uint32_t len) { return (uint64_t)addr + len <= FLASH_BYTES; }

int boot_flash_read(uint32_t addr, uint8_t *dst, uint32_t len) {
  if (!in_range(addr, len)) return -1;
  const volatile uint8_t *p = FLASH_AT(BOOT_FLASH_BASE + addr);
  for (uint32_t i = 0; i < len; i++) dst[i] = p[i];
  return 0;
}

int boot_flash_write(uint32_t addr, const uint8_t *src, uint32_t len) {
  if (!in_range(addr, len)) return -1;
  uint32_t end = addr + len;
  for (uint32_t w = addr & ~3u; w < end; w += 4u) {
    uint32_t data = 0xffffffffu;
    for (uint32_t b = 0; b < 4u; b++) {
      uint32_t a = w + b;
      if (a >= addr && a < end) data &= ~((uint32_t)(uint8_t)~src[a - addr] << (8u * b));
    }
    if (data == 0xffffffffu) continue; /* nothing to clear */
    uint32_t chip = BOOT_FLASH_BASE + w;
    uint32_t want = word_at(chip) & data;
    FC_WR(FC_FMD, data);
    if (run(chip, FMC_WRITE) != 0 || word_at(chip) != want) return -1;
  }
  return 0;
}

int boot_flash_erase(uint32_t page) {
  if (page >= BOOT_FLASH_PAGES) return -1;
  uint32_t chip = BOOT_FLASH_BASE + page * BOOT_PAGE_BYTES;
  if (run(chip, FMC_ERASE) != 0) return -1;
  for (uint32_t i = 0; i < BOOT_PAGE_BYTES; i += 4u) {
    if (word_at(chip + i) != 0xffffffffu) return -1;
  }
  return 0;
}
