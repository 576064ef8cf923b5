// The bootloader's view of flash (docs/flash.md §5): pages that are erased whole and written in
// any order once erased, plus the layout of the boot-state record and the two image slots.
// Portable subset (tsc + asc). Implementations: FileFlash (simulator, hw-tests/lib/boot-sim-device.ts),
// MemFlash (tests: cuts power at any write), and, for the native port, the MCU's flash controller
// (or qemu RAM standing in for it).
import { ERR_BOOT_FLASH_IO } from '../../src/wire/errors.ts';

/**
 * Flash with `pages` pages of `pageBytes` bytes, addressed from 0. Methods return 0 or
 * -ERR_BOOT_FLASH_IO. The base class is a device with no flash (every call fails); subclasses
 * override all three (a class rather than an interface: asc dispatches overridden methods).
 */
export class Flash {
  pageBytes: i32 = 0;
  pages: i32 = 0;
  /** Copy flash[addr..addr+len) to dst[dstOff..). */
  read(addr: i32, dst: Uint8Array, dstOff: i32, len: i32): i32 { return -ERR_BOOT_FLASH_IO; }
  /** Set every byte of page `page` to 0xFF. */
  erase(page: i32): i32 { return -ERR_BOOT_FLASH_IO; }
  /** Program flash[addr..addr+len) from src[srcOff..); the bytes must have been erased since their last write. */
  write(addr: i32, src: Uint8Array, srcOff: i32, len: i32): i32 { return -ERR_BOOT_FLASH_IO; }
}

/**
 * Where things live: page 0 and page 1 hold the two copies of the boot-state record
 * (firmware/boot/state.ts); slot 0 starts at page 2, slot 1 right after it; each slot is
 * `slotPages` pages. Needs pages >= 2 + 2 * slotPages and pageBytes >= the record (128 bytes).
 */
export class BootLayout {
  pageBytes: i32 = 0;
  slotPages: i32 = 0;

  constructor(pageBytes: i32, slotPages: i32) {
    this.pageBytes = pageBytes;
    this.slotPages = slotPages;
  }

  slotFirstPage(slot: i32): i32 {
    return 2 + slot * this.slotPages;
  }

  slotAddr(slot: i32): i32 {
    return this.slotFirstPage(slot) * this.pageBytes;
  }

  slotBytes(): i32 {
    return this.slotPages * this.pageBytes;
  }

  /** Pages a flash needs for this layout. */
  totalPages(): i32 {
    return 2 + 2 * this.slotPages;
  }
}
