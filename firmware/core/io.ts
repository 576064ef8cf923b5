// Static I/O area shared by the AssemblyScript test entries (firmware/core/vectors*.ts).
// AssemblyScript only (not compiled by tsc). Allocated once at start-up: with the stub runtime
// nothing is ever freed, so entry points never allocate per call. The host writes input bytes at
// inPtr(), calls an export with the length, and reads results at outPtr().
import { Header } from '../../src/wire/header.ts';
import { writeU32LE } from '../../src/wire/bytes.ts';

/** Bytes in each of IN and OUT: room for a 64 KiB payload plus header, CRC and COBS overhead. */
export const IO_BYTES: i32 = 0x20000;

export const IN = new Uint8Array(IO_BYTES);
export const OUT = new Uint8Array(IO_BYTES);

/** Set the seven header fields the entries take as u32 arguments. */
export function setHeaderFields(h: Header, kind: u32, flags: u32, channel: u32, callId: u32, keyLo: u32, keyHi: u32, length: u32): void {
  h.kind = <u8>kind;
  h.flags = <u8>flags;
  h.channel = <u8>channel;
  h.callId = callId;
  h.keyLo = keyLo;
  h.keyHi = keyHi;
  h.length = length;
}

/** kind, flags, channel, callId, keyLo, keyHi, length of `h` as seven u32 LE words at OUT[0..28). */
export function headerFieldsToOut(h: Header): void {
  writeU32LE(OUT, 0, <u32>h.kind);
  writeU32LE(OUT, 4, <u32>h.flags);
  writeU32LE(OUT, 8, <u32>h.channel);
  writeU32LE(OUT, 12, h.callId);
  writeU32LE(OUT, 16, h.keyLo);
  writeU32LE(OUT, 20, h.keyHi);
  writeU32LE(OUT, 24, h.length);
}
