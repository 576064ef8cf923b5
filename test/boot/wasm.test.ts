// The bootloader compiled by asc (firmware/boot/wasm-entry.ts → wasm, the native port's input)
// against the same source run by tsc: one scripted update, answer by answer and byte by byte,
// and the flash contents after it (docs/portable-subset.md: both builds must agree).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemFlash } from './mem-flash.ts';
import { makeLoader, chunkPayload, PAGE, SLOT_PAGES, CHUNK } from './boot-driver.ts';
import { BootLayout } from '../../firmware/boot/flash.ts';
import type { Bootloader } from '../../firmware/boot/loader.ts';
import { buildManifest } from '../../src/flash/manifest.ts';
import { toHex } from '../helpers/hex.ts';
import { prng } from '../helpers/prng.ts';
import {
  BOOT_KEY_HI, OP_BEGIN, OP_CHUNK, OP_COMMIT, OP_CONFIRM, OP_ENTER_BOOT, OP_INFO, OP_STATUS,
} from '../../src/flash/boot-wire.ts';
import { CHANNEL_BOOT, HEADER_BYTES, Header, KIND_REQUEST, writeHeader } from '../../src/wire/header.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
// The WebAssembly global, typed here: tsconfig's lib (ES2022, no DOM) does not declare it.
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { readonly exports: Record<string, unknown> };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const pages = new BootLayout(PAGE, SLOT_PAGES).totalPages();

function buildWasm(): Uint8Array {
  const dir = join(root, 'build', 'boot');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `boot.${process.pid}.wasm`);
  const r = spawnSync(process.execPath, [join(root, 'node_modules/assemblyscript/bin/asc.js'), 'firmware/boot/wasm-entry.ts',
    '--runtime', 'stub', '-Oz', '--converge', '--noAssert', '--use', 'abort=', '-o', out], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`asc failed:\n${r.stderr}`);
  const bytes = new Uint8Array(readFileSync(out));
  rmSync(out, { force: true });
  return bytes;
}

interface Side { boot(): number; enterApp(s: number): void; handle(frame: Uint8Array): string; action(): number; mem: Uint8Array }

function wasmSide(bytes: Uint8Array): Side {
  const flash = new MemFlash(PAGE, pages);
  let mem: WasmMemory;
  const u8 = (): Uint8Array => new Uint8Array(mem.buffer);
  const env = {
    flash_read: (addr: number, ptr: number, len: number) => flash.read(addr, u8(), ptr, len),
    flash_write: (addr: number, ptr: number, len: number) => flash.write(addr, u8(), ptr, len),
    flash_erase: (page: number) => flash.erase(page),
  };
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env });
  const x = inst.exports as Record<string, (...a: number[]) => number> & { memory: WasmMemory };
  mem = x.memory;
  u8().set(new TextEncoder().encode('sim\0\0\0\0\0\0\0\0\0\0\0\0\0'), x.reqPtr!() >>> 0);
  x.init!(PAGE, SLOT_PAGES, CHUNK, 4);
  return {
    boot: () => x.boot!(),
    enterApp: (s) => { x.enterApp!(s); },
    handle(frame) {
      u8().set(frame, x.reqPtr!() >>> 0);
      const n = x.handle!(frame.length);
      const o = x.outPtr!() >>> 0;
      return toHex(u8().subarray(o, o + n));
    },
    action: () => x.action!(),
    mem: flash.mem,
  };
}

function tscSide(): Side {
  const flash = new MemFlash(PAGE, pages);
  let bl: Bootloader = makeLoader(flash);
  const out = new Uint8Array(2048);
  return {
    boot: () => bl.boot(),
    enterApp: (s) => bl.enterApp(s),
    handle: (frame) => toHex(out.subarray(0, bl.handle(frame, frame.length, out))),
    action: () => bl.action,
    mem: flash.mem,
  };
}

let id = 1;
function req(op: number, p: Uint8Array = new Uint8Array(0)): Uint8Array {
  const f = new Uint8Array(HEADER_BYTES + p.length);
  const h = new Header();
  h.kind = KIND_REQUEST; h.channel = CHANNEL_BOOT; h.callId = id++; h.keyLo = op; h.keyHi = BOOT_KEY_HI; h.length = p.length;
  writeHeader(h, f, 0);
  f.set(p, HEADER_BYTES);
  return f;
}

const s = suite('bootloader: asc build = tsc build');
s('one scripted update (INFO, BEGIN, chunks with a bad CRC and a duplicate, STATUS, COMMIT, trial boot, CONFIRM, ENTER_BOOT, rollback): same answers, same flash', () => {
  const wasm = buildWasm();
  assert.ok(wasm.length < 16384, `bootloader wasm ${wasm.length} bytes`);
  const r = prng(77);
  const image = Uint8Array.from({ length: 2900 }, () => Math.floor(r() * 256));
  const image2 = Uint8Array.from({ length: 1500 }, () => Math.floor(r() * 256));
  const m = buildManifest(image, { version: '1.0.0', board: 'sim' });
  const m2 = buildManifest(image2, { version: '2.0.0', board: 'sim' });
  const a = wasmSide(wasm);
  const b = tscSide();
  const both = (what: string, f: (x: Side) => string | number): void => {
    const va = f(a);
    const vb = f(b);
    assert.is(va, vb, what);
  };
  both('blank boot', (x) => x.boot());
  const script: [string, Uint8Array][] = [['INFO', req(OP_INFO)], ['BEGIN', req(OP_BEGIN, m)]];
  const bad = chunkPayload(image, 0);
  bad[9] ^= 0xff;
  script.push(['bad CRC', req(OP_CHUNK, bad)]);
  for (let off = 0; off < image.length; off += CHUNK) script.push([`chunk ${off}`, req(OP_CHUNK, chunkPayload(image, off))]);
  script.push(['duplicate', req(OP_CHUNK, chunkPayload(image, 0))], ['STATUS', req(OP_STATUS)], ['COMMIT', req(OP_COMMIT)], ['BEGIN again', req(OP_BEGIN, m.subarray(0, 159))]);
  for (const [what, f] of script) both(what, (x) => x.handle(f));
  both('trial boot', (x) => x.boot());
  a.enterApp(1); b.enterApp(1);
  { const f = req(OP_INFO); both('INFO in app', (x) => x.handle(f)); }
  { const f = req(OP_CONFIRM); both('CONFIRM', (x) => x.handle(f)); }
  { const f = req(OP_ENTER_BOOT); both('ENTER_BOOT', (x) => x.handle(f)); }
  both('action', (x) => x.action());
  both('stay', (x) => x.boot());
  { const f = req(OP_BEGIN, m2); both('BEGIN v2', (x) => x.handle(f)); }
  for (let off = 0; off < image2.length; off += CHUNK) { const f = req(OP_CHUNK, chunkPayload(image2, off)); both(`v2 chunk ${off}`, (x) => x.handle(f)); }
  { const f = req(OP_COMMIT); both('COMMIT v2', (x) => x.handle(f)); }
  both('trial v2', (x) => x.boot());
  both('rollback', (x) => x.boot());
  { const f = req(OP_INFO); both('INFO after rollback', (x) => x.handle(f)); }
  assert.is(toHex(a.mem), toHex(b.mem), 'flash contents');
});
s.run();
