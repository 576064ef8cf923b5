// Reports the sizes of build/wasm/*.wasm (built by `npm run build:wasm`); report only, no target.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { printTable } from './lib/table.ts';
import type { SectionResult } from './lib/targets.ts';

export const WASM_DIR = fileURLToPath(new URL('../build/wasm/', import.meta.url));

export function runWasmSize(): SectionResult {
  const files = existsSync(WASM_DIR) ? readdirSync(WASM_DIR).filter((f) => f.endsWith('.wasm')).sort() : [];
  if (files.length === 0) {
    console.log('\n### WebAssembly sizes\n\nnot built (no build/wasm/*.wasm; run `npm run build:wasm`)');
    return { section: 'wasm', targets: [], data: { built: false }, missing: ['build/wasm/*.wasm: not built'] };
  }
  const rows = files.map((f) => {
    const p = join(WASM_DIR, f);
    const buf = readFileSync(p);
    return { file: `build/wasm/${f}`, bytes: buf.length, gzip: gzipSync(buf, { level: 9 }).length, mtime: statSync(p).mtime.toISOString() };
  });
  printTable('WebAssembly sizes (build/wasm, report only)', ['file', 'bytes', 'gzip -9 bytes', 'built'], rows.map((r) => [r.file, r.bytes, r.gzip, r.mtime]));
  return { section: 'wasm', targets: [], data: { built: true, files: rows }, missing: [] };
}
