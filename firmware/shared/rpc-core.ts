// The device's RPC core (docs/rpc.md §3–§4; docs/firmware.md §"RPC dispatch on the device"):
// frames in, frames out, no I/O — libcanard's shape. AssemblyScript only (not compiled by tsc).
// The UART pump around it (COBS/CRC deframing, writes to the UART, the bootloader and the UART's
// counters) is firmware/shared/rpc.ts; the wasm test build drives it with a port of its own
// (firmware/core/rpc-vectors.ts, test/rpc/conformance.test.ts). Static buffers are allocated by
// the constructor (the wasm start function); nothing allocates afterwards.
//
//   core.ingest(n)   one received frame at req[0..n) (header included, deframed, CRC
//                    checked) → the entry index (HELLO order) of an application request for the
//                    app to serve, or -1: handled here (at most one answer frame went out).
//   answer frames    built at out[0..len) and handed to the port's send(out, len) at once, one per
//                    core call at most: ingest, announce, respond, failApp, malformed,
//                    streamItem, streamEnd, streamFail.
//
// `P`, the port, is the subclass itself (`class RpcDevice extends RpcCore<RpcDevice>`: the
// curiously recurring template; calls to it are direct, resolved when asc instantiates the class,
// no object, no indirect call). It has:
//   send(frame: Uint8Array, len: i32): void     one answer frame, header + payload, unframed
//   refresh(counter: StaticArray<u32>): void    fill the port's ops counters (C_FRAMES_OK..., C_UPTIME_MS, C_RX_*)
//   boot(req: Uint8Array, len: i32, out: Uint8Array, max: i32): i32
//                                               channel 3: the answer's length at out[0..), | BOOT_RESET
//                                               when the device resets after it, -1: no boot service
//   reset(): void
//
// What ingest() does with each kind, the way a Node server does (src/rpc/connection.ts):
//   HELLO      → our HELLO with HELLO_FLAG_ANSWER (the precomputed payload, generated on the Node
//                side); a running stream ends (a new session).
//   REQUEST    channel 1 (control): ERROR UnknownMethod (describe is not served: its JSON is
//                larger than the device's frames); channel 2 (ops): RESPONSE with the counters;
//                channel 3 (boot): the port's boot service, or ERROR UnknownMethod;
//                other channels: key lookup → the entry index is returned to the app, or ERROR
//                UnknownMethod (a Node server may say SchemaMismatch here; see refuseUnknown); a
//                stream request while one runs → ERROR Overloaded.
//   PING       → PONG (same channel and call id, key 0); PONG ignored.
//   CREDIT     → adds to the running stream's credit (u32 LE; shorter payloads ignored).
//   CANCEL     → ends the running stream without a frame (unary calls finish synchronously).
//   GOODBYE    → ends the running stream (the host closes its link next); counted.
//   RESPONSE, ERROR, STREAM_ITEM, STREAM_END, EVENT: the device calls nothing — counted, ignored.
//   A frame whose header does not validate (or whose length disagrees with the frame): counted
//   (badHeaders), no answer — its call id is untrustworthy; the Node links drop such frames too.
import {
  Header, HEADER_BYTES, readHeader, writeHeader, KIND_HELLO, KIND_REQUEST, KIND_RESPONSE, KIND_ERROR,
  KIND_STREAM_ITEM, KIND_STREAM_END, KIND_CANCEL, KIND_PING, KIND_PONG, KIND_CREDIT, KIND_GOODBYE,
  CHANNEL_CONTROL, CHANNEL_OPS, CHANNEL_BOOT,
} from '../../src/wire/header.ts';
import { readU32LE, writeU16LE, writeU32LE } from '../../src/wire/bytes.ts';
import {
  ERR_RPC_UNKNOWN_METHOD, ERR_RPC_MALFORMED, ERR_RPC_OVERLOADED, ERR_RPC_INTERNAL,
} from '../../src/wire/errors.ts';
import {
  HELLO_FLAG_ANSWER, HELLO_OFF_FLAGS, HELLO_OFF_NAME, HELLO_OFF_NAME_LEN, HELLO_COUNT_BYTES,
  HELLO_ENTRY_OFF_KIND, HELLO_ENTRY_OFF_NAME, HELLO_ENTRY_OFF_NAME_LEN, HELLO_ENTRY_TAIL_BYTES,
  HELLO_ENTRY_KEY, ENTRY_KIND_STREAM, ERROR_OFF_CODE, ERROR_OFF_MESSAGE_LEN, ERROR_HEAD_BYTES,
  CREDIT_OFF_ITEMS, CREDIT_BYTES, PONG_BYTES, STREAM_END_BYTES,
} from '../../src/wire/layouts.ts';

/** Offset of the payload in `req` and `out` (after the 20-byte header). */
export const RPC_PAYLOAD: i32 = HEADER_BYTES;
/** Offset of an application error's payload in `out` (header + ERROR head with an empty message). */
export const RPC_ERROR_PAYLOAD: i32 = HEADER_BYTES + ERROR_HEAD_BYTES;
/** port.boot() result bit: reset once the answer is out (RESET, ENTER_BOOT). */
export const BOOT_RESET: i32 = 0x10000;

/** Entries of our table we can index (firmware/shared/gen-cell.ts DEVICE_MAX_ENTRIES: it refuses a cell with more). */
export const MAX_ENTRIES: i32 = 16;
// Ops counters (RESPONSE payload on channel 2: u32 LE each, in this order; docs/firmware.md).
// 0-4, 7, 8, 9, 21 and 22 are the port's (deframer, UART, clock), filled by port.refresh().
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
/** Counters of a plain device (the secure one appends the C_SEC_* slots). */
export const OPS_COUNTERS: i32 = 23;
// Link security (firmware/shared/rpc-secure.ts; src/secure/session.ts SecureCounters): only a
// secure image reports these; a plain one stops at C_RX_PEAK.
/** Sessions opened since boot (OPENs answered with a new ACCEPT). */
export const C_SEC_SESSIONS: i32 = 23;
/** Sealed frames whose tag did not verify. */
export const C_SEC_BAD_TAGS: i32 = 24;
/** Sealed frames with a counter not newer than one already accepted. */
export const C_SEC_REPLAYS: i32 = 25;
/** Plaintext frames refused (a provisioned device reads no plaintext but OPEN). */
export const C_SEC_PLAINTEXT_REFUSED: i32 = 26;
/** Sealed frames that arrived while no session was open. */
export const C_SEC_NO_SESSION: i32 = 27;
/** Sessions dropped after too many bad tags. */
export const C_SEC_LOCKOUTS: i32 = 28;
/** Sealed frames shorter than their trailer, or an OPEN of the wrong size. */
export const C_SEC_BAD_LENGTH: i32 = 29;
/** This boot's counter (never repeats; 0xFFFFFFFF: none could be persisted, no session opens). */
export const C_SEC_BOOT_COUNTER: i32 = 30;
export const OPS_COUNTERS_SECURE: i32 = 31;
const CODEC_ERROR = 'codec error ';

export abstract class RpcCore {
  /** Request frame: header at 0, payload at [RPC_PAYLOAD, reqEnd). Valid until the next ingest(). */
  readonly req: Uint8Array;
  /** Answer buffer: the app encodes its payload at RPC_PAYLOAD (or RPC_ERROR_PAYLOAD). */
  readonly out: Uint8Array;
  readonly maxFrameBytes: i32;

  // The request being handled (after ingest() returned an entry).
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
  /** The consumer sent its first CREDIT: until then nothing of the stream goes out. */
  private granted: bool = false;

  /** Ops counters, indexed by the C_* constants (opsCount() of them). */
  readonly counter: StaticArray<u32> = new StaticArray<u32>(this.opsCount());

  private readonly h: Header = new Header();
  private readonly oh: Header = new Header();
  private readonly hello: usize;
  private readonly helloLen: i32;
  private readonly entryOff: StaticArray<i32> = new StaticArray<i32>(MAX_ENTRIES);
  private entryCount: i32 = 0;

  /**
   * `req`: where received frames are (the deframer's buffer); `hello`: the HELLO payload in
   * static memory (generated); `maxFrameBytes`: header + payload. `outRoom`: bytes the port needs
   * after an answer frame (a secure port seals in place: 12); `out` stays maxFrameBytes long,
   * its buffer (`out.buffer`) has the room.
   */
  constructor(req: Uint8Array, hello: usize, helloLen: i32, maxFrameBytes: i32, outRoom: i32 = 0) {
    this.req = req;
    const out = new Uint8Array(maxFrameBytes + outRoom);
    this.out = outRoom > 0 ? out.subarray(0, maxFrameBytes) : out;
    this.maxFrameBytes = maxFrameBytes;
    this.hello = hello;
    this.helloLen = helloLen;
    // Index our own entry table (inside the HELLO payload): offset of each entry's kind byte.
    let p: i32 = HELLO_OFF_NAME + <i32>load<u8>(hello + HELLO_OFF_NAME_LEN);
    const count = <i32>load<u16>(hello + p);
    p += HELLO_COUNT_BYTES;
    for (let i = 0; i < count && i < MAX_ENTRIES; i++) {
      unchecked(this.entryOff[i] = p);
      p += HELLO_ENTRY_OFF_NAME + <i32>load<u8>(hello + p + HELLO_ENTRY_OFF_NAME_LEN) + HELLO_ENTRY_TAIL_BYTES;
    }
    this.entryCount = count < MAX_ENTRIES ? count : MAX_ENTRIES;
  }

  /** True when entry `e` is a server stream (kind 3 in HELLO). */
  isStream(e: i32): bool {
    return load<u8>(this.hello + unchecked(this.entryOff[e]) + HELLO_ENTRY_OFF_KIND) == ENTRY_KIND_STREAM;
  }

  /** Our HELLO, not an answer: the device announces itself once after boot (docs/rpc.md §3). */
  announce(): void {
    this.sendHello(false);
  }

  /**
   * One received frame of `n` bytes at req[0..n) (header included): an application request →
   * its entry index (`req`, `reqEnd`, `callId`... describe it; the app answers with respond,
   * failApp, malformed or streamStart); anything else is handled here → -1.
   */
  ingest(n: i32): i32 {
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
      this.sendFrame(KIND_PONG, h.channel, h.callId, 0, 0, PONG_BYTES);
    } else if (kind == KIND_CREDIT) {
      if (this.streamActive && h.callId == this.streamId && h.length >= <u32>CREDIT_BYTES) {
        this.credit += readU32LE(f, RPC_PAYLOAD + CREDIT_OFF_ITEMS);
        this.granted = true;
      }
      else this.count(C_IGNORED);
    } else if (kind == KIND_CANCEL) {
      this.count(C_CANCELS);
      if (this.streamActive && h.callId == this.streamId) this.streamActive = false;
    } else if (kind == KIND_HELLO) {
      this.count(C_HELLOS);
      this.streamActive = false;
      this.sendHello(true);
    } else if (kind == KIND_GOODBYE) {
      this.count(C_GOODBYES);
      this.streamActive = false;
    } else {
      this.count(C_IGNORED); // PONG, RESPONSE, ERROR, STREAM_ITEM, STREAM_END, EVENT: we call nothing
    }
    return -1;
  }

  /** Answer the current request: RESPONSE with `n` payload bytes at out[RPC_PAYLOAD..); n < 0 (an encoder's -code) → ERROR Internal. */
  respond(n: i32): void {
    if (n < 0) {
      this.fail(ERR_RPC_INTERNAL, CODEC_ERROR, -n);
      return;
    }
    this.count(C_RESPONSES);
    this.sendFrame(KIND_RESPONSE, this.channel, this.callId, this.keyLo, this.keyHi, n);
  }

  /** Declared application error `code` (>= 1000) with `n` payload bytes at out[RPC_ERROR_PAYLOAD..) (0: none; < 0: ERROR Internal). */
  failApp(code: u16, n: i32): void {
    if (n < 0) {
      this.fail(ERR_RPC_INTERNAL, CODEC_ERROR, -n);
      return;
    }
    const o = this.out;
    writeU16LE(o, RPC_PAYLOAD + ERROR_OFF_CODE, code);
    writeU16LE(o, RPC_PAYLOAD + ERROR_OFF_MESSAGE_LEN, 0);
    this.count(C_ERRORS);
    this.sendFrame(KIND_ERROR, this.channel, this.callId, this.keyLo, this.keyHi, ERROR_HEAD_BYTES + n);
  }

  /** ERROR Malformed for a request that did not decode: `r` = the decoder's result (-code, or bytes consumed short of reqEnd). */
  malformed(r: i32): void {
    this.count(C_MALFORMED);
    // Node says `request to "<name>" does not decode (codec error <n> | trailing bytes)`; the
    // device keeps the part the caller does not know already.
    if (r < 0) this.fail(ERR_RPC_MALFORMED, CODEC_ERROR, -r);
    else this.fail(ERR_RPC_MALFORMED, 'trailing bytes', -1);
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
    this.granted = false;
  }

  /** A stream is running and the consumer granted credit for one more item. */
  streamReady(): bool {
    return this.streamActive && this.credit > 0;
  }

  /** Send one STREAM_ITEM with `n` payload bytes at out[RPC_PAYLOAD..) (uses one credit). n < 0 → the stream fails Internal. */
  streamItem(n: i32): void {
    if (!this.streamActive) return;
    if (n < 0) {
      this.streamFail(<u16>ERR_RPC_INTERNAL);
      return;
    }
    this.credit--;
    this.count(C_STREAM_ITEMS);
    this.sendFrame(KIND_STREAM_ITEM, this.streamChannel, this.streamId, this.streamKeyLo, this.streamKeyHi, n);
  }

  /**
   * End the stream normally (STREAM_END). Before the consumer's first CREDIT nothing of the
   * stream may be sent (docs/rpc.md §3.5): until then this does nothing and the stream stays
   * active, so the app calls it again (thermo: on its next tick).
   */
  streamEnd(): void {
    if (!this.streamActive || !this.granted) return;
    this.streamActive = false;
    this.sendFrame(KIND_STREAM_END, this.streamChannel, this.streamId, this.streamKeyLo, this.streamKeyHi, STREAM_END_BYTES);
  }

  /**
   * End the stream with ERROR `code` (no message, no payload). Call it once the consumer's
   * first CREDIT came (streamReady() was true once): nothing of a stream goes out before that.
   */
  streamFail(code: u16): void {
    if (!this.streamActive) return;
    this.streamActive = false;
    const o = this.out;
    writeU16LE(o, RPC_PAYLOAD + ERROR_OFF_CODE, code);
    writeU16LE(o, RPC_PAYLOAD + ERROR_OFF_MESSAGE_LEN, 0);
    this.count(C_ERRORS);
    this.sendFrame(KIND_ERROR, this.streamChannel, this.streamId, this.streamKeyLo, this.streamKeyHi, ERROR_HEAD_BYTES);
  }

  // ---- receiving -------------------------------------------------------------------------

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
      this.bootRequest(n);
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
      this.fail(ERR_RPC_OVERLOADED, 'one stream at a time', -1);
      return -1;
    }
    return e;
  }

  private lookup(key: u64): i32 {
    const hello = this.hello;
    for (let i = 0; i < this.entryCount; i++) {
      const p = unchecked(this.entryOff[i]);
      if (load<u64>(hello + p + HELLO_ENTRY_OFF_NAME + <i32>load<u8>(hello + p + HELLO_ENTRY_OFF_NAME_LEN) + HELLO_ENTRY_KEY) == key) return i;
    }
    return -1;
  }

  /**
   * ERROR UnknownMethod, no message (the caller knows the key it sent). A Node server answers
   * SchemaMismatch instead when the caller's HELLO names one of its methods with this key; the
   * device leaves that to the host, which compares both HELLO tables at connect (and fails such
   * calls locally, saying whether the request or the response schema differs).
   */
  private refuseUnknown(): void {
    this.count(C_UNKNOWN_KEYS);
    this.errorHead(ERR_RPC_UNKNOWN_METHOD, RPC_ERROR_PAYLOAD);
  }

  /** A boot-protocol request: the port's boot service answers it (or UnknownMethod without one). */
  private bootRequest(n: i32): void {
    const r = this.bootService(this.req, n, this.out, this.maxFrameBytes);
    if (r < 0) {
      this.refuseUnknown();
      return;
    }
    const len = r & 0xffff;
    if (len > 0) this.emit(len);
    if ((r & BOOT_RESET) != 0) this.resetDevice();
  }

  // ---- sending ---------------------------------------------------------------------------

  /** Our HELLO; `answer`: it answers a HELLO we got (HELLO flags bit 2, docs/rpc.md §4). */
  private sendHello(answer: bool): void {
    this.putStatic(RPC_PAYLOAD, this.hello, this.helloLen);
    // The host then never takes a late answer for a reset, and takes any HELLO without the bit
    // for one (docs/uart.md §2).
    if (answer && this.helloLen > HELLO_OFF_FLAGS) this.out[RPC_PAYLOAD + HELLO_OFF_FLAGS] |= HELLO_FLAG_ANSWER;
    this.sendFrame(KIND_HELLO, 0, 0, 0, 0, this.helloLen);
  }

  @inline private count(i: i32): void {
    unchecked(this.counter[i]++);
  }

  private counters(): void {
    const c = this.counter;
    this.refreshCounters(c);
    const o = this.out;
    const k = this.opsCount();
    for (let i = 0; i < k; i++) writeU32LE(o, RPC_PAYLOAD + i * 4, unchecked(c[i]));
    this.sendFrame(KIND_RESPONSE, CHANNEL_OPS, this.callId, this.keyLo, this.keyHi, k * 4);
  }

  /** ERROR `code` with message `msg` (+ decimal `num` when >= 0) for the current request. */
  private fail(code: i32, msg: string, num: i32): void {
    let p = this.putStr(RPC_ERROR_PAYLOAD, msg);
    if (num >= 0) p = this.putDec(p, <u32>num);
    this.errorHead(code, p);
  }

  /** Finish an ERROR for the current request whose message ends at out[end): code, message length, send. */
  private errorHead(code: i32, end: i32): void {
    const o = this.out;
    writeU16LE(o, RPC_PAYLOAD + ERROR_OFF_CODE, <u32>code);
    writeU16LE(o, RPC_PAYLOAD + ERROR_OFF_MESSAGE_LEN, <u32>(end - RPC_ERROR_PAYLOAD));
    this.count(C_ERRORS);
    this.sendFrame(KIND_ERROR, this.channel, this.callId, this.keyLo, this.keyHi, end - RPC_PAYLOAD);
  }

  /** Header + `payloadLen` bytes of `out` → the port. */
  private sendFrame(kind: u8, channel: u8, callId: u32, keyLo: u32, keyHi: u32, payloadLen: i32): void {
    const h = this.oh;
    h.kind = kind;
    h.flags = 0;
    h.channel = channel;
    h.callId = callId;
    h.keyLo = keyLo;
    h.keyHi = keyHi;
    h.length = <u32>payloadLen;
    writeHeader(h, this.out, 0);
    this.emit(HEADER_BYTES + payloadLen);
  }

  private emit(len: i32): void {
    this.count(C_TX_FRAMES);
    this.transmit(this.out, len);
  }

  /** Ops counters reported (the size of `counter`): a secure port reports OPS_COUNTERS_SECURE. */
  opsCount(): i32 {
    return OPS_COUNTERS;
  }

  // ---- the port: what a subclass provides ------------------------------------------------

  /**
   * The port's receive pump: process received frames until an application request needs the
   * app → its entry index (HELLO order), or -1 when there is nothing more for now. The app's loop
   * calls it through RpcCore (firmware/thermo/cell.ts serves any port: UART, secure, CAN).
   */
  poll(): i32 {
    return -1;
  }

  /** One answer frame, header + payload, unframed, at frame[0..len). */
  abstract transmit(frame: Uint8Array, len: i32): void;
  /** Fill the port's ops counters (C_FRAMES_OK..C_ERR_TOO_SHORT, C_BYTES_DISCARDED, C_RX_BYTES, C_UPTIME_MS, C_RX_*). */
  abstract refreshCounters(counter: StaticArray<u32>): void;
  /** A channel-3 request at req[0..len): the answer's length at out[0..), | BOOT_RESET to reset after it; -1: no boot service. */
  abstract bootService(req: Uint8Array, len: i32, out: Uint8Array, max: i32): i32;
  abstract resetDevice(): void;

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
