// A caller's call ids on a CAN link (docs/wire-format.md §8.2 "Calls"): the rpc layer numbers its
// calls with u32 ids; on the bus a compact call is named by its port and a 5-bit transfer id, an
// explicit one by a 29-bit wire id. This table maps one to the other for the calls in flight, so
// the answers (which carry the port and transfer id, or the wire id) reach the right call.
//
// A transfer id is reused round robin, never while its call is in flight: a port with 32 calls
// in flight sends the next one explicit instead of waiting. After a CANCEL the id rests until
// the other 31 have been used, so a late answer to the cancelled call is unlikely to meet a new
// call of the same port (Cyphal/CAN has the same window; the rpc layer still drops answers for
// calls it no longer has).
//
// Compact calls live in typed arrays (32 call ids per port, allocated when the port is first
// used), so the common path allocates nothing; explicit calls, the rare case, use Maps.
import { CAN_COMPACT_CALL_BIT, CAN_PORT_ENTRY_MAX, CAN_TAIL_TID_MASK, CAN_WIRE_CALL_ID_MAX } from '../../wire/layouts.ts';

const TIDS = CAN_TAIL_TID_MASK + 1;
const PORTS = CAN_PORT_ENTRY_MAX + 1;

export class CanCallTable {
  /** Per port: the rpc call id of each transfer id in use (valid where its busy bit is set). */
  private readonly compact: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(PORTS).fill(undefined);
  /** Per port: a bit per transfer id in use, and where the round robin goes next. */
  private readonly busy = new Uint32Array(PORTS);
  private readonly nextTid = new Uint8Array(PORTS);
  private compactCount = 0;
  private readonly wireOfCall = new Map<number, number>();
  private readonly callOfWire = new Map<number, number>();
  private nextWire = 1;

  /** Calls in flight. */
  get size(): number { return this.compactCount + this.wireOfCall.size; }

  /**
   * Register the call `callId` (a REQUEST being sent) on `port` (-1: no compact port). Returns the
   * transfer id for a compact send, or -1: send explicit with `wireIdOf(callId)`.
   */
  open(callId: number, port: number): number {
    if (port >= 0 && port < PORTS) {
      const used = this.busy[port]!;
      if (used !== 0xffffffff) {
        let tid = this.nextTid[port]!;
        while ((used & (1 << tid)) !== 0) tid = (tid + 1) & CAN_TAIL_TID_MASK;
        this.busy[port] = (used | (1 << tid)) >>> 0;
        this.nextTid[port] = (tid + 1) % TIDS;
        let ids = this.compact[port];
        if (ids === undefined) ids = this.compact[port] = new Uint32Array(TIDS);
        ids[tid] = callId;
        this.compactCount++;
        return tid;
      }
    }
    let wire = this.nextWire;
    while (this.callOfWire.has(wire)) wire = wire >= CAN_WIRE_CALL_ID_MAX ? 1 : wire + 1;
    this.nextWire = wire >= CAN_WIRE_CALL_ID_MAX ? 1 : wire + 1;
    this.wireOfCall.set(callId, wire);
    this.callOfWire.set(wire, callId);
    return -1;
  }

  /** port << 5 | tid of a compact call in flight, or -1. */
  private compactRef(callId: number): number {
    for (let port = 0; port < PORTS; port++) {
      const used = this.busy[port]!;
      if (used === 0) continue;
      const ids = this.compact[port]!;
      for (let tid = 0; tid < TIDS; tid++) if ((used & (1 << tid)) !== 0 && ids[tid] === callId) return (port << 5) | tid;
    }
    return -1;
  }

  /** How a later frame of this call (CANCEL, CREDIT) goes: its transfer id, -1 explicit, -2 unknown call. */
  tidOf(callId: number): number {
    if (this.wireOfCall.has(callId)) return -1;
    const ref = this.compactRef(callId);
    return ref < 0 ? -2 : ref & CAN_TAIL_TID_MASK;
  }

  /** The wire id of an explicit call (its own id if it has none). */
  wireIdOf(callId: number): number {
    return this.wireOfCall.get(callId) ?? callId;
  }

  /**
   * The rpc call id an answer's call id (compact reference or wire id) belongs to, or -1. With
   * `end`, the call ends here (its RESPONSE, ERROR or STREAM_END): its ids are freed.
   */
  answer(answerCallId: number, end: boolean): number {
    if ((answerCallId & ~CAN_WIRE_CALL_ID_MAX) === CAN_COMPACT_CALL_BIT) {
      const port = (answerCallId >>> 5) & 0xff;
      const tid = answerCallId & CAN_TAIL_TID_MASK;
      if (port >= PORTS || (this.busy[port]! & (1 << tid)) === 0) return -1;
      const call = this.compact[port]![tid]!;
      if (end) this.freeCompact(port, tid);
      return call;
    }
    const call = this.callOfWire.get(answerCallId);
    if (call === undefined) return -1;
    if (end) { this.callOfWire.delete(answerCallId); this.wireOfCall.delete(call); }
    return call;
  }

  private freeCompact(port: number, tid: number): void {
    this.busy[port] = (this.busy[port]! & ~(1 << tid)) >>> 0;
    this.compactCount--;
  }

  /** The call ended on this side (it was cancelled): free its transfer id or wire id. */
  close(callId: number): void {
    const wire = this.wireOfCall.get(callId);
    if (wire !== undefined) {
      this.wireOfCall.delete(callId);
      this.callOfWire.delete(wire);
      return;
    }
    const ref = this.compactRef(callId);
    if (ref >= 0) this.freeCompact(ref >>> 5, ref & CAN_TAIL_TID_MASK);
  }

  /** Forget every call (the peer restarted or the link closed). */
  clear(): void {
    this.busy.fill(0);
    this.compactCount = 0;
    this.wireOfCall.clear();
    this.callOfWire.clear();
  }
}
