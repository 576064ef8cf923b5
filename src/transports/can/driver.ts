// The CAN driver contract (docs/can.md §"Drivers"): what moves raw CAN frames between this
// process and a bus — SocketCAN (native addon), an slcan adapter over serialport, or the memory
// bus of the unit tests. A driver knows nothing about Cell: the CAN profile (segmentation,
// compact header, docs/wire-format.md §8) sits above it in src/transports/can/bus.ts.
//
// Every driver: delivers received data frames one by one through `onFrame` (a view valid only
// during the call: no object and no Buffer per frame); never drops a frame it was given to send
// (a full kernel queue — ENOBUFS/EAGAIN — is retried with back-off, and `send` returns false
// while its own bounded queue is over the high-water mark, `onDrain` follows); counts every
// fault in `stats` instead of throwing on a receive path.
import type { CellError } from '../../wire/cell-error.ts';
import { CAN_FLAG_BRS, CAN_FLAG_ESI, CAN_FLAG_EXTENDED, CAN_FLAG_FD } from '../../wire/layouts.ts';

/** Frame flags, as `onFrame` reports and `send` takes them (the shared table: src/wire/layouts.ts). */
export { CAN_FLAG_BRS, CAN_FLAG_ESI, CAN_FLAG_EXTENDED, CAN_FLAG_FD };

/** Largest data length of a classic / an FD frame. */
export const CAN_CLASSIC_MAX_BYTES = 8;
export const CAN_FD_MAX_BYTES = 64;

/** Error-state of the controller (ISO 11898-1 fault confinement), as far as the driver can see. */
export type CanBusState = 'error-active' | 'error-warning' | 'error-passive' | 'bus-off' | 'unknown';

/** An error frame or a state change, reported only when error reporting is on (off by default). */
export interface CanBusEvent {
  /** 'error': an error frame (SocketCAN CAN_ERR_FLAG); 'state': the controller's state changed. */
  readonly type: 'error' | 'state';
  /** The state after this event. */
  readonly state: CanBusState;
  /** SocketCAN error class bits (CAN_ERR_TX_TIMEOUT 0x1, CAN_ERR_LOSTARB 0x2, CAN_ERR_CRTL 0x4,
   *  CAN_ERR_PROT 0x8, CAN_ERR_TRX 0x10, CAN_ERR_ACK 0x20, CAN_ERR_BUSOFF 0x40, CAN_ERR_BUSERROR
   *  0x80, CAN_ERR_RESTARTED 0x100, CAN_ERR_CNT 0x200); 0 for drivers that cannot tell. */
  readonly errorClass: number;
  /** The error frame's 8 data bytes (controller and protocol detail), when there is one. */
  readonly data?: Uint8Array;
}

export class CanDriverStats {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Error frames received (counted even when error events are off but the driver sees them). */
  errorFrames = 0;
  /** Frames the driver does not hand on: remote (RTR) frames, frames it cannot parse. */
  ignored = 0;
  /** Times a write found the kernel or adapter queue full (ENOBUFS/EAGAIN) and backed off. */
  txBackoffs = 0;
  /** Frames the kernel dropped because our receive queue was full (SO_RXQ_OVFL), where known. */
  rxOverflows = 0;
  /** Frames not sent because the driver was closed. */
  dropped = 0;
  /** I/O errors other than a full queue. */
  errIo = 0;
}

export interface CanDriverHandlers {
  /**
   * One received data frame: `id` (29 or 11 bits, see CAN_FLAG_EXTENDED), `flags`, the data
   * `data[off .. off+len)` valid only during the call, and the receive time in microseconds
   * (the kernel's timestamp where the driver has one, else the host clock), as a double.
   */
  onFrame(id: number, flags: number, data: Uint8Array, off: number, len: number, timestampUs: number): void;
  /** Error frames and state changes; only called when error reporting is on. */
  onBusEvent?(event: CanBusEvent): void;
  /** The driver accepts more after `send` returned false. */
  onDrain?(): void;
  /** The driver closed: null after `close()`, else a CellError (LinkIo, CanNoInterface, …). Once. */
  onClose(err: CellError | null): void;
}

/** An identifier filter: a frame passes when (frame id & mask) == (id & mask). */
export interface CanFilter {
  readonly id: number;
  readonly mask: number;
  /** Match extended (29-bit) frames only (default true). */
  readonly extended?: boolean;
}

export interface CanDriver {
  /** 'vcan0', 'slcan:/dev/ttyACM0', 'memory:3', … — for logs and errors. */
  readonly name: string;
  /** True when this driver sends and receives CAN FD frames. */
  readonly fd: boolean;
  readonly stats: CanDriverStats;
  /** The controller's error state as last seen ('unknown' until an event says otherwise). */
  readonly state: CanBusState;
  readonly closed: boolean;
  /** Attach the handlers and start receiving. Call once. */
  start(handlers: CanDriverHandlers): void;
  /**
   * Queue one frame: `data[off .. off+len)` is copied before return. `flags` must include
   * CAN_FLAG_EXTENDED for a 29-bit id and CAN_FLAG_FD for len > 8 (and for an FD frame of any
   * length); len must be a valid length (0–8, or 12, 16, 20, 24, 32, 48, 64 with CAN_FLAG_FD).
   * Returns false when the driver's queue is over its high-water mark: the frame is still queued;
   * wait for `onDrain`. On a closed driver the frame is dropped (stats.dropped) and false returned.
   */
  send(id: number, flags: number, data: Uint8Array, off: number, len: number): boolean;
  /** Receive only frames that pass one of these filters (in the kernel or the adapter where it can). Empty = all. */
  setFilters?(filters: readonly CanFilter[]): void;
  /** Report error frames and state changes through onBusEvent (off by default: a sick bus floods). */
  setErrorReporting?(on: boolean): void;
  /** Stop: pending frames are flushed where possible, then onClose(null). Idempotent. */
  close(): void;
}

/** Does a frame pass `filters` (one of them matches; an empty list passes everything)? For drivers that filter in software. */
export function canFilterPasses(filters: readonly CanFilter[], id: number, flags: number): boolean {
  if (filters.length === 0) return true;
  const ext = (flags & CAN_FLAG_EXTENDED) !== 0;
  for (let i = 0; i < filters.length; i++) {
    const x = filters[i]!;
    if ((x.extended ?? true) !== ext) continue;
    if (((id & x.mask) >>> 0) === ((x.id & x.mask) >>> 0)) return true;
  }
  return false;
}

/**
 * The argument checks of `CanDriver.send`: an FD frame on a classic driver, a length no frame can
 * have, an id out of range for its format are the caller's bug (RangeError), not a bus fault.
 */
export function checkCanSend(name: string, driverFd: boolean, id: number, flags: number, len: number): void {
  const fdFrame = (flags & CAN_FLAG_FD) !== 0;
  if (fdFrame && !driverFd) throw new RangeError(`${name}: CAN FD frame on a classic driver (open it with fd: true)`);
  if (!isValidCanLength(len, fdFrame)) throw new RangeError(`${name}: invalid CAN data length ${len}`);
  const ext = (flags & CAN_FLAG_EXTENDED) !== 0;
  if (!Number.isInteger(id) || id < 0 || id > (ext ? 0x1fffffff : 0x7ff)) throw new RangeError(`${name}: invalid CAN id ${id}`);
}

/** Valid CAN FD data lengths by DLC 0–15. */
export const CAN_DLC_TO_LEN: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];

/** Is `len` a data length a frame can have (classic: 0–8; FD: also 12, 16, 20, 24, 32, 48, 64)? */
export function isValidCanLength(len: number, fd: boolean): boolean {
  if (len >= 0 && len <= 8) return true;
  return fd && (len === 12 || len === 16 || len === 20 || len === 24 || len === 32 || len === 48 || len === 64);
}
