// The thermo sensor cell (firmware/thermo) as a simulator: its wasm run in Node
// (hw-tests/lib/sim.ts) on one end of a socat pty pair, driven through the other end by the
// device suite (hw-tests/thermo.suite.ts) with the typed client.
// Skips (with a printed reason) when socat, asc or serialport are missing.
import { suite } from 'uvu';
import { thermoSuite } from '../../hw-tests/thermo.suite.ts';
import { loadSerialPort, simTarget, simUnavailable } from '../../hw-tests/lib/targets.ts';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function buildWasm(): string | { skip: string } {
  const r = spawnSync(process.execPath, ['scripts/build-firmware.mjs', 'thermo', '--wasm-only', '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim();
    if (/toolchain incomplete/.test(msg)) return { skip: msg.replace(/^build-firmware: /, '') };
    throw new Error(`firmware build failed:\n${msg}`);
  }
  return `${root}${(JSON.parse(r.stdout) as { wasm: string }[])[0]!.wasm}`;
}

const missing = simUnavailable();
const wasm = missing ? { skip: missing } : buildWasm();
const SerialPort = typeof wasm === 'string' ? await loadSerialPort() : wasm.skip;

if (typeof wasm !== 'string' || typeof SerialPort === 'string') {
  const why = typeof wasm !== 'string' ? wasm.skip : (SerialPort as string);
  console.log(`\n  thermo simulator: SKIPPED — ${why.split('\n').join('\n    ')}\n`);
  const s = suite('thermo cell on sim');
  s.skip('the device suite against the wasm simulator', () => {});
  s.run();
} else {
  thermoSuite(simTarget(SerialPort, wasm));
}
