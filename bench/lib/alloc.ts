// Allocation check: run a loop N times with a PerformanceObserver on 'gc' entries and heapUsed
// before/after. Allocation-free code triggers no scavenge however long it runs (a scavenge only
// happens when new space fills up), so "0 GCs over 10^6 iterations" is a count, not a timing.
//
// Before measuring: warm-up runs (so the loop and what it calls are optimised; interpreter and
// baseline code box doubles into HeapNumbers), a pause for concurrent TurboFan jobs to install,
// then a forced full GC when --expose-gc is available. Only GC entries that start inside the
// measured loop are counted.
import { PerformanceObserver, performance, constants, type PerformanceEntry } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface GcReport {
  label: string;
  iterations: number;
  /** scavenges (young generation) */
  minor: number;
  /** mark-compact */
  major: number;
  incremental: number;
  weakcb: number;
  total: number;
  heapBefore: number;
  heapAfter: number;
  heapGrowth: number;
  ms: number;
  nsPerIteration: number;
  forcedGc: boolean;
  sink: number;
}

const immediate = () => new Promise<void>((r) => setImmediate(r));
const kindOf = (e: PerformanceEntry): number => ((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? (e as unknown as { kind?: number }).kind ?? 0);

export async function measureGc(label: string, loop: (n: number) => number, iterations: number, warmup = Math.min(200_000, iterations)): Promise<GcReport> {
  let sink = 0;
  sink ^= loop(warmup);
  await sleep(20); // let concurrent optimisation jobs finish and install
  sink ^= loop(warmup);
  await sleep(5);

  const entries: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => { entries.push(...list.getEntries()); });
  obs.observe({ entryTypes: ['gc'] });
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) { gc(); gc(); }
  await immediate();
  await immediate();
  obs.takeRecords();
  entries.length = 0;

  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  sink ^= loop(iterations);
  const t1 = performance.now();
  const heapAfter = process.memoryUsage().heapUsed;

  await immediate();
  await immediate();
  await sleep(1);
  entries.push(...obs.takeRecords());
  obs.disconnect();
  const inLoop = entries.filter((e) => e.startTime >= t0 && e.startTime <= t1);
  const count = (k: number) => inLoop.filter((e) => kindOf(e) === k).length;
  return {
    label,
    iterations,
    minor: count(constants.NODE_PERFORMANCE_GC_MINOR),
    major: count(constants.NODE_PERFORMANCE_GC_MAJOR),
    incremental: count(constants.NODE_PERFORMANCE_GC_INCREMENTAL),
    weakcb: count(constants.NODE_PERFORMANCE_GC_WEAKCB),
    total: inLoop.length,
    heapBefore,
    heapAfter,
    heapGrowth: heapAfter - heapBefore,
    ms: t1 - t0,
    nsPerIteration: ((t1 - t0) * 1e6) / iterations,
    forcedGc: Boolean(gc),
    sink,
  };
}
