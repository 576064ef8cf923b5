// The files `cell new <name>` writes (docs/cli.md "cell new"). A small but complete cell: two
// methods (one with a declared error), an event and a stream, its implementation, a test over
// the memory link, and a README. Imports of the library come from libSpecifier (lib-path.ts):
// relative paths to src/ inside this checkout, `cell/<sub>` anywhere else.
import { join } from 'node:path';
import { pascalCase } from './codegen.ts';
import { insidePackage, libSpecifier } from './lib-path.ts';

export interface ScaffoldFile { readonly path: string; readonly text: string }

export function scaffold(dir: string, name: string): ScaffoldFile[] {
  const P = pascalCase(name);
  const lib = (file: string, sub: string): string => libSpecifier(join(dir, file), sub);
  const files: ScaffoldFile[] = [];
  const add = (path: string, lines: string[]): void => { files.push({ path, text: lines.join('\n') + '\n' }); };

  add('cell.toml', [
    '# A cell directory: `cell run .` serves it (docs/cli.md "cell.toml").',
    `name = "${name}"`,
    'version = "0.1.0"',
    'entry = "cell.ts"',
    '',
    '# [run]',
    '# tcp = "127.0.0.1:7070"   # also listen on TCP',
    '# log_level = "debug"      # log every call',
  ]);

  add('schema.ts', [
    `// The schema of the ${name} cell, declared once: \`cell run\` serves it, \`cell gen\` gives every`,
    '// caller a typed client of it, `cell check` tells them when it changes.',
    `import { appError, defineCell, method, stream } from '${lib('schema.ts', 'rpc')}';`,
    `import { i32, string, struct, u32 } from '${lib('schema.ts', 'codec')}';`,
    '',
    "export const GreetReq = struct('GreetReq', { who: string(32) });",
    "export const Greeting = struct('Greeting', { text: string(64), count: u32 });",
    "export const AddReq = struct('AddReq', { a: i32, b: i32 });",
    "export const Sum = struct('Sum', { sum: i32 });",
    "export const CountReq = struct('CountReq', { from: u32, count: u32 });",
    "export const Tick = struct('Tick', { n: u32 });",
    '/** Event: someone was greeted. */',
    "export const Greeted = struct('Greeted', { who: string(32), total: u32 });",
    '',
    `export const ${P} = defineCell({`,
    `  name: '${name}',`,
    "  version: '0.1.0',",
    '  methods: {',
    '    // fails with the declared error `emptyName` (code 1001) when `who` is empty',
    '    greet: method(GreetReq, Greeting, { errors: { emptyName: appError(1001) } }),',
    '    add: method(AddReq, Sum),',
    '  },',
    '  events: { greeted: Greeted },',
    '  streams: { count: stream(CountReq, Tick) },',
    '});',
  ]);

  add('cell.ts', [
    `// The ${name} cell's implementation. \`cell run\` serves the default export: { cell, impl }.`,
    `import type { Impl } from '${lib('cell.ts', 'rpc')}';`,
    `import { ${P} } from './schema.ts';`,
    '',
    'let greeted = 0;',
    '',
    `export const impl: Impl<typeof ${P}> = {`,
    '  greet(req, ctx) {',
    "    if (req.who === '') ctx.fail('emptyName');",
    '    greeted++;',
    "    ctx.connection.emit('greeted', { who: req.who, total: greeted }); // to this caller",
    '    return { text: `hello, ${req.who}`, count: greeted };',
    '  },',
    '',
    '  add(req) {',
    '    return { sum: (req.a + req.b) | 0 }; // i32 arithmetic, like the wire type',
    '  },',
    '',
    '  async *count(req, ctx) {',
    '    for (let i = 0; i < req.count && !ctx.signal.aborted; i++) yield { n: req.from + i };',
    '  },',
    '};',
    '',
    `export default { cell: ${P}, impl };`,
  ]);

  add('test/cell.test.ts', [
    `// Tests of the ${name} cell over the in-memory link: \`cell test .\` runs them (node:test).`,
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    `import { connect, serve } from '${lib('test/cell.test.ts', 'rpc')}';`,
    `import { memoryPair } from '${lib('test/cell.test.ts', 'transports')}';`,
    `import { ${P} } from '../schema.ts';`,
    "import { impl } from '../cell.ts';",
    '',
    'async function open() {',
    '  const [serverEnd, clientEnd] = memoryPair();',
    `  const server = serve(${P}, impl, serverEnd);`,
    `  const client = await connect(${P}, clientEnd);`,
    '  return { client, close: async () => { await client.close(); await server.close(); } };',
    '}',
    '',
    "test('greet answers with the name', async () => {",
    '  const { client, close } = await open();',
    "  const r = await client.greet({ who: 'world' });",
    "  assert.equal(r.text, 'hello, world');",
    '  await close();',
    '});',
    '',
    "test('greet with an empty name fails with the declared error emptyName (1001)', async () => {",
    '  const { client, close } = await open();',
    "  await assert.rejects(client.greet({ who: '' }), (e: { code: number; name: string }) => e.code === 1001 && e.name === 'emptyName');",
    '  await close();',
    '});',
    '',
    "test('greet emits greeted to the caller', async () => {",
    '  const { client, close } = await open();',
    '  const seen: string[] = [];',
    "  client.on('greeted', (g) => seen.push(g.who));",
    "  await client.greet({ who: 'ada' });",
    "  assert.deepEqual(seen, ['ada']); // the event frame arrives before the response",
    '  await close();',
    '});',
    '',
    "test('add adds with i32 wrap-around', async () => {",
    '  const { client, close } = await open();',
    '  assert.equal((await client.add({ a: 2, b: 3 })).sum, 5);',
    '  assert.equal((await client.add({ a: 2147483647, b: 1 })).sum, -2147483648);',
    '  await close();',
    '});',
    '',
    "test('count streams `count` items from `from`', async () => {",
    '  const { client, close } = await open();',
    '  const got: number[] = [];',
    '  for await (const t of client.count({ from: 5, count: 3 })) got.push(t.n);',
    '  assert.deepEqual(got, [5, 6, 7]);',
    '  await close();',
    '});',
  ]);

  add('README.md', [
    `# ${name}`,
    '',
    `A Cell service, made with \`cell new ${name}\`. \`schema.ts\` declares what it offers, \`cell.ts\``,
    'implements it, `cell.toml` tells `cell run` where to find it.',
    '',
    '```sh',
    'cell run .                                   # serve it on .cell/run/cell.sock (in the background)',
    'cell call .                                  # list its methods, streams and events',
    `cell call . greet '{"who": "world"}'         # → {"text": "hello, world", "count": 1}`,
    `cell call . greet '{"who": ""}'              # → emptyName (code 1001), exit code 1`,
    `cell call . count '{"from": 1, "count": 3}'  # one JSON line per item`,
    'cell status .                                # pid, uptime, calls served',
    'cell logs .                                  # structured log (.cell/log/cell.log)',
    'cell stop .',
    'cell test .                                  # test/*.test.ts over the in-memory link',
    '```',
    '',
    'A caller elsewhere gets a typed client with `cell gen <this dir>` (writes `.cell/schemas/' + name + '.json`',
    'and `.cell/types/' + name + '.ts` in the caller\'s project), and `cell check` tells it when this',
    'schema changes in a way that breaks it. See docs/cli.md of Cell for every command.',
  ]);

  add('.gitignore', ['# state of a running cell', '.cell/run/', '.cell/log/']);

  if (!insidePackage(dir)) {
    add('package.json', [JSON.stringify({
      name, version: '0.1.0', private: true, type: 'module',
      scripts: { start: 'cell run . --foreground', test: 'cell test .' },
    }, null, 2)]);
  }
  return files;
}
