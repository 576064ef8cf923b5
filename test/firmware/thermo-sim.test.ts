// The thermo sensor cell (firmware/thermo) as a simulator: its wasm run in Node
// (hw-tests/lib/sim.ts) on one end of a socat pty pair, driven through the other end by the
// device suite (hw-tests/thermo.suite.ts) with the typed client.
// Skips (with a printed reason) when socat, asc or serialport are missing.
import { suite } from 'uvu';
import { thermoSuite } from '../../hw-tests/thermo.suite.ts';
import { loadSerialPort, simTarget, simUnavailable } from '../../hw-tests/lib/targets.ts';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateThermo } from '../../firmware/thermo/gen.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import { hex64 } from '../../src/codec/index.ts';
import { buildFirmwareWasm, reachable } from '../helpers/firmware-wasm.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));


const statics = suite('thermo firmware: generated constants and static checks');
statics('gen.ts: the device constants carry the keys of ThermoDef and the HELLO a Node server would send', () => {
  const g = generateThermo();
  for (const e of ThermoDef.entries) assert.ok(g['consts.ts'].includes(`: u64 = 0x${hex64(e.key)};`), e.name);
  assert.is(g.hello[0], 1, 'protocol version');
  assert.is(g.hello[1], 1, 'flags: serving');
});
statics('poll() never allocates: ~lib/rt/stub/__new is reachable from the start function only', () => {
  const wat = `${root}build/firmware/thermo/app.wat`;
  if (!existsSync(wat)) return; // not built (toolchain missing): the device suite below is skipped too
  const text = readFileSync(wat, 'utf8');
  const fromPoll = reachable(text, '$firmware/thermo/app/poll');
  assert.ok(fromPoll.size > 10, 'the call graph was read');
  assert.not.ok([...fromPoll].some((f) => f.startsWith('$~lib/rt/stub/')), [...fromPoll].filter((f) => f.includes('stub')).join());
  assert.ok(reachable(text, '$start:firmware/thermo/app').has('$~lib/rt/stub/__new'), 'the start function allocates');
});
statics.run();

const missing = simUnavailable();
const wasm = missing ? { skip: missing } : buildFirmwareWasm('thermo');
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
