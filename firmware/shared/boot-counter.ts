// The device's boot counter for link security (docs/firmware.md §"Link security on the device"):
// a u32 that grows at every boot and is never handed out twice, even when power is cut in the
// middle of any flash operation (a value may be skipped, never repeated). src/secure/session.ts
// derives every session key from (host nonce, boot counter, session number), so a repeat would
// let a replayed OPEN reproduce an old session key.
// Portable subset (tsc + asc; docs/portable-subset.md), over the `Flash` class of the bootloader
// (firmware/boot/flash.ts). No allocation after the constructor.
//
// Two pages, used append-only, one at a time:
//
//   word 0   base          the first value of this page
//   word 1   ~base         check: the header reads valid only as exactly what was written
//   word 2.. marks         one programmed word (0x00000000) per value handed out, in order
//
// value handed out by next() = base + number of marks before it; the mark is programmed BEFORE
// the value is returned. The current page is the valid one with the higher base (an erased page
// and a zero-filled one are both invalid: 0xFFFFFFFF ≠ ~0xFFFFFFFF, 0 ≠ ~0). When the current
// page is full: (1) erase the other page unless it is blank, (2) write its header with base =
// the current base + marks per page, (3) only then erase the full page.
//
// Why a cut never repeats a value:
//  - a header is programmed from 0xFF: every bit of (base, ~base) is either as intended or still
//    1, and an erase only sets bits; both words agree only when they hold exactly what was written
//    (a torn header is invalid, never a different base);
//  - a torn mark is a programmed word (some bit 0): counted, so its value is skipped; a mark whose
//    program did not start reads erased and is written again — its value was never returned;
//  - only a page that is not current is ever erased, and it is erased only after the other page
//    holds a header whose base is above every value of the erased page: whatever a torn erase
//    leaves there (a header that survived, marks half gone) has the lower base and loses.
// Both pages invalid = a blank device: the counter starts at 0 on the first page.
import { readU32LE, writeU32LE } from '../../src/wire/bytes.ts';
import { ERR_BOOT_FLASH_IO } from '../../src/wire/errors.ts';
import { Flash } from '../boot/flash.ts';

/** next() could not persist a new value (flash error, or the counter is used up): open no session. */
export const BOOT_COUNTER_NONE: u32 = 0xffffffff;
/** Words of a page header (base, ~base). */
export const BOOT_COUNTER_HEADER_WORDS: i32 = 2;
const ERASED: u32 = 0xffffffff;

export class BootCounter {
  readonly flash: Flash;
  readonly pageA: i32;
  readonly pageB: i32;
  /** Values per page (page words - header). */
  readonly perPage: i32;
  /** Positive code of the last failure (ERR_BOOT_FLASH_IO), 0 if none. */
  lastError: i32 = 0;
  /** The last value next() returned (BOOT_COUNTER_NONE before the first). */
  last: u32 = BOOT_COUNTER_NONE;
  private loaded: bool = false;
  /** Current page and its state. */
  private cur: i32 = 0;
  private base: u32 = 0;
  private marks: i32 = 0;
  private readonly w: Uint8Array = new Uint8Array(8);

  /** Two distinct pages of `flash` (page indices), each at least 16 bytes (2 header words + 2 marks). */
  constructor(flash: Flash, pageA: i32, pageB: i32) {
    this.flash = flash;
    this.pageA = pageA;
    this.pageB = pageB;
    this.perPage = ((flash.pageBytes >> 2) - BOOT_COUNTER_HEADER_WORDS);
  }

  /**
   * Take the next value: a mark is programmed first, then the value returned, so a value is
   * returned at most once across any number of resets and power cuts. BOOT_COUNTER_NONE when the
   * flash fails or the counter is used up (lastError says which: ERR_BOOT_FLASH_IO or 0).
   */
  next(): u32 {
    if (this.perPage < 2 || this.pageA == this.pageB) return this.fail(ERR_BOOT_FLASH_IO);
    if (!this.loaded && !this.load()) return BOOT_COUNTER_NONE;
    if (this.marks >= this.perPage && !this.switchPage()) return BOOT_COUNTER_NONE;
    const v: u32 = (this.base + <u32>this.marks) >>> 0;
    if (v == BOOT_COUNTER_NONE) return this.fail(0);
    const w = this.w;
    writeU32LE(w, 0, 0);
    const addr = this.cur * this.flash.pageBytes + (BOOT_COUNTER_HEADER_WORDS + this.marks) * 4;
    // Counted before the write: if the write fails half-way, the word may be programmed already.
    this.marks++;
    if (this.flash.write(addr, w, 0, 4) < 0) return this.fail(ERR_BOOT_FLASH_IO);
    this.last = v;
    return v;
  }

  private fail(code: i32): u32 {
    this.lastError = code;
    this.loaded = false; // read the flash again next time
    return BOOT_COUNTER_NONE;
  }

  /** Word `i` of page `page`, or ERASED when the flash cannot be read (treated as blank: never higher). */
  private word(page: i32, i: i32): u32 {
    if (this.flash.read(page * this.flash.pageBytes + i * 4, this.w, 0, 4) < 0) {
      this.lastError = ERR_BOOT_FLASH_IO;
      return ERASED;
    }
    return readU32LE(this.w, 0);
  }

  private valid(page: i32): bool {
    const b = this.word(page, 0);
    return this.word(page, 1) == ((~b) >>> 0);
  }

  private blank(page: i32): bool {
    const n = this.flash.pageBytes >> 2;
    for (let i = 0; i < n; i++) if (this.word(page, i) != ERASED) return false;
    return true;
  }

  /** Program page's header (the page is erased). */
  private writeHeader(page: i32, base: u32): bool {
    const w = this.w;
    writeU32LE(w, 0, base);
    writeU32LE(w, 4, (~base) >>> 0);
    return this.flash.write(page * this.flash.pageBytes, w, 0, 8) >= 0;
  }

  private load(): bool {
    const a = this.pageA;
    const b = this.pageB;
    this.lastError = 0;
    const va = this.valid(a);
    const vb = this.valid(b);
    // A page that cannot be read is not taken for a blank one (that would start again at 0).
    if (this.lastError != 0) return false;
    if (!va && !vb) {
      // A blank device (or one whose counter pages were never written): start at 0 on page A.
      if (!this.blank(a) && this.flash.erase(a) < 0) {
        this.fail(ERR_BOOT_FLASH_IO);
        return false;
      }
      if (!this.writeHeader(a, 0)) {
        this.fail(ERR_BOOT_FLASH_IO);
        return false;
      }
      this.cur = a;
      this.base = 0;
    } else {
      const ba = va ? this.word(a, 0) : 0;
      const bb = vb ? this.word(b, 0) : 0;
      this.cur = va && (!vb || ba >= bb) ? a : b;
      this.base = this.cur == a ? ba : bb;
    }
    // Marks are appended in order: count up to the first erased word. A torn mark counts.
    let m = 0;
    while (m < this.perPage && this.word(this.cur, BOOT_COUNTER_HEADER_WORDS + m) != ERASED) m++;
    if (this.lastError != 0) return false;
    this.marks = m;
    this.loaded = true;
    return true;
  }

  /** The current page is full: continue on the other one (see the header comment for the order). */
  private switchPage(): bool {
    const full = this.cur;
    const other = full == this.pageA ? this.pageB : this.pageA;
    const per: u32 = <u32>this.perPage;
    // The new page's values run to newBase + per - 1, which must stay below BOOT_COUNTER_NONE.
    if (this.base > BOOT_COUNTER_NONE - 2 * per) {
      this.fail(0);
      return false;
    }
    const newBase: u32 = (this.base + per) >>> 0;
    if (!this.blank(other) && this.flash.erase(other) < 0) {
      this.fail(ERR_BOOT_FLASH_IO);
      return false;
    }
    if (!this.writeHeader(other, newBase)) {
      this.fail(ERR_BOOT_FLASH_IO);
      return false;
    }
    this.cur = other;
    this.base = newBase;
    this.marks = 0;
    // The full page is no longer needed; a failure here is harmless (erased again before reuse).
    this.flash.erase(full);
    return true;
  }
}
