// Node-only framing accelerator (docs/uart.md §6 "COBS + CRC"): the portable framing core
// (frame.ts frameEncode, deframer.ts Deframer) compiled by asc for speed
// (build/wasm/framing-accel.wasm, entry firmware/core/accel.ts, `npm run build:wasm`), run inside
// Node. Bytes are copied into the instance's linear memory with TypedArray.set (native memcpy),
// encoded / deframed there, and the results are read through views of that memory. The wasm
// build uses 8-byte word copies and word-load slice-by-16 CRC (wasmkernels.ts), which V8 cannot
// match from JS over typed arrays: ~2-3x less CPU per byte at 512 B and up.
//
// Same output, byte for byte, as the JS path (test/framing/wasm-accel.test.ts compares both over
// random frames and every split). When the .wasm is not there (a package built without
// `npm run build:wasm`), or WebAssembly is unavailable, createWasmFraming returns null and
// callers keep the JS path silently; `CELL_WASM_FRAMING=0` in the environment forces that too.
//
// One instance per link: its memory holds the frame source (maxFrameBytes), the link's staging
// buffer (encode writes straight into it) and the receive buffer (a read chunk is copied there
// whole). Nothing allocates after creation except: a chunk larger than any seen before grows the
// receive buffer (doubling), and a send from a larger buffer than the frame (len <
// src.length / 2, or src larger than maxFrameBytes) copies through a subarray view, cached for
// the last (buffer, length) pair.
import { readFileSync } from 'node:fs';
import { ERR_FRAME_BUFFER_TOO_SMALL } from '../wire/errors.ts';

// The WebAssembly global, typed here: tsconfig's lib (ES2022, no DOM) does not declare it.
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmModule { readonly __wasmModule?: never }
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { readonly exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** The exports of build/wasm/framing-accel.wasm (firmware/core/accel.ts). */
interface AccelExports {
  memory: WasmMemory;
  init(maxFrameBytes: number, outBytes: number, rxBytes: number): void;
  rxGrow(rxBytes: number): void;
  txPtr(): number;
  outPtr(): number;
  rxPtr(): number;
  rxBytes(): number;
  framePtr(): number;
  frameBytes(): number;
  encode(len: number, dstOff: number): number;
  feed(len: number): void;
  next(): number;
  reset(): void;
  resetCounters(): void;
  framesOk(): number;
  errCobs(): number;
  errCrc(): number;
  errOversize(): number;
  errTooShort(): number;
  bytesDiscarded(): number;
  lastError(): number;
}

let cached: WasmModule | null | undefined;

/** Where the .wasm is looked for: next to this module (a packaged dist/), then the repo build. */
const CANDIDATES = ['./framing-accel.wasm', '../../build/wasm/framing-accel.wasm'];

/** The compiled module, or null when the .wasm is absent or does not compile (then: JS path). */
export function framingAccelModule(): WasmModule | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (wasmApi === undefined) return null;
  for (const rel of CANDIDATES) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(new URL(rel, import.meta.url));
    } catch {
      continue;
    }
    try {
      cached = new wasmApi.Module(bytes);
    } catch {
      cached = null;
    }
    break;
  }
  return cached;
}

/** Whether the accelerator can be used here (the .wasm was found and compiles). */
export function wasmFramingAvailable(): boolean {
  return process.env.CELL_WASM_FRAMING !== '0' && framingAccelModule() !== null;
}

/**
 * frameEncode + Deframer in a wasm instance. The deframer half has Deframer's interface
 * (feed / next / frame / counters), with one difference in the caller's favour: feed() copies the
 * chunk, so the caller may reuse it at once.
 */
export class WasmFraming {
  readonly maxFrameBytes: number;
  private readonly outBytes: number;
  private readonly x: AccelExports;
  private memBuf: ArrayBuffer;
  private tx!: Uint8Array;
  private rx!: Uint8Array;
  /** The staging buffer in wasm memory that encode() writes to (outBytes long). */
  stage!: Uint8Array;
  /** Decoded frame buffer (Deframer.frame): after next() returned n > 0, bytes [0, n). */
  frame!: Uint8Array;
  private lastSrc: Uint8Array | null = null;
  private lastLen = -1;
  private lastView: Uint8Array | null = null;

  /** Use createWasmFraming (returns null when the accelerator is unavailable). */
  constructor(mod: WasmModule, maxFrameBytes: number, outBytes: number, rxBytes: number) {
    const abort = (): never => { throw new Error('framing-accel.wasm aborted'); };
    const inst = new wasmApi!.Instance(mod, { env: { abort } });
    this.x = inst.exports as unknown as AccelExports;
    this.maxFrameBytes = maxFrameBytes;
    this.outBytes = outBytes;
    this.x.init(maxFrameBytes, outBytes, rxBytes);
    this.memBuf = this.x.memory.buffer;
    this.views();
  }

  // (Re)make the views; needed only after the memory grew (init, rxGrow).
  private views(): void {
    const x = this.x;
    this.memBuf = x.memory.buffer;
    const m = new Uint8Array(this.memBuf);
    this.tx = m.subarray(x.txPtr(), x.txPtr() + this.maxFrameBytes);
    this.rx = m.subarray(x.rxPtr(), x.rxPtr() + x.rxBytes());
    this.stage = m.subarray(x.outPtr(), x.outPtr() + this.outBytes);
    this.frame = m.subarray(x.framePtr(), x.framePtr() + x.frameBytes());
  }

  /**
   * frameEncode(src, 0, len, stage, dstOff): the frame for src[0..len) at stage[dstOff..].
   * Returns the bytes written or -code, exactly as frameEncode. len must be 1..maxFrameBytes
   * (0 gives -ERR_FRAME_TOO_SHORT as frameEncode; larger: -ERR_FRAME_BUFFER_TOO_SMALL).
   */
  encode(src: Uint8Array, len: number, dstOff: number): number {
    if (this.x.memory.buffer !== this.memBuf) this.views();
    if (len > this.maxFrameBytes || len > src.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
    if (len > 0) {
      if (src.length <= this.maxFrameBytes && src.length <= 2 * len) {
        this.tx.set(src); // the whole array: no view object; at most twice the bytes
      } else {
        if (src !== this.lastSrc || len !== this.lastLen) {
          this.lastSrc = src;
          this.lastLen = len;
          this.lastView = src.subarray(0, len);
        }
        this.tx.set(this.lastView!);
      }
    }
    return this.x.encode(len, dstOff);
  }

  /** Deframer.feed: chunk[off..off+len) (len -1 = to the end; clamped), copied. */
  feed(chunk: Uint8Array, off = 0, len = -1): void {
    const n = chunk.length;
    if (off < 0) off = 0;
    if (off > n) off = n;
    if (len < 0 || len > n - off) len = n - off;
    // An empty feed first: if the previous chunk has unread bytes, the deframer drops them (and
    // looks at their last byte) now, while they are still in the receive buffer.
    this.x.feed(0);
    if (this.x.memory.buffer !== this.memBuf) this.views();
    if (len > this.rx.length) {
      let cap = this.rx.length * 2;
      while (cap < len) cap *= 2;
      this.x.rxGrow(cap);
      this.views();
    }
    if (off === 0 && len === n) this.rx.set(chunk);
    else this.rx.set(chunk.subarray(off, off + len));
    this.x.feed(len);
  }

  /** Deframer.next: n > 0 = a CRC-verified frame in frame[0, n); 0 = the chunk is used up. */
  next(): number {
    return this.x.next();
  }

  reset(): void { this.x.reset(); }
  resetCounters(): void { this.x.resetCounters(); }
  get framesOk(): number { return this.x.framesOk() >>> 0; }
  get errCobs(): number { return this.x.errCobs() >>> 0; }
  get errCrc(): number { return this.x.errCrc() >>> 0; }
  get errOversize(): number { return this.x.errOversize() >>> 0; }
  get errTooShort(): number { return this.x.errTooShort() >>> 0; }
  get bytesDiscarded(): number { return this.x.bytesDiscarded() >>> 0; }
  get lastError(): number { return this.x.lastError(); }
}

/**
 * A WasmFraming for frames of up to maxFrameBytes (header + payload), a staging buffer of
 * outBytes and an initial receive buffer of rxBytes; null when the accelerator is unavailable
 * (see wasmFramingAvailable) — then use frameEncode / Deframer.
 */
export function createWasmFraming(maxFrameBytes: number, outBytes: number, rxBytes = 65536): WasmFraming | null {
  if (!wasmFramingAvailable()) return null;
  return new WasmFraming(framingAccelModule()!, maxFrameBytes, outBytes, rxBytes);
}
