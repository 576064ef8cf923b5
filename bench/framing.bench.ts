// Framing benchmark: Cell COBS and CRC-32C against the baseline's plain hand loop and npm peers,
// plus frameEncode + Deframer for a 64-byte frame. Payloads: 64 B and 4 KiB, ~15% zero bytes,
// deterministic (lib/payload.ts). MB/s counts payload bytes. Outputs are cross-checked before timing.
import type { BenchOptions } from './lib/args.ts';
import { runRounds, type Task, type Pair, type RoundsResult } from './lib/rounds.ts';
import { makePayload, bytesEqual } from './lib/payload.ts';
import { cobsMaxLen, handCobsEncode, handCobsDecode, handCrc32c } from './lib/hand-framing.ts';
import { thirdParty } from './lib/peers.ts';
import { loadFraming, type CellFraming } from './lib/cell.ts';
import { makeDeframeAdapter, frameBufBytes } from './lib/deframe.ts';
import { printTable } from './lib/table.ts';
import { sig, range } from './lib/stats.ts';
import { target, type SectionResult, type Target } from './lib/targets.ts';

const SIZES = [64, 4096] as const;
const kFor = (size: number) => (size === 64 ? 200 : 4);

let sink = 0;

function check(f: CellFraming | undefined, cobs: any, CRC32C: any): { checks: number; bad: string[] } {
  const bad: string[] = [];
  let checks = 0;
  const ok = (name: string, cond: boolean) => { checks++; if (!cond) bad.push(name); };
  const tv = new TextEncoder().encode('123456789');
  ok('hand crc32c check value', handCrc32c(tv) === 0xe3069283);
  ok('crc-32/crc32c check value', CRC32C.buf(tv) >>> 0 === 0xe3069283);
  if (f) {
    ok('Cell crc32c check value', f.crc32c(tv) >>> 0 === 0xe3069283);
    ok('Cell crc32cSmall check value', f.crc32cSmall(tv, 0, -1) >>> 0 === 0xe3069283);
  }
  // COBS vectors (Wikipedia / Cheshire & Baker)
  const vec: [number[], number[]][] = [
    [[0x00], [0x01, 0x01]], [[0x00, 0x00], [0x01, 0x01, 0x01]], [[0x00, 0x11, 0x00], [0x01, 0x02, 0x11, 0x01]],
    [[0x11, 0x22, 0x00, 0x33], [0x03, 0x11, 0x22, 0x02, 0x33]], [[0x11, 0x22, 0x33, 0x44], [0x05, 0x11, 0x22, 0x33, 0x44]],
    [[0x11, 0x00, 0x00, 0x00], [0x02, 0x11, 0x01, 0x01, 0x01]],
  ];
  for (const [i, [src, want]] of vec.entries()) {
    const s = Uint8Array.from(src);
    ok(`npm cobs vector ${i}`, bytesEqual(cobs.encode(Buffer.from(s)), want));
    ok(`hand cobs vector ${i}`, bytesEqual(encHand(s), want));
    if (f) {
      const dst = new Uint8Array(cobsMaxLen(s.length));
      const n = f.cobsEncode(s, dst, 0, s.length, 0);
      ok(`Cell cobs vector ${i}`, n === want.length && bytesEqual(dst.subarray(0, n), want));
    }
  }
  for (const n of [0, 1, 63, 64, 253, 254, 255, 600, 4096]) {
    for (const zf of [0, 0.15, 1]) {
      const p = makePayload(n, zf, n + 7);
      const ref: Uint8Array = cobs.encode(Buffer.from(p));
      ok(`npm cobs round trip n=${n} z=${zf}`, bytesEqual(cobs.decode(ref), p));
      if (!f) continue;
      const enc = new Uint8Array(cobsMaxLen(n)), dec = new Uint8Array(n + 1);
      const el = f.cobsEncode(p, enc, 0, n, 0);
      const dl = f.cobsDecode(enc, dec, 0, el, 0);
      ok(`Cell cobs round trip n=${n} z=${zf}`, el > 0 && dl === n && bytesEqual(dec.subarray(0, n), p));
      // Cell's decoder reads npm's encoding and vice versa. (Bytes may differ only when the input
      // ends exactly on a full 254-byte block: Cell drops the redundant trailing 0x01 code byte.)
      const dec2 = new Uint8Array(n + 1);
      ok(`Cell decodes npm cobs n=${n} z=${zf}`, f.cobsDecode(ref, dec2, 0, ref.length, 0) === n && bytesEqual(dec2.subarray(0, n), p));
      ok(`npm decodes Cell cobs n=${n} z=${zf}`, bytesEqual(cobs.decode(Buffer.from(enc.subarray(0, el))), p));
      if (zf !== 0) ok(`Cell cobs == npm cobs bytes n=${n} z=${zf}`, bytesEqual(enc.subarray(0, el), ref));
    }
    const p = makePayload(n, 0.15, n);
    const want = CRC32C.buf(p) >>> 0;
    ok(`hand crc32c n=${n}`, handCrc32c(p) === want);
    if (f) {
      ok(`Cell crc32c n=${n}`, f.crc32c(p, 0, n) >>> 0 === want);
      ok(`Cell crc32cSmall n=${n}`, f.crc32cSmall(p, 0, n) >>> 0 === want);
      if (n > 8) ok(`Cell crc32c offset n=${n}`, f.crc32c(p, 3, n - 5) >>> 0 === CRC32C.buf(p.subarray(3, n - 2)) >>> 0);
    }
  }
  for (const size of SIZES) {
    const p = makePayload(size, 0.15, 1000 + size);
    ok(`timed payload ${size}: hand cobs == npm cobs`, bytesEqual(encHand(p), cobs.encode(Buffer.from(p))));
  }
  return { checks, bad };
}

function encHand(s: Uint8Array): Uint8Array {
  const d = new Uint8Array(cobsMaxLen(s.length));
  return d.subarray(0, handCobsEncode(s, s.length, d));
}

/** frame = COBS(payload ‖ CRC-32C(payload) u32 LE) ‖ 0x00 (docs/wire-format.md §3), built from the hand parts */
function referenceFrame(p: Uint8Array, CRC32C: any): Uint8Array {
  const withCrc = new Uint8Array(p.length + 4);
  withCrc.set(p);
  new DataView(withCrc.buffer).setUint32(p.length, CRC32C.buf(p) >>> 0, true);
  const enc = encHand(withCrc);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

export async function runFramingBench(opt: BenchOptions): Promise<SectionResult> {
  const missing: string[] = [];
  const f = await loadFraming(missing);
  const cobs = thirdParty('cobs');
  const CRC32C = thirdParty('crc-32/crc32c');
  const targets: Target[] = [];

  const { checks, bad } = check(f, cobs, CRC32C);
  // frameDecode is not part of lib/cell.ts's CellFraming: loaded here for the deframer comparison
  let frameDecode: ((src: Uint8Array, srcOff: number, srcLen: number, dst: Uint8Array, dstOff: number) => number) | undefined;
  if (f) {
    try { frameDecode = (await import('../src/framing/frame.ts')).frameDecode; } catch { missing.push('frameDecode: src/framing/frame.ts not available'); }
  }
  // frame format and the deframer against the documented layout
  const deframe = f?.frameEncode && f.Deframer ? makeDeframeAdapter(f) : undefined;
  let frameChecks = 0;
  if (deframe) {
    for (const n of [1, 16, 64, 200, 253, 254, 255, 1000]) {
      for (const zf of [0, 0.15, 1]) {
        const p = makePayload(n, zf, 77 + n);
        const want = referenceFrame(p, CRC32C);
        const dst = new Uint8Array(frameBufBytes(f!, n));
        const m = f!.frameEncode!(p, 0, n, dst, 0);
        // the full-block edge (see above) may save one byte; otherwise byte-equal to the reference
        const sameBytes = m === want.length && bytesEqual(dst.subarray(0, m), want);
        const got = deframe.roundTrip(dst, m);
        frameChecks++;
        if (!(sameBytes || (zf === 0 && m === want.length - 1)) || !got || !bytesEqual(got, p)) bad.push(`frameEncode/Deframer n=${n} z=${zf}${sameBytes ? '' : ' (bytes differ from COBS(p‖crc32c LE)‖00)'}`);
      }
    }
  } else if (f) missing.push('frameEncode/Deframer: src/framing/frame.ts or deframer.ts not available');
  if (bad.length) throw new Error(`framing correctness FAIL: ${bad.join(', ')}`);
  process.stderr.write(`[bench] framing: ${checks + frameChecks} correctness checks OK (test vectors, cross-checks with npm cobs / crc-32 / hand loops${deframe ? ', frames vs COBS(p‖crc)‖00 + deframer' : ''})\n`);

  const tasks: Task[] = [];
  const pairs: Pair[] = [];
  for (const size of SIZES) {
    const K = kFor(size);
    const p = makePayload(size, 0.15, 1000 + size);
    const pBuf = Buffer.from(p);
    const enc = new Uint8Array(cobsMaxLen(size)), dec = new Uint8Array(size);
    const encLen = handCobsEncode(p, size, enc);
    const add = (name: string, fn: () => void) => tasks.push({ name: `${name}|${size}`, fn, K });
    const pair = (a: string, b: string) => pairs.push({ a: `${a}|${size}`, b: `${b}|${size}` });
    add('COBS hand enc+dec', () => { for (let i = 0; i < K; i++) { const l = handCobsEncode(p, size, enc); sink += handCobsDecode(enc, l, dec); } });
    add('COBS npm cobs enc+dec', () => { for (let i = 0; i < K; i++) sink += cobs.decode(cobs.encode(pBuf)).length; });
    add('COBS hand encode', () => { for (let i = 0; i < K; i++) sink += handCobsEncode(p, size, enc); });
    add('COBS hand decode', () => { for (let i = 0; i < K; i++) sink += handCobsDecode(enc, encLen, dec); });
    add('CRC-32C npm crc-32/crc32c', () => { for (let i = 0; i < K; i++) sink ^= CRC32C.buf(p); });
    if (f) {
      const cEnc = new Uint8Array(cobsMaxLen(size)), cDec = new Uint8Array(size);
      const { cobsEncode, cobsDecode, crc32c, crc32cSmall } = f;
      add('COBS Cell enc+dec', () => { for (let i = 0; i < K; i++) { const l = cobsEncode(p, cEnc, 0, size, 0); sink += cobsDecode(cEnc, cDec, 0, l, 0); } });
      add('COBS Cell encode', () => { for (let i = 0; i < K; i++) sink += cobsEncode(p, cEnc, 0, size, 0); });
      add('COBS Cell decode', () => { for (let i = 0; i < K; i++) sink += cobsDecode(enc, cDec, 0, encLen, 0); });
      add('CRC-32C Cell crc32c', () => { for (let i = 0; i < K; i++) sink ^= crc32c(p, 0, size); });
      add('CRC-32C Cell crc32cSmall', () => { for (let i = 0; i < K; i++) sink ^= crc32cSmall(p, 0, size); });
      pair('COBS Cell enc+dec', 'COBS hand enc+dec');
      pair('COBS Cell enc+dec', 'COBS npm cobs enc+dec');
      pair('COBS Cell encode', 'COBS hand encode');
      pair('COBS Cell decode', 'COBS hand decode');
      pair('CRC-32C Cell crc32c', 'CRC-32C npm crc-32/crc32c');
      pair('CRC-32C Cell crc32cSmall', 'CRC-32C npm crc-32/crc32c');
    } else {
      pair('COBS npm cobs enc+dec', 'COBS hand enc+dec');
    }
    if (size === 64 && deframe && f?.frameEncode) {
      const frameEncode = f.frameEncode;
      const fb = new Uint8Array(frameBufBytes(f, size));
      const m = frameEncode(p, 0, size, fb, 0);
      const encodeOnly = () => { for (let i = 0; i < K; i++) sink += frameEncode(p, 0, size, fb, 0); };
      add('frameEncode (CRC-32C + COBS)', encodeOnly);
      add('Deframer feed + next', deframe.task(fb, m, K, (v) => { sink += v; }));
      add('frameEncode + Deframer', deframe.encodeAndDeframeTask(p, fb, K, (v) => { sink += v; }));
      if (frameDecode) {
        // the whole-frame decoder: what the Deframer's fast path is measured against
        const fd = frameDecode;
        const out = new Uint8Array(size + 4);
        if (fd(fb, 0, m, out, 0) !== size || !bytesEqual(out.subarray(0, size), p)) throw new Error('framing correctness FAIL: frameDecode of the timed frame');
        add('frameDecode (whole frame)', () => { for (let i = 0; i < K; i++) sink += fd(fb, 0, m, out, 0); });
        add('frameEncode + frameDecode', () => {
          for (let i = 0; i < K; i++) { const l = frameEncode(p, 0, size, fb, 0); sink += fd(fb, 0, l, out, 0); }
        });
        pair('frameEncode + frameDecode', 'frameEncode + Deframer');
        pair('frameDecode (whole frame)', 'Deframer feed + next');
      }
    }
  }

  const res = await runRounds(tasks, pairs, { rounds: opt.rounds, time: opt.time, warmupTime: opt.warmupTime, label: 'framing' });

  // --- tables
  const rows: (string | number)[][] = [];
  const rowNames = ['COBS Cell enc+dec', 'COBS hand enc+dec', 'COBS npm cobs enc+dec', 'COBS Cell encode', 'COBS hand encode', 'COBS Cell decode', 'COBS hand decode',
    'CRC-32C Cell crc32c', 'CRC-32C Cell crc32cSmall', 'CRC-32C npm crc-32/crc32c'];
  for (const name of rowNames) {
    const t64 = res.tasks.get(`${name}|64`), t4k = res.tasks.get(`${name}|4096`);
    if (!t64 || !t4k) continue;
    const r = (size: number) => {
      const ps = res.pairs.filter((p) => p.a === `${name}|${size}`);
      return ps.map((p) => `${sig(p.median)}× ${p.b.split('|')[0].replace(/^(COBS|CRC-32C) /, '')} ${range(p.ratios)}`).join('; ') || '–';
    };
    rows.push([name, sig((t64.best * 64) / 1e6), sig(1e9 / t64.best), sig((t4k.best * 4096) / 1e6), sig(1e9 / t4k.best), r(64), r(4096)]);
  }
  printTable('Framing — COBS and CRC-32C (payload ~15% zero bytes)', ['op', '64 B MB/s', '64 B ns/op', '4 KiB MB/s', '4 KiB ns/op', 'ratio a ÷ b, 64 B (back-to-back)', 'ratio a ÷ b, 4 KiB'], rows, {
    align: ['l', 'r', 'r', 'r', 'r', 'l', 'l'],
    notes: [`MB/s of payload = best of ${opt.rounds} interleaved rounds; ratios = median over rounds of ops(a)/ops(b) measured back-to-back [min–max]. COBS enc+dec = encode then decode into preallocated buffers (npm cobs allocates Buffers).`],
  });

  if (f) {
    for (const size of SIZES) {
      const label = size === 64 ? '64 B' : '4 KiB';
      const add = (name: string, a: string, b: string, goal: number) => {
        const p = res.ratio(`${a}|${size}`, `${b}|${size}`);
        targets.push(target('framing', `${name}, ${label}`, p.median, '>=', goal, '×', `median of ${p.ratios.length} back-to-back ratios ${range(p.ratios)}`));
      };
      add('Cell COBS enc+dec ÷ hand loop', 'COBS Cell enc+dec', 'COBS hand enc+dec', 0.9);
      add('Cell COBS enc+dec ÷ npm cobs', 'COBS Cell enc+dec', 'COBS npm cobs enc+dec', 3);
      add('Cell crc32c ÷ crc-32/crc32c', 'CRC-32C Cell crc32c', 'CRC-32C npm crc-32/crc32c', 0.9);
    }
  }
  const frameRows: (string | number)[][] = [];
  // time ratio vs the whole-frame decoder measured back-to-back: 1 / (ops(a)/ops(b)), a = frameDecode side
  const vsWhole = (a: string, b: string) => {
    const p = res.pairs.find((x) => x.a === `${a}|64` && x.b === `${b}|64`);
    return p ? `${sig(p.median)}× ${range(p.ratios)}` : '–';
  };
  for (const name of ['frameEncode (CRC-32C + COBS)', 'frameDecode (whole frame)', 'Deframer feed + next', 'frameEncode + frameDecode', 'frameEncode + Deframer']) {
    const t = res.tasks.get(`${name}|64`);
    const rel = name === 'Deframer feed + next' ? vsWhole('frameDecode (whole frame)', name) : name === 'frameEncode + Deframer' ? vsWhole('frameEncode + frameDecode', name) : '';
    if (t) frameRows.push([name, sig(1e9 / t.best), sig(1e9 / t.median), sig((t.best * 64) / 1e6), rel]);
  }
  if (res.pairs.some((x) => x.a === 'frameEncode + frameDecode|64')) {
    const p = res.ratio('frameEncode + frameDecode|64', 'frameEncode + Deframer|64');
    targets.push(target('framing', 'frameEncode + Deframer ÷ frameEncode + frameDecode (time), 64 B', p.median, '<=', 1.3, '×', `median of ${p.ratios.length} back-to-back ratios ${range(p.ratios)}`));
  }
  const full = res.tasks.get('frameEncode + Deframer|64');
  if (full) {
    const ns = 1e9 / full.best;
    targets.push(target('framing', 'frameEncode + Deframer, 64 B frame (COBS+CRC both ways)', ns, '<=', 300, 'ns', `best of ${full.samples.length} rounds (median round ${sig(1e9 / full.median)} ns)`));
  }
  if (frameRows.length) {
    printTable('Frames — 64-byte payload: frameEncode, frameDecode and Deframer', ['op', 'ns/op (best round)', 'ns/op (median round)', 'MB/s (best)', 'time ÷ whole-frame decode (back-to-back)'], frameRows, {
      notes: ['Absolute times: best round = the fast regime of this VM; the median round may sit in the slow one (~2×).',
        'Last column: time of the Deframer row ÷ time of the frameDecode row, median of back-to-back rounds [min–max]. Target ≤ 1.3× (frameEncode + Deframer vs frameEncode + frameDecode).',
        'Target: frameEncode + Deframer ≤ 300 ns per 64-byte frame (CRC-32C and COBS on both sides).'],
    });
  }
  return { section: 'framing', targets, data: serialise(res), missing };
}

function serialise(res: RoundsResult) {
  return {
    tasks: Object.fromEntries([...res.tasks].map(([k, t]) => [k, { ops_best: t.best, ops_median: t.median, ns_per_op_best: 1e9 / t.best, ops_samples: t.samples }])),
    ratios: res.pairs.map((p) => ({ a: p.a, b: p.b, median: p.median, min: p.min, max: p.max, per_round: p.ratios })),
  };
}
