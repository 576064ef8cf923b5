// Deterministic pseudo-random numbers for tests, fuzzing and benchmark payloads: same seed, same
// sequence on every machine and Node version. mulberry32 — small, fast, and the generator
// ../shared/bench-baseline uses, so benchmark payloads match the baseline's.

/** A function giving floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same generator with integer helpers, for fuzzing. */
export class Prng {
  private readonly float: () => number;
  constructor(seed: number) {
    this.float = prng(seed);
  }
  /** Next u32. */
  next(): number {
    return (this.float() * 4294967296) >>> 0;
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
  /** Fill `buf[off, off+len)` with random bytes. */
  fill(buf: Uint8Array, off = 0, len = buf.length - off): void {
    for (let i = 0; i < len; i++) buf[off + i] = this.next() & 0xff;
  }
}
