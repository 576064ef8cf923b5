// What a command gets besides its arguments: where to print, and whether to print JSON.
import type { CommandSpec, Parsed } from './args.ts';

export interface Ctx {
  /** The command as typed (for messages): "call", "gen", ... */
  readonly command: string;
  /** `--json` was given: print machine-readable output on stdout. */
  readonly json: boolean;
  /** A line on stdout. */
  out(line: string): void;
  /** A line on stderr (progress, warnings). */
  err(line: string): void;
}

export interface CommandModule {
  readonly spec: CommandSpec;
  /** Returns the exit code; throws a CliError (or anything) on failure. */
  run(p: Parsed, ctx: Ctx): Promise<number>;
}

/** JSON with bigint as a decimal string and typed arrays as arrays. */
export function stringify(v: unknown, indent?: number): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return x.toString();
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return Array.from(x as unknown as ArrayLike<number | bigint>, (n) => (typeof n === 'bigint' ? n.toString() : n));
    return x;
  }, indent);
}

export const str = (p: Parsed, name: string): string | undefined => p.flags[name] as string | undefined;
export const num = (p: Parsed, name: string): number | undefined => p.flags[name] as number | undefined;
export const bool = (p: Parsed, name: string): boolean => p.flags[name] === true;
/** Every value of a `multiple` flag, in order (none given: []). */
export const strs = (p: Parsed, name: string): string[] => {
  const v = p.flags[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
};

/** Milliseconds as "3d 4h", "2h 5m", "1m 20s", "12s". */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${r}s`;
  return `${r}s`;
}
