// AssemblyScript entry for the `small` target: the smallest useful firmware core (header,
// COBS, frame encoder, deframer, table-less CRC-32C). Built with
// `-Oz --converge --runtime stub --noAssert --use abort= --uncheckedBehavior always`;
// size budget: header + COBS + CRC <= 4096 bytes of wasm (checked by test/portable).
// Buffers are allocated once here; the firmware's UART driver fills RX and drains TX.
import { Header, readHeader, writeHeader } from '../../src/wire/header.ts';
import { cobsEncode, cobsDecode } from '../../src/framing/cobs.ts';
import { crc32cSmall } from '../../src/framing/crc32c.ts';
import { frameEncode } from '../../src/framing/frame.ts';
import { Deframer } from '../../src/framing/deframer.ts';

/** Largest frame (header + payload) this build accepts. */
const MAX_FRAME_BYTES: i32 = 512;
const IO_BYTES: i32 = 1024;

const RX = new Uint8Array(IO_BYTES);
const TX = new Uint8Array(IO_BYTES);
const HDR = new Header();
const DF = new Deframer(MAX_FRAME_BYTES);

export function rxPtr(): usize { return RX.dataStart; }
export function txPtr(): usize { return TX.dataStart; }

export function headerRead(off: i32, available: i32, maxPayloadBytes: u32): i32 {
  return readHeader(RX, off, available, maxPayloadBytes, HDR);
}
export function headerKind(): u32 { return HDR.kind; }
export function headerCallId(): u32 { return HDR.callId; }
export function headerLength(): u32 { return HDR.length; }

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
export function frameEnc(len: i32): i32 { return frameEncode(RX, 0, len, TX, 0); }

/** Feed RX[0..len) to the deframer. */
export function deframerFeed(len: i32): void { DF.feed(RX, 0, len); }
/** Next complete frame length (its bytes are at deframerFramePtr()), 0 = need more. */
export function deframerNext(): i32 { return DF.next(); }
export function deframerFramePtr(): usize { return DF.frame.dataStart; }
