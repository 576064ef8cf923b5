// The built package (dist/, from `npm run build`) works as a user gets it: the subpath modules
// load, a cell is served on a Unix socket and called with a typed error, and the CLI entry runs.
// CI builds before testing; a checkout without dist/ reports these tests as skipped (not passed).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { skipTest } from './helpers/skip.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(join(root, 'dist/rpc/index.js')) && existsSync(join(root, 'dist/transports/index.js'));
const dist = suite('dist/ (the built package)');

dist('serves and calls a cell over a Unix socket through the built modules', async () => {
  if (!built) return skipTest('dist/: run `npm run build` first');
  const codec = await import(join(root, 'dist/codec/index.js'));
  const rpc = await import(join(root, 'dist/rpc/index.js'));
  const transports = await import(join(root, 'dist/transports/index.js'));
  const Req = codec.struct('Req', { n: codec.u32 });
  const Res = codec.struct('Res', { twice: codec.u32 });
  const Def = rpc.defineCell({ name: 'dist-check', methods: {
    double: rpc.method(Req, Res, { errors: { tooBig: rpc.appError(1001) } }),
  } });
  const dir = mkdtempSync(join(tmpdir(), 'cell-dist-'));
  const path = join(dir, 'cell.sock');
  const listener = await transports.listenUnix(path);
  const server = rpc.serve(Def, {
    double: (req: { n: number }, ctx: { fail(name: string): never }) => {
      if (req.n > 1000) ctx.fail('tooBig');
      return { twice: req.n * 2 };
    },
  }, listener);
  try {
    const client = await rpc.connect(Def, await transports.connectUnix(path));
    assert.equal(await client.double({ n: 21 }), { twice: 42 });
    let code = 0;
    try { await client.double({ n: 5000 }); } catch (e) { code = (e as { code: number }).code; }
    assert.is(code, 1001);
    await client.close();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

dist('the cell CLI runs from dist/ (bin/cell.mjs)', () => {
  if (!built || !existsSync(join(root, 'dist/cli/main.js'))) return skipTest('dist/: run `npm run build` first');
  const r = spawnSync(process.execPath, [join(root, 'bin/cell.mjs'), '--help'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /cell new|new\s+create/);
});

dist('no built module calls a helper the build does not define (tsc\'s import-extension rewrite)', () => {
  if (!built) return skipTest('dist/: run `npm run build` first');
  // tsc wraps a non-literal dynamic import in __rewriteRelativeImportExtension(...), which the
  // rollup output does not define: `cell gateway` from dist/ threw ReferenceError at start.
  const files = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  assert.ok(files.length > 10, `${files.length} .js files in dist/`);
  for (const f of files) {
    assert.not.match(readFileSync(join(root, 'dist', f), 'utf8'), /__rewriteRelativeImportExtension\(/, `dist/${f}`);
  }
});

dist('the built links find the framing accelerator next to the module (dist/framing/framing-accel.wasm)', async () => {
  if (!built || !existsSync(join(root, 'dist/framing/wasm-accel.js'))) return skipTest('dist/: run `npm run build` first');
  const accel = await import(join(root, 'dist/framing/wasm-accel.js'));
  assert.ok(existsSync(join(root, 'dist/framing/framing-accel.wasm')), 'npm run build copies it into dist/framing/');
  assert.ok(accel.wasmFramingAvailable(), 'dist/framing/wasm-accel.js loads it');
});

dist('`cell gateway` runs the one-file build (dist/bundle/cell.mjs): ASCII, the polyfill kept, the accelerator beside it', () => {
  const bundle = join(root, 'dist/bundle/cell.mjs');
  if (!built || !existsSync(bundle)) return skipTest('dist/bundle/: run `npm run build` first');
  const text = readFileSync(bundle);
  // One-byte source in V8 (half the memory of a two-byte string): esbuild escapes non-ASCII.
  assert.is(text.findIndex((b) => b > 0x7f), -1, 'no byte above 0x7f in the bundle');
  assert.ok(existsSync(join(root, 'dist/bundle/framing-accel.wasm')), 'the framing accelerator next to the bundle');
  // package.json "sideEffects" must keep the Node 20 Promise.withResolvers polyfill (libp2p needs it).
  assert.match(text.toString('latin1'), /withResolvers/);
  // bin/cell.mjs picks the bundle for `gateway` only; the bundle is the whole CLI.
  const probe = `process.argv[2] = 'gateway'; const u = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log(typeof u.runCli)`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'function');
  const h = spawnSync(process.execPath, [join(root, 'bin/cell.mjs'), 'gateway', '--help'], { encoding: 'utf8' });
  assert.is(h.status, 0, h.stderr);
  assert.match(h.stdout, /cell gateway/);
});

dist.run();
