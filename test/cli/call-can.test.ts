// `cell call --can <interface>:<node>` (docs/cli.md "cell call"): the argument parsing and the
// errors that need no bus — CanUnavailable (900) with its fix when the SocketCAN addon is absent
// (CELL_CAN_ADDON=0; a child process, since the addon's load is cached per process), the same in
// `cell gateway --can`, usage errors (exit 2). A call that reaches a device over a real bus
// (vcan) belongs to the micro-VM suite (test/can-vm/inner/gateway.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canTarget, DEFAULT_CAN_CALLER_NODE } from '../../src/cli/can-target.ts';
import { parseCanTarget } from '../../src/can/open.ts';
import { CliError } from '../../src/cli/errors.ts';
import { cli, cliIn } from './helpers.ts';

const test = suite('cell call --can');

test('targets: interface:node, slcan:path:node; the caller is node 1 unless --can-node', async () => {
  assert.equal(parseCanTarget('can0:10', true), { iface: 'can0', kind: 'socketcan', name: 'can0', node: 10 });
  assert.equal(parseCanTarget('slcan:/dev/ttyACM0:12', true), { iface: 'slcan:/dev/ttyACM0', kind: 'slcan', name: '/dev/ttyACM0', node: 12 });
  assert.equal(parseCanTarget('slcan:/dev/ttyACM0', false), { iface: 'slcan:/dev/ttyACM0', kind: 'slcan', name: '/dev/ttyACM0', node: null });
  const t = await canTarget('vcan0:10');
  assert.equal([t.iface, t.node, t.localNode, t.fd], ['vcan0', 10, DEFAULT_CAN_CALLER_NODE, false]);
  assert.is(DEFAULT_CAN_CALLER_NODE, 1);
  const u = await canTarget('slcan:/dev/ttyACM0:10', { localNode: 5, fd: true, bitrate: 250_000 });
  assert.equal([u.localNode, u.fd, u.bitrate], [5, true, 250_000]);
  for (const [text, o, msg] of [
    ['vcan0', {}, /no CAN node/],
    ['vcan0:200', {}, /0–126/],
    ['vcan0:1', {}, /the device's own node id/],
    ['vcan0:10', { bitrate: 500_000 }, /slcan adapters only/],
    ['/dev/can:10', {}, /not a network interface/],
  ] as const) {
    const e = await canTarget(text, o).then(() => null, (x: unknown) => x);
    assert.instance(e, CliError, text);
    assert.match((e as CliError).message, msg);
    assert.is((e as CliError).exit, 2);
  }
});

test('usage errors: --can with --port, CAN flags without --can, --baud with --can', async () => {
  for (const [argv, msg] of [
    [['call', '--can', 'vcan0:10', '--port', '/dev/x', 'read'], /two targets/],
    [['call', '--can-node', '3', 'x', 'read'], /--can-node goes with --can/],
    [['call', '--can', 'vcan0:10', '--baud', '9600', 'read'], /go with --port/],
    [['call', '--can', 'vcan0:10', 'read', '{}', 'extra'], /unexpected argument "extra"/],
  ] as const) {
    const r = await cliIn([...argv]);
    assert.is(r.code, 2, argv.join(' '));
    assert.match(r.stderr, msg);
  }
});

test('no SocketCAN addon: CanUnavailable (900) with the fix, in `cell call` and `cell gateway`', async () => {
  const env = { CELL_CAN_ADDON: '0' };
  const r = await cli(['call', '--can', 'vcan0:10', '--json', 'read', '{"channel": 1}'], { env });
  assert.is(r.code, 1, r.stderr);
  const err = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { error: { name: string; code: number; fix: string } }).error;
  assert.is(err.name, 'CanUnavailable');
  assert.is(err.code, 900);
  assert.match(err.fix, /npm run build:native/);
  assert.match(err.fix, /slcan/);
  const g = await cli(['gateway', '--can', 'vcan0', '--no-mdns', '--dht', 'off', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], { env });
  assert.is(g.code, 1, g.stdout + g.stderr);
  assert.match(g.stdout, /"name":"CanUnavailable"/);
});

test.run();
