#!/usr/bin/env node
// A simulated CAN device as a process of its own: a CAN firmware's wasm (build/firmware/
// thermo-can.wasm) on a SocketCAN interface, as one node of the bus — hw-tests/lib/sim-can.ts
// (startCanSim) with the SocketCAN driver (src/transports/can/socketcan.ts, our addon).
//   node hw-tests/lib/sim-can-device.mjs --wasm build/firmware/thermo-can.wasm --can vcan0 --node 10 [--fd]
//     --wasm FILE   the firmware
//     --can IF      the interface (vcan0, can0); its MTU must be 72 with --fd
//     --node N      the board's node id (env.can_node), 0–126
//     --fd          the board sends CAN FD frames (env.can_fd = 1; the socket is opened FD)
// Prints "ready node N on IF" on stdout once the device runs (its boot HELLO goes out at once).
// Reads commands on stdin, one per line: "reset" = the reset button (a new instance),
// "reset MS" = held in reset for MS ms first; each answered "reset done". SIGTERM/SIGINT: power
// off (the socket closed). Panics and resets are logged on stderr ("sim-can: ...").
// Exit codes: 2 usage, 3 SocketCAN unavailable (no addon, no AF_CAN, no such interface: the reason
// on stderr), 4 the wasm does not instantiate.
// Loads the TypeScript through tsx (a devDependency): ~0.3 s at start.
import { tsImport } from 'tsx/esm/api';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const wasm = opt('--wasm');
const ifname = opt('--can');
const node = Number(opt('--node'));
const fd = args.includes('--fd');
if (!wasm || !ifname || !Number.isInteger(node) || node < 0 || node > 126) {
  console.error('usage: sim-can-device.mjs --wasm <file.wasm> --can <ifname> --node <0-126> [--fd]');
  process.exit(2);
}

const { startCanSim } = await tsImport('./sim-can.ts', import.meta.url);
const { openSocketCan } = await tsImport('../../src/transports/can/socketcan.ts', import.meta.url);

let driver;
try {
  driver = openSocketCan(ifname, { fd });
} catch (e) {
  console.error(`sim-can: cannot open ${ifname}: ${e?.message ?? e}`);
  process.exit(3);
}
let sim;
try {
  sim = startCanSim({ wasm, node, driver, fd });
} catch (e) {
  console.error(`sim-can: cannot start ${wasm}: ${e?.message ?? e}`);
  driver.close();
  process.exit(4);
}
let logged = 0;
setInterval(() => {
  const log = sim.log;
  if (log.length > logged) {
    for (const line of log.slice(logged).trimEnd().split('\n')) console.error(`sim-can: node ${node}: ${line}`);
    logged = log.length;
  }
}, 50).unref();

let cmd = '';
process.stdin.on('data', (d) => {
  cmd += d.toString();
  for (let i = cmd.indexOf('\n'); i >= 0; i = cmd.indexOf('\n')) {
    const line = cmd.slice(0, i).trim();
    cmd = cmd.slice(i + 1);
    const m = /^reset(?:\s+(\d+))?$/.exec(line);
    if (m) sim.reset({ offMs: Number(m[1] ?? 0) }).then(() => console.log('reset done'), (e) => console.error(`sim-can: ${e.message}`));
  }
});
process.stdin.on('error', () => {});
const stop = () => { sim.stop(); setTimeout(() => process.exit(0), 50).unref(); };
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, stop);
console.log(`ready node ${node} on ${ifname}${fd ? ' (FD)' : ''}`);
