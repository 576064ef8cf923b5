// The loops whose allocation is counted (bench/alloc.bench.ts and test/bench/alloc.test.ts).
// Plain module functions, monomorphic, integer sinks (a double sink could box in unoptimised code).
import type { CellCodec, CellFraming } from './cell.ts';

/** n × (encode + decode) of a message into one reused buffer and output object */
export function codecRoundTrips(codec: CellCodec, msg: { id: number }, buf: Uint8Array, out: any, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    msg.id = i & 0x3fffffff;
    const len = codec.encode(msg as any, buf, 0);
    const d = codec.decode(buf, 0, out, len);
    s = (s + d.id + d.samples[3] + len) | 0;
  }
  return s;
}

/**
 * Call `loop` a few times with a small n (used before measureGc for the framing loops). V8
 * allocates a function's feedback vector only after several calls: a loop function entered just
 * for the two warm-up runs is optimised on-stack (OSR) with no feedback for its prologue (e.g.
 * `const { cobsEncode } = f`), so the measured call deoptimises at entry and recompiles — ~150 KiB
 * of code and old-space growth inside the measured loop that has nothing to do with the code
 * under test.
 */
export function primeLoop(loop: (n: number) => number, calls = 16, n = 64): number {
  let s = 0;
  for (let i = 0; i < calls; i++) s = (s + loop(n)) | 0;
  return s;
}

/** The allocation-free CRC of src/framing/crc32c.ts: CRC-32C of buf[off..off+len) stored LE at dst[dstOff..+4); returns 4. */
export type Crc32cWrite = (buf: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number) => number;

/**
 * n × (COBS encode + CRC-32C + COBS decode) with the primitives, the CRC written into a buffer
 * (crc32cWrite): the hot path of code that frames by hand
 */
export function cobsCrcWriteLoop(f: CellFraming, crc32cWrite: Crc32cWrite, p: Uint8Array, enc: Uint8Array, dec: Uint8Array, crcOut: Uint8Array, n: number): number {
  const { cobsEncode, cobsDecode } = f;
  const size = p.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const w = crc32cWrite(p, 0, size, crcOut, 0);
    const l = cobsEncode(p, enc, 0, size, 0);
    s = (s + cobsDecode(enc, dec, 0, l, 0) + w + (crcOut[0]! & 1)) | 0;
  }
  return s;
}

/** n × (COBS encode + crc32c() + COBS decode): crc32c returns a u32, boxed when ≥ 2³¹ and not inlined (info) */
export function cobsCrcLoop(f: CellFraming, p: Uint8Array, enc: Uint8Array, dec: Uint8Array, n: number): number {
  const { cobsEncode, cobsDecode, crc32c } = f;
  const size = p.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const c = crc32c(p, 0, size);
    const l = cobsEncode(p, enc, 0, size, 0);
    s = (s + cobsDecode(enc, dec, 0, l, 0) + (c & 1)) | 0;
  }
  return s;
}

/** n × frameEncode (CRC-32C + COBS + delimiter) */
export function frameEncodeLoop(f: CellFraming, p: Uint8Array, fb: Uint8Array, n: number): number {
  const frameEncode = f.frameEncode!;
  const size = p.length;
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + frameEncode(p, 0, size, fb, 0)) | 0;
  return s;
}

/** n × (frameEncode + Deframer.feed + next); returns the number of frames delivered */
export function frameDeframeLoop(f: CellFraming, deframer: { feed(b: Uint8Array, off: number, len: number): void; next(): number }, p: Uint8Array, fb: Uint8Array, n: number): number {
  const frameEncode = f.frameEncode!;
  const size = p.length;
  let frames = 0;
  for (let i = 0; i < n; i++) {
    const m = frameEncode(p, 0, size, fb, 0);
    deframer.feed(fb, 0, m);
    if (deframer.next() === size) frames++;
  }
  return frames;
}

/** n × (encode + decode), alternating between two prepared messages (no stores in the loop) */
export function codecRoundTripsAlternating(codec: CellCodec, msgs: readonly [object, object], buf: Uint8Array, out: any, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const len = codec.encode(msgs[i & 1], buf, 0);
    const d = codec.decode(buf, 0, out, len);
    s = (s + (d.id & 7) + d.samples[3] + len) | 0;
  }
  return s;
}
