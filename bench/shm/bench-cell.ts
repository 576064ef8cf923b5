// The cell of the throughput rows of bench/shm/shm.bench.ts: `ping` echoes a 64-byte payload (the
// 64-byte call of bench/rpc), `put` takes a 64 KiB request and answers its length and a checksum
// byte (the 64 KiB row: the request is the bulk, the answer is small). A bytes field holds at most
// 65 535 bytes (src/codec/schema.ts), so the 64 KiB are two fields of 32 KiB.
import { struct, array, bytes, u8, u32 } from '../../src/codec/index.ts';
import { defineCell, method, type Impl } from '../../src/rpc/index.ts';

export const PAYLOAD_BYTES = 64;
export const BLOB_BYTES = 64 * 1024;
export const Msg = struct('Msg', { payload: array(u8, PAYLOAD_BYTES) });
export const Blob = struct('Blob', { a: bytes(BLOB_BYTES / 2), b: bytes(BLOB_BYTES / 2) });
export const Ack = struct('Ack', { n: u32, last: u8 });
export const ShmBenchCell = defineCell({ name: 'shmbench', methods: { ping: method(Msg, Msg), put: method(Blob, Ack) } });

/** The server: `ping` returns its request (pooled, valid until it returns); `put` a reused Ack. */
export function shmBenchImpl(): Impl<typeof ShmBenchCell> {
  const ack = Ack.create();
  return {
    ping: (m) => m,
    put: (q) => { ack.n = q.a.length + q.b.length; ack.last = q.b[q.b.length - 1] ?? 0; return ack; },
  };
}
