// The fuzz harness behind `npm run fuzz` and test/fuzz/fuzz.test.ts (docs/wire-format.md §6:
// bad input is a typed error, counted, never a crash or a hang).
//
// Each iteration builds a byte stream — a valid framed request carrying a Reading, mutated (bit
// flips, byte replacements, insertions, deletions, truncation) or replaced by random bytes — and
// pushes it through the whole receive path: Deframer (COBS + CRC-32C) → readHeader → codec
// tryDecode. Every outcome is counted by error code. Any exception or an unknown code is a failure.
// The CRC makes mutated frames fail early, so a second stream decodes mutated payloads directly
// (as a reliable, length-framed link would hand them over) to reach deep into the codec.
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { Header, HEADER_BYTES, KIND_REQUEST, readHeader, writeHeader } from '../../src/wire/header.ts';
import { errorInfo } from '../../src/wire/error-names.ts';
import { codec } from '../../src/codec/index.ts';
import { Everything as EverythingType, Reading as ReadingType } from '../vectors/schemas.ts';
import { Prng } from '../helpers/prng.ts';
// Target "secure-aead-diff" (runSecureAeadDiff, at the end of this file).
import { chacha20poly1305, hchacha } from '@noble/ciphers/chacha.js';
import { aeadOpen, aeadSeal } from '../../src/secure/aead.ts';
import { hchacha20 } from '../../src/secure/chacha20.ts';

export interface FuzzReport {
  iterations: number;
  seed: number;
  framesDelivered: number;
  /** Deframer counters summed over all streams. */
  deframer: { ok: number; crc: number; cobs: number; oversize: number; tooShort: number };
  /** Outcome of readHeader on delivered frames: 'ok' or the error name. */
  header: Record<string, number>;
  /** Outcome of codec decoding: 'ok' or the error name. */
  codec: Record<string, number>;
  /** Exceptions or unknown codes: must stay empty. */
  failures: string[];
}

const MAX_PAYLOAD = 1024;
const Reading = codec(ReadingType);
const Everything = codec(EverythingType);

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function outcome(n: number): string {
  if (n >= 0) return 'ok';
  const info = errorInfo(-n);
  return info.name.startsWith('Unknown') ? `UNKNOWN(${-n})` : info.name;
}

/** Run `iterations` fuzz cases from `seed`. `onProgress` is called every 1/100 of the run. */
export function runFuzz(iterations: number, seed: number, onProgress?: (done: number) => void): FuzzReport {
  const rng = new Prng(seed);
  const report: FuzzReport = {
    iterations, seed, framesDelivered: 0,
    deframer: { ok: 0, crc: 0, cobs: 0, oversize: 0, tooShort: 0 },
    header: {}, codec: {}, failures: [],
  };

  // A valid request frame to mutate: header + Reading payload.
  const reading = Reading.create();
  reading.id = 7; reading.ts = 1732200000.5; reading.temp = 21.5; reading.flags = 3; reading.name = 'probe-α';
  for (let i = 0; i < 8; i++) reading.samples[i] = i * 1000 - 3000;
  const plain = new Uint8Array(HEADER_BYTES + Reading.maxSize);
  const payloadLen = Reading.encode(reading, plain, HEADER_BYTES);
  const h = new Header();
  h.kind = KIND_REQUEST; h.callId = 1; h.keyLo = 0x11223344; h.keyHi = 0x55667788; h.length = payloadLen;
  writeHeader(h, plain, 0);
  const plainLen = HEADER_BYTES + payloadLen;
  const framed = new Uint8Array(frameMaxEncodedBytes(plainLen));
  const framedLen = frameEncode(plain, 0, plainLen, framed, 0);

  const mutated = new Uint8Array(plainLen);
  const deframer = new Deframer(HEADER_BYTES + MAX_PAYLOAD);
  const stream = new Uint8Array(4 * framedLen + 256);
  const header = new Header();
  const outR = Reading.create();
  const outE = Everything.create();
  const direct = new Uint8Array(Everything.maxSize + 64);
  const step = Math.max(1, Math.floor(iterations / 100));

  for (let it = 0; it < iterations; it++) {
    try {
      // 1) A stream: [valid frame] [mutated or random bytes] [valid frame], split in two chunks.
      let len = 0;
      stream.set(framed.subarray(0, framedLen), len); len += framedLen;
      const mode = rng.below(5);
      if (mode === 4) {
        // Mutate header and payload BEFORE framing: the CRC is then valid, so the damage reaches
        // header validation and the codec through the deframer.
        mutated.set(plain.subarray(0, plainLen));
        const edits = 1 + rng.below(3);
        for (let e = 0; e < edits; e++) mutated[rng.below(plainLen)] = rng.next() & 0xff;
        const n = frameEncode(mutated, 0, plainLen, stream, len);
        if (n > 0) len += n;
      } else if (mode === 0) {
        const n = rng.below(framedLen * 2);
        rng.fill(stream, len, n); len += n;
      } else {
        stream.set(framed.subarray(0, framedLen), len);
        const start = len;
        len += framedLen;
        const edits = 1 + rng.below(4);
        for (let e = 0; e < edits; e++) {
          const at = start + rng.below(framedLen);
          if (mode === 1) stream[at] ^= 1 << rng.below(8);
          else if (mode === 2) stream[at] = rng.next() & 0xff;
          else len = start + rng.below(framedLen); // truncation
        }
      }
      stream.set(framed.subarray(0, framedLen), len); len += framedLen;
      const cut = rng.below(len + 1);
      deframer.feed(stream, 0, cut);
      drain(deframer, header, outR, report);
      deframer.feed(stream, cut, len - cut);
      drain(deframer, header, outR, report);

      // 2) Direct codec decode of a mutated payload (no CRC to stop it).
      const which = rng.below(2);
      let n: number;
      if (which === 0) {
        direct.set(plain.subarray(HEADER_BYTES, plainLen), 0);
        n = payloadLen;
      } else {
        n = rng.below(Everything.maxSize + 1);
        rng.fill(direct, 0, n);
      }
      const flips = rng.below(4);
      for (let f = 0; f < flips && n > 0; f++) direct[rng.below(n)] = rng.next() & 0xff;
      const r = which === 0 ? Reading.tryDecode(direct, 0, n, outR) : Everything.tryDecode(direct, 0, n, outE);
      const o = outcome(r);
      if (o.startsWith('UNKNOWN')) report.failures.push(`codec returned ${o} at iteration ${it}`);
      bump(report.codec, o);
    } catch (err) {
      report.failures.push(`iteration ${it}: ${(err as Error).stack ?? String(err)}`);
      if (report.failures.length > 20) break;
    }
    if (onProgress !== undefined && (it + 1) % step === 0) onProgress(it + 1);
  }
  report.deframer.ok = deframer.framesOk;
  report.deframer.crc = deframer.errCrc;
  report.deframer.cobs = deframer.errCobs;
  report.deframer.oversize = deframer.errOversize;
  report.deframer.tooShort = deframer.errTooShort;
  return report;
}

function drain(deframer: Deframer, header: Header, out: ReturnType<typeof Reading.create>, report: FuzzReport): void {
  for (;;) {
    const n = deframer.next();
    if (n <= 0) return;
    report.framesDelivered++;
    const hr = readHeader(deframer.frame, 0, n, MAX_PAYLOAD, header);
    const ho = outcome(hr);
    bump(report.header, ho);
    if (ho.startsWith('UNKNOWN')) report.failures.push(`readHeader returned ${ho}`);
    if (hr < 0) continue;
    // A length that disagrees with the frame size is what a link reports as Malformed.
    if (HEADER_BYTES + header.length !== n) { bump(report.codec, 'LengthMismatch'); continue; }
    const r = Reading.tryDecode(deframer.frame, HEADER_BYTES, n, out);
    const o = outcome(r);
    bump(report.codec, o);
    if (o.startsWith('UNKNOWN')) report.failures.push(`codec returned ${o}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Target "secure-aead-diff": src/secure (ChaCha20-Poly1305 with a truncated tag, HChaCha20) against
// @noble/ciphers, differential. Each case: random key and nonce, AD of 0..64 bytes and plaintext of
// 0..600 (half the time a length at a block edge), a tag of 1..16 bytes, AD / plaintext / tag in a
// random order with random gaps inside one buffer of random bytes. Seal must give noble's
// ciphertext and the prefix of its tag and touch nothing else; open must give the plaintext back,
// and open noble's own output; a flipped bit of AD, ciphertext or tag must fail with -800 and leave
// the buffer as it was. Plus one HChaCha20 per case against noble's hchacha. npm test runs 2 000
// cases (test/secure/aead.test.ts), npm run fuzz 100 000.

export interface SecureDiffReport {
  iterations: number;
  seed: number;
  /** Plaintext bytes sealed and opened. */
  bytes: number;
  /** Tampered frames refused with -ERR_SECURE_BAD_TAG (800). */
  rejected: number;
  /** Mismatches or exceptions: must stay empty. */
  failures: string[];
}

const SECURE_EDGES = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256, 257, 511, 512, 513, 599, 600];

function secureLen(rng: Prng, max: number): number {
  if (rng.below(2) === 0) {
    const edges = SECURE_EDGES.filter((e) => e <= max);
    return edges[rng.below(edges.length)]!;
  }
  return rng.below(max + 1);
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Run `iterations` differential cases of src/secure against @noble/ciphers from `seed`. */
export function runSecureAeadDiff(iterations: number, seed: number, onProgress?: (done: number) => void): SecureDiffReport {
  const rng = new Prng(seed);
  const report: SecureDiffReport = { iterations, seed, bytes: 0, rejected: 0, failures: [] };
  const key = new Uint8Array(32), nonce = new Uint8Array(12), hin = new Uint8Array(16), sub = new Uint8Array(32);
  const sigma = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  const k32 = new Uint32Array(8), i32 = new Uint32Array(4), o32 = new Uint32Array(8);
  const buf = new Uint8Array(64 + 600 + 16 + 3 * 8);
  const before = new Uint8Array(buf.length);
  const step = Math.max(1, Math.floor(iterations / 100));
  const fail = (it: number, what: string, detail: string): void => {
    report.failures.push(`secure-aead-diff case ${it} (seed ${seed}): ${what}${detail ? `: ${detail}` : ''}`);
  };
  for (let it = 0; it < iterations && report.failures.length <= 20; it++) {
    try {
      rng.fill(key); rng.fill(nonce);
      const adLen = secureLen(rng, 64), ptLen = secureLen(rng, 600);
      const pick = rng.below(3);
      const tagLen = pick === 0 ? 16 : pick === 1 ? 8 : 1 + rng.below(16);
      // AD, plaintext and tag in a random order, with gaps of 0..8 bytes, in a buffer of random bytes.
      const lens = [adLen, ptLen, tagLen], offs = [0, 0, 0];
      const order = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]][rng.below(6)]!;
      let at = rng.below(9);
      for (const which of order) { offs[which] = at; at += lens[which]! + rng.below(9); }
      const [adOff, ptOff, tagOff] = offs as [number, number, number];
      const n = at;
      rng.fill(buf, 0, n);
      const frame = buf.subarray(0, n);
      const ad = frame.slice(adOff, adOff + adLen), pt = frame.slice(ptOff, ptOff + ptLen);
      const expect = chacha20poly1305(key, nonce, ad).encrypt(pt); // ct | 16-byte tag
      before.set(frame);

      let r = aeadSeal(key, 0, nonce, 0, frame, adOff, adLen, ptOff, ptLen, tagOff, tagLen);
      if (r !== ptLen) { fail(it, 'seal returned', `${r}, expected ${ptLen}`); continue; }
      const want = before.slice(0, n);
      want.set(expect.subarray(0, ptLen), ptOff);
      want.set(expect.subarray(ptLen, ptLen + tagLen), tagOff);
      if (hexOf(frame) !== hexOf(want)) { fail(it, 'sealed buffer differs from noble (ciphertext, tag prefix, or a byte outside them)', `ad ${adLen} pt ${ptLen} tag ${tagLen}`); continue; }
      const sealed = frame.slice();

      // A flipped bit anywhere in AD, ciphertext or tag: refused, buffer untouched. With a tag under
      // 4 bytes a changed AD or ciphertext can match by chance (1 in 2^(8·tagLen)): there only the
      // tag itself is flipped, which never matches.
      const span = adLen + ptLen + tagLen;
      const bit = tagLen >= 4 ? rng.below(span * 8) : (adLen + ptLen) * 8 + rng.below(tagLen * 8);
      const byteAt = bit >> 3 < adLen ? adOff + (bit >> 3) : (bit >> 3) < adLen + ptLen ? ptOff + (bit >> 3) - adLen : tagOff + (bit >> 3) - adLen - ptLen;
      frame[byteAt] ^= 1 << (bit & 7);
      const tampered = frame.slice();
      r = aeadOpen(key, 0, nonce, 0, frame, adOff, adLen, ptOff, ptLen, tagOff, tagLen);
      if (r !== -800) { fail(it, 'tampered frame not refused', `returned ${r}, flipped byte ${byteAt}`); continue; }
      if (hexOf(frame) !== hexOf(tampered)) { fail(it, 'refused open changed the buffer', ''); continue; }
      report.rejected++;
      frame.set(sealed);

      // Open: the plaintext is back, the tag stays, nothing else changed.
      r = aeadOpen(key, 0, nonce, 0, frame, adOff, adLen, ptOff, ptLen, tagOff, tagLen);
      const opened = before.slice(0, n);
      opened.set(sealed.subarray(tagOff, tagOff + tagLen), tagOff);
      if (r !== ptLen || hexOf(frame) !== hexOf(opened)) { fail(it, 'open of our own seal', `returned ${r}`); continue; }
      // Noble's output (ciphertext and the prefix of its tag) opens too.
      frame.set(expect.subarray(0, ptLen), ptOff);
      frame.set(expect.subarray(ptLen, ptLen + tagLen), tagOff);
      r = aeadOpen(key, 0, nonce, 0, frame, adOff, adLen, ptOff, ptLen, tagOff, tagLen);
      if (r !== ptLen || hexOf(frame.subarray(ptOff, ptOff + ptLen)) !== hexOf(pt)) { fail(it, 'open of noble\'s output', `returned ${r}`); continue; }
      report.bytes += ptLen;

      // HChaCha20 against noble's word-level hchacha (little-endian words, as on every Node host).
      rng.fill(hin);
      for (let i = 0; i < 8; i++) k32[i] = (key[4 * i]! | (key[4 * i + 1]! << 8) | (key[4 * i + 2]! << 16) | (key[4 * i + 3]! << 24)) >>> 0;
      for (let i = 0; i < 4; i++) i32[i] = (hin[4 * i]! | (hin[4 * i + 1]! << 8) | (hin[4 * i + 2]! << 16) | (hin[4 * i + 3]! << 24)) >>> 0;
      hchacha(sigma, k32, i32, o32);
      if (hchacha20(key, 0, hin, 0, sub, 0) !== 32) { fail(it, 'hchacha20 refused valid ranges', ''); continue; }
      for (let i = 0; i < 32; i++) {
        if (sub[i] !== ((o32[i >> 2]! >>> ((i & 3) * 8)) & 0xff)) { fail(it, 'hchacha20 differs from noble', hexOf(hin)); break; }
      }
    } catch (err) {
      fail(it, 'exception', (err as Error).stack ?? String(err));
    }
    if (onProgress !== undefined && (it + 1) % step === 0) onProgress(it + 1);
  }
  return report;
}
