// The `thermo` sensor cell, declared once (docs/firmware.md §"Thermo sensor cell").
// Node side: the typed client imports ThermoDef; firmware/thermo/gen.ts turns the same
// declarations into the device's AssemblyScript codecs and constants (keys, HELLO payload,
// fingerprint), so the device never computes SHA-256 and can never disagree with the host.
import { struct, u8, u16, u32, u64, f32, bool, string, optional, enumOf, hash64, hex64 } from '../../src/codec/index.ts';
import { defineCell, method, stream, appError, type CellDef } from '../../src/rpc/index.ts';

/** Channels 0..THERMO_CHANNELS-1 exist; read() of any other fails sensorFault (1001). */
export const THERMO_CHANNELS = 4;
export const THERMO_NAME = 'thermo';
export const THERMO_FW_VERSION = '0.1.0';
/** Largest frame the device accepts (header + payload): payloads up to 492 bytes. The host's
 *  StreamLink must use this as its MTU (then its HELLO fits, or is sent empty). */
export const THERMO_MAX_FRAME_BYTES = 512;

export const ReadReq = struct('ReadReq', { channel: u8 });
export const Reading = struct('Reading', { channel: u8, celsius: f32, seq: u32 });
// An enum rather than a text: what a microcontroller can say about a sensor, in one byte.
export const FaultReason = enumOf('FaultReason', { noSuchChannel: 1, openCircuit: 2, shortCircuit: 3 });
export const SensorFault = struct('SensorFault', { channel: u8, reason: FaultReason });
export const LedReq = struct('LedReq', { on: bool });
export const LedState = struct('LedState', { on: bool });
export const ConfigReq = struct('ConfigReq', { intervalMs: u16, alarmAbove: f32 });
export const ConfigRes = struct('ConfigRes', { ok: bool });
// The codec has no field-less structs; `info({})` is a struct whose only field is an absent
// optional (2 bytes on the wire: 00 00). Reserved for a future "detail level".
export const InfoReq = struct('InfoReq', { reserved: optional(u8) });
export const DeviceInfo = struct('DeviceInfo', { name: string(16), fwVersion: string(12), schema: u64 });
export const SampleReq = struct('SampleReq', { count: u16 });
export const Sample = struct('Sample', { i: u16, celsius: f32 });

export const ThermoDef = defineCell({
  name: THERMO_NAME,
  version: THERMO_FW_VERSION,
  methods: {
    read: method(ReadReq, Reading, { errors: { sensorFault: appError(1001, SensorFault) } }),
    setLed: method(LedReq, LedState),
    configure: method(ConfigReq, ConfigRes),
    info: method(InfoReq, DeviceInfo),
  },
  streams: {
    samples: stream(SampleReq, Sample),
  },
});

/**
 * Schema fingerprint of a cell (what `info().schema` reports): hash64 (first 8 bytes of
 * SHA-256, LE) of `cell <name>` followed by every entry's key as 16 hex digits, in the cell's
 * entry order (methods, streams, events), one space apart. Any change to a name, a schema or the
 * set of entries changes it.
 */
export function cellFingerprint(def: CellDef): bigint {
  return hash64(`cell ${def.name} ${def.entries.map((e) => hex64(e.key)).join(' ')}`);
}

/** The simulated ADC of firmware/thermo/app.ts, in quarter degrees (exact in f32 and f64). */
export function simulatedCelsius(channel: number, seq: number): number {
  const k = (Math.imul(seq, 37) + channel * 11) >>> 0;
  return (80 + channel * 6 + (k % 41)) * 0.25;
}
