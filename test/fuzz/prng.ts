// A small deterministic PRNG (xorshift32) for fuzzing and randomized tests: same seed, same bytes,
// on every machine and Node version.
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = (seed >>> 0) || 0x9e3779b9;
  }
  /** Next u32. */
  next(): number {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
  /** Fill `buf[off, off+len)` with random bytes. */
  fill(buf: Uint8Array, off = 0, len = buf.length - off): void {
    for (let i = 0; i < len; i++) buf[off + i] = this.next() & 0xff;
  }
}
