// Payloads of the RPC control frames: HELLO, ERROR, CREDIT (docs/rpc.md §4, byte by byte), encoded
// and decoded on the host. The offsets, flags and sizes are src/wire/layouts.ts, the table the
// firmware (firmware/shared/rpc-core.ts) reads too.
// All integers little-endian; strings UTF-8 with a length prefix, never NUL-terminated.
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../wire/bytes.ts';
import { HEADER_BYTES } from '../wire/header.ts';
import {
  ENTRY_KIND_EVENT, ENTRY_KIND_METHOD, ENTRY_KIND_STREAM, ERROR_HEAD_BYTES, ERROR_OFF_CODE,
  ERROR_OFF_MESSAGE, ERROR_OFF_MESSAGE_LEN, HELLO_COUNT_BYTES, HELLO_ENTRY_OFF_NAME, HELLO_ENTRY_OFF_NAME_LEN,
  HELLO_ENTRY_KEY, HELLO_ENTRY_REQUEST_FP, HELLO_ENTRY_RESPONSE_FP, HELLO_ENTRY_TAIL_BYTES, HELLO_FLAG_ANSWER,
  HELLO_MIN_BYTES, HELLO_NAME_MAX_BYTES, HELLO_OFF_FLAGS, HELLO_OFF_HEARTBEAT_MS, HELLO_OFF_MAX_FRAME_BYTES,
  HELLO_OFF_NAME, HELLO_OFF_NAME_LEN, HELLO_OFF_VERSION, RPC_PROTOCOL_VERSION, HELLO_EXT_HEAD_BYTES, HELLO_FLAG_EXTENSIONS,
} from '../wire/layouts.ts';
import type { EntryInfo } from './define.ts';

export { HELLO_FLAG_ANSWER, HELLO_FLAG_CALLING, HELLO_FLAG_EXTENSIONS, HELLO_FLAG_SERVING } from '../wire/layouts.ts';
/** RPC protocol version (HELLO byte 0): src/wire/layouts.ts RPC_PROTOCOL_VERSION. */
export const PROTOCOL_VERSION: number = RPC_PROTOCOL_VERSION;

/** Whether the HELLO frame at buf[off, off+len) (header included) is marked as an answer. An empty HELLO is not. */
export function helloIsAnswer(buf: Uint8Array, off: number, len: number): boolean {
  const flags = off + HEADER_BYTES + HELLO_OFF_FLAGS;
  return len > HEADER_BYTES + HELLO_OFF_FLAGS && (buf[flags]! & HELLO_FLAG_ANSWER) !== 0;
}

/** Mark the HELLO frame `frame` (header included, `len` bytes) as an answer, in place. */
export function markHelloAnswer(frame: Uint8Array, len: number = frame.length): void {
  const flags = HEADER_BYTES + HELLO_OFF_FLAGS;
  if (len > flags) frame[flags] = frame[flags]! | HELLO_FLAG_ANSWER;
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
  /** Extension bytes after the table (HELLO_FLAG_EXTENSIONS: u8 type, u16 length, body; …); empty when none. */
  readonly extensions?: Uint8Array;
}

const KIND_CODE: Readonly<Record<EntryInfo['kind'], number>> = { method: ENTRY_KIND_METHOD, event: ENTRY_KIND_EVENT, stream: ENTRY_KIND_STREAM };
const CODE_KIND: (EntryInfo['kind'] | undefined)[] = [];
CODE_KIND[ENTRY_KIND_METHOD] = 'method';
CODE_KIND[ENTRY_KIND_EVENT] = 'event';
CODE_KIND[ENTRY_KIND_STREAM] = 'stream';

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
  if (name.length > HELLO_NAME_MAX_BYTES) throw new RangeError(`cell name over ${HELLO_NAME_MAX_BYTES} bytes`);
  const names = h.entries.map((e) => enc.encode(e.name));
  let size = HELLO_OFF_NAME + name.length + HELLO_COUNT_BYTES;
  for (const n of names) size += HELLO_ENTRY_OFF_NAME + n.length + HELLO_ENTRY_TAIL_BYTES;
  const ext = h.extensions ?? EMPTY;
  const b = new Uint8Array(size + ext.length);
  b[HELLO_OFF_VERSION] = h.version;
  b[HELLO_OFF_FLAGS] = ext.length > 0 ? h.flags | HELLO_FLAG_EXTENSIONS : h.flags & ~HELLO_FLAG_EXTENSIONS;
  writeU16LE(b, HELLO_OFF_HEARTBEAT_MS, h.heartbeatMs);
  writeU32LE(b, HELLO_OFF_MAX_FRAME_BYTES, h.maxFrameBytes);
  b[HELLO_OFF_NAME_LEN] = name.length;
  b.set(name, HELLO_OFF_NAME);
  let p = HELLO_OFF_NAME + name.length;
  writeU16LE(b, p, h.entries.length);
  p += HELLO_COUNT_BYTES;
  h.entries.forEach((e, i) => {
    const n = names[i]!;
    b[p] = KIND_CODE[e.kind];
    b[p + HELLO_ENTRY_OFF_NAME_LEN] = n.length;
    b.set(n, p + HELLO_ENTRY_OFF_NAME);
    p += HELLO_ENTRY_OFF_NAME + n.length;
    writeU64(b, p + HELLO_ENTRY_KEY, e.key);
    writeU64(b, p + HELLO_ENTRY_REQUEST_FP, e.requestFp);
    writeU64(b, p + HELLO_ENTRY_RESPONSE_FP, e.responseFp);
    p += HELLO_ENTRY_TAIL_BYTES;
  });
  b.set(ext, p);
  return b;
}

/** Decode a HELLO payload; null when it is malformed. */
/**
 * The entry count a HELLO payload `b[off..end)` declares, read without decoding anything else
 * (the bound a receiver checks first: docs/rpc.md §3.2); -1 when the payload is too short to say.
 */
export function helloEntryCount(b: Uint8Array, off: number, end: number): number {
  if (end - off < HELLO_MIN_BYTES) return -1;
  const p = off + HELLO_OFF_NAME + b[off + HELLO_OFF_NAME_LEN]!;
  return p + HELLO_COUNT_BYTES > end ? -1 : readU16LE(b, p);
}

const EMPTY = new Uint8Array(0);

/** One extension: type, then its body (u8 type, u16 length, bytes). */
export function encodeHelloExtension(type: number, body: Uint8Array): Uint8Array {
  if (body.length > 0xffff) throw new RangeError('a HELLO extension body is at most 65535 bytes');
  const b = new Uint8Array(HELLO_EXT_HEAD_BYTES + body.length);
  b[0] = type;
  writeU16LE(b, 1, body.length);
  b.set(body, HELLO_EXT_HEAD_BYTES);
  return b;
}

/**
 * Walk the extensions in b[p..end): the offset of the body of the first of type `type` (its
 * length is the u16 before it), or — when none is of that type (pass -1 to just check them) —
 * `end` if they are well formed, -1 if not.
 */
export function helloExtension(b: Uint8Array, p: number, end: number, type: number): number {
  while (p < end) {
    if (p + HELLO_EXT_HEAD_BYTES > end) return -1;
    const n = readU16LE(b, p + 1);
    if (p + HELLO_EXT_HEAD_BYTES + n > end) return -1;
    if (b[p] === type) return p + HELLO_EXT_HEAD_BYTES;
    p += HELLO_EXT_HEAD_BYTES + n;
  }
  return end;
}

/**
 * Where the extensions of the HELLO payload b[off..end) start: -1 when it is not flagged
 * HELLO_FLAG_EXTENSIONS or its table runs past `end`. Cheaper than decodeHello (no names decoded).
 */
export function helloExtensionsAt(b: Uint8Array, off: number, end: number): number {
  if (end - off < HELLO_MIN_BYTES || (b[off + HELLO_OFF_FLAGS]! & HELLO_FLAG_EXTENSIONS) === 0) return -1;
  let p = off + HELLO_OFF_NAME + b[off + HELLO_OFF_NAME_LEN]!;
  if (p + HELLO_COUNT_BYTES > end) return -1;
  const count = readU16LE(b, p);
  p += HELLO_COUNT_BYTES;
  for (let i = 0; i < count; i++) {
    if (p + HELLO_ENTRY_OFF_NAME > end) return -1;
    p += HELLO_ENTRY_OFF_NAME + b[p + HELLO_ENTRY_OFF_NAME_LEN]! + HELLO_ENTRY_TAIL_BYTES;
  }
  return p > end ? -1 : p;
}

export function decodeHello(b: Uint8Array, off: number, end: number): HelloInfo | null {
  try {
    if (end - off < HELLO_MIN_BYTES) return null;
    const version = b[off + HELLO_OFF_VERSION]!;
    const flags = b[off + HELLO_OFF_FLAGS]!;
    const heartbeatMs = readU16LE(b, off + HELLO_OFF_HEARTBEAT_MS);
    const maxFrameBytes = readU32LE(b, off + HELLO_OFF_MAX_FRAME_BYTES);
    const nl = b[off + HELLO_OFF_NAME_LEN]!;
    let p = off + HELLO_OFF_NAME;
    if (p + nl + HELLO_COUNT_BYTES > end) return null;
    const cellName = dec.decode(b.subarray(p, p + nl));
    p += nl;
    const count = readU16LE(b, p);
    p += HELLO_COUNT_BYTES;
    const entries: EntryInfo[] = [];
    for (let i = 0; i < count; i++) {
      if (p + HELLO_ENTRY_OFF_NAME > end) return null;
      const kind = CODE_KIND[b[p]!];
      const kl = b[p + HELLO_ENTRY_OFF_NAME_LEN]!;
      if (kind === undefined || p + HELLO_ENTRY_OFF_NAME + kl + HELLO_ENTRY_TAIL_BYTES > end) return null;
      const name = dec.decode(b.subarray(p + HELLO_ENTRY_OFF_NAME, p + HELLO_ENTRY_OFF_NAME + kl));
      p += HELLO_ENTRY_OFF_NAME + kl;
      entries.push({
        kind, name, key: readU64(b, p + HELLO_ENTRY_KEY), requestFp: readU64(b, p + HELLO_ENTRY_REQUEST_FP),
        responseFp: readU64(b, p + HELLO_ENTRY_RESPONSE_FP),
      });
      p += HELLO_ENTRY_TAIL_BYTES;
    }
    if ((flags & HELLO_FLAG_EXTENSIONS) === 0) return p === end ? { version, flags, heartbeatMs, maxFrameBytes, cellName, entries } : null;
    if (helloExtension(b, p, end, -1) !== end) return null;
    return { version, flags, heartbeatMs, maxFrameBytes, cellName, entries, extensions: b.slice(p, end) };
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
  writeU16LE(buf, off + ERROR_OFF_CODE, code);
  const m = off + ERROR_OFF_MESSAGE;
  let n = 0;
  if (message.length > 0) {
    const room = Math.max(0, Math.min(maxMessageBytes, buf.length - m, 0xffff));
    const r = enc.encodeInto(message, buf.subarray(m, m + room));
    n = r.written;
  }
  writeU16LE(buf, off + ERROR_OFF_MESSAGE_LEN, n);
  return m + n;
}

export interface ErrorHead { code: number; message: string; payloadOff: number }

/** Read an ERROR payload head; null when malformed. */
export function readErrorHead(b: Uint8Array, off: number, end: number, out: ErrorHead): ErrorHead | null {
  if (end - off < ERROR_HEAD_BYTES) return null;
  out.code = readU16LE(b, off + ERROR_OFF_CODE);
  const n = readU16LE(b, off + ERROR_OFF_MESSAGE_LEN);
  const m = off + ERROR_OFF_MESSAGE;
  if (m + n > end) return null;
  try {
    out.message = n === 0 ? '' : dec.decode(b.subarray(m, m + n));
  } catch {
    out.message = '';
  }
  out.payloadOff = m + n;
  return out;
}
