// The `thermo` sensor cell (schema: firmware/thermo/schema.ts; docs/firmware.md §"Thermo sensor
// cell"). AssemblyScript only; built by scripts/build-firmware.mjs into build/firmware/thermo.wasm
// (run in Node by hw-tests/lib/sim.ts) and into Cortex-M3 ELFs (run under qemu or on a board).
// The application — read, setLed, configure, info, the samples stream, the simulated ADC — is
// firmware/thermo/cell.ts, shared with firmware/thermo-secure; this file gives it a plain
// RpcDevice. Every buffer and codec object is allocated at the top level (the wasm start
// function); poll() never allocates.
import { RpcDevice } from '../shared/rpc.ts';
import { HELLO, HELLO_LEN, MAX_FRAME_BYTES } from './gen/consts.ts';
import { thermoOn, serveThermo } from './cell.ts';

thermoOn(new RpcDevice(HELLO, HELLO_LEN, MAX_FRAME_BYTES));

/** Called forever by the runtime's main loop (and by the simulator); never blocks. */
export function poll(): void {
  serveThermo();
}
