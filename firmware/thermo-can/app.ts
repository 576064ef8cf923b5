// The `thermo` sensor cell on a CAN bus (docs/firmware.md §"The thermo cell on CAN"): the same
// cell as firmware/thermo (its code: firmware/thermo/cell.ts; its schema, keys and HELLO:
// firmware/thermo/gen/, generated from firmware/thermo/schema.ts) on a CanRpcDevice
// (firmware/shared/rpc-can.ts): a node on the bus with the id the board is configured with
// (env.can_node), speaking the compact CAN profile (docs/wire-format.md §8), classic frames or
// CAN FD (env.can_fd). Built by scripts/build-firmware.mjs into build/firmware/thermo-can.wasm
// (the simulator's input: hw-tests/lib/sim-can.ts, hw-tests/lib/sim-can-device.mjs) and
// thermo-can-<board>.elf (links with the runtime's weak can_* stubs: no CAN controller on the
// qemu boards).
import { CanRpcDevice } from '../shared/rpc-can.ts';
import { HELLO, HELLO_LEN, MAX_FRAME_BYTES } from '../thermo/gen/consts.ts';
import { thermoOn, serveThermo } from '../thermo/cell.ts';

thermoOn(new CanRpcDevice(HELLO, HELLO_LEN, MAX_FRAME_BYTES));

/** Called forever by the runtime's main loop (and by the simulator); never blocks. */
export function poll(): void {
  serveThermo();
}
