/*
 * A register-level model of the LM3S6965 flash controller, written from the data sheet, and the
 * checks of the silicon flash backend (flash-lm3s.c) against it; built with the host cc and run
 * by test/firmware/boot-lm3s-flash-c.test.ts. Not a chip: it shows the backend drives the
 * registers as the data sheet describes and handles the error paths, no more.
 *
 * The model: 256 KiB of flash, erased to 0xFF. FMA holds an address (bits 17:0); FMD a word;
 * a write to FMC whose bits 31:16 are not the key 0xA442 is ignored (counted here: the backend
 * must never do it). WRITE programs FMD into the word at FMA (bits only cleared: flash &= FMD),
 * ERASE sets the 1 KiB page holding FMA to 0xFF. The operation's FMC bit then reads 1 for
 * `busy_polls` reads before it clears and FCRIS.PRIS is set. An address in the protected range
 * (the FMPPEn program/erase protection, modelled as one range) or beyond the flash sets FCRIS.ARIS
 * and changes nothing. FCMISC: writing 1 clears the matching FCRIS bit. Fault injection: `stuck`
 * (the FMC bit never clears), `weak_bit` (one bit of the next program does not take),
 * `weak_erase` (the next erase leaves a word programmed).
 *
 * Prints "ok <check>" or "FAIL <check>: <why>" per check; exits 1 on any failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "boot-lm3s.h"

#define FLASH_SIZE (256u * 1024u)
#define KEY 0xA4420000u

uint8_t model_flash[FLASH_SIZE];
static struct {
  uint32_t fma, fmd, fcris, usecrl;
  uint32_t busy_bit, busy_left, busy_polls;
  uint32_t prot_lo, prot_hi; /* protected [lo, hi) */
  int stuck;
  uint32_t weak_bit; /* 0: none, else the mask left set by the next program */
  int weak_erase;    /* the next erase leaves the page's first word programmed */
  uint32_t busy_reads;
  uint32_t programs, erases, keyless, fmd_writes;
  uint32_t lowest, highest; /* addresses of every operation started */
} m;

static void model_reset(void) {
  memset(&m, 0, sizeof m);
  memset(model_flash, 0xff, sizeof model_flash);
  m.busy_polls = 3;
  m.lowest = 0xffffffffu;
}

uint32_t model_fc_read(uint32_t off) {
  switch (off) {
    case 0x000: return m.fma;
    case 0x004: return m.fmd;
    case 0x008:
      if (m.busy_bit == 0) return 0;
      if (m.stuck) return m.busy_bit;
      m.busy_reads++;
      if (m.busy_left > 0) {
        m.busy_left--;
        return m.busy_bit;
      }
      m.busy_bit = 0;
      m.fcris |= 0x2u; /* PRIS */
      return 0;
    case 0x00C: return m.fcris;
    default: return 0;
  }
}

static int refused(uint32_t addr) { return addr >= FLASH_SIZE || (addr >= m.prot_lo && addr < m.prot_hi); }

void model_fc_write(uint32_t off, uint32_t v) {
  switch (off) {
    case 0x000: m.fma = v & 0x3ffffu; break;
    case 0x004: m.fmd = v; m.fmd_writes++; break;
    case 0x014: m.fcris &= ~(v & 0x3u); break;
    case 0x008: {
      if ((v & 0xffff0000u) != KEY) { m.keyless++; break; }
      uint32_t op = v & 0x3u;
      if (op == 0 || op == 3) break;
      uint32_t a = m.fma;
      if (a < m.lowest) m.lowest = a;
      if (a > m.highest) m.highest = a;
      if (refused(a)) { m.fcris |= 0x1u; break; } /* ARIS */
      if (op == 1u) {
        uint32_t w = a & ~3u, d = m.fmd | m.weak_bit;
        m.weak_bit = 0;
        for (uint32_t b = 0; b < 4u; b++) model_flash[w + b] &= (uint8_t)(d >> (8u * b));
        m.programs++;
      } else {
        memset(model_flash + (a & ~1023u), 0xff, 1024u);
        if (m.weak_erase) memset(model_flash + (a & ~1023u), 0, 4u);
        m.weak_erase = 0;
        m.erases++;
      }
      m.busy_bit = op;
      m.busy_left = m.busy_polls;
      break;
    }
    default: break;
  }
}

void model_sysctl_write(uint32_t addr, uint32_t v) {
  if (addr == 0x400FE140u) m.usecrl = v;
}

static int failures;
static void check(int ok, const char *name, const char *why) {
  if (ok) printf("ok %s\n", name);
  else {
    printf("FAIL %s: %s\n", name, why);
    failures++;
  }
}

#define AT(addr) (model_flash + BOOT_FLASH_BASE + (addr))
#define TOTAL (BOOT_FLASH_PAGES * BOOT_PAGE_BYTES)

int main(void) {
  uint8_t buf[1024], back[1024];

  model_reset();
  check(boot_flash_open() == 0 && m.usecrl == 11u, "open sets USECRL to the clock in MHz - 1 (12 MHz: 11)", "USECRL");

  /* Erase: the page and only the page. */
  model_reset();
  memset(model_flash, 0x5a, sizeof model_flash);
  int r = boot_flash_erase(3);
  int only = AT(3 * 1024)[0] == 0xff && AT(4 * 1024 - 1)[0] == 0xff && AT(3 * 1024 - 1)[0] == 0x5a && AT(4 * 1024)[0] == 0x5a;
  int all = 1;
  for (uint32_t i = 0; i < 1024; i++) all &= AT(3 * 1024 + i)[0] == 0xff;
  check(r == 0 && only && all && m.erases == 1, "erase sets exactly its 1 KiB page to 0xFF (FMA = BOOT_FLASH_BASE + page * 1024)", "page contents");
  check(m.lowest == BOOT_FLASH_BASE + 3u * 1024u, "erase gives FMA the page's chip address", "FMA");

  /* Program a full chunk, word by word, and read it back through the backend. */
  model_reset();
  for (uint32_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 7u + 1u);
  r = boot_flash_write(2 * 1024, buf, sizeof buf);
  check(r == 0 && memcmp(AT(2 * 1024), buf, sizeof buf) == 0, "a 1 KiB write programs the bytes", "contents");
  check(m.programs == 256u && m.fmd_writes == 256u, "one FMD + FMC WRITE per 32-bit word (256 for 1 KiB)", "word count");
  memset(back, 0, sizeof back);
  check(boot_flash_read(2 * 1024, back, sizeof back) == 0 && memcmp(back, buf, sizeof buf) == 0, "read returns what was programmed", "read back");
  check(m.keyless == 0, "every FMC write carries the key 0xA442", "a write without the key");

  /* Unaligned writes: neighbours in the same words stay as they were. */
  model_reset();
  const uint8_t six[6] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  r = boot_flash_write(5 * 1024 + 3, six, 6);
  check(r == 0 && memcmp(AT(5 * 1024 + 3), six, 6) == 0 && AT(5 * 1024 + 2)[0] == 0xff && AT(5 * 1024 + 9)[0] == 0xff && m.programs == 3u,
        "an unaligned 6-byte write programs 3 words, bytes around it stay 0xFF", "neighbours");

  /* NOR: bits are only cleared; all-0xFF words are not programmed at all. */
  model_reset();
  uint8_t a = 0x0f, b = 0xf0, ff[8];
  memset(ff, 0xff, sizeof ff);
  r = boot_flash_write(100, &a, 1);
  r |= boot_flash_write(100, &b, 1);
  check(r == 0 && AT(100)[0] == 0x00, "a write over programmed bits clears the AND (0x0F then 0xF0 → 0x00)", "value");
  uint32_t before = m.programs;
  r = boot_flash_write(100, ff, sizeof ff);
  check(r == 0 && AT(100)[0] == 0x00 && m.programs == before, "writing 0xFF changes nothing and issues no program", "programmed");

  /* Busy: the backend waits for the FMC bit to clear before the next word. */
  model_reset();
  m.busy_polls = 50;
  r = boot_flash_write(0, buf, 64);
  check(r == 0 && memcmp(AT(0), buf, 64) == 0 && m.busy_reads >= 16u * 50u, "polls FMC until the operation's bit clears (50 busy reads per word)", "polls");

  /* Range: nothing outside the layout is touched. */
  model_reset();
  check(boot_flash_erase(BOOT_FLASH_PAGES) == -1 && boot_flash_write(TOTAL - 2, buf, 4) == -1 && boot_flash_read(TOTAL - 2, back, 4) == -1 &&
        boot_flash_write(0xfffffff0u, buf, 32) == -1 && m.erases == 0 && m.programs == 0,
        "erase/write/read outside the 58 KiB layout: -1, no operation started", "range");
  check(boot_flash_erase(BOOT_FLASH_PAGES - 1) == 0 && boot_flash_write(TOTAL - 4, buf, 4) == 0, "the last page and word are in range", "edge");

  /* Access errors: a protected page sets ARIS; the backend reports it and clears it. */
  model_reset();
  memset(AT(2 * 1024), 0x00, 1024);
  m.prot_lo = BOOT_FLASH_BASE + 2u * 1024u;
  m.prot_hi = BOOT_FLASH_BASE + 3u * 1024u;
  r = boot_flash_erase(2);
  check(r == -1 && AT(2 * 1024)[0] == 0x00 && (m.fcris & 1u) == 0, "erase of a protected page: ARIS → -1, page unchanged, ARIS cleared (FCMISC)", "ARIS");
  r = boot_flash_write(2 * 1024 + 8, buf, 4);
  check(r == -1 && (m.fcris & 1u) == 0, "program into a protected page: ARIS → -1", "ARIS");
  check(boot_flash_erase(3) == 0, "the next page is not protected: the error did not stick", "sticky");

  /* A controller that never finishes: bounded, -1. */
  model_reset();
  m.stuck = 1;
  check(boot_flash_erase(4) == -1, "an erase that never completes: -1 after BOOT_LM3S_POLLS polls", "hang");
  model_reset();
  m.stuck = 1;
  check(boot_flash_write(0, buf, 4) == -1, "a program that never completes: -1", "hang");

  /* A program that does not take (a weak bit): the read-back verify catches it. */
  model_reset();
  m.weak_bit = 0x00000100u;
  const uint8_t zero4[4] = {0, 0, 0, 0};
  check(boot_flash_write(16, zero4, 4) == -1, "a word that reads back wrong after programming: -1", "verify");

  /* An erase that leaves a word programmed: the blank check catches it. */
  model_reset();
  memset(AT(6 * 1024), 0, 1024);
  m.weak_erase = 1;
  check(boot_flash_erase(6) == -1, "a page that is not blank after the erase: -1", "blank check");
  check(boot_flash_erase(6) == 0, "erased again: 0", "retry");

  /* The backend never starts an operation below BOOT_FLASH_BASE (the bootloader) or past the layout (the runtime's key page). */
  model_reset();
  for (uint32_t p = 0; p < BOOT_FLASH_PAGES; p++) (void)boot_flash_erase(p);
  (void)boot_flash_write(0, buf, 16);
  (void)boot_flash_write(TOTAL - 16, buf, 16);
  check(m.lowest >= BOOT_FLASH_BASE && m.highest < BOOT_FLASH_BASE + TOTAL && m.highest < 0x3FC00u,
        "every FMA lies in [BOOT_FLASH_BASE, BOOT_FLASH_BASE + 58 KiB): the bootloader and the key page are never touched", "FMA range");

  printf("%s\n", failures == 0 ? "all ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
