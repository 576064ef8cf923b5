// `cell call --can slcan:<path>:<node>` end to end, as a child process: the CLI opens a simulated
// slcan adapter on a socat pty (test/helpers/slcan-adapter.ts), bridged to an in-process memory
// bus where a Node thermo device (serveCan) is node 10. describe(), a call, a stream, a typed
// error, the CLI's own node id, and a node nobody answers on (Unavailable within the deadline).
// Skips with the reason without socat or serialport.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ptyUnavailable } from '../../hw-tests/lib/pty.ts';
import { MemoryCanBus } from '../../src/transports/can/memory-bus.ts';
import { CanBus } from '../../src/transports/can/bus.ts';
import { serveCan } from '../../src/can/serve.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';
import { startSlcanAdapter, type SlcanAdapter } from '../helpers/slcan-adapter.ts';
import { cli } from './helpers.ts';

const test = suite('cell call --can slcan:<pty>:<node>');
const why = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));

if (why !== null) {
  console.log(`\n  cell call --can over slcan: SKIPPED — ${why}\n`);
  test.skip('a call through a simulated slcan adapter', () => {});
} else {
  let adapter: SlcanAdapter;
  let devBus: CanBus;
  const wire = new MemoryCanBus();
  const seen = new Set<number>();

  test.before(async () => {
    adapter = await startSlcanAdapter(wire);
    devBus = new CanBus(wire.attach('dev10'), { node: 10 }); // 4096: describe() (2.8 KB) fits
    serveCan(Thermo, thermoImpl(), devBus);
    const spy = wire.attach('spy');
    spy.start({ onFrame: (id) => { seen.add(id & 0x7f); }, onClose: () => {} });
  });
  test.after(async () => {
    devBus?.close();
    await adapter?.close();
  });

  test('describe, a call, a stream and a typed error through the adapter', async () => {
    const at = `slcan:${adapter.path}:10`;
    const list = await cli(['call', '--can', at, '--can-node', '7']);
    assert.is(list.code, 0, list.stderr);
    assert.match(list.stdout, /method read\(/);
    assert.ok(seen.has(7), 'the CLI spoke as node 7');
    const r = await cli(['call', '--can', at, '--json', 'read', '{"channel": 2}']);
    assert.is(r.code, 0, r.stderr);
    assert.is((JSON.parse(r.stdout.trim()) as { channel: number }).channel, 2);
    assert.ok(seen.has(1), 'node 1 by default');
    const s = await cli(['call', '--can', at, '--json', 'samples', '{"count": 3, "failAt": 0}']);
    assert.is(s.code, 0, s.stderr);
    assert.equal(s.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i), [0, 1, 2]);
    const e = await cli(['call', '--can', at, '--json', 'read', '{"channel": 9}']);
    assert.is(e.code, 1);
    assert.match(e.stdout, /"code":1001/);
  });

  test('a node nobody answers on: Unavailable after the deadline, exit 1', async () => {
    const r = await cli(['call', '--can', `slcan:${adapter.path}:42`, '--deadline', '500', '--json', 'read', '{"channel": 1}']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /"code":401/);
  });
}

test.run();
