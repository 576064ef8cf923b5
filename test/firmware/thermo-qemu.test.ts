// The thermo sensor cell (firmware/thermo) native: built by scripts/build-firmware.mjs for both
// Cortex-M3 boards, booted under qemu, driven over its UART pty by the device suite
// (hw-tests/thermo.suite.ts) with the typed client — the same suite the simulator passes.
// Skips (with a printed reason) when qemu, the arm toolchain, wabt or serialport are missing.
import { suite } from 'uvu';
import { thermoSuite } from '../../hw-tests/thermo.suite.ts';
import { buildFirmwareApp, loadSerialPort, qemuTarget, qemuUnavailable } from '../../hw-tests/lib/targets.ts';
import { BOARDS } from '../../hw-tests/lib/qemu.ts';

const missing = qemuUnavailable();
const built = missing ? { skip: missing } : buildFirmwareApp('thermo');
const SerialPort = 'skip' in built ? built.skip : await loadSerialPort();

if ('skip' in built || typeof SerialPort === 'string') {
  const why = 'skip' in built ? built.skip : (SerialPort as string);
  console.log(`\n  thermo under qemu: SKIPPED — ${why.split('\n').join('\n    ')}\n`);
  const s = suite('thermo cell under qemu');
  s.skip('the device suite on mps2-an385 and lm3s6965evb', () => {});
  s.run();
} else {
  for (const row of built.rows) {
    console.log(`  thermo-${row.board}: wasm ${row.wasmBytes} B, flash ${row.flash} B (text ${row.text}, data ${row.data}), RAM ${row.ram} B (bss ${row.bss})`);
  }
  for (const board of BOARDS) thermoSuite(qemuTarget(SerialPort, board, built.elfs[board]));
}
