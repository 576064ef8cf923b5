// The long soak of the thermo cell: CELL_SOAK calls (default 10000, 16 in flight) with the typed
// client, every answer checked, zero lost or duplicated — the soak test of hw-tests/thermo.suite.ts
// on its own, against the targets named on the command line.
//
//   CELL_SOAK=10000 node --import tsx hw-tests/soak.ts                 # sim, mps2-an385, lm3s6965evb
//   node --import tsx hw-tests/soak.ts sim lm3s6965evb
//   CELL_TEST_UART=/dev/ttyUSB0 node --import tsx hw-tests/soak.ts uart # a flashed board
// Exits non-zero when a call is lost, duplicated, wrong, or the device counts line errors.
import { thermoSuite } from './thermo.suite.ts';
import {
  buildFirmwareApp, loadSerialPort, qemuTarget, qemuUnavailable, simTarget, simUnavailable, uartTarget, type DeviceTarget,
} from './lib/targets.ts';
import { BOARDS, type Board } from './lib/qemu.ts';

const calls = Number(process.env.CELL_SOAK) || 10_000;
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ['sim', ...BOARDS];
const SerialPort = await loadSerialPort();
if (typeof SerialPort === 'string') {
  console.error(`soak: ${SerialPort}`);
  process.exit(2);
}

const targets: DeviceTarget[] = [];
const needsBuild = wanted.some((w) => w !== 'uart');
const built = needsBuild ? buildFirmwareApp('thermo') : null;
for (const w of wanted) {
  if (w === 'uart') {
    const path = process.env.CELL_TEST_UART;
    if (!path) { console.error('soak: "uart" needs CELL_TEST_UART=/dev/ttyUSB0 (and CELL_TEST_BAUD, default 115200)'); process.exit(2); }
    targets.push(uartTarget(SerialPort, path, Number(process.env.CELL_TEST_BAUD) || 115200));
  } else if (w === 'sim') {
    const why = simUnavailable() ?? (built !== null && 'skip' in built ? built.skip : null);
    if (why) { console.error(`soak: sim skipped: ${why}`); continue; }
    targets.push(simTarget(SerialPort, (built as { wasm: string }).wasm));
  } else if ((BOARDS as readonly string[]).includes(w)) {
    const why = qemuUnavailable() ?? (built !== null && 'skip' in built ? built.skip : null);
    if (why) { console.error(`soak: ${w} skipped: ${why}`); continue; }
    targets.push(qemuTarget(SerialPort, w as Board, (built as { elfs: Record<Board, string> }).elfs[w as Board]));
  } else {
    console.error(`soak: unknown target "${w}" (sim, ${BOARDS.join(', ')}, uart)`);
    process.exit(2);
  }
}
console.log(`soak: ${calls} calls per target on ${targets.map((t) => t.name).join(', ')}`);
for (const t of targets) thermoSuite(t, { soak: calls, soakOnly: true });
