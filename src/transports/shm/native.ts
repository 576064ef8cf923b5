// Loader of the shared-memory addon (docs/shm.md §3 "Segments"): native/shm/cell_shm.c, built
// by `npm run build:native` into native/shm/build/cell_shm.node. Loaded only by the shm subpath,
// never by the package root. Optional: without it the shm transport works between threads only,
// and `shmAddonStatus().reason` says why it is absent and how to fix that.
//
// Environment: CELL_SHM_ADDON=0 forces "absent" (fallback tests); CELL_SHM_ADDON=/path/x.node
// loads that file instead of the package's build.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * POSIX shared memory mapped as an external ArrayBuffer (MAP_SHARED). Atomics load/store/add on
 * it are atomic across processes; Atomics.wait/notify are not (V8 emulates them per process).
 * Errors carry `.code`: the errno name ('ENOENT', 'EEXIST', 'EPERM', 'EACCES', 'ENOSPC', ...), or
 * 'EINVAL' for a bad argument (a TypeError or RangeError) or a segment of the wrong size or kind.
 * `name` must match /^\/cell-[A-Za-z0-9._-]{1,200}$/; `bytes` is 64 B..1 GiB, a multiple of 64.
 */
export interface ShmAddon {
  /** A new segment (O_EXCL: 'EEXIST' if the name exists), mode 0600, its pages reserved ('ENOSPC' when /dev/shm is full), mapped. */
  create(name: string, bytes: number): ArrayBuffer;
  /** Maps an existing segment: refused unless owned by this user ('EPERM'), mode 0600 ('EACCES'), a regular file of exactly `bytes` ('EINVAL'). */
  open(name: string, bytes: number): ArrayBuffer;
  /** Removes the name (mappings stay valid). false if it did not exist. */
  unlink(name: string): boolean;
  /**
   * Unmaps now and detaches `ab`: its views then have length 0 instead of faulting. Idempotent.
   * Without it the mapping goes when `ab` is collected. Never markAsUntransferable() a mapping:
   * on Node 21+ that sets a detach key and this call would abort the process.
   */
  unmap(ab: ArrayBuffer): void;
}

export interface ShmAddonStatus {
  available: boolean;
  /** The .node file loaded or looked for; null when none was looked for (disabled, no package root). */
  path: string | null;
  /** Why it is absent and how to fix that, or which file was loaded. */
  reason: string;
}

const BUILD_HINT = 'run `npm run build:native` (needs a C compiler: apt-get install build-essential)';
const RELATIVE_PATH = join('native', 'shm', 'build', 'cell_shm.node');

let cached: { addon: ShmAddon | null; status: ShmAddonStatus } | undefined;

/** The addon, or null when it is absent (see `shmAddonStatus()`). Loaded once per process (thread). */
export function loadShmAddon(): ShmAddon | null {
  return load().addon;
}

/** Whether the addon loaded, from where, and if not, why and how to fix it. */
export function shmAddonStatus(): ShmAddonStatus {
  return { ...load().status };
}

/** The directory holding the package.json named "cell" above this file (src/ under tsx, dist/ when built). */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'cell') return dir;
      } catch { /* not a readable package.json: keep walking */ }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function load(): NonNullable<typeof cached> {
  if (cached !== undefined) return cached;
  const absent = (path: string | null, reason: string) => (cached = { addon: null, status: { available: false, path, reason } });
  const env = process.env['CELL_SHM_ADDON'];
  if (env === '0') return absent(null, 'the shared-memory addon is disabled by CELL_SHM_ADDON=0; unset it to use the addon');

  let path: string;
  if (env !== undefined && env !== '') {
    path = env;
  } else {
    const root = packageRoot();
    if (root === null) return absent(null, `no package.json named "cell" above ${fileURLToPath(import.meta.url)}, so no ${RELATIVE_PATH}: ${BUILD_HINT} in the cell package`);
    path = join(root, RELATIVE_PATH);
  }
  if (!existsSync(path)) return absent(path, `the shared-memory addon ${path} is not built: ${BUILD_HINT}`);

  let raw: Partial<ShmAddon>;
  try {
    raw = createRequire(import.meta.url)(path) as Partial<ShmAddon>;
  } catch (err) {
    return absent(path, `the shared-memory addon ${path} did not load (${(err as Error).message.split('\n')[0]}): rebuild it, ${BUILD_HINT}`);
  }
  const missing = (['create', 'open', 'unlink', 'unmap'] as const).filter((k) => typeof raw[k] !== 'function');
  if (missing.length > 0) return absent(path, `${path} is not the shared-memory addon (no ${missing.join(', ')}): ${BUILD_HINT}`);

  // Node itself keeps external ArrayBuffers on their thread (postMessage copies on Node 20, throws
  // DataCloneError on 21+), so the mappings need no markAsUntransferable() — which on Node 21+ sets
  // a V8 detach key, and napi_detach_arraybuffer in unmap() then aborts the process.
  return (cached = { addon: raw as ShmAddon, status: { available: true, path, reason: `loaded ${path}` } });
}
