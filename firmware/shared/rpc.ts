// The UART pump of the device's RPC (docs/firmware.md §"RPC dispatch on the device"): bytes from
// the UART → COBS/CRC deframing → RpcCore.ingest (firmware/shared/rpc-core.ts, frames in and out,
// no I/O) → answer frames COBS/CRC-framed → the UART. Also the board's boot service, reset and
// statistics (the `env` imports of firmware/runtime/host.c). AssemblyScript only (not compiled by
// tsc); static buffers allocated by the constructor (call it from the app's top level = the wasm
// start function); nothing allocates afterwards.
//
//   const RPC = new RpcDevice(HELLO, HELLO_LEN, MAX_FRAME_BYTES);   // from the generated consts
//   export function poll(): void {
//     for (let e = RPC.poll(); e >= 0; e = RPC.poll()) handle(e);  // e = entry index (HELLO order)
//     if (RPC.streamReady()) { ... RPC.streamItem(encodeX(x, RPC.out, RPC_PAYLOAD)) }
//   }
//   handle(e): decodeReq(RPC.req, RPC_PAYLOAD, RPC.reqEnd, REQ) → RPC.malformed(r) on failure,
//              else RPC.respond(encodeRes(RES, RPC.out, RPC_PAYLOAD)) or
//              RPC.failApp(code, encodeErr(ERR, RPC.out, RPC_ERROR_PAYLOAD)).
// RPC_PAYLOAD, RPC_ERROR_PAYLOAD and the C_* counters come from rpc-core.ts (asc cannot re-export).
// With link security: SecureRpcDevice (firmware/shared/rpc-secure.ts) overrides boot, dispatch and
// transmit; a plain app never imports it and its image is unchanged.
//
// COBS/CRC/oversize/too-short faults are counted by the Deframer and get no answer.
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import {
  RpcCore, C_FRAMES_OK, C_ERR_CRC, C_ERR_COBS, C_ERR_OVERSIZE, C_ERR_TOO_SHORT, C_BYTES_DISCARDED,
  C_RX_BYTES, C_UPTIME_MS, C_RX_OVERRUNS, C_RX_PEAK,
} from './rpc-core.ts';

@external("env", "uart_read") declare function uart_read(ptr: usize, max: i32): i32;
@external("env", "uart_write") declare function uart_write(ptr: usize, len: i32): void;
/** Receive statistics of the board's UART (firmware/runtime/host.c): 0 = overruns, 1 = peak ring fill. */
@external("env", "uart_stat") declare function uart_stat(which: i32): u32;
/**
 * The bootloader's resident boot service (docs/flash.md §10): a channel-3 frame (header + payload
 * at req[0..len)) → the answer frame at out[0..n); returns n, n | BOOT_RESET (reset once the
 * answer is out: RESET, ENTER_BOOT), or -1 when no bootloader serves this app (the request gets
 * UnknownMethod).
 */
@external("env", "boot_request") declare function boot_request(req: usize, len: i32, out: usize, max: i32): i32;
@external("env", "reset") declare function reset(): void;
/** SysTick milliseconds since reset (apps import it from here: one import, one declaration). */
@external("env", "millis") export declare function millis(): u32;

/** Bytes read from the UART per uart_read call. */
const RX_CHUNK_BYTES: i32 = 64;

/** RpcCore with its port: the UART (deframer, receive chunk, transmit buffer), the boot service, reset. */
export class RpcDevice extends RpcCore {
  private readonly df: Deframer;
  private readonly rx: Uint8Array;
  private readonly rxPtr: usize;
  private readonly tx: Uint8Array;
  private readonly txPtr: usize;
  private readThisRound: bool = false;
  private booted: bool = false;

  /**
   * `hello`: the HELLO payload in static memory (generated); `maxFrameBytes`: header + payload.
   * `room`: bytes a frame on the line may have beyond maxFrameBytes (a secure port's trailer, 12:
   * the deframer, `out`'s buffer and the transmit buffer get them).
   */
  constructor(hello: usize, helloLen: i32, maxFrameBytes: i32, room: i32 = 0) {
    const df = new Deframer(maxFrameBytes + room);
    super(df.frame, hello, helloLen, maxFrameBytes, room);
    const rx = new Uint8Array(RX_CHUNK_BYTES);
    const tx = new Uint8Array(frameMaxEncodedBytes(maxFrameBytes + room) + 1);
    this.df = df;
    this.rx = rx;
    this.rxPtr = rx.dataStart;
    this.tx = tx;
    this.txPtr = tx.dataStart;
  }

  /**
   * Process received frames until an application request needs the app: returns its entry
   * index (HELLO order; `req`, `reqEnd`, `callId`... describe it), or -1 when the UART has nothing
   * more for now. Reads at most one chunk from the UART per -1, so the caller's loop also gets
   * to run its streams under continuous input.
   */
  poll(): i32 {
    const df = this.df;
    if (!this.booted) {
      // Announce ourselves once after boot (both sides send HELLO at once, docs/rpc.md §3), from
      // the first poll rather than the start function (a simulator's memory is not reachable
      // before instantiation returns).
      this.booted = true;
      this.boot();
    }
    for (;;) {
      const n = df.next();
      if (n > 0) {
        const e = this.dispatch(n);
        if (e >= 0) return e;
        continue;
      }
      if (this.readThisRound) {
        this.readThisRound = false;
        return -1;
      }
      const got = uart_read(this.rxPtr, RX_CHUNK_BYTES);
      if (got <= 0) return -1;
      this.readThisRound = true;
      unchecked(this.counter[C_RX_BYTES] += <u32>got);
      df.feed(this.rx, 0, got);
    }
    return -1; // not reached
  }

  /** The first poll after boot: our HELLO (a secure port sends its REQUEST instead). */
  boot(): void {
    this.announce();
  }

  /**
   * A deframed frame at req[0..n) → RpcCore.ingest: an entry index for the app, or -1. A secure
   * port opens sealed frames here first (firmware/shared/rpc-secure.ts).
   */
  dispatch(n: i32): i32 {
    return this.ingest(n);
  }

  // ---- the port (called by RpcCore) ------------------------------------------------------

  /**
   * One answer frame → 0x00 + COBS + CRC + 0x00 → UART. The leading delimiter ends whatever line
   * noise reached the host since our last frame, so the noise costs one counted line error and
   * never glues itself to this frame (docs/wire-format.md §3 "Framing").
   */
  transmit(frame: Uint8Array, len: i32): void {
    store<u8>(this.txPtr, 0);
    const n = frameEncode(frame, 0, len, this.tx, 1);
    if (n > 0) uart_write(this.txPtr, n + 1);
  }

  refreshCounters(c: StaticArray<u32>): void {
    const df = this.df;
    unchecked(c[C_FRAMES_OK] = df.framesOk);
    unchecked(c[C_ERR_CRC] = df.errCrc);
    unchecked(c[C_ERR_COBS] = df.errCobs);
    unchecked(c[C_ERR_OVERSIZE] = df.errOversize);
    unchecked(c[C_ERR_TOO_SHORT] = df.errTooShort);
    unchecked(c[C_BYTES_DISCARDED] = df.bytesDiscarded);
    unchecked(c[C_UPTIME_MS] = millis());
    unchecked(c[C_RX_OVERRUNS] = uart_stat(0));
    unchecked(c[C_RX_PEAK] = uart_stat(1));
  }

  bootService(req: Uint8Array, len: i32, out: Uint8Array, max: i32): i32 {
    return boot_request(req.dataStart, len, out.dataStart, max);
  }

  resetDevice(): void {
    reset();
  }
}
