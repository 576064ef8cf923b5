// Replay protection for sealed frames (docs/security.md §4 "Counters and replay").
// Portable core: compiled by tsc and asc; no allocation.
//
// Every sealed frame carries its sender's u32 counter. A receiver accepts a counter once:
//  - size 0, strict: only counters above the highest accepted (byte streams deliver in order);
//  - size 64, window: counters above the highest, or up to 63 below it and not seen yet, as in
//    RFC 4303 §3.4.3 (links that reorder: CAN priorities, retransmissions). The 64-bit bitmap is
//    two u32 words because tsc has no u64.
// `check` runs before the tag is verified (a cheap refusal), `mark` only after it verified, so a
// forged frame can never move the window.

export const REPLAY_STRICT: i32 = 0;
export const REPLAY_WINDOW_64: i32 = 64;

export class ReplayWindow {
  /** REPLAY_STRICT or REPLAY_WINDOW_64. */
  size: i32 = REPLAY_STRICT;
  /** Whether any counter has been accepted since the last reset. */
  any: bool = false;
  /** Highest counter accepted. */
  top: u32 = 0;
  /** Bit d of (hi:lo) set = counter top - d was accepted (bit 0 = top itself). */
  lo: u32 = 0;
  hi: u32 = 0;

  reset(): void {
    this.any = false;
    this.top = 0;
    this.lo = 0;
    this.hi = 0;
  }

  /** Would `c` be accepted? (No state change.) */
  check(c: u32): bool {
    if (!this.any || c > this.top) return true;
    if (this.size == REPLAY_STRICT) return false;
    const d: u32 = this.top - c;
    if (d >= 64) return false;
    const bit: u32 = d < 32 ? (this.lo >>> d) & 1 : (this.hi >>> (d - 32)) & 1;
    return bit == 0;
  }

  /** Record `c` as accepted (call only after `check(c)` and a verified tag). */
  mark(c: u32): void {
    if (!this.any) {
      this.any = true;
      this.top = c;
      this.lo = 1;
      this.hi = 0;
      return;
    }
    if (c > this.top) {
      const shift: u32 = c - this.top;
      if (shift >= 64) {
        this.lo = 0;
        this.hi = 0;
      } else if (shift >= 32) {
        // JS and wasm both take shift counts mod 32, so a shift by 32 is written out.
        this.hi = shift == 32 ? this.lo : (this.lo << (shift - 32)) >>> 0;
        this.lo = 0;
      } else {
        this.hi = ((this.hi << shift) | (this.lo >>> (32 - shift))) >>> 0;
        this.lo = (this.lo << shift) >>> 0;
      }
      this.lo = (this.lo | 1) >>> 0;
      this.top = c;
      return;
    }
    const d: u32 = this.top - c;
    if (d >= 64) return;
    if (d < 32) this.lo = (this.lo | (<u32>1 << d)) >>> 0;
    else this.hi = (this.hi | (<u32>1 << (d - 32))) >>> 0;
  }
}
