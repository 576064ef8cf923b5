// Loader of the SocketCAN addon (docs/can.md §"Drivers"): native/can/cell_can.c, built by
// `npm run build:native` into native/can/build/cell_can.node. Loaded only by the CAN subpath
// (src/transports/can/socketcan.ts), never by the package root. Optional: without it SocketCAN
// is unavailable (ERR_CAN_UNAVAILABLE) and `canAddonStatus().reason` says why and how to fix
// that; slcan adapters and the memory bus need no addon.
//
// Environment: CELL_CAN_ADDON=0 forces "absent" (fallback tests); CELL_CAN_ADDON=/path/x.node
// loads that file instead of the package's build.
import { loadAddon, type AddonSpec, type AddonStatus } from '../native-addon.ts';

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

export type CanAddonStatus = AddonStatus;

const SPEC: AddonSpec = { dir: 'can', title: 'the SocketCAN addon', envVar: 'CELL_CAN_ADDON', exports: ['open', 'start', 'send', 'setFilters', 'setErrorMask', 'close'] };
let cached: { addon: CanAddon | null; status: CanAddonStatus } | undefined;

/** The addon, or null when it is absent (see `canAddonStatus()`). Loaded once per process (thread). */
export function loadCanAddon(): CanAddon | null {
  return (cached ??= loadAddon<CanAddon>(SPEC)).addon;
}

/** Whether the addon loaded, from where, and if not, why and how to fix it. */
export function canAddonStatus(): CanAddonStatus {
  return { ...(cached ??= loadAddon<CanAddon>(SPEC)).status };
}
