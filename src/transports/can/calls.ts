// A caller's call ids on a CAN link (docs/wire-format.md §8.2 "Calls"): the rpc layer numbers its
// calls with u32 ids; on the bus a compact call is named by its port and a 5-bit transfer id, an
// explicit one by a 31-bit wire id. This table maps one to the other for the calls in flight, so
// the answers (which carry the port and transfer id, or the wire id) reach the right call.
//
// A transfer id is reused round robin, never while its call is in flight: a port with 32 calls
// in flight sends the next one explicit instead of waiting. After a CANCEL the id rests until
// the other 31 have been used, so a late answer to the cancelled call is unlikely to meet a new
// call of the same port (Cyphal/CAN has the same window; the rpc layer still drops answers for
// calls it no longer has).
import { CAN_COMPACT_CALL_BIT, CAN_PORT_ENTRY_MAX, CAN_TAIL_TID_MASK } from '../../wire/layouts.ts';

const TIDS = CAN_TAIL_TID_MASK + 1;

// A call's slot as one number (no object per call): compact = -(port << 5 | tid) - 1, explicit =
// the wire id (1–0x7FFFFFFF).
const compactSlot = (ref: number): number => -ref - 1;
const refOf = (slot: number): number => -slot - 1;

export class CanCallTable {
  private readonly byCall = new Map<number, number>();
  private readonly byCompact = new Map<number, number>();
  private readonly byWire = new Map<number, number>();
  /** Per port: a bit per transfer id in use, and where the round robin goes next. */
  private readonly busy = new Uint32Array(CAN_PORT_ENTRY_MAX + 1);
  private readonly nextTid = new Uint8Array(CAN_PORT_ENTRY_MAX + 1);
  private nextWire = 1;

  /** Calls in flight. */
  get size(): number { return this.byCall.size; }

  /**
   * Register the call `callId` (a REQUEST being sent) on `port` (-1: no compact port). Returns the
   * transfer id for a compact send, or -1: send explicit with `wireIdOf(callId)`.
   */
  open(callId: number, port: number): number {
    this.close(callId); // a reused id whose earlier call never ended
    if (port >= 0) {
      const used = this.busy[port]!;
      if (used !== 0xffffffff) {
        let tid = this.nextTid[port]!;
        while ((used & (1 << tid)) !== 0) tid = (tid + 1) & CAN_TAIL_TID_MASK;
        this.busy[port] = (used | (1 << tid)) >>> 0;
        this.nextTid[port] = (tid + 1) % TIDS;
        const ref = (port << 5) | tid;
        this.byCall.set(callId, compactSlot(ref));
        this.byCompact.set(ref, callId);
        return tid;
      }
    }
    let wire = this.nextWire;
    while (this.byWire.has(wire)) wire = wire >= 0x7fffffff ? 1 : wire + 1;
    this.nextWire = wire >= 0x7fffffff ? 1 : wire + 1;
    this.byCall.set(callId, wire);
    this.byWire.set(wire, callId);
    return -1;
  }

  /** How a later frame of this call (CANCEL, CREDIT) goes: its transfer id, -1 explicit, -2 unknown call. */
  tidOf(callId: number): number {
    const s = this.byCall.get(callId);
    if (s === undefined) return -2;
    return s < 0 ? refOf(s) & CAN_TAIL_TID_MASK : -1;
  }

  /** The wire id of an explicit call (its own id if it has none). */
  wireIdOf(callId: number): number {
    const s = this.byCall.get(callId);
    return s !== undefined && s > 0 ? s : callId;
  }

  /** The rpc call id an answer's call id (compact reference or wire id) belongs to, or -1. */
  callOf(answerCallId: number): number {
    if ((answerCallId & CAN_COMPACT_CALL_BIT) !== 0) return this.byCompact.get(answerCallId & 0x1fff) ?? -1;
    return this.byWire.get(answerCallId) ?? -1;
  }

  /** The call ended (its last answer arrived, or it was cancelled): free its transfer id or wire id. */
  close(callId: number): void {
    const s = this.byCall.get(callId);
    if (s === undefined) return;
    this.byCall.delete(callId);
    if (s < 0) {
      const ref = refOf(s);
      this.byCompact.delete(ref);
      const port = ref >>> 5;
      this.busy[port] = (this.busy[port]! & ~(1 << (ref & CAN_TAIL_TID_MASK))) >>> 0;
    } else {
      this.byWire.delete(s);
    }
  }

  /** Forget every call (the peer restarted or the link closed). */
  clear(): void {
    this.byCall.clear();
    this.byCompact.clear();
    this.byWire.clear();
    this.busy.fill(0);
  }
}
