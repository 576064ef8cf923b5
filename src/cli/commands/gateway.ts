// cell gateway --uart /dev/ttyX [--uart ...] [mesh options] [--json]   (docs/gateway.md §1)
// Starts a mesh node (docs/mesh.md) and a gateway (src/gateway, cell/gateway) on it: every device on
// the given serial ports is probed, its cell announced by name, and calls and streams are proxied
// both ways until SIGINT/SIGTERM. With --json, one JSON line per event on stdout (first the
// node's {event:"node", peerId, addrs}); otherwise a line per event on stderr.
import { existsSync, readFileSync } from 'node:fs';
import type { CellDescription } from '../../codec/schema-json.ts';
import type { CommandSpec, Parsed } from '../args.ts';
import { checkDescription } from '../remote.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { bool, num, str, strs, stringify, type Ctx } from '../io.ts';

export const spec: CommandSpec = {
  name: 'gateway',
  summary: 'Make the cells of devices on serial ports callable by name from the mesh.',
  details: [
    'Opens each --uart port (reopening it when the device is unplugged and comes back), learns the',
    'device\'s cell from its HELLO, announces the name in the mesh (mDNS on the LAN, the DHT beyond)',
    'and forwards frames between mesh callers and the device without decoding them. After a',
    'reconnect the device is probed and announced again. Runs until SIGINT/SIGTERM.',
    'Firmware does not serve describe() (no flash to spare): give its --schema so that callers by',
    'name (`cell call thermo read`) need no schema file of their own.',
    'The node key lives in <dir>/.cell/mesh/key (same PeerId on every start).',
  ].join('\n'),
  args: [],
  flags: {
    uart: { type: 'string', arg: 'path', multiple: true, desc: 'serial port of a device (repeat for more)' },
    serial: { type: 'string', arg: 'number', multiple: true, desc: 'a device by USB serial number instead of path (repeat for more)' },
    baud: { type: 'number', arg: 'rate', desc: 'line rate of every port (default 115200)' },
    schema: { type: 'string', arg: 'FILE', multiple: true, desc: 'description served for a device that has none (firmware: firmware/<app>/gen/schema.json); matched by cell name, used only when its keys match the device\'s HELLO' },
    'max-frame': { type: 'number', arg: 'bytes', desc: 'largest frame sent to a device, header included (default 4096; thermo firmware: 512)' },
    dir: { type: 'string', arg: 'dir', desc: 'directory for the node key (default .)' },
    listen: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'listen address (default TCP and QUIC on every interface, any port)' },
    bootstrap: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'peer to dial at start (with /p2p/<id>)' },
    'no-mdns': { type: 'boolean', desc: 'no LAN discovery' },
    'no-quic': { type: 'boolean', desc: 'TCP only' },
    dht: { type: 'string', arg: 'mode', desc: 'server | client | off (default server)' },
    'relay-server': { type: 'boolean', desc: 'also relay for peers behind NAT (circuit relay v2)' },
    json: { type: 'boolean', desc: 'one JSON line per event on stdout' },
  },
  examples: [
    'cell gateway --uart /dev/ttyUSB0',
    'cell gateway --uart /dev/ttyUSB0 --uart /dev/ttyACM0 --max-frame 512 --json',
    'cell gateway --uart /dev/ttyUSB0 --schema firmware/thermo/gen/schema.json   (callers need no schema file)',
    'cell gateway --serial A6008isP --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...',
  ],
};

/** One line for a person (docs/gateway.md §3 lists the events). */
function describeEvent(e: { event: string; path: string; [k: string]: unknown }): string {
  const s = (k: string): string => String(e[k]);
  switch (e.event) {
    case 'identified': return `${e.path}: cell "${s('cell')}" (${(e.entries as string[]).join(', ')})${e.again === true ? ' is back' : ''}`;
    case 'announced': return `${e.path}: "${s('cell')}" announced`;
    case 'reannounced': return `${e.path}: "${s('cell')}" announced again`;
    case 'renamed': return `${e.path}: now "${s('to')}" (was "${s('from')}", withdrawn)`;
    case 'lost': return `${e.path}: lost (${s('code')} ${s('message')}); waiting for it to come back`;
    case 'reopened': return `${e.path}: back; probing`;
    case 'probe-failed': return `${e.path}: no HELLO yet (${s('message')}); retrying`;
    default: return `${e.path}: ${s('message')}`;
  }
}

/** A --schema file: a describe() answer or a generated gen/schema.json (checked for shape). */
function loadSchema(file: string): CellDescription {
  if (!existsSync(file)) throw new CliError(`--schema ${file}: no such file`, { exit: EXIT_USAGE, fix: 'firmware schemas are written by `npm run build:firmware` (firmware/<app>/gen/schema.json); a running cell\'s by `cell gen <target>`' });
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`--schema ${file} is not JSON: ${(e as Error).message}`, { code: 406, fix: 'regenerate it (npm run build:firmware, or cell gen)' });
  }
  return checkDescription(json, file);
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals): void => { process.off('SIGINT', on); process.off('SIGTERM', on); resolve(s); };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const uarts = strs(p, 'uart');
  const serials = strs(p, 'serial');
  if (uarts.length + serials.length === 0) {
    throw new CliError('no device: give --uart <path> (or --serial <number>) at least once', { exit: EXIT_USAGE, fix: 'e.g. cell gateway --uart /dev/ttyUSB0' });
  }
  const dht = str(p, 'dht') ?? 'server';
  if (!['server', 'client', 'off'].includes(dht)) throw new CliError(`--dht "${dht}" is not server, client or off`, { exit: EXIT_USAGE });
  const line = { ...(num(p, 'baud') !== undefined ? { baudRate: num(p, 'baud')! } : {}), ...(num(p, 'max-frame') !== undefined ? { maxFrameBytes: num(p, 'max-frame')! } : {}) };
  const devices = [...uarts.map((path) => ({ path, ...line })), ...serials.map((serialNumber) => ({ serialNumber, ...line }))];

  const schemas = strs(p, 'schema').map(loadSchema);

  const print = (o: Record<string, unknown>, human: string): void => {
    if (ctx.json) ctx.out(stringify(o));
    else ctx.err(human);
  };

  // Loaded here, not at the top: libp2p is optional and only this command and `cell mesh` need it.
  const { startMeshNode } = await import('../../mesh/index.ts');
  const { startGateway } = await import('../../gateway/index.ts');
  const nodeP = startMeshNode({
    dir: str(p, 'dir') ?? '.',
    ...(strs(p, 'listen').length > 0 ? { listen: strs(p, 'listen') } : {}),
    bootstrap: strs(p, 'bootstrap'),
    mdns: !bool(p, 'no-mdns'),
    quic: !bool(p, 'no-quic'),
    dht: dht === 'off' ? false : (dht as 'server' | 'client'),
    relay: { client: true, server: bool(p, 'relay-server') },
  });
  // Devices are probed while the node starts (the gateway waits for the node only to announce).
  const gw = startGateway({
    node: nodeP,
    devices,
    schemas,
    onEvent: (e) => print({ ...e, sinceStartMs: Math.round(performance.now()) }, describeEvent(e)),
  });
  let node;
  try {
    node = await nodeP;
  } catch (e) {
    await gw.close();
    throw e;
  }
  // performance.now() counts from process start: the figure includes module loading.
  print({ event: 'node', peerId: node.peerId, addrs: node.addrs(), sinceStartMs: Math.round(performance.now()) },
    `mesh node ${node.peerId}\n${node.addrs().map((a) => `  ${a}`).join('\n')}`);

  const sig = await waitForSignal();
  print({ event: 'stopping', signal: sig }, `${sig}: stopping`);
  await gw.close();
  await node.stop();
  return 0;
}
