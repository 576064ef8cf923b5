// src/transports/shm/ring.ts over a plain ArrayBuffer (no threads, no addon): records of every
// size, a record that must wrap at every 4-byte offset of a small ring, a full ring, the
// free-running u32 indexes wrapping at 2^32, a published index split at every offset, every kind
// of corruption a peer can make (RING_CORRUPT with a reason, never an exception or a read out of
// range), and a fuzz of 10^5 mutations of the shared words between reads.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  RECORD_HEAD_BYTES, RECORD_WRAP, RING_HEADER_BYTES, RING_OFF_HEAD, RING_OFF_SLEEPING, RING_OFF_TAIL, RING_OFF_WAITING,
  recordBytes, ringMaxFrame, ringOffset, segmentBytes,
} from '../../src/transports/shm/layout.ts';
import { RING_CORRUPT, RING_NONE, RingReader, RingWriter, segmentViews, type SegmentViews } from '../../src/transports/shm/ring.ts';
import { Prng } from '../helpers/prng.ts';

/** Filler for the data area before a test writes: a reader that trusted unwritten bytes would trip on it. */
const JUNK = 0xee;

interface Ring {
  v: SegmentViews;
  /** Ring 1 of the segment (ring 0 before it stays untouched: checks that nothing writes outside). */
  ringOff: number;
  dataOff: number;
  cap: number;
  w: RingWriter;
  r: RingReader;
}

/** A segment with rings of `cap` bytes; ring 1's indexes both start at `start` (as a peer left them). */
function ring(cap = 4096, start = 0, maxFrame?: number, views?: (v: SegmentViews) => SegmentViews): Ring {
  const v0 = segmentViews(new ArrayBuffer(segmentBytes(cap)));
  const ringOff = ringOffset(cap, 1);
  const dataOff = ringOff + RING_HEADER_BYTES;
  v0.u8.fill(JUNK, dataOff, dataOff + cap);
  v0.u32[(ringOff + RING_OFF_TAIL) >> 2] = start >>> 0;
  v0.u32[(ringOff + RING_OFF_HEAD) >> 2] = start >>> 0;
  const v = views ? views(v0) : v0;
  return { v, ringOff, dataOff, cap, w: new RingWriter(v, ringOff, cap), r: new RingReader(v, ringOff, cap, maxFrame) };
}

const tailWord = (g: Ring): number => g.v.u32[(g.ringOff + RING_OFF_TAIL) >> 2]!;
const headWord = (g: Ring): number => g.v.u32[(g.ringOff + RING_OFF_HEAD) >> 2]!;
const setTail = (g: Ring, x: number): void => { g.v.u32[(g.ringOff + RING_OFF_TAIL) >> 2] = x >>> 0; };
const setHead = (g: Ring, x: number): void => { g.v.u32[(g.ringOff + RING_OFF_HEAD) >> 2] = x >>> 0; };
/** The record head word at data position `pos`. */
const setRecordHead = (g: Ring, pos: number, x: number): void => { g.v.u32[(g.dataOff + pos) >> 2] = x >>> 0; };

/** Frame bytes that depend on seq and length, so a frame read in place can be told from any other. */
function frame(seq: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (seq * 131 + i * 7 + (i >> 8)) & 0xff;
  return f;
}

/** Write one frame; returns the segment offset it went to. */
function put(g: Ring, f: Uint8Array, maxLen = f.length): number {
  const off = g.w.reserve(maxLen);
  assert.ok(off >= 0, `reserve(${maxLen}) gave ${off} (${g.w.corruption})`);
  g.v.u8.set(f, off);
  g.w.commit(f.length);
  return off;
}

/** Read one frame (must be there); returns a copy. */
function take(g: Ring, publish = true): Uint8Array {
  const off = g.r.next();
  assert.ok(off >= 0, `next() gave ${off} (${g.r.corruption})`);
  const got = g.v.u8.slice(off, off + g.r.len);
  g.r.consume();
  if (publish) g.r.publish();
  return got;
}

function same(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length) assert.unreachable(`${what}: ${a.length} bytes, want ${b.length}`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.unreachable(`${what}: byte ${i} is ${a[i]}, want ${b[i]}`);
}

// ---------------------------------------------------------------------------------------------
const rt = suite('shm ring: round trip');

rt('every frame length from 20 bytes to the largest (half the ring less 4) passes intact, in order', () => {
  const g = ring(4096);
  const max = ringMaxFrame(4096);
  assert.is(max, 2044);
  for (let len = 20; len <= max; len++) {
    const f = frame(len, len);
    put(g, f);
    same(take(g), f, `length ${len}`);
    assert.is(g.r.next(), RING_NONE);
  }
  assert.is(tailWord(g), headWord(g));
});

rt('size classes of a 1 MiB ring (20 B, MTU-like, 64 KiB, the largest) go through back to back', () => {
  const cap = 1 << 20;
  const g = ring(cap, 0xfffff000);
  const sizes = [20, 21, 23, 24, 255, 256, 1500, 4095, 4096, 65535, 65536, 200_000, ringMaxFrame(cap)];
  for (let lap = 0; lap < 4; lap++) {
    const sent = sizes.map((n, i) => frame(lap * 100 + i, n));
    for (const f of sent) { if (g.w.reserve(f.length) === RING_NONE) break; put(g, f); }
    // the largest does not fit behind the others: read what went in, then send the rest
    let i = 0;
    for (; i < sent.length; i++) { const off = g.r.next(); if (off === RING_NONE) break; same(take(g), sent[i]!, `lap ${lap} size ${sizes[i]}`); }
    for (; i < sent.length; i++) { put(g, sent[i]!); same(take(g), sent[i]!, `lap ${lap} size ${sizes[i]} (alone)`); }
  }
  assert.is(g.r.next(), RING_NONE);
});

rt('a frame shorter than reserved takes only its own record; the reader sees the committed length', () => {
  const g = ring(4096);
  const off = g.w.reserve(1000);
  g.v.u8.set(frame(1, 30), off);
  g.w.commit(30);
  assert.is(tailWord(g), recordBytes(30));
  same(take(g), frame(1, 30), 'short commit');
});

rt('nothing is visible before commit; an abandoned reserve leaves no trace', () => {
  const g = ring(4096, 4000);
  const off = g.w.reserve(500); // must wrap: would write the wrap marker at commit
  g.v.u8.set(frame(2, 500), off);
  assert.is(g.r.next(), RING_NONE);
  assert.is(tailWord(g), 4000);
  assert.is(g.v.u32[(g.dataOff + 4000) >> 2], 0xeeeeeeee, 'no wrap marker before commit');
  put(g, frame(3, 40)); // reserve again (fits before the end): the abandoned one is gone
  same(take(g), frame(3, 40), 'after an abandoned reserve');
  assert.is(g.r.next(), RING_NONE);
});

rt('a lagging reader and random sizes for 20000 operations: FIFO, intact, used bytes never above capacity', () => {
  for (const start of [0, 0xffffe000, 0x7ffffff0]) {
    const rnd = new Prng(0x5eed + start);
    const g = ring(4096, start);
    const queue: Uint8Array[] = [];
    let seq = 0, out = 0, fulls = 0;
    for (let op = 0; op < 20000; op++) {
      if (rnd.below(100) < 55) {
        const len = 20 + (rnd.below(4) === 0 ? rnd.below(ringMaxFrame(4096) - 19) : rnd.below(200));
        const off = g.w.reserve(len);
        if (off === RING_NONE) { fulls++; continue; }
        assert.ok(off >= 0, g.w.corruption);
        const f = frame(seq++, len);
        g.v.u8.set(f, off);
        g.w.commit(len);
        queue.push(f);
        assert.ok(g.w.usedBytes <= 4096);
      } else {
        const off = g.r.next();
        if (off === RING_NONE) { assert.is(queue.length, 0, 'empty while frames are queued'); continue; }
        same(g.v.u8.subarray(off, off + g.r.len), queue.shift()!, `frame ${out++}`);
        g.r.consume();
        if (rnd.below(3) !== 0) g.r.publish(); // sometimes keep the room a while
      }
    }
    assert.ok(fulls > 100, `the ring filled up (${fulls} times)`);
    while (queue.length > 0) same(take(g), queue.shift()!, 'tail of the queue');
  }
});

// ---------------------------------------------------------------------------------------------
const wrap = suite('shm ring: wrap');

/**
 * With both indexes at data position `s` (the ring otherwise empty) write one frame of `len`:
 * padded to the start exactly when its record does not fit before the end, read back in place,
 * contiguous and intact; no byte written outside the marker and the record.
 */
function wrapAt(g: Ring, base: number, s: number, len: number): void {
  const { cap, dataOff, v } = g;
  const rec = recordBytes(len);
  const toEnd = cap - s;
  const padded = rec > toEnd;
  const recPos = padded ? 0 : s;
  const f = frame(s + len, len);
  const off = put(g, f);
  const what = `base ${base.toString(16)} pos ${s} len ${len}`;
  assert.is(off, dataOff + recPos + RECORD_HEAD_BYTES, what);
  assert.is(tailWord(g), (base + s + (padded ? toEnd : 0) + rec) >>> 0, what);
  if (padded) assert.is(v.u32[(dataOff + s) >> 2], RECORD_WRAP, `${what}: wrap marker`);
  assert.is(v.u32[(dataOff + recPos) >> 2], len, `${what}: record head`);
  // every byte outside [marker] and [record head + frame] is still junk
  for (let i = 0; i < cap; i++) {
    const inMarker = padded && i >= s && i < s + 4;
    const inRecord = i >= recPos && i < recPos + RECORD_HEAD_BYTES + len;
    if (!inMarker && !inRecord && v.u8[dataOff + i] !== JUNK) assert.unreachable(`${what}: byte ${i} of the data area was written`);
  }
  assert.is(g.r.next(), off, what);
  assert.is(g.r.len, len, what);
  same(v.u8.subarray(off, off + len), f, what);
  g.r.consume();
  g.r.publish();
  assert.is(headWord(g), tailWord(g), what);
  assert.is(g.r.next(), RING_NONE, what);
}

wrap('a record at every 4-byte offset of a 4 KiB ring: padded iff it does not fit, read back contiguous (indexes set)', () => {
  const lens = [20, 21, 22, 23, 24, 100, 1021, 1024, 2040, 2041, 2044];
  let wrapped = 0;
  for (const base of [0, 0xfffff000, 0x7ffff000]) { // the tail passes 2^32 and 2^31 (the sign of the i32 word)
    for (let s = 0; s < 4096; s += 4) {
      for (const len of lens) {
        const g = ring(4096, base + s);
        wrapAt(g, base, s, len);
        if (recordBytes(len) > 4096 - s) wrapped++;
      }
    }
  }
  assert.ok(wrapped > 3000, `${wrapped} records wrapped`);
});

wrap('the same, with the indexes moved there by filler records the reader consumed (the writer re-reads the head)', () => {
  for (let s = 24; s < 4096; s += 4) {
    const g = ring(4096);
    let rem = s;
    let seq = 0;
    while (rem > 0) {
      const take1 = rem <= 2048 ? rem : rem - 2048 >= 24 ? 2048 : rem - 24;
      const f = frame(seq++, take1 - RECORD_HEAD_BYTES);
      put(g, f);
      same(take(g), f, `filler to ${s}`);
      rem -= take1;
    }
    assert.is(tailWord(g), s);
    g.v.u8.fill(JUNK, g.dataOff, g.dataOff + g.cap);
    // a record that must wrap when there is one (s > 2048 for the largest), else the largest
    wrapAt(g, 0, s, 2044);
  }
});

wrap('a record that ends exactly at the end of the ring needs no marker; the next one starts at 0', () => {
  const g = ring(4096, 4096 - 104);
  put(g, frame(1, 100));
  assert.is(tailWord(g), 4096);
  put(g, frame(2, 40));
  assert.is(tailWord(g), 4096 + 44);
  same(take(g), frame(1, 100), 'to the end');
  same(take(g), frame(2, 40), 'from 0');
});

wrap('free-running u32 indexes wrap at 2^32 (both words start at 0xFFFFFF00)', () => {
  const g = ring(4096, 0xffffff00);
  const rnd = new Prng(7);
  for (let i = 0; i < 400; i++) {
    const f = frame(i, 20 + rnd.below(600));
    put(g, f);
    same(take(g), f, `frame ${i}`);
  }
  assert.ok(tailWord(g) < 0x100000, `tail wrapped to ${tailWord(g)}`);
  assert.is(headWord(g), tailWord(g));
  // fill it across the wrap of the u32 too
  const g2 = ring(4096, 0xfffffff0);
  const sent: Uint8Array[] = [];
  for (let i = 0; ; i++) { const f = frame(i, 300); if (g2.w.reserve(300) === RING_NONE) break; put(g2, f); sent.push(f); }
  assert.ok(sent.length >= 12);
  for (const f of sent) same(take(g2), f, 'full ring across 2^32');
});

// ---------------------------------------------------------------------------------------------
const full = suite('shm ring: full');

full('a full ring gives RING_NONE; consumed but unpublished room stays taken; publish frees it', () => {
  const g = ring(4096);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    if (g.w.reserve(200) === RING_NONE) break;
    const f = frame(i, 200);
    put(g, f);
    sent.push(f);
  }
  assert.is(sent.length, Math.floor(4096 / recordBytes(200)));
  assert.is(g.w.reserve(200), RING_NONE);
  assert.is(g.w.reserve(20), RING_NONE, 'no 24-byte record fits either: 4096 - 20*204 = 16');
  same(take(g, false), sent[0]!, 'first');
  assert.is(g.w.reserve(200), RING_NONE, 'consumed is not free before publish');
  assert.not.ok(g.w.drained());
  g.r.publish();
  const off = g.w.reserve(200);
  assert.ok(off >= 0, 'room after publish');
  g.v.u8.set(frame(99, 200), off);
  g.w.commit(200);
  for (const f of sent.slice(1)) same(take(g), f, 'rest');
  same(take(g), frame(99, 200), 'after the room came back');
  assert.ok(g.w.drained());
});

full('the padding counts: a record that fits in the free bytes but not before the end waits', () => {
  const g = ring(4096, 1000);
  put(g, frame(1, 1500)); // 1000..2504
  put(g, frame(2, 1492)); // ..4000: 3000 used, 1096 free, 96 of them before the end
  assert.is(g.w.reserve(1000), RING_NONE, 'a 1004-byte record needs 96 + 1004 > 1096');
  assert.is(g.w.reserve(996), g.dataOff + RECORD_HEAD_BYTES, 'a 1000-byte record fits exactly, at 0');
  same(take(g), frame(1, 1500), 'first');
  const off = g.w.reserve(1000);
  assert.is(off, g.dataOff + RECORD_HEAD_BYTES, 'room once the first is freed');
  g.v.u8.set(frame(3, 1000), off);
  g.w.commit(1000);
  same(take(g), frame(2, 1492), 'second');
  same(take(g), frame(3, 1000), 'after the padding');
});

// ---------------------------------------------------------------------------------------------
const split = suite('shm ring: published index at every offset');

split('a tail published at every byte of a batch: whole records are read, then NONE at a boundary or CORRUPT inside one', () => {
  const base = 4096 * 5 - 600;
  const src = ring(4096, base);
  const lens = [20, 33, 300, 120, 700, 21, 1000, 64];
  const bounds = [0];
  for (const [i, len] of lens.entries()) { put(src, frame(i, len)); bounds.push((tailWord(src) - base) >>> 0); }
  const total = bounds[bounds.length - 1]!;
  for (let t = 0; t <= total; t++) {
    const g = ring(4096, base);
    g.v.u8.set(src.v.u8); // same bytes, fresh reader at base
    setHead(g, base);
    setTail(g, base + t);
    const r = new RingReader(g.v, g.ringOff, g.cap);
    let n = 0;
    let res: number;
    while ((res = r.next()) >= 0) {
      same(g.v.u8.subarray(res, res + r.len), frame(n, lens[n]!), `t=${t} frame ${n}`);
      r.consume();
      n++;
    }
    const whole = bounds.filter((b) => b > 0 && b <= t).length;
    if ((t & 3) !== 0) {
      assert.is(res, RING_CORRUPT, `t=${t}`);
      assert.is(n, 0, `t=${t}: an unaligned index is refused before any record`);
    } else if (bounds.includes(t)) {
      assert.is(res, RING_NONE, `t=${t}`);
      assert.is(n, whole, `t=${t}`);
    } else {
      assert.is(res, RING_CORRUPT, `t=${t}: a record cut by the index`);
      assert.is(n, whole, `t=${t}`);
      assert.ok(r.corruption.length > 0);
    }
  }
});

// ---------------------------------------------------------------------------------------------
const bad = suite('shm ring: corruption by the peer');

function corrupt(g: Ring, pattern: RegExp | string): void {
  const res = g.r.next();
  assert.is(res, RING_CORRUPT, `next() gave ${res}, want RING_CORRUPT`);
  assert.match(g.r.corruption, pattern);
  assert.is(g.r.next(), RING_CORRUPT, 'stays corrupt');
}

bad('producer index more than the capacity ahead', () => {
  const g = ring(4096, 1000);
  setTail(g, 1000 + 4096 + 4);
  corrupt(g, 'producer index');
});

bad('producer index behind the consumer (moved backwards)', () => {
  const g = ring(4096, 1000);
  setTail(g, 996);
  corrupt(g, 'producer index');
});

bad('unaligned producer index', () => {
  const g = ring(4096, 1000);
  setRecordHead(g, 1000, 20);
  setTail(g, 1000 + 26);
  corrupt(g, 'unaligned');
});

bad('record length below 20 (the header) or 0', () => {
  for (const len of [0, 1, 19]) {
    const g = ring(4096, 64);
    setRecordHead(g, 64, len);
    setTail(g, 64 + 32);
    corrupt(g, `record length ${len}`);
  }
});

bad('record length above the largest frame (ring default and a smaller maxFrame)', () => {
  const g = ring(4096, 0);
  setRecordHead(g, 0, 2045);
  setTail(g, 4096);
  corrupt(g, 'record length 2045');
  const h = ring(4096, 0, 100);
  setRecordHead(h, 0, 101);
  setTail(h, 200);
  corrupt(h, 'record length 101');
  const k = ring(4096, 0);
  setRecordHead(k, 0, 0xfffffffe);
  setTail(k, 64);
  corrupt(k, 'record length');
});

bad('record running past the published data', () => {
  const g = ring(4096, 200);
  setRecordHead(g, 200, 100); // 104-byte record
  setTail(g, 200 + 100);
  corrupt(g, 'runs past');
});

bad('record running past the end of the data area (the writer should have wrapped)', () => {
  const g = ring(4096, 4000);
  setRecordHead(g, 4000, 200);
  setTail(g, 4000 + 1000);
  corrupt(g, 'runs past');
});

bad('wrap marker with more padding than was published', () => {
  const g = ring(4096, 4000);
  setRecordHead(g, 4000, RECORD_WRAP);
  setTail(g, 4000 + 96); // exactly the padding, no record after it
  corrupt(g, 'padding');
  const h = ring(4096, 0);
  setRecordHead(h, 0, RECORD_WRAP); // a marker at 0 pads the whole ring
  setTail(h, 4096);
  corrupt(h, 'padding');
});

bad('wrap marker followed by a bad record at 0, or a record at 0 past the data', () => {
  const g = ring(4096, 4000);
  setRecordHead(g, 4000, RECORD_WRAP);
  setRecordHead(g, 0, 7);
  setTail(g, 4000 + 96 + 200);
  corrupt(g, 'record length 7');
  const h = ring(4096, 4000);
  setRecordHead(h, 4000, RECORD_WRAP);
  setRecordHead(h, 0, 400);
  setTail(h, 4000 + 96 + 200);
  corrupt(h, 'runs past');
});

bad('records after good ones: the good ones are delivered first, then RING_CORRUPT', () => {
  const g = ring(4096, 0);
  put(g, frame(1, 50));
  put(g, frame(2, 60));
  const t = tailWord(g);
  setRecordHead(g, t, 3);
  setTail(g, t + 64);
  // the reader read the tail when it had nothing: the two, then the bad one, as one batch
  same(take(g), frame(1, 50), 'good 1');
  same(take(g), frame(2, 60), 'good 2');
  corrupt(g, 'record length 3');
});

bad('writer: consumer index moved backwards', () => {
  const g = ring(4096, 0);
  for (let i = 0; i < 20; i++) put(g, frame(i, 200)); // 20 * 204 = 4080 bytes
  assert.is(g.w.reserve(200), RING_NONE);
  take(g); take(g); // head published at 2 * 204
  put(g, frame(50, 200)); // the writer reads the head (408) and wraps: tail 4096 + 204
  setHead(g, 204); // one record back
  put(g, frame(51, 200)); // fits by what the writer knows: it does not read the head
  assert.is(g.w.reserve(200), RING_CORRUPT, 'full again: reads the head, which went backwards');
  assert.match(g.w.corruption, 'consumer index 204');
});

bad('writer: consumer index beyond what was written', () => {
  for (const delta of [4, 4096, 0x80000000]) {
    const g = ring(4096, 0xfffffff0);
    for (let i = 0; i < 30 && g.w.reserve(200) !== RING_NONE; i++) put(g, frame(i, 200));
    setHead(g, tailWord(g) + delta);
    assert.is(g.w.reserve(200), RING_CORRUPT, `delta ${delta}`);
    assert.match(g.w.corruption, 'consumer index');
  }
});

bad('writer: a consumer index that moved forward legally is taken, not flagged', () => {
  const g = ring(4096, 0xfffffff0);
  for (let i = 0; i < 30 && g.w.reserve(200) !== RING_NONE; i++) put(g, frame(i, 200));
  setHead(g, tailWord(g)); // caught up everything
  assert.ok(g.w.reserve(200) >= 0);
  assert.ok(g.w.drained());
});

// ---------------------------------------------------------------------------------------------
const fuzz = suite('shm ring: fuzz');

/**
 * A Uint32Array stand-in that fails the test on any index outside [lo, hi) words (the ring's own
 * header and data area) or that is not an integer: an out-of-range read of a typed array gives
 * `undefined` instead of throwing, which a length check could let through.
 */
function fenced(u32: Uint32Array, lo: number, hi: number, trips: { n: number }): Uint32Array {
  const check = (p: string | symbol): void => {
    if (typeof p !== 'string' || !/^(-?\d|NaN|-?Infinity)/.test(p)) return; // length, buffer, methods
    const i = Number(p);
    if (!(Number.isInteger(i) && i >= lo && i < hi)) { trips.n++; throw new Error(`ring touched u32[${p}] outside its words [${lo}, ${hi})`); }
  };
  return new Proxy(u32, {
    get(t, p) { check(p); const x = Reflect.get(t, p, t); return typeof x === 'function' ? x.bind(t) : x; },
    set(t, p, val) { check(p); return Reflect.set(t, p, val, t); },
  });
}

fuzz('10^5 random mutations of the index words and record heads between reads: only valid frames, NONE or CORRUPT', () => {
  const rnd = new Prng(0xc0ffee);
  const cap = 4096;
  const trips = { n: 0 };
  const views = (v: SegmentViews): SegmentViews => {
    const ringOff = ringOffset(cap, 1);
    return { u8: v.u8, i32: v.i32, u32: fenced(v.u32, ringOff >> 2, (ringOff + RING_HEADER_BYTES + cap) >> 2, trips) };
  };
  const raw = (g: Ring): Uint32Array => new Uint32Array(g.v.u8.buffer); // the test's own, unfenced view
  const fresh = (): Ring => ring(cap, rnd.below(4) === 0 ? 0xffffffff - rnd.below(8192) * 4 + 1 : rnd.below(1 << 20) * 4, rnd.below(3) === 0 ? 20 + rnd.below(2000) : undefined, views);
  let g = fresh();
  const counts = { frames: 0, none: 0, readerCorrupt: 0, writerCorrupt: 0, writerFull: 0, mutations: 0 };
  let writerDead = false;
  for (let it = 0; it < 100_000; it++) {
    // the producer writes a few records (until the fuzz broke its view of the consumer)
    if (!writerDead) {
      for (let k = rnd.below(4); k > 0; k--) {
        const len = 20 + (rnd.below(8) === 0 ? rnd.below(ringMaxFrame(cap) - 19) : rnd.below(120));
        const off = g.w.reserve(len);
        if (off === RING_NONE) { counts.writerFull++; break; }
        if (off === RING_CORRUPT) { assert.ok(g.w.corruption.length > 0); counts.writerCorrupt++; writerDead = true; break; }
        assert.ok(off >= g.dataOff + RECORD_HEAD_BYTES && off + len <= g.dataOff + cap, `reserve gave ${off} for ${len}`);
        g.v.u8.fill(len & 0xff, off, off + len);
        g.w.commit(len);
      }
    }
    // the peer scribbles
    if (rnd.below(2) === 0) {
      counts.mutations++;
      const u = raw(g);
      const readerHead = (g.r as unknown as { head: number }).head;
      const special = [0, 1, 19, 20, 21, g.r.maxFrame, g.r.maxFrame + 1, RECORD_WRAP, 0x80000000, cap, cap - 4, rnd.next()];
      switch (rnd.below(7)) {
        case 0: u[(g.ringOff + RING_OFF_TAIL) >> 2] = (u[(g.ringOff + RING_OFF_TAIL) >> 2]! + rnd.below(9000) - 4500) >>> 0; break;
        case 1: u[(g.ringOff + RING_OFF_TAIL) >> 2] = rnd.below(2) === 0 ? rnd.next() : (readerHead + rnd.below(cap + 16)) >>> 0; break;
        case 2: u[(g.ringOff + RING_OFF_HEAD) >> 2] = rnd.below(2) === 0 ? rnd.next() : (u[(g.ringOff + RING_OFF_HEAD) >> 2]! + rnd.below(600) - 300) >>> 0; break;
        case 3: u[(g.ringOff + RING_OFF_SLEEPING) >> 2] = rnd.next(); u[(g.ringOff + RING_OFF_WAITING) >> 2] = rnd.next(); break;
        case 4: u[(g.dataOff + (readerHead & (cap - 1))) >> 2] = special[rnd.below(special.length)]!; break; // the next record head
        case 5: u[(g.dataOff + rnd.below(cap / 4) * 4) >> 2] = special[rnd.below(special.length)]!; break;
        default: u[(g.dataOff + 0) >> 2] = special[rnd.below(special.length)]!; break; // the record after a wrap
      }
    }
    // the consumer reads a bounded number of frames
    for (let k = 0; k < 8; k++) {
      const off = g.r.next();
      if (off === RING_NONE) { counts.none++; break; }
      if (off === RING_CORRUPT) {
        assert.ok(g.r.corruption.length > 0, 'a reason');
        counts.readerCorrupt++;
        g = fresh();
        writerDead = false;
        break;
      }
      assert.ok(Number.isInteger(off) && off >= g.dataOff + RECORD_HEAD_BYTES && off < g.dataOff + cap, `offset ${off}`);
      assert.ok(Number.isInteger(g.r.len) && g.r.len >= 20 && g.r.len <= g.r.maxFrame, `len ${g.r.len}`);
      assert.ok(off + g.r.len <= g.dataOff + cap, `frame ${off}+${g.r.len} past the data area`);
      counts.frames++;
      g.r.consume();
      if (rnd.below(2) === 0) g.r.publish();
    }
    if (writerDead && rnd.below(50) === 0) { g = fresh(); writerDead = false; }
  }
  assert.is(trips.n, 0);
  // the fuzz went everywhere it should
  assert.ok(counts.frames > 20_000, `frames ${counts.frames}`);
  assert.ok(counts.readerCorrupt > 1000, `reader corrupt ${counts.readerCorrupt}`);
  assert.ok(counts.writerCorrupt > 50, `writer corrupt ${counts.writerCorrupt}`);
  assert.ok(counts.none > 1000, `none ${counts.none}`);
  assert.ok(counts.writerFull > 100, `full ${counts.writerFull}`);
});

rt.run();
wrap.run();
full.run();
split.run();
bad.run();
fuzz.run();
