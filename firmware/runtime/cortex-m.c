/*
 * Cortex-M3 core pieces shared by every board: vector table, reset handler (.data copy, .bss
 * zero), SysTick (1 kHz tick), system reset, fault handlers. ARMv7-M Architecture Reference
 * Manual B1.5 (exception model) and B3.3 (SysTick); the vector table layout is §B1.5.3.
 */
#include <stdint.h>
#include "board.h"
#include "cell-rt.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

volatile uint32_t board_ticks_ms;

#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SCB_AIRCR 0xE000ED0Cu

void board_systick_init(uint32_t cpu_hz) {
  REG32(SYST_RVR) = cpu_hz / 1000u - 1u;
  REG32(SYST_CVR) = 0;
  REG32(SYST_CSR) = 7u; /* CLKSOURCE = core clock, TICKINT, ENABLE */
}

uint32_t board_millis(void) { return board_ticks_ms; }

void board_reset(void) {
  __asm__ volatile("dsb" ::: "memory");
  REG32(SCB_AIRCR) = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
  __asm__ volatile("dsb" ::: "memory");
  for (;;) {
  }
}

void SysTick_Handler(void) { board_ticks_ms++; }

/* NMI, HardFault, MemManage, BusFault, UsageFault and any unexpected IRQ: report and reset. */
void Fault_Handler(void) { cell_panic("fault"); }

__attribute__((noreturn)) void Reset_Handler(void) {
  uint32_t *src = &_sidata;
  for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  board_init();
  main();
  board_reset();
}

typedef void (*vector_t)(void);

/* 16 system exceptions + 16 external IRQs (both boards route UART0 to IRQ < 16; all unused). */
__attribute__((section(".isr_vector"), used)) const vector_t vector_table[32] = {
  (vector_t)(uintptr_t)&_estack,
  Reset_Handler,
  Fault_Handler, /* NMI */
  Fault_Handler, /* HardFault */
  Fault_Handler, /* MemManage */
  Fault_Handler, /* BusFault */
  Fault_Handler, /* UsageFault */
  0, 0, 0, 0,
  Fault_Handler, /* SVCall */
  Fault_Handler, /* DebugMonitor */
  0,
  Fault_Handler, /* PendSV */
  SysTick_Handler,
  Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
  Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
  Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
  Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
};
