// cell gateway --uart /dev/ttyX [--uart ...] [--can can0[,fd] ...] [mesh options] [--json]   (docs/gateway.md §1, §9)
// cell gateway --config /etc/cell/gateway.toml [flags that override it]   (§1 "Config file")
// Starts a mesh node (docs/mesh.md) and a gateway (src/gateway, cell/gateway) on it: every device on
// the given serial ports is probed, its cell announced by name, and calls and streams are proxied
// both ways until SIGINT/SIGTERM. On the first signal: the names are withdrawn, calls in flight
// get up to drain_ms to finish, then the ports close, the node stops and the exit code is 0; a
// second signal exits at once (128 + signal number).
// With --json (or log = "json"), one JSON line per event on stdout, errors included, each with
// time, level, msg and event (journald keeps them whole); otherwise a readable line on stderr.
import type { CommandSpec, Parsed } from '../args.ts';
import { CliError, errorJson, toCliError } from '../errors.ts';
import { gatewayOptions, readConfigToml, type GatewayRunOptions, type RawConfig } from '../gateway-config.ts';
import { stringify, type Ctx } from '../io.ts';
import type { Level } from '../log.ts';
import type { MeshNode } from '../../mesh/index.ts';
import type { Gateway } from '../../gateway/index.ts';

export const spec: CommandSpec = {
  name: 'gateway',
  summary: 'Make the cells of devices on serial ports callable by name from the mesh.',
  details: [
    'Opens each --uart port (reopening it when the device is unplugged and comes back), learns the',
    'device\'s cell from its HELLO, announces the name in the mesh (mDNS on the LAN, the DHT beyond)',
    'and forwards frames between mesh callers and the device without decoding them. After a',
    'reconnect the device is probed and announced again. Runs until SIGINT/SIGTERM: then the names',
    'are withdrawn, calls in flight get drain_ms (default 5000) to finish, and it exits 0; a second',
    'signal exits at once.',
    'Firmware does not serve describe() (no flash to spare): give its --schema so that callers by',
    'name (`cell call thermo read`) need no schema file of their own.',
    '--config FILE reads every setting from a TOML file (docs/gateway.md §1 "Config file";',
    'examples/gateway.toml); flags given as well override it. A bad file is refused with its line.',
    '--can IFACE[,fd] adds a CAN bus (SocketCAN "can0", or an slcan adapter "slcan:/dev/ttyACM0"): every',
    'device node on it (its boot HELLO, or --can-nodes probed) is announced the same way, withdrawn',
    'when it goes silent and announced again when it answers (docs/gateway.md §9).',
    'The node key lives in <dir>/.cell/mesh/key (same PeerId on every start).',
  ].join('\n'),
  args: [],
  flags: {
    config: { type: 'string', arg: 'FILE', desc: 'read the settings from this TOML file (flags override it; see examples/gateway.toml)' },
    uart: { type: 'string', arg: 'path', multiple: true, desc: 'serial port of a device (repeat for more; replaces the file\'s [[device]] list)' },
    serial: { type: 'string', arg: 'number', multiple: true, desc: 'a device by USB serial number instead of path (repeat for more)' },
    baud: { type: 'number', arg: 'rate', desc: 'line rate of every port (default 115200)' },
    can: { type: 'string', arg: 'iface[,fd]', multiple: true, desc: 'a CAN bus: can0 (SocketCAN), slcan:/dev/ttyACM0 (USB adapter); ",fd" for CAN FD (repeat for more; replaces the file\'s [[can]] list)' },
    'can-node': { type: 'number', arg: 'id', desc: 'the gateway\'s own node id on the CAN buses (default 0)' },
    'can-nodes': { type: 'string', arg: 'ids', desc: 'device node ids probed from the start, e.g. 10,11,12 (others are found by their boot HELLO)' },
    'can-bitrate': { type: 'number', arg: 'bit/s', desc: 'slcan adapters: the CAN bitrate (default 500000; SocketCAN: set it with ip link)' },
    schema: { type: 'string', arg: 'FILE', multiple: true, desc: 'description served for a device that has none (firmware: firmware/<app>/gen/schema.json); matched by cell name, used only when its keys match the device\'s HELLO' },
    key: { type: 'string', arg: 'FILE', multiple: true, desc: 'secure every device link with this fleet or device key file (docs/security.md); a device\'s plaintext is then refused' },
    'max-frame': { type: 'number', arg: 'bytes', desc: 'largest frame sent to a device, header included (default 4096; thermo firmware: 512)' },
    dir: { type: 'string', arg: 'dir', desc: 'directory for the node key (default .)' },
    listen: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'listen address (default TCP and QUIC on every interface, any port)' },
    bootstrap: { type: 'string', arg: 'multiaddr', multiple: true, desc: 'peer to dial at start (with /p2p/<id>)' },
    'no-mdns': { type: 'boolean', desc: 'no LAN discovery' },
    'no-quic': { type: 'boolean', desc: 'TCP only' },
    dht: { type: 'string', arg: 'mode', desc: 'server | client | off (default server)' },
    'relay-server': { type: 'boolean', desc: 'also relay for peers behind NAT (circuit relay v2)' },
    json: { type: 'boolean', desc: 'one JSON line per event on stdout (time, level, msg, event; errors too)' },
  },
  examples: [
    'cell gateway --uart /dev/ttyUSB0',
    'cell gateway --uart /dev/ttyUSB0 --uart /dev/ttyACM0 --max-frame 512 --json',
    'cell gateway --can can0 --can-nodes 10,11 --schema firmware/thermo/gen/schema.json',
    'cell gateway --uart /dev/ttyUSB0 --can slcan:/dev/ttyACM0 --can-bitrate 250000',
    'cell gateway --uart /dev/ttyUSB0 --schema firmware/thermo/gen/schema.json   (callers need no schema file)',
    'cell gateway --serial A6008isP --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...',
    'cell gateway --config /etc/cell/gateway.toml --json   (the systemd unit: systemd/cell-gateway.service)',
  ],
};

type GatewayEventLike = { event: string; path: string; [k: string]: unknown };

/** One line for a person (docs/gateway.md §3 lists the events). */
function describeEvent(e: GatewayEventLike): string {
  const s = (k: string): string => String(e[k]);
  switch (e.event) {
    case 'identified': return `${e.path}: cell "${s('cell')}" (${(e.entries as string[]).join(', ')})${e.again === true ? ' is back' : ''}`;
    case 'announced': return `${e.path}: "${s('cell')}" announced`;
    case 'reannounced': return `${e.path}: "${s('cell')}" announced again`;
    case 'renamed': return `${e.path}: now "${s('to')}" (was "${s('from')}", withdrawn)`;
    case 'lost': return `${e.path}: lost (${s('code')} ${s('message')}); waiting for it to come back`;
    case 'reopened': return `${e.path}: back; probing`;
    case 'upstream': return `${e.path}: "${s('cell')}" session ${e.up === true ? 'up' : 'down'}`;
    case 'probe-failed': return `${e.path}: no HELLO yet (${s('message')}); retrying`;
    case 'unannounced': return `${e.path}: "${s('cell')}" withdrawn (${s('message')})`;
    case 'restarted': return `${e.path}: restarted${e.cell !== null ? ` ("${s('cell')}")` : ''}; probing`;
    case 'secure': return `${e.path}: ${s('message')}`;
    default: return `${e.path}: ${s('message')}`;
  }
}

/** Level of a gateway event in the log. */
function levelOf(event: string, what?: unknown): Level {
  switch (event) {
    case 'error': return 'error';
    case 'secure': return what === 'refused' || what === 'lockout' ? 'warn' : 'info';
    case 'lost': case 'probe-failed': case 'unannounced': return 'warn';
    case 'upstream': return 'debug';
    default: return 'info';
  }
}

/** Where the lines go: JSON on stdout (journald, programs) or readable text on stderr. */
interface EventLog {
  json: boolean;
  /** `msg`: one line; `human`: the text form when it differs (several lines). */
  (level: Level, event: string, msg: string, fields?: Record<string, unknown>, human?: string): void;
}

function eventLog(ctx: Ctx, json: boolean): EventLog {
  const log = ((level: Level, event: string, msg: string, fields: Record<string, unknown> = {}, human = msg): void => {
    // performance.now() counts from process start: sinceStartMs includes module loading.
    if (log.json) ctx.out(stringify({ time: new Date().toISOString(), level, msg, event, ...fields, sinceStartMs: Math.round(performance.now()) }));
    else ctx.err(level === 'warn' || level === 'error' ? `${level === 'warn' ? 'warning' : 'error'}: ${human}` : human);
  }) as EventLog;
  log.json = json;
  return log;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

/**
 * SIGINT/SIGTERM from the start (a signal while the node starts stops it once it is up): the first
 * resolves `first`; a second exits the process at once with 128 + its number.
 */
function watchSignals(log: EventLog): { first: Promise<NodeJS.Signals>; got: () => NodeJS.Signals | null; dispose(): void } {
  let got: NodeJS.Signals | null = null;
  let resolve!: (s: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((r) => { resolve = r; });
  const on = (s: NodeJS.Signals): void => {
    if (got === null) { got = s; resolve(s); return; }
    const code = 128 + (SIGNAL_NUMBERS[s] ?? 0);
    log('warn', 'forced', `${s} again: exiting at once (calls in flight are cut)`, { signal: s, exit: code });
    process.exit(code);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return { first, got: () => got, dispose() { process.off('SIGINT', on); process.off('SIGTERM', on); } };
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  // Until the file says otherwise, --json decides how an error is printed.
  const log = eventLog(ctx, p.flags.json === true);
  try {
    let raw: RawConfig | null = null;
    if (typeof p.flags.config === 'string') {
      raw = readConfigToml(p.flags.config);
      // log = "json" counts for the file's own errors too (a service's journal keeps JSON lines).
      if (p.flags.json === undefined && raw.doc.log === 'json') log.json = true;
    }
    const opts = await gatewayOptions(p, raw);
    log.json = opts.json;
    return await serve(opts, log);
  } catch (e) {
    // Without JSON, the CLI prints the error (name, hint, fix) on stderr; with it, one JSON line.
    if (!log.json) throw e;
    const ce = toCliError(e);
    log('error', 'fatal', ce.message, { error: errorJson(ce) });
    return ce.exit;
  }
}

/** The Prometheus endpoint of `metrics = "host:port"` (src/gateway/metrics.ts, docs/gateway.md §7). */
async function startMetrics(gw: Gateway, address: string, log: EventLog): Promise<{ close(): Promise<void> }> {
  const { serveMetrics } = await import('../../gateway/index.ts');
  let m;
  try {
    m = await serveMetrics(gw, address);
  } catch (e) {
    throw new CliError(`metrics = "${address}": ${(e as Error).message}`, {
      name: 'MetricsUnavailable',
      fix: 'another process listens there (a second gateway?): give another port, or leave metrics out',
    });
  }
  log('info', 'metrics', `metrics on ${m.url}/metrics`, { url: m.url });
  return m;
}

/** The names this node provides (the gateway's proxies): its /cell/rpc/1/<name> protocols. */
async function providedNames(node: MeshNode): Promise<string[]> {
  return node.providedNames();
}

/**
 * Withdraw every name (MeshNode.withdraw): new streams are refused and identify tells the
 * connected peers (their lookups stop listing this node); streams already open keep working.
 * Provider records already in the DHT expire on their own (kad-dht has no removal).
 */
async function withdraw(node: MeshNode, names: string[]): Promise<void> {
  await node.withdraw(names);
}

/** Calls in flight through this node's proxies (streams until their end). */
function inFlight(node: MeshNode, names: string[]): number {
  let n = 0;
  for (const name of names) n += node.localLoad(name)?.inFlight ?? 0;
  return n;
}

async function serve(opts: GatewayRunOptions, log: EventLog): Promise<number> {
  const signals = watchSignals(log);
  try {
    // Loaded here, not at the top: libp2p is optional and only this command and `cell mesh` need it.
    const { startMeshNode } = await import('../../mesh/index.ts');
    const { startGateway } = await import('../../gateway/index.ts');
    if (opts.configFile !== null) log('debug', 'config', `config ${opts.configFile}`, { file: opts.configFile, devices: opts.devices.length, drainMs: opts.drainMs });
    const nodeP = startMeshNode({
      dir: opts.dir,
      ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
      bootstrap: opts.bootstrap,
      mdns: opts.mdns,
      quic: opts.quic,
      dht: opts.dht,
      relay: { client: true, server: opts.relayServer },
      onWarning: (m) => log('warn', 'warning', m),
    });
    // CAN buses open before anything is probed: a missing addon or interface stops the start.
    let buses: import('../../transports/can/bus.ts').CanBus[];
    try {
      buses = await openCanBuses(opts);
    } catch (e) {
      await nodeP.then((n) => n.stop(), () => {});
      throw e;
    }
    for (const b of buses) log('info', 'can', `CAN bus ${b.driver.name}: node ${b.node}${b.fd ? ', FD' : ''}`, { bus: b.driver.name, node: b.node, fd: b.fd });
    // Devices are probed while the node starts (the gateway waits for the node only to announce).
    const gw = startGateway({
      node: nodeP,
      devices: opts.devices,
      can: buses.map((bus, i) => {
        const c = opts.can[i]!;
        return { bus, nodes: c.nodes, names: c.names, learn: c.learn, ...(c.probeIntervalMs !== undefined ? { probeIntervalMs: c.probeIntervalMs } : {}) };
      }),
      schemas: opts.schemas,
      onEvent: (e) => log(levelOf(e.event, (e as { what?: unknown }).what), e.event, describeEvent(e as GatewayEventLike), e as unknown as Record<string, unknown>),
    });
    let node: MeshNode;
    try {
      node = await nodeP;
    } catch (e) {
      await gw.close();
      for (const b of buses) b.close();
      throw e;
    }
    log('info', 'node', `mesh node ${node.peerId} listening on ${node.addrs().join(' ')}`, { peerId: node.peerId, addrs: node.addrs() },
      `mesh node ${node.peerId}\n${node.addrs().map((a) => `  ${a}`).join('\n')}`);
    let metrics: { close(): Promise<void> } | null = null;
    try {
      if (opts.metrics !== undefined) metrics = await startMetrics(gw, opts.metrics, log);
    } catch (e) {
      await gw.close();
      for (const b of buses) b.close();
      await node.stop();
      throw e;
    }

    const sig = await signals.first;
    log('info', 'stopping', `${sig}: stopping (calls in flight get up to ${opts.drainMs} ms)`, { signal: sig, drainMs: opts.drainMs });
    // 1. Withdraw first: no new callers find or reach this node while the calls in flight finish.
    const names = await providedNames(node);
    await withdraw(node, names);
    log('info', 'withdrawn', names.length > 0 ? `withdrawn: ${names.join(', ')}` : 'nothing was announced', { cells: names });
    // 2. Drain: wait until no call is in flight, at most drainMs (a second signal cuts it short).
    const left = await new Promise<number>((resolve) => {
      const deadline = setTimeout(() => { clearInterval(poll); resolve(inFlight(node, names)); }, opts.drainMs);
      const poll = setInterval(() => {
        if (inFlight(node, names) === 0) { clearTimeout(deadline); clearInterval(poll); resolve(0); }
      }, 20);
      if (inFlight(node, names) === 0) { clearTimeout(deadline); clearInterval(poll); resolve(0); }
    });
    log(left === 0 ? 'info' : 'warn', 'drained', left === 0 ? 'no call in flight' : `${left} call(s) still in flight after ${opts.drainMs} ms: they end Closed`, { inFlight: left });
    // 3. Close: proxies (what is left ends Closed), ports, metrics, then the node.
    await metrics?.close();
    await gw.close();
    for (const b of buses) b.close();
    await node.stop();
    log('info', 'stopped', 'stopped');
    return 0;
  } finally {
    signals.dispose();
  }
}

/**
 * Open the driver and the CanBus of every configured bus (src/can/open.ts: the SocketCAN addon and
 * serialport load only now). A missing addon is CanUnavailable (900) with the fix; what is open
 * already is closed again.
 */
async function openCanBuses(opts: GatewayRunOptions): Promise<import('../../transports/can/bus.ts').CanBus[]> {
  if (opts.can.length === 0) return [];
  const { openCanDriver } = await import('../../can/open.ts');
  const { CanBus } = await import('../../transports/can/bus.ts');
  const out: import('../../transports/can/bus.ts').CanBus[] = [];
  try {
    for (const c of opts.can) {
      let driver;
      try {
        driver = await openCanDriver(c.iface, { fd: c.fd, ...(c.bitrate !== undefined ? { bitrate: c.bitrate } : {}), ...(c.dataBitrate !== undefined ? { dataBitrate: c.dataBitrate } : {}) });
      } catch (e) {
        throw canOpenError(e, c.iface);
      }
      out.push(new CanBus(driver, { node: c.node, fd: c.fd, ...(c.maxFrameBytes !== undefined ? { maxFrameBytes: c.maxFrameBytes } : {}) }));
    }
  } catch (e) {
    for (const b of out) b.close();
    throw e;
  }
  return out;
}

/** A driver that did not open, as a CliError with the fix (900: the addon; 901: the interface). */
export function canOpenError(e: unknown, iface: string): CliError {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 900) {
    const addon = /addon/i.test(msg);
    return new CliError(msg, {
      code: 900, name: 'CanUnavailable', detail: { interface: iface },
      fix: addon
        ? 'build the SocketCAN addon: `npm run build:native` (needs a C compiler: apt-get install build-essential) — or use a USB adapter through slcan (slcan:/dev/ttyACM0), which needs no addon'
        : 'this kernel has no SocketCAN: load it (`modprobe can-raw`, and `modprobe vcan` for a virtual bus), or use a USB adapter through slcan (slcan:/dev/ttyACM0)',
    });
  }
  if (code === 901) {
    return new CliError(msg, {
      code: 901, name: 'CanNoInterface', detail: { interface: iface },
      fix: `set the interface up: ip link set ${iface} type can bitrate 500000 restart-ms 100 && ip link set ${iface} up (a virtual bus: ip link add ${iface} type vcan && ip link set ${iface} up)`,
    });
  }
  return toCliError(e);
}
