// cell stop [dir] [--timeout ms] [--force]
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandSpec, Parsed } from '../args.ts';
import { readCellDir } from '../cell-dir.ts';
import { CliError } from '../errors.ts';
import { bool, num, stringify, type Ctx } from '../io.ts';
import { inspectRun, processAlive, removeRunFiles } from '../run-state.ts';

export const spec: CommandSpec = {
  name: 'stop',
  summary: 'Stop a cell started with `cell run`.',
  details: [
    'Sends SIGTERM: the cell says GOODBYE to its clients, lets calls in flight finish, removes its',
    'socket and pid file and exits. Waits for that. Stopping a cell that is not running is not an error.',
  ].join('\n'),
  args: [{ name: 'dir', desc: 'cell directory (default: .)', optional: true }],
  flags: {
    timeout: { type: 'number', arg: 'ms', desc: 'how long to wait for the cell to exit (default 10000)' },
    force: { type: 'boolean', desc: 'SIGKILL the cell if it has not exited by then' },
    json: { type: 'boolean', desc: 'print {name, pid, state} as JSON' },
  },
  examples: ['cell stop examples/thermo'],
};

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const dir = p.positionals[0] ?? '.';
  const cd = readCellDir(dir);
  const st = inspectRun(cd.paths);
  const say = (o: Record<string, unknown>, text: string): void => ctx.out(ctx.json ? stringify(o) : text);
  if (st.state === 'stopped') { say({ name: cd.name, state: 'stopped' }, `${cd.name} is not running`); return 0; }
  if (st.state === 'stale') { say({ name: cd.name, state: 'stale', removed: st.removed }, `${cd.name} is not running (removed stale files: ${st.removed.join(', ')})`); return 0; }
  const pid = st.info.pid;
  try { process.kill(pid, 'SIGTERM'); } catch (e) {
    throw new CliError(`cannot signal pid ${pid}: ${(e as Error).message}`, { name: 'StopFailed', fix: 'are you the user that started it?' });
  }
  const deadline = Date.now() + (num(p, 'timeout') ?? 10000);
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      if (!bool(p, 'force')) {
        throw new CliError(`${cd.name} (pid ${pid}) has not exited after SIGTERM`, { name: 'StopFailed', fix: `wait, or kill it: \`cell stop ${dir} --force\`` });
      }
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
      await sleep(100);
      removeRunFiles(cd.paths);
      say({ name: cd.name, pid, state: 'killed' }, `${cd.name} killed (pid ${pid}, SIGKILL after the timeout)`);
      return 0;
    }
    await sleep(25);
  }
  removeRunFiles(cd.paths); // normally already gone; a crash in shutdown may leave them
  say({ name: cd.name, pid, state: 'stopped' }, `${cd.name} stopped (pid ${pid})`);
  return 0;
}
