// Fuzz targets of the CAN profile (src/framing/can-transfer.ts, can-header.ts), run by
// `npm run fuzz` (test/fuzz/run.ts: targets "can-reassembly" and "can-expand") and, in slices, by
// test/fuzz/fuzz.test.ts.
//
// "can-reassembly": one iteration = one frame pushed into one CanReassembler (16 slots of 520
// bytes, 2 per source, 200 ms timeout). Frames come from up to 24 valid transfers in flight at
// once (100 source nodes, random kinds and ports, classic or FD, 0..540 bytes — some longer
// than a slot —, interleaved at random), a few of them faulted (one frame dropped or repeated,
// or a byte flipped), mixed with garbage (5 % of the frames; 38 % in every other block of
// 50 000, a storm that keeps every slot busy with forged starts): random ids (from the 100
// nodes, fully random, or an in-flight transfer's own id), random DLCs (classic 0..8, the FD
// lengths, anything up to 64), random bytes and tails, forged tails (start/end/toggle, the
// transfer id of an in-flight transfer, well-formed FD padding). Time advances ~0.1 ms a frame
// with rare stalls past the timeout; sweep() now and then. Checked on every push: no exception;
// the result is a delivery, CAN_PENDING or a counted 9xx code (lastError agrees); open slots ≤
// 16 and ≤ 2 per source (read from the reassembler's slot table); a delivery comes from the
// pushed frame or the buffer allocated at start; a delivery of a valid transfer that no foreign
// frame touched is byte-for-byte that transfer, also after a dropped or repeated frame, and
// comes with its last frame (a multi-frame transfer never twice). Hangs: the run ends, and the
// slowest block of 1 000 pushes is recorded (each push is O(slots)).
//
// "can-expand": one iteration = one canExpand of a random id (random 32 bits, or fields chosen
// near the edges: kinds 0..15, ports around 247/248/254/255, node 127) and a random transfer
// (0..20 bytes; sometimes the right key check byte, or an explicit prefix whose call id has the
// compact-call bit), with
// one of four tables on each side (none, the thermo cell's real HELLO, a sensor, 250 entries).
// Checked: no exception; the result is a prefix length (0, 1 or 13), -909 or -910; the header is
// consistent with the id and the bytes (kind, priority, channel from the port, key from the
// table or the prefix, compact call id, length); and canCompress of that header, with the tables
// seen from the sender, expands back to the same header.
import { CAN_PENDING, CanReassembler, CanTxTransfer } from '../../src/framing/can-transfer.ts';
import { CanCompact, CanKeyTable, canCompress, canExpand, canId } from '../../src/framing/can-header.ts';
import { Header, KIND_EVENT, KIND_REQUEST } from '../../src/wire/header.ts';
import { CAN_COMPACT_CALL_BIT } from '../../src/wire/layouts.ts';
import {
  ERR_CAN_BAD_FRAME, ERR_CAN_REASSEMBLY_FULL, ERR_CAN_STALE_ENTRY, ERR_CAN_TRANSFER_CRC, ERR_CAN_TRANSFER_ORPHAN,
  ERR_CAN_TRANSFER_SEQUENCE, ERR_CAN_TRANSFER_TIMEOUT, ERR_CAN_TRANSFER_TOO_LONG,
} from '../../src/wire/errors.ts';
import { errorInfo } from '../../src/wire/error-names.ts';
import { Prng } from '../helpers/prng.ts';
import { fromHex } from '../helpers/hex.ts';
import { loadCanVectors } from '../vectors/can-vectors.ts';

export interface CanReassemblyReport {
  iterations: number;
  seed: number;
  seconds: number;
  /** Frames by origin. */
  validFrames: number;
  garbageFrames: number;
  /** Push results: 'delivered', 'pending' or the error name. */
  results: Record<string, number>;
  /** Valid transfers started, delivered intact, delivered after a fault, lost (refused / timed out / disturbed). */
  validTransfers: number;
  validDelivered: number;
  validDeliveredAfterFault: number;
  validLost: number;
  /** Corrupted single-frame transfers that came through (no CRC-16 on one frame: the CAN frame's own CRC guards it on a bus). */
  corruptedAccepted: number;
  /** Multi-frame transfers with a flipped data byte that came through: the CRC-16 missed it (≈ 2^-16 of them). */
  corruptedAcceptedMulti: number;
  /**
   * Multi-frame transfers with a flipped tail bit that delivered something: the start bit set on
   * an end frame whose toggle is 1 makes that frame a valid single-frame transfer of its own
   * bytes (Cyphal/CAN's tail has the same property; the CAN frame CRC is what stops a bit error).
   */
  tailFlipAccepted: number;
  /** Deliveries caused by garbage frames (mostly forged single frames: start + end + toggle, no CRC). */
  garbageDelivered: number;
  /** Deliveries of valid transfers that garbage on their id disturbed (content not checked). */
  disturbedDelivered: number;
  maxOpen: number;
  maxPerSource: number;
  /** The slowest 1 000 consecutive pushes (checks included) after the first 10 000, ms. */
  slowestBlockMs: number;
  /** The reassembler's own counters at the end. */
  counters: Record<string, number>;
  failures: string[];
}

const SLOTS = 16, MAX_BYTES = 520, PER_SOURCE = 2, TIMEOUT_MS = 200, NODES = 100, MAX_VALID = 24;
const FD_LENS = [12, 16, 20, 24, 32, 48, 64];

interface Valid {
  id: number;
  key: number;
  frames: Uint8Array[];
  next: number;
  bytes: Uint8Array;
  /** 'drop' | 'dup' | 'flip' applied to one of its frames, or ''. */
  fault: string;
  /** A foreign frame on its key was pushed while it was in flight, or it was refused on the way. */
  disturbed: boolean;
  delivered: boolean;
  /** The flipped byte is a tail byte. */
  flipTail: boolean;
}

const keyOf = (id: number): number => (id & 0x1fffffff & ~(7 << 26)) >>> 0;
const nameOf = (n: number): string => (n >= 0 ? 'delivered' : n === CAN_PENDING ? 'pending' : errorInfo(-n).name);
const KNOWN = new Set([ERR_CAN_BAD_FRAME, ERR_CAN_REASSEMBLY_FULL, ERR_CAN_TRANSFER_CRC, ERR_CAN_TRANSFER_ORPHAN,
  ERR_CAN_TRANSFER_SEQUENCE, ERR_CAN_TRANSFER_TIMEOUT, ERR_CAN_TRANSFER_TOO_LONG]);

/** Run `iterations` frames through one reassembler from `seed`. */
export function runCanReassemblyFuzz(iterations: number, seed: number, onProgress?: (done: number) => void): CanReassemblyReport {
  const rng = new Prng(seed);
  const t0 = performance.now();
  const report: CanReassemblyReport = {
    iterations, seed, seconds: 0, validFrames: 0, garbageFrames: 0, results: {}, validTransfers: 0, validDelivered: 0,
    validDeliveredAfterFault: 0, validLost: 0, corruptedAccepted: 0, corruptedAcceptedMulti: 0, tailFlipAccepted: 0, garbageDelivered: 0, disturbedDelivered: 0, maxOpen: 0, maxPerSource: 0,
    slowestBlockMs: 0, counters: {}, failures: [],
  };
  const r = new CanReassembler(SLOTS, MAX_BYTES, PER_SOURCE, TIMEOUT_MS);
  // The slot table, read for the memory bound (private in the class, plain fields at run time).
  const slots = r as unknown as { used: Uint8Array; key: Uint32Array };
  const tx = new CanTxTransfer();
  const frameBuf = new Uint8Array(64);
  const garbage = new Uint8Array(64);
  const prefix = new Uint8Array(13);
  const active: Valid[] = [];
  const byKey = new Map<number, Valid>();
  const step = Math.max(1, Math.floor(iterations / 100));
  let now = 0;
  let block = performance.now();
  const fail = (it: number, what: string): void => {
    if (report.failures.length < 20) report.failures.push(`can-reassembly frame ${it} (seed ${seed}): ${what}`);
  };

  const startValid = (): void => {
    let id = 0, key = 0;
    for (let tries = 0; tries < 8; tries++) {
      id = canId(rng.below(8), 1 + rng.below(12), rng.below(256), rng.below(128), rng.below(NODES));
      key = keyOf(id);
      if (!byKey.has(key)) break;
    }
    if (byKey.has(key)) return;
    const fd = rng.below(2) === 0;
    const plen = rng.below(3) === 0 ? 13 : rng.below(2);
    // Short, medium, and long (up to 540: some over the 520-byte slots, refused as too long).
    const len = rng.below(4) === 0 ? rng.below(8) : rng.below(4) === 0 ? 400 + rng.below(141) : rng.below(200);
    rng.fill(prefix, 0, plen);
    const payload = new Uint8Array(len);
    rng.fill(payload);
    tx.begin(prefix, plen, payload, 0, len, fd, rng.below(32));
    const frames: Uint8Array[] = [];
    for (let n = tx.next(frameBuf, 0); n > 0; n = tx.next(frameBuf, 0)) frames.push(frameBuf.slice(0, n));
    const bytes = new Uint8Array(plen + len);
    bytes.set(prefix.subarray(0, plen));
    bytes.set(payload, plen);
    const v: Valid = { id, key, frames, next: 0, bytes, fault: '', disturbed: false, delivered: false, flipTail: false };
    const f = rng.below(40);
    if (f === 0 && frames.length > 1) { v.fault = 'drop'; frames.splice(rng.below(frames.length), 1); } else if (f === 1) {
      v.fault = 'dup';
      const i = rng.below(frames.length);
      frames.splice(i, 0, frames[i]!.slice());
    } else if (f === 2) {
      v.fault = 'flip';
      const i = rng.below(frames.length);
      const fr = frames[i]!;
      const at = rng.below(fr.length);
      fr[at] ^= 1 << rng.below(8);
      v.flipTail = at === fr.length - 1;
    }
    active.push(v);
    byKey.set(key, v);
    report.validTransfers++;
  };

  for (let it = 0; it < iterations; it++) {
    try {
      now += rng.below(5) * 0.05; // ~0.1 ms a frame: a busy 1 Mbit/s bus
      if (rng.below(20000) === 0) now += TIMEOUT_MS + rng.below(TIMEOUT_MS); // a stall: everything in flight times out
      if (rng.below(2000) === 0) r.sweep(now);
      // Alternate blocks of 50 000 frames: a storm (38 % garbage, the slots stay full of forged
      // starts) and a quieter bus (5 % garbage).
      const valid = ((it / 50000) | 0) % 2 === 1 ? 62 : 95;
      const action = rng.below(100);
      let id: number, frame: Uint8Array, len: number;
      let v: Valid | undefined;
      if (action < 8 || (action < valid && active.length === 0)) {
        if (active.length < MAX_VALID) startValid();
        if (active.length === 0) continue;
        v = active[active.length - 1];
      } else if (action < valid) {
        v = active[rng.below(active.length)];
      }
      if (v !== undefined) {
        id = (v.id & ~(7 << 26)) | (rng.below(8) << 26); // priority may change: not part of the key
        frame = v.frames[v.next++]!;
        len = frame.length;
        report.validFrames++;
      } else {
        // Garbage. The id: from the 100 nodes with random fields, fully random, or an in-flight transfer's.
        const how = rng.below(10);
        if (how < 2 && active.length > 0) id = active[rng.below(active.length)]!.id;
        else if (how < 4) id = rng.next();
        else id = canId(rng.below(8), rng.below(16), rng.below(256), rng.below(128), rng.below(NODES));
        const d = rng.below(4);
        len = d === 0 ? rng.below(9) : d === 1 ? FD_LENS[rng.below(FD_LENS.length)]! : d === 2 ? rng.below(65) : 8;
        rng.fill(garbage, 0, len);
        if (len > 0 && rng.below(2) === 0) {
          // A forged tail: start/end/toggle bits, sometimes the transfer id of an in-flight transfer.
          const tid = active.length > 0 && rng.below(2) === 0 ? active[rng.below(active.length)]!.frames[0]![active[0]!.frames[0]!.length - 1]! & 0x1f : rng.below(32);
          garbage[len - 1] = (rng.below(8) << 5) | tid;
          if (len > 8 && rng.below(2) === 0) {
            // Well-formed FD padding: count before the tail, zeros before it.
            const pad = rng.below(len - 1);
            garbage[len - 2] = pad;
            for (let i = len - 2 - pad; i < len - 2; i++) garbage[i] = 0;
          }
        }
        frame = garbage;
        report.garbageFrames++;
        const hit = byKey.get(keyOf(id));
        if (hit !== undefined) hit.disturbed = true;
      }
      // Push from an offset inside a larger buffer now and then (the off/len API).
      const n = r.push(id, frame, 0, len, now);
      const name = nameOf(n);
      report.results[name] = (report.results[name] ?? 0) + 1;
      if (n < 0 && n !== CAN_PENDING) {
        if (!KNOWN.has(-n)) fail(it, `unknown result ${n}`);
        else if (r.lastError !== -n) fail(it, `lastError ${r.lastError} after ${n}`);
      }
      if (v !== undefined) {
        const last = v.next >= v.frames.length;
        if (n < 0 && n !== CAN_PENDING) v.disturbed = true;
        if (n >= 0) {
          const got = r.buf.subarray(r.off, r.off + n);
          const same = n === v.bytes.length && got.every((b, i) => b === v!.bytes[i]);
          if (!last && v.fault !== 'dup') fail(it, `a delivery before the transfer's last frame`);
          if (v.delivered && v.frames.length > 2) fail(it, 'a multi-frame transfer delivered twice');
          if (v.fault === 'flip' && !same) {
            if (v.frames.length === 1) report.corruptedAccepted++;
            else if (v.flipTail) report.tailFlipAccepted++;
            else report.corruptedAcceptedMulti++;
          }
          else if (v.fault === 'flip') report.validDeliveredAfterFault++; // a flipped transfer-id bit of a single frame
          else if (!v.disturbed) {
            if (!same) fail(it, `wrong bytes delivered for a valid transfer (${v.fault || 'no fault'}, ${v.frames.length} frames, ${n} vs ${v.bytes.length} bytes)`);
            else if (v.fault === '') report.validDelivered++;
            else report.validDeliveredAfterFault++;
          } else report.disturbedDelivered++;
          v.delivered = true;
        }
        if (last) {
          if (!v.delivered) report.validLost++;
          active.splice(active.indexOf(v), 1);
          byKey.delete(v.key);
        }
      } else if (n >= 0) report.garbageDelivered++;
      // Memory: open slots and per-source share.
      let open = 0;
      let worst = 0;
      for (let i = 0; i < SLOTS; i++) {
        if (slots.used[i] === 0) continue;
        open++;
        let mine = 0;
        for (let j = 0; j < SLOTS; j++) if (slots.used[j] !== 0 && (slots.key[j]! & 0x7f) === (slots.key[i]! & 0x7f)) mine++;
        if (mine > worst) worst = mine;
      }
      if (open > SLOTS || worst > PER_SOURCE) fail(it, `open ${open}, ${worst} for one source`);
      if (open > report.maxOpen) report.maxOpen = open;
      if (worst > report.maxPerSource) report.maxPerSource = worst;
      if (n >= 0 && r.buf !== frame && r.buf.length !== SLOTS * MAX_BYTES) fail(it, 'a delivery from a buffer neither pushed nor allocated at start');
    } catch (err) {
      fail(it, `exception: ${(err as Error).stack ?? String(err)}`);
    }
    if ((it + 1) % 1000 === 0) {
      const t = performance.now();
      if (it > 10000 && t - block > report.slowestBlockMs) report.slowestBlockMs = t - block; // after warm-up
      block = t;
    }
    if (onProgress !== undefined && (it + 1) % step === 0) onProgress(it + 1);
  }
  report.counters = {
    transfers: r.transfers, errCrc: r.errCrc, errSequence: r.errSequence, errOrphan: r.errOrphan, errTooLong: r.errTooLong,
    errFull: r.errFull, errTimeout: r.errTimeout, errBadFrame: r.errBadFrame,
  };
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

// ---------------------------------------------------------------------------------------------

export interface CanExpandReport {
  iterations: number;
  seed: number;
  seconds: number;
  /** Results: 'explicit' (13), 'compact request' (1), 'compact' (0) or the error name. */
  results: Record<string, number>;
  /** Valid headers re-compressed and expanded back to the same header. */
  roundTrips: number;
  /** Explicit answers whose call id has the compact-call bit: accepted by canExpand, not reproduced by canCompress (see below). */
  outsideContract: number;
  failures: string[];
}

/** Run `iterations` canExpand cases (plus a canCompress round trip of each valid one) from `seed`. */
export function runCanExpandFuzz(iterations: number, seed: number, onProgress?: (done: number) => void): CanExpandReport {
  const rng = new Prng(seed);
  const t0 = performance.now();
  const report: CanExpandReport = { iterations, seed, seconds: 0, results: {}, roundTrips: 0, outsideContract: 0, failures: [] };
  const V = loadCanVectors();
  const names = Object.keys(V.tables);
  const tables = names.map((n) => { const t = new CanKeyTable(); t.loadHello(fromHex(V.tables[n]!), 0, fromHex(V.tables[n]!).length); return t; });
  const h = new Header(), h2 = new Header();
  const c = new CanCompact();
  const buf = new Uint8Array(40);
  const buf2 = new Uint8Array(60);
  const step = Math.max(1, Math.floor(iterations / 100));
  const fail = (it: number, what: string): void => {
    if (report.failures.length < 20) report.failures.push(`can-expand case ${it} (seed ${seed}): ${what}`);
  };
  const same = (a: Header, b: Header): boolean => a.kind === b.kind && a.flags === b.flags && a.channel === b.channel
    && a.callId >>> 0 === b.callId >>> 0 && a.keyLo >>> 0 === b.keyLo >>> 0 && a.keyHi >>> 0 === b.keyHi >>> 0 && a.length === b.length;
  const show = (x: Header): string => JSON.stringify({ ...x });

  for (let it = 0; it < iterations; it++) {
    try {
      const oi = rng.below(tables.length), pi = rng.below(tables.length);
      const own = tables[oi]!, peer = tables[pi]!;
      let id: number;
      if (rng.below(4) === 0) id = rng.next();
      else {
        const edgePorts = [0, 1, 4, 5, 246, 247, 248, 249, 254, 255];
        const port = rng.below(2) === 0 ? edgePorts[rng.below(edgePorts.length)]! : rng.below(256);
        id = canId(rng.below(8), rng.below(16), port, rng.below(128), rng.below(8) === 0 ? 127 : rng.below(127));
      }
      const kind = (id >>> 22) & 15, port = (id >>> 14) & 0xff, pri = (id >>> 26) & 7;
      const len = rng.below(21);
      rng.fill(buf, 0, len);
      if (len > 0 && port < 248 && rng.below(2) === 0) {
        const t = (kind === 2 || kind === 8 || kind === 11) ? own : peer;
        if (port < t.count) buf[0] = t.keyLo[port]! & 0xff; // the right key check
      }
      if (port === 255 && len >= 5 && rng.below(2) === 0) buf[4] = buf[4]! | (CAN_COMPACT_CALL_BIT >>> 24); // the compact-call bit (call id: LE bytes 1..4)
      const tid = rng.below(64);
      h.kind = 99; h.flags = 99; h.channel = 99; h.callId = 99; h.keyLo = 99; h.keyHi = 99; h.length = 99;
      const res = canExpand(id, buf, 0, len, tid, own, peer, h);
      const name = res === 13 ? 'explicit' : res === 1 ? 'compact request' : res === 0 ? 'compact' : res < 0 ? errorInfo(-res).name : `UNKNOWN(${res})`;
      report.results[name] = (report.results[name] ?? 0) + 1;
      if (res !== 0 && res !== 1 && res !== 13 && res !== -ERR_CAN_BAD_FRAME && res !== -ERR_CAN_STALE_ENTRY) { fail(it, `result ${res}`); continue; }
      if (res === -ERR_CAN_BAD_FRAME) continue;
      // Consistency with the id and the bytes.
      const want = pri >= 4 ? 0 : Math.min(3, 4 - pri);
      if (h.kind !== kind || h.flags !== want << 6) fail(it, `kind/flags ${show(h)} for id ${id.toString(16)}`);
      if (res === -ERR_CAN_STALE_ENTRY) {
        if (kind !== KIND_REQUEST || h.keyLo !== 0 || h.keyHi !== 0 || h.length !== len - 1) fail(it, `stale: ${show(h)}`);
        continue;
      }
      if (h.length !== len - res) fail(it, `length ${h.length} for ${len} bytes, prefix ${res}`);
      if (res === 13) {
        if (port !== 255) fail(it, 'explicit prefix on a compact port');
        const rd = (o: number): number => (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
        if (h.channel !== buf[0] || h.callId >>> 0 !== rd(1) || h.keyLo >>> 0 !== rd(5) || h.keyHi >>> 0 !== rd(9)) fail(it, `explicit ${show(h)}`);
      } else if (port >= 248) {
        if (h.channel !== port - 248 || h.callId !== 0 || h.keyLo !== 0 || h.keyHi !== 0) fail(it, `channel port ${port}: ${show(h)}`);
      } else {
        const toServer = kind === 2 || kind === 8 || kind === 11;
        const t = toServer ? own : peer;
        if (port >= t.count || h.keyLo >>> 0 !== t.keyLo[port] || h.keyHi >>> 0 !== t.keyHi[port]) fail(it, `compact port ${port}: ${show(h)}`);
        const cid = kind === KIND_EVENT ? 0 : (CAN_COMPACT_CALL_BIT | (port << 5) | (tid & 31)) >>> 0;
        if (h.callId >>> 0 !== cid || h.channel !== 0) fail(it, `compact call id ${show(h)}`);
        if ((res === 1) !== (kind === KIND_REQUEST)) fail(it, 'key check prefix on a non-REQUEST');
        if (res === 1 && buf[0] !== (t.keyLo[port]! & 0xff)) fail(it, 'accepted a wrong key check');
      }
      // Round trip: the sender's view (own ↔ peer), the same transfer id; expands back to h.
      // Outside the contract, skipped and counted: an explicit answer whose call id has the
      // compact-call bit. canExpand accepts it, but canCompress sends every answer with that bit
      // compact, on port (callId >>> 5) & 0xff with the table's key and channel 0 — a different
      // header (a node only ever answers the compact ids canExpand gave it: channel 0, port ≤ 247).
      const toServer = kind === 2 || kind === 8 || kind === 11;
      if (res === 13 && !toServer && (h.callId & CAN_COMPACT_CALL_BIT) !== 0) { report.outsideContract++; continue; }
      canCompress(h, id & 0x7f, (id >>> 7) & 0x7f, peer, own, res === 13 ? -1 : toServer ? tid : -1, tid, c);
      const n = c.prefixLen + (len - res);
      buf2.set(c.prefix.subarray(0, c.prefixLen), 0);
      buf2.set(buf.subarray(res, len), c.prefixLen);
      const res2 = canExpand(c.id, buf2, 0, n, c.tid, own, peer, h2);
      if (res2 < 0 || !same(h, h2)) {
        // A compact answer's header re-sent explicit carries the same call id; priority 0 and ≥ 5 clamp.
        fail(it, `round trip: ${show(h)} → id ${c.id.toString(16)} prefix ${c.prefixLen} → ${res2} ${show(h2)}`);
      } else report.roundTrips++;
    } catch (err) {
      fail(it, `exception: ${(err as Error).stack ?? String(err)}`);
    }
    if (onProgress !== undefined && (it + 1) % step === 0) onProgress(it + 1);
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
