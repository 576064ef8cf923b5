// The link compliance suite on real kernel SocketCAN: test/can-vm/inner/compliance.ts runs it in
// the CAN micro-VM (one boot) between two CanBus nodes on their own sockets of a classic and an
// FD vcan, and this test reads uvu's summary. Skipped with the reason when the VM cannot run here
// (no qemu, kernel, busybox; CELL_CAN_VM=0) or the addon is not built.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { canVmAvailable, runInCanVm } from '../helpers/can-vm.ts';
import { skipDeclared } from '../helpers/skip.ts';
import { canAddonStatus } from '../../src/transports/can/native.ts';

const TITLE = 'CAN peer link on real SocketCAN (micro-VM): the link compliance suite, classic and FD';
const vm = canVmAvailable();
const addon = canAddonStatus();
const skipReason = !vm.ok ? vm.reason : !addon.available ? addon.reason : '';

if (skipReason !== '') skipDeclared(test, TITLE, skipReason);
else {
  test(TITLE, async () => {
    const run = await runInCanVm({
      interfaces: [{ name: 'vcan0' }, { name: 'vcan1', fd: true }],
      commands: [{ script: fileURLToPath(new URL('./inner/compliance.ts', import.meta.url)), timeoutMs: 150_000 }],
      timeoutMs: 180_000,
    });
    const out = run.outputs[0];
    const text = `${out?.stdout ?? ''}`;
    const num = (label: string) => Number(text.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? NaN);
    const why = `${run.reason}\nstdout: ${text.slice(-3000)}\nstderr: ${out?.stderr.slice(-2000)}\nconsole: ${run.console.slice(-1000)}`;
    assert.is(num('Total'), 14, `the suite did not run whole: ${why}`);
    assert.is(num('Passed'), 14, `compliance failures on SocketCAN: ${why}`);
    console.log(`\n  CAN compliance in the VM: boot ${Math.round(run.bootMs)} ms, total ${Math.round(run.totalMs)} ms`);
  });
}

test.run();
