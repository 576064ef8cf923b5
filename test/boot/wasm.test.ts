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
import { buildManifest, signManifest } from '../../src/flash/manifest.ts';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../helpers/hex.ts';
import { prng } from '../helpers/prng.ts';
import {
  BOOT_KEY_HI, OP_BEGIN, OP_CHUNK, OP_COMMIT, OP_CONFIRM, OP_ENTER_BOOT, OP_INFO, OP_STATUS,
} from '../../src/flash/boot-wire.ts';
import { CHANNEL_BOOT, HEADER_BYTES, Header, KIND_ERROR, KIND_REQUEST, readHeader, writeHeader } from '../../src/wire/header.ts';
import { readU16LE } from '../../src/wire/bytes.ts';
import { fromHex } from '../helpers/hex.ts';

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

/** Verifications the wasm build asked the host for (env.ed25519_verify). */
let wasmVerifies = 0;

function wasmSide(bytes: Uint8Array, trustedKey: Uint8Array = new Uint8Array(32)): Side {
  const flash = new MemFlash(PAGE, pages);
  let mem: WasmMemory;
  const u8 = (): Uint8Array => new Uint8Array(mem.buffer);
  const env = {
    flash_read: (addr: number, ptr: number, len: number) => flash.read(addr, u8(), ptr, len),
    flash_write: (addr: number, ptr: number, len: number) => flash.write(addr, u8(), ptr, len),
    flash_erase: (page: number) => flash.erase(page),
    // What the native build does in C (firmware/boot/qemu/boot-main.c → cell_ed25519_verify):
    // strict Ed25519 over the wasm memory; 0 = valid.
    ed25519_verify: (sig: number, msg: number, len: number, pub: number) => {
      wasmVerifies++;
      const m = u8();
      try {
        return ed25519.verify(m.slice(sig >>> 0, (sig >>> 0) + 64), m.slice(msg >>> 0, (msg >>> 0) + len), m.slice(pub >>> 0, (pub >>> 0) + 32), { zip215: false }) ? 0 : -4;
      } catch {
        return -4;
      }
    },
  };
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env });
  const x = inst.exports as Record<string, (...a: number[]) => number> & { memory: WasmMemory };
  mem = x.memory;
  u8().set(new TextEncoder().encode('sim\0\0\0\0\0\0\0\0\0\0\0\0\0'), x.reqPtr!() >>> 0);
  u8().set(trustedKey, (x.reqPtr!() >>> 0) + 16);
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

function tscSide(trustedKey?: Uint8Array): Side {
  const flash = new MemFlash(PAGE, pages);
  let bl: Bootloader = makeLoader(flash, CHUNK, trustedKey);
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
const SECRET = sha256(new TextEncoder().encode('cell boot test key'));
const PUB = ed25519.getPublicKey(SECRET);

s('verified boot, both builds with the same trusted key (the wasm verifies through env.ed25519_verify): refusals 712/713/714/717/704, a newer image, an allowed downgrade — same answers, same flash', () => {
  const wasm = buildWasm();
  const r = prng(78);
  const img = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  const [i1, i2, i3] = [img(2100), img(1700), img(1300)];
  const sign = (i: Uint8Array, version: string, securityVersion: number, allowDowngrade = false, key = SECRET): Uint8Array =>
    signManifest(buildManifest(i, { version, board: 'sim', securityVersion, allowDowngrade }), key);
  const m1 = sign(i1, '1.0.0', 1);
  const m2 = sign(i2, '2.0.0', 2);
  const m3 = sign(i3, '1.5.0', 1, true);
  const a = wasmSide(wasm, PUB);
  const b = tscSide(PUB);
  wasmVerifies = 0;
  const both = (what: string, f: (x: Side) => string | number): void => { assert.is(f(a), f(b), what); };
  /** Both builds answer alike; `code`: the ERROR code expected (0: a RESPONSE). */
  const send = (what: string, frame: Uint8Array, code?: number): void => {
    const ha = a.handle(frame);
    assert.is(ha, b.handle(frame), what);
    if (code !== undefined) {
      const bytes = fromHex(ha);
      const h = new Header();
      assert.ok(readHeader(bytes, 0, bytes.length, 4096, h) >= 0, what);
      assert.is(h.kind === KIND_ERROR ? readU16LE(bytes, HEADER_BYTES) : 0, code, what);
    }
  };
  const installBoth = (what: string, i: Uint8Array, m: Uint8Array, commitCode = 0): void => {
    send(`${what} BEGIN`, req(OP_BEGIN, m), 0);
    for (let off = 0; off < i.length; off += CHUNK) send(`${what} chunk ${off}`, req(OP_CHUNK, chunkPayload(i, off)), 0);
    send(`${what} COMMIT`, req(OP_COMMIT), commitCode);
  };
  both('blank boot', (x) => x.boot());
  const garbage = m1.slice();
  garbage.set(img(64), 96);
  const changed = m1.slice();
  changed[12] ^= 1;
  const refusals: [string, Uint8Array, number][] = [
    ['unsigned', buildManifest(i1, { version: '1.0.0', board: 'sim', securityVersion: 1 }), 712],
    ['garbage signature', garbage, 713],
    ['another signer', sign(i1, '1.0.0', 1, false, sha256(new TextEncoder().encode('other'))), 714],
    ['a field changed after signing', changed, 713],
  ];
  for (const [what, m, code] of refusals) send(what, req(OP_BEGIN, m), code);
  // An image byte flipped after signing: refused at COMMIT.
  const t1 = i1.slice();
  t1[100] ^= 4;
  installBoth('tampered', t1, m1, 704);
  installBoth('v1', i1, m1);
  both('v1 trial', (x) => x.boot());
  a.enterApp(1); b.enterApp(1);
  send('CONFIRM v1', req(OP_CONFIRM), 0);
  send('ENTER_BOOT', req(OP_ENTER_BOOT));
  both('stay', (x) => x.boot());
  send('older (security version 0)', req(OP_BEGIN, sign(i2, '2.0.0', 0)), 717);
  installBoth('v2', i2, m2);
  both('v2 trial', (x) => x.boot());
  a.enterApp(0); b.enterApp(0);
  send('CONFIRM v2', req(OP_CONFIRM));
  send('ENTER_BOOT 2', req(OP_ENTER_BOOT));
  both('stay 2', (x) => x.boot());
  send('v1 again: 717', req(OP_BEGIN, m1), 717);
  installBoth('allowed downgrade', i3, m3);
  both('downgrade trial', (x) => x.boot());
  a.enterApp(1); b.enterApp(1);
  send('CONFIRM downgrade', req(OP_CONFIRM), 0);
  send('INFO', req(OP_INFO));
  both('boot after downgrade', (x) => x.boot());
  assert.is(toHex(a.mem), toHex(b.mem), 'flash contents');
  assert.ok(wasmVerifies >= 8, `the wasm verified ${wasmVerifies} signatures through its import`);
});

s.run();
