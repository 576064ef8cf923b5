// Loading a cell's TypeScript entry module (`cell run`) and running its tests (`cell test`).
//
// Two module hooks: tsx (TypeScript), and a resolve hook for `cell` / `cell/<sub>` specifiers:
// when Node cannot resolve them (no node_modules/cell, or a subpath dist/ does not have yet) — or
// when they resolve into this very checkout while the CLI runs from source — they are mapped to
// this copy of the library — its sources (src/<sub>/index.ts, src/<sub>.ts) when the CLI runs from
// source, else dist/ first — so the cell and the CLI share one instance of the library. A `cell` package installed in the cell's own node_modules wins.
import { register } from 'node:module';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { CliError } from './errors.ts';
import { packageRoot, runningFromSource } from './lib-path.ts';
import type { CellDef, Impl } from '../rpc/index.ts';
import type { Server } from '../rpc/index.ts';

const HOOK = `
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
let root = '', rootUrl = '', preferSrc = false;
export function initialize(d) { root = d.root; rootUrl = pathToFileURL(root).href + '/'; preferSrc = d.preferSrc; }
function local(spec) {
  // cell/transports/uart is the session layer's old name (cell/uart) for one minor release.
  const sub = spec === 'cell' ? '' : spec === 'cell/transports/uart' ? 'uart' : spec.slice(5);
  if (!/^[A-Za-z0-9_\\/-]*$/.test(sub) || sub.includes('..')) return null;
  const src = sub === '' ? ['src/index.ts'] : ['src/' + sub + '/index.ts', 'src/' + sub + '.ts'];
  const dist = sub === '' ? ['dist/index.js'] : ['dist/' + sub + '/index.js', 'dist/' + sub + '.js'];
  const cands = preferSrc ? src : [...dist, ...src];
  for (const c of cands) { const f = root + '/' + c; if (existsSync(f)) return pathToFileURL(f).href; }
  return null;
}
export async function resolve(spec, ctx, next) {
  if (spec !== 'cell' && !spec.startsWith('cell/')) return next(spec, ctx);
  let r, err;
  try { r = await next(spec, ctx); } catch (e) { err = e; }
  if (r !== undefined && !(preferSrc && r.url.startsWith(rootUrl))) return r;
  const u = local(spec);
  if (u !== null) return { url: u, format: 'module', shortCircuit: true };
  if (r !== undefined) return r;
  throw err;
}
`;

function hookUrl(): string {
  return 'data:text/javascript,' + encodeURIComponent(HOOK);
}
function hookData(): { root: string; preferSrc: boolean } {
  return { root: packageRoot(), preferSrc: runningFromSource() };
}

let installed = false;

/** Install the hooks in this process (idempotent). */
export async function installHooks(): Promise<void> {
  if (installed) return;
  installed = true;
  register(hookUrl(), { data: hookData() });
  if (!runningFromSource()) {
    // From dist/: TypeScript cells need tsx (a runtime dependency). From source, tsx is already loaded.
    const { register: registerTsx } = await import('tsx/esm/api');
    registerTsx();
  }
}

/** Node flags that give a child process the same hooks (for `cell test`). */
export function hookArgs(): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const registrar = `import { register } from 'node:module'; register(${JSON.stringify(hookUrl())}, { data: ${JSON.stringify(hookData())} });`;
  return ['--import', tsx, '--import', 'data:text/javascript,' + encodeURIComponent(registrar)];
}

/** What a cell's entry module exports by default. */
export interface CellModule {
  /** The definition (defineCell). */
  readonly cell: CellDef;
  /** The handlers. */
  readonly impl: Impl<CellDef>;
  /**
   * Optional: called once the cell is listening; may return a function called at shutdown.
   * Use it for timers that emit events (`server.emit('alarm', ...)`).
   */
  readonly start?: (server: Pick<Server, 'emit'>) => void | (() => void | Promise<void>);
}

/**
 * `import(url)` that tsc leaves alone: with `rewriteRelativeImportExtensions`, tsc wraps a
 * dynamic import of a non-literal in a `__rewriteRelativeImportExtension` helper that the rollup
 * build does not define (dist/ would throw ReferenceError). The URL is absolute anyway.
 */
export const importUrl = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

/** Import the entry module and check its default export. */
export async function importCellModule(entry: string): Promise<CellModule> {
  await installHooks();
  let mod: { default?: unknown };
  try {
    mod = (await importUrl(pathToFileURL(entry).href)) as { default?: unknown };
  } catch (e) {
    const err = e as Error & { code?: string };
    const fix = err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'
      ? 'an import does not resolve: check the path, or install the package in the cell directory'
      : 'fix the error in the cell\'s code (the stack is in .cell/log/cell.out when detached)';
    throw new CliError(`cannot load ${entry}: ${err.message}`, { name: 'CellLoadError', fix, detail: err.stack !== undefined ? { stack: err.stack.split('\n').slice(0, 6).join('\n') } : undefined });
  }
  const m = mod.default as Partial<CellModule> | undefined;
  const shapeFix = 'end the entry module with `export default { cell: MyCell, impl }` (cell: the defineCell(...) result, impl: the handlers)';
  if (m === null || typeof m !== 'object') throw new CliError(`${entry} has no default export`, { name: 'CellLoadError', fix: shapeFix });
  if (m.cell === undefined || typeof m.cell !== 'object' || !Array.isArray((m.cell as CellDef).entries)) {
    throw new CliError(`${entry}: default export has no \`cell\` (a defineCell(...) result)`, { name: 'CellLoadError', fix: shapeFix });
  }
  if (m.impl === undefined || typeof m.impl !== 'object') throw new CliError(`${entry}: default export has no \`impl\` (the handlers)`, { name: 'CellLoadError', fix: shapeFix });
  for (const e of m.cell.entries) {
    if (e.kind !== 'event' && typeof (m.impl as Record<string, unknown>)[e.name] !== 'function') {
      throw new CliError(`${entry}: impl has no handler for ${e.kind} "${e.name}"`, { name: 'CellLoadError', fix: `add \`${e.name}(req, ctx) { ... }\` to impl` });
    }
  }
  if (m.start !== undefined && typeof m.start !== 'function') throw new CliError(`${entry}: \`start\` must be a function`, { name: 'CellLoadError', fix: shapeFix });
  return m as CellModule;
}
