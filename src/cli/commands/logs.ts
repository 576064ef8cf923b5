// cell logs [dir] [--follow] [--json] [--lines N] [--level L]
import { closeSync, existsSync, openSync, readSync, statSync, watchFile, unwatchFile } from 'node:fs';
import type { CommandSpec, Parsed } from '../args.ts';
import { readCellDir } from '../cell-dir.ts';
import { CliError } from '../errors.ts';
import { bool, num, str, type Ctx } from '../io.ts';
import { formatLogLine, LEVELS, type Level } from '../log.ts';

export const spec: CommandSpec = {
  name: 'logs',
  summary: 'Print a cell\'s log (.cell/log/cell.log).',
  details: [
    'The log is JSON lines: {"time","level","msg","cell","pid",...}. Shown for people by default,',
    'as the raw JSON lines with --json. --follow keeps printing new lines until Ctrl-C.',
  ].join('\n'),
  args: [{ name: 'dir', desc: 'cell directory (default: .)', optional: true }],
  flags: {
    follow: { type: 'boolean', short: 'f', desc: 'keep printing new lines' },
    lines: { type: 'number', short: 'n', arg: 'N', desc: 'only the last N lines (default: all)' },
    level: { type: 'string', arg: 'level', desc: 'only this level and above: debug | info | warn | error' },
    json: { type: 'boolean', desc: 'print the raw JSON lines' },
  },
  examples: ['cell logs examples/thermo -n 20', 'cell logs . --follow --level warn', 'cell logs . --json | jq .msg'],
};

const RANK: Record<string, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const cd = readCellDir(p.positionals[0] ?? '.');
  const level = str(p, 'level');
  if (level !== undefined && !(LEVELS as readonly string[]).includes(level)) throw new CliError(`--level "${level}" is not one of ${LEVELS.join(', ')}`, { exit: 2 });
  const min = RANK[(level as Level | undefined) ?? 'debug']!;
  const file = cd.paths.logFile;
  const show = (line: string): void => {
    if (line === '') return;
    if (min > 0) {
      try { if ((RANK[(JSON.parse(line) as { level: string }).level] ?? 3) < min) return; } catch { /* not JSON: show */ }
    }
    ctx.out(ctx.json ? line : formatLogLine(line));
  };
  if (!existsSync(file)) {
    if (!bool(p, 'follow')) { ctx.err(`${cd.name} has no log yet (${file}): start it with \`cell run\``); return 0; }
  }
  let pos = 0;
  let rest = '';
  const readNew = (first: boolean): void => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size < pos) { pos = 0; rest = ''; } // truncated or replaced
    if (size === pos) return;
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(size - pos);
    readSync(fd, buf, 0, buf.length, pos);
    closeSync(fd);
    pos = size;
    const lines = (rest + buf.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    const n = num(p, 'lines');
    for (const l of first && n !== undefined ? lines.filter((x) => x !== '').slice(-n) : lines) show(l);
  };
  readNew(true);
  if (!bool(p, 'follow')) { if (rest !== '') show(rest); return 0; }
  await new Promise<void>((resolve) => {
    const tick = (): void => readNew(false);
    watchFile(file, { interval: 200 }, tick);
    // Also a plain poll: watchFile alone was seen to miss appends for a minute under load (its
    // stat comparison runs on libuv's thread pool); readNew does nothing when the size is unchanged.
    const poll = setInterval(tick, 250);
    const stop = (): void => { unwatchFile(file, tick); clearInterval(poll); resolve(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
