// The floors of src/ import one way only (README "What is where"; ../shared BRIEF "Layers"):
//   wire ← framing, codec ← secure ← transports ← rpc ← uart, can, shm, mesh, flash ← gateway ← cli
// Every import between two folders of src/ — static, re-export, `import type` and dynamic
// `import('…')` alike — must point to a lower floor; and the folders must not form a circle.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/** The floor of each folder of src/ (a higher floor may import a lower one, never the reverse). */
export const FLOORS: Readonly<Record<string, number>> = {
  wire: 0,
  framing: 1, codec: 1,
  secure: 1.5, // link security: builds on framing (the provisioning record's CRC)
  transports: 2,
  rpc: 3,
  uart: 4, can: 4, shm: 4, mesh: 4, flash: 4,
  gateway: 5,
  cli: 6,
  '.': 7, // src/index.ts: the package root (re-exports the core only; test/package.test.ts)
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every relative module specifier of a file: static and type imports, re-exports, literal dynamic imports. */
export function relativeImports(text: string): string[] {
  const specs: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of code.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  for (const m of code.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs.filter((s) => s.startsWith('.'));
}

function folderOf(file: string): string {
  const rel = relative(src, file);
  return rel.includes(sep) ? rel.split(sep)[0]! : '.';
}

interface Edge { from: string; to: string; file: string; spec: string }

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of walk(src)) {
    const from = folderOf(file);
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(src + sep)) {
        out.push({ from, to: '(outside src)', file: relative(root, file), spec });
        continue;
      }
      const to = folderOf(target);
      if (to !== from) out.push({ from, to, file: relative(root, file), spec });
    }
  }
  return out;
}

const layers = suite('layers of src/');

layers('the import scanner sees static, type, re-export and dynamic imports', () => {
  const text = `import { a } from './a.ts';\nimport type { B } from '../b/b.ts';\nexport { c } from '../c/c.ts';\nimport './side.ts';\nconst m = await import('../d/d.ts');\n// import { x } from '../commented.ts';\nimport { z } from 'node:fs';`;
  assert.equal(relativeImports(text), ['./a.ts', '../b/b.ts', '../c/c.ts', './side.ts', '../d/d.ts']);
});

layers('every folder of src/ has a floor', () => {
  const folders = readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory());
  for (const f of folders) assert.ok(f in FLOORS, `src/${f}/ has no floor in test/layers.test.ts FLOORS: add it where it belongs`);
});

layers('no import points up a floor, sideways to a sibling, or out of src/', () => {
  const bad: string[] = [];
  for (const e of edges()) {
    if (e.to === '(outside src)') { bad.push(`${e.file} imports ${e.spec} (outside src/)`); continue; }
    const up = FLOORS[e.to]! >= FLOORS[e.from]!;
    if (up) bad.push(`${e.file}: ${e.from} (floor ${FLOORS[e.from]}) imports ${e.spec} (${e.to}, floor ${FLOORS[e.to]})`);
  }
  assert.equal(bad, [], `imports against the floors:\n  ${bad.join('\n  ')}`);
});

layers('the folders form no circle', () => {
  const next = new Map<string, Set<string>>();
  for (const e of edges()) {
    if (e.to === '(outside src)') continue;
    let s = next.get(e.from);
    if (s === undefined) next.set(e.from, (s = new Set()));
    s.add(e.to);
  }
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const circles: string[] = [];
  const visit = (n: string): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') { circles.push([...path.slice(path.indexOf(n)), n].join(' → ')); return; }
    state.set(n, 'open');
    path.push(n);
    for (const m of next.get(n) ?? []) visit(m);
    path.pop();
    state.set(n, 'done');
  };
  for (const n of next.keys()) visit(n);
  assert.equal(circles, [], `circles between folders: ${circles.join('; ')}`);
});

layers.run();
