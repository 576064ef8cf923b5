// A cell directory: `cell.toml` plus the `.cell/` state of a running cell (docs/cli.md "cell.toml",
// ".cell/ layout").
//
//   name = "thermo"          # identifier: letters, digits, _ and - (part of every method key)
//   version = "1.0.0"        # free-form, shown by describe() and `cell status`
//   entry = "cell.ts"        # module whose default export is { cell, impl } (see docs/cli.md)
//
//   [run]                    # optional
//   tcp = "127.0.0.1:7070"   # also listen on TCP (like `cell run --tcp`)
//   log_level = "info"       # debug | info | warn | error (debug logs every call)
//   max_connections = 1024   # open connections over all app sockets; more are refused (408)
//   socket_mode = "0600"     # mode of the sockets: "0600" owner only, "0660" also the group
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { CliError } from './errors.ts';
import { LEVELS, type Level } from './log.ts';

export interface CellPaths {
  /** `<dir>/.cell` */
  readonly state: string;
  readonly runDir: string;
  readonly socket: string;
  /** Side socket of `cell run` for `cell status` (stats of the server). */
  readonly opsSocket: string;
  readonly pidFile: string;
  readonly logDir: string;
  readonly logFile: string;
  /** stdout/stderr of a detached `cell run` (crashes before the logger exists land here). */
  readonly outFile: string;
}

export interface CellDir {
  /** Absolute path of the directory. */
  readonly dir: string;
  readonly tomlPath: string;
  readonly name: string;
  readonly version: string;
  /** Absolute path of the entry module. */
  readonly entry: string;
  readonly run: RunOptions;
  readonly paths: CellPaths;
}

/** cell.toml [run]. */
export interface RunOptions {
  readonly tcp?: string;
  readonly logLevel?: Level;
  /** Open connections over the app sockets (Unix and TCP together). */
  readonly maxConnections?: number;
  /** Mode of the Unix sockets (0o600 or a group-only widening of it). */
  readonly socketMode?: number;
  /** Local clients may move to shared memory (docs/shm.md §6). @default true */
  readonly shm?: boolean;
}

/** Largest accepted max_connections / --max-connections (each connection costs a file descriptor). */
export const MAX_CONNECTIONS_LIMIT = 1 << 20;

/** A connection limit from cell.toml or a flag: an integer 1..2^20, else null. */
export function parseMaxConnections(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_CONNECTIONS_LIMIT ? v : null;
}

/**
 * A socket mode: octal text ("0600", "660", "0o660"). Only read/write for the owner (required)
 * and the group (optional): never for others, never execute bits. Else null.
 */
export function parseSocketMode(v: unknown): number | null {
  if (typeof v !== 'string' || !/^(0o?)?[0-7]{3}$/.test(v)) return null;
  const m = parseInt(v.replace(/^0o?/, '') || '0', 8);
  return (m & 0o600) === 0o600 && (m & ~0o660) === 0 ? m : null;
}

export const CELL_TOML = 'cell.toml';
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Paths of the `.cell/` state under `dir`. */
export function cellPaths(dir: string): CellPaths {
  const state = join(dir, '.cell');
  const runDir = join(state, 'run');
  const logDir = join(state, 'log');
  return {
    state, runDir, logDir,
    socket: join(runDir, 'cell.sock'),
    opsSocket: join(runDir, 'ops.sock'),
    pidFile: join(runDir, 'cell.pid'),
    logFile: join(logDir, 'cell.log'),
    outFile: join(logDir, 'cell.out'),
  };
}

export function isCellDir(dir: string): boolean {
  return existsSync(join(dir, CELL_TOML));
}

/** Read and validate `<dir>/cell.toml`. Every problem is a CliError naming the file and the key. */
export function readCellDir(dirArg: string): CellDir {
  const dir = resolve(dirArg);
  const tomlPath = join(dir, CELL_TOML);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CliError(`${dirArg} is not a directory`, { name: 'NotACellDir', fix: 'pass a cell directory (one with a cell.toml), or create one: `cell new <name>`' });
  }
  if (!existsSync(tomlPath)) {
    throw new CliError(`no ${CELL_TOML} in ${dir}`, { name: 'NotACellDir', fix: 'pass a cell directory (one with a cell.toml), or create one: `cell new <name>`' });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(tomlPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    const where = e instanceof TomlError ? `:${e.line}:${e.column}` : '';
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    throw new CliError(`${tomlPath}${where}: ${msg}`, { name: 'BadCellToml', fix: 'fix the TOML syntax (see docs/cli.md "cell.toml")' });
  }
  const bad = (key: string, why: string): CliError =>
    new CliError(`${tomlPath}: ${key} ${why}`, { name: 'BadCellToml', fix: 'see docs/cli.md "cell.toml" for the keys and their formats' });

  const name = doc.name;
  if (typeof name !== 'string') throw bad('name', 'is missing (name = "my-cell")');
  if (!NAME_RE.test(name) || name.length > 255) throw bad('name', `"${name}" must be an identifier: letters, digits, _ and -, not starting with a digit`);
  const version = doc.version ?? '0.0.0';
  if (typeof version !== 'string') throw bad('version', 'must be a string (version = "1.0.0")');
  const entryRel = doc.entry ?? 'cell.ts';
  if (typeof entryRel !== 'string' || entryRel === '') throw bad('entry', 'must be a path (entry = "cell.ts")');
  const entry = resolve(dir, entryRel);
  if (!existsSync(entry)) throw bad('entry', `"${entryRel}" does not exist (looked for ${entry})`);

  const runRaw = doc.run ?? {};
  if (typeof runRaw !== 'object' || runRaw === null || Array.isArray(runRaw)) throw bad('[run]', 'must be a table');
  const r = runRaw as Record<string, unknown>;
  const run: { tcp?: string; logLevel?: Level; maxConnections?: number; socketMode?: number; shm?: boolean } = {};
  if (r.tcp !== undefined) {
    if (typeof r.tcp !== 'string' || !/^[^\s/]*:\d{1,5}$/.test(r.tcp)) throw bad('run.tcp', 'must be "host:port" (e.g. "127.0.0.1:7070")');
    run.tcp = r.tcp;
  }
  if (r.log_level !== undefined) {
    if (typeof r.log_level !== 'string' || !(LEVELS as readonly string[]).includes(r.log_level)) throw bad('run.log_level', `must be one of ${LEVELS.join(', ')}`);
    run.logLevel = r.log_level as Level;
  }
  if (r.max_connections !== undefined) {
    const n = parseMaxConnections(r.max_connections);
    if (n === null) throw bad('run.max_connections', `must be an integer from 1 to ${MAX_CONNECTIONS_LIMIT} (max_connections = 1024)`);
    run.maxConnections = n;
  }
  if (r.socket_mode !== undefined) {
    const m = parseSocketMode(r.socket_mode);
    if (m === null) throw bad('run.socket_mode', 'must be "0600" (owner only) or give the group read/write at most, as an octal string (socket_mode = "0660"); never access for others');
    run.socketMode = m;
  }
  if (r.shm !== undefined) {
    if (typeof r.shm !== 'boolean') throw bad('run.shm', 'must be true or false (shm = false keeps local clients on the Unix socket)');
    run.shm = r.shm;
  }
  const knownRun = new Set(['tcp', 'log_level', 'max_connections', 'socket_mode', 'shm']);
  for (const k of Object.keys(r)) if (!knownRun.has(k)) throw bad(`run.${k}`, `is not a known key (known: ${[...knownRun].join(', ')})`);
  const known = new Set(['name', 'version', 'entry', 'run', 'resources', 'replicas', 'neighbours', 'idle_timeout', 'allowed_keys']);
  for (const k of Object.keys(doc)) if (!known.has(k)) throw bad(k, `is not a known key (known: ${[...known].join(', ')})`);
  return { dir, tomlPath, name, version, entry, run, paths: cellPaths(dir) };
}
