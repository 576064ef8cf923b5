// SHA-256 (FIPS 180-4) for the bootloader: the hash of the whole image (docs/flash.md §5).
// Portable subset (tsc + asc): u32 arithmetic written so JS and wasm agree (`>>> 0` after every
// sum and rotation). Allocates its two tables in the constructor only; incremental, so the
// bootloader hashes a slot page by page without holding the image in RAM.
// Cost: ~64 rounds per 64-byte block; on a 25 MHz Cortex-M3 roughly 1 ms per KiB.

const K_INIT: u32[] = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

function rotr(x: u32, n: u32): u32 {
  return ((x >>> n) | (x << (32 - n))) >>> 0;
}

export class Sha256 {
  private readonly k: Uint32Array = new Uint32Array(64);
  private readonly w: Uint32Array = new Uint32Array(64);
  private readonly h: Uint32Array = new Uint32Array(8);
  private readonly block: Uint8Array = new Uint8Array(64);
  private blockLen: i32 = 0;
  /** Bytes hashed so far (images are < 4 GiB: a u32 is enough; the length field is 64-bit). */
  private total: u32 = 0;

  constructor() {
    for (let i = 0; i < 64; i++) this.k[i] = K_INIT[i];
    this.init();
  }

  init(): void {
    const h = this.h;
    h[0] = 0x6a09e667; h[1] = 0xbb67ae85; h[2] = 0x3c6ef372; h[3] = 0xa54ff53a;
    h[4] = 0x510e527f; h[5] = 0x9b05688c; h[6] = 0x1f83d9ab; h[7] = 0x5be0cd19;
    this.blockLen = 0;
    this.total = 0;
  }

  private compress(): void {
    const w = this.w;
    const b = this.block;
    const k = this.k;
    for (let i = 0; i < 16; i++) {
      w[i] = (((<u32>b[4 * i]) << 24) | ((<u32>b[4 * i + 1]) << 16) | ((<u32>b[4 * i + 2]) << 8) | (<u32>b[4 * i + 3])) >>> 0;
    }
    for (let i = 16; i < 64; i++) {
      const x: u32 = w[i - 15];
      const y: u32 = w[i - 2];
      const s0: u32 = (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) >>> 0;
      const s1: u32 = (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)) >>> 0;
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    const h = this.h;
    let a: u32 = h[0]; let bb: u32 = h[1]; let c: u32 = h[2]; let d: u32 = h[3];
    let e: u32 = h[4]; let f: u32 = h[5]; let g: u32 = h[6]; let hh: u32 = h[7];
    for (let i = 0; i < 64; i++) {
      const S1: u32 = (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) >>> 0;
      const ch: u32 = ((e & f) ^ ((~e) & g)) >>> 0;
      const t1: u32 = (hh + S1 + ch + k[i] + w[i]) >>> 0;
      const S0: u32 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) >>> 0;
      const maj: u32 = ((a & bb) ^ (a & c) ^ (bb & c)) >>> 0;
      const t2: u32 = (S0 + maj) >>> 0;
      hh = g; g = f; f = e;
      e = (d + t1) >>> 0;
      d = c; c = bb; bb = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0] + a) >>> 0; h[1] = (h[1] + bb) >>> 0; h[2] = (h[2] + c) >>> 0; h[3] = (h[3] + d) >>> 0;
    h[4] = (h[4] + e) >>> 0; h[5] = (h[5] + f) >>> 0; h[6] = (h[6] + g) >>> 0; h[7] = (h[7] + hh) >>> 0;
  }

  /** Hash buf[off..off+len). The caller checks the range. */
  update(buf: Uint8Array, off: i32, len: i32): void {
    this.total = (this.total + <u32>len) >>> 0;
    for (let i = 0; i < len; i++) {
      this.block[this.blockLen] = buf[off + i];
      this.blockLen++;
      if (this.blockLen == 64) {
        this.compress();
        this.blockLen = 0;
      }
    }
  }

  /** Write the 32-byte digest at out[off..); the hash must be init()ed again before reuse. */
  final(out: Uint8Array, off: i32): void {
    const bits: u32 = (this.total << 3) >>> 0;
    const bitsHi: u32 = this.total >>> 29;
    this.block[this.blockLen] = 0x80;
    this.blockLen++;
    if (this.blockLen > 56) {
      while (this.blockLen < 64) { this.block[this.blockLen] = 0; this.blockLen++; }
      this.compress();
      this.blockLen = 0;
    }
    while (this.blockLen < 56) { this.block[this.blockLen] = 0; this.blockLen++; }
    this.block[56] = 0; this.block[57] = 0; this.block[58] = 0;
    this.block[59] = <u8>(bitsHi & 0xff);
    this.block[60] = <u8>((bits >>> 24) & 0xff);
    this.block[61] = <u8>((bits >>> 16) & 0xff);
    this.block[62] = <u8>((bits >>> 8) & 0xff);
    this.block[63] = <u8>(bits & 0xff);
    this.compress();
    for (let i = 0; i < 8; i++) {
      const v: u32 = this.h[i];
      out[off + 4 * i] = <u8>((v >>> 24) & 0xff);
      out[off + 4 * i + 1] = <u8>((v >>> 16) & 0xff);
      out[off + 4 * i + 2] = <u8>((v >>> 8) & 0xff);
      out[off + 4 * i + 3] = <u8>(v & 0xff);
    }
  }
}
