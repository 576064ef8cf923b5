// The schema of the thermo cell: a four-channel thermometer. Declared once: `cell run` serves it,
// `cell gen` gives every caller a typed client of it, `cell check` notices when it changes.
import { appError, defineCell, method, stream } from '../../src/rpc/index.ts';
import { f32, string, struct, u16, u32, u8 } from '../../src/codec/index.ts';

/** Channels 0..3: greenhouse, cellar, attic, boiler. */
export const CHANNELS = ['greenhouse', 'cellar', 'attic', 'boiler'] as const;

export const ReadReq = struct('ReadReq', { channel: u8 });
export const Reading = struct('Reading', { channel: u8, sensor: string(16), celsius: f32, seq: u32 });
/** Payload of the declared error `sensorFault` (code 1001). */
export const SensorFault = struct('SensorFault', { channel: u8, channels: u8, reason: string(48) });
/** Event: a reading above the channel's limit. */
export const Alarm = struct('Alarm', { channel: u8, celsius: f32, limit: f32 });
export const SamplesReq = struct('SamplesReq', { channel: u8, count: u16, intervalMs: u16 });
export const Sample = struct('Sample', { i: u32, celsius: f32 });

const sensorFault = appError(1001, SensorFault);

export const Thermo = defineCell({
  name: 'thermo',
  version: '1.0.0',
  methods: {
    read: method(ReadReq, Reading, { errors: { sensorFault } }),
  },
  events: { alarm: Alarm },
  streams: {
    samples: stream(SamplesReq, Sample, { errors: { sensorFault } }),
  },
});
