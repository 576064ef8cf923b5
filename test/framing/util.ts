// Shared helpers for the framing tests: a fixed-seed PRNG, payload makers, bytewise reference
// implementations (independent of src/framing) and the golden-vector loader.
import { readFileSync } from 'node:fs';

export interface VectorCase { name: string; input: string; hex: string }
export interface VectorInvalid { name: string; hex: string; error: number }
export interface VectorFile { description: string; cases: VectorCase[]; invalid: VectorInvalid[] }

export function loadVectors(name: 'cobs' | 'crc32c' | 'frame'): VectorFile {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}.json`, import.meta.url), 'utf8')) as VectorFile;
}

export { prng } from '../helpers/prng.ts';

/** n random bytes; each byte is 0x00 with probability zeroFrac, otherwise 1..255. */
export function randomBytes(rnd: () => number, n: number, zeroFrac: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rnd() < zeroFrac ? 0 : 1 + Math.floor(rnd() * 255);
  return b;
}

/** Lengths 0..1100 with every COBS block boundary of interest, plus a random sample. */
export function testLengths(rnd: () => number): number[] {
  const set = new Set<number>([0, 1, 2, 3, 4, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 250, 251, 252, 253, 254, 255, 256,
    507, 508, 509, 510, 762, 763, 1016, 1017, 1100]);
  while (set.size < 90) set.add(Math.floor(rnd() * 1101));
  return [...set].sort((a, b) => a - b);
}

export function crc32cRef(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) {
    c ^= buf[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Textbook COBS decode; null if malformed. */
export function cobsDecodeRef(enc: Uint8Array): Uint8Array | null {
  const out: number[] = [];
  let i = 0;
  while (i < enc.length) {
    const code = enc[i++]!;
    if (code === 0 || i + code - 1 > enc.length) return null;
    for (let k = 0; k < code - 1; k++) {
      if (enc[i] === 0) return null;
      out.push(enc[i++]!);
    }
    if (code !== 0xff && i < enc.length) out.push(0);
  }
  return Uint8Array.from(out);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
