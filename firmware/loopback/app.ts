// Byte loopback firmware: every byte received on UART0 is sent back unchanged. The smallest
// app of the native chain (asc → wasm2c → arm-none-eabi-gcc); used to measure the runtime's own
// footprint and the raw UART path. AssemblyScript only (not compiled by tsc).
@external("env", "uart_read") declare function uart_read(ptr: usize, max: i32): i32;
@external("env", "uart_write") declare function uart_write(ptr: usize, len: i32): void;

// Allocated once by the start function; never again.
const BUF = new Uint8Array(64);
const BUF_PTR: usize = BUF.dataStart;

/** Called forever by the runtime's main loop; never blocks. */
export function poll(): void {
  const n = uart_read(BUF_PTR, BUF.length);
  if (n > 0) uart_write(BUF_PTR, n);
}
