/*
 * Linked into an app image for a slot of a native bootloader (firmware/boot/qemu/boot-qemu.h, or
 * the header BOOT_BOARD_H names, e.g. firmware/boot/lm3s/boot-lm3s.h):
 * the env import `boot_request` of firmware/shared/rpc.ts hands a channel-3 frame to the
 * bootloader's resident service through the hand-over record. Overrides the weak default of
 * firmware/runtime/host.c (no bootloader: -1, the app answers 403). Also feeds the watchdog the
 * bootloader armed before the jump, once per main-loop pass (host.c's cell_main_loop_hook), and
 * sends the app's healthy signal once it has run for BOOT_HEALTHY_MS.
 */
#include <stdint.h>
#include "app.h"
#include "board.h"
#include "cell-rt.h"
#ifdef BOOT_BOARD_H
#include BOOT_BOARD_H
#else
#include "boot-qemu.h"
#endif

/* The healthy signal (docs/flash.md §5.5): the first main-loop pass at or after BOOT_HEALTHY_MS
 * since the app's reset calls the resident service with no frame, which sets the active slot's
 * start count back to 0 (an app that faults, hangs or resets before that has used up one of its
 * BOOT_MAX_ATTEMPTS starts). Sent once per start; a bootloader without the signal answers -1. */
static uint8_t healthy_sent;

void cell_main_loop_hook(void) {
  boot_wdog_feed();
  if (!healthy_sent && board_millis() >= BOOT_HEALTHY_MS) {
    volatile struct boot_handoff *h = BOOT_HANDOFF;
    healthy_sent = 1;
    if (h->magic == BOOT_HANDOFF_MAGIC && h->service != 0) (void)h->service(0, 0, 0, 0);
  }
}

struct Z_env_instance_t {
  Z_app_instance_t *app;
};

u32 Z_envZ_boot_request(struct Z_env_instance_t *e, u32 req, u32 len, u32 out, u32 max) {
  volatile struct boot_handoff *h = BOOT_HANDOFF;
  if (h->magic != BOOT_HANDOFF_MAGIC || h->service == 0) return (u32)-1;
  wasm_rt_memory_t *mem = &e->app->w2c_memory;
  if ((uint64_t)req + len > mem->size || (uint64_t)out + max > mem->size) wasm_rt_trap(WASM_RT_TRAP_OOB);
  return (u32)h->service(mem->data + req, len, mem->data + out, max);
}
