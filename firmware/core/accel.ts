// AssemblyScript entry for the `accel` target: the portable framing core (frameEncode, Deframer)
// compiled for speed, for Node (src/framing/wasm-accel.ts) — not firmware. Built with
// `-O3 --shrinkLevel 0 --runtime stub --noAssert --uncheckedBehavior always` into
// build/wasm/framing-accel.wasm: ASC_SHRINK_LEVEL == 0 selects the word-copy COBS and the
// slice-by-16 CRC (src/framing/wasmkernels.ts). One instance per link: init() allocates its
// buffers once (the stub runtime never frees); only rxGrow() allocates later.
import { frameEncode } from '../../src/framing/frame.ts';
import { Deframer } from '../../src/framing/deframer.ts';

let TX: Uint8Array = new Uint8Array(0); // frameEncode source: up to maxFrameBytes
let OUT: Uint8Array = new Uint8Array(0); // frameEncode destination: the link's staging buffer
let RX: Uint8Array = new Uint8Array(0); // deframer input: one chunk of the byte stream
let DF: Deframer = new Deframer(1);

/** Allocate the buffers (call once, before anything else). */
export function init(maxFrameBytes: i32, outBytes: i32, rxBytes: i32): void {
  TX = new Uint8Array(maxFrameBytes);
  OUT = new Uint8Array(outBytes);
  RX = new Uint8Array(rxBytes);
  DF = new Deframer(maxFrameBytes);
}
/** Replace RX by a larger one (the old one is never freed: grow geometrically). */
export function rxGrow(rxBytes: i32): void { RX = new Uint8Array(rxBytes); }

export function txPtr(): usize { return TX.dataStart; }
export function outPtr(): usize { return OUT.dataStart; }
export function rxPtr(): usize { return RX.dataStart; }
export function rxBytes(): i32 { return RX.length; }
export function framePtr(): usize { return DF.frame.dataStart; }
export function frameBytes(): i32 { return DF.frame.length; }

/** frameEncode(TX[0..len)) into OUT at dstOff: bytes written or -code. */
export function encode(len: i32, dstOff: i32): i32 { return frameEncode(TX, 0, len, OUT, dstOff); }

/** Deframer.feed(RX[0..len)). */
export function feed(len: i32): void { DF.feed(RX, 0, len); }
export function next(): i32 { return DF.next(); }
export function reset(): void { DF.reset(); }
export function resetCounters(): void { DF.resetCounters(); }
export function framesOk(): u32 { return DF.framesOk; }
export function errCobs(): u32 { return DF.errCobs; }
export function errCrc(): u32 { return DF.errCrc; }
export function errOversize(): u32 { return DF.errOversize; }
export function errTooShort(): u32 { return DF.errTooShort; }
export function bytesDiscarded(): u32 { return DF.bytesDiscarded; }
export function lastError(): i32 { return DF.lastError; }
