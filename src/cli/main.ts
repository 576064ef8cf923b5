// The `cell` command line (docs/cli.md): argument parsing and dispatch. Each command lives in
// src/cli/commands/<name>.ts and is loaded only when used.
//
//   cell <command> [arguments] [options]        cell <command> --help        cell --version
//
// Exit codes: 0 ok, 1 call or cell error, 2 usage error, 3 breaking schema change (cell check).
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closest, formatHelp, parseArgs } from './args.ts';
import { CliError, errorJson, EXIT_USAGE, formatError, toCliError } from './errors.ts';
import { commandEnded } from './exit.ts';
import { stringify, type CommandModule, type Ctx } from './io.ts';
import { packageRoot } from './lib-path.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  new: { summary: 'create a cell directory that runs as generated', load: () => import('./commands/new.ts') },
  run: { summary: 'serve a cell on .cell/run/cell.sock (in the background unless --foreground)', load: () => import('./commands/run.ts') },
  call: { summary: 'call a method (or read a stream or event) of a running cell, JSON in and out', load: () => import('./commands/call.ts') },
  gen: { summary: 'cache a running cell\'s schema under .cell/ and write a typed client', load: () => import('./commands/gen.ts') },
  check: { summary: 'compare cached schemas with the running cells (exit 3 on a breaking change)', load: () => import('./commands/check.ts') },
  status: { summary: 'show the cells started with `cell run`: pid, socket, uptime, calls', load: () => import('./commands/status.ts') },
  stop: { summary: 'stop a cell started with `cell run` (GOODBYE to its clients)', load: () => import('./commands/stop.ts') },
  logs: { summary: 'print (or follow) a cell\'s structured log', load: () => import('./commands/logs.ts') },
  gateway: { summary: 'make the cells of devices on serial ports callable by name from the mesh', load: () => import('./commands/gateway.ts') },
  mesh: { summary: 'run a mesh node (up), find a cell by name (find), list mesh peers (peers)', load: () => import('./commands/mesh.ts') },
  test: { summary: 'run a cell directory\'s tests (test/**/*.test.ts, node:test)', load: () => import('./commands/test.ts') },
  flash: { summary: 'flash a signed firmware image over a UART (bootloader: two slots, trial boot, rollback)', load: () => import('./commands/flash.ts') },
  keys: { summary: 'generate an Ed25519 key pair for signing firmware images', load: () => import('./commands/keys.ts') },
  sign: { summary: 'sign a firmware image: write its manifest (size, version, board, SHA-256, signature)', load: () => import('./commands/sign.ts') },
};

function version(): string {
  try { return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version; } catch { return 'unknown'; }
}

function overview(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'cell — typed RPC cells: create, run, call, generate clients, check schemas',
    '',
    'Usage: cell <command> [arguments] [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(w)}  ${c.summary}`),
    '',
    'Run `cell <command> --help` for its arguments and options. Documentation: docs/cli.md',
    'Exit codes: 0 ok, 1 call or cell error, 2 usage error, 3 breaking schema change (check).',
  ].join('\n');
}

/** Where output goes: the process's streams, or a capture in tests. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const processIo: Io = {
  out: (line) => { process.stdout.write(line + '\n'); },
  err: (line) => { process.stderr.write(line + '\n'); },
};

function report(io: Io, e: unknown, command: string, json: boolean, target?: string): number {
  const ce = toCliError(e, target);
  if (json) io.out(stringify({ error: errorJson(ce) }));
  else io.err(formatError(ce, command, (v) => stringify(v)));
  return ce.exit;
}

/** Run the CLI with these arguments (without "node" and the script). Resolves with the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) { io.err(overview()); return EXIT_USAGE; }
  if (cmd === '--help' || cmd === '-h') { io.out(overview()); return 0; }
  if (cmd === '--version' || cmd === '-v') { io.out(version()); return 0; }
  if (cmd === 'help') {
    const c = rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    io.out(c !== undefined ? formatHelp((await c.load()).spec) : overview());
    return 0;
  }
  const entry = COMMANDS[cmd];
  const json = rest.includes('--json');
  if (entry === undefined) {
    const near = closest(cmd, Object.keys(COMMANDS));
    return report(io, new CliError(`unknown command "${cmd}"${near !== undefined ? ` (did you mean \`cell ${near}\`?)` : ''}`, {
      exit: EXIT_USAGE, fix: 'run `cell --help` for the list of commands',
    }), '', json);
  }
  let mod: CommandModule;
  try {
    mod = await entry.load();
  } catch (e) {
    return report(io, e, cmd, json);
  }
  let parsed;
  try {
    parsed = parseArgs(mod.spec, rest);
  } catch (e) {
    return report(io, e, cmd, json && 'json' in mod.spec.flags);
  }
  if (parsed.flags.help === true) { io.out(formatHelp(mod.spec)); return 0; }
  const asJson = parsed.flags.json === true;
  const ctx: Ctx = { command: cmd, json: asJson, out: io.out, err: io.err };
  try {
    return await mod.run(parsed, ctx);
  } catch (e) {
    return report(io, e, cmd, asJson, parsed.positionals[0]);
  }
}

/**
 * Run as a program: set the exit code, end what the command left running for reuse (atCommandEnd,
 * e.g. the mesh node of `cell call <name>`), and exit once stdout and stderr are written — not
 * when the last handle closes: a stopped libp2p node leaves ~1 s debounce timers behind, and a
 * stray handle must not keep a finished command alive.
 */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const code = await main(argv);
  process.exitCode = code;
  await commandEnded(2000);
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** Resolves when what was written to `s` so far has been handed to the OS (at once if it is closed). */
function flushed(s: NodeJS.WriteStream): Promise<void> {
  if (s.destroyed || !s.writable) return Promise.resolve();
  return new Promise((resolve) => { s.write('', () => resolve()); });
}

function isEntry(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try { return import.meta.url === pathToFileURL(realpathSync(arg)).href; } catch { return false; }
}

if (isEntry()) await runCli();
