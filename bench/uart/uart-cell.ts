// The cell of the UART benchmarks (bench/uart/uart.bench.ts): a 32-byte ping, and server
// streams of big chunks (bulk throughput), of sensor-sized ticks and of 240-byte blocks (paced
// line utilisation). Both benchmark processes import it.
import { struct, array, u8, u32, f32 } from '../../src/codec/index.ts';
import { defineCell, method, stream } from '../../src/rpc/index.ts';

/** Request payload of the RTT ping (the "32 B"). */
export const PING_BYTES = 32;
/** Payload of one bulk stream item: a frame of 4020 B, under the UART link's 4096-byte MTU. */
export const CHUNK_BYTES = 4000;
/** Payload of one paced "block" item. */
export const BLOCK_BYTES = 240;

export const Ping = struct('Ping', { payload: array(u8, PING_BYTES) });
export const Count = struct('Count', { count: u32 });
export const Chunk = struct('Chunk', { data: array(u8, CHUNK_BYTES) });
export const Block = struct('Block', { data: array(u8, BLOCK_BYTES) });
/** A sensor sample: 8 bytes of payload, a 34-byte frame on the wire. */
export const Tick = struct('Tick', { i: u32, v: f32 });

export const UartBenchCell = defineCell({
  name: 'uartbench',
  methods: { ping: method(Ping, Ping) },
  streams: { bulk: stream(Count, Chunk), blocks: stream(Count, Block), ticks: stream(Count, Tick) },
});

/** The byte at index i of every chunk/block the server sends (the client verifies it). */
export const fillByte = (i: number): number => (i * 7 + 1) & 0xff;

/**
 * The secured runs' keys (docs/security.md): a fixed fleet key and device id, so both benchmark
 * processes derive the same device key. Not a secret: a benchmark fixture.
 */
export const BENCH_FLEET_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 5) & 0xff);
export const BENCH_DEVICE_ID = Uint8Array.from([0xbe, 0x9c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
