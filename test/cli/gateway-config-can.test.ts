// `can` in the gateway config (docs/gateway.md §1 "Config file", §9) and `cell gateway --can`:
// [[can]] sections with their [[can.device]] names, the defaults (node 0, learn on), flags that
// replace the file's buses, and the bad files refused with the line, the key and a fix.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAddrChecks, checkGatewayConfig, gatewayOptions, readConfigToml } from '../../src/cli/gateway-config.ts';
import { parseArgs } from '../../src/cli/args.ts';
import { CliError } from '../../src/cli/errors.ts';
import { spec } from '../../src/cli/commands/gateway.ts';

const dir = mkdtempSync(join(tmpdir(), 'cell-gw-can-'));
let n = 0;
const file = (text: string): string => { const f = join(dir, `c${++n}.toml`); writeFileSync(f, text); return f; };
const check = (text: string) => checkGatewayConfig(readConfigToml(file(text)), basicAddrChecks);
const opts = (argv: string[], text?: string) => {
  const f = text !== undefined ? file(text) : undefined;
  return gatewayOptions(parseArgs(spec, [...(f !== undefined ? ['--config', f] : []), ...argv]), f !== undefined ? readConfigToml(f) : null, basicAddrChecks);
};

const ok = suite('gateway config: [[can]]');

ok('buses, static nodes, names per node, defaults', () => {
  const c = check([
    'max_frame = 512',
    '[[can]]', 'interface = "can0"', 'nodes = [10, 12]',
    '[[can.device]]', 'node = 11', 'name = "cellar-thermo"',
    '[[can]]', 'interface = "slcan:/dev/ttyACM0"', 'bitrate = 250000', 'fd = true', 'data_bitrate = 2000000', 'node = 3', 'learn = false', 'probe_interval_ms = 1000',
  ].join('\n'));
  assert.is(c.can.length, 2);
  const [a, b] = c.can as [typeof c.can[0], typeof c.can[0]];
  assert.equal([a.iface, a.fd, a.node, a.nodes, a.learn, a.names], ['can0', false, 0, [10, 12, 11], true, { 11: 'cellar-thermo' }]);
  assert.equal([b.iface, b.fd, b.node, b.bitrate, b.dataBitrate, b.learn, b.probeIntervalMs], ['slcan:/dev/ttyACM0', true, 3, 250_000, 2_000_000, false, 1000]);
});

ok('a config with only CAN buses is a gateway (no [[device]] needed); max_frame applies', async () => {
  const o = await opts([], 'max_frame = 512\n[[can]]\ninterface = "vcan0"\n');
  assert.equal(o.devices, []);
  assert.is(o.can.length, 1);
  assert.is(o.can[0]!.maxFrameBytes, 512);
});

ok('--can replaces the file\'s buses; --can-node, --can-nodes, --can-bitrate and ,fd', async () => {
  const o = await opts(['--can', 'vcan1,fd', '--can', 'slcan:/dev/ttyUSB3', '--can-node', '5', '--can-nodes', '10,11'], '[[can]]\ninterface = "can0"\n');
  assert.equal(o.can.map((c) => [c.iface, c.fd, c.node, c.nodes]), [['vcan1', true, 5, [10, 11]], ['slcan:/dev/ttyUSB3', false, 5, [10, 11]]]);
  const s = await opts(['--can', 'slcan:/dev/ttyUSB3', '--can-bitrate', '125000']);
  assert.is(s.can[0]!.bitrate, 125_000);
  const u = await opts(['--uart', '/dev/ttyUSB0', '--can', 'can0']);
  assert.is(u.devices.length, 1, 'UART and CAN devices behind one gateway');
  assert.is(u.can.length, 1);
  assert.is(u.can[0]!.node, 0, 'the gateway is node 0 by default');
});

ok.run();

const bad = suite('gateway config: bad [[can]] and --can are refused with the key and a fix');
const cases: { name: string; text: string; key: string; msg: RegExp; fix: RegExp }[] = [
  { name: 'an unknown key', text: '[[can]]\ninterface = "can0"\nbitrat = 1\n', key: 'can[0].bitrat', msg: /did you mean bitrate/, fix: /bitrate/ },
  { name: 'not an interface', text: '[[can]]\ninterface = "/dev/can0"\n', key: 'can[0].interface', msg: /not a network interface/, fix: /slcan:/ },
  { name: 'slcan without a path', text: '[[can]]\ninterface = "slcan:ttyACM0"\n', key: 'can[0].interface', msg: /absolute path/, fix: /slcan:/ },
  { name: 'a bitrate on SocketCAN', text: '[[can]]\ninterface = "can0"\nbitrate = 500000\n', key: 'can[0].bitrate', msg: /slcan adapters only/, fix: /ip link set can0 type can bitrate/ },
  { name: 'data_bitrate without fd', text: '[[can]]\ninterface = "slcan:/dev/x"\ndata_bitrate = 2000000\n', key: 'can[0].data_bitrate', msg: /needs fd/, fix: /fd = true/ },
  { name: 'a node id out of range', text: '[[can]]\ninterface = "can0"\nnodes = [127]\n', key: 'can[0].nodes[0]', msg: /0 to 126/, fix: /nodes = / },
  { name: 'a device on the gateway\'s own id', text: '[[can]]\ninterface = "can0"\nnode = 10\nnodes = [10]\n', key: 'can[0].nodes[0]', msg: /gateway's own node id/, fix: /another/ },
  { name: 'the same bus twice', text: '[[can]]\ninterface = "can0"\n[[can]]\ninterface = "can0"\n', key: 'can[1].interface', msg: /repeats can\[0\]/, fix: /once/ },
  { name: 'a name twice', text: '[[device]]\npath = "/dev/a"\nname = "t"\n[[can]]\ninterface = "can0"\n[[can.device]]\nnode = 10\nname = "t"\n', key: 'can[0].device[0].name', msg: /also the name of device\[0\]/, fix: /own name/ },
  { name: 'a device without node', text: '[[can]]\ninterface = "can0"\n[[can.device]]\nname = "x"\n', key: 'can[0].device[0]', msg: /has no node/, fix: /node = 10/ },
];
for (const c of cases) {
  bad(c.name, () => {
    try { check(c.text); } catch (e) {
      assert.instance(e, CliError);
      const ce = e as CliError;
      assert.is(ce.exit, 2);
      assert.is(ce.detail?.key, c.key, ce.message);
      assert.match(ce.message, c.msg);
      assert.match(ce.fix ?? '', c.fix);
      assert.ok((ce.detail?.line as number) > 0, 'with its line');
      return;
    }
    assert.unreachable('accepted');
  });
}
bad('flags: a bad --can, --can-node out of range, --can-bitrate on SocketCAN, CAN flags without --can', async () => {
  for (const [argv, msg] of [
    [['--can', 'can0,fast'], /unknown option "fast"/],
    [['--can', 'can0', '--can-node', '127'], /not a CAN node id/],
    [['--can', 'can0', '--can-bitrate', '500000'], /slcan adapters only/],
    [['--uart', '/dev/a', '--can-node', '3'], /go with --can/],
    [['--can', 'can0', '--can-nodes', '0'], /not a device node id/],
  ] as const) {
    const e = await opts([...argv]).then(() => null, (x: unknown) => x);
    assert.instance(e, CliError, argv.join(' '));
    assert.match((e as CliError).message, msg);
    assert.is((e as CliError).exit, 2);
  }
});
bad.run();
