// Device side of Cell RPC for firmware apps (docs/rpc.md §3–§4; docs/firmware.md §"RPC dispatch
// on the device"). AssemblyScript only (not compiled by tsc); static buffers allocated by the
// constructor (call it from the app's top level = the wasm start function); nothing allocates
// afterwards.
//
//   const RPC = new RpcDevice(HELLO, HELLO_LEN, MAX_FRAME_BYTES);   // from the generated consts
//   export function poll(): void {
//     for (let e = RPC.poll(); e >= 0; e = RPC.poll()) handle(e);  // e = entry index (HELLO order)
//     if (RPC.streamReady()) { ... RPC.streamItem(encodeX(x, RPC.out, RPC_PAYLOAD)) }
//   }
//   handle(e): decodeReq(RPC.req, RPC_PAYLOAD, RPC.reqEnd, REQ) → RPC.malformed(r) on failure,
//              else RPC.respond(encodeRes(RES, RPC.out, RPC_PAYLOAD)) or
//              RPC.failApp(code, encodeErr(ERR, RPC.out, RPC_ERROR_PAYLOAD)).
//
// poll() deals with everything that is not an application request, the way a Node server does
// (src/rpc/connection.ts):
//   HELLO      → our HELLO (the precomputed payload, generated on the Node side); a running stream
//                ends (a new session).
//   REQUEST    channel 1 (control): ERROR UnknownMethod (describe is not served: its JSON is
//                larger than the device's frames); channel 2 (ops): RESPONSE with the counters;
//                other channels: key lookup → the entry index is returned to the app, or ERROR
//                403 UnknownMethod (a Node server may say 402 SchemaMismatch here; see
//                refuseUnknown); a stream request while one runs → 408.
//   PING       → PONG (same channel and call id, key 0); PONG ignored.
//   CREDIT     → adds to the running stream's credit (u32 LE; shorter payloads ignored).
//   CANCEL     → ends the running stream without a frame (unary calls finish synchronously).
//   GOODBYE    → ends the running stream (the host closes its link next); counted.
//   RESPONSE, ERROR, STREAM_ITEM, STREAM_END, EVENT: the device calls nothing — counted, ignored.
//   A frame whose header does not validate (or whose length disagrees with the frame): counted
//   (badHeaders), no answer — its call id is untrustworthy; the Node links drop such frames too.
//   COBS/CRC/oversize/too-short: counted by the Deframer, no answer.
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import {
  Header, HEADER_BYTES, readHeader, writeHeader, KIND_HELLO, KIND_REQUEST, KIND_RESPONSE, KIND_ERROR,
  KIND_STREAM_ITEM, KIND_STREAM_END, KIND_CANCEL, KIND_PING, KIND_PONG, KIND_CREDIT, KIND_GOODBYE,
  CHANNEL_CONTROL, CHANNEL_OPS, CHANNEL_BOOT,
} from '../../src/wire/header.ts';
import { readU32LE, writeU16LE, writeU32LE } from '../../src/wire/bytes.ts';

@external("env", "uart_read") declare function uart_read(ptr: usize, max: i32): i32;
@external("env", "uart_write") declare function uart_write(ptr: usize, len: i32): void;
/** Receive statistics of the board's UART (firmware/runtime/host.c): 0 = overruns, 1 = peak ring fill. */
@external("env", "uart_stat") declare function uart_stat(which: i32): u32;
/**
 * The bootloader's resident boot service (docs/flash.md §10): a channel-3 frame (header + payload
 * at req[0..len)) → the answer frame at out[0..n); returns n, n | 0x10000 (reset once the answer
 * is out: RESET, ENTER_BOOT), or -1 when no bootloader serves this app (the request gets 403).
 */
@external("env", "boot_request") declare function boot_request(req: usize, len: i32, out: usize, max: i32): i32;
@external("env", "reset") declare function reset(): void;
/** SysTick milliseconds since reset (apps import it from here: one import, one declaration). */
@external("env", "millis") export declare function millis(): u32;

/** Offset of the payload in `req` and `out` (after the 20-byte header). */
export const RPC_PAYLOAD: i32 = HEADER_BYTES;
/** Offset of an application error's payload in `out` (header + u16 code + u16 empty message). */
export const RPC_ERROR_PAYLOAD: i32 = HEADER_BYTES + 4;

/** HELLO payload flags bit 2: this HELLO answers one the sender got (docs/rpc.md §4). */
export const HELLO_FLAG_ANSWER: u8 = 0x04;
export const RPC_UNKNOWN_METHOD: u16 = 403;
export const RPC_MALFORMED: u16 = 406;
export const RPC_OVERLOADED: u16 = 408;
export const RPC_INTERNAL: u16 = 409;

/** Bytes read from the UART per uart_read call. */
const RX_CHUNK_BYTES: i32 = 64;
/** Entries of our table we can index (firmware/shared/gen-cell.ts refuses a cell with more). */
export const MAX_ENTRIES: i32 = 16;
// Ops counters (RESPONSE payload on channel 2: u32 LE each, in this order; docs/firmware.md).
// 0-4 and 7 are the Deframer's, copied when asked; 9 is millis(); 21-22 are the UART driver's.
export const C_FRAMES_OK: i32 = 0;
export const C_ERR_CRC: i32 = 1;
export const C_ERR_COBS: i32 = 2;
export const C_ERR_OVERSIZE: i32 = 3;
export const C_ERR_TOO_SHORT: i32 = 4;
export const C_BAD_HEADERS: i32 = 5;
export const C_IGNORED: i32 = 6;
export const C_BYTES_DISCARDED: i32 = 7;
export const C_RX_BYTES: i32 = 8;
export const C_UPTIME_MS: i32 = 9;
export const C_REQUESTS: i32 = 10;
export const C_RESPONSES: i32 = 11;
export const C_ERRORS: i32 = 12;
export const C_MALFORMED: i32 = 13;
export const C_UNKNOWN_KEYS: i32 = 14;
export const C_STREAM_ITEMS: i32 = 15;
export const C_PINGS: i32 = 16;
export const C_HELLOS: i32 = 17;
export const C_CANCELS: i32 = 18;
export const C_GOODBYES: i32 = 19;
export const C_TX_FRAMES: i32 = 20;
/** UART overruns: bytes the UART lost before the RX interrupt took them (0 in a simulator). */
export const C_RX_OVERRUNS: i32 = 21;
/** Highest fill of the firmware's receive ring, bytes (how far the main loop fell behind). */
export const C_RX_PEAK: i32 = 22;
export const OPS_COUNTERS: i32 = 23;
const ENTRY_KIND_STREAM: u8 = 3;
const CODEC_ERROR = 'codec error ';

export class RpcDevice {
  /** Request frame: header at 0, payload at [RPC_PAYLOAD, reqEnd). Valid until the next poll(). */
  readonly req: Uint8Array;
  /** Answer buffer: the app encodes its payload at RPC_PAYLOAD (or RPC_ERROR_PAYLOAD). */
  readonly out: Uint8Array;
  readonly maxFrameBytes: i32;

  // The request being handled (after poll() returned an entry).
  callId: u32 = 0;
  channel: u8 = 0;
  keyLo: u32 = 0;
  keyHi: u32 = 0;
  entry: i32 = -1;
  /** End of the request payload in `req`. */
  reqEnd: i32 = 0;

  // The one server stream (docs/rpc.md §3): items only while credit > 0.
  streamActive: bool = false;
  streamEntry: i32 = -1;
  streamId: u32 = 0;
  streamChannel: u8 = 0;
  streamKeyLo: u32 = 0;
  streamKeyHi: u32 = 0;
  credit: u32 = 0;

  /** Ops counters, indexed by the C_* constants. */
  readonly counter: StaticArray<u32> = new StaticArray<u32>(OPS_COUNTERS);

  private readonly df: Deframer;
  private readonly rx: Uint8Array;
  private readonly rxPtr: usize;
  private readonly tx: Uint8Array;
  private readonly txPtr: usize;
  private readonly h: Header = new Header();
  private readonly oh: Header = new Header();
  private readonly hello: usize;
  private readonly helloLen: i32;
  private readonly entryOff: StaticArray<i32> = new StaticArray<i32>(MAX_ENTRIES);
  private entryCount: i32 = 0;
  private readThisRound: bool = false;
  private booted: bool = false;

  /** `hello`: the HELLO payload in static memory (generated); `maxFrameBytes`: header + payload. */
  constructor(hello: usize, helloLen: i32, maxFrameBytes: i32) {
    const df = new Deframer(maxFrameBytes);
    const rx = new Uint8Array(RX_CHUNK_BYTES);
    const tx = new Uint8Array(frameMaxEncodedBytes(maxFrameBytes) + 1);
    this.df = df;
    this.req = df.frame;
    this.out = new Uint8Array(maxFrameBytes);
    this.rx = rx;
    this.rxPtr = rx.dataStart;
    this.tx = tx;
    this.txPtr = tx.dataStart;
    this.maxFrameBytes = maxFrameBytes;
    this.hello = hello;
    this.helloLen = helloLen;
    // Index our own entry table (inside the HELLO payload): offset of each entry's kind byte.
    let p: i32 = 9 + <i32>load<u8>(hello + 8);
    const count = <i32>load<u16>(hello + p);
    p += 2;
    for (let i = 0; i < count && i < MAX_ENTRIES; i++) {
      unchecked(this.entryOff[i] = p);
      p += 2 + <i32>load<u8>(hello + p + 1) + 24;
    }
    this.entryCount = count < MAX_ENTRIES ? count : MAX_ENTRIES;
  }

  /** True when entry `e` is a server stream (kind 3 in HELLO). */
  isStream(e: i32): bool {
    return load<u8>(this.hello + unchecked(this.entryOff[e])) == ENTRY_KIND_STREAM;
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
      // before instantiation returns); a leading 0x00 ends whatever line noise the host holds.
      this.booted = true;
      this.sendHello(true);
    }
    for (;;) {
      const n = df.next();
      if (n > 0) {
        const e = this.frame(n);
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

  /** Answer the current request: RESPONSE with `n` payload bytes at out[RPC_PAYLOAD..); n < 0 (an encoder's -code) → ERROR Internal. */
  respond(n: i32): void {
    if (n < 0) {
      this.fail(RPC_INTERNAL, CODEC_ERROR, -n);
      return;
    }
    this.count(C_RESPONSES);
    this.send(KIND_RESPONSE, this.channel, this.callId, this.keyLo, this.keyHi, n);
  }

  /** Declared application error `code` (>= 1000) with `n` payload bytes at out[RPC_ERROR_PAYLOAD..) (0: none; < 0: ERROR Internal). */
  failApp(code: u16, n: i32): void {
    if (n < 0) {
      this.fail(RPC_INTERNAL, CODEC_ERROR, -n);
      return;
    }
    const o = this.out;
    writeU16LE(o, RPC_PAYLOAD, code);
    writeU16LE(o, RPC_PAYLOAD + 2, 0);
    this.count(C_ERRORS);
    this.send(KIND_ERROR, this.channel, this.callId, this.keyLo, this.keyHi, 4 + n);
  }

  /** ERROR Malformed for a request that did not decode: `r` = the decoder's result (-code, or bytes consumed short of reqEnd). */
  malformed(r: i32): void {
    this.count(C_MALFORMED);
    // Node says `request to "<name>" does not decode (codec error <n> | trailing bytes)`; the
    // device keeps the part the caller does not know already.
    if (r < 0) this.fail(RPC_MALFORMED, CODEC_ERROR, -r);
    else this.fail(RPC_MALFORMED, 'trailing bytes', -1);
  }

  // ---- streams ---------------------------------------------------------------------------

  /** Start the server stream of the current request (its entry is a stream; its request decoded). Credit starts at 0. */
  streamStart(): void {
    this.streamActive = true;
    this.streamEntry = this.entry;
    this.streamId = this.callId;
    this.streamChannel = this.channel;
    this.streamKeyLo = this.keyLo;
    this.streamKeyHi = this.keyHi;
    this.credit = 0;
  }

  /** A stream is running and the consumer granted credit for one more item. */
  streamReady(): bool {
    return this.streamActive && this.credit > 0;
  }

  /** Send one STREAM_ITEM with `n` payload bytes at out[RPC_PAYLOAD..) (uses one credit). n < 0 → the stream fails Internal. */
  streamItem(n: i32): void {
    if (!this.streamActive) return;
    if (n < 0) {
      this.streamFail(RPC_INTERNAL);
      return;
    }
    this.credit--;
    this.count(C_STREAM_ITEMS);
    this.send(KIND_STREAM_ITEM, this.streamChannel, this.streamId, this.streamKeyLo, this.streamKeyHi, n);
  }

  /** End the stream normally (STREAM_END). */
  streamEnd(): void {
    if (!this.streamActive) return;
    this.streamActive = false;
    this.send(KIND_STREAM_END, this.streamChannel, this.streamId, this.streamKeyLo, this.streamKeyHi, 0);
  }

  /** End the stream with ERROR `code` (no message, no payload). */
  streamFail(code: u16): void {
    if (!this.streamActive) return;
    this.streamActive = false;
    const o = this.out;
    writeU16LE(o, RPC_PAYLOAD, code);
    writeU16LE(o, RPC_PAYLOAD + 2, 0);
    this.count(C_ERRORS);
    this.send(KIND_ERROR, this.streamChannel, this.streamId, this.streamKeyLo, this.streamKeyHi, 4);
  }

  // ---- receiving -------------------------------------------------------------------------

  /** One deframed frame of n bytes: returns an entry index for the app, or -1 (handled here). */
  private frame(n: i32): i32 {
    const f = this.req;
    const h = this.h;
    let r = readHeader(f, 0, n, <u32>(this.maxFrameBytes - HEADER_BYTES), h);
    if (r > 0 && <u32>(n - HEADER_BYTES) != h.length) r = -1;
    if (r < 0) {
      this.count(C_BAD_HEADERS);
      return -1;
    }
    const kind = h.kind;
    if (kind == KIND_REQUEST) return this.request(n);
    if (kind == KIND_PING) {
      this.count(C_PINGS);
      this.send(KIND_PONG, h.channel, h.callId, 0, 0, 0);
    } else if (kind == KIND_CREDIT) {
      if (this.streamActive && h.callId == this.streamId && h.length >= 4) this.credit += readU32LE(f, HEADER_BYTES);
      else this.count(C_IGNORED);
    } else if (kind == KIND_CANCEL) {
      this.count(C_CANCELS);
      if (this.streamActive && h.callId == this.streamId) this.streamActive = false;
    } else if (kind == KIND_HELLO) {
      this.count(C_HELLOS);
      this.streamActive = false;
      this.sendHello(false);
    } else if (kind == KIND_GOODBYE) {
      this.count(C_GOODBYES);
      this.streamActive = false;
    } else {
      this.count(C_IGNORED); // PONG, RESPONSE, ERROR, STREAM_ITEM, STREAM_END, EVENT: we call nothing
    }
    return -1;
  }

  private request(n: i32): i32 {
    const h = this.h;
    this.callId = h.callId;
    this.channel = h.channel;
    this.keyLo = h.keyLo;
    this.keyHi = h.keyHi;
    this.reqEnd = n;
    this.entry = -1;
    if (h.channel == CHANNEL_OPS) {
      this.counters();
      return -1;
    }
    if (h.channel == CHANNEL_BOOT) {
      this.boot(n);
      return -1;
    }
    if (h.channel == CHANNEL_CONTROL) {
      // describe (key 1) is not served: its JSON is larger than the device's frames.
      this.refuseUnknown();
      return -1;
    }
    this.count(C_REQUESTS);
    const key = (<u64>h.keyHi << 32) | <u64>h.keyLo;
    const e = this.lookup(key);
    if (e < 0) {
      this.refuseUnknown();
      return -1;
    }
    this.entry = e;
    if (this.isStream(e) && this.streamActive) {
      this.fail(RPC_OVERLOADED, 'one stream at a time', -1);
      return -1;
    }
    return e;
  }

  private lookup(key: u64): i32 {
    const hello = this.hello;
    for (let i = 0; i < this.entryCount; i++) {
      const p = unchecked(this.entryOff[i]);
      if (load<u64>(hello + p + 2 + <i32>load<u8>(hello + p + 1)) == key) return i;
    }
    return -1;
  }

  /**
   * ERROR 403 UnknownMethod, no message (the caller knows the key it sent). A Node server answers
   * 402 SchemaMismatch instead when the caller's HELLO names one of its methods with this key;
   * the device leaves that to the host, which compares both HELLO tables at connect (and fails
   * such calls locally, saying whether the request or the response schema differs).
   */
  private refuseUnknown(): void {
    this.count(C_UNKNOWN_KEYS);
    this.errorHead(RPC_UNKNOWN_METHOD, RPC_PAYLOAD + 4);
  }

  /** A boot-protocol request: the bootloader's resident service answers it (or 403 without one). */
  private boot(n: i32): void {
    const r = boot_request(this.req.dataStart, n, this.out.dataStart, this.maxFrameBytes);
    if (r < 0) {
      this.refuseUnknown();
      return;
    }
    const len = r & 0xffff;
    if (len > 0) {
      const k = frameEncode(this.out, 0, len, this.tx, 0);
      if (k > 0) {
        this.count(C_TX_FRAMES);
        uart_write(this.txPtr, k);
      }
    }
    if ((r & 0x10000) != 0) reset();
  }

  // ---- sending ---------------------------------------------------------------------------

  /** `boot`: the HELLO that announces a boot; otherwise the answer to a HELLO we got. */
  private sendHello(boot: bool): void {
    this.putStatic(RPC_PAYLOAD, this.hello, this.helloLen);
    // An answer says so (HELLO flags bit 2, docs/rpc.md §4): the host then never takes a late
    // answer for a reset, and takes any HELLO without the bit for one (docs/uart.md §2).
    if (!boot && this.helloLen >= 2) this.out[RPC_PAYLOAD + 1] |= HELLO_FLAG_ANSWER;
    if (boot) {
      store<u8>(this.txPtr, 0);
      uart_write(this.txPtr, 1);
    }
    this.send(KIND_HELLO, 0, 0, 0, 0, this.helloLen);
  }

  @inline private count(i: i32): void {
    unchecked(this.counter[i]++);
  }

  private counters(): void {
    const c = this.counter;
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
    const o = this.out;
    for (let i = 0; i < OPS_COUNTERS; i++) writeU32LE(o, RPC_PAYLOAD + i * 4, unchecked(c[i]));
    this.send(KIND_RESPONSE, CHANNEL_OPS, this.callId, this.keyLo, this.keyHi, OPS_COUNTERS * 4);
  }

  /** ERROR `code` with message `msg` (+ decimal `num` when >= 0) for the current request. */
  private fail(code: u16, msg: string, num: i32): void {
    let p = this.putStr(RPC_PAYLOAD + 4, msg);
    if (num >= 0) p = this.putDec(p, <u32>num);
    this.errorHead(code, p);
  }

  /** Finish an ERROR whose message ends at out[end): code, message length, send. */
  private errorHead(code: u16, end: i32): void {
    const o = this.out;
    writeU16LE(o, RPC_PAYLOAD, code);
    writeU16LE(o, RPC_PAYLOAD + 2, <u32>(end - RPC_PAYLOAD - 4));
    this.count(C_ERRORS);
    this.send(KIND_ERROR, this.channel, this.callId, this.keyLo, this.keyHi, end - RPC_PAYLOAD);
  }

  /** Header + `payloadLen` bytes of `out` → COBS + CRC → UART. */
  private send(kind: u8, channel: u8, callId: u32, keyLo: u32, keyHi: u32, payloadLen: i32): void {
    const h = this.oh;
    h.kind = kind;
    h.flags = 0;
    h.channel = channel;
    h.callId = callId;
    h.keyLo = keyLo;
    h.keyHi = keyHi;
    h.length = <u32>payloadLen;
    writeHeader(h, this.out, 0);
    const n = frameEncode(this.out, 0, HEADER_BYTES + payloadLen, this.tx, 0);
    if (n > 0) {
      this.count(C_TX_FRAMES);
      uart_write(this.txPtr, n);
    }
  }

  // Message text: ASCII only (AS string literals are static UTF-16; no allocation).
  private putStr(p: i32, s: string): i32 {
    const o = this.out;
    const n = s.length;
    for (let i = 0; i < n && p < o.length; i++) o[p++] = <u8>s.charCodeAt(i);
    return p;
  }

  /** Copy `len` bytes of static data at `src` to out[p..) (a byte loop: no memmove in the image). */
  putStatic(p: i32, src: usize, len: i32): i32 {
    const o = this.out;
    for (let i = 0; i < len && p < o.length; i++) o[p++] = load<u8>(src + <usize>i);
    return p;
  }

  private putDec(p: i32, v: u32): i32 {
    const o = this.out;
    let digits = 1;
    for (let t = v; t >= 10; t /= 10) digits++;
    if (p + digits > o.length) return p;
    for (let i = digits - 1; i >= 0; i--) {
      o[p + i] = <u8>(0x30 + v % 10);
      v /= 10;
    }
    return p + digits;
  }
}
