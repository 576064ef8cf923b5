// cell/framing: COBS + CRC-32C framing for byte-stream links (UART, pipes).
// Node-only entry point: re-exports the portable core (cobs.ts, crc32c.ts, frame.ts,
// deframer.ts) and adds allocating conveniences that throw TypeError/RangeError on bad arguments.
import { Deframer } from './deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from './frame.ts';

export { cobsMaxEncodedBytes, cobsEncodedBytes, cobsEncode, cobsDecode } from './cobs.ts';
export { crc32c, crc32cUpdate, crc32cSmall, crc32cWrite } from './crc32c.ts';
export { FRAME_CRC_BYTES, FRAME_DELIMITER, frameMaxEncodedBytes, frameEncode, frameDecode } from './frame.ts';
export { Deframer } from './deframer.ts';

/** Counters of a deframer, as a plain object. */
export interface DeframerStats {
  framesOk: number;
  errCobs: number;
  errCrc: number;
  errOversize: number;
  errTooShort: number;
  bytesDiscarded: number;
  /** Positive code of the last error (src/wire/errors.ts), 0 if none. */
  lastError: number;
}

function checkBytes(v: unknown, what: string): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/**
 * Encode `payload` (header + payload bytes, at least 1) as one frame in a new Uint8Array:
 * COBS(payload ++ CRC-32C LE) ++ 0x00. Allocates; use frameEncode on hot paths.
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  checkBytes(payload, 'payload');
  if (payload.length === 0) throw new RangeError('payload must not be empty');
  const out = new Uint8Array(frameMaxEncodedBytes(payload.length));
  const n = frameEncode(payload, 0, payload.length, out, 0);
  if (n < 0) throw new RangeError(`frameEncode failed with code ${-n}`); // unreachable: out has the worst-case size
  return out.subarray(0, n);
}

/**
 * A Deframer for Node streams: `stream.on('data', (c) => sd.push(c, onFrame))`.
 * `onFrame(frame)` gets a view into the deframer's buffer, valid only during the callback (copy it
 * with `frame.slice()` to keep it). Errors are counted, see stats().
 */
export class StreamDeframer {
  readonly deframer: Deframer;
  private busy = false;

  /** @param maxFrameBytes largest frame accepted (header + payload, CRC excluded); an integer >= 1. */
  constructor(maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > 0x7ffffff0) {
      throw new RangeError(`maxFrameBytes must be an integer in 1..2147483632, got ${maxFrameBytes}`);
    }
    this.deframer = new Deframer(maxFrameBytes);
  }

  /**
   * Feed one chunk and call onFrame for every complete, CRC-verified frame in it, in order.
   * If onFrame throws, the exception propagates and the rest of that chunk is delivered at the
   * start of the next push. The chunk must not be modified until push returns.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    checkBytes(chunk, 'chunk');
    if (typeof onFrame !== 'function') throw new TypeError('onFrame must be a function');
    if (this.busy) throw new Error('StreamDeframer.push called from inside onFrame');
    const d = this.deframer;
    this.busy = true;
    try {
      // Frames left in the previous chunk because an onFrame threw.
      for (let n = d.next(); n > 0; n = d.next()) onFrame(d.frame.subarray(0, n));
      d.feed(chunk, 0, chunk.length);
      for (let n = d.next(); n > 0; n = d.next()) onFrame(d.frame.subarray(0, n));
    } finally {
      this.busy = false;
    }
  }

  /** Forget a partial frame (e.g. after the link was reopened). Counters are kept. */
  reset(): void {
    this.deframer.reset();
  }

  stats(): DeframerStats {
    const d = this.deframer;
    return {
      framesOk: d.framesOk, errCobs: d.errCobs, errCrc: d.errCrc, errOversize: d.errOversize,
      errTooShort: d.errTooShort, bytesDiscarded: d.bytesDiscarded, lastError: d.lastError,
    };
  }
}
