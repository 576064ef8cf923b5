// Generates test/vectors/can.json from the tsc build of src/framing/can-transfer.ts and
// can-header.ts (golden snapshot: review every diff by hand; the tail byte, CRC position and
// padding are docs/wire-format.md §8.3, the id layout and prefixes §8.2).
// Run: node --import tsx test/vectors/generators/can.mts
// The tables: the thermo cell's real HELLO payload (deviceHello of firmware/shared/gen-cell.ts,
// the bytes firmware/thermo/gen/consts.ts carries), a sensor's
// (encodeHello: a method and an event, for EVENT on its own table) and a 250-entry one (entries
// past index 247 go explicit).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toHex, fromHex } from '../../helpers/hex.ts';
import { encodeHello } from '../../../src/rpc/payloads.ts';
import { deviceHello } from '../../../firmware/shared/gen-cell.ts';
import { ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../../firmware/thermo/schema.ts';
import { canId } from '../../../src/framing/can-header.ts';
import { CAN_COMPACT_CALL_BIT } from '../../../src/wire/layouts.ts';
import {
  KIND_CANCEL, KIND_CREDIT, KIND_ERROR, KIND_EVENT, KIND_GOODBYE, KIND_HELLO, KIND_PING, KIND_PONG, KIND_REQUEST,
  KIND_RESPONSE, KIND_STREAM_END, KIND_STREAM_ITEM,
} from '../../../src/wire/header.ts';
import {
  TscCan, loadTables, runReassembly, type CanVectors, type CompressCase, type ExpandCase, type HeaderJson, type RxConfig,
  type RxStep, type SegmentCase,
} from '../can-vectors.ts';

const impl = new TscCan();
const V: CanVectors = { crc: [], fdLength: [], frameCount: [], segment: [], reassembly: [], tables: {}, tableLoads: [], compress: [], expand: [] };

// ---- CRC-16/CCITT-FALSE, FD lengths, frame counts ---------------------------------------------
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
for (const [input, init] of [[ascii('123456789'), 0xffff], [new Uint8Array(0), 0xffff], [new Uint8Array([0]), 0xffff],
  [new Uint8Array(64).fill(0xff), 0xffff], [ascii('56789'), impl.crc(0xffff, ascii('1234'))]] as [Uint8Array, number][]) {
  V.crc.push({ input: toHex(input), init, crc: impl.crc(init, input) });
}
if (V.crc[0]!.crc !== 0x29b1) throw new Error('CRC-16/CCITT-FALSE check value is not 0x29b1');
for (const n of [-1, 0, 1, 7, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 32, 33, 48, 49, 63, 64, 65]) V.fdLength.push([n, impl.fdLength(n)]);
for (const len of [0, 1, 6, 7, 8, 13, 14, 15, 62, 63, 64, 125, 126, 127, 200, 492, 514]) {
  for (const fd of [false, true]) V.frameCount.push({ len, fd, frames: impl.frameCount(len, fd) });
}

// ---- segmentation ------------------------------------------------------------------------------
/** A payload of `len` bytes that differs per length. */
function payloadOf(len: number, salt: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (i * 131 + len * 7 + salt) & 0xff);
}
const EXPLICIT_PREFIX = fromHex('02' + '78563412' + 'ebce6bcd' + '62351ead'); // channel 2, call 0x12345678, key thermo.read
const PREFIXES: [string, Uint8Array][] = [['no prefix', new Uint8Array(0)], ['key check eb', new Uint8Array([0xeb])], ['explicit prefix', EXPLICIT_PREFIX]];
const LENGTHS = [0, 1, 6, 7, 8, 13, 14, 62, 63, 64, 125, 126, 200, 492];
let k = 0;
for (const len of LENGTHS) {
  for (const fd of [false, true]) {
    // Prefixes in turn (every length gets the empty one and one other), transfer ids across 0..31.
    for (const [pname, prefix] of [PREFIXES[0]!, PREFIXES[1 + (k % 2)]!]) {
      const tid = (k * 7) % 32;
      k++;
      const payload = payloadOf(len, k);
      const frames = impl.segment(prefix, payload, fd, tid);
      if (typeof frames === 'number') throw new Error(`segment failed: ${frames}`);
      V.segment.push({ name: `${len} bytes, ${pname}, ${fd ? 'FD' : 'classic'}, tid ${tid}`, prefix: toHex(prefix), payload: toHex(payload), fd, tid, frames: frames.map(toHex) });
    }
  }
}
// A prefix longer than 16 bytes is cut to 16 (the reassembled transfer shows the cut).
{
  const prefix = Uint8Array.from({ length: 20 }, (_, i) => 0xa0 + i);
  const frames = impl.segment(prefix, payloadOf(10, 1), false, 31);
  if (typeof frames === 'number') throw new Error('segment failed');
  V.segment.push({ name: '20-byte prefix cut to 16, 10 bytes, classic, tid 31', prefix: toHex(prefix), payload: toHex(payloadOf(10, 1)), fd: false, tid: 31, frames: frames.map(toHex) });
}

// ---- reassembly scripts ------------------------------------------------------------------------
function addScript(name: string, config: RxConfig, steps: RxStep[]): void {
  const r = runReassembly(impl, config, steps);
  V.reassembly.push({ name, config, steps: r.steps, counters: r.counters });
}
const push = (id: number, data: Uint8Array | string, now = 0): RxStep => ({ push: { id, data: typeof data === 'string' ? data : toHex(data), now }, result: 0 });
const CFG: RxConfig = { slots: 8, maxBytes: 514, perSource: 2, timeoutMs: 1000 };
const ID = (src: number, port = 0, pri = 4, kind = KIND_REQUEST, dst = 3): number => canId(pri, kind, port, dst, src);

// Every segmentation vector reassembles to prefix ++ payload (priority varies: it is not part of the key).
for (const s of V.segment) {
  addScript(`reassemble: ${s.name}`, CFG, s.frames.map((f, i) => push(ID(10, 1, i % 8), f, i)));
}
const seg = (len: number, fd: boolean, tid: number, salt = 0): string[] => (impl.segment(new Uint8Array(0), payloadOf(len, salt), fd, tid) as Uint8Array[]).map(toHex);
const f30 = seg(30, false, 3); // 5 frames
const f100 = seg(100, false, 4);
const fd200 = seg(200, true, 9); // 4 FD frames
addScript('orphan: a continuation without its start', CFG, [push(ID(5), f30[1]!), push(ID(5), f30[2]!)]);
addScript('sequence: a frame lost (toggle repeats)', CFG, [push(ID(5), f30[0]!), push(ID(5), f30[2]!), push(ID(5), f30[3]!), push(ID(5), f30[4]!)]);
addScript('sequence: a frame repeated', CFG, [push(ID(5), f30[0]!), push(ID(5), f30[1]!), push(ID(5), f30[1]!), push(ID(5), f30[2]!)]);
addScript('sequence: transfer id changes mid-transfer', CFG, [push(ID(5), f30[0]!), push(ID(5), seg(30, false, 4)[1]!)]);
addScript('sequence: a start with the toggle clear', CFG, [push(ID(5), (() => { const b = fromHex(f30[0]!); b[7] = b[7]! & ~0x20; return b; })())]);
{
  const bad = f30.map(fromHex);
  bad[2]![3] = bad[2]![3]! ^ 0x10;
  addScript('CRC: a corrupted byte', CFG, bad.map((f) => push(ID(5), f)));
  const swapped = f30.slice();
  [swapped[1], swapped[3]] = [swapped[3]!, swapped[1]!]; // frames 1 and 3 have the same toggle: only the CRC sees it
  addScript('CRC: two frames of the same toggle swapped', CFG, swapped.map((f) => push(ID(5), f)));
}
addScript('restart: a new start before the end drops the old transfer (counted), the new one completes', CFG,
  [push(ID(5), f30[0]!), push(ID(5), f30[1]!), ...seg(20, false, 6, 2).map((f) => push(ID(5), f))]);
addScript('too long: 100 bytes into a 64-byte reassembler', { ...CFG, maxBytes: 64 }, f100.map((f) => push(ID(6), f)));
addScript('too long: an FD start frame over maxBytes', { slots: 2, maxBytes: 32, perSource: 1, timeoutMs: 1000 }, fd200.map((f) => push(ID(6), f)));
addScript('per-source cap: source 7 holds 2 slots, its third is refused, source 8 still gets one', CFG, [
  push(ID(7, 0), f30[0]!), push(ID(7, 1), f30[0]!), push(ID(7, 2), f30[0]!), push(ID(8, 2), f30[0]!),
  ...f30.slice(1).map((f) => push(ID(7, 1), f)),
]);
addScript('full: every slot busy', { slots: 2, maxBytes: 64, perSource: 2, timeoutMs: 1000 }, [
  push(ID(1), f30[0]!), push(ID(2), f30[0]!), push(ID(3), f30[0]!),
]);
addScript('timeout: an expired slot is reclaimed for a new start; sweep frees the rest', { slots: 2, maxBytes: 64, perSource: 2, timeoutMs: 100 }, [
  push(ID(1), f30[0]!, 0), push(ID(2), f30[0]!, 50), push(ID(3), f30[0]!, 101), push(ID(3), f30[1]!, 102),
  { sweep: 140, open: 0 }, { sweep: 300, open: 0 }, push(ID(3), f30[2]!, 301),
]);
addScript('a late continuation of a slot nobody reclaimed still completes', { slots: 2, maxBytes: 64, perSource: 2, timeoutMs: 100 },
  f30.map((f, i) => push(ID(4), f, i * 90)));
addScript('reset drops transfers uncounted', CFG, [push(ID(5), f30[0]!), { reset: true }, push(ID(5), f30[1]!)]);
addScript('interleaved: three sources and two ports of one source', { ...CFG, slots: 4 }, (() => {
  const a = seg(40, false, 1, 1), b = seg(33, false, 2, 2), c = seg(26, false, 3, 3), d = seg(19, false, 4, 4);
  const streams: [number, string[]][] = [[ID(20, 0), a], [ID(21, 0), b], [ID(22, 5), c], [ID(20, 1), d]];
  const steps: RxStep[] = [];
  for (let i = 0; streams.some(([, f]) => i < f.length); i++) for (const [id, f] of streams) if (i < f.length) steps.push(push(id, f[i]!, i));
  return steps;
})());
addScript('classic and FD single frames: handed over in place, no CRC; 0-byte transfers', CFG, [
  ...seg(0, false, 0).map((f) => push(ID(9, 250, 4, KIND_PING), f)),
  ...seg(7, false, 1).map((f) => push(ID(9), f)),
  ...seg(62, true, 2).map((f) => push(ID(9), f)),
  ...seg(8, true, 3).map((f) => push(ID(9), f)),
]);
{
  const end = fromHex(fd200[fd200.length - 1]!);
  const nonzero = end.slice(); nonzero[end.length - 3] = 1; // a padding byte that is not 0
  const overPad = end.slice(); overPad[end.length - 2] = end.length - 1; // padding count past the frame
  addScript('bad frames: empty, non-zero padding, padding count too large', CFG, [
    push(ID(9), ''),
    ...fd200.slice(0, -1).map((f) => push(ID(9), f)), push(ID(9), nonzero), push(ID(9), end),
    ...fd200.slice(0, -1).map((f) => push(ID(10), f)), push(ID(10), overPad),
  ]);
}
addScript('CRC: a multi-frame transfer of fewer than 2 bytes in total (no room for its CRC)', CFG, [push(ID(9), 'a1'), push(ID(9), '0141')]);

// ---- tables ------------------------------------------------------------------------------------
const thermo = deviceHello(ThermoDef, THERMO_MAX_FRAME_BYTES);
if (thermo.length !== 177) throw new Error(`thermo HELLO: ${thermo.length} bytes (177 when this file was written: review)`);
const entry = (kind: 'method' | 'event' | 'stream', name: string, key: bigint) => ({ kind, name, key, requestFp: key ^ 0x1111n, responseFp: key ^ 0x2222n });
const sensor = encodeHello({
  version: 1, flags: 3, heartbeatMs: 1000, maxFrameBytes: 256, cellName: 'sensor',
  entries: [entry('method', 'get', 0x0102030405060708n), entry('event', 'alarm', 0xa1a2a3a4a5a6a7a8n)],
});
const big = encodeHello({
  version: 1, flags: 1, heartbeatMs: 0, maxFrameBytes: 4096, cellName: 'big',
  entries: Array.from({ length: 250 }, (_, i) => entry('method', `m${i}`, 0x1000000000000000n + BigInt(i) * 0x0101010101n)),
});
V.tables = { none: '', thermo: toHex(thermo), sensor: toHex(sensor), big: toHex(big) };
const tableCase = (name: string, hello: Uint8Array): void => {
  const result = impl.tableLoad(0, hello);
  V.tableLoads.push({ name, hello: toHex(hello), result, keys: impl.tableKeys(0) });
};
tableCase('thermo (the HELLO of firmware/thermo/gen/consts.ts): 5 entries', thermo);
tableCase('sensor: a method and an event', sensor);
tableCase('250 entries: the first 248 are compact', big);
tableCase('empty HELLO: no table', new Uint8Array(0));
tableCase('too short', thermo.slice(0, 10));
tableCase('truncated in an entry', thermo.slice(0, 100));
tableCase('truncated in the last key', thermo.slice(0, thermo.length - 1));
tableCase('name length past the end', Uint8Array.from([1, 1, 0, 0, 0, 2, 0, 0, 200, 0, 0]));
tableCase('no entries', Uint8Array.from([1, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0]));

// ---- canCompress and canExpand -----------------------------------------------------------------
const KEY = {
  read: [0xcd6bceeb, 0xad1e3562], setLed: [0xdb044251, 0x5ec44b9d], configure: [0x3f1dba8e, 0x04d20f24],
  samples: [0x5d665714, 0xc854eef1], alarm: [0xa5a6a7a8, 0xa1a2a3a4], unknown: [0x11111111, 0x22222222],
  m247: [0, 0], m249: [0, 0],
} as Record<string, [number, number]>;
for (const i of [247, 249]) {
  const v = 0x1000000000000000n + BigInt(i) * 0x0101010101n;
  KEY[`m${i}`] = [Number(v & 0xffffffffn), Number(v >> 32n)];
}
const hdr = (kind: number, o: Partial<HeaderJson> & { key?: string } = {}): HeaderJson => {
  const [keyLo, keyHi] = o.key !== undefined ? KEY[o.key]! : [o.keyLo ?? 0, o.keyHi ?? 0];
  return { kind, flags: o.flags ?? 0, channel: o.channel ?? 0, callId: o.callId ?? 0, keyLo, keyHi, length: o.length ?? 3 };
};
const compact = (port: number, tid: number): number => (CAN_COMPACT_CALL_BIT | (port << 5) | tid) >>> 0;
/** Call id 1 with the compact-call bit set, as 4 LE bytes (hex). */
const compactBitId = ((): string => { const v = (CAN_COMPACT_CALL_BIT | 1) >>> 0; return [0, 8, 16, 24].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0')).join(''); })();
const CALLER = 10, THERMO = 3;

/**
 * One frame sent: compress at the sender (own = its table, peer = the receiver's), then expand the
 * prefix ++ a 3-byte payload at the receiver (own and peer swapped).
 */
function roundTrip(name: string, sender: string, receiver: string, h: HeaderJson, src: number, dst: number, callTid: number, rollingTid: number): void {
  loadTables(impl, V.tables, sender, receiver);
  const c = impl.compress(h, src, dst, callTid, rollingTid);
  const cc: CompressCase = { name, own: sender, peer: receiver, header: h, src, dst, callTid, rollingTid, id: c.id, prefix: toHex(c.prefix), tid: c.tid };
  V.compress.push(cc);
  const data = Uint8Array.from([...c.prefix, 0xde, 0xad, 0x01].slice(0, c.prefix.length + h.length));
  addExpand(`${name} → expanded`, receiver, sender, c.id, data, c.tid);
}
function addExpand(name: string, own: string, peer: string, id: number, data: Uint8Array, tid: number): void {
  loadTables(impl, V.tables, own, peer);
  const r = impl.expand(id, data, tid);
  const e: ExpandCase = { name, own, peer, id: id >>> 0, data: toHex(data), tid, result: r.result, header: r.header };
  V.expand.push(e);
}

roundTrip('REQUEST thermo.read, compact with key check, call tid 5', 'none', 'thermo', hdr(KIND_REQUEST, { key: 'read', callId: 77 }), CALLER, THERMO, 5, 0);
roundTrip('REQUEST thermo.configure, priority 3 (CAN priority 1), call tid 31', 'none', 'thermo', hdr(KIND_REQUEST, { key: 'configure', flags: 3 << 6, callId: 9 }), CALLER, THERMO, 31, 0);
roundTrip('REQUEST thermo.setLed, 0-byte payload', 'none', 'thermo', hdr(KIND_REQUEST, { key: 'setLed', length: 0 }), CALLER, THERMO, 2, 0);
roundTrip('REQUEST, the caller chose explicit (callTid -1)', 'none', 'thermo', hdr(KIND_REQUEST, { key: 'read', callId: 0x12345678 }), CALLER, THERMO, -1, 6);
roundTrip('REQUEST of a key not in the table: explicit', 'none', 'thermo', hdr(KIND_REQUEST, { key: 'unknown', callId: 4 }), CALLER, THERMO, 7, 0);
roundTrip('REQUEST on channel 2: explicit', 'none', 'thermo', hdr(KIND_REQUEST, { key: 'read', channel: 2, callId: 5 }), CALLER, THERMO, 8, 0);
roundTrip('REQUEST to an empty table: explicit', 'none', 'none', hdr(KIND_REQUEST, { key: 'read', callId: 6 }), CALLER, THERMO, 8, 0);
roundTrip('CANCEL of a compact call: no key check', 'none', 'thermo', hdr(KIND_CANCEL, { key: 'samples', length: 0 }), CALLER, THERMO, 12, 0);
roundTrip('CREDIT of the samples stream', 'none', 'thermo', hdr(KIND_CREDIT, { key: 'samples', length: 2 }), CALLER, THERMO, 12, 0);
roundTrip('RESPONSE to compact call port 0 tid 5', 'thermo', 'none', hdr(KIND_RESPONSE, { key: 'read', callId: compact(0, 5), length: 3 }), THERMO, CALLER, -1, 20);
roundTrip('ERROR to compact call port 2 tid 17, priority 1', 'thermo', 'none', hdr(KIND_ERROR, { key: 'configure', callId: compact(2, 17), flags: 1 << 6 }), THERMO, CALLER, -1, 21);
roundTrip('STREAM_ITEM of compact call port 4 tid 12', 'thermo', 'none', hdr(KIND_STREAM_ITEM, { key: 'samples', callId: compact(4, 12) }), THERMO, CALLER, -1, 22);
roundTrip('STREAM_END of compact call port 4 tid 12', 'thermo', 'none', hdr(KIND_STREAM_END, { key: 'samples', callId: compact(4, 12), length: 0 }), THERMO, CALLER, -1, 23);
roundTrip('RESPONSE to an explicit call id: explicit', 'thermo', 'none', hdr(KIND_RESPONSE, { key: 'read', callId: 1234 }), THERMO, CALLER, -1, 24);
roundTrip('EVENT alarm on the sender\'s own table: compact port 1, rolling tid', 'sensor', 'none', hdr(KIND_EVENT, { key: 'alarm' }), 40, 127, -1, 30);
roundTrip('EVENT of a key not in the table: explicit', 'sensor', 'none', hdr(KIND_EVENT, { key: 'unknown' }), 40, 127, -1, 31);
roundTrip('EVENT on channel 1: explicit', 'sensor', 'none', hdr(KIND_EVENT, { key: 'alarm', channel: 1 }), 40, 127, -1, 1);
roundTrip('HELLO broadcast: port 248 (channel 0)', 'thermo', 'none', hdr(KIND_HELLO, { length: 3 }), THERMO, 127, -1, 0);
roundTrip('PING on channel 3: port 251', 'none', 'thermo', hdr(KIND_PING, { channel: 3, length: 0 }), CALLER, THERMO, -1, 3);
roundTrip('PONG on channel 6: port 254', 'thermo', 'none', hdr(KIND_PONG, { channel: 6, length: 0 }), THERMO, CALLER, -1, 4);
roundTrip('PING on channel 7: explicit (ports 248..254 are channels 0..6)', 'none', 'thermo', hdr(KIND_PING, { channel: 7, length: 0 }), CALLER, THERMO, -1, 5);
roundTrip('PING with a call id: explicit', 'none', 'thermo', hdr(KIND_PING, { callId: 99, length: 0 }), CALLER, THERMO, -1, 5);
roundTrip('GOODBYE on channel 0', 'thermo', 'none', hdr(KIND_GOODBYE, { length: 0 }), THERMO, CALLER, -1, 6);
for (let p = 0; p < 4; p++) {
  roundTrip(`priority mapping: header priority ${p} → CAN priority ${4 - p}`, 'thermo', 'none', hdr(KIND_HELLO, { flags: p << 6 }), THERMO, 127, -1, p);
}
roundTrip('REQUEST entry 247 of a 250-entry table: compact port 247', 'none', 'big', hdr(KIND_REQUEST, { key: 'm247', callId: 1 }), CALLER, 50, 1, 0);
roundTrip('REQUEST entry 249 of a 250-entry table: explicit', 'none', 'big', hdr(KIND_REQUEST, { key: 'm249', callId: 1 }), CALLER, 50, 1, 0);
roundTrip('REQUEST to broadcast from node 126', 'none', 'thermo', hdr(KIND_REQUEST, { key: 'read' }), 126, 127, 0, 0);

// Refusals and edges of canExpand (a device with the thermo table receiving).
const reqId = (port: number, src = CALLER, pri = 4, kind = KIND_REQUEST): number => canId(pri, kind, port, THERMO, src);
addExpand('stale key check: compact REQUEST port 0 with check 0x00 (read\'s is 0xeb)', 'thermo', 'none', reqId(0), Uint8Array.from([0x00, 1, 2]), 9);
addExpand('stale key check on a 0-byte payload', 'thermo', 'none', reqId(1), Uint8Array.from([0x50]), 3);
addExpand('compact REQUEST without its key check byte', 'thermo', 'none', reqId(0), new Uint8Array(0), 9);
addExpand('compact REQUEST to a port past the table', 'thermo', 'none', reqId(5), Uint8Array.from([0xeb]), 9);
addExpand('compact REQUEST port 247 with no table', 'none', 'none', reqId(247), Uint8Array.from([0xeb]), 9);
addExpand('kind 0', 'thermo', 'none', canId(4, 0, 248, THERMO, CALLER), new Uint8Array(0), 0);
addExpand('kind 13', 'thermo', 'none', canId(4, 13, 248, THERMO, CALLER), new Uint8Array(0), 0);
addExpand('source node 127', 'thermo', 'none', reqId(0, 127), Uint8Array.from([0xeb]), 0);
addExpand('HELLO on an entry port', 'thermo', 'none', canId(4, KIND_HELLO, 0, THERMO, CALLER), new Uint8Array(0), 0);
addExpand('PING on an entry port', 'thermo', 'none', canId(4, KIND_PING, 3, THERMO, CALLER), new Uint8Array(0), 0);
addExpand('explicit prefix 12 bytes: too short', 'thermo', 'none', reqId(255), EXPLICIT_PREFIX.slice(0, 12), 0);
addExpand('explicit REQUEST with the compact-call bit in its call id: refused', 'thermo', 'none', reqId(255), fromHex('00' + compactBitId + 'ebce6bcd62351ead'), 0);
addExpand('explicit RESPONSE with the compact-call bit in its call id', 'none', 'thermo', canId(4, KIND_RESPONSE, 255, CALLER, THERMO), fromHex('00' + compactBitId + 'ebce6bcd62351ead' + '99'), 0);
addExpand('CAN priority 0 → header priority 3 (clamped)', 'thermo', 'none', canId(0, KIND_PING, 248, THERMO, CALLER), new Uint8Array(0), 0);
addExpand('CAN priority 7 → header priority 0', 'thermo', 'none', canId(7, KIND_PING, 248, THERMO, CALLER), new Uint8Array(0), 0);
addExpand('bits above the 29-bit id are ignored', 'thermo', 'none', (0xe0000000 | canId(4, KIND_PING, 249, THERMO, CALLER)) >>> 0, new Uint8Array(0), 0);
addExpand('answer tid bits above 31 are masked', 'none', 'thermo', canId(4, KIND_RESPONSE, 3, CALLER, THERMO), Uint8Array.from([7]), 0x3f);

const out = fileURLToPath(new URL('../can.json', import.meta.url));
writeFileSync(out, JSON.stringify(V, null, 1) + '\n');
console.log(`wrote ${out}: ${V.segment.length} segmentation, ${V.reassembly.length} reassembly, ${V.compress.length} compress, ${V.expand.length} expand cases`);
