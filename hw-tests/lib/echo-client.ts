// Host side of the known echo firmware (firmware/echo/app.ts): frames over a serial port, with
// the portable framing and header code (src/framing, src/wire) — the same code the firmware runs.
// Used by test/firmware (qemu) and by hardware runs against a real board (CELL_TEST_UART).
import type { SerialPort as SerialPortType } from 'serialport';
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import {
  Header, HEADER_BYTES, readHeader, writeHeader, KIND_PING, KIND_REQUEST, CHANNEL_OPS,
} from '../../src/wire/header.ts';
import { readU32LE } from '../../src/wire/bytes.ts';

/** Largest frame the echo firmware accepts (header + payload); see MAX_FRAME_BYTES in app.ts. */
export const ECHO_MAX_FRAME_BYTES = 512;
export const ECHO_MAX_PAYLOAD_BYTES = ECHO_MAX_FRAME_BYTES - HEADER_BYTES;

/** The ops counters of the echo firmware, in payload order (u32 LE each). */
export const ECHO_COUNTERS = [
  'framesOk', 'errCrc', 'errCobs', 'errOversize', 'errTooShort', 'badHeaders', 'ignored',
  'bytesDiscarded', 'rxBytes', 'uptimeMs',
] as const;
export type EchoCounters = Record<(typeof ECHO_COUNTERS)[number], number>;

export interface ReceivedFrame {
  kind: number;
  flags: number;
  channel: number;
  callId: number;
  keyLo: number;
  keyHi: number;
  payload: Uint8Array;
}

export interface FrameFields {
  kind: number;
  callId: number;
  channel?: number;
  flags?: number;
  keyLo?: number;
  keyHi?: number;
}

/** header + payload as bytes (not framed). */
export function rawFrame(f: FrameFields, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new Header();
  h.kind = f.kind; h.flags = f.flags ?? 0; h.channel = f.channel ?? 0; h.callId = f.callId >>> 0;
  h.keyLo = (f.keyLo ?? 0) >>> 0; h.keyHi = (f.keyHi ?? 0) >>> 0; h.length = payload.length;
  const raw = new Uint8Array(HEADER_BYTES + payload.length);
  writeHeader(h, raw, 0);
  raw.set(payload, HEADER_BYTES);
  return raw;
}

/** COBS(bytes + CRC-32C) + 0x00, as the wire carries it. */
export function encodeFrame(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(frameMaxEncodedBytes(raw.length));
  const n = frameEncode(raw, 0, raw.length, out, 0);
  if (n < 0) throw new RangeError(`frameEncode failed: ${-n}`);
  return out.slice(0, n);
}

export function decodeCounters(payload: Uint8Array): EchoCounters {
  const c = {} as EchoCounters;
  ECHO_COUNTERS.forEach((name, i) => { c[name] = readU32LE(payload, i * 4); });
  return c;
}

export interface EchoClientOptions {
  /** Give up waiting for one frame after this long. @default 5000 */
  frameTimeoutMs?: number;
}

/**
 * A framed connection to the echo firmware over an open serial port. Incoming frames are queued;
 * next() takes them in order. Bytes that do not deframe are counted (rxErrors), and a panic line
 * of the firmware runtime ("!panic ...") is kept in `panics` for failure messages.
 */
export class EchoClient {
  /** The first few panic lines of the firmware runtime (a boot loop repeats them forever). */
  readonly panics: string[] = [];
  /** All panic lines seen, including those not kept in `panics`. */
  panicCount = 0;
  private readonly deframer = new Deframer(ECHO_MAX_FRAME_BYTES + 64);
  private readonly header = new Header();
  private readonly queue: ReceivedFrame[] = [];
  private waiter: (() => void) | null = null;
  private text = '';
  private readonly frameTimeoutMs: number;

  constructor(readonly port: SerialPortType, opts: EchoClientOptions = {}) {
    this.frameTimeoutMs = opts.frameTimeoutMs ?? 5000;
    port.on('data', (chunk: Uint8Array) => this.onData(chunk));
  }

  /** Frames on the line that failed CRC/COBS/size checks on the host side. */
  get rxErrors(): number {
    const d = this.deframer;
    return d.errCobs + d.errCrc + d.errOversize + d.errTooShort;
  }

  /** Frames received and not yet taken by next(). */
  get pending(): number {
    return this.queue.length;
  }

  private onData(chunk: Uint8Array): void {
    // Keep a short tail of printable text to spot the runtime's panic lines.
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x0a && this.text.startsWith('!panic')) {
        if (this.panicCount++ < 3) this.panics.push(this.text);
      }
      this.text = b >= 0x20 && b < 0x7f ? (this.text + String.fromCharCode(b)).slice(-80) : '';
    }
    const d = this.deframer;
    d.feed(chunk);
    for (let n = d.next(); n > 0; n = d.next()) {
      const h = this.header;
      if (readHeader(d.frame, 0, n, ECHO_MAX_FRAME_BYTES, h) < 0) continue;
      this.queue.push({
        kind: h.kind, flags: h.flags, channel: h.channel, callId: h.callId, keyLo: h.keyLo,
        keyHi: h.keyHi, payload: d.frame.slice(HEADER_BYTES, HEADER_BYTES + h.length),
      });
    }
    if (this.queue.length && this.waiter) this.waiter();
  }

  /** Write bytes and wait until the OS has taken them (fails after the frame timeout). */
  write(bytes: Uint8Array, timeoutMs = this.frameTimeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`write of ${bytes.length} bytes not drained within ${timeoutMs} ms`)), timeoutMs);
      const done = (e: Error | null | undefined) => {
        clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      };
      this.port.write(bytes, (e) => { if (e) done(e); });
      this.port.drain(done);
    });
  }

  send(f: FrameFields, payload?: Uint8Array): Promise<void> {
    return this.write(encodeFrame(rawFrame(f, payload)));
  }

  /** The next received frame, in arrival order. */
  async next(timeoutMs = this.frameTimeoutMs): Promise<ReceivedFrame> {
    if (!this.queue.length) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiter = null;
          const why = this.panicCount ? ` (firmware panicked ${this.panicCount}x: ${this.panics.join('; ')})` : '';
          reject(new Error(`no frame within ${timeoutMs} ms${why}`));
        }, timeoutMs);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        };
      });
    }
    return this.queue.shift()!;
  }

  async ping(callId: number, channel = 0): Promise<ReceivedFrame> {
    await this.send({ kind: KIND_PING, callId, channel });
    return this.next();
  }

  async request(callId: number, payload: Uint8Array, channel = 0): Promise<ReceivedFrame> {
    await this.send({ kind: KIND_REQUEST, callId, channel }, payload);
    return this.next();
  }

  async counters(callId: number): Promise<EchoCounters> {
    const f = await this.request(callId, new Uint8Array(0), CHANNEL_OPS);
    return decodeCounters(f.payload);
  }
}
