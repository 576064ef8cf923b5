#!/usr/bin/env node
// The warm-up caller of the gateway benchmark (bench/gateway/gateway.bench.mjs): one mesh node
// (dist/, plain node, loopback only) that finds every named cell through the gateway and calls
// read({channel: 0}) on each `--calls` times, checking every answer.
//   node bench/gateway/caller.mjs --bootstrap <multiaddr> --names thermo,sensor1 [--calls 200]
// Prints one JSON line {ok, calls, ms} on stdout and exits 0, or prints the error and exits 1.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const arg = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : def; };
const bootstrap = arg('bootstrap');
const names = (arg('names', 'thermo')).split(',');
const calls = Number(arg('calls', '200'));

const { startMeshNode } = await import(`${root}dist/mesh/index.js`);
const { sensorCell } = await import('./sensor-cell.mjs');
const node = await startMeshNode({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [bootstrap], mdns: false, quic: false, dht: 'client' });
const t0 = performance.now();
let n = 0;
try {
  await Promise.all(names.map(async (name) => {
    // thermo: the schema the gateway serves for it (--schema); the Node devices: their definition.
    const c = name === 'thermo' ? await node.connectByName(name, { timeoutMs: 10_000 }) : await node.connect(sensorCell(name), { timeoutMs: 10_000 });
    try {
      for (let i = 0; i < calls; i++) {
        const r = await c.read({ channel: 0 }, { deadlineMs: 5000 });
        if (r.channel !== 0 || typeof r.celsius !== 'number' || !(r.seq > 0)) throw new Error(`${name}: unexpected answer ${JSON.stringify(r)}`);
        n++;
      }
    } finally {
      await c.close();
    }
  }));
  process.stdout.write(JSON.stringify({ ok: true, calls: n, ms: Math.round(performance.now() - t0) }) + '\n');
  await node.stop();
  process.exit(0);
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, calls: n, error: String(e?.message ?? e) }) + '\n');
  await node.stop().catch(() => {});
  process.exit(1);
}
