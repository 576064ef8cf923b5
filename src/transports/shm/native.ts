// Loader of the shared-memory addon (docs/shm.md §3 "Segments"): native/shm/cell_shm.c, built
// by `npm run build:native` into native/shm/build/cell_shm.node. Loaded only by the shm subpath,
// never by the package root. Optional: without it the shm transport works between threads only,
// and `shmAddonStatus().reason` says why it is absent and how to fix that.
//
// Environment: CELL_SHM_ADDON=0 forces "absent" (fallback tests); CELL_SHM_ADDON=/path/x.node
// loads that file instead of the package's build.
import { loadAddon, type AddonSpec, type AddonStatus } from '../native-addon.ts';

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

export type ShmAddonStatus = AddonStatus;

const SPEC: AddonSpec = { dir: 'shm', title: 'the shared-memory addon', envVar: 'CELL_SHM_ADDON', exports: ['create', 'open', 'unlink', 'unmap'] };
let cached: { addon: ShmAddon | null; status: ShmAddonStatus } | undefined;

/** The addon, or null when it is absent (see `shmAddonStatus()`). Loaded once per process (thread). */
export function loadShmAddon(): ShmAddon | null {
  return (cached ??= loadAddon<ShmAddon>(SPEC)).addon;
}

/** Whether the addon loaded, from where, and if not, why and how to fix it. */
export function shmAddonStatus(): ShmAddonStatus {
  return { ...(cached ??= loadAddon<ShmAddon>(SPEC)).status };
}

// Node itself keeps external ArrayBuffers on their thread (postMessage copies on Node 20, throws
// DataCloneError on 21+), so the mappings need no markAsUntransferable() — which on Node 21+ sets
// a V8 detach key, and napi_detach_arraybuffer in unmap() then aborts the process.
