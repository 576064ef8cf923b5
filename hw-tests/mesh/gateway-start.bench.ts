// Time from spawning `cell gateway` to the first remote call answered (issue 6 "Benchmarks"),
// with the steps in between, in network namespaces: the thermo simulator on a pty, the gateway in
// namespace d, a caller in c that already runs a mesh node (mDNS on the bridge) and tries
// connect('thermo') + read() in a loop from the moment of the spawn. Root only.
//   node --import tsx hw-tests/mesh/gateway-start.bench.ts [--runs 5]
// Prints one row per run and the medians. Informational: nothing is asserted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTopology, natUnavailable, netnsUnavailable } from './netns.ts';
import { meshTopology } from './topologies.ts';
import { deviceSimUnavailable, startDeviceSim } from './device-sim.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const why = netnsUnavailable() ?? natUnavailable() ?? (await deviceSimUnavailable());
if (why !== null) { console.log(`gateway start bench: SKIPPED — ${why}`); process.exit(0); }

const topo = createTopology(meshTopology({ lanHosts: 4, far: false, nat: false }));
const device = await startDeviceSim();
const rows: Record<string, number>[] = [];
try {
  const c = await topo.spawnAgent('c', 'hw-tests/mesh/ops-mesh.ts');
  await c.call('start', { listen: ['/ip4/0.0.0.0/tcp/0'], mdns: true, dht: 'server' });
  for (let run = 0; run < RUNS; run++) {
    const keyDir = mkdtempSync(join(tmpdir(), 'cell-gw-bench-'));
    const t0 = performance.now();
    const gw = await topo.spawnProgram('d', [process.execPath, `${root}bin/cell.mjs`, 'gateway', '--uart', device.hostPath, '--max-frame', '512',
      '--listen', '/ip4/0.0.0.0/tcp/0', '--no-quic', '--dir', keyDir, '--json'], { env: { CELL_CLI_FROM_SOURCE: '1' } });
    const seen: Record<string, number> = {};
    for (const ev of ['node', 'identified', 'announced']) {
      void gw.waitEvent(ev, () => true, 120_000).then(() => { seen[ev] = performance.now() - t0; }, () => {});
    }
    void gw.waitEvent('upstream', (d) => (d as { up: boolean }).up, 120_000).then(() => { seen['upstream up'] = performance.now() - t0; }, () => {});
    let answered = false;
    const end = Date.now() + 120_000;
    while (!answered && Date.now() < end) {
      try {
        await c.call('connect', { cell: 'thermo', timeoutMs: 3000 });
        await c.call('call', { cell: 'thermo', method: 'read', args: { channel: 0 }, deadlineMs: 3000 });
        answered = true;
      } catch { await new Promise((r) => setTimeout(r, 50)); }
    }
    seen['first call answered'] = answered ? performance.now() - t0 : NaN;
    rows.push(seen);
    console.log(`run ${run + 1}: ${Object.entries(seen).sort((a, b) => a[1] - b[1]).map(([k, v]) => `${k} ${Math.round(v)} ms`).join(', ')}`);
    await gw.stop(3000);
    rmSync(keyDir, { recursive: true, force: true });
  }
  const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
  const keys = ['node', 'identified', 'announced', 'upstream up', 'first call answered'];
  console.log(`medians of ${RUNS} runs (ms from spawn): ${keys.map((k) => `${k} ${Math.round(median(rows.map((r) => r[k] ?? NaN)))}`).join(', ')}`);
} finally {
  topo.close();
  await device.stop();
}
