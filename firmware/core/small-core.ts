// AssemblyScript entry for the size budget of the `small` profile: header read/write, COBS
// encode/decode and the table-less CRC-32C only — the part every firmware carries. Built with
// the `small` target options into build/wasm/small-core.wasm; budget <= 4096 bytes (checked by
// test/portable). small.ts adds frameEncode and the deframer on top.
import { Header, readHeader, writeHeader } from '../../src/wire/header.ts';
import { cobsEncode, cobsDecode } from '../../src/framing/cobs.ts';
import { crc32cSmall } from '../../src/framing/crc32c.ts';

const IO_BYTES: i32 = 1024;
const RX = new Uint8Array(IO_BYTES);
const TX = new Uint8Array(IO_BYTES);
const HDR = new Header();

export function rxPtr(): usize { return RX.dataStart; }
export function txPtr(): usize { return TX.dataStart; }

export function headerRead(off: i32, available: i32, maxPayloadBytes: u32): i32 {
  return readHeader(RX, off, available, maxPayloadBytes, HDR);
}

export function headerWrite(kind: u32, flags: u32, channel: u32, callId: u32, keyLo: u32, keyHi: u32, length: u32, off: i32): i32 {
  HDR.kind = <u8>kind;
  HDR.flags = <u8>flags;
  HDR.channel = <u8>channel;
  HDR.callId = callId;
  HDR.keyLo = keyLo;
  HDR.keyHi = keyHi;
  HDR.length = length;
  return writeHeader(HDR, TX, off);
}

export function cobsEnc(len: i32): i32 { return cobsEncode(RX, TX, 0, len, 0); }
export function cobsDec(len: i32): i32 { return cobsDecode(RX, TX, 0, len, 0); }
export function crc32cSmallRx(off: i32, len: i32): u32 { return crc32cSmall(RX, off, len); }
