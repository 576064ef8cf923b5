// Requests on the boot channel (docs/flash.md §4) over any Link — in practice a UART link
// (src/transports/uart.ts): REQUEST frames on channel 3 with the fixed boot keys, answered by
// RESPONSE or ERROR (payload: u16 code, u16 message length, message; docs/rpc.md §4). Several
// requests may be in flight (CHUNKs fill the device's window); each has its own deadline.
// This is not the RPC Connection on purpose: the boot protocol must not depend on a HELLO or a
// schema, so that it works whatever the application speaks (or when it speaks nothing).
import type { Link } from '../transports/link.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_RPC_TIMEOUT } from '../wire/errors.ts';
import { CHANNEL_BOOT, HEADER_BYTES, Header, KIND_ERROR, KIND_REQUEST, KIND_RESPONSE, readHeader, writeHeader } from '../wire/header.ts';
import { readU16LE } from '../wire/bytes.ts';
import { BOOT_KEY_HI } from './boot-wire.ts';

interface Pending {
  resolve(payload: Uint8Array): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class BootClient {
  readonly link: Link;
  /** Set once the link closed (the error it closed with, or a LinkClosed CellError). */
  closedWith: CellError | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly firstId: number;
  private nextId: number;
  private readonly hdr = new Header();
  private drainWaiters: (() => void)[] = [];

  /**
   * `firstCallId`: where this client's call ids start. Two clients on one line (a secured
   * device's sealed app and its plaintext bootloader, src/flash/secure-route.ts) use separate
   * ranges, so an answer meant for one is never taken by the other.
   */
  constructor(link: Link, firstCallId = 1) {
    this.link = link;
    this.firstId = firstCallId;
    this.nextId = firstCallId;
    link.start({
      onFrame: (buf, off, len) => this.onFrame(buf, off, len),
      onClose: (err) => {
        this.closedWith = err ?? new CellError(ERR_LINK_CLOSED, 'the boot link was closed');
        for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject(this.closedWith); }
        this.pending.clear();
        for (const w of this.drainWaiters.splice(0)) w();
      },
      onDrain: () => { for (const w of this.drainWaiters.splice(0)) w(); },
    });
  }

  private onFrame(buf: Uint8Array, off: number, len: number): void {
    const h = this.hdr;
    if (readHeader(buf, off, len, len, h) < 0 || h.channel !== CHANNEL_BOOT) return;
    if (h.kind !== KIND_RESPONSE && h.kind !== KIND_ERROR) return;
    const p = this.pending.get(h.callId);
    if (p === undefined) return; // late answer to a retransmitted request: already settled
    this.pending.delete(h.callId);
    clearTimeout(p.timer);
    const payload = buf.slice(off + HEADER_BYTES, off + HEADER_BYTES + h.length);
    if (h.kind === KIND_RESPONSE) { p.resolve(payload); return; }
    const code = payload.length >= 2 ? readU16LE(payload, 0) : 0;
    const n = payload.length >= 4 ? readU16LE(payload, 2) : 0;
    const msg = n > 0 ? new TextDecoder().decode(payload.subarray(4, 4 + n)) : undefined;
    p.reject(new CellError(code, msg, { op: h.keyLo }));
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Send request `op` with `payload`; resolves with the RESPONSE payload, rejects with the
   * device's code (CellError), Timeout (400) after `timeoutMs`, or the link's close error.
   */
  async request(op: number, payload: Uint8Array | null, timeoutMs: number): Promise<Uint8Array> {
    if (this.closedWith !== null) throw this.closedWith;
    const n = payload === null ? 0 : payload.length;
    const frame = new Uint8Array(HEADER_BYTES + n);
    const h = this.hdr;
    const id = this.nextId;
    this.nextId = this.nextId >= this.firstId + 0x3ffffffe ? this.firstId : this.nextId + 1;
    h.kind = KIND_REQUEST; h.flags = 0; h.channel = CHANNEL_BOOT; h.callId = id;
    h.keyLo = op; h.keyHi = BOOT_KEY_HI; h.length = n;
    writeHeader(h, frame, 0);
    if (payload !== null) frame.set(payload, HEADER_BYTES);
    const answer = new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CellError(ERR_RPC_TIMEOUT, `no answer to boot request ${op} within ${timeoutMs} ms`, { op }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    if (!this.link.send(frame)) {
      // Over the link's high-water mark: the frame is queued; wait before the caller sends more.
      await new Promise<void>((r) => this.drainWaiters.push(r));
    }
    return answer;
  }

  /** Close the link; resolves when the port is released (it can be opened again). */
  async close(): Promise<void> {
    this.link.close();
    // A UART link's port is released only when its fd is closed (UartIo.closed).
    const io = (this.link as { io?: { closed?: Promise<void> } }).io;
    if (io?.closed !== undefined) await io.closed;
  }
}
