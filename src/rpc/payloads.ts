// Payloads of the RPC control frames: HELLO, ERROR, CREDIT (docs/rpc.md §4, byte by byte).
// All integers little-endian; strings UTF-8 with a length prefix, never NUL-terminated.
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../wire/bytes.ts';
import { HEADER_BYTES } from '../wire/header.ts';
import type { EntryInfo } from './define.ts';

export const PROTOCOL_VERSION = 1;
export const HELLO_FLAG_SERVING = 0x01;
export const HELLO_FLAG_CALLING = 0x02;
/**
 * This HELLO answers a HELLO the sender got; it does not start a session of the sender's. A UART
 * client takes a HELLO without it, after the handshake, for a device reset (docs/uart.md §2).
 */
export const HELLO_FLAG_ANSWER = 0x04;

/** Whether the HELLO frame at buf[off, off+len) (header included) is marked as an answer. An empty HELLO is not. */
export function helloIsAnswer(buf: Uint8Array, off: number, len: number): boolean {
  return len >= HEADER_BYTES + 2 && (buf[off + HEADER_BYTES + 1]! & HELLO_FLAG_ANSWER) !== 0;
}

/** Mark the HELLO frame `frame` (header included, `len` bytes) as an answer, in place. */
export function markHelloAnswer(frame: Uint8Array, len: number = frame.length): void {
  if (len >= HEADER_BYTES + 2) frame[HEADER_BYTES + 1] = frame[HEADER_BYTES + 1]! | HELLO_FLAG_ANSWER;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export interface HelloInfo {
  /** RPC protocol version (1). */
  readonly version: number;
  readonly flags: number;
  /** Sender's heartbeat interval in ms (0 = it sends none). */
  readonly heartbeatMs: number;
  /** Largest frame the sender accepts, header included. */
  readonly maxFrameBytes: number;
  readonly cellName: string;
  readonly entries: readonly EntryInfo[];
}

const KIND_CODE = { method: 1, event: 2, stream: 3 } as const;
const CODE_KIND = [undefined, 'method', 'event', 'stream'] as const;

function writeU64(buf: Uint8Array, off: number, v: bigint): void {
  writeU32LE(buf, off, Number(v & 0xffffffffn));
  writeU32LE(buf, off + 4, Number((v >> 32n) & 0xffffffffn));
}
function readU64(buf: Uint8Array, off: number): bigint {
  return (BigInt(readU32LE(buf, off + 4)) << 32n) | BigInt(readU32LE(buf, off));
}

/** Encode a HELLO payload (allocates: once per connection). */
export function encodeHello(h: HelloInfo): Uint8Array {
  const name = enc.encode(h.cellName);
  if (name.length > 255) throw new RangeError('cell name over 255 bytes');
  const names = h.entries.map((e) => enc.encode(e.name));
  let size = 8 + 1 + name.length + 2;
  for (const n of names) size += 2 + n.length + 24;
  const b = new Uint8Array(size);
  b[0] = h.version;
  b[1] = h.flags;
  writeU16LE(b, 2, h.heartbeatMs);
  writeU32LE(b, 4, h.maxFrameBytes);
  b[8] = name.length;
  b.set(name, 9);
  let p = 9 + name.length;
  writeU16LE(b, p, h.entries.length);
  p += 2;
  h.entries.forEach((e, i) => {
    const n = names[i]!;
    b[p] = KIND_CODE[e.kind];
    b[p + 1] = n.length;
    b.set(n, p + 2);
    p += 2 + n.length;
    writeU64(b, p, e.key);
    writeU64(b, p + 8, e.requestFp);
    writeU64(b, p + 16, e.responseFp);
    p += 24;
  });
  return b;
}

/** Decode a HELLO payload; null when it is malformed. */
export function decodeHello(b: Uint8Array, off: number, end: number): HelloInfo | null {
  try {
    if (end - off < 11) return null;
    const version = b[off]!;
    const flags = b[off + 1]!;
    const heartbeatMs = readU16LE(b, off + 2);
    const maxFrameBytes = readU32LE(b, off + 4);
    const nl = b[off + 8]!;
    let p = off + 9;
    if (p + nl + 2 > end) return null;
    const cellName = dec.decode(b.subarray(p, p + nl));
    p += nl;
    const count = readU16LE(b, p);
    p += 2;
    const entries: EntryInfo[] = [];
    for (let i = 0; i < count; i++) {
      if (p + 2 > end) return null;
      const kind = CODE_KIND[b[p]!];
      const kl = b[p + 1]!;
      if (kind === undefined || p + 2 + kl + 24 > end) return null;
      const name = dec.decode(b.subarray(p + 2, p + 2 + kl));
      p += 2 + kl;
      entries.push({ kind, name, key: readU64(b, p), requestFp: readU64(b, p + 8), responseFp: readU64(b, p + 16) });
      p += 24;
    }
    if (p !== end) return null;
    return { version, flags, heartbeatMs, maxFrameBytes, cellName, entries };
  } catch {
    return null; // invalid UTF-8
  }
}

/**
 * ERROR payload: u16 code, u16 message length n, n bytes UTF-8 message, then (application errors
 * with a payload schema only) the encoded payload up to the end of the frame.
 * Writes at `buf[off..)`; returns the offset where the app payload goes. The message is cut to
 * fit `maxMessageBytes` on a character boundary.
 */
export function writeErrorHead(buf: Uint8Array, off: number, code: number, message: string, maxMessageBytes: number): number {
  writeU16LE(buf, off, code);
  let n = 0;
  if (message.length > 0) {
    const room = Math.max(0, Math.min(maxMessageBytes, buf.length - off - 4, 0xffff));
    const r = enc.encodeInto(message, buf.subarray(off + 4, off + 4 + room));
    n = r.written;
  }
  writeU16LE(buf, off + 2, n);
  return off + 4 + n;
}

export interface ErrorHead { code: number; message: string; payloadOff: number }

/** Read an ERROR payload head; null when malformed. */
export function readErrorHead(b: Uint8Array, off: number, end: number, out: ErrorHead): ErrorHead | null {
  if (end - off < 4) return null;
  out.code = readU16LE(b, off);
  const n = readU16LE(b, off + 2);
  if (off + 4 + n > end) return null;
  try {
    out.message = n === 0 ? '' : dec.decode(b.subarray(off + 4, off + 4 + n));
  } catch {
    out.message = '';
  }
  out.payloadOff = off + 4 + n;
  return out;
}
