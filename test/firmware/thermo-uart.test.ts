// The thermo device suite (hw-tests/thermo.suite.ts) against a real board on a serial port,
// flashed with build/firmware/thermo-<board>.elf beforehand (docs/firmware.md §"A real board"):
//   CELL_TEST_UART=/dev/ttyUSB0 [CELL_TEST_BAUD=115200] npm test
// Without CELL_TEST_UART this file registers nothing (so `npm test` keeps reporting 0 skipped).
// No reset or power-cycle case: no reset line is driven.
import { suite } from 'uvu';
import { thermoSuite } from '../../hw-tests/thermo.suite.ts';
import { loadSerialPort, uartTarget } from '../../hw-tests/lib/targets.ts';

const path = process.env.CELL_TEST_UART;
const SerialPort = path ? await loadSerialPort() : 'CELL_TEST_UART is not set (e.g. CELL_TEST_UART=/dev/ttyUSB0)';

if (!path) {
  // Nothing to run: the real-board suite is opt-in.
} else if (typeof SerialPort === 'string') {
  console.log(`\n  thermo on a real board: SKIPPED — ${SerialPort}\n`);
  const s = suite('thermo cell on a real board (CELL_TEST_UART)');
  s.skip('the device suite over a serial port', () => {});
  s.run();
} else {
  thermoSuite(uartTarget(SerialPort, path, Number(process.env.CELL_TEST_BAUD) || 115200));
}
