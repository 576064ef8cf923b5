// AssemblyScript entry (target `core`): the device's RPC core (firmware/shared/rpc-core.ts) with a
// test port instead of the UART, for the RPC conformance vectors (test/rpc/conformance.test.ts,
// test/vectors/rpc-conformance.json). The host plays the app: it copies a frame to rpcReqPtr(),
// calls rpcIngest(n), serves the entry it gets (payload at rpcOutPtr() + 20, then rpcRespond...),
// and reads the frames the core sent from OUT: [u32 LE length][frame] records, rpcTxBytes() long.
import { IN, OUT, IO_BYTES } from './io.ts';
import { writeU32LE } from '../../src/wire/bytes.ts';
import { RpcCore } from '../shared/rpc-core.ts';

class TestDevice extends RpcCore {
  txBytes: i32 = 0;

  transmit(frame: Uint8Array, len: i32): void {
    const p = this.txBytes;
    if (p + 4 + len > IO_BYTES) return; // the host reads more often than that
    writeU32LE(OUT, p, <u32>len);
    for (let i = 0; i < len; i++) OUT[p + 4 + i] = frame[i];
    this.txBytes = p + 4 + len;
  }

  refreshCounters(c: StaticArray<u32>): void {
    void c; // no deframer, no UART, no clock: the port's counters stay 0
  }

  bootService(req: Uint8Array, len: i32, out: Uint8Array, max: i32): i32 {
    void req; void len; void out; void max;
    return -1; // no bootloader
  }

  resetDevice(): void {}
}

let DEV: TestDevice | null = null;

function dev(): TestDevice {
  return DEV!;
}

/** A new device (memory is never freed: a test makes a few dozen): HELLO payload at IN[0..helloLen). */
export function rpcInit(helloLen: i32, maxFrameBytes: i32): void {
  const hello = new Uint8Array(helloLen);
  for (let i = 0; i < helloLen; i++) hello[i] = IN[i];
  DEV = new TestDevice(new Uint8Array(maxFrameBytes), hello.dataStart, helloLen, maxFrameBytes);
}

export function rpcReqPtr(): usize { return dev().req.dataStart; }
export function rpcOutPtr(): usize { return dev().out.dataStart; }
export function rpcTxBytes(): i32 { return dev().txBytes; }
export function rpcTxClear(): void { dev().txBytes = 0; }

export function rpcAnnounce(): void { dev().announce(); }
export function rpcIngest(n: i32): i32 { return dev().ingest(n); }
export function rpcReqEnd(): i32 { return dev().reqEnd; }
export function rpcRespond(n: i32): void { dev().respond(n); }
export function rpcFailApp(code: u32, n: i32): void { dev().failApp(<u16>code, n); }
export function rpcMalformed(r: i32): void { dev().malformed(r); }
export function rpcIsStream(e: i32): bool { return dev().isStream(e); }
export function rpcStreamStart(): void { dev().streamStart(); }
export function rpcStreamActive(): bool { return dev().streamActive; }
export function rpcStreamReady(): bool { return dev().streamReady(); }
export function rpcStreamItem(n: i32): void { dev().streamItem(n); }
export function rpcStreamEnd(): void { dev().streamEnd(); }
export function rpcCounter(i: i32): u32 { return unchecked(dev().counter[i]); }
