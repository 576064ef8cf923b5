// test/vectors/secure-aead.json (RFC 8439 §2.3.2–§2.8.2 and A.1–A.5; HChaCha20 of
// draft-irtf-cfrg-xchacha-03 §2.2.1), typed, for every implementation's tests: the portable code
// in tsc (test/secure/aead.test.ts) and asc (test/portable/secure-wasm.test.ts), the device's C
// (test/firmware/cell-aead-c.test.ts). Hex strings throughout.
import { readFileSync } from 'node:fs';

export interface AeadVectors {
  block: { name: string; key: string; nonce: string; counter: number; out: string }[];
  encrypt: { name: string; key: string; nonce: string; counter: number; plaintext: string; ciphertext: string }[];
  poly1305: { name: string; key: string; msg: string; tag: string }[];
  keygen: { name: string; key: string; nonce: string; otk: string }[];
  aead: { name: string; key: string; nonce: string; ad: string; plaintext: string; ciphertext: string; tag: string }[];
  hchacha20: { name: string; key: string; input: string; out: string }[];
}

export function loadAeadVectors(): AeadVectors {
  return JSON.parse(readFileSync(new URL('../vectors/secure-aead.json', import.meta.url), 'utf8')) as AeadVectors;
}
