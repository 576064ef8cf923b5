#!/usr/bin/env node
// The mesh caller of the arm run (scripts/test-arm.mjs, docs/arm.md): a plain-JavaScript program
// on the built package (dist/, `cell/mesh`) that an arm Node runs under qemu-user. It starts a mesh
// node on loopback, dials the gateway (--bootstrap), finds the device's cell by name
// (connectByName: the gateway serves the firmware's --schema) and checks three answers against
// the thermo firmware's own rules (firmware/thermo/schema.ts):
//   read({channel: 2})  → {channel: 2, celsius: simulatedCelsius(2, seq), seq}
//   info({})            → {name: 'thermo', fwVersion: '0.1.0'}
//   read({channel: 9})  → app error 1001 sensorFault {channel: 9, reason: noSuchChannel}
// Prints one JSON line on stdout: {ok, arch, node, quic, warnings, conns, calls, failures, ms}.
//   node test/arm/caller.mjs --bootstrap /ip4/127.0.0.1/tcp/N/p2p/<id> [--bootstrap ...] [--timeout-ms 120000]
import { startMeshNode } from 'cell/mesh';

const args = process.argv.slice(2);
const all = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const bootstrap = all('--bootstrap');
const timeoutMs = Number(all('--timeout-ms')[0] ?? 120_000);
const ms = { imported: Math.round(performance.now()) };

/** firmware/thermo/schema.ts simulatedCelsius: the device's simulated ADC, in quarter degrees. */
function simulatedCelsius(channel, seq) {
  const k = (Math.imul(seq, 37) + channel * 11) >>> 0;
  return (80 + channel * 6 + (k % 41)) * 0.25;
}

const warnings = [];
const failures = [];
const calls = [];
const check = (cond, what) => { if (!cond) failures.push(what); };
let node = null;
let client = null;
const watchdog = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, arch: process.arch, failures: [...failures, `no result within ${timeoutMs} ms`], warnings, ms }));
  process.exit(1);
}, timeoutMs);

try {
  node = await startMeshNode({
    listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, mdns: false, dht: 'client', onWarning: (m) => warnings.push(m),
  });
  ms.nodeStarted = Math.round(performance.now());
  // The gateway may have announced just now: retry the lookup until the deadline.
  const end = Date.now() + timeoutMs - 5000;
  let lastErr = null;
  while (client === null && Date.now() < end) {
    try {
      client = await node.connectByName('thermo', { timeoutMs: 15_000, raceIntervalMs: 0 });
    } catch (e) {
      lastErr = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  if (client === null) throw new Error(`connectByName('thermo') failed: ${lastErr?.message}`);
  ms.connected = Math.round(performance.now());

  const r = await client.read({ channel: 2 }, { deadlineMs: 20_000 });
  ms.firstCall = Math.round(performance.now());
  calls.push({ method: 'read', args: { channel: 2 }, result: r });
  check(r.channel === 2, `read: channel ${r.channel}, expected 2`);
  check(Number.isInteger(r.seq) && r.celsius === simulatedCelsius(2, r.seq), `read: celsius ${r.celsius} for seq ${r.seq}, expected ${simulatedCelsius(2, r.seq)}`);

  const info = await client.info({}, { deadlineMs: 20_000 });
  calls.push({ method: 'info', result: { name: info.name, fwVersion: info.fwVersion } });
  check(info.name === 'thermo' && info.fwVersion === '0.1.0', `info: ${JSON.stringify({ name: info.name, fwVersion: info.fwVersion })}`);

  try {
    const bad = await client.read({ channel: 9 }, { deadlineMs: 20_000 });
    check(false, `read({channel: 9}) answered ${JSON.stringify(bad)}, expected sensorFault`);
  } catch (e) {
    calls.push({ method: 'read', args: { channel: 9 }, error: { code: e.code, name: e.name, detail: e.detail ?? e.data ?? null } });
    check(e.code === 1001, `read({channel: 9}): code ${e.code} (${e.message}), expected 1001 sensorFault`);
  }
} catch (e) {
  failures.push(String(e?.stack ?? e));
}

// Which transport carried the calls: the remote addresses of the node's connections.
const conns = node === null ? [] : node.libp2p.getConnections().map((c) => c.remoteAddr.toString());
const quic = node === null ? null : { loaded: node.libs?.quic != null, listening: node.addrs().some((a) => a.includes('/quic')) };
try { await client?.close(); } catch { /* closing after a failure */ }
try { await node?.stop(); } catch { /* closing after a failure */ }
clearTimeout(watchdog);
ms.total = Math.round(performance.now());
console.log(JSON.stringify({ ok: failures.length === 0, arch: process.arch, node: process.version, quic, warnings, conns, calls, failures, ms }));
process.exit(failures.length === 0 ? 0 : 1);
