// The portable core gives the same bytes in both builds: every vector file in test/vectors/ runs
// through the Node build (src/ imported directly) and the AssemblyScript build
// (build/wasm/core.wasm, rebuilt by scripts/build-wasm.mjs when stale), and both must equal the
// expected hex and each other. Then ~2000 fixed-seed random inputs per function, differential.
// A missing vector file or a not-yet-written module is reported and skipped, never failed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Header, readHeader, writeHeader } from '../../src/wire/header.ts';
import { toHex, fromHex } from '../helpers/hex.ts';
import { skipTest } from '../helpers/skip.ts';
import { CoreWasm, ROOT, ensureWasm, haveFraming, loadCore, rng, wasmBytes } from './wasm.ts';

ensureWasm();
const wasm: CoreWasm = await loadCore();

// Every vector file must be run by a portable test: header/cobs/crc32c/frame here, codec in
// codec-as.test.ts, rpc-conformance in test/rpc/conformance.test.ts. A new file shows up in the
// output until a suite reads it.
const HANDLED = new Set(['header.json', 'cobs.json', 'crc32c.json', 'frame.json', 'codec.json', 'rpc-conformance.json',
  'secure-aead.json', 'secure-frames.json', // secure-wasm.test.ts, secure-session-wasm.test.ts
  'can.json']); // can-wasm.test.ts
for (const f of readdirSync(join(ROOT, 'test/vectors'))) {
  if (f.endsWith('.json') && !HANDLED.has(f)) console.log(`  (test/vectors/${f} is not run through the wasm build yet: add it to test/portable)`);
}

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

function nodeFrameDecode(src: Uint8Array): [number, Uint8Array] {
  const dst = new Uint8Array(src.length + 8);
  const n = framing!.frame.frameDecode(src, 0, src.length, dst, 0);
  return [n, n > 0 ? dst.slice(0, n) : new Uint8Array(0)];
}
function wasmFrameDecode(src: Uint8Array): [number, Uint8Array] {
  wasm.input(src);
  const n = wasm.x.frameDec!(src.length);
  return [n, n > 0 ? wasm.output(n) : new Uint8Array(0)];
}
const hexPair = ([n, b]: [number, Uint8Array]): [number, string] => [n, toHex(b)];

/** Random bytes with a bias towards the interesting values: zeros, runs of non-zero near 254. */
function randomBytes(r: () => number, maxLen: number): Uint8Array {
  const shape = r();
  const n = shape < 0.1 ? Math.floor(r() * 3) : shape < 0.3 ? 250 + Math.floor(r() * 12) : Math.floor(r() * maxLen);
  const zeroRate = r() < 0.3 ? 0 : r() < 0.5 ? 0.5 : 0.05;
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() < zeroRate ? 0 : 1 + Math.floor(r() * 255);
  return b;
}

// ---------------------------------------------------------------------------------------------
// framing vector files (H1's format: see test/vectors/*.json)

const fv = suite('framing vectors through tsc and asc builds');
if (framing) {
  const cobs = vectors('cobs.json');
  // cobs.json: cases {input, hex}: cobsEncode(input) == hex, cobsDecode(hex) == input;
  // invalid {hex, error}: cobsDecode(hex) == -error.
  for (const c of cobs?.cases ?? []) {
    fv(`cobs.json: ${c.name}`, () => {
      const raw = fromHex(c.input);
      const enc: string = c.hex;
      assert.equal(hexPair(nodeCobsEncode(raw)), [enc.length / 2, enc], 'node encode');
      assert.equal(hexPair(wasmCobsEncode(raw)), [enc.length / 2, enc], 'wasm encode');
      assert.equal(hexPair(nodeCobsDecode(fromHex(enc))), [raw.length, toHex(raw)], 'node decode');
      assert.equal(hexPair(wasmCobsDecode(fromHex(enc))), [raw.length, toHex(raw)], 'wasm decode');
    });
  }
  for (const c of cobs?.invalid ?? []) {
    fv(`cobs.json rejects with ${c.error}: ${c.name}`, () => {
      const enc = fromHex(c.hex);
      assert.is(nodeCobsDecode(enc)[0], -Number(c.error), 'node');
      assert.is(wasmCobsDecode(enc)[0], -Number(c.error), 'wasm');
    });
  }
  // crc32c.json: cases {input, hex}: hex = the CRC as 8 digits, most significant first.
  const crc = vectors('crc32c.json');
  for (const c of crc?.cases ?? []) {
    fv(`crc32c.json: ${c.name}`, () => {
      const data = fromHex(c.input);
      const want = parseInt(c.hex, 16) >>> 0;
      assert.is(framing!.crc.crc32c(data, 0, data.length) >>> 0, want, 'node crc32c');
      assert.is(framing!.crc.crc32cSmall(data, 0, data.length) >>> 0, want, 'node crc32cSmall');
      assert.is(wasmCrc(data), want, 'wasm crc32c');
      assert.is(wasmCrc(data, true), want, 'wasm crc32cSmall');
    });
  }
  // frame.json: cases {input, hex}: frameEncode(input) == hex, frameDecode/Deframer(hex) == input;
  // invalid {hex, error}: frameDecode(hex) == -error and a Deframer counts that error.
  const frame = vectors('frame.json');
  const MAX = 4096;
  for (const c of frame?.cases ?? []) {
    fv(`frame.json: ${c.name}`, () => {
      const bytes = fromHex(c.input);
      const enc: string = c.hex;
      assert.equal(hexPair(nodeFrameEncode(bytes)), [enc.length / 2, enc], 'node encode');
      assert.equal(hexPair(wasmFrameEncode(bytes)), [enc.length / 2, enc], 'wasm encode');
      assert.equal(hexPair(nodeFrameDecode(fromHex(enc))), [bytes.length, toHex(bytes)], 'node decode');
      assert.equal(hexPair(wasmFrameDecode(fromHex(enc))), [bytes.length, toHex(bytes)], 'wasm decode');
      const stream = fromHex(enc);
      const want = nodeDeframe(stream, [stream.length], MAX);
      assert.equal(want.frames, [toHex(bytes)], 'node deframer');
      assert.equal(wasmDeframe(stream, [stream.length], MAX), want, 'wasm deframer');
      const bytewise = Array.from({ length: stream.length }, () => 1);
      assert.equal(wasmDeframe(stream, bytewise, MAX), nodeDeframe(stream, bytewise, MAX), 'deframer fed byte by byte');
    });
  }
  for (const c of frame?.invalid ?? []) {
    fv(`frame.json rejects with ${c.error}: ${c.name}`, () => {
      const enc = fromHex(c.hex);
      assert.is(nodeFrameDecode(enc)[0], -Number(c.error), 'node');
      assert.is(wasmFrameDecode(enc)[0], -Number(c.error), 'wasm');
      const node = nodeDeframe(enc, [enc.length], MAX);
      assert.equal(wasmDeframe(enc, [enc.length], MAX), node, 'deframer counters');
      if (enc.length > 1 && enc[enc.length - 1] === 0) assert.is(node.counters.lastError, Number(c.error), 'deframer lastError');
    });
  }
}
fv.run();

// ---------------------------------------------------------------------------------------------
// random differential: framing

const fdiff = suite('random differential (fixed seed): framing, tsc build == asc build');
if (framing) {
  fdiff('COBS encode, decode and round trip on 2000 random inputs', () => {
    const r = rng(0xc0b5);
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(r, 700);
      const ne = hexPair(nodeCobsEncode(b));
      assert.equal(hexPair(wasmCobsEncode(b)), ne, `encode #${i} ${toHex(b)}`);
      assert.equal(hexPair(nodeCobsDecode(fromHex(ne[1]))), [b.length, toHex(b)], `node round trip #${i}`);
      assert.equal(hexPair(wasmCobsDecode(fromHex(ne[1]))), [b.length, toHex(b)], `wasm round trip #${i}`);
    }
  });

  fdiff('COBS decode of 2000 random (mostly invalid) inputs gives the same code and bytes', () => {
    const r = rng(0xdec0);
    for (let i = 0; i < 2000; i++) {
      const b = r() < 0.5 ? randomBytes(r, 300) : Uint8Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 6));
      assert.equal(hexPair(wasmCobsDecode(b)), hexPair(nodeCobsDecode(b)), `#${i} ${toHex(b)}`);
    }
  });

  fdiff('COBS encode/decode into too-small buffers: same code at every capacity', () => {
    const r = rng(0x5a11);
    for (let i = 0; i < 40; i++) {
      const b = randomBytes(r, 300);
      const enc = nodeCobsEncode(b)[1];
      for (let cap = Math.max(0, enc.length - 6); cap <= enc.length; cap++) {
        wasm.input(b);
        assert.is(wasm.x.cobsEncCap!(b.length, cap), framing!.cobs.cobsEncode(b, new Uint8Array(cap), 0, b.length, 0), `encode cap ${cap}`);
      }
      for (let cap = Math.max(0, b.length - 6); cap <= b.length; cap++) {
        wasm.input(enc);
        assert.is(wasm.x.cobsDecCap!(enc.length, cap), framing!.cobs.cobsDecode(enc, new Uint8Array(cap), 0, enc.length, 0), `decode cap ${cap}`);
      }
    }
  });

  fdiff('CRC-32C (slice-by-16 and nibble) on 2000 random inputs at random offsets', () => {
    const r = rng(0xc3c);
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(r, 600);
      const off = Math.floor(r() * (b.length + 1));
      const len = Math.floor(r() * (b.length - off + 1));
      wasm.input(b);
      const want = framing!.crc.crc32c(b, off, len) >>> 0;
      assert.is(framing!.crc.crc32cSmall(b, off, len) >>> 0, want, `node small #${i}`);
      assert.is(wasm.x.crc!(off, len) >>> 0, want, `wasm crc32c #${i}`);
      assert.is(wasm.x.crcSmall!(off, len) >>> 0, want, `wasm crc32cSmall #${i}`);
      const head = Math.floor(len / 2);
      assert.is(wasm.x.crcUpdate!(wasm.x.crc!(off, head), off + head, len - head) >>> 0, want, `wasm update #${i}`);
    }
  });

  fdiff('frameEncode / frameDecode on 2000 random inputs, and corrupted frames', () => {
    const r = rng(0xf4a3);
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(r, 600);
      const ne = hexPair(nodeFrameEncode(b));
      assert.equal(hexPair(wasmFrameEncode(b)), ne, `encode #${i}`);
      if (ne[0] < 0) continue;
      const f = fromHex(ne[1]);
      if (r() < 0.5 && f.length > 1) f[Math.floor(r() * (f.length - 1))] ^= 1 << Math.floor(r() * 8);
      assert.equal(hexPair(wasmFrameDecode(f)), hexPair(nodeFrameDecode(f)), `decode #${i}`);
    }
  });

  fdiff('frameEncode into too-small buffers: same code at every capacity', () => {
    const r = rng(0xf5);
    for (let i = 0; i < 40; i++) {
      const b = randomBytes(r, 300);
      const n = nodeFrameEncode(b)[0];
      for (let cap = Math.max(0, n - 6); cap <= n + 1; cap++) {
        wasm.input(b);
        assert.is(wasm.x.frameEncCap!(b.length, cap), framing!.frame.frameEncode(b, 0, b.length, new Uint8Array(cap), 0), `cap ${cap}`);
      }
    }
  });

  fdiff('deframer: 2000 random streams (good, corrupt, oversize, empty frames) split at random points', () => {
    const r = rng(0xdef);
    for (let i = 0; i < 2000; i++) {
      const max = [16, 64, 300][Math.floor(r() * 3)]!;
      const parts: number[] = [];
      const frames = 1 + Math.floor(r() * 4);
      for (let k = 0; k < frames; k++) {
        const kind = r();
        if (kind < 0.1) { parts.push(0); continue; }
        if (kind < 0.2) { for (const x of randomBytes(r, 40)) parts.push(x); parts.push(0); continue; }
        const payload = randomBytes(r, max + 20);
        if (payload.length === 0) continue;
        const f = fromHex(hexPair(nodeFrameEncode(payload))[1]);
        if (kind < 0.35 && f.length > 1) f[Math.floor(r() * (f.length - 1))] ^= 1 << Math.floor(r() * 8);
        for (const x of f) parts.push(x);
      }
      const stream = Uint8Array.from(parts);
      const chunks: number[] = [];
      for (let left = stream.length; left > 0;) {
        const c = Math.min(left, r() < 0.3 ? 1 : 1 + Math.floor(r() * 64));
        chunks.push(c);
        left -= c;
      }
      assert.equal(wasmDeframe(stream, chunks, max), nodeDeframe(stream, chunks, max), `stream #${i} ${toHex(stream)} chunks ${chunks}`);
    }
  });

  fdiff('deframer: one stream split at every offset gives the same frames and counters', () => {
    const r = rng(0x5717);
    const parts: number[] = [];
    for (let k = 0; k < 6; k++) for (const x of fromHex(hexPair(nodeFrameEncode(randomBytes(r, 60).map((v) => v || 1)))[1])) parts.push(x);
    const stream = Uint8Array.from(parts);
    const whole = nodeDeframe(stream, [stream.length], 64);
    for (let at = 1; at < stream.length; at++) {
      const chunks = [at, stream.length - at];
      assert.equal(nodeDeframe(stream, chunks, 64), whole, `node split ${at}`);
      assert.equal(wasmDeframe(stream, chunks, 64), whole, `wasm split ${at}`);
    }
  });
}
fdiff.run();

// ---------------------------------------------------------------------------------------------
// size of the smallest profile

const size = suite('small wasm profile');
size('build/wasm/small-core.wasm (header + COBS + CRC, small profile flags) is at most 4096 bytes', () => {
  if (!haveFraming()) return skipTest('the small profile needs src/framing');
  const n = wasmBytes('small-core').length;
  const full = wasmBytes('small').length;
  console.log(`  small-core.wasm: ${n} bytes; small.wasm (+ frameEncode + deframer): ${full} bytes; core.wasm: ${wasmBytes('core').length} bytes`);
  assert.ok(n <= 4096, `small-core.wasm is ${n} bytes`);
  // small.wasm adds the frame encoder and the streaming deframer to the budgeted core; in asc
  // builds both use the nibble-table CRC (src/framing/crc32c.ts, IN_WASM), so no 16 KiB table.
  assert.ok(full <= 6144, `small.wasm is ${full} bytes`);
});
size.run();
