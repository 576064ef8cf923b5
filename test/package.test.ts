// Packaging rules (DEVELOPERS "Packaging"; docs/portable-subset.md): ESM subpath exports, a root
// that never loads native or heavy dependencies, and a portable core with no imports but its own.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Every import specifier of a TypeScript file (static imports and re-exports). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  return specs;
}

/** The transitive closure of relative imports from `entry`, and every bare specifier reached. */
function graph(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  }
  return { files, bare };
}

const exportsMap = suite('package.json');

exportsMap('is ESM only, side-effect free but for the Node 20 polyfill, with types for every subpath', () => {
  assert.is(pkg.type, 'module');
  // Bundlers may drop any module not listed; the Promise.withResolvers polyfill must stay
  // (scripts/build-bundle.mjs: the gateway died at its first mesh call without it).
  assert.equal(pkg.sideEffects, ['./dist/mesh/polyfill.js', './src/mesh/polyfill.ts']);
  for (const [sub, target] of Object.entries<Record<string, string> | string>(pkg.exports)) {
    if (typeof target === 'string') continue;
    assert.ok(target.types?.endsWith('.d.ts'), `${sub} has types`);
    assert.ok(target.import?.startsWith('./dist/'), `${sub} points into dist/`);
    const src = target.import!.replace('./dist/', 'src/').replace(/\.js$/, '.ts');
    assert.ok(existsSync(join(root, src)), `${sub}: ${src} exists`);
  }
  for (const sub of ['./wire', './framing', './codec']) assert.ok(pkg.exports[sub], `exports ${sub}`);
});

const heavy = /^(serialport|@serialport\/|socketcan|libp2p|@libp2p\/|@chainsafe\/)/;

exportsMap('the root and the core subpaths never load native or heavy dependencies', () => {
  for (const entry of ['src/index.ts', 'src/wire/index.ts', 'src/framing/index.ts', 'src/codec/index.ts', 'src/rpc/index.ts', 'src/transports/index.ts']) {
    if (!existsSync(join(root, entry))) continue;
    const { bare } = graph(join(root, entry));
    for (const spec of bare) assert.not.ok(heavy.test(spec), `${entry} reaches ${spec}`);
  }
});

const portable = suite('portable core');

portable('imports nothing but other portable-core modules (no node:, no packages)', () => {
  const core = ['src/wire/header.ts', 'src/wire/bytes.ts', 'src/wire/errors.ts',
    'src/framing/cobs.ts', 'src/framing/crc32c.ts', 'src/framing/frame.ts', 'src/framing/deframer.ts'];
  for (const entry of core) {
    if (!existsSync(join(root, entry))) continue;
    const { files, bare } = graph(join(root, entry));
    assert.equal([...bare], [], `${entry} imports packages`);
    for (const f of files) {
      assert.ok(/src\/(wire|framing)\/(header|bytes|errors|cobs|crc32c|frame|deframer|wordcopy|wasmkernels)\.ts$/.test(f), `${entry} reaches ${f}`);
    }
  }
});

exportsMap.run();
portable.run();
