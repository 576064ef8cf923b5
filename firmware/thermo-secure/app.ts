// The `thermo` sensor cell with link security (docs/firmware.md §"Link security on the device"):
// the same cell as firmware/thermo (its code: firmware/thermo/cell.ts; its schema, keys and HELLO:
// firmware/thermo/gen/, generated from firmware/thermo/schema.ts), on a SecureRpcDevice
// (firmware/shared/rpc-secure.ts): provisioned from the board's key page at the first poll, it
// speaks only sealed frames (ChaCha20-Poly1305), with a boot counter persisted in the board's
// flash. Unprovisioned (blank key page) it behaves like firmware/thermo.
// Built by scripts/build-firmware.mjs into build/firmware/thermo-secure.wasm (the simulator's
// input: hw-tests/lib/sim.ts with secRecord/secFlash) and thermo-secure-<board>.elf.
import { SecureRpcDevice } from '../shared/rpc-secure.ts';
import { HELLO, HELLO_LEN, MAX_FRAME_BYTES } from '../thermo/gen/consts.ts';
import { thermoOn, serveThermo } from '../thermo/cell.ts';

thermoOn(new SecureRpcDevice(HELLO, HELLO_LEN, MAX_FRAME_BYTES));

/** Called forever by the runtime's main loop (and by the simulator); never blocks. */
export function poll(): void {
  serveThermo();
}
