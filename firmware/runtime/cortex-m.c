/*
 * Cortex-M3 core pieces shared by every board: vector table, reset handler (.data copy, .bss
 * zero), SysTick (1 kHz tick), system reset, fault handlers, NVIC enable, the UART receive ring
 * and the idle sleep. ARMv7-M Architecture Reference Manual B1.5 (exception model), B3.3
 * (SysTick), B3.4 (NVIC); the vector table layout is §B1.5.3.
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
#define NVIC_ISER0 0xE000E100u /* write 1: enable IRQ n (bit n), IRQs 0..31 */
#define NVIC_ICER0 0xE000E180u /* write 1: disable */
#define NVIC_ISPR0 0xE000E200u /* write 1: set pending */

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

void board_irq_enable(uint32_t irq) { REG32(NVIC_ISER0) = 1u << irq; }

/*
 * UART receive ring. The board's RX interrupt handler is the only producer (board_rx_full,
 * board_rx_put), the main loop the only consumer (board_uart_getc): a lock-free single-producer /
 * single-consumer pair of free-running indices. Only the ISR writes rx.head, only the consumer
 * writes rx.tail; each is one aligned 32-bit word (single-copy atomic on ARMv7-M), so neither
 * side ever sees a torn index, and no interrupt masking is needed. Fill = head - tail (mod 2^32),
 * slot = index & (size - 1). On one core an ISR runs to completion before the main loop resumes,
 * so the only ordering that matters is the compiler's: barriers keep the consumer's slot read
 * between its head read and its tail write (the slot is not reused before tail moves on).
 *
 * Ring full: the ISR leaves the byte in the UART, masks the UART IRQ in the NVIC and records it
 * in rx.paused. The UART's own buffer (16 B FIFO / 1 B register) then holds further bytes
 * until the consumer has taken one from the ring, which unmasks the IRQ and pends it, so the ISR
 * resumes draining. Nothing is dropped by software: bytes are lost only when the UART itself
 * overruns (counted by the board ISR in board_rx_overruns). qemu's UART models stop reading the
 * pty while their buffer is full, so under qemu a full ring is back-pressure, never a loss.
 */
#define RX_RING_BYTES 512u /* a power of two */
static struct {
  volatile uint32_t head;   /* bytes put, written by the ISR only */
  volatile uint32_t tail;   /* bytes taken, written by the consumer only */
  volatile uint32_t paused; /* IRQ number + 1 while the ISR is masked (ring full) */
  volatile uint32_t peak;   /* highest fill seen, bytes */
  uint8_t buf[RX_RING_BYTES];
} rx; /* one struct: one base address for the code (flash) */
volatile uint32_t board_rx_overruns;

int board_rx_full(uint32_t irq) {
  if (rx.head - rx.tail < RX_RING_BYTES) return 0;
  REG32(NVIC_ICER0) = 1u << irq;
  rx.paused = irq + 1u;
  return 1;
}

void board_rx_put(uint8_t b) {
  uint32_t h = rx.head;
  rx.buf[h & (RX_RING_BYTES - 1u)] = b;
  __asm__ volatile("" ::: "memory");
  rx.head = ++h;
  h -= rx.tail;
  if (h > rx.peak) rx.peak = h;
}

int board_uart_getc(void) {
  uint32_t t = rx.tail;
  if (rx.head == t) return -1;
  __asm__ volatile("" ::: "memory");
  int c = rx.buf[t & (RX_RING_BYTES - 1u)];
  __asm__ volatile("" ::: "memory");
  rx.tail = t + 1u;
  uint32_t paused = rx.paused;
  if (paused) {
    /* The ISR is masked, so it cannot run between these stores. It cleared its interrupt
     * status before it paused; pending the IRQ by hand makes it drain the UART again. */
    rx.paused = 0;
    REG32(NVIC_ISPR0) = 1u << (paused - 1u);
    REG32(NVIC_ISER0) = 1u << (paused - 1u);
  }
  return c;
}

uint32_t board_uart_stat(uint32_t which) {
  return which == 0 ? board_rx_overruns : which == 1 ? rx.peak : 0;
}

/*
 * Sleep until the next interrupt when the ring is empty (the UART RX interrupt or the 1 kHz
 * SysTick, which paces streams). PRIMASK is set around the check: an RX interrupt that arrives
 * after the check stays pending, and WFI returns at once for a pending interrupt even while
 * PRIMASK masks it (ARMv7-M B1.5.19), so no byte waits for the next tick. cpsie then runs it.
 */
void board_idle(void) {
  __asm__ volatile("cpsid i" ::: "memory");
  if (rx.head == rx.tail) __asm__ volatile("dsb\n\twfi" ::: "memory");
  __asm__ volatile("cpsie i" ::: "memory");
}

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

/* External IRQ handlers: a board file defines the ones it enables (mps2-an385: Irq0_Handler for
 * UART0 RX; lm3s6965evb: Irq5_Handler for UART0); any other is a fault. */
#define IRQ_DEFAULT(n) void Irq##n##_Handler(void) __attribute__((weak, alias("Fault_Handler")))
IRQ_DEFAULT(0); IRQ_DEFAULT(1); IRQ_DEFAULT(2); IRQ_DEFAULT(3);
IRQ_DEFAULT(4); IRQ_DEFAULT(5); IRQ_DEFAULT(6); IRQ_DEFAULT(7);
IRQ_DEFAULT(8); IRQ_DEFAULT(9); IRQ_DEFAULT(10); IRQ_DEFAULT(11);
IRQ_DEFAULT(12); IRQ_DEFAULT(13); IRQ_DEFAULT(14); IRQ_DEFAULT(15);

/* 16 system exceptions + 16 external IRQs (both boards route UART0 to IRQ < 16). */
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
  Irq0_Handler, Irq1_Handler, Irq2_Handler, Irq3_Handler,
  Irq4_Handler, Irq5_Handler, Irq6_Handler, Irq7_Handler,
  Irq8_Handler, Irq9_Handler, Irq10_Handler, Irq11_Handler,
  Irq12_Handler, Irq13_Handler, Irq14_Handler, Irq15_Handler,
};
