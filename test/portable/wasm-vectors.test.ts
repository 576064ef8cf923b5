// The portable core gives the same bytes in both builds: every vector file in test/vectors/ runs
// through the Node build (src/ imported directly) and the AssemblyScript build
// (build/wasm/core.wasm, rebuilt by scripts/build-wasm.mjs when stale), and both must equal the
// expected hex and each other. Then ~2000 fixed-seed random inputs per function, differential.
// A missing vector file or a not-yet-written module is reported and skipped, never failed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Header, readHeader, writeHeader } from '../../src/wire/header.ts';
import { toHex, fromHex } from '../helpers/hex.ts';
import { CoreWasm, ROOT, ensureWasm, haveFraming, loadCore, rng, wasmBytes } from './wasm.ts';

ensureWasm();
const wasm: CoreWasm = await loadCore();

type Json = any; // vector files are data; each suite checks the fields it reads

function vectors(name: string): Json | undefined {
  const p = join(ROOT, 'test/vectors', name);
  if (!existsSync(p)) {
    console.log(`  (skipped: test/vectors/${name} does not exist yet)`);
    return undefined;
  }
  return JSON.parse(readFileSync(p, 'utf8'));
}

async function optionalImport(rel: string): Promise<Json | undefined> {
  const p = join(ROOT, rel);
  if (!existsSync(p)) return undefined;
  return import(pathToFileURL(p).href);
}

// ---------------------------------------------------------------------------------------------
// header

const FIELDS = ['kind', 'flags', 'channel', 'callId', 'keyLo', 'keyHi', 'length'] as const;

function wasmWriteHeader(f: Record<string, number>): Uint8Array {
  const n = wasm.x.headerWrite!(f.kind!, f.flags!, f.channel!, f.callId!, f.keyLo!, f.keyHi!, f.length!, 0);
  assert.is(n, 20);
  return wasm.output(20);
}

function nodeWriteHeader(f: Record<string, number>): Uint8Array {
  const h = Object.assign(new Header(), f);
  const b = new Uint8Array(20);
  assert.is(writeHeader(h, b, 0), 20);
  return b;
}

/** Returns [code, fields] from the wasm build. */
function wasmReadHeader(bytes: Uint8Array, available: number, maxPayload: number): [number, Record<string, number>] {
  wasm.input(bytes);
  const n = wasm.x.headerRead!(bytes.length, 0, available, maxPayload);
  const f: Record<string, number> = {};
  if (n > 0) FIELDS.forEach((k, i) => { f[k] = wasm.outU32(i); });
  return [n, f];
}

function nodeReadHeader(bytes: Uint8Array, available: number, maxPayload: number): [number, Record<string, number>] {
  const h = new Header();
  const n = readHeader(bytes, 0, available, maxPayload, h);
  const f: Record<string, number> = {};
  if (n > 0) for (const k of FIELDS) f[k] = h[k];
  return [n, f];
}

const header = suite('header.json through tsc and asc builds');
const hv = vectors('header.json');
if (hv) {
  for (const c of hv.cases) {
    header(`writes and reads: ${c.name}`, () => {
      assert.is(toHex(nodeWriteHeader(c.fields)), c.hex, 'node write');
      assert.is(toHex(wasmWriteHeader(c.fields)), c.hex, 'wasm write');
      const bytes = fromHex(c.hex);
      assert.equal(nodeReadHeader(bytes, -1, 0xffffffff), [20, c.fields], 'node read');
      assert.equal(wasmReadHeader(bytes, -1, 0xffffffff), [20, c.fields], 'wasm read');
    });
  }
  for (const c of hv.invalid) {
    header(`rejects with ${c.error}: ${c.name}`, () => {
      const bytes = fromHex(c.hex);
      assert.is(nodeReadHeader(bytes, c.available, c.maxPayload)[0], -c.error, 'node');
      assert.is(wasmReadHeader(bytes, c.available, c.maxPayload)[0], -c.error, 'wasm');
    });
  }
  header('writeHeader refuses a buffer with fewer than 20 bytes left, in both builds', () => {
    assert.is(writeHeader(new Header(), new Uint8Array(25), 6), -106);
    assert.is(wasm.x.headerWrite!(1, 0, 0, 0, 0, 0, 0, wasm.ioBytes - 19), -106);
  });
}
header.run();

// ---------------------------------------------------------------------------------------------
// random differential: header

const diff = suite('random differential (fixed seed): tsc build == asc build');

diff('readHeader on 2000 random and mutated headers', () => {
  const r = rng(0xce11);
  const good = fromHex('ce120000010000001122334455667788' + '04000000' + 'deadbeef');
  for (let i = 0; i < 2000; i++) {
    const n = Math.floor(r() * 30);
    const b = new Uint8Array(n);
    if (r() < 0.5) b.set(good.subarray(0, Math.min(n, good.length)));
    for (let k = 0; k < n; k++) if (r() < 0.08) b[k] = Math.floor(r() * 256);
    const available = r() < 0.3 ? -1 : Math.floor(r() * (n + 1));
    const max = r() < 0.2 ? 0xffffffff : Math.floor(r() * 64);
    const a = nodeReadHeader(b, available, max);
    const w = wasmReadHeader(b, available, max);
    assert.equal(w, a, `case ${i}: ${toHex(b)} available=${available} max=${max}`);
  }
});

diff('writeHeader on 2000 random field sets', () => {
  const r = rng(0xbeef);
  const u32 = () => Math.floor(r() * 0x100000000) >>> 0;
  for (let i = 0; i < 2000; i++) {
    const f = { kind: Math.floor(r() * 16), flags: Math.floor(r() * 256), channel: Math.floor(r() * 256), callId: u32(), keyLo: u32(), keyHi: u32(), length: u32() };
    assert.is(toHex(wasmWriteHeader(f)), toHex(nodeWriteHeader(f)), `case ${i}`);
  }
});
diff.run();

// ---------------------------------------------------------------------------------------------
// framing: COBS, CRC-32C, frame encoder, deframer (src/framing, H1)

const framingReady = haveFraming() && wasm.has('cobsEnc');
const framing = framingReady ? {
  cobs: await optionalImport('src/framing/cobs.ts'),
  crc: await optionalImport('src/framing/crc32c.ts'),
  frame: await optionalImport('src/framing/frame.ts'),
  deframer: await optionalImport('src/framing/deframer.ts'),
} : undefined;
if (!framing) console.log('  (skipped: framing vectors — src/framing/{cobs,crc32c,frame,deframer}.ts are not all there yet)');

function nodeCobsEncode(src: Uint8Array): [number, Uint8Array] {
  const dst = new Uint8Array(framing!.cobs.cobsMaxEncodedBytes(src.length) + 8);
  const n = framing!.cobs.cobsEncode(src, dst, 0, src.length, 0);
  return [n, n > 0 ? dst.slice(0, n) : new Uint8Array(0)];
}
function wasmCobsEncode(src: Uint8Array): [number, Uint8Array] {
  wasm.input(src);
  const n = wasm.x.cobsEnc!(src.length);
  return [n, n > 0 ? wasm.output(n) : new Uint8Array(0)];
}
function nodeCobsDecode(src: Uint8Array): [number, Uint8Array] {
  const dst = new Uint8Array(src.length + 8);
  const n = framing!.cobs.cobsDecode(src, dst, 0, src.length, 0);
  return [n, n > 0 ? dst.slice(0, n) : new Uint8Array(0)];
}
function wasmCobsDecode(src: Uint8Array): [number, Uint8Array] {
  wasm.input(src);
  const n = wasm.x.cobsDec!(src.length);
  return [n, n > 0 ? wasm.output(n) : new Uint8Array(0)];
}
function wasmCrc(bytes: Uint8Array, small = false): number {
  wasm.input(bytes);
  return (small ? wasm.x.crcSmall! : wasm.x.crc!)(0, bytes.length) >>> 0;
}
function nodeFrameEncode(src: Uint8Array): [number, Uint8Array] {
  const dst = new Uint8Array(framing!.frame.frameMaxEncodedBytes(src.length) + 8);
  const n = framing!.frame.frameEncode(src, 0, src.length, dst, 0);
  return [n, n > 0 ? dst.slice(0, n) : new Uint8Array(0)];
}
function wasmFrameEncode(src: Uint8Array): [number, Uint8Array] {
  wasm.input(src);
  const n = wasm.x.frameEnc!(src.length);
  return [n, n > 0 ? wasm.output(n) : new Uint8Array(0)];
}

/** Feed `stream` in chunks of the given sizes; returns frames (hex) and counters, for both builds. */
const COUNTERS = ['framesOk', 'errCobs', 'errCrc', 'errOversize', 'errTooShort', 'bytesDiscarded', 'lastError'] as const;
function nodeDeframe(stream: Uint8Array, chunks: number[], maxFrameBytes: number): { frames: string[]; counters: Record<string, number> } {
  const d = new framing!.deframer.Deframer(maxFrameBytes);
  const frames: string[] = [];
  let at = 0;
  for (const c of chunks) {
    d.feed(stream, at, c);
    at += c;
    for (let n = d.next(); n > 0; n = d.next()) frames.push(toHex(d.frame.subarray(0, n)));
  }
  const counters: Record<string, number> = {};
  for (const k of COUNTERS) counters[k] = Number(d[k]);
  return { frames, counters };
}
function wasmDeframe(stream: Uint8Array, chunks: number[], maxFrameBytes: number): { frames: string[]; counters: Record<string, number> } {
  wasm.x.deframerNew!(maxFrameBytes);
  const frames: string[] = [];
  let at = 0;
  for (const c of chunks) {
    wasm.input(stream.subarray(at, at + c));
    wasm.x.deframerFeed!(0, c);
    at += c;
    for (let n = wasm.x.deframerNext!(); n > 0; n = wasm.x.deframerNext!()) frames.push(toHex(wasm.output(n)));
  }
  const counters: Record<string, number> = {};
  COUNTERS.forEach((k, i) => { counters[k] = wasm.x.deframerCounter!(i); });
  return { frames, counters };
}

export { nodeCobsEncode, wasmCobsEncode, nodeCobsDecode, wasmCobsDecode, wasmCrc, nodeFrameEncode, wasmFrameEncode, nodeDeframe, wasmDeframe };
