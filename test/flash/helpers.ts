// Shared pieces of the flash tests: app images (the thermo firmware wasm with a version stamped
// into a custom section, so each version has other bytes and a valid wasm), a device on a pty.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPtyPair, ptyUnavailable, type PtyPair } from '../../hw-tests/lib/pty.ts';
import { startBootSim, type BootSim, type BootSimOptions } from '../../hw-tests/lib/boot-sim.ts';
import { deviceInfo, type DeviceInfo } from '../../src/flash/flash.ts';
import type { KeyRing } from '../../src/transports/secure-keys.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The thermo wasm (built on demand, asc only), or a reason to skip. */
export function thermoWasm(): Uint8Array | { skip: string } {
  const path = join(root, 'build/firmware/thermo.wasm');
  if (!existsSync(path)) {
    const r = spawnSync(process.execPath, ['scripts/build-firmware.mjs', 'thermo', '--wasm-only'], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) return { skip: `cannot build thermo.wasm: ${(r.stderr || '').trim().split('\n')[0]}` };
  }
  return new Uint8Array(readFileSync(path));
}

function leb(n: number): number[] {
  const out: number[] = [];
  do { let b = n & 0x7f; n >>>= 7; if (n !== 0) b |= 0x80; out.push(b); } while (n !== 0);
  return out;
}

/** `wasm` plus a custom section "cell.image" holding `tag` and `padBytes` filler: a valid module with other bytes. */
export function stampWasm(wasm: Uint8Array, tag: string, padBytes = 0): Uint8Array {
  const name = new TextEncoder().encode('cell.image');
  const body = new Uint8Array([...leb(name.length), ...name, ...new TextEncoder().encode(tag), ...new Uint8Array(padBytes).map((_, i) => (i * 7 + 3) & 0xff)]);
  const sec = new Uint8Array([0, ...leb(body.length), ...body]);
  const out = new Uint8Array(wasm.length + sec.length);
  out.set(wasm);
  out.set(sec, wasm.length);
  return out;
}

export function skipReason(): string | null {
  return ptyUnavailable();
}

export interface Bench {
  dir: string;
  pty: PtyPair;
  dev: BootSim;
  /** The host's end of the line. */
  port: string;
  close(): Promise<void>;
}

export async function startDevice(o: Partial<BootSimOptions> = {}): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'cell-flash-'));
  const pty = await startPtyPair({ dir });
  const dev = await startBootSim({ ptyPath: pty.pathA, flashFile: join(dir, 'flash.bin'), ...o });
  return {
    dir, pty, dev, port: pty.pathB,
    async close() {
      await dev.kill();
      await pty.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Wait until the device's app runs (INFO answered in app mode, sealed with `keys`) and return its
 * INFO; throws when the running slot holds another version, or nothing came back in ~5 s.
 */
export async function appRuns(b: Bench, version: string, keys?: KeyRing): Promise<DeviceInfo> {
  for (let i = 0; ; i++) {
    const d = await deviceInfo({ port: b.port, keys, timeoutMs: keys !== undefined ? 1000 : 500 }).catch(() => null);
    if (d !== null && d.mode === 'app' && d.runningSlot !== null) {
      const running = d.slots[d.runningSlot]!.version;
      if (running !== version) throw new Error(`the app runs version ${running}, not ${version}`);
      return d;
    }
    if (i > 50) throw new Error(`the app did not come back:\n${b.dev.log.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The code a promise rejects with (0 when it resolves, -1 without a code). */
export const codeOf = (p: Promise<unknown>): Promise<number> => p.then(() => 0, (e: { code?: number }) => e.code ?? -1);
