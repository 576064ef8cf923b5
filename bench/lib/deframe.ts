// Adapter over src/framing/frame.ts + deframer.ts: `feed(chunk, off, len)`, then `next()` returns
// the length of the next complete frame (≤ 0: none yet) whose bytes are in `deframer.frame`.
import type { CellFraming } from './cell.ts';

/** bytes to reserve for one encoded frame of an n-byte payload (CRC + COBS overhead + delimiter) */
export function frameBufBytes(f: CellFraming, n: number): number {
  return f.frameMaxEncodedBytes ? f.frameMaxEncodedBytes(n) : n + 4 + Math.ceil((n + 4) / 254) + 2;
}

export interface DeframeAdapter {
  /** feed one encoded frame, return a copy of the delivered payload (or null) */
  roundTrip(frame: Uint8Array, len: number): Uint8Array | null;
  /** timing task: K × (feed a pre-encoded frame + next) */
  task(frame: Uint8Array, len: number, K: number, sink: (v: number) => void): () => void;
  /** timing task: K × (frameEncode + feed + next) */
  encodeAndDeframeTask(payload: Uint8Array, fb: Uint8Array, K: number, sink: (v: number) => void): () => void;
}

export function makeDeframeAdapter(f: CellFraming, maxFrameBytes = 8192): DeframeAdapter {
  const Deframer = f.Deframer!;
  const frameEncode = f.frameEncode!;
  return {
    roundTrip(frame, len) {
      const d = new Deframer(maxFrameBytes);
      // feed byte-split in two chunks to exercise partial input, then drain
      const cut = len >> 1;
      d.feed(frame, 0, cut);
      if (d.next() > 0) return null; // nothing complete yet
      d.feed(frame, cut, len - cut);
      const n = d.next();
      if (n <= 0) return null;
      const out = d.frame.slice(0, n) as Uint8Array;
      if (d.next() > 0) return null; // exactly one frame
      // and again, fed whole: the deframer keeps working after a frame
      d.feed(frame, 0, len);
      const n2 = d.next();
      if (n2 !== n) return null;
      return out;
    },
    task(frame, len, K, sink) {
      const d = new Deframer(maxFrameBytes);
      return () => {
        let s = 0;
        for (let i = 0; i < K; i++) {
          d.feed(frame, 0, len);
          s += d.next();
        }
        sink(s);
      };
    },
    encodeAndDeframeTask(payload, fb, K, sink) {
      const d = new Deframer(maxFrameBytes);
      const n = payload.length;
      return () => {
        let s = 0;
        for (let i = 0; i < K; i++) {
          const m = frameEncode(payload, 0, n, fb, 0);
          d.feed(fb, 0, m);
          s += d.next();
        }
        sink(s);
      };
    },
  };
}
