// A Link wrapper for device tests: the typed client (src/rpc connect) runs on top of it unchanged,
// while the test can also speak raw frames on the same line — the ops channel (channel 2, the
// device's counters), hand-made requests (unknown keys, malformed payloads), raw bytes (garbage,
// oversized frames) — and see how many frames of each kind the device sent (e.g. STREAM_ITEMs
// per call: the credit check).
// Frames on channel 2, and frames whose call id belongs to a raw request in flight, are taken
// here; everything else goes to the connection.
import type { Link, LinkCapabilities, LinkHandlers, LinkStats } from '../../src/transports/link.ts';
import type { StreamLink } from '../../src/transports/stream.ts';
import { Header, HEADER_BYTES, readHeader, CHANNEL_OPS, KIND_REQUEST } from '../../src/wire/header.ts';
import { readU32LE } from '../../src/wire/bytes.ts';
import { encodeFrame, rawFrame, type FrameFields, type ReceivedFrame } from './echo-client.ts';

/** The ops counters of firmware/shared/rpc.ts, in payload order (u32 LE each). */
export const RPC_COUNTERS = [
  'framesOk', 'errCrc', 'errCobs', 'errOversize', 'errTooShort', 'badHeaders', 'ignored',
  'bytesDiscarded', 'rxBytes', 'uptimeMs', 'requests', 'responses', 'errorsOut', 'malformed',
  'unknownKeys', 'streamItems', 'pings', 'hellos', 'cancels', 'goodbyes', 'txFrames',
  'rxOverruns', 'rxPeak',
] as const;
export type RpcCounters = Record<(typeof RPC_COUNTERS)[number], number>;

export function decodeRpcCounters(p: Uint8Array): RpcCounters {
  const c = {} as RpcCounters;
  RPC_COUNTERS.forEach((name, i) => { c[name] = i * 4 + 4 <= p.length ? readU32LE(p, i * 4) : NaN; });
  return c;
}

/** Call ids of raw requests: far above what a connection uses in a test run. */
const RAW_ID_FIRST = 0x7f000000;

export class TapLink implements Link {
  /** Frames received from the device, by kind (all of them, also those passed on). */
  readonly kinds = new Array<number>(16).fill(0);
  /** The payload flags byte of every HELLO received, in order (HELLO_FLAG_ANSWER marks answers). */
  readonly helloFlags: number[] = [];
  /** STREAM_ITEM frames received, by call id. */
  readonly itemsByCall = new Map<number, number>();
  private handlers: LinkHandlers | null = null;
  private readonly h = new Header();
  private nextRawId = RAW_ID_FIRST;
  private readonly raw = new Map<number, { res: (f: ReceivedFrame) => void; timer: ReturnType<typeof setTimeout> }>();

  constructor(readonly inner: Link, private readonly timeoutMs = 5000) {}

  get caps(): LinkCapabilities { return this.inner.caps; }
  get stats(): LinkStats { return this.inner.stats; }
  get closed(): boolean { return this.inner.closed; }

  start(handlers: LinkHandlers): void {
    this.handlers = handlers;
    this.inner.start({
      onFrame: this.onFrame,
      onClose: (err) => {
        for (const [, r] of this.raw) clearTimeout(r.timer);
        this.raw.clear();
        handlers.onClose(err);
      },
      onDrain: () => handlers.onDrain?.(),
    });
  }

  send(frame: Uint8Array, len?: number): boolean { return this.inner.send(frame, len); }
  close(): void { this.inner.close(); }

  private readonly onFrame = (buf: Uint8Array, off: number, len: number): void => {
    const h = this.h;
    if (readHeader(buf, off, len, len, h) > 0) {
      this.kinds[h.kind]!++;
      if (h.kind === 1) this.helloFlags.push(h.length >= 2 ? buf[off + HEADER_BYTES + 1]! : -1);
      if (h.kind === 6) this.itemsByCall.set(h.callId, (this.itemsByCall.get(h.callId) ?? 0) + 1);
      const r = this.raw.get(h.callId);
      if (r !== undefined || h.channel === CHANNEL_OPS) {
        if (r !== undefined) {
          clearTimeout(r.timer);
          this.raw.delete(h.callId);
          r.res({
            kind: h.kind, flags: h.flags, channel: h.channel, callId: h.callId, keyLo: h.keyLo, keyHi: h.keyHi,
            payload: buf.slice(off + HEADER_BYTES, off + HEADER_BYTES + h.length),
          });
        }
        return;
      }
    }
    this.handlers?.onFrame(buf, off, len);
  };

  /** Send a hand-made frame (no answer expected). */
  sendFrame(f: FrameFields, payload?: Uint8Array): void {
    const raw = rawFrame(f, payload);
    this.inner.send(raw, raw.length);
  }

  /** Send a hand-made frame with a fresh raw call id and wait for the frame that answers it. */
  call(f: Omit<FrameFields, 'callId'>, payload?: Uint8Array): Promise<ReceivedFrame> {
    const callId = this.nextRawId++;
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.raw.delete(callId);
        rej(new Error(`no answer to raw frame (kind ${f.kind}, call id 0x${callId.toString(16)}) within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.raw.set(callId, { res, timer });
      this.sendFrame({ ...f, callId }, payload);
    });
  }

  /**
   * Hand-made frames with fresh raw call ids, written back to back in ONE write (a burst: the
   * device receives them faster than it answers); resolves with their answers, in send order.
   */
  callBurst(frames: readonly { f: Omit<FrameFields, 'callId'>; payload?: Uint8Array }[]): Promise<ReceivedFrame[]> {
    const parts: Uint8Array[] = [Uint8Array.of(0)];
    const answers = frames.map(({ f, payload }) => {
      const callId = this.nextRawId++;
      parts.push(encodeFrame(rawFrame({ ...f, callId }, payload)));
      return new Promise<ReceivedFrame>((res, rej) => {
        const timer = setTimeout(() => {
          this.raw.delete(callId);
          rej(new Error(`no answer to burst frame (kind ${f.kind}, call id 0x${callId.toString(16)}) within ${this.timeoutMs} ms`));
        }, this.timeoutMs);
        this.raw.set(callId, { res, timer });
      });
    });
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((o, p) => (bytes.set(p, o), o + p.length), 0);
    this.writeBytes(bytes);
    return Promise.all(answers);
  }

  /** The device's ops counters (a REQUEST on channel 2). */
  async counters(): Promise<RpcCounters> {
    const f = await this.call({ kind: KIND_REQUEST, channel: CHANNEL_OPS });
    return decodeRpcCounters(f.payload);
  }

  /** Raw bytes on the line, bypassing framing (garbage). Needs a StreamLink underneath. */
  writeBytes(bytes: Uint8Array): void {
    (this.inner as StreamLink).writeRaw(bytes);
  }

  /** A frame of any size, framed (COBS + CRC) but not checked against the MTU. */
  writeFrame(f: FrameFields, payload?: Uint8Array): void {
    this.writeBytes(Uint8Array.of(0, ...encodeFrame(rawFrame(f, payload))));
  }
}
