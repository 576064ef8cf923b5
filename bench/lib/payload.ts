// Deterministic payloads (same PRNG and seeds as shared/bench-baseline/lib/common.mjs).

import { prng } from '../../test/helpers/prng.ts';
export { prng };

/** payload of n bytes, ~zeroFrac of them 0x00 (binary structs are zero-heavy) */
export function makePayload(n: number, zeroFrac = 0.15, seed = 42): Uint8Array {
  const r = prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() < zeroFrac ? 0 : 1 + Math.floor(r() * 255);
  return b;
}

export function bytesEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const hex = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
