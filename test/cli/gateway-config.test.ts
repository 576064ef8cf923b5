// src/cli/gateway-config.ts: the config file of `cell gateway --config` (docs/gateway.md §1
// "Config file"). Real files written to a temp directory and parsed: the shipped example
// (examples/gateway.toml, the same text as in the docs) parses; every bad file is refused with the
// file, the line, the key and a fix (exit 2); flags on the command line win over the file; a bad
// file's error is a JSON line (time, level, msg, event) when the file asks for JSON logs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  basicAddrChecks, checkGatewayConfig, gatewayOptions, KeyLines, loadAddrChecks, readConfigToml, readGatewayConfig,
  type AddrChecks, type GatewayConfig,
} from '../../src/cli/gateway-config.ts';
import { parseArgs } from '../../src/cli/args.ts';
import { CliError } from '../../src/cli/errors.ts';
import { main } from '../../src/cli/main.ts';
import { spec } from '../../src/cli/commands/gateway.ts';
import { describeCell } from '../../src/codec/schema-json.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cell-gw-config-'));
const PEER = '12D3KooWGzh5x3BFqXW7yT4VdJz8x7kL3u1h9qN7Yc4t2b6v8w1z';
let addrs: AddrChecks = basicAddrChecks;

let n = 0;
function file(text: string): string {
  const f = join(dir, `g${++n}.toml`);
  writeFileSync(f, text);
  return f;
}
const read = (text: string): Promise<GatewayConfig> => readGatewayConfig(file(text), addrs);

/** The CliError a file is refused with. */
async function refused(text: string): Promise<CliError & { detail: { file: string; line: number; key: string } }> {
  const f = file(text);
  try {
    await readGatewayConfig(f, addrs);
  } catch (e) {
    assert.instance(e, CliError);
    return e as CliError & { detail: { file: string; line: number; key: string } };
  }
  throw new Error(`accepted:\n${text}`);
}

const example = suite('gateway config: the shipped example');

example.before(async () => { addrs = await loadAddrChecks(); });

example('examples/gateway.toml parses, with its devices, names and mesh settings', async () => {
  const c = await readGatewayConfig(join(root, 'examples/gateway.toml'), addrs);
  assert.is(c.dir, '/var/lib/cell');
  assert.is(c.log, 'json');
  assert.is(c.drainMs, 5000);
  assert.is(c.maxFrameBytes, 512);
  assert.equal(c.listen, ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/udp/4001/quic-v1']);
  assert.is(c.dht, 'server');
  assert.equal(c.devices.map((d) => [d.path ?? d.serialNumber, d.name, d.baudRate]), [
    ['/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A6008isP-if00-port0', 'greenhouse-thermo', undefined],
    ['A7009jQx', 'cellar-thermo', 230400],
  ]);
});

example('docs/gateway.md carries the same example, byte for byte', () => {
  const docs = readFileSync(join(root, 'docs/gateway.md'), 'utf8');
  const text = readFileSync(join(root, 'examples/gateway.toml'), 'utf8');
  const blocks = [...docs.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.includes(text), 'a ```toml block of docs/gateway.md equals examples/gateway.toml');
});

example('every flag of `cell gateway` has a key in the file', () => {
  const keyOf: Record<string, string> = {
    config: '(the file itself)', uart: '[[device]] path', serial: '[[device]] serial', baud: 'baud', schema: 'schemas',
    'max-frame': 'max_frame', dir: 'dir', listen: 'mesh.listen', bootstrap: 'mesh.bootstrap', 'no-mdns': 'mesh.mdns',
    'no-quic': 'mesh.quic', dht: 'mesh.dht', 'relay-server': 'mesh.relay_server', json: 'log', key: 'key',
    can: '[[can]] interface', 'can-node': '[[can]] node', 'can-nodes': '[[can]] nodes', 'can-bitrate': '[[can]] bitrate',
  };
  assert.equal(Object.keys(spec.flags).sort(), Object.keys(keyOf).sort());
  const docs = readFileSync(join(root, 'examples/gateway.toml'), 'utf8');
  for (const flag of Object.keys(keyOf)) if (flag !== 'config') assert.ok(docs.includes(`--${flag}`), `examples/gateway.toml names --${flag}`);
});

example.run();

const bad = suite('gateway config: a bad file is refused with the line, the key and a fix');

bad.before(async () => { addrs = await loadAddrChecks(); });

const cases: { name: string; text: string; line: number; key: string; msg: RegExp; fix: RegExp }[] = [
  { name: 'unknown top-level key, with a suggestion', text: 'dir = "."\nmax_frme = 512\n', line: 2, key: 'max_frme', msg: /not a known key \(did you mean max_frame\?\)/, fix: /rename it to max_frame/ },
  { name: 'unknown key in [mesh]', text: '[mesh]\nlisten = ["/ip4/0.0.0.0/tcp/1"]\nmdsn = false\n', line: 3, key: 'mesh.mdsn', msg: /did you mean mdns/, fix: /known here: listen, bootstrap/ },
  { name: 'unknown key in the second [[device]]', text: '[[device]]\npath = "/dev/ttyUSB0"\n\n[[device]]\npath = "/dev/ttyUSB1"\nbuad = 9600\n', line: 6, key: 'device[1].buad', msg: /did you mean baud/, fix: /rename it to baud/ },
  { name: 'a quoted number', text: '[[device]]\npath = "/dev/ttyUSB0"\nbaud = "115200"\n', line: 3, key: 'device[0].baud', msg: /integer from 50 .* not the string "115200"/, fix: /no quotes/ },
  { name: 'a boolean as a string', text: '[mesh]\nmdns = "no"\n[[device]]\npath = "/dev/x"\n', line: 2, key: 'mesh.mdns', msg: /true or false, not the string "no"/, fix: /mdns = true/ },
  { name: 'max_frame out of range', text: 'max_frame = 8\n[[device]]\npath = "/dev/x"\n', line: 1, key: 'max_frame', msg: /from 64 to/, fix: /firmware/ },
  { name: 'a serial number written as a number', text: '[[device]]\nserial = 12345\n', line: 2, key: 'device[0].serial', msg: /must be a string, not the integer 12345/, fix: /serial = "12345"/ },
  { name: 'a device with both path and serial', text: '[[device]]\npath = "/dev/ttyUSB0"\nserial = "A600"\n', line: 3, key: 'device[0].serial', msg: /device\[0\]\.path are both given/, fix: /keep one/ },
  { name: 'a device with neither', text: '[[device]]\nname = "x"\n', line: 1, key: 'device[0]', msg: /has no path, serial or glob/, fix: /path = "\/dev\/ttyUSB0"/ },
  { name: 'the same path twice', text: '[[device]]\npath = "/dev/ttyUSB0"\n[[device]]\npath = "/dev/ttyUSB0"\n', line: 4, key: 'device[1].path', msg: /repeats device\[0\]/, fix: /once/ },
  { name: 'the same name twice', text: '[[device]]\npath = "/dev/a"\nname = "t"\n[[device]]\npath = "/dev/b"\nname = "t"\n', line: 6, key: 'device[1].name', msg: /also the name of device\[0\]/, fix: /own name/ },
  { name: 'a name that is no cell name', text: '[[device]]\npath = "/dev/a"\nname = "green house"\n', line: 3, key: 'device[0].name', msg: /not a cell name/, fix: /greenhouse-thermo/ },
  { name: 'a name with a glob', text: '[[device]]\nglob = "/dev/ttyUSB*"\nname = "t"\n', line: 3, key: 'device[0].name', msg: /cannot be given with glob/, fix: /own \[\[device\]\]/ },
  { name: 'a glob with a wildcard in the directory', text: '[[device]]\nglob = "/dev/*/ttyUSB*"\n', line: 2, key: 'device[0].glob', msg: /last path segment/, fix: /\/dev\/ttyUSB\*/ },
  { name: 'a relative glob', text: '[[device]]\nglob = "ttyUSB*"\n', line: 2, key: 'device[0].glob', msg: /absolute/, fix: /glob = / },
  { name: 'a bad listen address in a multi-line list (the line of the value)', text: '[mesh]\nlisten = [\n  "/ip4/0.0.0.0/tcp/4001",\n  "/ip4/1.2.3/tcp/1",\n]\n', line: 4, key: 'mesh.listen[1]', msg: /"\/ip4\/1\.2\.3\/tcp\/1" is not a multiaddr/, fix: /\/ip4\/0\.0\.0\.0\/tcp\/4001/ },
  { name: 'a listen address in zenoh form', text: '[mesh]\nlisten = ["tcp/0.0.0.0:7447"]\n', line: 2, key: 'mesh.listen[0]', msg: /not a multiaddr/, fix: /multiaddrs such as/ },
  { name: 'an empty listen list', text: '[mesh]\nlisten = []\n', line: 2, key: 'mesh.listen', msg: /is empty/, fix: /remove the key for the default/ },
  { name: 'a bootstrap address without its peer', text: '[mesh]\nbootstrap = ["/ip4/203.0.113.7/tcp/4001"]\n', line: 2, key: 'mesh.bootstrap[0]', msg: /names no peer/, fix: /node` event/ },
  { name: 'a bootstrap address with a bad peer id', text: '[mesh]\nbootstrap = ["/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWnope"]\n', line: 2, key: 'mesh.bootstrap[0]', msg: /bad peer id/, fix: /node` event/ },
  { name: 'dht mode', text: '[mesh]\ndht = "full"\n', line: 2, key: 'mesh.dht', msg: /"server", "client" or "off"/, fix: /behind NAT/ },
  { name: 'log format', text: 'log = "syslog"\n', line: 1, key: 'log', msg: /"json" or "text"/, fix: /journald/ },
  { name: 'metrics address', text: 'metrics = "localhost"\n', line: 1, key: 'metrics', msg: /host:port/, fix: /127\.0\.0\.1:9464/ },
  { name: 'metrics port', text: 'metrics = "127.0.0.1:99999"\n', line: 1, key: 'metrics', msg: /port 99999/, fix: /127\.0\.0\.1:9464/ },
  { name: 'drain_ms negative', text: 'drain_ms = -1\n', line: 1, key: 'drain_ms', msg: /integer from 0/, fix: /TimeoutStopSec/ },
  { name: '[[can]] without an interface', text: '\n[[can]]\nfd = true\n', line: 2, key: 'can[0]', msg: /has no interface/, fix: /interface = "can0"/ },
  { name: 'key: a missing key file', text: 'key = "no-such.key"\n', line: 1, key: 'key', msg: /no such file/, fix: /cell keys fleet/ },
  { name: 'key: not a path', text: 'key = 7\n', line: 1, key: 'key', msg: /must be a key file path/, fix: /cell keys fleet/ },
  { name: 'key: a device\'s missing key file', text: '[[device]]\npath = "/dev/a"\nkey = "abc"\n', line: 3, key: 'device[0].key', msg: /no such file/, fix: /mode 0600/ },
  { name: '[mesh] that is no table', text: 'mesh = "on"\n', line: 1, key: 'mesh', msg: /must be a table/, fix: /\[mesh\]/ },
  { name: 'a dotted key is found on its line', text: 'dir = "."\nmesh.dht = "maybe"\n', line: 2, key: 'mesh.dht', msg: /"server"/, fix: /NAT/ },
];

for (const c of cases) {
  bad(c.name, async () => {
    const e = await refused(c.text);
    assert.is(e.exit, 2);
    assert.is(e.name, 'BadGatewayConfig');
    assert.is(e.detail.line, c.line, e.message);
    assert.is(e.detail.key, c.key, e.message);
    assert.ok(e.message.startsWith(`${e.detail.file}:${c.line}: ${c.key} `), e.message);
    assert.match(e.message, c.msg);
    assert.match(e.fix ?? '', c.fix);
  });
}

bad('TOML syntax errors carry the line and column', async () => {
  const e = await refused('dir = "."\n[[device]\npath = "/dev/a"\n');
  assert.is(e.exit, 2);
  assert.is(e.detail.line, 2);
  assert.match(e.message, /:2:\d+: /);
  assert.match(e.fix ?? '', /TOML syntax/);
});

bad('a missing config file: exit 2 and where to start from', () => {
  try {
    readConfigToml(join(dir, 'nope.toml'));
    assert.unreachable();
  } catch (e) {
    assert.is((e as CliError).exit, 2);
    assert.match((e as CliError).fix ?? '', /examples\/gateway\.toml/);
  }
});

bad('multiaddrs without the libp2p parser: the syntactic checks still refuse the obvious', () => {
  assert.is(basicAddrChecks.multiaddr('/ip4/0.0.0.0/tcp/1'), null);
  assert.type(basicAddrChecks.multiaddr('tcp/0.0.0.0:1'), 'string');
  assert.type(basicAddrChecks.bootstrap('/ip4/1.2.3.4/tcp/1'), 'string');
  assert.is(basicAddrChecks.bootstrap(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}`), null);
});

bad.run();

const lines = suite('gateway config: KeyLines finds keys the parser has no positions for');

lines('tables, arrays of tables, dotted keys, quoted keys, multi-line strings and lists', () => {
  const text = [
    'a = 1', // 1
    'b.c = 2', // 2
    's = """', // 3
    'x = not a key', // 4
    '"""', // 5
    '[t]', // 6
    '"q k" = 3', // 7
    'l = [', // 8
    '  "v1",', // 9
    '  "v2",', // 10
    ']', // 11
    '[[d]]', // 12
    'p = 1', // 13
    '[[d]]', // 14
    'p = 2', // 15
    'it = { k = 1 }', // 16
  ].join('\n');
  const k = new KeyLines(text);
  assert.is(k.line('a'), 1);
  assert.is(k.line('b.c'), 2);
  assert.is(k.line('x'), 0, 'inside a multi-line string');
  assert.is(k.line('t'), 6);
  assert.is(k.line('t.q k'), 7);
  assert.is(k.lineOfValue('t.l', 'v2'), 10);
  assert.is(k.line('d[0].p'), 13);
  assert.is(k.line('d[1].p'), 15);
  assert.is(k.line('d[1].it.k'), 16, 'an inline table: the line of its key');
  assert.is(k.line('d'), 12);
});

lines.run();

const merge = suite('gateway config: flags override the file');

const schemaFile = join(dir, 'thermo.json');
writeFileSync(schemaFile, JSON.stringify(describeCell(ThermoDef)));

const FULL = [
  'dir = "state"',
  'log = "json"',
  'drain_ms = 1500',
  'baud = 57600',
  'max_frame = 512',
  'schemas = ["thermo.json"]',
  'metrics = "127.0.0.1:9464"',
  '[mesh]',
  'listen = ["/ip4/127.0.0.1/tcp/4001"]',
  `bootstrap = ["/ip4/127.0.0.1/tcp/4002/p2p/${PEER}"]`,
  'mdns = false',
  'quic = false',
  'dht = "client"',
  'relay_server = true',
  '[[device]]',
  'path = "/dev/ttyUSB0"',
  'name = "greenhouse-thermo"',
  'baud = 230400',
  '[[device]]',
  'serial = "A600"',
  '[[device]]',
  'glob = "/dev/ttyACM*"',
  'max_frame = 1024',
].join('\n');

const opts = async (argv: string[], text = FULL) => {
  const f = file(text);
  return gatewayOptions(parseArgs(spec, ['--config', f, ...argv]), readConfigToml(f), addrs);
};

merge.before(async () => { addrs = await loadAddrChecks(); });

merge('the file alone: every key lands in the options (relative paths from the file\'s directory)', async () => {
  const o = await opts([]);
  assert.is(o.dir, join(dir, 'state'));
  assert.is(o.json, true);
  assert.is(o.drainMs, 1500);
  assert.is(o.metrics, '127.0.0.1:9464');
  assert.equal(o.listen, ['/ip4/127.0.0.1/tcp/4001']);
  assert.equal(o.bootstrap, [`/ip4/127.0.0.1/tcp/4002/p2p/${PEER}`]);
  assert.equal([o.mdns, o.quic, o.dht, o.relayServer], [false, false, 'client', true]);
  assert.equal(o.devices, [
    { path: '/dev/ttyUSB0', name: 'greenhouse-thermo', baudRate: 230400, maxFrameBytes: 512 },
    { serialNumber: 'A600', baudRate: 57600, maxFrameBytes: 512 },
    { glob: '/dev/ttyACM*', baudRate: 57600, maxFrameBytes: 1024 },
  ]);
  assert.equal(o.schemas.map((s) => s.name), ['thermo']);
});

merge('flags win: --uart replaces the devices, --baud/--max-frame apply to all, booleans both ways', async () => {
  const o = await opts(['--uart', '/dev/ttyS1', '--baud', '9600', '--max-frame', '256', '--no-quic=false', '--dht', 'off', '--dir', 'here', '--listen', '/ip4/0.0.0.0/tcp/1']);
  assert.equal(o.devices, [{ path: '/dev/ttyS1', baudRate: 9600, maxFrameBytes: 256 }]);
  assert.is(o.quic, true, '--no-quic=false turns QUIC back on');
  assert.is(o.mdns, false, 'no flag: the file\'s value');
  assert.is(o.dht, false);
  assert.is(o.dir, join(process.cwd(), 'here'), 'a flag\'s path is relative to the working directory');
  assert.equal(o.listen, ['/ip4/0.0.0.0/tcp/1']);
  assert.equal(o.schemas.map((s) => s.name), ['thermo'], 'top-level schemas stay with --uart');
  const b = await opts(['--baud', '9600']);
  assert.equal(b.devices.map((d) => d.baudRate), [9600, 9600, 9600], '--baud over per-device values too');
  assert.is((await opts(['--json=false'])).json, false);
  assert.is((await opts(['--no-mdns=false'])).mdns, true);
});

merge('schema files: --schema replaces the list; a missing file names its line; two files of one cell are refused', async () => {
  const withDevice = 'schemas = ["nope.json"]\n[[device]]\npath = "/dev/a"\nschema = "thermo.json"\n';
  const e = await opts([], withDevice).then(() => null, (x: unknown) => x as CliError);
  assert.ok(e !== null);
  assert.is(e!.exit, 2);
  assert.match(e!.message, /:1: schemas\[0\]: .*nope\.json: no such file/);
  assert.equal((e!.detail as { line: number }).line, 1);
  const o = await opts(['--schema', schemaFile], withDevice);
  assert.equal(o.schemas.map((s) => s.name), ['thermo'], '--schema replaced nope.json; the device\'s own is the same file');
  const other = join(dir, 'thermo-copy.json');
  writeFileSync(other, JSON.stringify(describeCell(ThermoDef)));
  const twice = await opts([], `schemas = ["thermo.json"]\n[[device]]\npath = "/dev/a"\nschema = ${JSON.stringify(other)}\n`).then(() => null, (x: unknown) => x as CliError);
  assert.match(twice?.message ?? '', /:4: device\[0\]\.schema: .* describes cell "thermo", as .* does/);
});

merge('no device anywhere, and bad flags: usage errors with a fix', async () => {
  const e = await opts([], 'dir = "."\n').then(() => null, (x: unknown) => x as CliError);
  assert.match(e?.message ?? '', /no \[\[device\]\]/);
  assert.is(e?.exit, 2);
  for (const [argv, re] of [[['--max-frame', '10'], /--max-frame 10/], [['--bootstrap', '/ip4/1.2.3.4/tcp/1'], /names no peer/], [['--dht', 'x'], /--dht "x"/]] as const) {
    const f = await opts([...argv]).then(() => null, (x: unknown) => x as CliError);
    assert.match(f?.message ?? '', re);
    assert.is(f?.exit, 2);
    assert.ok((f?.fix ?? '') !== '');
  }
});

merge.run();

const cli = suite('gateway config: `cell gateway --config` with a bad file');

async function runCli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

cli('log = "json": the refusal is one JSON line on stdout (time, level, msg, event, error with line and fix)', async () => {
  const f = file('log = "json"\n[[device]]\npath = "/dev/a"\nbaud = "fast"\n');
  const r = await runCli(['gateway', '--config', f]);
  assert.is(r.code, 2);
  assert.equal(r.err, []);
  assert.is(r.out.length, 1);
  const l = JSON.parse(r.out[0]!);
  assert.ok(!Number.isNaN(Date.parse(l.time)));
  assert.is(l.level, 'error');
  assert.is(l.event, 'fatal');
  assert.match(l.msg, /device\[0\]\.baud/);
  assert.equal([l.error.name, l.error.detail.line, l.error.detail.key, l.error.exit], ['BadGatewayConfig', 4, 'device[0].baud', 2]);
  assert.match(l.error.fix, /no quotes/);
});

cli('text logs: the refusal is readable on stderr with the fix; --json on the command line wins over the file', async () => {
  const f = file('log = "json"\nmax_frme = 1\n');
  const r = await runCli(['gateway', '--config', f, '--json=false']);
  assert.is(r.code, 2);
  assert.equal(r.out, []);
  assert.match(r.err.join('\n'), /BadGatewayConfig: .*:2: max_frme is not a known key[\s\S]*fix: +rename it to max_frame/);
});

cli('a TOML syntax error is reported even before the file says how to log', async () => {
  const r = await runCli(['gateway', '--config', file('log = "json"\n[[device\n'), '--json']);
  assert.is(r.code, 2);
  const l = JSON.parse(r.out[0]!);
  assert.equal([l.level, l.event, l.error.detail.line], ['error', 'fatal', 2]);
});

cli.after(() => { rmSync(dir, { recursive: true, force: true }); });

cli.run();
