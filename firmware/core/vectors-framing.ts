// AssemblyScript entry (second file of target `core`): COBS, CRC-32C, frame encoder and deframer
// over the static I/O area of io.ts. See vectors.ts for the calling convention.
import { IN, OUT } from './io.ts';
import { cobsMaxEncodedBytes, cobsEncode, cobsDecode } from '../../src/framing/cobs.ts';
import { crc32c, crc32cUpdate, crc32cSmall } from '../../src/framing/crc32c.ts';
import { frameMaxEncodedBytes, frameEncode, frameDecode } from '../../src/framing/frame.ts';
import { Deframer } from '../../src/framing/deframer.ts';

export function cobsMaxEncoded(n: i32): i32 { return cobsMaxEncodedBytes(n); }
export function frameMaxEncoded(n: i32): i32 { return frameMaxEncodedBytes(n); }

/** COBS-encode IN[0..len) into OUT[0..); returns bytes written or -code. */
export function cobsEnc(len: i32): i32 { return cobsEncode(IN, OUT, 0, len, 0); }
/** COBS-decode IN[0..len) into OUT[0..); returns bytes written or -code. */
export function cobsDec(len: i32): i32 { return cobsDecode(IN, OUT, 0, len, 0); }

/** CRC-32C of IN[off..off+len). */
export function crc(off: i32, len: i32): u32 { return crc32c(IN, off, len); }
export function crcUpdate(state: u32, off: i32, len: i32): u32 { return crc32cUpdate(state, IN, off, len); }
export function crcSmall(off: i32, len: i32): u32 { return crc32cSmall(IN, off, len); }

/** frameEncode(IN[0..len)) into OUT[0..); returns bytes written or -code. */
export function frameEnc(len: i32): i32 { return frameEncode(IN, 0, len, OUT, 0); }
/** frameEncode(IN[0..len)) into a view of OUT[0..cap) (test build: the view allocates). */
export function frameEncCap(len: i32, cap: i32): i32 { return frameEncode(IN, 0, len, OUT.subarray(0, cap), 0); }
/** frameDecode(IN[0..len)) into OUT[0..); returns payload bytes or -code. */
export function frameDec(len: i32): i32 { return frameDecode(IN, 0, len, OUT, 0); }
/** cobsEncode(IN[0..len)) into a view of OUT[0..cap). */
export function cobsEncCap(len: i32, cap: i32): i32 { return cobsEncode(IN, OUT.subarray(0, cap), 0, len, 0); }
/** cobsDecode(IN[0..len)) into a view of OUT[0..cap). */
export function cobsDecCap(len: i32, cap: i32): i32 { return cobsDecode(IN, OUT.subarray(0, cap), 0, len, 0); }

// One deframer at a time. deframerNew allocates (the stub runtime never frees): tests create a
// handful, never one per input byte.
let DF: Deframer = new Deframer(256);

export function deframerNew(maxFrameBytes: i32): void { DF = new Deframer(maxFrameBytes); }
/** Feed IN[off..off+len) to the deframer. */
export function deframerFeed(off: i32, len: i32): void { DF.feed(IN, off, len); }
/** Next frame: copies it to OUT[0..n) and returns n; 0 = need more input. */
export function deframerNext(): i32 {
  const n = DF.next();
  if (n > 0) {
    const f = DF.frame;
    for (let i = 0; i < n; i++) OUT[i] = f[i];
  }
  return n;
}
/** Counters: 0 framesOk, 1 errCobs, 2 errCrc, 3 errOversize, 4 errTooShort, 5 bytesDiscarded, 6 lastError. */
export function deframerCounter(which: i32): i32 {
  switch (which) {
    case 0: return <i32>DF.framesOk;
    case 1: return <i32>DF.errCobs;
    case 2: return <i32>DF.errCrc;
    case 3: return <i32>DF.errOversize;
    case 4: return <i32>DF.errTooShort;
    case 5: return <i32>DF.bytesDiscarded;
    case 6: return <i32>DF.lastError;
  }
  return -1;
}
