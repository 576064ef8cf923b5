// Little-endian integer access over Uint8Array, one byte at a time (docs/wire-format.md §1).
// Portable core: compiled by tsc and asc. Never a host-endian typed-array view over wire bytes.
// Callers check bounds first: in JS an out-of-range store is silently dropped, in wasm it traps.
// Cost: a few byte loads/stores each; no allocation.

export function readU16LE(buf: Uint8Array, off: i32): u32 {
  return (<u32>buf[off]) | ((<u32>buf[off + 1]) << 8);
}

export function readU32LE(buf: Uint8Array, off: i32): u32 {
  // `>>> 0` keeps the result unsigned in JS (a shift by 24 of a byte >= 0x80 goes negative);
  // in wasm it is a no-op on a u32.
  return ((<u32>buf[off]) | ((<u32>buf[off + 1]) << 8) | ((<u32>buf[off + 2]) << 16) | ((<u32>buf[off + 3]) << 24)) >>> 0;
}

export function writeU16LE(buf: Uint8Array, off: i32, v: u32): void {
  buf[off] = <u8>(v & 0xff);
  buf[off + 1] = <u8>((v >>> 8) & 0xff);
}

export function writeU32LE(buf: Uint8Array, off: i32, v: u32): void {
  buf[off] = <u8>(v & 0xff);
  buf[off + 1] = <u8>((v >>> 8) & 0xff);
  buf[off + 2] = <u8>((v >>> 16) & 0xff);
  buf[off + 3] = <u8>((v >>> 24) & 0xff);
}
