// Codec benchmark: Cell (compiled and interpreted) against hand-written ceilings and npm peers,
// measured in the same run with interleaved rounds and back-to-back pairs (lib/rounds.ts).
//
// Messages: the reference message { id: u32, ts: f64, temp: f32, flags: u8, name: string(16),
// samples: array(i16, 8) } and the same without `name` (the allocation-free path).
// Round trip = encode then decode, decoded fields consumed into a sink. Hand codecs and Cell reuse
// one buffer and one output object; JSON/msgpackr/cbor-x/protobufjs return fresh objects.
// Every codec is verified (round trip equal to the input, for several messages) before timing.
import { isDeepStrictEqual } from 'node:util';
import type { BenchOptions } from './lib/args.ts';
import { runRounds, compileTask, type Task, type Pair, type RoundsResult } from './lib/rounds.ts';
import { MSG, MSG_NOSTR, fresh, normalise, verificationMessages, type Msg, type ObjCodec } from './lib/messages.ts';
import { makeHandAlias, makeHandDataView } from './lib/hand-codecs.ts';
import { peerCodecs } from './lib/peers.ts';
import { printTable } from './lib/table.ts';
import { si, sig, ratio, range } from './lib/stats.ts';
import { target, verdict, type SectionResult, type Target } from './lib/targets.ts';
import { loadCell, type CellCodec } from './lib/cell.ts';

const K = 200; // operations per tinybench iteration

/** a Cell codec (compiled or interpreted) with its reused buffer and output object */
interface CellEntry { name: string; kind: 'cell'; codec: CellCodec; buf: Uint8Array; out: any }
type Entry = ObjCodec | CellEntry;

const CEIL = 'hand alias';
const CELL = 'Cell compiled';
const INTERP = 'Cell interpreted';
const PB = 'protobufjs';
const MPK = 'msgpackr records';

function verify(e: Entry, withName: boolean): { ok: boolean; detail: string } {
  for (const m of verificationMessages(withName)) {
    let d: Msg;
    if (e.kind === 'cell') {
      const buf = new Uint8Array(e.codec.maxSize + 8);
      const n = e.codec.encode(m as any, buf, 0);
      if (!(n > 0 && n <= e.codec.maxSize)) return { ok: false, detail: `encode returned ${n}` };
      d = e.codec.decode(buf, 0, e.codec.create(), n);
    } else {
      d = e.decode(e.encode(fresh(m)));
    }
    const got = normalise(d, withName);
    const want = normalise(m, withName);
    if (!isDeepStrictEqual(got, want)) return { ok: false, detail: `${JSON.stringify(got)} != ${JSON.stringify(want)}` };
  }
  return { ok: true, detail: '' };
}

const BODIES = {
  obj: {
    rt: `let id = 1; return function () { for (let i = 0; i < K; i++) { msg.id = (id++ & 0x7fffffff) >>> 0; const d = c.decode(c.encode(msg)); s.v += d.id + d.samples[3]; } };`,
    enc: `let id = 1; return function () { for (let i = 0; i < K; i++) { msg.id = (id++ & 0x7fffffff) >>> 0; const e = c.encode(msg); s.v += e.length; } };`,
    dec: `return function () { for (let i = 0; i < K; i++) { const d = c.decode(input); s.v += d.id + d.samples[3]; } };`,
  },
  cell: {
    rt: `let id = 1; return function () { for (let i = 0; i < K; i++) { msg.id = (id++ & 0x7fffffff) >>> 0; const n = c.encode(msg, buf, 0); const d = c.decode(buf, 0, out, n); s.v += d.id + d.samples[3]; } };`,
    enc: `let id = 1; return function () { for (let i = 0; i < K; i++) { msg.id = (id++ & 0x7fffffff) >>> 0; s.v += c.encode(msg, buf, 0); } };`,
    dec: `return function () { for (let i = 0; i < K; i++) { const d = c.decode(input, 0, out, inputLen); s.v += d.id + d.samples[3]; } };`,
  },
};
type Mode = 'rt' | 'enc' | 'dec';
const MODES: Mode[] = ['rt', 'enc', 'dec'];

export const sink = { v: 0 };

interface Variant { key: string; title: string; withName: boolean; msg: Msg; entries: [string, Entry][] }

async function buildVariants(missing: string[]): Promise<Variant[]> {
  const cell = await loadCell(missing);
  const variants: Variant[] = [];
  for (const withName of [true, false]) {
    const peers = peerCodecs();
    const byName = (n: string) => peers.find((p) => p.name.startsWith(n))!;
    const entries: [string, Entry][] = [
      [CEIL, makeHandAlias(withName)],
      ['hand DataView', makeHandDataView(withName)],
    ];
    const mk = (name: string, codec: CellCodec | undefined) => {
      if (codec) entries.push([name, { name: name, kind: 'cell', codec, buf: new Uint8Array(codec.maxSize + 8), out: codec.create() }]);
    };
    mk(CELL, withName ? cell?.reading : cell?.readingNoStr);
    mk(INTERP, withName ? cell?.readingInterp : cell?.readingNoStrInterp);
    entries.push([PB, byName('protobufjs')], [MPK, byName('msgpackr records')]);
    if (withName) entries.push(['msgpackr plain', byName('msgpackr plain')], ['cbor-x records', byName('cbor-x records')], ['JSON', byName('JSON')]);
    variants.push({
      key: withName ? 'reference' : 'nostring',
      title: withName ? 'reference message (with name: string(16))' : 'same message without the string (allocation-free path)',
      withName,
      msg: withName ? MSG : MSG_NOSTR,
      entries,
    });
  }
  return variants;
}

function fullName(short: string, e: Entry): string {
  if (e.kind === 'cell') return short;
  return e.name;
}

export async function runCodecBench(opt: BenchOptions): Promise<SectionResult> {
  const missing: string[] = [];
  const variants = await buildVariants(missing);
  const targets: Target[] = [];
  const data: Record<string, unknown> = {};

  for (const v of variants) {
    // --- correctness first
    const wire: Record<string, number> = {};
    for (const [short, e] of v.entries) {
      const r = verify(e, v.withName);
      if (!r.ok) throw new Error(`codec ${short} (${v.key}) does not round-trip: ${r.detail}`);
    }
    // compiled and interpreted must produce the same bytes
    const comp = v.entries.find(([n]) => n === CELL)?.[1] as CellEntry | undefined;
    const intp = v.entries.find(([n]) => n === INTERP)?.[1] as CellEntry | undefined;
    if (comp && intp) {
      for (const m of verificationMessages(v.withName)) {
        const a = new Uint8Array(comp.codec.maxSize), b = new Uint8Array(intp.codec.maxSize);
        const na = comp.codec.encode(m as any, a, 0), nb = intp.codec.encode(m as any, b, 0);
        if (na !== nb || !isDeepStrictEqual(a, b)) throw new Error(`Cell compiled and interpreted encodings differ (${v.key})`);
        if (!isDeepStrictEqual(normalise(intp.codec.decode(a, 0, intp.codec.create(), na), v.withName), normalise(m, v.withName))) throw new Error('interpreted decode of compiled bytes differs');
      }
    }
    process.stderr.write(`[bench] codec (${v.key}): ${v.entries.length} codecs verified (${verificationMessages(v.withName).length} messages each${comp && intp ? ', compiled = interpreted bytes' : ''})\n`);

    // --- tasks
    const tasks: Task[] = [];
    v.entries.forEach(([short, e], idx) => {
      const msg = fresh(v.msg);
      let env: Record<string, unknown>;
      let bodies: Record<Mode, string>;
      if (e.kind === 'cell') {
        const n = e.codec.encode(msg as any, e.buf, 0);
        wire[short] = n;
        env = { c: e.codec, msg, K, s: sink, buf: e.buf, out: e.out, input: e.buf.slice(), inputLen: n };
        bodies = BODIES.cell;
      } else {
        const pre = e.encode(msg);
        wire[short] = e.wireBytes(pre);
        // stable decode input: a private copy, except hand codecs which decode from their own buffer
        const input = typeof pre === 'string' ? pre : e.kind === 'hand' ? pre : Uint8Array.prototype.slice.call(pre);
        env = { c: e, msg, K, s: sink, input };
        bodies = BODIES.obj;
      }
      for (const mode of MODES) tasks.push({ name: `${short}|${mode}`, K, fn: compileTask(`${v.key}:${idx}:${short}:${mode}`, env, bodies[mode]) });
    });
    const has = (n: string) => v.entries.some(([s]) => s === n);
    const pairs: Pair[] = [];
    for (const [short] of v.entries) if (short !== CEIL) pairs.push({ a: `${short}|rt`, b: `${CEIL}|rt` });
    if (has(CELL)) {
      for (const peer of [PB, MPK, INTERP]) if (has(peer)) pairs.push({ a: `${CELL}|rt`, b: `${peer}|rt` });
      for (const mode of ['enc', 'dec'] as const) for (const peer of [CEIL, PB, MPK, INTERP]) if (has(peer)) pairs.push({ a: `${CELL}|${mode}`, b: `${peer}|${mode}` });
    }
    const res = await runRounds(tasks, pairs, { rounds: opt.rounds, time: opt.time, warmupTime: opt.warmupTime, label: `codec (${v.key})` });

    // --- tables
    const rows = v.entries.map(([short, e]) => {
      const t = (m: Mode) => res.tasks.get(`${short}|${m}`)!;
      const vsCeil = short === CEIL ? null : res.ratio(`${short}|rt`, `${CEIL}|rt`);
      return [fullName(short, e) + (e.kind === 'cell' ? '' : ''), wire[short]!, si(t('rt').best), si(t('enc').best), si(t('dec').best), sig(1e9 / t('rt').best),
        vsCeil ? `${sig(vsCeil.median)} ${range(vsCeil.ratios)}` : '1 (ref)'];
    });
    printTable(`Codec — ${v.title}`, ['codec', 'wire B', 'round trip ops/s', 'encode ops/s', 'decode ops/s', 'rt ns/op', 'rt ÷ ceiling (back-to-back)'], rows, {
      notes: [`ops/s = best of ${opt.rounds} interleaved rounds (fast regime); "÷ ceiling" = median over rounds of ops(codec)/ops(hand alias), each pair measured back-to-back [min–max].`],
    });

    const ratioRows: (string | number)[][] = [];
    const section = v.withName ? 'codec' : 'codec (no string)';
    const add = (label: string, peer: string, goal: number | null) => {
      if (!has(CELL) || !has(peer)) return;
      const cell = (m: Mode) => { const p = res.ratio(`${CELL}|${m}`, `${peer}|${m}`); return `${ratio(p.median)} ${range(p.ratios)}`; };
      const p = res.ratio(`${CELL}|rt`, `${peer}|rt`);
      let verdictText = '(info)';
      if (goal !== null) {
        const t = target(section, `Cell ÷ ${label} (round trip${v.withName ? '' : ', no string'})`, p.median, '>=', goal, '×', `median of ${p.ratios.length} back-to-back ratios ${range(p.ratios)}`);
        if (v.withName) targets.push(t);
        verdictText = v.withName ? verdict(t) : `${verdict(t)} (info)`;
      }
      ratioRows.push([`Cell compiled ÷ ${label}`, cell('rt'), cell('enc'), cell('dec'), goal === null ? '–' : `≥ ${goal}`, verdictText]);
    };
    add('hand ceiling (typed-array alias)', CEIL, 0.5);
    add('protobufjs static', PB, 5);
    add('msgpackr records', MPK, 7);
    add('Cell interpreted', INTERP, null);
    if (ratioRows.length) {
      printTable(`Cell ratios — ${v.title}`, ['ratio (a ÷ b, ops/s)', 'round trip', 'encode', 'decode', 'target (rt)', 'result'], ratioRows, {
        align: ['l', 'l', 'l', 'l', 'r', 'l'],
        notes: [`median over ${opt.rounds} rounds of ops(a)/ops(b), a and b measured back-to-back [min–max]; targets apply to the round trip${v.withName ? '' : ' of the reference message (this table is for information)'}.`],
      });
    } else {
      console.log(`\n(Cell codec not available: ${missing.join('; ')} — only peers were measured)`);
    }
    data[v.key] = serialise(res, wire);
  }
  return { section: 'codec', targets, data, missing };
}

function serialise(res: RoundsResult, wire: Record<string, number>) {
  return {
    wire_bytes: wire,
    tasks: Object.fromEntries([...res.tasks].map(([k, t]) => [k, { ops_best: t.best, ops_median: t.median, ns_per_op_best: 1e9 / t.best, ops_samples: t.samples }])),
    ratios: res.pairs.map((p) => ({ a: p.a, b: p.b, median: p.median, min: p.min, max: p.max, per_round: p.ratios })),
  };
}
