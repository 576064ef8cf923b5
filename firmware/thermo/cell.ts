// The `thermo` sensor cell's application (schema: firmware/thermo/schema.ts; docs/firmware.md
// §"Thermo sensor cell"): decode, serve, encode — on whatever port (an RpcCore) the app hands to
// thermoOn(). Shared by firmware/thermo/app.ts (plain), firmware/thermo-secure/app.ts (sealed
// frames: firmware/shared/rpc-secure.ts) and firmware/thermo-can/app.ts (a CAN node:
// firmware/shared/rpc-can.ts). AssemblyScript only.
//
//   read({channel})            → Reading {channel, celsius, seq}; channel >= 4 → sensorFault (1001)
//                                with {channel, reason: noSuchChannel}
//   setLed({on})               → {on}
//   configure({intervalMs, alarmAbove}) → {ok}; intervalMs 0 or a NaN threshold → ok = false, nothing changes
//   info({})                   → DeviceInfo {name, fwVersion, schema fingerprint}: a constant, encoded
//                                by the Node codec at build time (gen.ts) and copied
//   samples({count}) stream    → Sample {i, celsius} × count, one per intervalMs, only while credit lasts
//
// The ADC is simulated: celsius = (80 + 6·channel + (37·seq + 11·channel) mod 41) / 4 — quarter
// degrees, exact in f32 (simulatedCelsius in schema.ts is the host's copy). Every codec object is
// a module global, allocated in the app's start function (asc compiles a global's initialiser
// where it is first used: thermoOn, called from the app's top level); poll() never allocates.
// There is no other top-level statement here on purpose: the app's start function stays one
// function that allocates (test/firmware/thermo-sim.test.ts checks it).
import { millis } from '../shared/rpc.ts';
import { RpcCore, RPC_PAYLOAD, RPC_ERROR_PAYLOAD } from '../shared/rpc-core.ts';
import {
  ENTRY_READ, ENTRY_SET_LED, ENTRY_CONFIGURE, ENTRY_INFO,
  ENTRY_SAMPLES, ERR_READ_SENSOR_FAULT, SENSOR_CHANNELS, INFO_PAYLOAD, INFO_PAYLOAD_LEN,
} from './gen/consts.ts';
import {
  ReadReq, decodeReadReq, Reading, encodeReading, SensorFault, encodeSensorFault, FaultReason,
  LedReq, decodeLedReq, LedState, encodeLedState, ConfigReq, decodeConfigReq, ConfigRes,
  encodeConfigRes, InfoReq, decodeInfoReq, SampleReq, decodeSampleReq, Sample, encodeSample,
} from './gen/codec.ts';

/** The device the cell is served on (thermoOn). A global, not a parameter: the image stays as small. */
let RPC: RpcCore = changetype<RpcCore>(0);

const READ_REQ = new ReadReq();
const READING = new Reading();
const FAULT = new SensorFault();
const LED_REQ = new LedReq();
const LED = new LedState();
const CONFIG_REQ = new ConfigReq();
const CONFIG_RES = new ConfigRes();
const INFO_REQ = new InfoReq();
const SAMPLE_REQ = new SampleReq();
const SAMPLE = new Sample();

// Device state (reset = power-on defaults).
let seq: u32 = 0;
let intervalMs: u32 = 100;
let alarmAbove: f32 = 85; // stored for a future alarm event; configure() validates it
let sampleNext: u32 = 0;
let sampleCount: u32 = 0;
let sampleDueAt: u32 = 0;

/** q / 4 as an f32, built from bits (0 < q < 2^24): integer instructions only, so the image
 *  needs no soft-float routines (a Cortex-M3 has no FPU). */
function quarter(q: u32): f32 {
  const e: u32 = 31 - clz<u32>(q); // q in [2^e, 2^(e+1))
  return reinterpret<f32>(((125 + e) << 23) | ((q << (23 - e)) & 0x7fffff));
}

/** The simulated ADC, in quarter degrees. */
function celsius(channel: u32, s: u32): f32 {
  const k: u32 = s * 37 + channel * 11;
  return quarter(80 + channel * 6 + k % 41);
}

/** f32 NaN test on the bits (no float compare). */
function isNaN32(x: f32): bool {
  return (reinterpret<u32>(x) & 0x7fffffff) > 0x7f800000;
}

function handle(e: i32): void {
  const req = RPC.req;
  const end = RPC.reqEnd;
  const out = RPC.out;
  // Decode (one check for all: a request that does not decode, or leaves bytes over, is Malformed).
  let r: i32 = -1;
  if (e == ENTRY_READ) r = decodeReadReq(req, RPC_PAYLOAD, end, READ_REQ);
  else if (e == ENTRY_SET_LED) r = decodeLedReq(req, RPC_PAYLOAD, end, LED_REQ);
  else if (e == ENTRY_CONFIGURE) r = decodeConfigReq(req, RPC_PAYLOAD, end, CONFIG_REQ);
  else if (e == ENTRY_INFO) r = decodeInfoReq(req, RPC_PAYLOAD, end, INFO_REQ);
  else if (e == ENTRY_SAMPLES) r = decodeSampleReq(req, RPC_PAYLOAD, end, SAMPLE_REQ);
  if (r != end - RPC_PAYLOAD) {
    RPC.malformed(r);
    return;
  }
  // Serve.
  let n: i32;
  if (e == ENTRY_READ) {
    const ch = READ_REQ.channel;
    if (<i32>ch >= SENSOR_CHANNELS) {
      FAULT.channel = ch;
      RPC.failApp(ERR_READ_SENSOR_FAULT, encodeSensorFault(FAULT, out, RPC_ERROR_PAYLOAD));
      return;
    }
    READING.channel = ch;
    READING.seq = ++seq;
    READING.celsius = celsius(ch, seq);
    n = encodeReading(READING, out, RPC_PAYLOAD);
  } else if (e == ENTRY_SET_LED) {
    LED.on = LED_REQ.on;
    n = encodeLedState(LED, out, RPC_PAYLOAD);
  } else if (e == ENTRY_CONFIGURE) {
    const ok = CONFIG_REQ.intervalMs != 0 && !isNaN32(CONFIG_REQ.alarmAbove);
    if (ok) {
      intervalMs = <u32>CONFIG_REQ.intervalMs;
      alarmAbove = CONFIG_REQ.alarmAbove;
    }
    CONFIG_RES.ok = ok;
    n = encodeConfigRes(CONFIG_RES, out, RPC_PAYLOAD);
  } else if (e == ENTRY_INFO) {
    n = RPC.putStatic(RPC_PAYLOAD, INFO_PAYLOAD, INFO_PAYLOAD_LEN) - RPC_PAYLOAD; // encoded at build time
  } else {
    RPC.streamStart(); // samples: items go out from tickSamples as credit and time allow
    sampleNext = 0;
    sampleCount = <u32>SAMPLE_REQ.count;
    sampleDueAt = millis();
    return;
  }
  RPC.respond(n);
}

/** The samples stream: one item per intervalMs while the consumer has granted credit. */
function tickSamples(): void {
  if (!RPC.streamActive) return;
  if (sampleNext >= sampleCount) {
    RPC.streamEnd(); // not before the consumer's first CREDIT: then again on the next tick
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

/**
 * Serve the cell on `rpc` from now on (a plain RpcDevice, a secure one: firmware/thermo-secure, or
 * the CAN port: firmware/thermo-can).
 * Call it once, at top level, before the first poll.
 */
export function thermoOn(rpc: RpcCore): void {
  RPC = rpc;
  FAULT.reason = FaultReason.noSuchChannel;
}

/** Every request received so far, then the samples stream. The app's poll() calls it; never blocks. */
export function serveThermo(): void {
  for (let e = RPC.poll(); e >= 0; e = RPC.poll()) handle(e);
  tickSamples();
}
