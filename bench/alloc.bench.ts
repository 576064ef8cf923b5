// Allocation: 10^6 iterations of the allocation-free paths with a PerformanceObserver on 'gc'
// entries and heapUsed before/after (lib/alloc.ts). Target: 0 GCs and ~0 heap growth.
//   - Cell codec round trip (encode + decode) of the message WITHOUT the string
//   - COBS encode + CRC-32C (crc32cWrite into a buffer) + COBS decode of a 64-byte payload
//   - frameEncode of a 64-byte payload; frameEncode + Deframer.feed/next
// (The reference message with a string allocates one string per decode by design; crc32c()
// returns a u32 that V8 boxes when it is ≥ 2³¹ and the call is not inlined: shown as info.)
import type { BenchOptions } from './lib/args.ts';
import { measureGc, type GcReport } from './lib/alloc.ts';
import { codecRoundTrips, codecRoundTripsAlternating, cobsCrcLoop, cobsCrcWriteLoop, frameEncodeLoop, frameDeframeLoop, primeLoop, type Crc32cWrite } from './lib/alloc-loops.ts';
import { loadCell, loadFraming } from './lib/cell.ts';
import { frameBufBytes } from './lib/deframe.ts';
import { cobsMaxLen } from './lib/hand-framing.ts';
import { MSG, MSG_NOSTR, fresh } from './lib/messages.ts';
import { makePayload } from './lib/payload.ts';
import { printTable } from './lib/table.ts';
import { bytes, sig } from './lib/stats.ts';
import { progress } from './lib/progress.ts';
import { target, type SectionResult, type Target } from './lib/targets.ts';

const N = 1_000_000;
/** heap growth allowed for "~0": a few KiB of incidental bookkeeping, far below 1 byte per iteration */
const GROWTH_LIMIT = 64 * 1024;

export async function runAllocBench(opt: BenchOptions): Promise<SectionResult> {
  const missing: string[] = [];
  const reports: GcReport[] = [];
  const cell = await loadCell(missing);
  const f = await loadFraming(missing);
  const jobs: [string, (n: number) => number][] = [];
  if (cell?.readingNoStr) {
    const c = cell.readingNoStr;
    const msg = fresh(MSG_NOSTR), buf = new Uint8Array(c.maxSize), out = c.create();
    jobs.push(['Cell codec round trip, message without string', (n) => codecRoundTrips(c, msg, buf, out, n)]);
  }
  if (cell?.readingNoStr) {
    const c = cell.readingNoStr;
    const a = { ...fresh(MSG_NOSTR), id: 0x80000001 }, b = { ...fresh(MSG_NOSTR), id: 0xfffffffe, ts: -MSG.ts };
    const buf = new Uint8Array(c.maxSize), out = c.create();
    jobs.push(['(info) same, u32 id ≥ 2³¹ (two messages alternating)', (n) => codecRoundTripsAlternating(c, [a, b], buf, out, n)]);
  }
  if (cell?.reading) {
    const c = cell.reading;
    const msg = fresh(MSG), buf = new Uint8Array(c.maxSize), out = c.create();
    jobs.push(['(info) Cell codec round trip, WITH the string', (n) => codecRoundTrips(c, msg, buf, out, n)]);
  }
  const p = makePayload(64, 0.15, 1064);
  const codecJobs = jobs.length;
  if (f) {
    // crc32cWrite is not part of lib/cell.ts's CellFraming: loaded here
    let crc32cWrite: Crc32cWrite | undefined;
    try { crc32cWrite = (await import('../src/framing/crc32c.ts')).crc32cWrite; } catch { /* reported below */ }
    if (crc32cWrite) {
      const cw = crc32cWrite;
      const enc = new Uint8Array(cobsMaxLen(64)), dec = new Uint8Array(64), crcOut = new Uint8Array(4);
      jobs.push(['COBS encode + CRC-32C (crc32cWrite) + COBS decode, 64 B', (n) => cobsCrcWriteLoop(f, cw, p, enc, dec, crcOut, n)]);
    } else missing.push('crc32cWrite: not exported by src/framing/crc32c.ts');
    const enc = new Uint8Array(cobsMaxLen(64)), dec = new Uint8Array(64);
    jobs.push(['(info) same with crc32c() returning a u32 (boxed when ≥ 2³¹ and not inlined)', (n) => cobsCrcLoop(f, p, enc, dec, n)]);
  }
  if (f?.frameEncode) {
    const fb = new Uint8Array(frameBufBytes(f, 64));
    jobs.push(['frameEncode, 64 B', (n) => frameEncodeLoop(f, p, fb, n)]);
    if (f.Deframer) {
      const d = new f.Deframer(4096);
      jobs.push(['frameEncode + Deframer feed/next, 64 B', (n) => {
        const frames = frameDeframeLoop(f, d, p, fb, n);
        if (frames !== n) throw new Error(`deframer delivered ${frames} of ${n} frames`);
        return frames;
      }]);
    }
  }
  const framingJobs = new Set(jobs.slice(codecJobs).map(([label]) => label));
  progress.start('allocation', jobs.length);
  for (const [label, loop] of jobs) {
    if (framingJobs.has(label)) primeLoop(loop); // see primeLoop: no deopt at the measured call's entry
    reports.push(await measureGc(label, loop, N, opt.quick ? 50_000 : 200_000));
    progress.tick(label);
  }
  progress.finish(`${jobs.length} loops × ${N.toLocaleString('en')}`);

  const targets: Target[] = [];
  if (reports.length) {
    printTable(`Allocation — ${N.toLocaleString('en')} iterations each (after warm-up${reports[0]!.forcedGc ? ' and a forced full GC' : ''})`,
      ['loop', 'GCs in loop', 'scavenges', 'mark-compact', 'heapUsed growth', 'ns/iter', 'result'],
      reports.map((r) => {
        const info = r.label.startsWith('(info)');
        const ok = r.total === 0 && r.heapGrowth < GROWTH_LIMIT;
        return [r.label, r.total, r.minor, r.major, `${r.heapGrowth >= 0 ? '+' : '-'}${bytes(Math.abs(r.heapGrowth))}`, sig(r.nsPerIteration), info ? '(info)' : ok ? 'PASS' : 'FAIL'];
      }), {
        notes: [`Target: 0 GCs during the loop and heap growth < ${bytes(GROWTH_LIMIT)} (~0; one allocated byte per iteration would be ~1 MB and force scavenges).`,
          'GC entries from a PerformanceObserver (perf_hooks); only those starting inside the timed loop are counted. ns/iter is one pass, not a benchmark.'],
      });
    for (const r of reports) {
      if (r.label.startsWith('(info)')) continue;
      targets.push(target('alloc', `${r.label}: GCs during ${N.toLocaleString('en')} iterations`, r.total, '<=', 0, '', `${r.minor} scavenges, ${r.major} mark-compact; heap ${r.heapGrowth >= 0 ? '+' : ''}${r.heapGrowth} B`));
      targets.push(target('alloc', `${r.label}: heap growth`, r.heapGrowth, '<=', GROWTH_LIMIT, 'B', `heapUsed ${r.heapBefore} → ${r.heapAfter}`));
    }
  }
  return { section: 'alloc', targets, data: reports, missing };
}
