// CAN reassembly under the faults a bus really produces (src/framing/can-transfer.ts): for
// transfers of many lengths, classic and FD, with and without a prefix, every single-frame drop,
// every duplicate of one frame and every swap of two adjacent frames. Nothing may throw and no
// wrong transfer may come out: each push is pending, a delivery of exactly the bytes sent, or a
// refusal whose code is counted; a clean transfer on the same id right after is delivered.
// The frames are pushed from random offsets inside a larger buffer of garbage (the off/len API),
// and the segmenter writes at offsets of its output buffer.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CAN_PENDING, CanReassembler, CanTxTransfer, canFrameCount } from '../../src/framing/can-transfer.ts';
import { canId } from '../../src/framing/can-header.ts';
import {
  ERR_CAN_BAD_FRAME, ERR_CAN_REASSEMBLY_FULL, ERR_CAN_TRANSFER_CRC, ERR_CAN_TRANSFER_ORPHAN, ERR_CAN_TRANSFER_SEQUENCE,
  ERR_CAN_TRANSFER_TIMEOUT, ERR_CAN_TRANSFER_TOO_LONG,
} from '../../src/wire/errors.ts';
import { Prng } from '../helpers/prng.ts';

const t = suite('can reassembly: drops, duplicates, swaps, offsets');

const rng = new Prng(0x5b117);
const ID = canId(4, 3, 7, 1, 42);

/** The frames of one transfer, each written at a random offset of a scratch buffer, then copied out. */
function frames(prefix: Uint8Array, payload: Uint8Array, fd: boolean, tid: number): Uint8Array[] {
  const tx = new CanTxTransfer();
  tx.begin(prefix, prefix.length, payload, 0, payload.length, fd, tid);
  const out: Uint8Array[] = [];
  const scratch = new Uint8Array(200);
  for (;;) {
    const at = rng.below(100);
    const n = tx.next(scratch, at);
    if (n <= 0) { assert.is(n, 0); break; }
    out.push(scratch.slice(at, at + n));
  }
  assert.ok(tx.done);
  assert.is(tx.next(scratch, 0), 0, 'next() after the end');
  return out;
}

function counted(r: CanReassembler, code: number): number {
  switch (code) {
    case ERR_CAN_TRANSFER_CRC: return r.errCrc;
    case ERR_CAN_TRANSFER_SEQUENCE: return r.errSequence;
    case ERR_CAN_TRANSFER_ORPHAN: return r.errOrphan;
    case ERR_CAN_TRANSFER_TOO_LONG: return r.errTooLong;
    case ERR_CAN_REASSEMBLY_FULL: return r.errFull;
    case ERR_CAN_TRANSFER_TIMEOUT: return r.errTimeout;
    case ERR_CAN_BAD_FRAME: return r.errBadFrame;
    default: return -1;
  }
}

interface Outcome { delivered: Uint8Array[]; refused: number }

/** Push `seq` (frames at random offsets in garbage); check every result; return the deliveries. */
function pushAll(r: CanReassembler, seq: Uint8Array[], want: Uint8Array, what: string): Outcome {
  const o: Outcome = { delivered: [], refused: 0 };
  const buf = new Uint8Array(256);
  for (const f of seq) {
    rng.fill(buf);
    const off = rng.below(256 - f.length + 1);
    buf.set(f, off);
    const snapshot = [r.errCrc, r.errSequence, r.errOrphan, r.errTooLong, r.errFull, r.errTimeout, r.errBadFrame];
    const n = r.push(ID, buf, off, f.length, 0);
    if (n >= 0) {
      const got = r.buf.slice(r.off, r.off + n);
      assert.equal(got, want, `${what}: a wrong transfer was delivered`);
      o.delivered.push(got);
    } else if (n !== CAN_PENDING) {
      const code = -n;
      const idx = [ERR_CAN_TRANSFER_CRC, ERR_CAN_TRANSFER_SEQUENCE, ERR_CAN_TRANSFER_ORPHAN, ERR_CAN_TRANSFER_TOO_LONG,
        ERR_CAN_REASSEMBLY_FULL, ERR_CAN_TRANSFER_TIMEOUT, ERR_CAN_BAD_FRAME].indexOf(code);
      assert.ok(idx >= 0, `${what}: unknown code ${n}`);
      assert.ok(counted(r, code) > snapshot[idx]!, `${what}: code ${code} not counted`);
      assert.is(r.lastError, code);
      o.refused++;
    }
  }
  return o;
}

function scenarios(fs: Uint8Array[]): [string, Uint8Array[]][] {
  const out: [string, Uint8Array[]][] = [['clean', fs]];
  for (let i = 0; i < fs.length; i++) out.push([`drop ${i}`, fs.filter((_, j) => j !== i)]);
  for (let i = 0; i < fs.length; i++) out.push([`duplicate ${i}`, [...fs.slice(0, i + 1), fs[i]!, ...fs.slice(i + 1)]]);
  for (let i = 0; i + 1 < fs.length; i++) {
    const s = fs.slice();
    [s[i], s[i + 1]] = [s[i + 1]!, s[i]!];
    out.push([`swap ${i}/${i + 1}`, s]);
  }
  return out;
}

// Classic: every length to 140 (up to 21 frames) and a few long ones; FD: every length to 500.
const CLASSIC_LENGTHS = [...Array.from({ length: 141 }, (_, i) => i), 188, 189, 200, 255, 300, 377, 492, 500];
const FD_LENGTHS = Array.from({ length: 501 }, (_, i) => i);

for (const fd of [false, true]) {
  const LENGTHS = fd ? FD_LENGTHS : CLASSIC_LENGTHS;
  t(`${fd ? 'FD' : 'classic'}: every drop, duplicate and adjacent swap of ${LENGTHS.length} lengths × 2 prefixes`, () => {
    let cases = 0, deliveredOk = 0, refusedTotal = 0;
    for (const len of LENGTHS) {
      for (const plen of [0, 13]) {
        const prefix = new Uint8Array(plen); rng.fill(prefix);
        const payload = new Uint8Array(len); rng.fill(payload);
        const want = Uint8Array.from([...prefix, ...payload]);
        const tid = len & 31;
        const fs = frames(prefix, payload, fd, tid);
        assert.is(fs.length, canFrameCount(plen + len, fd));
        const next = Uint8Array.from({ length: 20 }, (_, i) => i + len);
        const nextFs = frames(new Uint8Array(0), next, fd, (tid + 1) & 31);
        for (const [what, seq] of scenarios(fs)) {
          const r = new CanReassembler(4, 560, 2, 1000);
          const o = pushAll(r, seq, want, `${what} of ${fs.length} (len ${plen}+${len}, fd ${fd})`);
          cases++;
          refusedTotal += o.refused;
          deliveredOk += o.delivered.length;
          // What must come out: clean → once; a dropped frame or a swap in a multi-frame transfer →
          // nothing; a duplicate → once when it is the start (it restarts the transfer) or the end
          // (an orphan after the delivery), nothing when it is a middle frame (the toggle repeats);
          // a single-frame transfer repeated → twice (no dedup by transfer id).
          const multi = fs.length > 1;
          if (what === 'clean') assert.is(o.delivered.length, 1);
          else if (what.startsWith('drop')) assert.is(o.delivered.length, 0, what);
          else if (what.startsWith('swap')) assert.is(o.delivered.length, 0, what);
          else if (!multi) assert.is(o.delivered.length, 2, what);
          else if (what === 'duplicate 0' || what === `duplicate ${fs.length - 1}`) assert.is(o.delivered.length, 1, what);
          else assert.is(o.delivered.length, 0, what);
          if (what !== 'clean' && !what.startsWith('duplicate') && multi) assert.ok(o.refused >= 1 || r.open === 1, `${what}: nothing refused, nothing left open`);
          // The same id recovers at once: the next transfer is delivered.
          const rec = pushAll(r, nextFs, next, `${what}, then the next transfer`);
          assert.is(rec.delivered.length, 1, `${what}: no recovery`);
          assert.ok(r.open <= 1);
        }
      }
    }
    assert.ok(cases > 3000, `${cases} cases`);
    assert.ok(deliveredOk > 0 && refusedTotal > 0);
  });
}

t('two interleaved sources: every drop in one of them leaves the other intact', () => {
  const a = Uint8Array.from({ length: 50 }, (_, i) => i);
  const b = Uint8Array.from({ length: 70 }, (_, i) => 255 - i);
  const fa = frames(new Uint8Array(0), a, false, 5);
  const fb = frames(new Uint8Array(0), b, false, 5); // same transfer id, other node: must not mix
  const idA = canId(4, 3, 7, 1, 42), idB = canId(4, 3, 7, 1, 43);
  for (let drop = 0; drop < fa.length; drop++) {
    const r = new CanReassembler(4, 200, 2, 1000);
    const seq: [number, Uint8Array][] = [];
    for (let i = 0; i < Math.max(fa.length, fb.length); i++) {
      if (i < fa.length && i !== drop) seq.push([idA, fa[i]!]);
      if (i < fb.length) seq.push([idB, fb[i]!]);
    }
    let gotB = 0;
    for (const [id, f] of seq) {
      const n = r.push(id, f, 0, f.length, 0);
      if (n >= 0) {
        assert.is(id, idB, 'the broken transfer of A was delivered');
        assert.equal(r.buf.slice(r.off, r.off + n), b);
        gotB++;
      }
    }
    assert.is(gotB, 1);
  }
});

t('a single frame is handed over in place, at its offset; ranges outside the buffer are refused', () => {
  const r = new CanReassembler(2, 64, 1, 1000);
  const buf = new Uint8Array(32).fill(0x55);
  buf.set([1, 2, 3, 0xe0 | 9], 20);
  assert.is(r.push(ID, buf, 20, 4, 0), 3);
  assert.is(r.buf, buf);
  assert.is(r.off, 20);
  assert.is(r.tid, 9);
  assert.is(r.push(ID, buf, 30, 4, 0), -ERR_CAN_BAD_FRAME);
  assert.is(r.push(ID, buf, -1, 4, 0), -ERR_CAN_BAD_FRAME);
  assert.is(r.push(ID, buf, 0x7ffffffe, 4, 0), -ERR_CAN_BAD_FRAME);
  assert.is(r.push(ID, buf, 3, 0, 0), -ERR_CAN_BAD_FRAME);
  assert.is(r.errBadFrame, 4);
  // The segmenter: a payload range past its buffer, a negative length, a prefix longer than its buffer.
  const tx = new CanTxTransfer();
  const out = new Uint8Array(64);
  for (const [pre, plen, pay, off, len] of [
    [new Uint8Array(2), 2, new Uint8Array(10), 5, 6], [new Uint8Array(2), 2, new Uint8Array(10), -1, 2],
    [new Uint8Array(2), 2, new Uint8Array(10), 0, -1], [new Uint8Array(2), 3, new Uint8Array(10), 0, 2],
    [new Uint8Array(2), -1, new Uint8Array(10), 0, 2],
  ] as [Uint8Array, number, Uint8Array, number, number][]) {
    tx.begin(pre, plen, pay, off, len, false, 0);
    assert.ok(tx.done);
    assert.is(tx.next(out, 0), -ERR_CAN_BAD_FRAME);
  }
  // And it recovers with a valid begin.
  tx.begin(new Uint8Array(0), 0, new Uint8Array(3), 0, 3, false, 0);
  assert.is(tx.next(out, 60), 4);
  assert.is(tx.next(out, 60), 0);
  tx.begin(new Uint8Array(0), 0, new Uint8Array(3), 0, 3, false, 0);
  assert.is(tx.next(out, 61), -204);
});

t.run();
