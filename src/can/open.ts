// Opening a CAN interface by name (the CLI and the gateway config, docs/can.md §"Interfaces"):
//   "can0", "vcan0"             SocketCAN (the addon, loaded only now; CanUnavailable 900 without it)
//   "slcan:/dev/ttyACM0"        an slcan (Lawicel) USB adapter over serialport, at `bitrate`
// and, for `cell call --can`, a node after the last colon: "can0:10", "slcan:/dev/ttyACM0:10".
// The drivers are imported on first use, so nothing of CAN loads unless CAN is used.
import { CellError } from '../wire/cell-error.ts';
import { ERR_CAN_UNAVAILABLE } from '../wire/errors.ts';
import { CAN_NODE_MAX } from '../wire/layouts.ts';
import type { CanDriver } from '../transports/can/driver.ts';

export interface OpenCanDriverOptions {
  /** CAN FD frames. @default false */
  fd?: boolean;
  /** slcan only: the nominal bitrate (bit/s; SocketCAN takes it from `ip link`). @default 500000 */
  bitrate?: number;
  /** slcan with fd: the data-phase bitrate. @default 2000000 */
  dataBitrate?: number;
  /** SocketCAN: report error frames and state changes. @default false */
  errorReporting?: boolean;
  /**
   * SocketCAN: the socket's receive buffer (SO_RCVBUF). A long transfer (describe() of a cell: a
   * few hundred frames in one burst) must fit while this process is busy: CAN has no flow control
   * and the kernel drops what does not. @default CAN_RECEIVE_BUFFER_BYTES (2 MiB, ~2000 frames)
   */
  receiveBufferBytes?: number;
}

/** The receive buffer openCanDriver asks for (capped by net.core.rmem_max without CAP_NET_ADMIN). */
export const CAN_RECEIVE_BUFFER_BYTES = 2 << 20;

export interface CanTarget {
  /** The interface as written: "can0" or "slcan:/dev/ttyACM0". */
  readonly iface: string;
  readonly kind: 'socketcan' | 'slcan';
  /** Interface name (SocketCAN) or serial device path (slcan). */
  readonly name: string;
  /** The node after the last colon, when one was asked for. */
  readonly node: number | null;
}

/** Whether `iface` names an slcan adapter ("slcan:<path>"). */
function split(iface: string): { kind: 'socketcan' | 'slcan'; name: string } {
  if (iface.startsWith('slcan:')) return { kind: 'slcan', name: iface.slice(6) };
  return { kind: 'socketcan', name: iface };
}

/**
 * Parse "can0", "can0:10", "slcan:/dev/ttyACM0", "slcan:/dev/ttyACM0:10". `needNode`: the node is
 * required (`cell call --can`). Throws a TypeError with the fix.
 */
export function parseCanTarget(text: string, needNode: boolean): CanTarget {
  const t = text.trim();
  let iface = t;
  let node: number | null = null;
  const m = /^(.*):(\d+)$/.exec(t);
  if (m !== null && m[1] !== 'slcan' && m[1] !== '') {
    iface = m[1]!;
    node = Number(m[2]);
    if (!Number.isInteger(node) || node < 0 || node > CAN_NODE_MAX) throw new TypeError(`CAN node must be 0–${CAN_NODE_MAX}, got ${m[2]} in "${text}"`);
  }
  const { kind, name } = split(iface);
  if (name === '') throw new TypeError(`no CAN interface in "${text}": e.g. can0${needNode ? ':10' : ''} or slcan:/dev/ttyACM0${needNode ? ':10' : ''}`);
  if (kind === 'socketcan' && !/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
    throw new TypeError(`"${name}" is not a network interface name (at most 15 letters, digits, _ . -): e.g. can0, or slcan:/dev/ttyACM0 for a USB adapter`);
  }
  if (needNode && node === null) throw new TypeError(`no CAN node in "${text}": give <interface>:<node>, e.g. ${iface}:10`);
  return { iface, kind, name, node };
}

/**
 * Open the driver for `iface` ("can0" or "slcan:/dev/ttyACM0"). Rejects with CellError
 * CanUnavailable (900) when the SocketCAN addon is absent (the reason and the fix in the message),
 * CanNoInterface (901) for a missing or down interface, LinkIo / CanAdapter for an slcan adapter
 * that does not open.
 */
export async function openCanDriver(iface: string, opts: OpenCanDriverOptions = {}): Promise<CanDriver> {
  const { kind, name } = split(iface);
  if (kind === 'slcan') {
    const { openSlcan } = await import('../transports/can/slcan.ts');
    return openSlcan({
      path: name, bitrate: opts.bitrate ?? 500_000, fd: opts.fd ?? false,
      ...(opts.fd === true && opts.dataBitrate !== undefined ? { dataBitrate: opts.dataBitrate } : {}),
    });
  }
  let mod: typeof import('../transports/can/socketcan.ts');
  try {
    mod = await import('../transports/can/socketcan.ts');
  } catch (e) {
    throw new CellError(ERR_CAN_UNAVAILABLE, `SocketCAN is not available: ${(e as Error).message}`, { interface: name });
  }
  return mod.openSocketCan(name, { fd: opts.fd ?? false, errorReporting: opts.errorReporting ?? false, receiveBufferBytes: opts.receiveBufferBytes ?? CAN_RECEIVE_BUFFER_BYTES });
}
