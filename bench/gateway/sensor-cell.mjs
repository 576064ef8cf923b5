// The cell of the benchmark's Node devices (device.mjs serves it, caller.mjs calls it): thermo's
// read() in miniature. Its describe() answer (564 B) exceeds the 512-byte frames of the gateway's
// --max-frame (the thermo firmware's limit, which applies to every port), so callers use this
// definition instead of fetching the schema — as a typed client of a device would.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { struct, u8, u32, f32 } = await import(`${root}dist/codec/index.js`);
const { defineCell, method } = await import(`${root}dist/rpc/index.js`);

const ReadReq = struct('ReadReq', { channel: u8 });
const Reading = struct('Reading', { channel: u8, celsius: f32, seq: u32 });

/** The sensor cell under `name` (sensor1, sensor2, ...). */
export function sensorCell(name) {
  return defineCell({ name, version: '0.1.0', methods: { read: method(ReadReq, Reading) } });
}
