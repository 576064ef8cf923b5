/*
 * The bootloader of the native boards (docs/flash.md §10): firmware/boot/native.ts translated by
 * `wasm2c -n boot`, its flash imports over the build's flash backend (boot-common.h: qemu/
 * flash-ram.c on mps2-an385, lm3s/flash-semihost.c or lm3s/flash-lm3s.c on lm3s6965evb), its
 * UART imports over board_uart_*, and the hand-over to an app: copy the slot to the execution
 * region, point VTOR at its vector table, load its MSP, branch to its reset handler. Replaces
 * host.c (which is the main() of apps) in this image; the runtime (wasm-rt-bare.c, cortex-m.c,
 * board-*.c) is shared. The board's map comes from BOOT_BOARD_H (default boot-qemu.h).
 */
#include <stdint.h>
#include <string.h>
#include "boot.h"
#include "board.h"
#include "cell-rt.h"
#ifdef BOOT_BOARD_H
#include BOOT_BOARD_H
#else
#include "boot-qemu.h"
#endif
#include "ed25519-verify.h"

/* The publisher key this bootloader trusts: a build-time constant (scripts/build-boot.mjs
 * --trusted-key / CELL_BOOT_TRUSTED_KEY → -DBOOT_TRUSTED_KEY_BYTES=0x..,0x..,…). Without it the
 * image is a development bootloader that checks no signature (docs/flash.md §5.4). */
#ifdef BOOT_TRUSTED_KEY_BYTES
static const uint8_t trusted_key[32] = {BOOT_TRUSTED_KEY_BYTES};
#else
static const uint8_t trusted_key[32] = {0};
#endif

struct Z_env_instance_t {
  Z_boot_instance_t *boot;
};

static Z_boot_instance_t bl;
static struct Z_env_instance_t env = {&bl};

#define ERR_FLASH_IO ((u32)-708)

static uint8_t *wasm_range(uint32_t ptr, uint32_t len) {
  wasm_rt_memory_t *mem = &bl.w2c_memory;
  if ((uint64_t)ptr + len > mem->size) wasm_rt_trap(WASM_RT_TRAP_OOB);
  return mem->data + ptr;
}

u32 Z_envZ_flash_read(struct Z_env_instance_t *e, u32 addr, u32 ptr, u32 len) {
  (void)e;
  return boot_flash_read(addr, wasm_range(ptr, len), len) == 0 ? 0 : ERR_FLASH_IO;
}

u32 Z_envZ_flash_write(struct Z_env_instance_t *e, u32 addr, u32 ptr, u32 len) {
  (void)e;
  return boot_flash_write(addr, wasm_range(ptr, len), len) == 0 ? 0 : ERR_FLASH_IO;
}

u32 Z_envZ_flash_erase(struct Z_env_instance_t *e, u32 page) {
  (void)e;
  return boot_flash_erase(page) == 0 ? 0 : ERR_FLASH_IO;
}

/* Ed25519 (firmware/boot/ed25519/, strict RFC 8032) over the bootloader's wasm memory: every range
 * is checked (a bad pointer traps, as any out-of-bounds access of the wasm would). Runs on the
 * bootloader's stack: ~1.6 KB at its deepest. 0 = valid. */
u32 Z_envZ_ed25519_verify(struct Z_env_instance_t *e, u32 sig, u32 msg, u32 len, u32 pub) {
  (void)e;
  const uint8_t *s = wasm_range(sig, 64);
  const uint8_t *m = wasm_range(msg, len);
  const uint8_t *p = wasm_range(pub, 32);
  return (u32)cell_ed25519_verify(s, m, len, p);
}

u32 Z_envZ_uart_read(struct Z_env_instance_t *e, u32 ptr, u32 max) {
  (void)e;
  if ((s32)max <= 0) return 0;
  uint8_t *p = wasm_range(ptr, max);
  u32 n = 0;
  while (n < max) {
    int c = board_uart_getc();
    if (c < 0) break;
    p[n++] = (uint8_t)c;
  }
  return n;
}

void Z_envZ_uart_write(struct Z_env_instance_t *e, u32 ptr, u32 len) {
  (void)e;
  if ((s32)len <= 0) return;
  const uint8_t *p = wasm_range(ptr, len);
  for (u32 i = 0; i < len; i++) board_uart_putc(p[i]);
}

static void uart_puts(const char *s) {
  while (*s) board_uart_putc((uint8_t)*s++);
}

void cell_panic(const char *reason) {
  board_uart_putc(0);
  uart_puts("!panic boot ");
  uart_puts(reason);
  uart_puts("\n");
  board_uart_putc(0);
  board_reset();
}

void __assert_func(const char *file, int line, const char *func, const char *expr) {
  (void)file; (void)line; (void)func; (void)expr;
  cell_panic("assert");
}

/* Let the last answer bytes leave before a reset (the CMSDK UART holds one byte). */
static void drain_then_reset(void) {
  uint32_t t0 = board_millis();
  while (board_millis() - t0 < 3u) {
  }
  board_reset();
}

/* The resident boot service: the running app hands its channel-3 frames to our instance (and,
 * with req = NULL, len = 0, its healthy signal: docs/flash.md §5.5). It
 * runs on the bootloader's own stack (dead while the app runs), so the app's stack need not make
 * room for the bootloader's call depth. */
extern uint32_t _estack;
static struct {
  const uint8_t *req;
  uint32_t len;
  uint8_t *out;
  uint32_t max;
  int32_t result;
} call;

static void service_body(void) {
  call.result = -1;
  /* No frame at all: the app's healthy signal (boot-app.c), the active slot's start count back to 0. */
  if (call.req == 0 && call.len == 0) {
    call.result = (int32_t)Z_bootZ_healthy(&bl);
    return;
  }
  u32 frame = Z_bootZ_frameBytes(&bl);
  if (call.len == 0 || call.len > frame) return;
  memcpy(wasm_range(Z_bootZ_reqPtr(&bl), call.len), call.req, call.len);
  u32 n = Z_bootZ_handle(&bl, call.len);
  if (n > call.max) return;
  if (n > 0) memcpy(call.out, wasm_range(Z_bootZ_outPtr(&bl), n), n);
  call.result = (int32_t)n | (Z_bootZ_action(&bl) != 0 ? BOOT_SERVICE_RESET : 0);
}

static int32_t service(const uint8_t *req, uint32_t len, uint8_t *out, uint32_t max) {
  call.req = req;
  call.len = len;
  call.out = out;
  call.max = max;
  __asm__ volatile(
    "mov r4, sp\n mov sp, %0\n blx %1\n mov sp, r4\n"
    ::"r"(&_estack), "r"(service_body)
    : "r0", "r1", "r2", "r3", "r4", "r12", "lr", "memory", "cc");
  return call.result;
}

#define SYST_CSR 0xE000E010u
#define SCB_ICSR 0xE000ED04u
#define SCB_VTOR 0xE000ED08u
#define NVIC_ICER0 0xE000E180u
#define NVIC_ICPR0 0xE000E280u

/* A handler address inside the execution region, Thumb bit set. */
static int in_region(uint32_t pc) { return (pc & 1u) && pc >= BOOT_EXEC_BASE && pc < BOOT_EXEC_BASE + BOOT_EXEC_BYTES; }

__attribute__((noreturn)) static void jump_to_app(uint32_t slot) {
  if (boot_flash_read((2u + slot * BOOT_SLOT_PAGES) * BOOT_PAGE_BYTES, (uint8_t *)BOOT_EXEC_BASE, BOOT_EXEC_BYTES) != 0) {
    cell_panic("slot read");
  }
  const uint32_t *vt = (const uint32_t *)BOOT_EXEC_BASE;
  uint32_t sp = vt[0], pc = vt[1];
  /* A slot that is not an image for this region (initial SP in app RAM and 8-byte aligned; reset,
   * NMI and HardFault handlers in the region): panic → reset → the next boot() rolls a trial back
   * (it was marked started before we got here). */
  if (sp < BOOT_APP_RAM_BASE || sp > BOOT_APP_RAM_END || (sp & 7u) || !in_region(pc) || !in_region(vt[2]) || !in_region(vt[3])) {
    cell_panic("bad app vector table");
  }
  Z_bootZ_enterApp(&bl, slot);
  BOOT_HANDOFF->service = service;
  BOOT_HANDOFF->slot = slot;
  BOOT_HANDOFF->magic = BOOT_HANDOFF_MAGIC;
  /* The app starts as after a reset: no SysTick, no IRQ enabled or pending. */
  __asm__ volatile("cpsid i" ::: "memory");
  REG32(SYST_CSR) = 0;
  REG32(NVIC_ICER0) = 0xffffffffu;
  REG32(NVIC_ICPR0) = 0xffffffffu;
  REG32(SCB_ICSR) = 1u << 25; /* PENDSTCLR */
  REG32(SCB_VTOR) = BOOT_EXEC_BASE;
  /* From here the app has BOOT_WDOG_MS to get round its main loop (and then every BOOT_WDOG_MS):
   * one that hangs or faults before it is confirmed is reset, and rolled back. */
  boot_wdog_arm();
  __asm__ volatile(
    "dsb\n isb\n msr msp, %0\n cpsie i\n bx %1\n" ::"r"(sp), "r"(pc) : "memory");
  __builtin_unreachable();
}

/* The recovery window (boot-qemu.h, docs/flash.md §5.6): 1 when a frame was answered in it. */
#if BOOT_RECOVERY_MS > 0
static int recovery_window(void) {
  if ((s32)Z_bootZ_prepare(&bl) < 0) return 0;
  uint32_t t0 = board_millis();
  while (board_millis() - t0 < BOOT_RECOVERY_MS) {
    u32 r = Z_bootZ_listen(&bl);
    if (r == 2u) drain_then_reset();
    if (r == 1u) return 1;
  }
  return 0;
}
#else
static int recovery_window(void) { return 0; }
#endif

int main(void) {
  const int cold = BOOT_HANDOFF->warm != BOOT_WARM_MAGIC;
  BOOT_HANDOFF->warm = BOOT_WARM_MAGIC;
  BOOT_HANDOFF->magic = 0;
  /* A backend that cannot open its flash leaves every flash import failing (708): the
   * bootloader then finds no image and serves the boot protocol, which reports the errors. */
  (void)boot_flash_open();
  wasm_rt_init();
  Z_boot_init_module();
  Z_boot_instantiate(&bl, &env);
  uint8_t *name = wasm_range(Z_bootZ_reqPtr(&bl), 48);
  memset(name, 0, 16);
  memcpy(name, board_name, strlen(board_name) < 16 ? strlen(board_name) : 16);
  memcpy(name + 16, trusted_key, 32);
  Z_bootZ_init(&bl, BOOT_PAGE_BYTES, BOOT_SLOT_PAGES, BOOT_CHUNK_BYTES, BOOT_WINDOW);
  if (!(cold && recovery_window())) {
    s32 slot = (s32)Z_bootZ_boot(&bl);
    if (slot >= 0) jump_to_app((uint32_t)slot);
  }
  for (;;) {
    if (Z_bootZ_poll(&bl) != 0) drain_then_reset();
  }
}
