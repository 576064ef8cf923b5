// The compact CAN header (docs/wire-format.md §8.2): the 20-byte header of a Cell frame, carried
// in the 29-bit CAN id and, where needed, a short prefix of the transfer. A frame of a table
// entry names the entry by its index in the serving node's HELLO table (the port) and its call
// by the transfer id; a compact REQUEST adds one byte, the low byte of the method key, so a
// request built against an old table (the device was reflashed) is caught. Whatever cannot be
// said that way goes explicit: port 255 and a 13-byte prefix (channel, call id, key).
//
// The receiving rpc layer sees ordinary frames: a compact call arrives with call id
// CAN_COMPACT_CALL_BIT | port << 5 | transfer id, and its answers, carrying that id, go back
// compact. A caller maps its own call ids to transfer ids (src/transports/can/calls.ts); a
// device, which only serves, needs no state for its calls.
//
// Portable core: compiled by tsc and asc; no exceptions; allocation only in constructors.
import { readU32LE, writeU32LE } from '../wire/bytes.ts';
import { ERR_CAN_BAD_FRAME, ERR_CAN_STALE_ENTRY } from '../wire/errors.ts';
import {
  CAN_COMPACT_CALL_BIT, CAN_EXPLICIT_PREFIX_BYTES, CAN_ID_DST_SHIFT, CAN_ID_KIND_SHIFT, CAN_ID_MASK,
  CAN_ID_PORT_SHIFT, CAN_ID_PRIORITY_SHIFT, CAN_KEY_CHECK_BYTES, CAN_NODE_MAX, CAN_PORT_CHANNEL_BASE,
  CAN_PORT_CHANNEL_MAX, CAN_PORT_ENTRY_MAX, CAN_PORT_EXPLICIT, CAN_PRIORITY_NOMINAL, CAN_TAIL_TID_MASK,
  CAN_WIRE_CALL_ID_MAX,
  HELLO_COUNT_BYTES, HELLO_ENTRY_OFF_NAME, HELLO_ENTRY_OFF_NAME_LEN, HELLO_ENTRY_TAIL_BYTES, HELLO_MIN_BYTES,
  HELLO_OFF_NAME, HELLO_OFF_NAME_LEN,
} from '../wire/layouts.ts';
import {
  FLAG_PRIORITY_SHIFT, Header, KIND_CANCEL, KIND_CREDIT, KIND_ERROR, KIND_EVENT, KIND_LAST, KIND_REQUEST,
  KIND_RESPONSE, KIND_STREAM_END, KIND_STREAM_ITEM, priorityOf,
} from '../wire/header.ts';

/** The CAN id of a frame: priority (0–7), kind, port, destination and source node. */
export function canId(priority: u32, kind: u32, port: u32, dst: u32, src: u32): u32 {
  return (((priority & 7) << CAN_ID_PRIORITY_SHIFT) | ((kind & 15) << CAN_ID_KIND_SHIFT)
    | ((port & 0xff) << CAN_ID_PORT_SHIFT) | ((dst & 0x7f) << CAN_ID_DST_SHIFT) | (src & 0x7f)) >>> 0;
}
export function canIdPriority(id: u32): u32 { return (id >>> CAN_ID_PRIORITY_SHIFT) & 7; }
export function canIdKind(id: u32): u32 { return (id >>> CAN_ID_KIND_SHIFT) & 15; }
export function canIdPort(id: u32): u32 { return (id >>> CAN_ID_PORT_SHIFT) & 0xff; }
export function canIdDst(id: u32): u32 { return (id >>> CAN_ID_DST_SHIFT) & 0x7f; }
export function canIdSrc(id: u32): u32 { return id & 0x7f; }

/** Is `kind` sent by a caller to the node that serves the call (so its port is in the receiver's table)? */
export function canKindToServer(kind: u32): bool {
  return kind == KIND_REQUEST || kind == KIND_CANCEL || kind == KIND_CREDIT;
}
/** Is `kind` an answer to a call (its port is in the sender's table, its call is the receiver's)? */
export function canKindAnswer(kind: u32): bool {
  return kind == KIND_RESPONSE || kind == KIND_ERROR || kind == KIND_STREAM_ITEM || kind == KIND_STREAM_END;
}

/** The method keys of a node's HELLO table, by entry index (= port). */
export class CanKeyTable {
  count: i32 = 0;
  readonly keyLo: Uint32Array;
  readonly keyHi: Uint32Array;

  /** `capacity`: entries kept (1–248); a device that knows its table size keeps just that many. */
  constructor(capacity: i32 = <i32>CAN_PORT_ENTRY_MAX + 1) {
    if (capacity < 1 || capacity > <i32>CAN_PORT_ENTRY_MAX + 1) capacity = <i32>CAN_PORT_ENTRY_MAX + 1;
    this.keyLo = new Uint32Array(capacity);
    this.keyHi = new Uint32Array(capacity);
  }

  clear(): void { this.count = 0; }

  /**
   * Take the entries of a HELLO payload buf[off..off+len). Returns the entry count, 0 for an empty
   * HELLO (no table: every frame goes explicit), or -ERR_CAN_BAD_FRAME when it does not parse (the
   * table is then empty). Entries past index 247 are not compact (they go explicit).
   */
  loadHello(buf: Uint8Array, off: i32, len: i32): i32 {
    this.count = 0;
    if (len == 0) return 0;
    if (len < HELLO_MIN_BYTES || off < 0 || len > buf.length - off) return -ERR_CAN_BAD_FRAME; // no i32 overflow in wasm
    const end = off + len;
    let p = off + HELLO_OFF_NAME + <i32>buf[off + HELLO_OFF_NAME_LEN];
    if (p + HELLO_COUNT_BYTES > end) return -ERR_CAN_BAD_FRAME;
    const m: i32 = <i32>buf[p] | (<i32>buf[p + 1] << 8);
    p += HELLO_COUNT_BYTES;
    let n = 0;
    for (let i = 0; i < m; i++) {
      if (p + HELLO_ENTRY_OFF_NAME > end) { this.count = 0; return -ERR_CAN_BAD_FRAME; }
      const k = p + HELLO_ENTRY_OFF_NAME + <i32>buf[p + HELLO_ENTRY_OFF_NAME_LEN];
      if (k + HELLO_ENTRY_TAIL_BYTES > end) { this.count = 0; return -ERR_CAN_BAD_FRAME; }
      if (n < this.keyLo.length) {
        this.keyLo[n] = readU32LE(buf, k);
        this.keyHi[n] = readU32LE(buf, k + 4);
        n++;
      }
      p = k + HELLO_ENTRY_TAIL_BYTES;
    }
    this.count = n;
    return n;
  }

  /** The port (entry index) of a key, or -1. */
  indexOf(lo: u32, hi: u32): i32 {
    // `>>> 0`: a key that went through `|` or `^` is a negative number in JS (a no-op in asc).
    const l: u32 = lo >>> 0;
    const h: u32 = hi >>> 0;
    for (let i = 0; i < this.count; i++) if (this.keyLo[i] == l && this.keyHi[i] == h) return i;
    return -1;
  }
}

/** What canCompress produced: the CAN id, the transfer's prefix, its transfer id. */
export class CanCompact {
  id: u32 = 0;
  readonly prefix: Uint8Array = new Uint8Array(CAN_EXPLICIT_PREFIX_BYTES);
  prefixLen: i32 = 0;
  tid: i32 = 0;
}

/**
 * The compact form of a frame with header `h`, sent by node `src` to node `dst` (127: all).
 * `own`: the sender's table (its events, the calls it answers); `peer`: the receiver's (the calls
 * made to it). `callTid`: the transfer id a caller chose for its call (REQUEST, CANCEL, CREDIT),
 * or -1 to send the call explicit; `rollingTid`: the transfer id for everything else. Explicit
 * call ids must be at most CAN_WIRE_CALL_ID_MAX (the caller maps its ids; canExpand refuses others).
 */
export function canCompress(h: Header, src: u32, dst: u32, own: CanKeyTable, peer: CanKeyTable,
  callTid: i32, rollingTid: i32, out: CanCompact): void {
  const priority: u32 = CAN_PRIORITY_NOMINAL - <u32>priorityOf(h.flags);
  const kind: u32 = h.kind;
  let port: i32 = -1;
  let tid: i32 = rollingTid;
  out.prefixLen = 0;
  if (canKindToServer(kind)) {
    if (h.channel == 0 && callTid >= 0) {
      port = peer.indexOf(h.keyLo, h.keyHi);
      tid = callTid;
      if (port >= 0 && kind == KIND_REQUEST) {
        out.prefix[0] = <u8>(h.keyLo & 0xff);
        out.prefixLen = CAN_KEY_CHECK_BYTES;
      }
    }
  } else if (canKindAnswer(kind)) {
    // Compact only what came compact: channel 0 and an entry port (anything else says it all explicitly).
    const ref: u32 = (h.callId >>> 5) & 0xff;
    if ((h.callId & ~CAN_WIRE_CALL_ID_MAX) == CAN_COMPACT_CALL_BIT && h.channel == 0 && ref <= CAN_PORT_ENTRY_MAX) {
      port = <i32>ref;
      tid = <i32>(h.callId & CAN_TAIL_TID_MASK);
    }
  } else if (kind == KIND_EVENT) {
    if (h.channel == 0 && h.callId == 0) port = own.indexOf(h.keyLo, h.keyHi);
  }
  if (port < 0 && h.callId == 0 && h.keyLo == 0 && h.keyHi == 0 && <u32>h.channel <= CAN_PORT_CHANNEL_MAX) {
    port = <i32>(CAN_PORT_CHANNEL_BASE + <u32>h.channel);
  }
  if (port < 0) {
    port = <i32>CAN_PORT_EXPLICIT;
    if (callTid >= 0) tid = callTid;
    out.prefix[0] = h.channel;
    writeU32LE(out.prefix, 1, h.callId);
    writeU32LE(out.prefix, 5, h.keyLo);
    writeU32LE(out.prefix, 9, h.keyHi);
    out.prefixLen = CAN_EXPLICIT_PREFIX_BYTES;
  }
  out.tid = tid & CAN_TAIL_TID_MASK;
  out.id = canId(priority, kind, <u32>port, dst, src);
}

/**
 * The header of a received transfer `buf[off..off+len)` with CAN id `id` and transfer id `tid`.
 * `own`: this node's table (ports of calls made to it); `peer`: the sender's (ports of answers
 * and events it sends). Fills `out` (length = the payload's) and returns the prefix length (the
 * payload starts at off + it), or -code: -ERR_CAN_BAD_FRAME (a kind, port, node or prefix this
 * profile does not define, or a range outside buf); -ERR_CAN_STALE_ENTRY when a compact
 * REQUEST's key check does not match its entry — `out` is then filled with key 0 (answered
 * UnknownMethod by the rpc layer) and the prefix is CAN_KEY_CHECK_BYTES long.
 */
export function canExpand(id: u32, buf: Uint8Array, off: i32, len: i32, tid: i32,
  own: CanKeyTable, peer: CanKeyTable, out: Header): i32 {
  // A range outside buf: refused (JS would read zeros where wasm traps).
  if (off < 0 || len < 0 || len > buf.length - off) return -ERR_CAN_BAD_FRAME;
  id = id & CAN_ID_MASK;
  const kind: u32 = canIdKind(id);
  const port: u32 = canIdPort(id);
  if (kind == 0 || kind > <u32>KIND_LAST || canIdSrc(id) > CAN_NODE_MAX) return -ERR_CAN_BAD_FRAME;
  const pri: u32 = canIdPriority(id);
  const p: u32 = pri >= CAN_PRIORITY_NOMINAL ? 0 : (CAN_PRIORITY_NOMINAL - pri > 3 ? 3 : CAN_PRIORITY_NOMINAL - pri);
  out.kind = <u8>kind;
  out.flags = <u8>(p << FLAG_PRIORITY_SHIFT);
  out.channel = 0;
  out.callId = 0;
  out.keyLo = 0;
  out.keyHi = 0;
  let prefix: i32 = 0;
  if (port == CAN_PORT_EXPLICIT) {
    if (len < CAN_EXPLICIT_PREFIX_BYTES) return -ERR_CAN_BAD_FRAME;
    out.channel = buf[off];
    out.callId = readU32LE(buf, off + 1);
    out.keyLo = readU32LE(buf, off + 5);
    out.keyHi = readU32LE(buf, off + 9);
    if (canKindToServer(kind) && out.callId > CAN_WIRE_CALL_ID_MAX) return -ERR_CAN_BAD_FRAME;
    prefix = CAN_EXPLICIT_PREFIX_BYTES;
  } else if (port >= CAN_PORT_CHANNEL_BASE) {
    out.channel = <u8>(port - CAN_PORT_CHANNEL_BASE);
  } else {
    const toServer = canKindToServer(kind);
    if (!toServer && !canKindAnswer(kind) && kind != KIND_EVENT) return -ERR_CAN_BAD_FRAME;
    const table = toServer ? own : peer;
    if (<i32>port >= table.count) return -ERR_CAN_BAD_FRAME;
    out.keyLo = table.keyLo[port];
    out.keyHi = table.keyHi[port];
    if (kind != KIND_EVENT) out.callId = (CAN_COMPACT_CALL_BIT | (port << 5) | (<u32>tid & CAN_TAIL_TID_MASK)) >>> 0;
    if (kind == KIND_REQUEST) {
      if (len < CAN_KEY_CHECK_BYTES) return -ERR_CAN_BAD_FRAME;
      prefix = CAN_KEY_CHECK_BYTES;
      if (<u32>buf[off] != (out.keyLo & 0xff)) {
        out.keyLo = 0;
        out.keyHi = 0;
        out.length = <u32>(len - prefix);
        return -ERR_CAN_STALE_ENTRY;
      }
    }
  }
  out.length = <u32>(len - prefix);
  return prefix;
}
