// A RAM flash for the bootloader tests that can lose power at any erase or write: after
// `budget` more operations the next one does half its work (a torn erase or program) and throws
// PowerCut. The memory survives, as a real flash does; a new Bootloader over it is the reboot.
import { Flash } from '../../firmware/boot/flash.ts';
import { ERR_BOOT_FLASH_IO } from '../../src/wire/errors.ts';

export class PowerCut extends Error {}

export class MemFlash extends Flash {
  readonly mem: Uint8Array;
  /** Operations left before the power goes; -1 = never. */
  budget = -1;
  ops = 0;
  /** Programming a bit from 0 back to 1 without an erase is a bug of the caller: counted. */
  overwrites = 0;

  constructor(pageBytes: number, pages: number) {
    super();
    this.pageBytes = pageBytes;
    this.pages = pages;
    this.mem = new Uint8Array(pageBytes * pages).fill(0xff);
  }

  private tick(): boolean {
    this.ops++;
    if (this.budget < 0) return false;
    if (this.budget === 0) return true;
    this.budget--;
    return false;
  }

  override read(addr: number, dst: Uint8Array, dstOff: number, len: number): number {
    if (addr < 0 || addr + len > this.mem.length) return -ERR_BOOT_FLASH_IO;
    dst.set(this.mem.subarray(addr, addr + len), dstOff);
    return 0;
  }

  override erase(page: number): number {
    if (page < 0 || page >= this.pages) return -ERR_BOOT_FLASH_IO;
    const a = page * this.pageBytes;
    if (this.tick()) { this.mem.fill(0xff, a, a + (this.pageBytes >> 1)); throw new PowerCut('erase'); }
    this.mem.fill(0xff, a, a + this.pageBytes);
    return 0;
  }

  override write(addr: number, src: Uint8Array, srcOff: number, len: number): number {
    if (addr < 0 || addr + len > this.mem.length) return -ERR_BOOT_FLASH_IO;
    const n = this.tick() ? len >> 1 : len;
    for (let i = 0; i < n; i++) {
      const v = src[srcOff + i]!;
      if ((this.mem[addr + i]! & v) !== v) this.overwrites++;
      this.mem[addr + i] = this.mem[addr + i]! & v; // NOR: programming only clears bits
    }
    if (n !== len) throw new PowerCut('write');
    return 0;
  }
}
