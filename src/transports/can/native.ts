// Loader of the SocketCAN addon (docs/can.md §"Drivers"): native/can/cell_can.c, built by
// `npm run build:native` into native/can/build/cell_can.node. Loaded only by the CAN subpath
// (src/transports/can/socketcan.ts), never by the package root. Optional: without it SocketCAN
// is unavailable (ERR_CAN_UNAVAILABLE) and `canAddonStatus().reason` says why and how to fix
// that; slcan adapters and the memory bus need no addon.
//
// Environment: CELL_CAN_ADDON=0 forces "absent" (fallback tests); CELL_CAN_ADDON=/path/x.node
// loads that file instead of the package's build.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A channel returned by `open`: the receive batch buffer and what the kernel said about the interface. */
export interface CanAddonHandle {
  /** Receive slots (CAN_SLOT_BYTES each), filled by one recvmmsg before each onBatch call. */
  readonly rx: ArrayBuffer;
  readonly slots: number;
  /** The interface MTU: 16 classic, 72 CAN FD (0 when the kernel did not say). */
  readonly mtu: number;
  readonly ifindex: number;
}

export interface CanAddonOpenOptions {
  /** CAN_RAW_FD_FRAMES (refused with code 'ENOTCANFD' when the interface MTU is not 72). */
  fd?: boolean;
  /** CAN_RAW_LOOPBACK: other sockets of this host see our frames (kernel default true). */
  loopback?: boolean;
  /** CAN_RAW_RECV_OWN_MSGS: this socket sees its own frames (default false). */
  recvOwn?: boolean;
  /** CAN_RAW_ERR_FILTER (0 = no error frames). */
  errMask?: number;
  /** CAN_RAW_FILTER as [can_id, can_mask] pairs; undefined = the kernel default (all). */
  filters?: Uint32Array;
  /** Receive batch size (recvmmsg), 1–256; default 64. */
  slots?: number;
  /** SO_RCVBUF in bytes (SO_RCVBUFFORCE where allowed); 0 = the kernel default. */
  rcvbuf?: number;
}

/**
 * Raw SocketCAN sockets, non-blocking, watched by uv_poll on this thread's loop. Errors carry
 * `.code` (errno name: 'EAFNOSUPPORT' = no AF_CAN in this kernel, 'ENODEV' = no such interface,
 * 'ENETDOWN' = interface down, 'ENOTCANFD' = fd asked on a classic interface), `.errno`, `.syscall`.
 *
 * Slot layout (CAN_SLOT_BYTES = 80): receive — f64 timestamp µs at 0, can_id u32 at 8, len u8
 * at 12, FD flags at 13, 1 at 14 for an FD frame, data at 16. Transmit — u32 mtu (16 | 72) at 0,
 * a struct canfd_frame at 8 (same offsets as receive).
 */
export interface CanAddon {
  open(ifname: string, opts: CanAddonOpenOptions, onBatch: (count: number, rxOverflowTotal: number) => void,
    onError: (code: string, errno: number, message: string) => void): CanAddonHandle;
  /** Start reading (frames that arrived since open wait in the kernel's queue). */
  start(handle: CanAddonHandle): void;
  /** Frames [first, first+count) of `tx`; returns how many went out, or -errno when the first did not. */
  send(handle: CanAddonHandle, tx: ArrayBuffer, first: number, count: number): number;
  setFilters(handle: CanAddonHandle, filters: Uint32Array): void;
  setErrorMask(handle: CanAddonHandle, mask: number): void;
  close(handle: CanAddonHandle): void;
}

export const CAN_SLOT_BYTES = 80;

export interface CanAddonStatus {
  available: boolean;
  /** The .node file loaded or looked for; null when none was looked for (disabled, no package root). */
  path: string | null;
  /** Why it is absent and how to fix that, or which file was loaded. */
  reason: string;
}

const BUILD_HINT = 'run `npm run build:native` (needs a C compiler: apt-get install build-essential)';
const RELATIVE_PATH = join('native', 'can', 'build', 'cell_can.node');

let cached: { addon: CanAddon | null; status: CanAddonStatus } | undefined;

/** The addon, or null when it is absent (see `canAddonStatus()`). Loaded once per process (thread). */
export function loadCanAddon(): CanAddon | null {
  return load().addon;
}

/** Whether the addon loaded, from where, and if not, why and how to fix it. */
export function canAddonStatus(): CanAddonStatus {
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
  const env = process.env['CELL_CAN_ADDON'];
  if (env === '0') return absent(null, 'the SocketCAN addon is disabled by CELL_CAN_ADDON=0; unset it to use the addon');

  let path: string;
  if (env !== undefined && env !== '') {
    path = env;
  } else {
    const root = packageRoot();
    if (root === null) return absent(null, `no package.json named "cell" above ${fileURLToPath(import.meta.url)}, so no ${RELATIVE_PATH}: ${BUILD_HINT} in the cell package`);
    path = join(root, RELATIVE_PATH);
  }
  if (!existsSync(path)) return absent(path, `the SocketCAN addon ${path} is not built: ${BUILD_HINT}`);

  let raw: Partial<CanAddon>;
  try {
    raw = createRequire(import.meta.url)(path) as Partial<CanAddon>;
  } catch (err) {
    return absent(path, `the SocketCAN addon ${path} did not load (${(err as Error).message.split('\n')[0]}): rebuild it, ${BUILD_HINT}`);
  }
  const missing = (['open', 'start', 'send', 'setFilters', 'setErrorMask', 'close'] as const).filter((k) => typeof raw[k] !== 'function');
  if (missing.length > 0) return absent(path, `${path} is not the SocketCAN addon (no ${missing.join(', ')}): ${BUILD_HINT}`);

  return (cached = { addon: raw as CanAddon, status: { available: true, path, reason: `loaded ${path}` } });
}
