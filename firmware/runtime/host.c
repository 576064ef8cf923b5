/*
 * The host side of a Cell firmware app: main(), the `env` imports the wasm app may use, panic
 * and assert. The app is translated by `wasm2c app.wasm -n app` (wasm2c 1.0.32 naming: Z_app*).
 *
 * Contract with the app (see firmware/echo/app.ts and docs/firmware.md §"App contract"):
 *  - top-level statements (the wasm start function) allocate every buffer, once, at boot;
 *  - the app exports `poll(): void`, which main() calls forever; it must not block;
 *  - imports, all optional (--gc-sections drops the unused ones):
 *      env.uart_read(ptr: usize, max: i32): i32   bytes copied from the UART, never blocks
 *      env.uart_write(ptr: usize, len: i32): void  blocks until queued in the UART
 *      env.millis(): u32                           SysTick milliseconds since reset
 *      env.reset(): void                           system reset
 *      env.uart_stat(which: i32): u32              0: UART overruns, 1: peak receive-ring fill
 *      env.boot_request(req, len, out, max): i32   a channel-3 frame to the bootloader's resident
 *                                                  service (weak default -1: no bootloader)
 *      env.sec_record(ptr): i32                    link security (firmware/shared/rpc-secure.ts):
 *      env.sec_flash_page_bytes(): i32             the provisioning record and the boot counter's
 *      env.sec_flash_read/erase/write              two flash pages (board.h board_sec_*)
 *      env.aead_seal/aead_open(key, nonce, ad, adLen,  ChaCha20-Poly1305 in place (cell-aead.c):
 *        txt, txtLen, tag, tagLen): i32            firmware/shared/device-aead.ts
 *      env.hchacha20(key, in, out): void           HChaCha20 (cell-aead.c): the session key
 *      env.can_read/can_write/can_node/can_fd      the CAN controller (firmware/shared/rpc-can.ts):
 *                                                  weak stubs only, no board here has one
 *  - a pointer range outside linear memory traps (then: panic line, reset).
 */
#include <stdint.h>
#include "app.h"
#include "board.h"
#include "cell-rt.h"
#include "cell-aead.h"

struct Z_env_instance_t {
  Z_app_instance_t *app;
};

static Z_app_instance_t app;
static struct Z_env_instance_t env = {&app};

static uint8_t *wasm_range(struct Z_env_instance_t *e, uint32_t ptr, uint32_t len) {
  wasm_rt_memory_t *mem = &e->app->w2c_memory;
  if ((uint64_t)ptr + len > mem->size) wasm_rt_trap(WASM_RT_TRAP_OOB);
  return mem->data + ptr;
}

/* Optional imports: weak so that the linker only keeps what the app calls. */
__attribute__((weak)) u32 Z_envZ_uart_read(struct Z_env_instance_t *e, u32 ptr, u32 max) {
  if ((s32)max <= 0) return 0;
  uint8_t *p = wasm_range(e, ptr, max);
  u32 n = 0;
  while (n < max) {
    int c = board_uart_getc();
    if (c < 0) break;
    p[n++] = (uint8_t)c;
  }
  return n;
}

__attribute__((weak)) void Z_envZ_uart_write(struct Z_env_instance_t *e, u32 ptr, u32 len) {
  if ((s32)len <= 0) return;
  const uint8_t *p = wasm_range(e, ptr, len);
  for (u32 i = 0; i < len; i++) board_uart_putc(p[i]);
}

__attribute__((weak)) u32 Z_envZ_millis(struct Z_env_instance_t *e) {
  (void)e;
  return board_millis();
}

__attribute__((weak)) u32 Z_envZ_uart_stat(struct Z_env_instance_t *e, u32 which) {
  (void)e;
  return board_uart_stat(which);
}

__attribute__((weak)) void Z_envZ_reset(struct Z_env_instance_t *e) {
  (void)e;
  board_reset();
}

/* The bootloader's resident boot service (firmware/shared/rpc.ts): none in a plain image (-1:
 * the app answers channel-3 requests 403); firmware/boot/qemu/boot-app.c overrides it. */
__attribute__((weak)) u32 Z_envZ_boot_request(struct Z_env_instance_t *e, u32 req, u32 len, u32 out, u32 max) {
  (void)e; (void)req; (void)len; (void)out; (void)max;
  return (u32)-1;
}

/* Link security storage (firmware/shared/rpc-secure.ts, board.h). Only a secure app imports these. */
#define SEC_RECORD_BYTES 64u
#define SEC_FLASH_IO ((u32)-708) /* -ERR_BOOT_FLASH_IO */

/* The provisioning record → ptr: 64, or 0 when the board has no key page. */
__attribute__((weak)) u32 Z_envZ_sec_record(struct Z_env_instance_t *e, u32 ptr) {
  const uint8_t *rec = board_sec_record();
  if (rec == 0) return 0;
  uint8_t *p = wasm_range(e, ptr, SEC_RECORD_BYTES);
  for (u32 i = 0; i < SEC_RECORD_BYTES; i++) p[i] = rec[i];
  return SEC_RECORD_BYTES;
}

__attribute__((weak)) u32 Z_envZ_sec_flash_page_bytes(struct Z_env_instance_t *e) {
  (void)e;
  return board_sec_page_bytes();
}

/* The boot counter's pages: [addr, addr + len) inside both, else NULL. */
static uint8_t *sec_pages(u32 addr, u32 len) {
  uint32_t size = 2u * board_sec_page_bytes();
  if ((uint64_t)addr + len > size) return 0;
  return board_sec_counter_pages() + addr;
}

__attribute__((weak)) u32 Z_envZ_sec_flash_read(struct Z_env_instance_t *e, u32 addr, u32 ptr, u32 len) {
  uint8_t *f = sec_pages(addr, len);
  if (f == 0) return SEC_FLASH_IO;
  uint8_t *p = wasm_range(e, ptr, len);
  for (u32 i = 0; i < len; i++) p[i] = f[i];
  return 0;
}

__attribute__((weak)) u32 Z_envZ_sec_flash_erase(struct Z_env_instance_t *e, u32 page) {
  (void)e;
  uint32_t n = board_sec_page_bytes();
  uint8_t *f = page < 2u ? sec_pages(page * n, n) : 0;
  if (f == 0) return SEC_FLASH_IO;
  for (uint32_t i = 0; i < n; i++) f[i] = 0xFFu;
  return 0;
}

/* NOR programming: bits are only cleared (a write over unerased bytes shows as corruption). */
__attribute__((weak)) u32 Z_envZ_sec_flash_write(struct Z_env_instance_t *e, u32 addr, u32 ptr, u32 len) {
  uint8_t *f = sec_pages(addr, len);
  if (f == 0) return SEC_FLASH_IO;
  const uint8_t *p = wasm_range(e, ptr, len);
  for (u32 i = 0; i < len; i++) f[i] &= p[i];
  return 0;
}

/* Link security's AEAD (firmware/shared/device-aead.ts), pointers into linear memory: key (32
 * bytes) and nonce (12) must lie in it (else a trap); cell-aead.c checks AD, text and tag against
 * the whole memory (-801 when outside, overlapping, or tag_len not 1..16). */
__attribute__((weak)) u32 Z_envZ_aead_seal(struct Z_env_instance_t *e, u32 key, u32 nonce, u32 ad, u32 ad_len,
                                           u32 pt, u32 pt_len, u32 tag, u32 tag_len) {
  wasm_rt_memory_t *mem = &e->app->w2c_memory;
  return (u32)cell_aead_seal(wasm_range(e, key, 32), wasm_range(e, nonce, 12), mem->data, mem->size,
                             ad, ad_len, pt, pt_len, tag, tag_len);
}

__attribute__((weak)) u32 Z_envZ_aead_open(struct Z_env_instance_t *e, u32 key, u32 nonce, u32 ad, u32 ad_len,
                                           u32 ct, u32 ct_len, u32 tag, u32 tag_len) {
  wasm_rt_memory_t *mem = &e->app->w2c_memory;
  return (u32)cell_aead_open(wasm_range(e, key, 32), wasm_range(e, nonce, 12), mem->data, mem->size,
                             ad, ad_len, ct, ct_len, tag, tag_len);
}

/* The session key (SecureSession.start through firmware/shared/device-aead.ts). */
__attribute__((weak)) void Z_envZ_hchacha20(struct Z_env_instance_t *e, u32 key, u32 in, u32 out) {
  cell_hchacha20(wasm_range(e, key, 32), wasm_range(e, in, 16), wasm_range(e, out, 32));
}

/* Nothing to do once per main-loop pass in a plain image (cell-rt.h). */
/*
 * CAN (firmware/shared/rpc-can.ts). No board here has a CAN controller (nor does qemu emulate one
 * on them): these weak defaults only let a CAN app link. A board with one overrides them over its
 * driver (bxCAN, FDCAN, MCAN): a receive FIFO drained by its interrupt into a ring, the acceptance
 * filter set to (dst = node or 127), the TX mailboxes.
 *   can_read(meta, data, max): i32   one frame: id and flags (u32 each) at meta, data → data;
 *                                    its length, or -1: none
 *   can_write(id, flags, ptr, len): i32  0 queued, < 0 refused
 *   can_node(): i32                  this board's node id (127: none configured, the app is silent)
 *   can_fd(): i32                    1: send CAN FD frames
 */
__attribute__((weak)) u32 Z_envZ_can_read(struct Z_env_instance_t *e, u32 meta, u32 data, u32 max) {
  (void)e; (void)meta; (void)data; (void)max;
  return (u32)-1;
}

__attribute__((weak)) u32 Z_envZ_can_write(struct Z_env_instance_t *e, u32 id, u32 flags, u32 ptr, u32 len) {
  (void)e; (void)id; (void)flags; (void)ptr; (void)len;
  return (u32)-1;
}

__attribute__((weak)) u32 Z_envZ_can_node(struct Z_env_instance_t *e) {
  (void)e;
  return 127u;
}

__attribute__((weak)) u32 Z_envZ_can_fd(struct Z_env_instance_t *e) {
  (void)e;
  return 0u;
}

__attribute__((weak)) void cell_main_loop_hook(void) {}

static void uart_puts(const char *s) {
  while (*s) board_uart_putc((uint8_t)*s++);
}

void cell_panic(const char *reason) {
  board_uart_putc(0);
  uart_puts("!panic ");
  uart_puts(reason);
  uart_puts("\n");
  board_uart_putc(0);
  board_reset();
}

/* newlib's __assert_func pulls in fiprintf and malloc; wasm2c's asserts end here instead. */
void __assert_func(const char *file, int line, const char *func, const char *expr) {
  (void)file; (void)line; (void)func; (void)expr;
  cell_panic("assert");
}

int main(void) {
  wasm_rt_init();
  Z_app_init_module();
  Z_app_instantiate(&app, &env); /* runs the app's start function: allocates its buffers */
  for (;;) {
    Z_appZ_poll(&app);
    cell_main_loop_hook();
    board_idle(); /* WFI unless received bytes wait: the next RX byte or SysTick tick wakes it */
  }
}
