// Drives a Bootloader (firmware/boot/loader.ts) with boot-protocol frames in memory, as the host
// would over a UART: the state-machine tests use it without a pty or a process.
import { Bootloader, BootConfig } from '../../firmware/boot/loader.ts';
import { BootLayout } from '../../firmware/boot/flash.ts';
import { NobleVerifier } from '../../firmware/boot/noble-verify.ts';
import { crc32c } from '../../src/framing/crc32c.ts';
import { writeU32LE, readU16LE } from '../../src/wire/bytes.ts';
import { CHANNEL_BOOT, HEADER_BYTES, Header, KIND_ERROR, KIND_REQUEST, readHeader, writeHeader } from '../../src/wire/header.ts';
import { BOOT_KEY_HI, OP_BEGIN, OP_CHUNK, OP_COMMIT, OP_CONFIRM } from '../../src/flash/boot-wire.ts';
import type { MemFlash } from './mem-flash.ts';

export const PAGE = 256;
export const SLOT_PAGES = 16; // 4 KiB slots
export const CHUNK = 256;

/** A Bootloader over `flash`; with `trustedKey` it verifies signatures (@noble/curves, strict). */
export function makeLoader(flash: MemFlash, chunkBytes = CHUNK, trustedKey?: Uint8Array): Bootloader {
  const cfg = new BootConfig();
  cfg.board.set(new TextEncoder().encode('sim'));
  cfg.chunkBytes = chunkBytes;
  if (trustedKey !== undefined) cfg.trustedKey.set(trustedKey);
  return new Bootloader(flash, new BootLayout(PAGE, SLOT_PAGES), cfg, new NobleVerifier());
}

let callId = 1;
const out = new Uint8Array(4096);
const hdr = new Header();

export interface Reply { ok: boolean; code: number; payload: Uint8Array }

/** One request through bl.handle; returns the answer (ERROR → ok false with its code). */
export function call(bl: Bootloader, op: number, payload: Uint8Array = new Uint8Array(0)): Reply {
  const f = new Uint8Array(HEADER_BYTES + payload.length);
  const h = new Header();
  h.kind = KIND_REQUEST; h.channel = CHANNEL_BOOT; h.callId = callId++; h.keyLo = op; h.keyHi = BOOT_KEY_HI; h.length = payload.length;
  writeHeader(h, f, 0);
  f.set(payload, HEADER_BYTES);
  const n = bl.handle(f, f.length, out);
  if (n <= 0) throw new Error(`no answer to op ${op}`);
  if (readHeader(out, 0, n, 4096, hdr) < 0) throw new Error('answer header invalid');
  const p = out.slice(HEADER_BYTES, n);
  if (hdr.kind === KIND_ERROR) return { ok: false, code: readU16LE(p, 0), payload: p };
  return { ok: true, code: 0, payload: p };
}

export function chunkPayload(image: Uint8Array, off: number, chunkBytes = CHUNK): Uint8Array {
  const n = Math.min(chunkBytes, image.length - off);
  const p = new Uint8Array(8 + n);
  writeU32LE(p, 0, off);
  writeU32LE(p, 4, crc32c(image, off, n));
  p.set(image.subarray(off, off + n), 8);
  return p;
}

/** BEGIN, every chunk, COMMIT; throws on any refusal. */
export function install(bl: Bootloader, image: Uint8Array, manifest: Uint8Array, chunkBytes = CHUNK): void {
  let r = call(bl, OP_BEGIN, manifest);
  if (!r.ok) throw new Error(`BEGIN refused: ${r.code}`);
  for (let off = 0; off < image.length; off += chunkBytes) {
    r = call(bl, OP_CHUNK, chunkPayload(image, off, chunkBytes));
    if (!r.ok) throw new Error(`CHUNK ${off} refused: ${r.code}`);
  }
  r = call(bl, OP_COMMIT);
  if (!r.ok) throw new Error(`COMMIT refused: ${r.code}`);
}

/** Boot and, if it lands on a trial, confirm it (a healthy app). Returns the slot run, or -1. */
export function bootAndConfirm(bl: Bootloader): number {
  const s = bl.boot();
  if (s < 0) return s;
  bl.enterApp(s);
  const trial = bl.state.trial === s;
  if (trial && !call(bl, OP_CONFIRM).ok) throw new Error('CONFIRM refused');
  return s;
}
