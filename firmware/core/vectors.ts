// AssemblyScript entry for the portable-core vector tests (test/portable/wasm-vectors.test.ts).
// Compiled by asc only (target `core` in asconfig.json, via scripts/build-wasm.mjs), together with
// vectors-framing.ts and the generated build/as-gen/codec-exports.ts.
//
// Calling convention: the host copies input into [inPtr(), inPtr() + ioBytes()), calls an export
// with lengths/offsets, and reads output from [outPtr(), ...). Byte counts come back as i32
// (negative = -error code); u32 results arrive in JS as signed numbers (`>>> 0` on the host).
import { IN, OUT, IO_BYTES, headerFieldsToOut, setHeaderFields } from './io.ts';
import { Header, readHeader, writeHeader } from '../../src/wire/header.ts';

const HDR = new Header();

export function inPtr(): usize { return IN.dataStart; }
export function outPtr(): usize { return OUT.dataStart; }
export function ioBytes(): i32 { return IO_BYTES; }

/**
 * readHeader over a view of IN[0..bufLen) (so `available` -1 and truncation behave as for a
 * buffer of exactly that size; the view is a small allocation, acceptable in this test build).
 * On success writes kind, flags, channel, callId, keyLo, keyHi, length
 * as seven u32 LE words at OUT[0..28). Returns readHeader's result (20 or -code).
 */
export function headerRead(bufLen: i32, off: i32, available: i32, maxPayloadBytes: u32): i32 {
  const n = readHeader(IN.subarray(0, bufLen), off, available, maxPayloadBytes, HDR);
  if (n > 0) headerFieldsToOut(HDR);
  return n;
}

/** writeHeader into OUT at `off`; returns 20 or -code. */
export function headerWrite(kind: u32, flags: u32, channel: u32, callId: u32, keyLo: u32, keyHi: u32, length: u32, off: i32): i32 {
  setHeaderFields(HDR, kind, flags, channel, callId, keyLo, keyHi, length);
  return writeHeader(HDR, OUT, off);
}
