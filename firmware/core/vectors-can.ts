// AssemblyScript entry (target `core`, with vectors.ts): the CAN profile's portable halves —
// src/framing/can-transfer.ts (segmenter, reassembler, CRC-16) and src/framing/can-header.ts (CAN
// id, HELLO key tables, canCompress / canExpand) — over the static I/O area of io.ts, for
// test/portable/can-wasm.test.ts (vectors: test/vectors/can.json). See vectors.ts for the calling
// convention. One segmenter, one reassembler and two key tables live here; canRxNew allocates a
// new reassembler (the stub runtime never frees: tests make a handful, never one per frame).
import { IN, OUT, headerFieldsToOut, setHeaderFields } from './io.ts';
import { writeU32LE } from '../../src/wire/bytes.ts';
import { Header } from '../../src/wire/header.ts';
import {
  CanReassembler, CanTxTransfer, canCrc16, canFdLength, canFrameCount,
} from '../../src/framing/can-transfer.ts';
import {
  CanCompact, CanKeyTable, canCompress, canExpand, canId, canIdDst, canIdKind, canIdPort, canIdPriority,
  canIdSrc,
} from '../../src/framing/can-header.ts';

/** Where canSegment writes frame data in OUT; the frame lengths are bytes OUT[0..count). */
const SEG_FRAMES_AT: i32 = 2048;

const TX = new CanTxTransfer();
let RX: CanReassembler = new CanReassembler(8, 514, 2, 1000);
const OWN = new CanKeyTable();
const PEER = new CanKeyTable();
const COMPACT = new CanCompact();
const HDR = new Header();

/** CRC-16/CCITT-FALSE of IN[off..off+len) continued from `crc`. */
export function canCrc(crc: u32, off: i32, len: i32): u32 { return canCrc16(crc, IN, off, len); }
export function canFdLen(n: i32): i32 { return canFdLength(n); }
export function canFrames(len: i32, fd: bool): i32 { return canFrameCount(len, fd); }

/**
 * One transfer: prefix IN[prefixOff..+prefixLen) ++ payload IN[payOff..+payLen), cut into frames.
 * Frame k's length is OUT[k]; the frames follow each other from OUT[2048]. Returns the frame count
 * (at most 2048), or a negative code from next().
 */
export function canSegment(prefixOff: i32, prefixLen: i32, payOff: i32, payLen: i32, fd: bool, tid: i32): i32 {
  TX.begin(IN.subarray(prefixOff, prefixOff + prefixLen), prefixLen, IN, payOff, payLen, fd, tid);
  let at = SEG_FRAMES_AT;
  let count = 0;
  while (!TX.done) {
    if (count >= SEG_FRAMES_AT) return -1;
    const n = TX.next(OUT, at);
    if (n <= 0) return n;
    OUT[count++] = <u8>n;
    at += n;
  }
  return count;
}

/** TX.next into a view of OUT[0..cap) after canSegmentBegin: the frame length, 0 when done, or -code. */
export function canSegmentBegin(prefixOff: i32, prefixLen: i32, payOff: i32, payLen: i32, fd: bool, tid: i32): void {
  TX.begin(IN.subarray(prefixOff, prefixOff + prefixLen), prefixLen, IN, payOff, payLen, fd, tid);
}
export function canSegmentNextCap(outOff: i32, cap: i32): i32 { return TX.next(OUT.subarray(0, cap), outOff); }
export function canSegmentDone(): bool { return TX.done; }

/** A new reassembler (allocates). */
export function canRxNew(slots: i32, maxBytes: i32, perSource: i32, timeoutMs: f64): void {
  RX = new CanReassembler(slots, maxBytes, perSource, timeoutMs);
}

/**
 * RX.push of the frame IN[off..off+len) (the frame buffer is a view of IN[0..bufLen), so range
 * checks see that length). A completed transfer of n bytes is copied to OUT[0..n).
 */
export function canRxPush(id: u32, bufLen: i32, off: i32, len: i32, nowMs: f64): i32 {
  const n = RX.push(id, IN.subarray(0, bufLen), off, len, nowMs);
  if (n > 0) {
    const b = RX.buf;
    const o = RX.off;
    for (let i = 0; i < n; i++) OUT[i] = b[o + i];
  }
  return n;
}
export function canRxSweep(nowMs: f64): void { RX.sweep(nowMs); }
export function canRxReset(): void { RX.reset(); }
export function canRxOpen(): i32 { return RX.open; }
/**
 * Counters: 0 transfers, 1 errCrc, 2 errSequence, 3 errOrphan, 4 errTooLong, 5 errFull,
 * 6 errTimeout, 7 errBadFrame, 8 lastError, 9 tid of the last transfer.
 */
export function canRxCounter(which: i32): i32 {
  if (which == 0) return <i32>RX.transfers;
  if (which == 1) return <i32>RX.errCrc;
  if (which == 2) return <i32>RX.errSequence;
  if (which == 3) return <i32>RX.errOrphan;
  if (which == 4) return <i32>RX.errTooLong;
  if (which == 5) return <i32>RX.errFull;
  if (which == 6) return <i32>RX.errTimeout;
  if (which == 7) return <i32>RX.errBadFrame;
  if (which == 8) return RX.lastError;
  if (which == 9) return RX.tid;
  return -1;
}

export function canIdOf(priority: u32, kind: u32, port: u32, dst: u32, src: u32): u32 { return canId(priority, kind, port, dst, src); }
/** Field of a CAN id: 0 priority, 1 kind, 2 port, 3 destination, 4 source. */
export function canIdField(id: u32, which: i32): u32 {
  if (which == 0) return canIdPriority(id);
  if (which == 1) return canIdKind(id);
  if (which == 2) return canIdPort(id);
  if (which == 3) return canIdDst(id);
  return canIdSrc(id);
}

/** Load table 0 (own) or 1 (peer) from the HELLO payload IN[off..off+len) (a view of IN[0..bufLen)). */
export function canTableLoad(which: i32, bufLen: i32, off: i32, len: i32): i32 {
  return (which == 0 ? OWN : PEER).loadHello(IN.subarray(0, bufLen), off, len);
}
export function canTableCount(which: i32): i32 { return (which == 0 ? OWN : PEER).count; }
export function canTableIndexOf(which: i32, lo: u32, hi: u32): i32 { return (which == 0 ? OWN : PEER).indexOf(lo, hi); }
/** Word `hi` (0 low, 1 high) of entry i's key in table `which`. */
export function canTableKey(which: i32, i: i32, hi: i32): u32 {
  const t = which == 0 ? OWN : PEER;
  if (i < 0 || i >= t.count) return 0;
  return hi != 0 ? t.keyHi[i] : t.keyLo[i];
}

/**
 * canCompress of the header (kind, flags, channel, callId, keyLo, keyHi, length) from `src` to
 * `dst`. OUT[0..4) the CAN id, OUT[4..8) prefixLen, OUT[8..12) tid, OUT[16..16+prefixLen) the
 * prefix. Returns prefixLen.
 */
export function canCompressHdr(kind: u32, flags: u32, channel: u32, callId: u32, keyLo: u32, keyHi: u32, length: u32,
  src: u32, dst: u32, callTid: i32, rollingTid: i32): i32 {
  setHeaderFields(HDR, kind, flags, channel, callId, keyLo, keyHi, length);
  canCompress(HDR, src, dst, OWN, PEER, callTid, rollingTid, COMPACT);
  writeU32LE(OUT, 0, COMPACT.id);
  writeU32LE(OUT, 4, <u32>COMPACT.prefixLen);
  writeU32LE(OUT, 8, <u32>COMPACT.tid);
  for (let i = 0; i < COMPACT.prefixLen; i++) OUT[16 + i] = COMPACT.prefix[i];
  return COMPACT.prefixLen;
}

/**
 * canExpand of the transfer IN[off..off+len) (a view of IN[0..bufLen)) with CAN id `id` and
 * transfer id `tid`. Writes kind, flags, channel, callId, keyLo, keyHi, length as seven u32 LE
 * words at OUT[0..28) whatever the result. Returns canExpand's result.
 */
export function canExpandHdr(id: u32, bufLen: i32, off: i32, len: i32, tid: i32): i32 {
  HDR.kind = 0; HDR.flags = 0; HDR.channel = 0; HDR.callId = 0; HDR.keyLo = 0; HDR.keyHi = 0; HDR.length = 0;
  const r = canExpand(id, IN.subarray(0, bufLen), off, len, tid, OWN, PEER, HDR);
  headerFieldsToOut(HDR);
  return r;
}
