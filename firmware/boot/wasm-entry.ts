// The bootloader as a wasm module (AssemblyScript only; docs/flash.md §5, §10): the portable
// Bootloader over a flash reached through three env imports, with a static request/answer area.
// The native port wraps this with wasm2c (flash_* in C over the board's flash or qemu RAM); the
// tests run it in Node and compare every answer with the tsc build (test/boot/wasm.test.ts).
//
//   env.flash_read(addr, ptr, len) / flash_write(addr, ptr, len) / flash_erase(page) → 0 | -708
//   env.ed25519_verify(sigPtr, msgPtr, len, pubPtr) → 0 valid
//   init(pageBytes, slotPages, chunkBytes, window)  once, after writing the board name (16 B) and the
//     trusted key (32 B, zero: none) at reqPtr()
//   boot() → slot | -1        healthy() → 0 | <0        handle(len) → answer length (frame at outPtr())        action() → 0 | 1 (reset)
import { Bootloader } from './loader.ts';
import { newImportBootloader } from './import-flash.ts';

const FRAME_BYTES: i32 = 2048;
const REQ = new Uint8Array(FRAME_BYTES);
const OUT = new Uint8Array(FRAME_BYTES);

let BL: Bootloader | null = null;

export function reqPtr(): usize { return REQ.dataStart; }
export function outPtr(): usize { return OUT.dataStart; }

export function init(pageBytes: i32, slotPages: i32, chunkBytes: i32, window: i32): void {
  BL = newImportBootloader(pageBytes, slotPages, chunkBytes, window, REQ);
}

export function boot(): i32 { return BL!.boot(); }
export function enterApp(slot: i32): void { BL!.enterApp(slot); }
export function healthy(): i32 { return BL!.healthy(); }
export function handle(len: i32): i32 { return BL!.handle(REQ, len, OUT); }
export function action(): i32 { return BL!.action; }
