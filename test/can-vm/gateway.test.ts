// The gateway and the CAN device layer on real kernel SocketCAN: Debian's kernel in the qemu
// micro-VM (test/helpers/can-vm.ts) with vcan0 (classic) and vcan1 (FD). One VM boot runs
// test/can-vm/inner/gateway.ts: three thermo devices (nodes 10, 11, 12) and a gateway (node 0),
// each on its own socket, callers reaching the proxies by name; each test here checks one of its
// cases. Skipped with the reason when the VM cannot run here (no qemu, kernel, busybox;
// CELL_CAN_VM=0) or the addon is not built.
import { test } from 'uvu';
import { fileURLToPath } from 'node:url';
import { canVmAvailable, canVmCaseTests } from '../helpers/can-vm.ts';
import { canAddonStatus } from '../../src/transports/can/native.ts';

const inner = fileURLToPath(new URL('./inner/gateway.ts', import.meta.url));
const vm = canVmAvailable();
const addon = canAddonStatus();
const skipReason = !vm.ok ? vm.reason : !addon.available ? addon.reason : '';

const CASES: [string, string][] = [
  ['discover', 'three device nodes found (two boot HELLOs, one configured and probed), announced by name'],
  ['calls', 'read, a stream, a typed error and an event through the gateway proxy'],
  ['restart', 'a device restarting mid-call: the call ends Unavailable, then calls resume'],
  ['silent', 'a device gone silent is withdrawn, and announced again when it returns'],
  ['foreign', 'a foreign node flooding other ids does not disturb the calls'],
  ['bigAnswer', 'describe(): a 2.8 KB answer, ~400 classic frames in one burst, arrives whole'],
  ['cli', '`cell call --can vcan0:10 read` from dist/ answers'],
  ['discover-fd', 'CAN FD: three device nodes found and announced'],
  ['calls-fd', 'CAN FD: read, stream, typed error, event through the proxy'],
  ['restart-fd', 'CAN FD: a device restarting mid-call: Unavailable, then resume'],
  ['silent-fd', 'CAN FD: a silent device withdrawn and announced again'],
];

canVmCaseTests(test, {
  label: 'CAN gateway in the VM',
  cases: CASES,
  skipReason,
  run: {
    interfaces: [{ name: 'vcan0' }, { name: 'vcan1', fd: true }],
    commands: [{ script: inner, timeoutMs: 150_000 }],
    timeoutMs: 180_000,
  },
});

test.run();
