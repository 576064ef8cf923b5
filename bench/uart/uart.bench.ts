// UART benchmarks over real socat pty pairs (issue 4 "Benchmarks"; docs/uart.md §5):
//   1. overhead bytes per frame, Cell next to MAVLink 2, eRPC, Cyphal/serial, zenoh-pico (printed);
//   2. COBS + CRC-32C CPU cost: ns/byte of frameEncode + Deframer, as % of a core at 40 MB/s;
//   3. RTT of a 32-byte call through connectUart (Node server on the other pty end, in its own
//      process) vs a raw serialport ping-pong of the same wire bytes (both ends serialport);
//      the simulator device (thermo.wasm) for information;
//   4. bulk: a Cell server stream with credit vs raw serialport writes of big buffers;
//   5. paced at 115200 and 1 Mbaud (`paceBaud` on both ends): frames/s and wire utilisation.
//   In 3 and 4 the same calls and stream also run over a secured link (docs/security.md: every
//   frame sealed with ChaCha20-Poly1305 on both ends), timed in the same rounds: secured ÷ plain
//   (the RTT target from calls interleaved one by one with plain ones, see `interleaved`).
// Usage: node --import tsx bench/uart/uart.bench.ts [--quick] [--json FILE] [--rounds N]
//        npm run bench -- --only uart
// Method: the Cell run and its raw peer are measured back-to-back in every round (order
// alternating); ratios are medians over rounds with [min–max]. Everything is verified before it is
// timed (echoed bytes, stream item contents and counts, frame bytes against the reference parts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import type { SerialPort as SerialPortT } from 'serialport';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { Deframer } from '../../src/framing/deframer.ts';
import { crc32c } from '../../src/framing/crc32c.ts';
import { cobsEncode } from '../../src/framing/cobs.ts';
import { createWasmFraming, type WasmFraming } from '../../src/framing/wasm-accel.ts';
import { HEADER_BYTES } from '../../src/wire/header.ts';
import { connectUart, type UartClient } from '../../src/uart/index.ts';
import { startPtyPair, ptyUnavailable, type PtyPair } from '../../hw-tests/lib/pty.ts';
import { startSim } from '../../hw-tests/lib/sim.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import { parseArgs, type BenchOptions } from '../lib/args.ts';
import { progress } from '../lib/progress.ts';
import { median, min, max, sig, range } from '../lib/stats.ts';
import { printTable } from '../lib/table.ts';
import { target, type SectionResult, type Target } from '../lib/targets.ts';
import { UartBenchCell, PING_BYTES, CHUNK_BYTES, BLOCK_BYTES, fillByte, BENCH_FLEET_KEY } from './uart-cell.ts';
import { KeyRing } from '../../src/transports/secure-keys.ts';

const SECTION = 'uart';
const PEER = fileURLToPath(new URL('./peer.ts', import.meta.url));
const THERMO_WASM = fileURLToPath(new URL('../../build/firmware/thermo.wasm', import.meta.url));
const hr = process.hrtime.bigint;

// ------------------------------------------------------------------------------------------
// helpers

interface Peer { child: ChildProcess; send(line: string): void; stop(): Promise<void> }

/** Start bench/uart/peer.ts in its own process; resolves on its "ready" line. */
async function startPeer(mode: string, path: string, paceBaud = 0): Promise<Peer> {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, mode, path, String(paceBaud)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`peer ${mode} not ready in 20 s`)), 20_000);
    createInterface({ input: child.stdout! }).once('line', () => { clearTimeout(t); res(); });
    child.once('exit', (c) => { clearTimeout(t); rej(new Error(`peer ${mode} exited ${c}`)); });
  });
  return {
    child,
    send: (l) => child.stdin!.write(l + '\n'),
    stop: () => new Promise<void>((r) => {
      if (child.exitCode !== null) { r(); return; }
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => { clearTimeout(t); r(); });
      child.stdin!.end();
    }),
  };
}

async function openRaw(path: string): Promise<SerialPortT> {
  const { SerialPort } = await import('serialport');
  return new Promise((res, rej) => {
    const p = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    p.open((e) => (e ? rej(e) : res(p)));
  });
}
const closeRaw = (p: SerialPortT): Promise<void> => new Promise((r) => (p.isOpen ? p.close(() => r()) : r()));

function withTimeout<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); res(v); }, (e) => { clearTimeout(t); rej(e); });
  });
}

interface Lat { median_us: number; p99_us: number; n: number }
function latStats(ns: number[]): Lat {
  const s = [...ns].sort((a, b) => a - b);
  return { median_us: median(s) / 1e3, p99_us: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! / 1e3, n: s.length };
}

/** One raw ping-pong: `buf` out, wait until the same number of bytes (the same bytes) are back. */
function rawRoundTrip(port: SerialPortT, buf: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    let got = 0;
    const on = (d: Buffer): void => {
      for (let i = 0; i < d.length; i++) if (d[i] !== buf[got + i]) { port.off('data', on); rej(new Error('raw echo: wrong bytes')); return; }
      got += d.length;
      if (got >= buf.length) { port.off('data', on); res(); }
    };
    port.on('data', on);
    port.write(buf);
  });
}

/**
 * The same ping-pong on the port's fd (writeSync, then readSync on the binding's Poller
 * 'readable'): the I/O path UartIo uses (src/transports/uart-io.ts "Direct I/O"), so Cell ÷ this
 * is Cell's own cost on top of the same syscalls (for information; the target is against
 * serialport's stream, what an application gets from the library).
 */
function rawFdRoundTrip(port: SerialPortT, buf: Buffer, into: Buffer): Promise<void> {
  const b = (port as unknown as { port: { fd: number; poller: { once(ev: 'readable', fn: (err: Error | null) => void): void } } }).port;
  return new Promise((res, rej) => {
    let got = 0;
    const onReadable = (err: Error | null): void => {
      if (err !== null) { rej(err); return; }
      // one read per wake-up, as UartIo does when a read comes back short (no EAGAIN thrown)
      let n = 0;
      const lim = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try { n = readSync(b.fd, into, got, into.length - got, null); } catch { /* EAGAIN: a spurious wake-up */ } finally { Error.stackTraceLimit = lim; }
      for (let i = got; i < got + n; i++) if (into[i] !== buf[i]) { rej(new Error('raw fd echo: wrong bytes')); return; }
      got += n;
      if (got >= buf.length) { res(); return; }
      b.poller.once('readable', onReadable);
    };
    let off = 0;
    while (off < buf.length) { try { off += writeSync(b.fd, buf, off, buf.length - off); } catch { /* EAGAIN: retry */ } }
    b.poller.once('readable', onReadable);
  });
}

async function timeLoop(n: number, warm: number, fn: () => Promise<unknown>): Promise<Lat> {
  for (let i = 0; i < warm; i++) await fn();
  const s: number[] = [];
  for (let i = 0; i < n; i++) { const t0 = hr(); await fn(); s.push(Number(hr() - t0)); }
  return latStats(s);
}

// ------------------------------------------------------------------------------------------
// 1. overhead per frame

/** Cell's bytes on the line for a frame carrying `payload` bytes (worst case COBS). */
export function cellOverheadBytes(payload: number): number {
  return frameMaxEncodedBytes(HEADER_BYTES + payload) - payload;
}

function overheadTable(): { rows: unknown[] } {
  // verify the formula against a real frame first: 20-byte header (zeros included) + payload
  for (const n of [0, 8, 32, 233, 234, 235, 1000]) {
    const src = new Uint8Array(HEADER_BYTES + n).fill(0x5a);
    src.fill(0, 0, 8); // a header has zero bytes: COBS overhead is then still 1 per started 254-byte block
    const dst = new Uint8Array(frameMaxEncodedBytes(src.length));
    const w = frameEncode(src, 0, src.length, dst, 0);
    if (w - n > cellOverheadBytes(n) || w <= 0) throw new Error(`frame of ${n} B: ${w - n} B overhead > ${cellOverheadBytes(n)}`);
    // and against the reference parts: COBS(src ‖ CRC-32C LE) ‖ 00
    const withCrc = new Uint8Array(src.length + 4);
    withCrc.set(src);
    new DataView(withCrc.buffer).setUint32(src.length, crc32c(src), true);
    const ref = new Uint8Array(frameMaxEncodedBytes(src.length));
    const m = cobsEncode(withCrc, ref);
    if (m + 1 !== w || ref.subarray(0, m).some((b, i) => b !== dst[i]) || dst[w - 1] !== 0) throw new Error(`frame of ${n} B differs from COBS(src ‖ CRC) ‖ 00`);
  }
  const rows = [
    ['Cell (UART)', '20 + 4 + 1 + 1 = 26', String(cellOverheadBytes(8)), String(cellOverheadBytes(240)), String(cellOverheadBytes(4000)), 'magic, version/kind, flags, channel, call id (32), method key = u64 schema fingerprint, length (32); CRC-32C; COBS (+1 per 254 B) + 0x00'],
    ['MAVLink 2', '12 (+13 signed)', '12', '12', '– (max 255 B)', 'STX, len, incompat/compat flags, seq, sysid, compid, msgid (24 bit), CRC-16 (X.25 + CRC_EXTRA seed from the message definition); no call id, no deadline'],
    ['eRPC (serial)', '14', '14', '14', '14', 'framed transport: CRC-16 + length (4) + basic codec header: version/service/method/type (4) + sequence (4) + … ; service/method ids, no schema fingerprint'],
    ['Cyphal/serial', '28+ (+COBS)', '≥ 34', '≥ 34', '≥ 50', '24-byte header (priority, node ids, data specifier, 64-bit transfer id, frame index, header CRC-16) + CRC-32C payload trailer + COBS + delimiters'],
    ['zenoh-pico (serial)', '~14', '~14', '~14', '~14', 'serial framing (COBS, length, CRC-32) + a small zenoh message header with a resource id; keys are declared once, no per-message type check'],
  ];
  printTable('Overhead bytes per frame (payload 8 / 240 / 4000 B)', ['protocol', 'fixed bytes', '8 B', '240 B', '4000 B', 'what the bytes are'], rows, {
    align: ['l', 'l', 'r', 'r', 'r', 'l'],
    notes: [
      '',
      'Cell pays ~12 bytes more than MAVLink 2 / eRPC per frame. Where they go: the 8-byte method key is the',
      'fingerprint of (cell, method, request schema, response schema), so every frame is type-checked by the',
      'receiver before decoding (no SchemaMismatch can be decoded blindly); the 32-bit call id lets many calls',
      'and streams share one link out of order; CRC-32C (not CRC-16) keeps undetected errors rare at 4 KB',
      'frames; COBS resynchronises at the next 0x00 after any line noise. Deadlines travel in neither: a',
      'deadline is enforced by the caller and ended with CANCEL (0 header bytes). Peer figures are from their',
      'specifications (MAVLink 2 serialization; eRPC framed transport + basic codec; Cyphal/serial header v1;',
      'zenoh-pico serial link) and are approximate where the protocol has optional fields.',
    ],
  });
  return { rows };
}

// ------------------------------------------------------------------------------------------
// 2. COBS + CRC CPU cost

// Two paths, interleaved in every round: JS (frameEncode + Deframer) and, when
// build/wasm/framing-accel.wasm exists (and CELL_WASM_FRAMING != 0), the wasm accelerator that
// StreamLink/UartLink use then (src/framing/wasm-accel.ts: copy in, encode/deframe in wasm).
interface CpuRow { path: 'JS' | 'wasm'; bytes: number; enc_ns_per_B: number[]; dec_ns_per_B: number[] }

function cpuCost(opt: BenchOptions): CpuRow[] {
  const sizes = [64, 512, 1024, 4000];
  const accel = createWasmFraming(4000, frameMaxEncodedBytes(4000) + 1);
  const rows: CpuRow[] = sizes.map((bytes) => ({ path: 'JS' as const, bytes, enc_ns_per_B: [], dec_ns_per_B: [] }));
  const wrows: CpuRow[] = sizes.map((bytes) => ({ path: 'wasm' as const, bytes, enc_ns_per_B: [], dec_ns_per_B: [] }));
  const rounds = opt.rounds;
  progress.start('uart: COBS+CRC CPU', rounds * sizes.length);
  for (let r = 0; r < rounds; r++) {
    sizes.forEach((bytes, si) => {
      if (accel !== null) wasmCost(accel, bytes, opt, wrows[si]!);
      const src = new Uint8Array(bytes);
      for (let i = 0; i < bytes; i++) src[i] = (i * 31 + 7) & 0xff; // zeros included (every 256 B)
      const enc = new Uint8Array(frameMaxEncodedBytes(bytes));
      const d = new Deframer(bytes);
      // verify first: the deframer gives the bytes back
      const w = frameEncode(src, 0, bytes, enc, 0);
      d.feed(enc, 0, w);
      const n = d.next();
      if (n !== bytes || d.frame.subarray(0, n).some((b, i) => b !== src[i])) throw new Error(`cobs+crc round trip of ${bytes} B failed`);
      const target = Math.max(200, Math.floor((opt.time * 4 * 1e6) / bytes / 20)); // ~opt.time×4 ms of work
      let sink = 0;
      let t0 = hr();
      for (let k = 0; k < target; k++) sink += frameEncode(src, 0, bytes, enc, 0);
      const tEnc = Number(hr() - t0);
      t0 = hr();
      for (let k = 0; k < target; k++) { d.feed(enc, 0, w); sink += d.next(); }
      const tDec = Number(hr() - t0);
      if (sink === 0) throw new Error('unreachable');
      rows[si]!.enc_ns_per_B.push(tEnc / target / bytes);
      rows[si]!.dec_ns_per_B.push(tDec / target / bytes);
      progress.tick(`round ${r + 1}/${rounds}`);
    });
  }
  progress.finish();
  return accel === null ? rows : rows.concat(wrows);
}

// The same work through the accelerator: the source copied into wasm memory and encoded there
// into the staging buffer (as StreamLink.send), the encoded chunk copied in and deframed (as
// StreamLink's read path).
function wasmCost(w: WasmFraming, bytes: number, opt: BenchOptions, row: CpuRow): void {
  const src = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) src[i] = (i * 31 + 7) & 0xff;
  const n0 = w.encode(src, bytes, 0);
  const enc = w.stage.slice(0, n0);
  const ref = new Uint8Array(frameMaxEncodedBytes(bytes));
  if (frameEncode(src, 0, bytes, ref, 0) !== n0 || ref.subarray(0, n0).some((b, i) => b !== enc[i])) throw new Error(`wasm frame of ${bytes} B differs from frameEncode`);
  w.feed(enc, 0, n0);
  const n = w.next();
  if (n !== bytes || w.frame.subarray(0, n).some((b, i) => b !== src[i])) throw new Error(`wasm cobs+crc round trip of ${bytes} B failed`);
  const target = Math.max(200, Math.floor((opt.time * 4 * 1e6) / bytes / 20));
  let sink = 0;
  let t0 = hr();
  for (let k = 0; k < target; k++) sink += w.encode(src, bytes, 0);
  const tEnc = Number(hr() - t0);
  t0 = hr();
  for (let k = 0; k < target; k++) { w.feed(enc, 0, n0); sink += w.next(); }
  const tDec = Number(hr() - t0);
  if (sink === 0) throw new Error('unreachable');
  row.enc_ns_per_B.push(tEnc / target / bytes);
  row.dec_ns_per_B.push(tDec / target / bytes);
}

// ------------------------------------------------------------------------------------------
// 3. RTT

interface RttRound { raw: Lat; cell: Lat; sec: Lat; raw32: Lat; rawFd: Lat; device: Lat | null; pair: { plain: Lat; sec: Lat } }

/**
 * Plain and secured calls interleaved one by one (which goes first alternates), so both see the
 * same moment of the machine: on a shared VM the pty round trip drifts more between two blocks of
 * calls than the sealing costs, and block-to-block ratios measure the drift.
 */
async function interleaved(n: number, warm: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<{ plain: Lat; sec: Lat }> {
  for (let i = 0; i < warm; i++) { await a(); await b(); }
  const sa: number[] = [], sb: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      let t0 = hr(); await a(); sa.push(Number(hr() - t0));
      t0 = hr(); await b(); sb.push(Number(hr() - t0));
    } else {
      let t0 = hr(); await b(); sb.push(Number(hr() - t0));
      t0 = hr(); await a(); sa.push(Number(hr() - t0));
    }
  }
  return { plain: latStats(sa), sec: latStats(sb) };
}

/** The host's keys of the secured runs (the peer is provisioned from the same fleet key). */
const benchKeys = (): KeyRing => new KeyRing().add({ kind: 'fleet', key: BENCH_FLEET_KEY });

async function rttBench(opt: BenchOptions, pairs: PtyPair[], missing: string[]): Promise<{ rounds: RttRound[]; wireBytes: number; deviceWire: number }> {
  const N = opt.quick ? 150 : 400;
  const W = opt.quick ? 50 : 100;
  // the wire bytes of one ping: leading 0x00 of the write batch + COBS(header + 32 + CRC) + 0x00
  const wireBytes = 1 + frameMaxEncodedBytes(HEADER_BYTES + PING_BYTES);
  const pRaw = await startPtyPair(); pairs.push(pRaw);
  const pCell = await startPtyPair(); pairs.push(pCell);
  const pFd = await startPtyPair(); pairs.push(pFd);
  const pSec = await startPtyPair(); pairs.push(pSec);
  const echo = await startPeer('echo', pRaw.pathB);
  const cellPeer = await startPeer('cell', pCell.pathB);
  const secPeer = await startPeer('cellsec', pSec.pathB);
  const echoFd = await startPeer('echofd', pFd.pathB);
  const raw = await openRaw(pRaw.pathA);
  const rawFd = await openRaw(pFd.pathA); // never gets a 'data' listener: serialport does not read it
  let dev: UartClient<typeof ThermoDef> | null = null;
  let sim: Awaited<ReturnType<typeof startSim>> | null = null;
  const cell = await withTimeout(connectUart(UartBenchCell, { path: pCell.pathA, heartbeatMs: 0 }), 'connectUart to the Node peer');
  const sec = await withTimeout(connectUart(UartBenchCell, { path: pSec.pathA, heartbeatMs: 0, security: { keys: benchKeys() } }), 'secured connectUart to the Node peer');
  try {
    if (existsSync(THERMO_WASM)) {
      const pSim = await startPtyPair(); pairs.push(pSim);
      sim = await startSim({ ptyPath: pSim.pathB, wasm: THERMO_WASM });
      // the device's frames are ≤ 512 bytes (THERMO_MAX_FRAME_BYTES): use that as the MTU
      dev = await withTimeout(connectUart(ThermoDef, { path: pSim.pathA, heartbeatMs: 0, maxFrameBytes: 512 }), 'connectUart to the simulator');
    } else missing.push('RTT to the simulator device: build/firmware/thermo.wasm missing (npm run build:firmware)');

    const bufSame = Buffer.alloc(wireBytes, 0x5a);
    const buf32 = Buffer.alloc(PING_BYTES, 0x5a);
    const msg = { payload: new Uint8Array(PING_BYTES).fill(0x5a) };
    const into = UartBenchCell.methods.ping.response.create();
    // verify before timing
    await rawRoundTrip(raw, bufSame);
    const fdInto = Buffer.alloc(wireBytes);
    await rawFdRoundTrip(rawFd, bufSame, fdInto);
    const back = await cell.ping(msg);
    if (back.payload.length !== PING_BYTES || back.payload.some((b) => b !== 0x5a)) throw new Error('cell ping: wrong echo');
    const backSec = await sec.ping(msg);
    if (backSec.payload.length !== PING_BYTES || backSec.payload.some((b) => b !== 0x5a)) throw new Error('secured ping: wrong echo');
    const intoSec = UartBenchCell.methods.ping.response.create();
    if (dev !== null) { const r = await dev.read({ channel: 0 }); if (r.channel !== 0) throw new Error('device read: wrong channel'); }

    const rounds: RttRound[] = [];
    const R = opt.rounds;
    progress.start('uart: RTT', R * (dev ? 7 : 6));
    for (let r = 0; r < R; r++) {
      // back-to-back, order alternating between rounds
      const runRaw = async () => timeLoop(N, W, () => rawRoundTrip(raw, bufSame));
      const runCell = async () => timeLoop(N, W, () => cell.ping(msg, { into }));
      const runSec = async () => timeLoop(N, W, () => sec.ping(msg, { into: intoSec }));
      let rawL: Lat, cellL: Lat, secL: Lat;
      if (r % 2 === 0) { rawL = await runRaw(); progress.tick(); cellL = await runCell(); progress.tick(); secL = await runSec(); } else { secL = await runSec(); progress.tick(); cellL = await runCell(); progress.tick(); rawL = await runRaw(); }
      progress.tick(`round ${r + 1}/${R}`);
      const raw32 = await timeLoop(N, W, () => rawRoundTrip(raw, buf32));
      progress.tick();
      const rawFdL = await timeLoop(N, W, () => rawFdRoundTrip(rawFd, bufSame, fdInto));
      progress.tick();
      let device: Lat | null = null;
      if (dev !== null) { const d = dev; device = await timeLoop(Math.min(N, 200), 20, () => d.read({ channel: 0 }, { deadlineMs: 30_000 })); progress.tick(); }
      const pair = await interleaved(N, W, () => cell.ping(msg, { into }), () => sec.ping(msg, { into: intoSec }));
      progress.tick();
      rounds.push({ raw: rawL, cell: cellL, sec: secL, raw32, rawFd: rawFdL, device, pair });
    }
    progress.finish();
    // thermo read: REQUEST 20+1, RESPONSE 20+9 → wire bytes of the request (for the table)
    return { rounds, wireBytes, deviceWire: 1 + frameMaxEncodedBytes(HEADER_BYTES + 9) };
  } finally {
    await cell.close();
    await sec.close();
    await secPeer.stop();
    if (dev !== null) await dev.close();
    await closeRaw(raw);
    await closeRaw(rawFd);
    await echo.stop();
    await echoFd.stop();
    await cellPeer.stop();
    if (sim !== null) await sim.kill();
  }
}

// ------------------------------------------------------------------------------------------
// 4. bulk throughput

interface BulkRound { raw_MBps: number; cell_MBps: number; sec_MBps: number }

async function bulkBench(opt: BenchOptions, pairs: PtyPair[]): Promise<{ rounds: BulkRound[]; bytes: number; credit: number }> {
  const bytes = (opt.quick ? 4 : 16) * 1024 * 1024;
  const items = Math.floor(bytes / CHUNK_BYTES);
  const credit = 16;
  const pRaw = await startPtyPair(); pairs.push(pRaw);
  const pCell = await startPtyPair(); pairs.push(pCell);
  const src = await startPeer('source', pRaw.pathB);
  const cellPeer = await startPeer('cell', pCell.pathB);
  const pSec = await startPtyPair(); pairs.push(pSec);
  const secPeer = await startPeer('cellsec', pSec.pathB);
  const raw = await openRaw(pRaw.pathA);
  const cell = await withTimeout(connectUart(UartBenchCell, { path: pCell.pathA, heartbeatMs: 0 }), 'connectUart to the Node peer');
  const sec = await withTimeout(connectUart(UartBenchCell, { path: pSec.pathA, heartbeatMs: 0, security: { keys: benchKeys() } }), 'secured connectUart to the Node peer');
  const expect = Uint8Array.from({ length: CHUNK_BYTES }, (_, i) => fillByte(i));

  /**
   * MB/s from the first received chunk to the last (the request's latency is not counted). The
   * first chunk's bytes start the clock and are not counted, as Cell's first item is not (before,
   * raw counted them: a bias of one read, ≤ 64 KiB, in raw's favour).
   */
  const runRaw = (n: number): Promise<number> => new Promise((res) => {
    let got = 0, first = 0, t0 = 0n;
    const on = (d: Buffer): void => {
      if (got === 0) { t0 = hr(); first = d.length; }
      got += d.length;
      if (got >= n) { raw.off('data', on); res((got - first) / (Number(hr() - t0) / 1e3)); }
    };
    raw.on('data', on);
    src.send(`send ${n}`);
  });
  const runCell = async (count: number, verify: boolean, client = cell): Promise<number> => {
    let k = 0, t0 = 0n;
    for await (const c of client.bulk({ count }, { credit, deadlineMs: 120_000 })) {
      if (k === 0) t0 = hr();
      if (verify && c.data.some((b, i) => b !== expect[i])) throw new Error(`bulk item ${k}: wrong bytes`);
      k++;
    }
    if (k !== count) throw new Error(`bulk: ${k} of ${count} items`);
    return ((count - 1) * CHUNK_BYTES) / (Number(hr() - t0) / 1e3); // first item starts the clock
  };
  try {
    // verify first (and warm up): every byte of every item, the item count, raw byte count
    await runCell(64, true);
    await runCell(64, true, sec);
    await runRaw(1 << 20);
    const rounds: BulkRound[] = [];
    const R = Math.max(3, Math.ceil(opt.rounds / 2));
    progress.start('uart: bulk', R * 3);
    for (let r = 0; r < R; r++) {
      let a: number, b: number, c: number;
      if (r % 2 === 0) { a = await runRaw(bytes); progress.tick(); b = await runCell(items, false); progress.tick(); c = await runCell(items, false, sec); } else { c = await runCell(items, false, sec); progress.tick(); b = await runCell(items, false); progress.tick(); a = await runRaw(bytes); }
      progress.tick(`round ${r + 1}/${R}`);
      rounds.push({ raw_MBps: a, cell_MBps: b, sec_MBps: c });
    }
    progress.finish();
    return { rounds, bytes, credit };
  } finally {
    await cell.close();
    await sec.close();
    await closeRaw(raw);
    await src.stop();
    await cellPeer.stop();
    await secPeer.stop();
  }
}

// ------------------------------------------------------------------------------------------
// 5. paced line utilisation

interface PacedRow { baud: number; stream: string; itemBytes: number; frames_per_s: number; wire_Bps: number; util: number; seconds: number }

async function pacedBench(opt: BenchOptions, pairs: PtyPair[]): Promise<PacedRow[]> {
  const bauds = [115200, 1_000_000];
  const secs = opt.quick ? 1.5 : 3;
  const out: PacedRow[] = [];
  progress.start('uart: paced', bauds.length * 2);
  for (const baud of bauds) {
    const p = await startPtyPair(); pairs.push(p);
    const peer = await startPeer('cell', p.pathB, baud);
    const cell = await withTimeout(connectUart(UartBenchCell, { path: p.pathA, heartbeatMs: 0, paceBaud: baud, baudRate: baud }), 'connectUart paced');
    try {
      for (const [name, itemBytes] of [['ticks', 8], ['blocks', BLOCK_BYTES]] as const) {
        const lineBps = baud / 10;
        const frameWire = frameMaxEncodedBytes(HEADER_BYTES + itemBytes);
        const count = Math.ceil((lineBps / frameWire) * (secs + 1) * 1.2);
        // count the bytes the port delivers (every byte on the wire, delimiters and CRC included)
        let wire = 0, counting = false;
        const io = cell.sessions.port!.io.readable;
        const tap = (d: Buffer): void => { if (counting) wire += d.length; };
        io.on('data', tap);
        let k = 0, t0 = 0n, t1 = 0n, kStart = 0;
        const it = name === 'ticks' ? cell.ticks({ count }, { credit: 64, deadlineMs: 60_000 }) : cell.blocks({ count }, { credit: 16, deadlineMs: 60_000 });
        for await (const item of it) {
          // verify every item (cheap at these rates)
          if (name === 'ticks') { const t = item as { i: number }; if (t.i !== k) throw new Error(`tick ${k}: got ${t.i}`); }
          else if ((item as { data: Uint8Array }).data[5] !== fillByte(5)) throw new Error('block: wrong bytes');
          k++;
          // steady state: start after 0.3 s of streaming, stop after `secs`
          if (t0 === 0n && k > 1) { t0 = hr(); kStart = k; wire = 0; counting = true; }
          if (t0 !== 0n && Number(hr() - t0) / 1e9 >= secs) { t1 = hr(); counting = false; break; }
        }
        io.off('data', tap);
        const s = Number(t1 - t0) / 1e9;
        out.push({ baud, stream: name, itemBytes, frames_per_s: (k - kStart) / s, wire_Bps: wire / s, util: (wire * 10) / (baud * s), seconds: s });
        progress.tick(`${baud} ${name}`);
        await new Promise((r) => setTimeout(r, 200)); // let the cancelled stream's tail drain
      }
    } finally {
      await cell.close();
      await peer.stop();
    }
  }
  progress.finish();
  return out;
}

// ------------------------------------------------------------------------------------------

export async function runUartBench(opt: BenchOptions): Promise<SectionResult> {
  const missing: string[] = [];
  const targets: Target[] = [];
  const no = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));
  const overhead = overheadTable();
  const cpu = cpuCost(opt);
  {
    const rows = cpu.map((c) => {
      const e = median(c.enc_ns_per_B), d = median(c.dec_ns_per_B);
      return [c.path, `${c.bytes} B`, sig(e), sig(d), sig(e + d), `${sig((e + d) * 4)} %`, `${sig(1000 / (e + d))} MB/s`];
    });
    const hasWasm = cpu.some((c) => c.path === 'wasm');
    printTable('COBS + CRC-32C CPU cost (frameEncode + Deframer.feed/next, one core)', ['path', 'frame', 'encode ns/B', 'deframe ns/B', 'both ns/B', '% core at 40 MB/s', 'one core ceiling'], rows, {
      notes: ['', `Medians of ${opt.rounds} rounds. % of a core at 40 MB/s = (encode + deframe ns/B) × 40e6 B/s ÷ 1e9 ns/s × 100: both directions' work for 40 MB/s through one link. ` +
        (hasWasm ? 'wasm = the accelerator StreamLink/UartLink use (src/framing/wasm-accel.ts), copies in and out included.' : 'wasm: not measured (build/wasm/framing-accel.wasm missing, or CELL_WASM_FRAMING=0): links use the JS path.')],
    });
    // The target is the path the links use: the accelerator when it is there.
    const big = cpu.filter((c) => c.path === (hasWasm ? 'wasm' : 'JS')).pop()!;
    const pct = big.enc_ns_per_B.map((e, i) => (e + big.dec_ns_per_B[i]!) * 4);
    targets.push(target(SECTION, `COBS+CRC at 40 MB/s, 4000-B frames (${big.path})`, median(pct), '<=', 15, '%', `median of ${pct.length} rounds ${range(pct)}`));
  }
  const data: Record<string, unknown> = { overhead, cpu };
  if (no !== null) {
    missing.push(`pty benchmarks (${no})`);
    return { section: SECTION, targets, data, missing };
  }
  const pairs: PtyPair[] = [];
  try {
    const rtt = await rttBench(opt, pairs, missing);
    data.rtt = rtt;
    const ratios = rtt.rounds.map((r) => r.cell.median_us / r.raw.median_us);
    const med = (f: (r: RttRound) => number): string => sig(median(rtt.rounds.map(f)));
    const rows = [
      [`raw serialport ping-pong, ${rtt.wireBytes} B (= the call's wire bytes)`, med((r) => r.raw.median_us), med((r) => r.raw.p99_us), ''],
      [`raw serialport ping-pong, ${PING_BYTES} B`, med((r) => r.raw32.median_us), med((r) => r.raw32.p99_us), ''],
      [`raw ping-pong on the fd (readSync/writeSync, UartIo's I/O), ${rtt.wireBytes} B`, med((r) => r.rawFd.median_us), med((r) => r.rawFd.p99_us), ''],
      [`Cell ping(32 B) via connectUart → serveUart (peer process)`, med((r) => r.cell.median_us), med((r) => r.cell.p99_us), `${sig(median(ratios))}× ${range(ratios)}`],
      [`the same, secured (ChaCha20-Poly1305 both ways; ÷ plain Cell)`, med((r) => r.sec.median_us), med((r) => r.sec.p99_us), `${sig(median(rtt.rounds.map((r) => r.sec.median_us / r.cell.median_us)))}× plain (blocks)`],
      [`plain and secured interleaved call by call: plain`, med((r) => r.pair.plain.median_us), med((r) => r.pair.plain.p99_us), ''],
      [`plain and secured interleaved call by call: secured`, med((r) => r.pair.sec.median_us), med((r) => r.pair.sec.p99_us), `${sig(median(rtt.rounds.map((r) => r.pair.sec.median_us / r.pair.plain.median_us)))}× plain (interleaved)`],
    ];
    const fdRatios = rtt.rounds.map((r) => r.cell.median_us / r.rawFd.median_us);
    if (rtt.rounds[0]?.device) {
      const dr = rtt.rounds.map((r) => r.device!.median_us / r.raw.median_us);
      rows.push(['thermo.read() on the simulator device (wasm, own process)', med((r) => r.device!.median_us), med((r) => r.device!.p99_us), `${sig(median(dr))}× ${range(dr)} (info)`]);
    }
    printTable('RTT over a socat pty pair (µs; medians over rounds of per-round median / p99)', ['path', 'median µs', 'p99 µs', '÷ raw same bytes'], rows, {
      align: ['l', 'r', 'r', 'l'],
      notes: ['', `${opt.rounds} rounds × ${opt.quick ? 150 : 400} round trips each; Cell and raw back-to-back, order alternating. Both peers are separate Node processes using serialport.`,
        `Cell ÷ raw on the fd (the same syscalls as Cell's UartIo, so this is Cell's own cost; info): ${sig(median(fdRatios))}× ${range(fdRatios)}.`],
    });
    targets.push(target(SECTION, 'RTT 32 B call ÷ raw ping-pong', median(ratios), '<=', 1.15, '×', `median of ${ratios.length} back-to-back ratios ${range(ratios)}`));
    const secRatios = rtt.rounds.map((r) => r.pair.sec.median_us / r.pair.plain.median_us);
    targets.push(target(SECTION, 'secured ÷ plain RTT, 32 B call', median(secRatios), '<=', 1.1, '×', `median of ${secRatios.length} rounds of calls interleaved one by one ${range(secRatios)}`));

    const bulk = await bulkBench(opt, pairs);
    data.bulk = bulk;
    const br = bulk.rounds.map((r) => r.cell_MBps / r.raw_MBps);
    printTable('Bulk one way over a pty (MB/s, best round / median)', ['path', 'best MB/s', 'median MB/s', '÷ raw'], [
      [`raw serialport writes (64 KiB), ${(bulk.bytes / 2 ** 20).toFixed(0)} MiB`, sig(max(bulk.rounds.map((r) => r.raw_MBps))), sig(median(bulk.rounds.map((r) => r.raw_MBps))), ''],
      [`Cell stream, ${CHUNK_BYTES}-B items, credit ${bulk.credit} (payload bytes)`, sig(max(bulk.rounds.map((r) => r.cell_MBps))), sig(median(bulk.rounds.map((r) => r.cell_MBps))), `${sig(median(br))}× ${range(br)}`],
      [`the same, secured (÷ plain Cell)`, sig(max(bulk.rounds.map((r) => r.sec_MBps))), sig(median(bulk.rounds.map((r) => r.sec_MBps))), `${sig(median(bulk.rounds.map((r) => r.sec_MBps / r.cell_MBps)))}× plain`],
    ], { align: ['l', 'r', 'r', 'l'], notes: ['', 'Cell counts payload bytes only (headers, CRC and COBS are its overhead); the clock starts at the first byte/item received.'] });
    targets.push(target(SECTION, 'bulk stream ÷ raw pty throughput', median(br), '>=', 0.85, '×', `median of ${br.length} back-to-back ratios ${range(br)}`));
    const sb = bulk.rounds.map((r) => r.sec_MBps / r.cell_MBps);
    targets.push(target(SECTION, 'secured ÷ plain bulk stream', median(sb), '>=', 0.9, '×', `median of ${sb.length} back-to-back ratios ${range(sb)}`));

    const paced = await pacedBench(opt, pairs);
    data.paced = paced;
    printTable('Paced line (paceBaud on both ends; 10 bits per byte)', ['baud', 'stream item', 'frame on wire', 'frames/s', 'wire B/s', 'utilisation'], paced.map((p) => [
      String(p.baud), `${p.stream} (${p.itemBytes} B)`, `${frameMaxEncodedBytes(HEADER_BYTES + p.itemBytes)} B`, sig(p.frames_per_s), sig(p.wire_Bps), `${(p.util * 100).toFixed(1)} %`,
    ]), { notes: ['', 'utilisation = bytes received on the wire × 10 bits ÷ (baud × seconds), measured at the receiver over the steady state of a running stream.'] });
    for (const p of paced) targets.push(target(SECTION, `wire utilisation ${p.baud} baud, ${p.stream}`, p.util * 100, '>=', 95, '%', `${p.seconds.toFixed(1)} s of a running stream`));
  } finally {
    for (const p of pairs) await p.close();
  }
  return { section: SECTION, targets, data, missing };
}

// ------------------------------------------------------------------------------------------
// standalone

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opt = parseArgs(process.argv.slice(2));
  console.log(`# Cell bench — UART over socat ptys${opt.quick ? ' — QUICK (indicative only)' : ''}\n`);
  console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? '?'} ×${os.cpus().length}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}.`);
  const res = await runUartBench(opt);
  console.log('\n## Targets\n');
  printTable('uart targets', ['target', 'measured', 'goal', 'result', 'how'], res.targets.map((t) => [t.name, `${sig(t.value)} ${t.unit}`, `${t.op === '>=' ? '≥' : '≤'} ${t.goal} ${t.unit}`, t.pass ? 'PASS' : 'FAIL', t.how]), { align: ['l', 'r', 'r', 'l', 'l'] });
  if (res.missing.length) console.log(`\nNot measured: ${res.missing.join('; ')}`);
  if (opt.json) {
    const file = resolve(process.env.INIT_CWD ?? process.cwd(), opt.json);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ bench: 'uart', options: opt, env: { node: process.version, cpu: os.cpus()[0]?.model, ncpu: os.cpus().length, loadavg: os.loadavg(), time: new Date().toISOString() }, ...res }, null, 2));
    process.stderr.write(`[bench] wrote ${file}\n`);
  }
  process.exit(0);
}
