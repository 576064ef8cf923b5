// Interleaved tinybench rounds with back-to-back pairs (method of shared/bench-baseline/lib/rounds.mjs).
//
// Why: this VM's single-thread throughput flips between two regimes ~2x apart for seconds to tens
// of seconds at a time (host noise), so one long tinybench pass measures luck. Instead we run R
// short rounds. In every round each *unit* is measured once, in a rotating order; a unit is either
// a single task or a *pair* (a, b) whose two halves are measured immediately one after the other
// (order alternating between rounds, so neither side always goes first). We report
//   * absolute ops/s  = best measurement over all rounds (the fast regime: most reproducible),
//                       plus the median measurement (in JSON);
//   * ratio a ÷ b     = median over rounds of ops(a)/ops(b) from the back-to-back pair, so both
//                       halves of every sample saw the same regime.
// Each tinybench iteration runs K operations (the ~30-50 ns timer cost would swamp ~50 ns ops);
// ops/s = K / median iteration time.
import { Bench } from 'tinybench';
import { median, min, max } from './stats.ts';
import { progress } from './progress.ts';

export interface Task {
  name: string;
  fn: () => void;
  /** operations per call of fn */
  K: number;
}

/** ratio reported as ops(a) / ops(b): "a is N× as fast as b" */
export interface Pair {
  a: string;
  b: string;
}

export interface TaskResult {
  name: string;
  K: number;
  /** ops/s of every measurement (one per unit the task appears in, per round) */
  samples: number[];
  best: number;
  median: number;
}

export interface PairResult {
  a: string;
  b: string;
  /** ops(a)/ops(b) per round */
  ratios: number[];
  median: number;
  min: number;
  max: number;
}

export interface RoundsOptions {
  rounds: number;
  time: number;
  warmupTime: number;
  label: string;
}

export interface RoundsResult {
  tasks: Map<string, TaskResult>;
  pairs: PairResult[];
  /** a ÷ b (median of back-to-back ratios) */
  ratio(a: string, b: string): PairResult;
}

type Unit = { kind: 'single'; task: string } | { kind: 'pair'; pair: Pair };

export async function runRounds(tasks: readonly Task[], pairs: readonly Pair[], opt: RoundsOptions): Promise<RoundsResult> {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  if (byName.size !== tasks.length) throw new Error('duplicate task names');
  for (const p of pairs) {
    if (!byName.has(p.a) || !byName.has(p.b)) throw new Error(`pair ${p.a} / ${p.b}: unknown task`);
  }
  const inPair = new Set(pairs.flatMap((p) => [p.a, p.b]));
  const units: Unit[] = [
    ...pairs.map((pair): Unit => ({ kind: 'pair', pair })),
    ...tasks.filter((t) => !inPair.has(t.name)).map((t): Unit => ({ kind: 'single', task: t.name })),
  ];
  const perRound = units.reduce((n, u) => n + (u.kind === 'pair' ? 2 : 1), 0);
  const samples = new Map(tasks.map((t) => [t.name, [] as number[]]));
  const ratios = pairs.map(() => [] as number[]);
  progress.start(opt.label, perRound * opt.rounds);

  for (let r = 0; r < opt.rounds; r++) {
    const bench = new Bench({
      time: opt.time,
      warmupTime: r === 0 ? 5 * opt.warmupTime : opt.warmupTime,
      timestampProvider: 'hrtimeNow',
      throws: true,
    });
    // keys: `${unitIndex}:${slot}`
    const start = (r * 7) % units.length;
    const order: { key: string; task: string }[] = [];
    for (let i = 0; i < units.length; i++) {
      const ui = (start + i) % units.length;
      const u = units[ui]!;
      if (u.kind === 'single') order.push({ key: `${ui}:s`, task: u.task });
      else {
        const first = r % 2 === 0 ? u.pair.b : u.pair.a;
        const second = r % 2 === 0 ? u.pair.a : u.pair.b;
        order.push({ key: `${ui}:${r % 2 === 0 ? 'b' : 'a'}`, task: first });
        order.push({ key: `${ui}:${r % 2 === 0 ? 'a' : 'b'}`, task: second });
      }
    }
    for (const o of order) bench.add(o.key, byName.get(o.task)!.fn);
    bench.addEventListener('cycle', () => progress.tick(`round ${r + 1}/${opt.rounds}`));
    await bench.run();
    const ops = new Map<string, number>();
    for (const bt of bench.tasks) {
      const res = bt.result;
      if (res.state !== 'completed') {
        const err = 'error' in res ? String((res as { error?: unknown }).error) : '';
        throw new Error(`task ${bt.name} ${res.state} ${err}`);
      }
      const task = byName.get(order.find((o) => o.key === bt.name)!.task)!;
      const v = (task.K * 1000) / res.latency.p50; // latency in ms
      ops.set(bt.name, v);
      samples.get(task.name)!.push(v);
    }
    units.forEach((u, ui) => {
      if (u.kind !== 'pair') return;
      const pi = pairs.indexOf(u.pair);
      ratios[pi]!.push(ops.get(`${ui}:a`)! / ops.get(`${ui}:b`)!);
    });
  }
  progress.finish(`${opt.rounds} rounds × ${perRound} measurements`);

  const taskResults = new Map<string, TaskResult>();
  for (const t of tasks) {
    const s = samples.get(t.name)!;
    taskResults.set(t.name, { name: t.name, K: t.K, samples: s, best: max(s), median: median(s) });
  }
  const pairResults: PairResult[] = pairs.map((p, i) => ({ a: p.a, b: p.b, ratios: ratios[i]!, median: median(ratios[i]!), min: min(ratios[i]!), max: max(ratios[i]!) }));
  return {
    tasks: taskResults,
    pairs: pairResults,
    ratio(a: string, b: string): PairResult {
      const p = pairResults.find((x) => x.a === a && x.b === b);
      if (!p) throw new Error(`no pair ${a} ÷ ${b}`);
      return p;
    },
  };
}

/**
 * Compile a task body from its own source text, so that every task gets its own closure and
 * feedback vectors (no cross-codec megamorphic call sites). `tag` makes the source unique.
 * `body` must `return function () { ... }`; `env` names become parameters of the factory.
 */
export function compileTask(tag: string, env: Record<string, unknown>, body: string): () => void {
  const names = Object.keys(env);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...names, `/* ${tag.replace(/\*\//g, '')} */\n${body}`) as (...a: unknown[]) => () => void;
  return factory(...names.map((n) => env[n]));
}
