// Structured JSON-lines logger of `cell run` (docs/cli.md "Logs").
// One object per line: {"time":"<ISO 8601>","level":"info","msg":"start",...fields}. Lines are
// appended with a synchronous write, so nothing is lost when the process dies right after.
// The file is 0600 whatever the umask (logs name callers and carry handler errors).
import { closeSync, fchmodSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface LoggerOptions {
  /** Lowest level written. @default 'info' */
  level?: Level;
  /** Fields added to every line (e.g. cell name, pid). @default {} */
  base?: Record<string, unknown>;
  /** Also write each line here (e.g. process.stderr for `cell run --foreground` in a terminal). @default none */
  echo?: (line: string) => void;
}

export class Logger {
  readonly level: Level;
  private fd: number | null;
  private readonly base: Record<string, unknown>;
  private readonly echo: ((line: string) => void) | undefined;

  /** `file` null: echo only (tests). */
  constructor(file: string | null, opts: LoggerOptions = {}) {
    this.level = opts.level ?? 'info';
    this.base = opts.base ?? {};
    this.echo = opts.echo;
    if (file !== null) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      this.fd = openSync(file, 'a', 0o600);
      fchmodSync(this.fd, 0o600); // a file left by an older version keeps its mode through open
    } else this.fd = null;
  }

  enabled(level: Level): boolean { return RANK[level] >= RANK[this.level]; }
  debug(msg: string, fields?: Record<string, unknown>): void { this.write('debug', msg, fields); }
  info(msg: string, fields?: Record<string, unknown>): void { this.write('info', msg, fields); }
  warn(msg: string, fields?: Record<string, unknown>): void { this.write('warn', msg, fields); }
  error(msg: string, fields?: Record<string, unknown>): void { this.write('error', msg, fields); }

  write(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...this.base, ...fields }, replacer) + '\n';
    if (this.fd !== null) {
      try { writeSync(this.fd, line); } catch { /* a full disk must not take the cell down */ }
    }
    this.echo?.(line);
  }

  close(): void {
    if (this.fd !== null) { try { closeSync(this.fd); } catch { /* already closed */ } this.fd = null; }
  }
}

/** JSON.stringify replacer: bigint as string, errors as {name, code, message}. */
export function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) {
    const o: Record<string, unknown> = { name: v.name, message: v.message };
    const code = (v as { code?: unknown }).code;
    if (code !== undefined) o.code = code;
    return o;
  }
  return v;
}

/** One log line for people: `12:00:01.234 INFO  start socket=... pid=...`. Non-JSON lines pass through. */
export function formatLogLine(line: string): string {
  let o: Record<string, unknown>;
  try { o = JSON.parse(line) as Record<string, unknown>; } catch { return line; }
  if (o === null || typeof o !== 'object') return line;
  const { time, level, msg, ...rest } = o;
  const t = typeof time === 'string' ? time.replace('T', ' ').replace('Z', '') : '';
  const fields = Object.entries(rest)
    .filter(([k]) => k !== 'cell' && k !== 'pid')
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${String(level ?? '').toUpperCase().padEnd(5)} ${String(msg ?? '')}${fields ? `  ${fields}` : ''}`;
}
