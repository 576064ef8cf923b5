// cell new <name> [--dir D]
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { CommandSpec, Parsed } from '../args.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { str, stringify, type Ctx } from '../io.ts';
import { insidePackage } from '../lib-path.ts';
import { scaffold } from '../scaffold.ts';

export const spec: CommandSpec = {
  name: 'new',
  summary: 'Create a cell directory that runs as generated.',
  details: [
    'Writes cell.toml, schema.ts (two methods, a declared error, an event, a stream), cell.ts (the',
    'implementation, `export default { cell, impl }`), test/cell.test.ts (node:test over the memory',
    'link), README.md and .gitignore (plus package.json outside this repository).',
    'The files import the library as `cell/rpc`, `cell/codec`, ... — inside the Cell repository',
    'itself they import its src/ by relative path instead, so they work before `npm run build`.',
  ].join('\n'),
  args: [{ name: 'name', desc: 'cell name: letters, digits, _ and - (part of every method key)' }],
  flags: {
    dir: { type: 'string', arg: 'dir', desc: 'directory to create (default: ./<name>)' },
    json: { type: 'boolean', desc: 'print {name, dir, files} as JSON' },
  },
  examples: ['cell new hello', 'cell new sensor-7 --dir cells/sensor-7'],
};

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const name = p.positionals[0]!;
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name) || name.length > 64) {
    throw new CliError(`"${name}" is not a cell name`, { exit: EXIT_USAGE, name: 'BadName', fix: 'use letters, digits, _ and -, starting with a letter (e.g. thermo, sensor-7)' });
  }
  const dir = resolve(str(p, 'dir') ?? name);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new CliError(`${relative(process.cwd(), dir) || dir} exists and is not empty`, { exit: EXIT_USAGE, name: 'DirNotEmpty', fix: 'pick another name or --dir' });
  }
  const files = scaffold(dir, name);
  for (const f of files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.text, { flag: 'wx' });
  }
  const shown = relative(process.cwd(), dir) || '.';
  if (ctx.json) { ctx.out(stringify({ name, dir, files: files.map((f) => f.path) })); return 0; }
  ctx.out(`created ${shown}/ (cell "${name}")`);
  for (const f of files) ctx.out(`  ${f.path}`);
  ctx.out(insidePackage(dir) ? 'imports: this checkout\'s src/ (relative paths)' : 'imports: cell/rpc, cell/codec, cell/transports (`cell run` and `cell test` resolve them to this Cell; in a project, `npm install cell`)');
  ctx.out('next:');
  ctx.out(`  cell run ${shown}`);
  ctx.out(`  cell call ${shown} greet '{"who": "world"}'`);
  ctx.out(`  cell test ${shown}`);
  ctx.out(`  cell stop ${shown}`);
  return 0;
}
