// Test helper: builds build/wasm/{core,small}.wasm when missing or older than their sources
// (node scripts/build-wasm.mjs) and loads them with a small typed view of the I/O area
// (firmware/core/io.ts). Only the test process reads the wasm: nothing here is shipped.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The WebAssembly global, typed here: tsconfig's lib (ES2022, no DOM) does not declare it.
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmInstance { readonly exports: Record<string, unknown> }
interface WasmApi { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: WasmInstance }> }
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Files whose change makes the wasm stale. */
function sources(): string[] {
  const dirs = ['src/wire', 'src/framing', 'src/secure', 'firmware/core', 'firmware/shared'];
  const files = ['src/codec/codegen-as.ts', 'src/codec/layout.ts', 'src/codec/schema.ts', 'test/portable/schemas.ts',
    'test/vectors/schemas.ts',
    'asconfig.json', 'scripts/build-wasm.mjs'];
  for (const d of dirs) {
    const p = join(ROOT, d);
    if (existsSync(p)) for (const f of readdirSync(p)) if (f.endsWith('.ts')) files.push(join(d, f));
  }
  return files.map((f) => join(ROOT, f)).filter((f) => existsSync(f));
}

export const FRAMING_FILES = ['cobs', 'crc32c', 'frame', 'deframer'].map((n) => `src/framing/${n}.ts`);
export const haveFraming = (): boolean => FRAMING_FILES.every((f) => existsSync(join(ROOT, f)));

/** Build when missing or stale; throws with the compiler output when the build fails. */
export function ensureWasm(): void {
  const outs = ['build/wasm/core.wasm', ...(haveFraming() ? ['build/wasm/small.wasm', 'build/wasm/small-core.wasm', 'build/wasm/framing-accel.wasm'] : [])].map((f) => join(ROOT, f));
  const newestSource = Math.max(...sources().map((f) => statSync(f).mtimeMs));
  const stale = outs.some((f) => !existsSync(f) || statSync(f).mtimeMs < newestSource);
  if (!stale) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-wasm.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build-wasm.mjs failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

export function wasmBytes(name: 'core' | 'small' | 'small-core'): Uint8Array {
  return readFileSync(join(ROOT, `build/wasm/${name}.wasm`));
}

/** The `core` build: exports by name, plus copy-in/copy-out over the static I/O area. */
export class CoreWasm {
  readonly x: Record<string, (...args: number[]) => number>;
  private readonly memory: WasmMemory;
  private readonly inPtr: number;
  private readonly outPtr: number;
  readonly ioBytes: number;

  constructor(instance: WasmInstance) {
    this.x = instance.exports as unknown as Record<string, (...args: number[]) => number>;
    this.memory = instance.exports.memory as WasmMemory;
    this.inPtr = this.x.inPtr!();
    this.outPtr = this.x.outPtr!();
    this.ioBytes = this.x.ioBytes!();
  }

  /** A view of the whole linear memory (re-made per call: memory.grow detaches old views). */
  memory8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  has(name: string): boolean {
    return typeof this.x[name] === 'function';
  }

  /** Copy `bytes` to IN[at..). Views are re-made per call: memory.grow detaches old ones. */
  input(bytes: Uint8Array, at = 0): void {
    if (at + bytes.length > this.ioBytes) throw new RangeError(`input of ${bytes.length} bytes does not fit the I/O area`);
    new Uint8Array(this.memory.buffer, this.inPtr + at, bytes.length).set(bytes);
  }

  /** A copy of OUT[at..at+n). */
  output(n: number, at = 0): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.outPtr + at, n).slice();
  }

  outU32(word: number): number {
    return new DataView(this.memory.buffer, this.outPtr + word * 4, 4).getUint32(0, true);
  }
}

export async function loadCore(): Promise<CoreWasm> {
  const { instance } = await WebAssembly.instantiate(wasmBytes('core'), {
    env: {
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`wasm abort at ${line}:${col}`);
      },
    },
  });
  return new CoreWasm(instance);
}

/** Deterministic PRNG (mulberry32) for the differential tests. */
export { prng as rng } from '../helpers/prng.ts';
