// The `thermo` sensor cell (schema: firmware/thermo/schema.ts; docs/firmware.md §"Thermo sensor
// cell"). AssemblyScript only; built by scripts/build-firmware.mjs into build/firmware/thermo.wasm
// (run in Node by hw-tests/lib/sim.ts) and into Cortex-M3 ELFs (run under qemu or on a board).
//
//   read({channel})            → Reading {channel, celsius, seq}; channel >= 4 → sensorFault (1001)
//   setLed({on})               → {on}
//   configure({intervalMs, alarmAbove}) → {ok}; intervalMs 0 or a NaN threshold → ok = false, nothing changes
//   info({})                   → DeviceInfo {name, fwVersion, schema fingerprint}
//   samples({count}) stream    → Sample {i, celsius} × count, one per intervalMs, only while credit lasts
//
// The ADC is simulated: celsius = (80 + 6·channel + (37·seq + 11·channel) mod 41) / 4 — quarter
// degrees, exact in f32 (simulatedCelsius in schema.ts is the host's copy). Every buffer and
// codec object is allocated here at the top level (the wasm start function); poll() never allocates.
import { RpcDevice, RPC_PAYLOAD, RPC_ERROR_PAYLOAD, millis } from '../shared/rpc.ts';
import {
  HELLO, HELLO_LEN, MAX_FRAME_BYTES, ENTRY_READ, ENTRY_SET_LED, ENTRY_CONFIGURE, ENTRY_INFO,
  ENTRY_SAMPLES, ERR_READ_SENSOR_FAULT, SCHEMA_FINGERPRINT, SENSOR_CHANNELS, CELL_NAME,
  CELL_NAME_LEN, FW_VERSION, FW_VERSION_LEN,
} from './gen/consts.ts';
import {
  ReadReq, decodeReadReq, Reading, encodeReading, SensorFault, encodeSensorFault, LedReq,
  decodeLedReq, LedState, encodeLedState, ConfigReq, decodeConfigReq, ConfigRes, encodeConfigRes,
  InfoReq, decodeInfoReq, DeviceInfo, encodeDeviceInfo, SampleReq, decodeSampleReq, Sample,
  encodeSample,
} from './gen/codec.ts';

const RPC = new RpcDevice(HELLO, HELLO_LEN, MAX_FRAME_BYTES);

const READ_REQ = new ReadReq();
const READING = new Reading();
const FAULT = new SensorFault();
const LED_REQ = new LedReq();
const LED = new LedState();
const CONFIG_REQ = new ConfigReq();
const CONFIG_RES = new ConfigRes();
const INFO_REQ = new InfoReq();
const INFO = new DeviceInfo();
const SAMPLE_REQ = new SampleReq();
const SAMPLE = new Sample();

// Device state (reset = power-on defaults).
let seq: u32 = 0;
let intervalMs: u32 = 100;
let alarmAbove: f32 = 85; // stored for a future alarm event; configure() validates it
let sampleNext: u32 = 0;
let sampleCount: u32 = 0;
let sampleDueAt: u32 = 0;

// Constant parts of the answers, filled once.
memory.copy(INFO.name.dataStart, CELL_NAME, <usize>CELL_NAME_LEN);
INFO.nameLength = CELL_NAME_LEN;
memory.copy(INFO.fwVersion.dataStart, FW_VERSION, <usize>FW_VERSION_LEN);
INFO.fwVersionLength = FW_VERSION_LEN;
INFO.schema = SCHEMA_FINGERPRINT;
const FAULT_REASON = 'no such channel';
for (let i = 0; i < FAULT_REASON.length; i++) FAULT.reason[i] = <u8>FAULT_REASON.charCodeAt(i);
FAULT.reasonLength = FAULT_REASON.length;

/** The simulated ADC, in quarter degrees. */
function celsius(channel: u32, s: u32): f32 {
  const k: u32 = s * 37 + channel * 11;
  const q: u32 = 80 + channel * 6 + k % 41;
  return <f32>q * <f32>0.25;
}

function handle(e: i32): void {
  const req = RPC.req;
  const end = RPC.reqEnd;
  const out = RPC.out;
  let r: i32;
  if (e == ENTRY_READ) {
    r = decodeReadReq(req, RPC_PAYLOAD, end, READ_REQ);
    if (r != end - RPC_PAYLOAD) { RPC.malformed(r); return; }
    const ch = READ_REQ.channel;
    if (<i32>ch >= SENSOR_CHANNELS) {
      FAULT.channel = ch;
      RPC.failApp(ERR_READ_SENSOR_FAULT, encodeSensorFault(FAULT, out, RPC_ERROR_PAYLOAD));
      return;
    }
    READING.channel = ch;
    READING.seq = ++seq;
    READING.celsius = celsius(ch, seq);
    RPC.respond(encodeReading(READING, out, RPC_PAYLOAD));
  } else if (e == ENTRY_SET_LED) {
    r = decodeLedReq(req, RPC_PAYLOAD, end, LED_REQ);
    if (r != end - RPC_PAYLOAD) { RPC.malformed(r); return; }
    LED.on = LED_REQ.on;
    RPC.respond(encodeLedState(LED, out, RPC_PAYLOAD));
  } else if (e == ENTRY_CONFIGURE) {
    r = decodeConfigReq(req, RPC_PAYLOAD, end, CONFIG_REQ);
    if (r != end - RPC_PAYLOAD) { RPC.malformed(r); return; }
    const a = CONFIG_REQ.alarmAbove;
    const ok = CONFIG_REQ.intervalMs != 0 && a == a;
    if (ok) {
      intervalMs = <u32>CONFIG_REQ.intervalMs;
      alarmAbove = a;
    }
    CONFIG_RES.ok = ok;
    RPC.respond(encodeConfigRes(CONFIG_RES, out, RPC_PAYLOAD));
  } else if (e == ENTRY_INFO) {
    r = decodeInfoReq(req, RPC_PAYLOAD, end, INFO_REQ);
    if (r != end - RPC_PAYLOAD) { RPC.malformed(r); return; }
    RPC.respond(encodeDeviceInfo(INFO, out, RPC_PAYLOAD));
  } else if (e == ENTRY_SAMPLES) {
    r = decodeSampleReq(req, RPC_PAYLOAD, end, SAMPLE_REQ);
    if (r != end - RPC_PAYLOAD) { RPC.malformed(r); return; }
    RPC.streamStart();
    sampleNext = 0;
    sampleCount = <u32>SAMPLE_REQ.count;
    sampleDueAt = millis();
  }
}

/** The samples stream: one item per intervalMs while the consumer has granted credit. */
function tickSamples(): void {
  if (!RPC.streamActive) return;
  if (sampleNext >= sampleCount) {
    RPC.streamEnd();
    return;
  }
  if (!RPC.streamReady()) return;
  const now = millis();
  if (<i32>(now - sampleDueAt) < 0) return;
  sampleDueAt = now + intervalMs;
  SAMPLE.i = <u16>sampleNext;
  SAMPLE.celsius = celsius(0, sampleNext);
  sampleNext++;
  RPC.streamItem(encodeSample(SAMPLE, RPC.out, RPC_PAYLOAD));
}

/** Called forever by the runtime's main loop (and by the simulator); never blocks. */
export function poll(): void {
  for (let e = RPC.poll(); e >= 0; e = RPC.poll()) handle(e);
  tickSamples();
}
