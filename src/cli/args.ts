// A tiny argument parser for the `cell` CLI (docs/cli.md "Conventions"): no dependency.
//
//   --flag value   --flag=value   -f value   --bool   --   (ends flags; the rest are positionals)
//
// Every command declares its flags and positionals in a CommandSpec; anything else is a usage
// error (exit 2) with a "did you mean" suggestion.
import { CliError, EXIT_USAGE } from './errors.ts';

export interface FlagSpec {
  readonly type: 'string' | 'number' | 'boolean';
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** Placeholder shown in help, e.g. "ms". */
  readonly arg?: string;
  readonly desc: string;
  /** A string flag that may be given several times (`--uart A --uart B`): its value is a string[]. @default false */
  readonly multiple?: boolean;
}

export interface ArgSpec {
  readonly name: string;
  readonly desc: string;
  /** @default false */
  readonly optional?: boolean;
  /** Takes every remaining positional. @default false */
  readonly variadic?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Longer description, shown by `cell <command> --help`. */
  readonly details?: string;
  readonly args: readonly ArgSpec[];
  readonly flags: { readonly [name: string]: FlagSpec };
  readonly examples?: readonly string[];
}

export interface Parsed {
  readonly positionals: string[];
  readonly flags: Record<string, string | number | boolean | string[] | undefined>;
}

/** Flags every command accepts. */
export const COMMON_FLAGS: { readonly [name: string]: FlagSpec } = {
  help: { type: 'boolean', short: 'h', desc: 'show this help' },
};

export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const flags: Record<string, string | number | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  const all: { [name: string]: FlagSpec } = { ...COMMON_FLAGS, ...spec.flags };
  const byShort = new Map<string, string>();
  for (const [name, f] of Object.entries(all)) if (f.short !== undefined) byShort.set(f.short, name);
  const usage = (msg: string): CliError => new CliError(msg, { exit: EXIT_USAGE, fix: `run \`cell ${spec.name} --help\` for usage` });

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) { positionals.push(a); continue; }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else {
      if (a.length !== 2) throw usage(`unknown option ${a} (short options take one letter: -h, not -help)`);
      const long = byShort.get(a.slice(1));
      if (long === undefined) throw usage(`unknown option ${a}`);
      name = long;
    }
    const f = all[name];
    if (f === undefined) {
      const near = closest(name, Object.keys(all));
      throw usage(`unknown option --${name}${near !== undefined ? ` (did you mean --${near}?)` : ''}`);
    }
    if (f.type === 'boolean') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') throw usage(`--${name} takes no value (got "${inline}")`);
      flags[name] = inline !== 'false';
      continue;
    }
    let v = inline;
    if (v === undefined) {
      if (i + 1 >= argv.length) throw usage(`--${name} needs a value${f.arg !== undefined ? ` (${f.arg})` : ''}`);
      v = argv[++i]!;
    }
    if (f.type === 'number') {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw usage(`--${name} needs a non-negative number, got "${v}"`);
      flags[name] = n;
    } else if (f.multiple === true) (flags[name] = (flags[name] as string[] | undefined) ?? []).push(v);
    else flags[name] = v;
  }

  if (flags.help === true) return { positionals, flags };
  const required = spec.args.filter((x) => x.optional !== true && x.variadic !== true).length;
  const variadic = spec.args.some((x) => x.variadic === true);
  if (positionals.length < required) {
    const missing = spec.args.filter((x) => x.optional !== true && x.variadic !== true)[positionals.length]!;
    throw usage(`missing <${missing.name}>: ${missing.desc}`);
  }
  if (!variadic && positionals.length > spec.args.length) {
    throw usage(`unexpected argument "${positionals[spec.args.length]}"${spec.args.length === 0 ? ' (this command takes none)' : ''}`);
  }
  return { positionals, flags };
}

/** Help text of one command. */
export function formatHelp(spec: CommandSpec): string {
  const args = spec.args.map((a) => (a.variadic ? `[${a.name}...]` : a.optional ? `[${a.name}]` : `<${a.name}>`)).join(' ');
  const lines = [`cell ${spec.name}${args ? ` ${args}` : ''} [options]`, '', spec.summary];
  if (spec.details !== undefined) lines.push('', spec.details);
  if (spec.args.length > 0) {
    lines.push('', 'Arguments:');
    for (const a of spec.args) lines.push(`  ${a.name.padEnd(22)} ${a.desc}`);
  }
  lines.push('', 'Options:');
  for (const [name, f] of Object.entries({ ...spec.flags, ...COMMON_FLAGS })) {
    const left = `${f.short !== undefined ? `-${f.short}, ` : '    '}--${name}${f.type === 'boolean' ? '' : ` <${f.arg ?? f.type}>${f.multiple === true ? '...' : ''}`}`;
    lines.push(`  ${left.padEnd(22)} ${f.desc}`);
  }
  if (spec.examples !== undefined && spec.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  lines.push('', 'Exit codes: 0 ok, 1 call or cell error, 2 usage error, 3 breaking schema change (check).');
  return lines.join('\n');
}

/** The candidate within edit distance 2 of `s`, if any. */
export function closest(s: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(s, c);
    if (d < bestD) { bestD = d; best = c; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
