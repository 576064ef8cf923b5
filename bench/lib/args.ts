// Command-line options shared by bench/run.ts and the individual *.bench.ts files.
//   --quick            fast smoke run (3 short rounds; < 30 s in total)
//   --only NAME        codec | framing | alloc | wasm | uart (comma-separated list allowed)
//   --json FILE        also write every result (raw per-round samples included) as JSON
//   --rounds N         interleaved rounds (default 10, quick 3)
//   --time MS          tinybench time budget per measurement (default 60, quick 15)
export interface BenchOptions {
  quick: boolean;
  only: string[] | null;
  json: string | null;
  rounds: number;
  time: number;
  warmupTime: number;
}

export function parseArgs(argv: readonly string[] = process.argv.slice(2)): BenchOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  const known = new Set(['--quick', '--only', '--json', '--rounds', '--time', '--help', '-h']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) continue;
    if (!known.has(a)) throw new Error(`unknown option ${a} (try --help)`);
  }
  const quick = argv.includes('--quick');
  const only = get('only');
  const rounds = Number(get('rounds') ?? (quick ? 3 : 10));
  const time = Number(get('time') ?? (quick ? 15 : 60));
  if (!(rounds >= 1) || !(time > 0)) throw new Error('--rounds and --time must be positive numbers');
  return {
    quick,
    only: only ? only.split(',').map((s) => s.trim()).filter(Boolean) : null,
    json: get('json') ?? null,
    rounds,
    time,
    warmupTime: quick ? 5 : 20,
  };
}

export const USAGE = `usage: npm run bench -- [--quick] [--only codec|framing|alloc|wasm|uart] [--json FILE] [--rounds N] [--time MS]

  (no option)      everything, ~3-4 min: codec, framing, allocation, wasm sizes, PASS/FAIL summary
  --quick          smoke run, < 30 s (3 short rounds; numbers are indicative only)
  --only LIST      comma-separated subset of: codec, framing, alloc, wasm, uart (uart: only when named)
  --json FILE      also write all results (per-round samples included) to FILE
  --rounds N       interleaved rounds (default 10; --quick 3)
  --time MS        tinybench time per measurement in ms (default 60; --quick 15)
`;
