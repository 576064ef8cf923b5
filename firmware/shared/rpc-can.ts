// The CAN port of the device's RPC (docs/firmware.md §"The thermo cell on CAN"; the profile:
// docs/wire-format.md §8): CAN frames from the board's controller → the portable reassembler
// (src/framing/can-transfer.ts) → the compact header expanded into a 20-byte header
// (src/framing/can-header.ts) → RpcCore.ingest (firmware/shared/rpc-core.ts); answer frames
// compressed, segmented and written to the controller. The device half of what
// src/transports/can/bus.ts (CanBus, CanPeerLink) does on a host. AssemblyScript only (not
// compiled by tsc); every buffer is allocated by the constructor (the app's top level = the wasm
// start function); nothing allocates afterwards.
//
//   thermoOn(new CanRpcDevice(HELLO, HELLO_LEN, MAX_FRAME_BYTES));    // firmware/thermo-can/app.ts
//
// Board imports (firmware/runtime/host.c has weak stubs: no CAN controller there; the simulator,
// hw-tests/lib/sim-can.ts, connects them to a CanDriver — the memory bus or SocketCAN):
//   env.can_read(meta, data, max): i32    one received frame, non-blocking: its 29-bit id → u32 at
//                                         meta, its flags → u32 at meta + 4 (1 extended, 2 FD,
//                                         4 BRS: src/wire/layouts.ts CAN_FLAG_*), up to
//                                         `max` data bytes → data; returns the data length
//                                         (0–64), or -1 when no frame is waiting
//   env.can_write(id, flags, ptr, len): i32  queue one frame (29-bit id, flags as above, data
//                                         ptr[0..len), a valid CAN length); 0, or < 0 when it
//                                         could not be queued (bus-off, no mailbox): counted
//   env.can_node(): i32                   this board's node id, 0–126 (DIP switches, a config
//                                         page; the simulator: --node). Read at the first poll;
//                                         anything else: the device stays silent on the bus
//   env.can_fd(): i32                     1: the bus is CAN FD (send FD frames with BRS, up to 64
//                                         bytes); 0: classic frames. Received frames of both kinds
//                                         are taken regardless
// A real board implements them over its controller (bxCAN on STM32F1/F4, FDCAN on STM32G4/H7,
// MCAN on SAM/LPC): a receive FIFO drained by an interrupt into a ring (like the UART's), an
// acceptance filter for (dst = own node or 127) — this port checks it again —, the TX mailboxes.
//
// Who gets what:
//   - every frame of a transfer for us (dst = our node, or 127 = all) and not from us is
//     reassembled (one CanReassembler: 2 slots of a whole frame, one per source node, so two
//     callers can send multi-frame requests at once; 1 s timeout) and expanded;
//   - answers go to the node whose frame is being processed (`peerNode`: the source of the last
//     transfer received, also while the app answers the request poll() returned);
//   - a stream's items and its end go to the node that started it (`streamNode`): the device
//     runs one stream at a time (RpcCore), so it serves one caller's stream at a time; anything
//     else the app sends later (events) goes to the node that last called;
//   - the boot HELLO goes to all (127); a HELLO's answer (RpcCore marks it ANSWER) to the asker.
//     A HELLO is answered when it is addressed to us, or sent to all by a caller (flag CALLING: a
//     gateway asking who is there); a HELLO that is an ANSWER, or another device's boot HELLO
//     (to all, not CALLING), is ignored (counted in `ignored`): devices call no one, and two
//     devices answering each other's HELLOs would never stop. A HELLO or GOODBYE ends a running
//     stream (RpcCore: a new session) only when it comes from the stream's node; CREDIT and
//     CANCEL from any other node are ignored while a stream runs (compact call ids of two nodes
//     can be equal).
// The compact header: our own table (the ports of calls made to us) is our HELLO's, loaded once;
// the device keeps no peer table — it calls nothing, and answers to compact calls carry call ids
// with bit 31 set, which canCompress turns back into ports.
//
// Ops counters (channel 2; the slots of RpcCore, the port's filled with the CAN analogues):
//   0 framesOk       transfers for us that reassembled (CRC checked when multi-frame)
//   1 errCrc         multi-frame transfers whose CRC-16 did not match
//   2 errCobs        transfer sequence faults: toggle or transfer id out of order, a frame
//                    without its start, a start before the previous transfer's end
//   3 errOversize    transfers longer than a frame (maxFrameBytes), in reassembly or expanded
//   4 errTooShort    frames or transfers refused as malformed: bad padding, a compact header
//                    this profile does not define (stale key checks are answered, not counted here)
//   7 bytesDiscarded frames on the bus not for us (other destination, our own id, 11-bit ids)
//   8 rxBytes        data bytes of the frames for us
//   9 uptimeMs
//  21 rxOverruns     transfers dropped for want of memory (reassembly full) or timed out
//  22 rxPeak         frames can_write refused (TX lost: bus-off, no mailbox)
import {
  RpcCore, C_IGNORED, C_FRAMES_OK, C_ERR_CRC, C_ERR_COBS, C_ERR_OVERSIZE, C_ERR_TOO_SHORT, C_BYTES_DISCARDED,
  C_RX_BYTES, C_UPTIME_MS, C_RX_OVERRUNS, C_RX_PEAK, MAX_ENTRIES,
} from './rpc-core.ts';
import { millis } from './rpc.ts';
import {
  Header, HEADER_BYTES, readHeader, writeHeader, KIND_CANCEL, KIND_CREDIT, KIND_GOODBYE, KIND_HELLO, KIND_STREAM_ITEM,
  KIND_STREAM_END,
} from '../../src/wire/header.ts';
import {
  CAN_EXPLICIT_PREFIX_BYTES, CAN_FLAG_BRS, CAN_FLAG_EXTENDED, CAN_FLAG_FD, CAN_NODE_BROADCAST, CAN_NODE_MAX, CAN_TRANSFER_CRC_BYTES, HELLO_FLAG_ANSWER,
  HELLO_FLAG_CALLING, HELLO_OFF_FLAGS,
} from '../../src/wire/layouts.ts';
import { ERR_CAN_STALE_ENTRY } from '../../src/wire/errors.ts';
import { CAN_PENDING, CanReassembler, CanTxTransfer } from '../../src/framing/can-transfer.ts';
import { CanCompact, CanKeyTable, canCompress, canExpand, canIdDst, canIdSrc } from '../../src/framing/can-header.ts';

@external("env", "can_read") declare function can_read(meta: usize, data: usize, max: i32): i32;
@external("env", "can_write") declare function can_write(id: u32, flags: u32, ptr: usize, len: i32): i32;
@external("env", "can_node") declare function can_node(): i32;
@external("env", "can_fd") declare function can_fd(): i32;
@external("env", "reset") declare function reset(): void;

/** Data bytes of the largest (FD) frame. */
const FRAME_MAX: i32 = 64;
/** Frames read per poll() before it returns -1 once, so the app's streams run under a busy bus. */
const RX_BURST: i32 = 16;
/** Transfers reassembled at once (all callers), of which one per source node; their timeout. */
const REASM_SLOTS: i32 = 2;
const REASM_PER_SOURCE: i32 = 1;
const REASM_TIMEOUT_MS: f64 = 1000;

/** RpcCore with its port: the CAN controller (can_read/can_write), the node id, the compact profile. */
export class CanRpcDevice extends RpcCore {
  /** This node's id (can_node(), at the first poll); > 126: not configured, silent. */
  node: u32 = CAN_NODE_BROADCAST;
  /** Send FD frames (can_fd(), at the first poll). */
  fd: bool = false;
  /** Where answers go: the source of the transfer being processed (127 at boot: all). */
  peerNode: u32 = CAN_NODE_BROADCAST;
  /** Where the running stream's items go: the node whose request started it. */
  streamNode: u32 = CAN_NODE_BROADCAST;

  // Counters the port keeps itself (the reassembler keeps the rest).
  foreign: u32 = 0;
  rxBytes: u32 = 0;
  badTransfers: u32 = 0;
  oversize: u32 = 0;
  txRefused: u32 = 0;

  private readonly reasm: CanReassembler;
  private readonly tx: CanTxTransfer = new CanTxTransfer();
  private readonly compact: CanCompact = new CanCompact();
  /**
   * Our ports (our HELLO's entries). Also passed as the peer table (the ports of answers and
   * events others send us): the device calls nothing, so whatever such a frame expands to, RpcCore
   * ignores it; canCompress reads the peer table only for calls (callTid ≥ 0: never here). One
   * table instead of two: each holds 248 keys (2 KB).
   */
  private readonly own: CanKeyTable = new CanKeyTable(MAX_ENTRIES);
  private readonly rh: Header = new Header();
  private readonly th: Header = new Header();
  /** One received frame: meta (id, flags) and data. */
  private readonly rxMeta: Uint8Array = new Uint8Array(8);
  private readonly rxMetaPtr: usize;
  private readonly rx: Uint8Array = new Uint8Array(FRAME_MAX);
  private readonly rxPtr: usize;
  /** One frame to send. */
  private readonly txFrame: Uint8Array = new Uint8Array(FRAME_MAX);
  private readonly txPtr: usize;
  private rollingTid: i32 = 0;
  /** streamFail() is sending the stream's ERROR (to streamNode, not to the last caller). */
  private failingStream: bool = false;
  private burst: i32 = 0;
  private booted: bool = false;
  /** Milliseconds since boot that do not wrap (the reassembler's clock). */
  private nowMs: f64 = 0;
  private lastMillis: u32 = 0;

  /** `hello`: the HELLO payload in static memory (generated); `maxFrameBytes`: header + payload. */
  constructor(hello: usize, helloLen: i32, maxFrameBytes: i32) {
    const req = new Uint8Array(maxFrameBytes);
    super(req, hello, helloLen, maxFrameBytes);
    // A transfer: prefix (≤ 13) + payload (≤ maxFrameBytes − 20) + CRC.
    this.reasm = new CanReassembler(REASM_SLOTS, maxFrameBytes - HEADER_BYTES + CAN_EXPLICIT_PREFIX_BYTES + CAN_TRANSFER_CRC_BYTES,
      REASM_PER_SOURCE, REASM_TIMEOUT_MS);
    this.rxMetaPtr = this.rxMeta.dataStart;
    this.rxPtr = this.rx.dataStart;
    this.txPtr = this.txFrame.dataStart;
    // Our ports = our HELLO's entries: parsed from a copy in `out` (free until the first answer).
    const n = this.putStatic(0, hello, helloLen);
    this.own.loadHello(this.out, 0, n);
  }

  /**
   * Process received frames until an application request needs the app: returns its entry index
   * (HELLO order; `req`, `reqEnd`, `callId`... describe it), or -1 when the controller has
   * nothing more for now (or after RX_BURST frames, so the app's streams run on a busy bus).
   */
  poll(): i32 {
    if (!this.booted) {
      // First poll, not the start function (a simulator cannot see memory before instantiation).
      this.booted = true;
      const node = can_node();
      this.node = node >= 0 && node <= <i32>CAN_NODE_MAX ? <u32>node : CAN_NODE_BROADCAST;
      this.fd = can_fd() != 0;
      this.lastMillis = millis();
      if (this.node != CAN_NODE_BROADCAST) {
        this.peerNode = CAN_NODE_BROADCAST;
        this.announce(); // our HELLO, to all: callers and gateways learn we are (back) on the bus
      }
    }
    const m = millis();
    this.nowMs += <f64>(m - this.lastMillis); // u32 difference: the wrap of millis() does not show
    this.lastMillis = m;
    while (this.burst < RX_BURST) {
      const len = can_read(this.rxMetaPtr, this.rxPtr, FRAME_MAX);
      if (len < 0) break;
      this.burst++;
      const e = this.frame(len);
      if (e >= 0) return e;
    }
    this.burst = 0;
    return -1;
  }

  /** The received frame at rx[0..len) (meta in rxMeta) → an entry index for the app, or -1. */
  private frame(len: i32): i32 {
    const id = load<u32>(this.rxMetaPtr);
    const flags = load<u32>(this.rxMetaPtr, 4);
    const node = this.node;
    if (node == CAN_NODE_BROADCAST || (flags & CAN_FLAG_EXTENDED) == 0 || len > FRAME_MAX) {
      this.foreign++;
      return -1;
    }
    const dst = canIdDst(id);
    const src = canIdSrc(id);
    if ((dst != node && dst != CAN_NODE_BROADCAST) || src == node) {
      this.foreign++;
      return -1;
    }
    this.rxBytes += <u32>len;
    const r = this.reasm;
    const n = r.push(id, this.rx, 0, len, this.nowMs);
    if (n < 0) return -1; // CAN_PENDING, or refused (counted by the reassembler)
    if (src > CAN_NODE_MAX) return -1;
    const h = this.rh;
    let prefix = canExpand(id, r.buf, r.off, n, r.tid, this.own, this.own, h);
    if (prefix < 0) {
      if (prefix != -ERR_CAN_STALE_ENTRY) {
        this.badTransfers++; // an answer or event (we call nothing), or a header this profile does not define
        return -1;
      }
      prefix = 1; // a stale key check: delivered with key 0, RpcCore answers UnknownMethod
    }
    const plen = <i32>h.length;
    if (plen > this.maxFrameBytes - HEADER_BYTES) {
      this.oversize++;
      return -1;
    }
    const from = r.buf;
    const base = r.off + prefix;
    if (h.kind == KIND_HELLO) {
      // Answer a HELLO addressed to us, or one sent to all by a caller (CALLING: who is there?).
      // Not an ANSWER (we keep no session to confirm), nor another device's boot HELLO: devices
      // call no one, and two devices answering each other's HELLOs would never stop.
      const f: u8 = plen > HELLO_OFF_FLAGS ? from[base + HELLO_OFF_FLAGS] : 0;
      if ((f & HELLO_FLAG_ANSWER) != 0 || (canIdDst(id) == CAN_NODE_BROADCAST && (f & HELLO_FLAG_CALLING) == 0)) {
        unchecked(this.counter[C_IGNORED]++);
        return -1;
      }
    }
    // A running stream is another node's business only: its CREDIT and CANCEL come from the node
    // that started it (compact call ids of two nodes can be equal), and another node's HELLO or
    // GOODBYE starts or ends that node's session, not the stream's.
    const kind = h.kind;
    const foreignToStream = this.streamActive && src != this.streamNode;
    if (foreignToStream && (kind == KIND_CREDIT || kind == KIND_CANCEL)) {
      unchecked(this.counter[C_IGNORED]++);
      return -1;
    }
    const q = this.req;
    writeHeader(h, q, 0);
    for (let i = 0; i < plen; i++) unchecked(q[HEADER_BYTES + i] = from[base + i]);
    this.peerNode = src;
    const e = this.ingest(HEADER_BYTES + plen);
    if (foreignToStream && (kind == KIND_HELLO || kind == KIND_GOODBYE)) this.streamActive = true;
    return e;
  }

  /** The app starts the stream of the request it is answering: its items go to that node. */
  streamStart(): void {
    super.streamStart();
    this.streamNode = this.peerNode;
  }

  /** The stream ends with an ERROR: it goes where the items went. */
  streamFail(code: u16): void {
    this.failingStream = true;
    super.streamFail(code);
    this.failingStream = false;
  }

  // ---- the port (called by RpcCore) ------------------------------------------------------

  /** One answer frame (header + payload at frame[0..len)) → compact header, transfer, can_write. */
  transmit(frame: Uint8Array, len: i32): void {
    if (this.node == CAN_NODE_BROADCAST) return;
    const h = this.th;
    if (readHeader(frame, 0, len, <u32>(this.maxFrameBytes - HEADER_BYTES), h) < 0) return;
    const kind = h.kind;
    const dst = kind == KIND_STREAM_ITEM || kind == KIND_STREAM_END || this.failingStream ? this.streamNode : this.peerNode;
    const c = this.compact;
    const tid = this.rollingTid;
    this.rollingTid = (tid + 1) & 31;
    canCompress(h, this.node, dst, this.own, this.own, -1, tid, c);
    const fd = this.fd;
    const flags: u32 = fd ? CAN_FLAG_EXTENDED | CAN_FLAG_FD | CAN_FLAG_BRS : CAN_FLAG_EXTENDED;
    const t = this.tx;
    t.begin(c.prefix, c.prefixLen, frame, HEADER_BYTES, <i32>h.length, fd, c.tid);
    for (let n = t.next(this.txFrame, 0); n > 0; n = t.next(this.txFrame, 0)) {
      if (can_write(c.id, flags, this.txPtr, n) < 0) this.txRefused++;
    }
  }

  refreshCounters(c: StaticArray<u32>): void {
    const r = this.reasm;
    unchecked(c[C_FRAMES_OK] = r.transfers);
    unchecked(c[C_ERR_CRC] = r.errCrc);
    unchecked(c[C_ERR_COBS] = r.errSequence + r.errOrphan);
    unchecked(c[C_ERR_OVERSIZE] = r.errTooLong + this.oversize);
    unchecked(c[C_ERR_TOO_SHORT] = r.errBadFrame + this.badTransfers);
    unchecked(c[C_BYTES_DISCARDED] = this.foreign);
    unchecked(c[C_RX_BYTES] = this.rxBytes);
    unchecked(c[C_UPTIME_MS] = millis());
    unchecked(c[C_RX_OVERRUNS] = r.errFull + r.errTimeout);
    unchecked(c[C_RX_PEAK] = this.txRefused);
  }

  /** No boot service over CAN (yet): channel-3 requests are answered UnknownMethod. */
  bootService(req: Uint8Array, len: i32, out: Uint8Array, max: i32): i32 {
    return -1;
  }

  resetDevice(): void {
    reset();
  }
}
