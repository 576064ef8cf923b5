// @ts-nocheck — AssemblyScript only: load/store and `dataStart` are asc builtins that tsc does not
// know. Every caller reaches these functions only behind `WASM_FAST` (cobs.ts, crc32c.ts,
// deframer.ts, wordcopy.ts), which is false under tsc, so V8 never runs them; the module holds
// nothing but these two function declarations, so importing it under tsc is harmless.
//
// The hot loops of COBS + CRC-32C for the speed-optimised asc builds (shrinkLevel 0: the
// Node-side accelerator build/wasm/framing-accel.wasm, src/framing/wasm-accel.ts, and the `core`
// vector build). Firmware builds (-Oz, shrinkLevel > 0) never compile them: they keep the
// bytewise copy and the 64-byte nibble-table CRC. Why they exist: the same portable loops
// compiled by asc (Uint8Array indexing, one byte per step) measured no faster than V8's
// word-copy + slice-by-16 JS (docs/uart.md §6); with 8-byte word loads and stores they are
// ~2-3x faster per byte.

/**
 * Copy src[si..si+n) to dst[di..di+n) up to (not including) the first 0x00; returns the bytes
 * copied (n when there is no 0x00). Unlike the V8 copyNonZero it never stores past the 0x00.
 * The caller guarantees both ranges lie inside their arrays and do not overlap.
 */
export function copyNonZeroWasm(src: Uint8Array, si: i32, dst: Uint8Array, di: i32, n: i32): i32 {
  const s: usize = src.dataStart + <usize>si;
  const d: usize = dst.dataStart + <usize>di;
  let k: i32 = 0;
  const n8: i32 = n - 8;
  while (k <= n8) {
    const w: u64 = load<u64>(s + <usize>k);
    if (((w - 0x0101010101010101) & ~w & 0x8080808080808080) != 0) break; // a 0x00 among these 8
    store<u64>(d + <usize>k, w);
    k += 8;
  }
  while (k < n) {
    const b: u8 = load<u8>(s + <usize>k);
    if (b == 0) break;
    store<u8>(d + <usize>k, b);
    k++;
  }
  return k;
}

/**
 * CRC-32C register update (no pre/post inversion) over buf[i..end) with the slice-by-16 tables
 * of crc32c.ts (`table`: 16 x 256 u32): four 32-bit loads per 16 bytes, then bytewise.
 * The caller clamps the range.
 */
export function crc32cRawWasm(c: u32, buf: Uint8Array, i: i32, end: i32, table: Uint32Array): u32 {
  let p: usize = buf.dataStart + <usize>i;
  let n: i32 = end - i;
  const t: usize = table.dataStart;
  while (n >= 16) {
    const w0: u32 = c ^ load<u32>(p);
    const w1: u32 = load<u32>(p, 4);
    const w2: u32 = load<u32>(p, 8);
    const w3: u32 = load<u32>(p, 12);
    c = load<u32>(t + (<usize>(w0 & 0xff) << 2), 0xf00 << 2) ^ load<u32>(t + (<usize>((w0 >>> 8) & 0xff) << 2), 0xe00 << 2) ^
      load<u32>(t + (<usize>((w0 >>> 16) & 0xff) << 2), 0xd00 << 2) ^ load<u32>(t + (<usize>(w0 >>> 24) << 2), 0xc00 << 2) ^
      load<u32>(t + (<usize>(w1 & 0xff) << 2), 0xb00 << 2) ^ load<u32>(t + (<usize>((w1 >>> 8) & 0xff) << 2), 0xa00 << 2) ^
      load<u32>(t + (<usize>((w1 >>> 16) & 0xff) << 2), 0x900 << 2) ^ load<u32>(t + (<usize>(w1 >>> 24) << 2), 0x800 << 2) ^
      load<u32>(t + (<usize>(w2 & 0xff) << 2), 0x700 << 2) ^ load<u32>(t + (<usize>((w2 >>> 8) & 0xff) << 2), 0x600 << 2) ^
      load<u32>(t + (<usize>((w2 >>> 16) & 0xff) << 2), 0x500 << 2) ^ load<u32>(t + (<usize>(w2 >>> 24) << 2), 0x400 << 2) ^
      load<u32>(t + (<usize>(w3 & 0xff) << 2), 0x300 << 2) ^ load<u32>(t + (<usize>((w3 >>> 8) & 0xff) << 2), 0x200 << 2) ^
      load<u32>(t + (<usize>((w3 >>> 16) & 0xff) << 2), 0x100 << 2) ^ load<u32>(t + (<usize>(w3 >>> 24) << 2));
    p += 16;
    n -= 16;
  }
  while (n > 0) {
    c = (c >>> 8) ^ load<u32>(t + (<usize>((c ^ <u32>load<u8>(p)) & 0xff) << 2));
    p++;
    n--;
  }
  return c;
}
