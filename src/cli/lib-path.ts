// Where this copy of Cell lives, and how generated files import it (docs/cli.md "Imports").
//
// Files that `cell new` and `cell gen` write import the library as `cell/rpc`, `cell/codec`, ...
// — except inside this repository's own checkout, where they import the sources by relative path
// (`../../src/rpc/index.ts`), which resolve without a build and type-check with the repo's
// tsconfig. Outside the repo `cell/<sub>` resolves through node_modules as usual; where it does not
// (a scratch directory, a dev checkout without dist/), `cell run` and `cell test` install a
// resolve hook that maps it to this copy's sources (src/cli/loader.ts).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The package root of this copy of Cell (the directory of its package.json). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'cell') return (root = d);
      } catch { /* keep looking */ }
    }
    const up = dirname(d);
    if (up === d) throw new Error('cannot find the package.json of cell above ' + fileURLToPath(import.meta.url));
    d = up;
  }
}

/** True when this module runs from TypeScript sources (a dev checkout under tsx), not dist/. */
export function runningFromSource(): boolean {
  return import.meta.url.endsWith('.ts');
}

/** Is `path` inside this package's checkout (and not in its node_modules)? */
export function insidePackage(path: string): boolean {
  const rel = relative(packageRoot(), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !rel.split(sep).includes('node_modules'));
}

/**
 * The import specifier a file at `fromFile` uses for `cell/<sub>`: a relative path to the source
 * inside this checkout (when it has src/), else the package subpath.
 */
export function libSpecifier(fromFile: string, sub: string): string {
  const src = join(packageRoot(), 'src', sub, 'index.ts');
  if (insidePackage(fromFile) && existsSync(src)) {
    let r = relative(dirname(resolve(fromFile)), src).split(sep).join('/');
    if (!r.startsWith('.')) r = `./${r}`;
    return r;
  }
  return `cell/${sub}`;
}
