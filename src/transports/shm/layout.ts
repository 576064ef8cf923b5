// Byte layout of a shared-memory segment (docs/shm.md §2 "Layout"): a 256-byte segment header,
// then two rings of the same capacity, one per direction. Ring 0 carries frames from the side
// that created the segment (side 0) to the side that opened it (side 1); ring 1 the other way.
// All fields are 32-bit words in the host's byte order (both sides run on one host), each on the
// 64-byte cache line given here, so a producer and a consumer never write the same line.

/** Segment header word 0: 'CSHM' read as a little-endian u32. */
export const SHM_MAGIC = 0x4d485343;
/** Layout version (segment header word 1); a different one is refused. */
export const SHM_VERSION = 1;

export const SEG_HEADER_BYTES = 256;
export const SEG_OFF_MAGIC = 0;
export const SEG_OFF_VERSION = 4;
/** Capacity of each ring's data area in bytes (a power of two). */
export const SEG_OFF_RING_BYTES = 8;
/** pid of the creator (side 0) and of the side that opened the segment (side 1, 0 until then). */
export const SEG_OFF_CREATOR_PID = 12;
export const SEG_OFF_OPENER_PID = 16;
/** Random 32-bit epoch chosen by the creator; the opener checks it against the offer. */
export const SEG_OFF_EPOCH = 20;
/** Line 1: side s sets word SEG_OFF_CLOSED + 4*s to 1 before it closes cleanly. */
export const SEG_OFF_CLOSED = 64;
/** Line 2 and 3: doorbell words of side 0 and side 1 (between threads: Atomics.notify/waitAsync). */
export const SEG_OFF_BELL = 128;
export const SEG_BELL_STRIDE = 64;

export const RING_HEADER_BYTES = 256;
/** Producer's index: bytes written since the start, a free-running u32. Written by the producer only. */
export const RING_OFF_TAIL = 0;
/** Consumer's index: bytes consumed since the start, a free-running u32. Written by the consumer only. */
export const RING_OFF_HEAD = 64;
/** 1: the consumer is parked and reads nothing until the doorbell rings. Set by the consumer, cleared by whoever wins the exchange. */
export const RING_OFF_SLEEPING = 128;
/** 1: the producer found the ring full and waits for the doorbell. Set by the producer, cleared likewise. */
export const RING_OFF_WAITING = 192;

/** Record head: u32 frame length; this value instead means "the rest of the ring is padding". */
export const RECORD_WRAP = 0xffffffff;
export const RECORD_HEAD_BYTES = 4;

/** Smallest and largest ring capacity accepted (bytes; a power of two). */
export const RING_MIN_BYTES = 4096;
export const RING_MAX_BYTES = 1 << 28;

/** Bytes of a segment whose rings hold `ringBytes` each. */
export function segmentBytes(ringBytes: number): number {
  return SEG_HEADER_BYTES + 2 * (RING_HEADER_BYTES + ringBytes);
}

/** Offset of ring `i`'s header in the segment (its data follows the header). */
export function ringOffset(ringBytes: number, i: 0 | 1): number {
  return SEG_HEADER_BYTES + i * (RING_HEADER_BYTES + ringBytes);
}

/** Bytes a record of a `frameBytes` frame takes: head + frame, rounded up to 4. */
export function recordBytes(frameBytes: number): number {
  return (RECORD_HEAD_BYTES + frameBytes + 3) & ~3;
}

/**
 * Largest frame a ring of `ringBytes` carries: a record of at most half the ring always fits,
 * at the end or after the wrap, once the consumer has caught up.
 */
export function ringMaxFrame(ringBytes: number): number {
  return ringBytes / 2 - RECORD_HEAD_BYTES;
}

export function isValidRingBytes(n: number): boolean {
  return Number.isInteger(n) && n >= RING_MIN_BYTES && n <= RING_MAX_BYTES && (n & (n - 1)) === 0;
}
