// The CAN profile's portable halves (src/framing/can-transfer.ts, can-header.ts) in both builds:
// every vector of test/vectors/can.json through the tsc modules and through build/wasm/core.wasm
// (firmware/core/vectors-can.ts) — the same frame bytes, the same reassembly results, transfers,
// counters and error codes, the same compact ids, prefixes and expanded headers — then fixed-seed
// random transfers (segmented, interleaved across sources, mutated: drops, duplicates, swaps,
// flipped bytes, garbage frames, random ids) and random canCompress / canExpand inputs, compared
// push by push between the two builds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fromHex, toHex } from '../helpers/hex.ts';
import { Prng } from '../helpers/prng.ts';
import { CoreWasm, ensureWasm, loadCore } from './wasm.ts';
import { CAN_COMPACT_CALL_BIT } from '../../src/wire/layouts.ts';
import {
  TscCan, loadCanVectors, loadTables, runReassembly, type CanImpl, type HeaderJson, type RxConfig, type RxCounters,
} from '../vectors/can-vectors.ts';

ensureWasm();
const wasm: CoreWasm = await loadCore();
const x = wasm.x;
const V = loadCanVectors();

// IN layout for segmentation: the prefix at 0 (≤ 32 bytes), the payload from 64.
const PAYLOAD_AT = 64;
const SEG_FRAMES_AT = 2048;

/** The asc build behind the same interface as TscCan. */
class WasmCan implements CanImpl {
  crc(init: number, bytes: Uint8Array): number {
    wasm.input(bytes, 0);
    return x.canCrc!(init, 0, bytes.length) >>> 0;
  }
  fdLength(n: number): number { return x.canFdLen!(n); }
  frameCount(len: number, fd: boolean): number { return x.canFrames!(len, fd ? 1 : 0); }
  segment(prefix: Uint8Array, payload: Uint8Array, fd: boolean, tid: number): Uint8Array[] | number {
    wasm.input(prefix, 0);
    wasm.input(payload, PAYLOAD_AT);
    const count = x.canSegment!(0, prefix.length, PAYLOAD_AT, payload.length, fd ? 1 : 0, tid);
    if (count < 0) return count;
    const lens = wasm.output(count, 0);
    const frames: Uint8Array[] = [];
    let at = SEG_FRAMES_AT;
    for (let i = 0; i < count; i++) { frames.push(wasm.output(lens[i]!, at)); at += lens[i]!; }
    return frames;
  }
  rxNew(c: RxConfig): void { x.canRxNew!(c.slots, c.maxBytes, c.perSource, c.timeoutMs); }
  rxPush(id: number, frame: Uint8Array, now: number): { n: number; bytes?: Uint8Array; tid: number } {
    wasm.input(frame, 0);
    const n = x.canRxPush!(id, frame.length, 0, frame.length, now);
    const tid = x.canRxCounter!(9);
    return n >= 0 ? { n, bytes: wasm.output(n, 0), tid } : { n, tid };
  }
  rxSweep(now: number): void { x.canRxSweep!(now); }
  rxReset(): void { x.canRxReset!(); }
  rxCounters(): RxCounters {
    const c = (i: number): number => x.canRxCounter!(i) >>> 0;
    return {
      transfers: c(0), errCrc: c(1), errSequence: c(2), errOrphan: c(3), errTooLong: c(4), errFull: c(5), errTimeout: c(6),
      errBadFrame: c(7), lastError: x.canRxCounter!(8), open: x.canRxOpen!(),
    };
  }
  tableLoad(which: 0 | 1, hello: Uint8Array): number {
    wasm.input(hello, 0);
    return x.canTableLoad!(which, hello.length, 0, hello.length);
  }
  tableKeys(which: 0 | 1): string[] {
    const keys: string[] = [];
    const n = x.canTableCount!(which);
    for (let i = 0; i < n; i++) {
      keys.push((x.canTableKey!(which, i, 1) >>> 0).toString(16).padStart(8, '0') + (x.canTableKey!(which, i, 0) >>> 0).toString(16).padStart(8, '0'));
    }
    return keys;
  }
  compress(h: HeaderJson, src: number, dst: number, callTid: number, rollingTid: number): { id: number; prefix: Uint8Array; tid: number } {
    const n = x.canCompressHdr!(h.kind, h.flags, h.channel, h.callId, h.keyLo, h.keyHi, h.length, src, dst, callTid, rollingTid);
    return { id: wasm.outU32(0), prefix: wasm.output(n, 16), tid: wasm.outU32(2) };
  }
  expand(id: number, data: Uint8Array, tid: number): { result: number; header: HeaderJson } {
    wasm.input(data, 0);
    const result = x.canExpandHdr!(id, data.length, 0, data.length, tid);
    const w = (i: number): number => wasm.outU32(i);
    return { result, header: { kind: w(0), flags: w(1), channel: w(2), callId: w(3), keyLo: w(4), keyHi: w(5), length: w(6) } };
  }
}

const builds: [string, CanImpl][] = [['tsc', new TscCan()], ['asc', new WasmCan()]];
/** Appended to golden-vector failures: the vectors are a snapshot of the code (review the diff). */
const REGEN = ' — if the profile changed on purpose: node --import tsx test/vectors/generators/can.mts';
const framesHex = (f: Uint8Array[] | number): string[] | number => (typeof f === 'number' ? f : f.map(toHex));

const vec = suite('can: test/vectors/can.json in the tsc and asc builds');

vec('the wasm build exports the CAN entry', () => {
  for (const f of ['canCrc', 'canSegment', 'canRxNew', 'canRxPush', 'canTableLoad', 'canCompressHdr', 'canExpandHdr']) assert.ok(wasm.has(f), f);
});

vec('the vector file covers what it should', () => {
  assert.ok(V.segment.length >= 50 && V.reassembly.length >= 60 && V.compress.length >= 25 && V.expand.length >= 40);
  const lens = new Set(V.segment.map((s) => fromHex(s.payload).length));
  for (const n of [0, 1, 6, 7, 8, 13, 14, 62, 63, 64, 125, 126, 200, 492]) assert.ok(lens.has(n), `payload length ${n}`);
});

for (const [name, impl] of builds) {
  vec(`${name}: CRC-16 (check value 0x29B1), FD lengths, frame counts`, () => {
    assert.is(V.crc[0]!.crc, 0x29b1);
    for (const c of V.crc) assert.is(impl.crc(c.init, fromHex(c.input)), c.crc, c.input);
    for (const [n, len] of V.fdLength) assert.is(impl.fdLength(n), len, `fd length ${n}`);
    for (const c of V.frameCount) assert.is(impl.frameCount(c.len, c.fd), c.frames, `${c.len} fd=${c.fd}`);
  });

  vec(`${name}: segmentation, ${V.segment.length} transfers, exact frame bytes`, () => {
    for (const s of V.segment) {
      assert.equal(framesHex(impl.segment(fromHex(s.prefix), fromHex(s.payload), s.fd, s.tid)), s.frames, s.name + REGEN);
      assert.is(s.frames.length, impl.frameCount(Math.min(fromHex(s.prefix).length, 16) + fromHex(s.payload).length, s.fd), s.name);
    }
  });

  vec(`${name}: reassembly scripts, ${V.reassembly.length}: every result, transfer and counter`, () => {
    for (const r of V.reassembly) {
      const got = runReassembly(impl, r.config, r.steps);
      assert.equal(got.steps, r.steps, r.name + REGEN);
      assert.equal(got.counters, r.counters, r.name + REGEN);
    }
  });

  vec(`${name}: HELLO tables (the thermo cell's real HELLO), loads and refusals`, () => {
    for (const t of V.tableLoads) {
      assert.is(impl.tableLoad(0, fromHex(t.hello)), t.result, t.name);
      assert.equal(impl.tableKeys(0), t.keys, t.name);
    }
  });

  vec(`${name}: canCompress, ${V.compress.length} headers`, () => {
    for (const c of V.compress) {
      loadTables(impl, V.tables, c.own, c.peer);
      const got = impl.compress(c.header, c.src, c.dst, c.callTid, c.rollingTid);
      assert.equal({ id: got.id >>> 0, prefix: toHex(got.prefix), tid: got.tid }, { id: c.id, prefix: c.prefix, tid: c.tid }, c.name + REGEN);
    }
  });

  vec(`${name}: canExpand, ${V.expand.length} transfers (round trips, stale key, refusals)`, () => {
    for (const e of V.expand) {
      loadTables(impl, V.tables, e.own, e.peer);
      const got = impl.expand(e.id, fromHex(e.data), e.tid);
      assert.is(got.result, e.result, e.name + REGEN);
      if (got.result >= 0 || got.result === -910) assert.equal(got.header, e.header, e.name + REGEN);
    }
  });
}

vec('round trips: every compact header expands to the header it came from (compact call ids aside)', () => {
  for (const c of V.compress) {
    const e = V.expand.find((x) => x.name === `${c.name} → expanded`)!;
    assert.ok(e, c.name);
    assert.ok(e.result >= 0, `${c.name}: ${e.result}`);
    const h = c.header;
    assert.is(e.header.kind, h.kind, c.name);
    assert.is(e.header.flags, h.flags, c.name);
    assert.is(e.header.channel, h.channel, c.name);
    assert.is(e.header.keyLo, h.keyLo, c.name);
    assert.is(e.header.keyHi, h.keyHi, c.name);
    assert.is(e.header.length, h.length, c.name);
    if (e.result === 13 || h.kind === 5 /* EVENT */ || (h.callId & CAN_COMPACT_CALL_BIT) !== 0) assert.is(e.header.callId, h.callId >>> 0, c.name);
  }
});

// ---- random, differential ------------------------------------------------------------------------

const EDGES = [0, 1, 6, 7, 8, 13, 14, 15, 61, 62, 63, 64, 65, 125, 126, 127, 200, 492, 500];
const diff = suite('can: fixed-seed random transfers, tsc and asc push by push');
const [, tsc] = builds[0]!;
const [, asc] = builds[1]!;

diff('4 000 random transfers: same frames; interleaved and mutated, same results, bytes and counters', () => {
  const rng = new Prng(0xca17);
  const config: RxConfig = { slots: 6, maxBytes: 300, perSource: 2, timeoutMs: 50 };
  tsc.rxNew(config);
  asc.rxNew(config);
  let now = 0, pushes = 0, delivered = 0, refused = 0, transfers = 0;
  while (transfers < 4000) {
    // A round: 1..4 transfers from random sources, frames interleaved, some mutated.
    const streams: { id: number; frames: Uint8Array[] }[] = [];
    const k = 1 + rng.below(4);
    for (let s = 0; s < k; s++, transfers++) {
      const fd = rng.below(2) === 0;
      const plen = rng.below(3) === 0 ? 0 : 1 + rng.below(16);
      const len = rng.below(2) === 0 ? EDGES[rng.below(EDGES.length)]! : rng.below(320);
      const prefix = new Uint8Array(plen); rng.fill(prefix);
      const payload = new Uint8Array(len); rng.fill(payload);
      const tid = rng.below(40) - 4; // a few out of range: masked
      const a = tsc.segment(prefix, payload, fd, tid);
      const b = asc.segment(prefix, payload, fd, tid);
      assert.equal(framesHex(b), framesHex(a), `segment plen ${plen} len ${len} fd ${fd} tid ${tid}`);
      const id = ((rng.below(8) << 26) | (rng.below(13) << 22) | (rng.below(256) << 14) | (rng.below(128) << 7) | rng.below(100)) >>> 0;
      streams.push({ id, frames: (a as Uint8Array[]).slice() });
    }
    const order: { id: number; frame: Uint8Array }[] = [];
    for (;;) {
      const live = streams.filter((s) => s.frames.length > 0);
      if (live.length === 0) break;
      const s = live[rng.below(live.length)]!;
      order.push({ id: s.id, frame: s.frames.shift()! });
    }
    // Mutations: drop, duplicate, swap, flip a byte, cut, a garbage frame, a random id.
    const m = rng.below(10);
    if (m < 7 && order.length > 0) {
      const i = rng.below(order.length);
      if (m === 0) order.splice(i, 1);
      else if (m === 1) order.splice(i, 0, { id: order[i]!.id, frame: order[i]!.frame.slice() });
      else if (m === 2 && i + 1 < order.length) [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
      else if (m === 3) { const f = order[i]!.frame.slice(); f[rng.below(f.length)] ^= 1 << rng.below(8); order[i] = { id: order[i]!.id, frame: f }; }
      else if (m === 4) { const f = order[i]!.frame; order[i] = { id: order[i]!.id, frame: f.slice(0, rng.below(f.length + 1)) }; }
      else if (m === 5) { const f = new Uint8Array(rng.below(65)); rng.fill(f); order.splice(i, 0, { id: rng.next() >>> 3, frame: f }); }
      else order[i] = { id: rng.next(), frame: order[i]!.frame };
    }
    for (const { id, frame } of order) {
      now += rng.below(8);
      const ra = tsc.rxPush(id, frame, now);
      const rb = asc.rxPush(id, frame, now);
      pushes++;
      assert.is(rb.n, ra.n, `push ${pushes}`);
      if (ra.n >= 0) {
        assert.is(toHex(rb.bytes!), toHex(ra.bytes!), `push ${pushes}`);
        assert.is(rb.tid, ra.tid);
        delivered++;
      } else if (ra.n !== -1) refused++;
    }
    if (rng.below(50) === 0) { tsc.rxSweep(now); asc.rxSweep(now); }
    assert.equal(asc.rxCounters(), tsc.rxCounters(), `counters after push ${pushes}`);
  }
  assert.ok(delivered > 2000, `delivered ${delivered}`);
  assert.ok(refused > 100, `refused ${refused}`);
});

diff('5 000 random canCompress / canExpand inputs: same ids, prefixes, results and headers', () => {
  const rng = new Prng(0xc0de);
  const names = Object.keys(V.tables);
  const thermoKeys = V.tableLoads[0]!.keys.map((k) => [parseInt(k.slice(8), 16), parseInt(k.slice(0, 8), 16)] as [number, number]);
  const data = new Uint8Array(40);
  for (let i = 0; i < 5000; i++) {
    const own = names[rng.below(names.length)]!, peer = names[rng.below(names.length)]!;
    loadTables(tsc, V.tables, own, peer);
    loadTables(asc, V.tables, own, peer);
    const key = rng.below(2) === 0 ? thermoKeys[rng.below(thermoKeys.length)]! : [rng.next(), rng.next()];
    const callId = rng.below(3) === 0 ? 0 : rng.below(2) === 0 ? (CAN_COMPACT_CALL_BIT | rng.below(1 << 13)) >>> 0 : rng.next();
    const h: HeaderJson = {
      kind: rng.below(14), flags: rng.below(4) << 6, channel: rng.below(3) === 0 ? rng.below(256) : 0, callId,
      keyLo: rng.below(5) === 0 ? 0 : key[0]!, keyHi: rng.below(5) === 0 ? 0 : key[1]!, length: rng.below(30),
    };
    const callTid = rng.below(40) - 5, rollingTid = rng.below(40) - 5;
    const src = rng.below(128), dst = rng.below(128);
    const a = tsc.compress(h, src, dst, callTid, rollingTid);
    const b = asc.compress(h, src, dst, callTid, rollingTid);
    assert.equal({ id: b.id >>> 0, prefix: toHex(b.prefix), tid: b.tid }, { id: a.id >>> 0, prefix: toHex(a.prefix), tid: a.tid }, JSON.stringify(h));
    // Expand: the compressed frame, or a random id / prefix.
    const n = rng.below(data.length + 1);
    rng.fill(data, 0, n);
    let id: number;
    let bytes: Uint8Array;
    if (rng.below(2) === 0) { id = a.id; bytes = Uint8Array.from([...a.prefix, ...data.subarray(0, n)]); } else { id = rng.next(); bytes = data.slice(0, n); }
    const tid = rng.below(64);
    const ea = tsc.expand(id, bytes, tid);
    const eb = asc.expand(id, bytes, tid);
    assert.is(eb.result, ea.result, `expand ${id.toString(16)} ${toHex(bytes)}`);
    if (ea.result >= 0 || ea.result === -910) assert.equal(eb.header, ea.header);
  }
});

diff('invalid ranges give the same code in both builds (no trap, no silent zeros)', () => {
  // Segmenter: a payload range past its buffer is refused by next().
  wasm.input(new Uint8Array(8), 0);
  x.canSegmentBegin!(0, 4, wasm.ioBytes - 3, 10, 0, 1);
  assert.is(x.canSegmentDone!(), 1);
  assert.is(x.canSegmentNextCap!(0, 64), -909);
  // Output too small: -204, no partial write past cap.
  x.canSegmentBegin!(0, 0, PAYLOAD_AT, 30, 0, 1);
  assert.is(x.canSegmentNextCap!(0, 7), -204);
  assert.is(x.canSegmentNextCap!(0, 8), 8);
  assert.is(x.canSegmentNextCap!(0x7ffffff0, 64), -204);
  // Reassembler and tables: ranges past the buffer, offsets near 2^31.
  x.canRxNew!(2, 64, 1, 100);
  assert.is(x.canRxPush!(1, 8, 4, 5, 0), -909);
  assert.is(x.canRxPush!(1, 8, 0x7ffffffe, 4, 0), -909);
  assert.is(x.canTableLoad!(0, 20, 0x7ffffff0, 40), -909);
  assert.is(x.canExpandHdr!(1 << 22, 8, 4, 6, 0), -909);
  assert.is(x.canExpandHdr!(1 << 22, 8, 0x7ffffffe, 4, 0), -909);
});

vec.run();
diff.run();
