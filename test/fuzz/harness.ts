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
