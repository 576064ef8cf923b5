/*
 * A bare-metal replacement for wabt's wasm-rt-impl.c (wasm2c 1.0.32 runtime API, wasm-rt.h).
 * No malloc, no signals, no printf:
 *  - linear memory comes from one static buffer of CELL_WASM_MEM_BYTES (may be smaller than one
 *    64 KiB wasm page: memory.size still reports whole pages, but every access past the buffer
 *    fails wasm2c's bounds check and traps);
 *  - function types live in a fixed table (CELL_MAX_FUNC_TYPES, CELL_MAX_FUNC_ARITY);
 *  - funcref tables come from a fixed pool (CELL_TABLE_POOL entries);
 *  - a trap prints its reason on the UART and resets the board (there is nothing to unwind to);
 *  - call depth is counted by the generated code (WASM_RT_USE_STACK_DEPTH_COUNT=1).
 * Exceptions (the wasm EH proposal) are not supported: throw traps.
 */
#include <stdarg.h>
#include <stdint.h>
#include "wasm-rt.h"
#include "cell-rt.h"

#ifndef CELL_WASM_MEM_BYTES
#define CELL_WASM_MEM_BYTES 8192
#endif
#ifndef CELL_MAX_FUNC_TYPES
#define CELL_MAX_FUNC_TYPES 16
#endif
#ifndef CELL_MAX_FUNC_ARITY
#define CELL_MAX_FUNC_ARITY 10
#endif
#ifndef CELL_TABLE_POOL
#define CELL_TABLE_POOL 32
#endif

#define WASM_PAGE 65536u

uint32_t wasm_rt_call_stack_depth;
static bool initialized;

void wasm_rt_init(void) {
  initialized = true;
  wasm_rt_call_stack_depth = 0;
}
bool wasm_rt_is_initialized(void) { return initialized; }
void wasm_rt_free(void) { initialized = false; }

const char *wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "none";
    case WASM_RT_TRAP_OOB: return "trap oob";
    case WASM_RT_TRAP_INT_OVERFLOW: return "trap int overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "trap div by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "trap invalid conversion";
    case WASM_RT_TRAP_UNREACHABLE: return "trap unreachable";
    case WASM_RT_TRAP_CALL_INDIRECT: return "trap call_indirect";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "trap exception";
    case WASM_RT_TRAP_EXHAUSTION: return "trap call stack exhausted";
    default: return "trap";
  }
}

void wasm_rt_trap(wasm_rt_trap_t trap) { cell_panic(wasm_rt_strerror(trap)); }

/* --- function types: (params, results, types...) interned in a fixed table --------------- */
typedef struct {
  uint8_t params, results;
  uint8_t types[CELL_MAX_FUNC_ARITY];
} func_type_t;
static func_type_t func_types[CELL_MAX_FUNC_TYPES];
static uint32_t func_type_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  if (params + results > CELL_MAX_FUNC_ARITY) cell_panic("func type arity");
  func_type_t t = {(uint8_t)params, (uint8_t)results, {0}};
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < params + results; i++) t.types[i] = (uint8_t)va_arg(ap, int);
  va_end(ap);
  for (uint32_t i = 0; i < func_type_count; i++) {
    const func_type_t *f = &func_types[i];
    if (f->params == t.params && f->results == t.results &&
        __builtin_memcmp(f->types, t.types, params + results) == 0)
      return i + 1;
  }
  if (func_type_count == CELL_MAX_FUNC_TYPES) cell_panic("func type table full");
  func_types[func_type_count++] = t;
  return func_type_count; /* ids start at 1; 0 is the null funcref's type */
}

/* --- linear memory: one static buffer -------------------------------------------------- */
static uint8_t wasm_memory[CELL_WASM_MEM_BYTES] __attribute__((aligned(8)));
static bool memory_taken;
/* Pages the buffer can back (at least 1 so that a module may declare one page). */
#define BACKED_PAGES ((CELL_WASM_MEM_BYTES + WASM_PAGE - 1u) / WASM_PAGE)

static uint32_t backed_bytes(uint32_t pages) {
  uint64_t want = (uint64_t)pages * WASM_PAGE;
  return want < CELL_WASM_MEM_BYTES ? (uint32_t)want : CELL_WASM_MEM_BYTES;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages) {
  if (memory_taken) cell_panic("second linear memory");
  if (initial_pages > BACKED_PAGES) cell_panic("linear memory too small");
  memory_taken = true;
  mem->data = wasm_memory;
  mem->pages = initial_pages;
  mem->max_pages = max_pages < BACKED_PAGES ? max_pages : BACKED_PAGES;
  mem->size = backed_bytes(initial_pages);
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t delta) {
  uint32_t old = mem->pages;
  uint64_t want = (uint64_t)old + delta;
  if (want > mem->max_pages) return UINT32_MAX;
  mem->pages = (uint32_t)want;
  mem->size = backed_bytes(mem->pages);
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *mem) {
  (void)mem;
  memory_taken = false;
}

/* --- funcref tables: a fixed pool ------------------------------------------------------ */
static wasm_rt_funcref_t table_pool[CELL_TABLE_POOL];
static uint32_t table_pool_used;

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *table, uint32_t elements, uint32_t max_elements) {
  (void)max_elements;
  if (elements > CELL_TABLE_POOL - table_pool_used) cell_panic("funcref table pool full");
  table->data = &table_pool[table_pool_used];
  table->size = elements;
  table->max_size = elements; /* tables do not grow on this runtime */
  table_pool_used += elements;
}
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *table) { (void)table; }
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *table, uint32_t delta, wasm_rt_funcref_t init) {
  (void)table; (void)delta; (void)init;
  return UINT32_MAX;
}

void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t *table, uint32_t elements, uint32_t max_elements) {
  (void)max_elements;
  if (elements != 0) cell_panic("externref tables unsupported");
  table->data = 0;
  table->size = table->max_size = 0;
}
void wasm_rt_free_externref_table(wasm_rt_externref_table_t *table) { (void)table; }
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t *table, uint32_t delta, wasm_rt_externref_t init) {
  (void)table; (void)delta; (void)init;
  return UINT32_MAX;
}

/* --- exceptions: not supported --------------------------------------------------------- */
uint32_t wasm_rt_register_tag(uint32_t size) { (void)size; cell_panic("exceptions unsupported"); }
void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void *values) {
  (void)tag; (void)size; (void)values;
  cell_panic("exceptions unsupported");
}
void wasm_rt_throw(void) { wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION); }
WASM_RT_UNWIND_TARGET *wasm_rt_get_unwind_target(void) { return 0; }
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET *target) { (void)target; }
uint32_t wasm_rt_exception_tag(void) { return 0; }
uint32_t wasm_rt_exception_size(void) { return 0; }
void *wasm_rt_exception(void) { return 0; }
