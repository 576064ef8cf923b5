// The known echo firmware of the hardware-in-the-loop suite (docs/firmware.md §"Echo firmware").
// AssemblyScript only (not compiled by tsc); built by scripts/build-firmware.mjs.
//
// Reads UART0 into a static buffer, deframes (COBS + CRC-32C, src/framing/deframer.ts), checks
// the 20-byte header (src/wire/header.ts) and answers:
//   PING (9)                      → PONG (10), same channel, call id and method key, no payload
//   REQUEST (2) on channel 2 (ops) → RESPONSE (3) whose payload is the counters below
//   REQUEST (2) on other channels → RESPONSE (3) with the request's payload echoed
//   any other valid kind           → ignored (counted)
//   a bad header                   → ERROR (4) with the wire error code as u16 LE payload; call id
//                                    and channel copied from the frame when it has those bytes
// Faults of the byte stream (COBS, CRC, oversize, too short) are counted by the deframer and get
// no answer: their bytes are untrustworthy, including the call id.
//
// Ops counters payload (u32 LE each, OPS_COUNTERS of them):
//   0 framesOk  4 errCrc  8 errCobs  12 errOversize  16 errTooShort  20 badHeaders
//  24 ignored  28 bytesDiscarded  32 rxBytes  36 uptimeMs
//
// Every buffer is allocated by the start function; poll() never allocates.
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import {
  Header, HEADER_BYTES, readHeader, writeHeader, KIND_PING, KIND_PONG, KIND_REQUEST, KIND_RESPONSE,
  KIND_ERROR, CHANNEL_OPS, FLAG_PRIORITY_MASK,
} from '../../src/wire/header.ts';
import { readU32LE, writeU16LE, writeU32LE } from '../../src/wire/bytes.ts';
import { ERR_WIRE_LENGTH_TOO_LARGE } from '../../src/wire/errors.ts';

@external("env", "uart_read") declare function uart_read(ptr: usize, max: i32): i32;
@external("env", "uart_write") declare function uart_write(ptr: usize, len: i32): void;
@external("env", "millis") declare function millis(): u32;

/** Largest frame accepted (header + payload, CRC excluded): payloads up to 492 bytes. */
const MAX_FRAME_BYTES: i32 = 512;
const RX_CHUNK_BYTES: i32 = 64;
const OPS_COUNTERS: i32 = 10;
const SMALL_OUT_BYTES: i32 = HEADER_BYTES + OPS_COUNTERS * 4;

const RX = new Uint8Array(RX_CHUNK_BYTES);
const RX_PTR: usize = RX.dataStart;
const DF = new Deframer(MAX_FRAME_BYTES);
// Answers that are not built in place in DF.frame (ERROR, ops counters).
const OUT = new Uint8Array(SMALL_OUT_BYTES);
const TX = new Uint8Array(frameMaxEncodedBytes(MAX_FRAME_BYTES) + 1);
const TX_PTR: usize = TX.dataStart;
const H = new Header();

let badHeaders: u32 = 0;
let ignored: u32 = 0;
let rxBytes: u32 = 0;

// Each frame starts with a 0x00 too: it ends line noise that reached the host since the last
// frame, which would otherwise glue itself to this one (docs/wire-format.md §3 "Framing").
function send(src: Uint8Array, len: i32): void {
  store<u8>(TX_PTR, 0);
  const n = frameEncode(src, 0, len, TX, 1);
  if (n > 0) uart_write(TX_PTR, n + 1);
}

// Answer in place: rewrite the header of the frame in DF.frame and send header + payload.
function answerInPlace(kind: u8, payloadLen: u32): void {
  H.kind = kind;
  H.flags = H.flags & FLAG_PRIORITY_MASK;
  H.length = payloadLen;
  const f = DF.frame;
  writeHeader(H, f, 0);
  send(f, HEADER_BYTES + <i32>payloadLen);
}

function answerError(frameLen: i32, code: i32): void {
  const f = DF.frame;
  H.kind = KIND_ERROR;
  H.flags = 0;
  H.channel = frameLen >= 4 ? f[3] : 0;
  H.callId = frameLen >= 8 ? readU32LE(f, 4) : 0;
  H.keyLo = 0;
  H.keyHi = 0;
  H.length = 2;
  writeHeader(H, OUT, 0);
  writeU16LE(OUT, HEADER_BYTES, <u32>code);
  send(OUT, HEADER_BYTES + 2);
}

function answerCounters(): void {
  H.kind = KIND_RESPONSE;
  H.flags = H.flags & FLAG_PRIORITY_MASK;
  H.length = <u32>(OPS_COUNTERS * 4);
  writeHeader(H, OUT, 0);
  let o = HEADER_BYTES;
  writeU32LE(OUT, o, DF.framesOk); o += 4;
  writeU32LE(OUT, o, DF.errCrc); o += 4;
  writeU32LE(OUT, o, DF.errCobs); o += 4;
  writeU32LE(OUT, o, DF.errOversize); o += 4;
  writeU32LE(OUT, o, DF.errTooShort); o += 4;
  writeU32LE(OUT, o, badHeaders); o += 4;
  writeU32LE(OUT, o, ignored); o += 4;
  writeU32LE(OUT, o, DF.bytesDiscarded); o += 4;
  writeU32LE(OUT, o, rxBytes); o += 4;
  writeU32LE(OUT, o, millis()); o += 4;
  send(OUT, o);
}

function handle(n: i32): void {
  const f = DF.frame;
  let r = readHeader(f, 0, n, <u32>(MAX_FRAME_BYTES - HEADER_BYTES), H);
  // Bytes after the declared payload: the frame and its header disagree.
  if (r > 0 && <u32>(n - HEADER_BYTES) != H.length) r = -ERR_WIRE_LENGTH_TOO_LARGE;
  if (r < 0) {
    badHeaders++;
    answerError(n, -r);
    return;
  }
  const kind = H.kind;
  if (kind == KIND_PING) {
    answerInPlace(KIND_PONG, 0);
  } else if (kind == KIND_REQUEST) {
    if (H.channel == CHANNEL_OPS) answerCounters();
    else answerInPlace(KIND_RESPONSE, H.length);
  } else {
    ignored++;
  }
}

/** Called forever by the runtime's main loop; returns when the UART has nothing more. */
export function poll(): void {
  const got = uart_read(RX_PTR, RX_CHUNK_BYTES);
  if (got <= 0) return;
  rxBytes += <u32>got;
  DF.feed(RX, 0, got);
  for (let n = DF.next(); n > 0; n = DF.next()) handle(n);
}
