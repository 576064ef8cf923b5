// The bootloader over a flash reached through env imports (AssemblyScript only; docs/flash.md §5,
// §10): shared by the wasm entry (wasm-entry.ts, run in Node by the tests) and the native board's
// entry (native.ts, through wasm2c), which differ only in their frame areas and the UART loop.
//
//   env.flash_read(addr, ptr, len) / flash_write(addr, ptr, len) / flash_erase(page) → 0 | -708
//   env.ed25519_verify(sigPtr, msgPtr, len, pubPtr) → 0 valid, else not (firmware/boot/ed25519/
//     on the native board: cell_ed25519_verify; the wasm tests give @noble/curves, strict)
import { Flash, BootLayout } from './flash.ts';
import { Bootloader, BootConfig } from './loader.ts';
import { Verifier } from './verify.ts';

@external("env", "flash_read") declare function flash_read(addr: i32, ptr: usize, len: i32): i32;
@external("env", "flash_write") declare function flash_write(addr: i32, ptr: usize, len: i32): i32;
@external("env", "flash_erase") declare function flash_erase(page: i32): i32;
@external("env", "ed25519_verify") declare function ed25519_verify(sig: usize, msg: usize, len: i32, pub: usize): i32;

class ImportFlash extends Flash {
  read(addr: i32, dst: Uint8Array, dstOff: i32, len: i32): i32 { return flash_read(addr, dst.dataStart + <usize>dstOff, len); }
  erase(page: i32): i32 { return flash_erase(page); }
  write(addr: i32, src: Uint8Array, srcOff: i32, len: i32): i32 { return flash_write(addr, src.dataStart + <usize>srcOff, len); }
}

class ImportVerifier extends Verifier {
  verify(sig: Uint8Array, msg: Uint8Array, msgOff: i32, len: i32, pub: Uint8Array): bool {
    return ed25519_verify(sig.dataStart, msg.dataStart + <usize>msgOff, len, pub.dataStart) == 0;
  }
}

/**
 * A Bootloader over the imported flash. `board`: the board name (bytes 0..15, zero padded), then
 * the trusted publisher key (bytes 16..47; all zero: a development bootloader, BootConfig).
 */
export function newImportBootloader(pageBytes: i32, slotPages: i32, chunkBytes: i32, window: i32, board: Uint8Array): Bootloader {
  const layout = new BootLayout(pageBytes, slotPages);
  const f = new ImportFlash();
  f.pageBytes = pageBytes;
  f.pages = layout.totalPages();
  const cfg = new BootConfig();
  for (let i = 0; i < 16; i++) cfg.board[i] = board[i];
  for (let i = 0; i < 32; i++) cfg.trustedKey[i] = board[16 + i];
  cfg.chunkBytes = chunkBytes;
  cfg.window = <u8>window;
  return new Bootloader(f, layout, cfg, new ImportVerifier());
}
