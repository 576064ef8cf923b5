// cell gen (cache + typed client that tsc checks) and cell check (unchanged / compatible / breaking).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookArgs } from '../../src/cli/loader.ts';
import { cacheText } from '../../src/cli/schema-cache.ts';
import { cleanup, cli, cliIn, explain, json, ROOT, tempDir, track, type Result } from './helpers.ts';

let cellDir = '';
let app = '';

const edit = (file: string, from: string, to: string): void => {
  const p = join(cellDir, file);
  const s = readFileSync(p, 'utf8');
  assert.ok(s.includes(from), `${file} contains ${from}`);
  writeFileSync(p, s.replace(from, to));
};
const restart = async (): Promise<void> => {
  assert.is((await cli(['stop', cellDir])).code, 0);
  const r = await cli(['run', cellDir]);
  assert.is(r.code, 0, explain(r));
};
const node = (args: string[], cwd: string): Promise<Result> => new Promise((resolve, reject) => {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  child.once('error', reject);
  child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
});

const gen = suite('cell gen');
gen.before(async () => {
  const root = tempDir();
  cellDir = track(join(root, 'gauge'));
  app = join(root, 'app');
  assert.is((await cliIn(['new', 'gauge', '--dir', cellDir])).code, 0);
  const r = await cli(['run', cellDir]);
  assert.is(r.code, 0, explain(r));
});

gen('writes the schema cache (canonical JSON with keys and fingerprints) and a client', async () => {
  const r = await cliIn(['gen', cellDir, '--out', app, '--json']);
  assert.is(r.code, 0, explain(r));
  const [res] = json<{ name: string; schema: string; types: string; schemaChanged: boolean }[]>(r);
  assert.is(res!.name, 'gauge');
  assert.is(res!.schema, join(app, '.cell', 'schemas', 'gauge.json'));
  assert.is(res!.types, join(app, '.cell', 'types', 'gauge.ts'));
  assert.is(res!.schemaChanged, true);
  const text = readFileSync(res!.schema, 'utf8');
  assert.is(cacheText(JSON.parse(text)), text, 'canonical: sorted keys, stable');
  const d = JSON.parse(text) as { format: string; methods: { name: string; key: string; request: { fingerprint: string } }[] };
  assert.is(d.format, 'cell-schema/1');
  assert.equal(d.methods.map((m) => m.name), ['add', 'greet']);
  for (const m of d.methods) { assert.match(m.key, /^[0-9a-f]{16}$/); assert.match(m.request.fingerprint, /^[0-9a-f]{16}$/); }
  const ts = readFileSync(res!.types, 'utf8');
  assert.match(ts, /export function connectGauge\(link: Link/);
  assert.match(ts, /from 'cell\/rpc'/);
  assert.ok(existsSync(join(app, '.cell', 'targets.json')));
});

gen('again: nothing changes; --offline rewrites the client from the cache alone', async () => {
  const r = await cliIn(['gen', cellDir, '--out', app, '--json']);
  assert.is(json<{ schemaChanged: boolean; typesChanged: boolean }[]>(r)[0]!.schemaChanged, false);
  const types = join(app, '.cell', 'types', 'gauge.ts');
  const before = readFileSync(types, 'utf8');
  rmSync(types);
  const o = await cliIn(['gen', '--offline', '--out', app]);
  assert.is(o.code, 0, explain(o));
  assert.is(readFileSync(types, 'utf8'), before);
  const none = await cliIn(['gen', '--offline', '--out', tempDir()]);
  assert.is(none.code, 2);
  assert.match(none.stderr, /no cached schemas/);
});

gen('the generated client calls the running cell with types', async () => {
  writeFileSync(join(app, 'package.json'), '{"type":"module","private":true}\n');
  writeFileSync(join(app, 'use.ts'), [
    "import { connectUnix } from 'cell/transports';",
    "import { connectGauge } from './.cell/types/gauge.ts';",
    `const g = await connectGauge(await connectUnix(${JSON.stringify(join(cellDir, '.cell', 'run', 'cell.sock'))}));`,
    "const r = await g.greet({ who: 'typed' });",
    "try { await g.greet({ who: '' }); } catch (e) { console.log((e as { name: string }).name); }",
    'console.log(r.text, (await g.add({ a: 20, b: 22 })).sum);',
    'await g.close();',
  ].join('\n'));
  const r = await node([...hookArgs(), 'use.ts'], app);
  assert.is(r.code, 0, explain(r));
  assert.is(r.stdout, 'emptyName\nhello, typed 42\n');
});

gen('tsc accepts the client and rejects a wrong call', async () => {
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, allowImportingTsExtensions: true,
      skipLibCheck: true, lib: ['ES2022'], types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
      // The consumer's `cell` package, here: this checkout's sources.
      paths: { 'cell/*': [join(ROOT, 'src', '*', 'index.ts')] },
    },
    files: ['good.ts', 'bad.ts', join(ROOT, 'src', 'portable.d.ts')],
  }));
  const head = "import { connectUnix } from 'cell/transports';\nimport { connectGauge, type Greeting } from './.cell/types/gauge.ts';\nconst g = await connectGauge(await connectUnix('x.sock'));\n";
  writeFileSync(join(app, 'good.ts'), head + [
    "const r: Greeting = await g.greet({ who: 'a' });",
    'console.log(r.text.toUpperCase(), r.count + 1);',
    'for await (const t of g.count({ from: 1, count: 2 })) console.log(t.n);',
    "g.on('greeted', (e) => console.log(e.total));",
    '// @ts-expect-error who must be a string',
    'await g.greet({ who: 1 });',
    '// @ts-expect-error no such method',
    'await g.greeet({ who: "a" });',
  ].join('\n') + '\n');
  writeFileSync(join(app, 'bad.ts'), head + "await g.add({ a: 1, c: 2 });\n");
  const r = await node([join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app);
  // Only the consumer's files matter here (the library's own sources are checked by `npm run typecheck`).
  const errors = r.stdout.trim().split('\n').filter((l) => /^(good|bad)\.ts\(\d+,\d+\): error TS/.test(l));
  assert.is(errors.length, 1, explain(r));
  assert.match(errors[0]!, /^bad\.ts\(4,\d+\): error TS\d+: .*'c' does not exist/);
  assert.ok(/error TS/.test(r.stdout), 'tsc failed because of bad.ts');
});

gen.after(async () => { await cli(['stop', cellDir]); });

const check = suite('cell check');

check.before(async () => {
  const r = await cli(['run', cellDir]);
  assert.is(r.code, 0, explain(r));
});
check.after(cleanup);

check('unchanged: exit 0; without targets it uses .cell/targets.json', async () => {
  const r = await cliIn(['check', '--dir', app]);
  assert.is(r.code, 0, explain(r));
  assert.match(r.stdout, /unchanged method add/);
  assert.match(r.stdout, /→ up to date/);
});

check('a method added: compatible, exit 0', async () => {
  edit('schema.ts', '    add: method(AddReq, Sum),', '    add: method(AddReq, Sum),\n    sub: method(AddReq, Sum),');
  edit('cell.ts', '  add(req) {', '  sub(req) {\n    return { sum: (req.a - req.b) | 0 };\n  },\n\n  add(req) {');
  await restart();
  const r = await cliIn(['check', cellDir, '--dir', app, '--json']);
  assert.is(r.code, 0, explain(r));
  const [rep] = json<{ breaking: boolean; stale: boolean; entries: { name: string; change: string; breaking: boolean }[] }[]>(r);
  assert.is(rep!.breaking, false);
  assert.is(rep!.stale, true);
  const sub = rep!.entries.find((e) => e.name === 'sub')!;
  assert.is(sub.change, 'added');
  assert.is(sub.breaking, false);
  assert.ok(rep!.entries.filter((e) => e.name !== 'sub').every((e) => e.change === 'unchanged'));
});

check('a response field changed: breaking, the field named, exit 3', async () => {
  edit('schema.ts', "struct('Greeting', { text: string(64), count: u32 })", "struct('Greeting', { text: string(64), count: i32 })");
  await restart();
  const r = await cli(['check', '--dir', app]);
  assert.is(r.code, 3, explain(r));
  assert.match(r.stdout, /changed +method greet +BREAKING/);
  assert.match(r.stdout, /response\.count: u32 → i32/);
  assert.match(r.stdout, /added +method sub +compatible/);
  const j = await cliIn(['check', cellDir, '--dir', app, '--json']);
  assert.is(j.code, 3);
  const [rep] = json<{ breaking: boolean; entries: { name: string; change: string; breaking: boolean; cachedKey: string; runningKey: string }[] }[]>(j);
  const greet = rep!.entries.find((e) => e.name === 'greet')!;
  assert.is(greet.change, 'changed');
  assert.is(greet.breaking, true);
  assert.is.not(greet.cachedKey, greet.runningKey);
});

check('a cell with no cached schema, or not running: exit 1', async () => {
  const r = await cliIn(['check', cellDir, '--dir', tempDir()]);
  assert.is(r.code, 1);
  assert.match(r.stdout, /NotCached/);
  const d = await cliIn(['check', '127.0.0.1:1', '--dir', app]);
  assert.is(d.code, 1);
  assert.match(d.stdout, /Unavailable \(code 401\)/);
});

check('gen after a breaking change notes it and refreshes the cache; check is then clean', async () => {
  const g = await cliIn(['gen', cellDir, '--out', app]);
  assert.is(g.code, 0);
  assert.match(g.stdout, /breaking change against the previous cache: method greet: changed/);
  assert.is((await cliIn(['check', '--dir', app])).code, 0);
});

gen.run();
check.run();
