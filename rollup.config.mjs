// Builds dist/: ESM with one output module per source module (preserveModules), so the subpath
// exports in package.json (cell/wire, cell/framing, cell/codec, ...) map onto dist/<dir>/index.js
// and a consumer that imports cell/wire never loads the codec, a transport or a native addon.
import typescript from '@rollup/plugin-typescript';
import { existsSync, readdirSync, readFileSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';

// Every public entry point; the ones not written yet are skipped so the build works at each step.
const entries = [
  'src/index.ts',
  'src/wire/index.ts',
  'src/framing/index.ts',
  'src/codec/index.ts',
  'src/rpc/index.ts',
  'src/transports/index.ts',
  'src/transports/memory.ts',
  'src/transports/unix.ts',
  'src/transports/tcp.ts',
  'src/transports/stream.ts',
  'src/transports/uart.ts',
  'src/transports/shm/index.ts',
  'src/transports/secure.ts',
  'src/uart/index.ts',
  'src/shm/index.ts',
  'src/can/index.ts',
  'src/mesh/index.ts',
  'src/gateway/index.ts',
  'src/flash/index.ts',
  'src/cli/main.ts',
].filter((p) => existsSync(p));

export default {
  input: entries,
  output: {
    dir: 'dist',
    format: 'es',
    preserveModules: true,
    preserveModulesRoot: 'src',
    sourcemap: true,
  },
  // Dependencies stay external: optional heavy ones (serialport, socketcan, libp2p) must only be
  // loaded by the subpaths that need them, never bundled into the root.
  // No tree-shaking: with one output module per source module there is little to shake, and
  // rollup's property-value tracking removed a live branch (a listener's `onLink` assigned by
  // the caller through an interface) — test/dist.test.ts runs the built package to catch that.
  treeshake: false,
  external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
  plugins: [
    typescript({ tsconfig: './tsconfig.build.json', outputToFilesystem: true, compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
    fixDeclarations(),
  ],
};

/**
 * tsc keeps `./x.ts` specifiers in emitted .d.ts files and refers to the AssemblyScript type
 * aliases (u8, i32, ...) declared in src/portable.d.ts. Ship that file and point every
 * declaration at it, and rewrite the specifiers to the `.js` files that exist in dist/.
 */
function fixDeclarations() {
  return {
    name: 'cell-fix-declarations',
    writeBundle() {
      copyFileSync('src/portable.d.ts', 'dist/portable.d.ts');
      // The framing accelerator (src/framing/wasm-accel.ts looks next to itself first). Built by
      // `npm run build:wasm`, which `npm run build` runs first; absent → the links use JS framing.
      if (existsSync('build/wasm/framing-accel.wasm')) copyFileSync('build/wasm/framing-accel.wasm', 'dist/framing/framing-accel.wasm');
      else this.warn('build/wasm/framing-accel.wasm is missing (npm run build:wasm): dist/ will use JS framing');
      const walk = (dir) => readdirSync(dir).flatMap((n) => {
        const p = join(dir, n);
        return statSync(p).isDirectory() ? walk(p) : [p];
      });
      for (const file of walk('dist')) {
        if (!file.endsWith('.d.ts') || file === join('dist', 'portable.d.ts')) continue;
        let text = readFileSync(file, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2');
        const ref = relative(dirname(file), 'dist/portable.d.ts') || 'portable.d.ts';
        if (!text.startsWith('/// <reference')) text = `/// <reference path="${ref.startsWith('.') ? ref : './' + ref}" />\n` + text;
        writeFileSync(file, text);
      }
    },
  };
}
