// `cell gateway --config` as a service runs it, stopped by a signal (docs/gateway.md §1 "Stopping"):
// the real CLI (from the TypeScript sources) in its own process, the thermo firmware simulated on a
// socat pty, a mesh caller in this process. On SIGTERM the gateway withdraws its names (new streams
// are refused), lets the calls in flight finish (a stream runs to its end), closes and exits 0; a
// second signal exits at once (143); drain_ms bounds the wait. Every stdout line is JSON with time,
// level, msg and event. The device is announced under a configured name (`[[device]] name`); the
// file's `metrics` address serves the gateway's counters.
// Skips (with the reason) without socat, serialport, the firmware toolchain or libp2p.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceSimUnavailable, startDeviceSim, type DeviceSim } from '../../hw-tests/mesh/device-sim.ts';
import { describeCell } from '../../src/codec/schema-json.ts';
import { connect } from '../../src/rpc/index.ts';
import { main } from '../../src/cli/main.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import { skipDeclared } from '../helpers/skip.ts';
import { HANG_MS, startGatewayCli, type GatewayProc } from '../helpers/gateway-cli.ts';

const test = suite('cli: cell gateway --config, stopped by SIGTERM');
const ALIAS = 'greenhouse-thermo';

async function libp2pUnavailable(): Promise<string | null> {
  try { await import('libp2p'); return null; } catch (e) { return `libp2p is not installed (optional peer dependency): ${(e as Error).message.split('\n')[0]}`; }
}

function config(devicePath: string, drainMs: number): string {
  return [
    `dir = "state"           # relative: to this file's directory`,
    'log = "json"',
    `drain_ms = ${drainMs}`,
    'max_frame = 512',
    'metrics = "127.0.0.1:0"   # any free port: the `metrics` line says which',
    '',
    '[mesh]',
    'listen = ["/ip4/127.0.0.1/tcp/0"]',
    'mdns = false',
    'quic = false',
    'dht = "off"',
    '',
    '[[device]]',
    `path = ${JSON.stringify(devicePath)}`,
    `name = "${ALIAS}"`,
    'schema = "thermo.json"   # relative too',
    '',
  ].join('\n');
}

/** Every stdout line is a journald-friendly JSON object. */
function checkLines(gw: GatewayProc): void {
  for (const l of gw.lines) {
    assert.type(l.time, 'string', JSON.stringify(l));
    assert.ok(!Number.isNaN(Date.parse(l.time as string)), JSON.stringify(l));
    assert.ok(['debug', 'info', 'warn', 'error'].includes(l.level as string), JSON.stringify(l));
    assert.type(l.msg, 'string', JSON.stringify(l));
    assert.not.match(l.msg as string, /\n/, 'msg is one line');
    assert.type(l.event, 'string', JSON.stringify(l));
  }
}

const order = (gw: GatewayProc, events: string[]): void => {
  const at = events.map((e) => gw.lines.findIndex((l) => l.event === e));
  assert.ok(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)), `${events.join(' < ')}: ${JSON.stringify(gw.lines.map((l) => l.event))}`);
};

const why = (await deviceSimUnavailable()) ?? (await libp2pUnavailable());
if (why !== null) {
  skipDeclared(test, 'SIGTERM: withdraw, drain, exit 0; a second signal; the drain bound', why);
} else {
  const { startMeshNode } = await import('../../src/mesh/index.ts');
  let dev: DeviceSim;
  const dirs: string[] = [];
  const procs: GatewayProc[] = [];

  const newDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'cell-gw-stop-'));
    dirs.push(d);
    writeFileSync(join(d, 'thermo.json'), JSON.stringify(describeCell(ThermoDef)));
    return d;
  };

  /** A gateway on the simulated device, announced, and a caller node connected to it. */
  async function setUp(drainMs: number): Promise<{ gw: GatewayProc; caller: MeshNode; peerId: string }> {
    const gw = startGatewayCli(newDir(), config(dev.hostPath, drainMs));
    procs.push(gw);
    const node = await gw.waitFor('node');
    await gw.waitFor('announced', (l) => l.cell === ALIAS);
    await gw.waitFor('upstream', (l) => l.up === true); // the proxy's session with the device
    const caller = await startMeshNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, quic: false, dht: false, bootstrap: node.addrs as string[] });
    return { gw, caller, peerId: node.peerId as string };
  }

  /** A samples stream through the gateway, read in the background; resolves at its end. */
  async function stream(caller: MeshNode, count: number): Promise<{ items: number[]; first: Promise<void>; end: Promise<unknown> }> {
    const client = await connect(ThermoDef, await caller.bestLink(ALIAS, { timeoutMs: HANG_MS }));
    const items: number[] = [];
    let firstSeen!: () => void;
    const first = new Promise<void>((r) => { firstSeen = r; });
    const end = (async () => {
      try {
        for await (const s of client.samples({ count })) { items.push(s.i); firstSeen(); }
        return null;
      } catch (e) {
        return e;
      } finally {
        await client.close().catch(() => {});
      }
    })();
    return { items, first, end };
  }

  test.before(async () => { dev = await startDeviceSim(); });
  test.after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await dev?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('announced under the configured name: `cell call greenhouse-thermo read` works (schema from the file)', async () => {
    const { gw, caller } = await setUp(60_000);
    const env = { ...process.env };
    try {
      process.env.CELL_MESH_BOOTSTRAP = ((await gw.waitFor('node')).addrs as string[])[0];
      process.env.CELL_MESH_NO_MDNS = '1';
      process.env.CELL_MESH_LISTEN = '/ip4/127.0.0.1/tcp/0';
      process.env.CELL_MESH_TIMEOUT_MS = String(HANG_MS); // a loaded machine may take seconds to dial
      const out: string[] = [], err: string[] = [];
      const code = await main(['call', ALIAS, 'read', '{"channel": 1}', '--json'], { out: (l) => out.push(l), err: (l) => err.push(l) });
      assert.is(code, 0, err.join('\n') + out.join('\n'));
      assert.is(JSON.parse(out[0]!).channel, 1);
      const identified = await gw.waitFor('identified');
      assert.is(identified.cell, 'thermo', 'the HELLO names the firmware\'s cell; the mesh sees the configured name');
      // metrics = "...": the endpoint serves the call just made, under the device's path.
      const url = (await gw.waitFor('metrics')).url as string;
      const prom = await (await fetch(`${url}/metrics`)).text();
      assert.match(prom, /^cell_gateway_calls_total\{.*method="read".*\} 1$/m);
    } finally {
      for (const k of ['CELL_MESH_BOOTSTRAP', 'CELL_MESH_NO_MDNS', 'CELL_MESH_LISTEN', 'CELL_MESH_TIMEOUT_MS']) { if (env[k] === undefined) delete process.env[k]; else process.env[k] = env[k]; }
      gw.child.kill('SIGTERM');
      assert.is(await gw.exited, 0, gw.stderr());
      await caller.stop();
    }
  });

  test('SIGTERM: names withdrawn first (new streams refused), the stream in flight runs to its end, exit 0', async () => {
    const { gw, caller, peerId } = await setUp(60_000);
    try {
      const COUNT = 40; // 100 ms apart on the device: the drain has work to wait for
      const s = await stream(caller, COUNT);
      await s.first;
      gw.child.kill('SIGTERM');
      const stopping = await gw.waitFor('stopping');
      assert.is(stopping.signal, 'SIGTERM');
      const withdrawn = await gw.waitFor('withdrawn');
      assert.equal(withdrawn.cells, [ALIAS]);
      // Withdrawn while the node still runs: a new stream to the name is refused.
      const refused = await caller.openLink(peerId, ALIAS, { timeoutMs: 10_000 }).then((l) => { l.close(); return null; }, (e: unknown) => e);
      assert.ok(refused !== null, 'a new stream after the withdrawal is refused');
      assert.is((refused as { detail?: { reason?: string } }).detail?.reason, 'protocol', String(refused));
      assert.is(await s.end, null, 'the stream ends without an error');
      assert.is(s.items.length, COUNT);
      assert.is(await gw.exited, 0, gw.stderr());
      const drained = gw.lines.find((l) => l.event === 'drained')!;
      assert.is(drained.inFlight, 0);
      order(gw, ['announced', 'stopping', 'withdrawn', 'drained', 'stopped']);
      checkLines(gw);
    } finally {
      await caller.stop();
    }
  });

  test('a second signal exits at once (143), the stream in flight cut', async () => {
    const { gw, caller } = await setUp(600_000);
    try {
      const s = await stream(caller, 60_000); // far longer than the test: only the second signal ends it
      await s.first;
      gw.child.kill('SIGTERM');
      await gw.waitFor('withdrawn');
      gw.child.kill('SIGTERM');
      assert.is(await gw.exited, 143, gw.stderr());
      const forced = await gw.waitFor('forced');
      assert.is(forced.level, 'warn');
      assert.ok(!gw.lines.some((l) => l.event === 'stopped'));
      assert.ok((await s.end) !== null, 'the stream ended with an error');
      checkLines(gw);
    } finally {
      await caller.stop();
    }
  });

  test('drain_ms bounds the wait: a call still running then ends, and the exit code is 0', async () => {
    const { gw, caller } = await setUp(300);
    try {
      const s = await stream(caller, 60_000);
      await s.first;
      gw.child.kill('SIGTERM');
      assert.is(await gw.exited, 0, gw.stderr());
      const drained = gw.lines.find((l) => l.event === 'drained')!;
      assert.is(drained.inFlight, 1);
      assert.is(drained.level, 'warn');
      order(gw, ['stopping', 'withdrawn', 'drained', 'stopped']);
      assert.ok((await s.end) !== null, 'the stream cut by the close ended with an error');
      checkLines(gw);
    } finally {
      await caller.stop();
    }
  });
}

test.run();
