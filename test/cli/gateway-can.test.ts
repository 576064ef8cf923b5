// `cell gateway` with a CAN bus, end to end: the real CLI (from the sources) in its own process,
// reading a config file with a [[can]] section whose interface is a simulated slcan adapter on a
// socat pty (test/helpers/slcan-adapter.ts), bridged to a memory bus in this process where two Node
// thermo devices are nodes 10 and 11. A mesh caller in this process calls both by name; node 11
// goes silent (withdrawn: `unannounced`) and comes back (`announced`, callable again); the metrics
// endpoint has the CAN bus counters; SIGTERM stops it with exit 0.
// Skips (with the reason) without socat, serialport or libp2p.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTracked } from '../../hw-tests/lib/procs.ts';
import { ptyUnavailable } from '../../hw-tests/lib/pty.ts';
import { MemoryCanBus } from '../../src/transports/can/memory-bus.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { startSlcanAdapter, type SlcanAdapter } from '../helpers/slcan-adapter.ts';
import { SimCanDevice, until } from '../can/sessions-helpers.ts';
import { skipDeclared } from '../helpers/skip.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const test = suite('cli: cell gateway with a [[can]] bus (slcan adapter)');
type Line = Record<string, unknown> & { event: string };

const why = ptyUnavailable()
  ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`))
  ?? (await import('libp2p').then(() => null, (e: Error) => `libp2p is not installed: ${e.message.split('\n')[0]}`));

if (why !== null) {
  skipDeclared(test, 'two CAN devices by name, one silent and back, metrics, SIGTERM', why);
} else {
  const { startMeshNode } = await import('../../src/mesh/index.ts');
  const wire = new MemoryCanBus();
  let adapter: SlcanAdapter;
  let caller: MeshNode | null = null;
  const sims: SimCanDevice[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cell-gw-can-'));
  let child: ReturnType<typeof spawnTracked> | null = null;
  const lines: Line[] = [];
  let stderr = '';
  const has = (event: string, pred: (l: Line) => boolean = () => true): boolean => lines.some((l) => l.event === event && pred(l));
  const wait = (event: string, pred?: (l: Line) => boolean, ms = 60_000): Promise<void> =>
    until(() => { if (child?.exitCode !== null) throw new Error(`gateway exited ${child?.exitCode}: ${stderr}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`); return has(event, pred); }, `"${event}"`, ms);

  test.before(async () => {
    adapter = await startSlcanAdapter(wire);
    // Devices: a Node thermo on node 10 and one on node 11, both booting (HELLO broadcast).
    sims.push(new SimCanDevice(wire, 10).start(), new SimCanDevice(wire, 11).start());
    writeFileSync(join(dir, 'gateway.toml'), [
      'dir = "state"', 'log = "json"', 'drain_ms = 2000', 'max_frame = 1024', 'metrics = "127.0.0.1:0"',
      '[mesh]', 'listen = ["/ip4/127.0.0.1/tcp/0"]', 'mdns = false', 'quic = false', 'dht = "off"',
      '[[can]]', `interface = "slcan:${adapter.path}"`, 'bitrate = 500000', 'probe_interval_ms = 300',
      '[[can.device]]', 'node = 10', 'name = "thermo-a"',
      '[[can.device]]', 'node = 11', 'name = "thermo-b"',
      '',
    ].join('\n'));
    child = spawnTracked(process.execPath, [join(root, 'bin/cell.mjs'), 'gateway', '--config', join(dir, 'gateway.toml')], {
      cwd: dir, env: { ...process.env, CELL_CLI_FROM_SOURCE: '1', FORCE_COLOR: '0' },
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const t = out.slice(0, nl); out = out.slice(nl + 1);
        if (t.trim() !== '') { try { lines.push(JSON.parse(t) as Line); } catch { lines.push({ event: '(not JSON)', text: t }); } }
      }
    });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  });
  test.after(async () => {
    await caller?.stop();
    if (child !== null && child.exitCode === null) child.kill('SIGKILL');
    for (const s of sims) await s.silence();
    await adapter?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('two CAN devices by name, one silent and back, metrics, SIGTERM', async () => {
    await wait('node');
    await wait('can');
    await wait('announced', (l) => l.cell === 'thermo-a');
    await wait('announced', (l) => l.cell === 'thermo-b');
    const node = lines.find((l) => l.event === 'node')!;
    caller = await startMeshNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, quic: false, dht: false, bootstrap: node.addrs as string[] });
    for (const name of ['thermo-a', 'thermo-b']) {
      const t = await caller.connect(Thermo, { name, timeoutMs: 30_000 });
      assert.is((await t.read({ channel: 3 }, { deadlineMs: 10_000 })).channel, 3);
      await t.close();
    }
    const url = lines.find((l) => l.event === 'metrics')!.url as string;
    const prom = await (await fetch(`${url}/metrics`)).text();
    assert.match(prom, /cell_gateway_can_nodes_up\{bus="slcan:[^"]+"\} 2/);
    assert.match(prom, /cell_gateway_calls_total\{device="slcan:[^"]+:10",cell="thermo",method="read"\} 1/);

    await sims[1]!.silence();
    await wait('unannounced', (l) => l.cell === 'thermo-b');
    assert.ok(has('lost', (l) => String(l.path).endsWith(':11')));
    sims[1]!.start(true);
    await until(() => lines.filter((l) => l.event === 'announced' && l.cell === 'thermo-b').length === 2, 'announced again', 60_000);
    const t = await caller.connect(Thermo, { name: 'thermo-b', timeoutMs: 30_000 });
    assert.is((await t.read({ channel: 1 }, { deadlineMs: 10_000 })).channel, 1);
    await t.close();

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child!.kill('SIGTERM');
    assert.is(await exited, 0, stderr);
    assert.ok(has('stopped'));
  });
}

test.run();
