// The boot messages of test/vectors/boot.json as JSON fields ⇄ bytes, through the portable
// encoders and decoders of src/flash/boot-wire.ts (shared by the generator and the tests).
import { fromHex, toHex } from '../helpers/hex.ts';
import {
  Answer, BootInfo, Manifest, SlotInfo, bitmapBytes, decodeBeginRes, decodeChunkRes, decodeInfo, decodeManifest,
  decodeSlotRes, decodeStatusHead, encodeBeginRes, encodeChunkRes, encodeInfo, encodeManifest, encodeSlotRes,
  encodeStatusHead, BOOT_KEY_HI, OP_CHUNK, STATUS_HEAD_BYTES,
} from '../../src/flash/boot-wire.ts';
import { boardName, formatVersion, parseVersion } from '../../src/flash/manifest.ts';
import { CHANNEL_BOOT, HEADER_BYTES, Header, KIND_ERROR, KIND_REQUEST, readHeader, writeHeader } from '../../src/wire/header.ts';
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../../src/wire/bytes.ts';
import { crc32c } from '../../src/framing/crc32c.ts';

export interface BootMessage { message: string; fields: Record<string, unknown> }
type F = Record<string, any>;

const board16 = (s: string): Uint8Array => { const b = new Uint8Array(16); b.set(new TextEncoder().encode(s)); return b; };

function slotIn(f: F, s: SlotInfo): void { s.state = f.state; s.version = parseVersion(f.version); s.imageBytes = f.imageBytes; s.shaPrefix = f.shaPrefix; s.securityVersion = f.securityVersion ?? 0; }
/** Protocol 2 adds the slot's security version (protocol 1 leaves it out). */
function slotOut(s: SlotInfo, protocol: number): F {
  const o: F = { state: s.state, version: formatVersion(s.version), imageBytes: s.imageBytes, shaPrefix: s.shaPrefix };
  if (protocol >= 2) o.securityVersion = s.securityVersion;
  return o;
}

function frame(kind: number, op: number, callId: number, payload: Uint8Array): Uint8Array {
  const h = new Header();
  h.kind = kind; h.channel = CHANNEL_BOOT; h.callId = callId; h.keyLo = op; h.keyHi = BOOT_KEY_HI; h.length = payload.length;
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  writeHeader(h, out, 0);
  out.set(payload, HEADER_BYTES);
  return out;
}

export function encodeBootMessage(m: BootMessage): Uint8Array {
  const f = m.fields as F;
  const buf = new Uint8Array(512);
  let n = -1;
  switch (m.message) {
    case 'manifest': {
      const v = new Manifest();
      v.imageBytes = f.imageBytes; v.version = parseVersion(f.version); v.board.set(board16(f.board));
      v.sha256.set(fromHex(f.sha256)); v.key.set(fromHex(f.key)); v.signature.set(fromHex(f.signature));
      n = encodeManifest(v, buf, 0);
      break;
    }
    case 'info': {
      const v = new BootInfo();
      v.protocol = f.protocol; v.mode = f.mode; v.bootloaderVersion = f.bootloaderVersion; v.board.set(board16(f.board)); v.maxImageBytes = f.maxImageBytes;
      v.chunkBytes = f.chunkBytes; v.window = f.window; v.runningSlot = f.runningSlot; v.activeSlot = f.activeSlot;
      v.trialSlot = f.trialSlot; v.flags = f.flags; v.minSecurityVersion = f.minSecurityVersion ?? 0; slotIn(f.slot0, v.slot0); slotIn(f.slot1, v.slot1);
      n = encodeInfo(v, buf, 0);
      break;
    }
    case 'begin-res': { const a = Object.assign(new Answer(), f); n = encodeBeginRes(a, buf, 0); break; }
    case 'chunk-res': { const a = Object.assign(new Answer(), f); n = encodeChunkRes(a, buf, 0); break; }
    case 'slot-res': { const a = new Answer(); a.slot = f.slot; a.version = parseVersion(f.version); n = encodeSlotRes(a, buf, 0); break; }
    case 'status': {
      const a = Object.assign(new Answer(), { ...f, bitmap: undefined });
      n = encodeStatusHead(a, buf, 0);
      const bm = fromHex(f.bitmap);
      buf.set(bm, n);
      n += bm.length;
      break;
    }
    case 'request': return frame(KIND_REQUEST, f.op, f.callId, fromHex(f.payload));
    case 'chunk-req': {
      const data = fromHex(f.data);
      const p = new Uint8Array(8 + data.length);
      writeU32LE(p, 0, f.offset); writeU32LE(p, 4, crc32c(data)); p.set(data, 8);
      return frame(KIND_REQUEST, OP_CHUNK, f.callId, p);
    }
    case 'error': { const p = new Uint8Array(4); writeU16LE(p, 0, f.code); return frame(KIND_ERROR, f.op, f.callId, p); }
    default: throw new Error(`unknown message ${m.message}`);
  }
  if (n < 0) throw new Error(`encode ${m.message} failed: ${n}`);
  return buf.slice(0, n);
}

/** Decode `bytes` as `message`: the fields, or the negative code of the decoder. */
export function decodeBootMessage(message: string, bytes: Uint8Array): F | number {
  const end = bytes.length;
  switch (message) {
    case 'manifest': {
      const v = new Manifest();
      const r = decodeManifest(bytes, 0, end, v);
      if (r < 0) return r;
      return { imageBytes: v.imageBytes, version: formatVersion(v.version), board: boardName(v.board), sha256: toHex(v.sha256), key: toHex(v.key), signature: toHex(v.signature) };
    }
    case 'info': {
      const v = new BootInfo();
      const r = decodeInfo(bytes, 0, end, v);
      if (r < 0) return r;
      return {
        protocol: v.protocol, mode: v.mode, bootloaderVersion: v.bootloaderVersion, board: boardName(v.board), maxImageBytes: v.maxImageBytes,
        chunkBytes: v.chunkBytes, window: v.window, runningSlot: v.runningSlot, activeSlot: v.activeSlot, trialSlot: v.trialSlot,
        flags: v.flags, ...(v.protocol >= 2 ? { minSecurityVersion: v.minSecurityVersion } : {}),
        slot0: slotOut(v.slot0, v.protocol), slot1: slotOut(v.slot1, v.protocol),
      };
    }
    case 'begin-res': { const a = new Answer(); const r = decodeBeginRes(bytes, 0, end, a); return r < 0 ? r : { slot: a.slot, resumed: a.resumed, chunkBytes: a.chunkBytes, chunkCount: a.chunkCount, chunksReceived: a.chunksReceived }; }
    case 'chunk-res': { const a = new Answer(); const r = decodeChunkRes(bytes, 0, end, a); return r < 0 ? r : { offset: a.offset, chunksReceived: a.chunksReceived, chunkCount: a.chunkCount }; }
    case 'slot-res': { const a = new Answer(); const r = decodeSlotRes(bytes, 0, end, a); return r < 0 ? r : { slot: a.slot, version: formatVersion(a.version) }; }
    case 'status': {
      const a = new Answer();
      const r = decodeStatusHead(bytes, 0, end, a);
      if (r < 0) return r;
      return { state: a.state, slot: a.slot, chunkBytes: a.chunkBytes, imageBytes: a.imageBytes, chunkCount: a.chunkCount, chunksReceived: a.chunksReceived, bitmap: toHex(bytes.subarray(STATUS_HEAD_BYTES, STATUS_HEAD_BYTES + bitmapBytes(a.chunkCount))) };
    }
    case 'request': case 'chunk-req': case 'error': {
      const h = new Header();
      const r = readHeader(bytes, 0, end, 1 << 20, h);
      if (r < 0) return r;
      const p = bytes.subarray(HEADER_BYTES);
      if (message === 'request') return { op: h.keyLo, callId: h.callId, payload: toHex(p) };
      if (message === 'error') return { op: h.keyLo, callId: h.callId, code: readU16LE(p, 0) };
      return { callId: h.callId, offset: readU32LE(p, 0), data: toHex(p.subarray(8)) };
    }
    default: throw new Error(`unknown message ${message}`);
  }
}
