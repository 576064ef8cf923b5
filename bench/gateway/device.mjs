#!/usr/bin/env node
// A Node device for the gateway benchmark (bench/gateway/gateway.bench.mjs): a small sensor cell
// served on one end of a socat pty pair with serveUart (docs/uart.md §3), from the built package
// (dist/), plain node. The thermo firmware simulator (hw-tests/lib/sim-device.mjs) is the
// benchmark's first device; a gateway announces a name once, so its other devices must run other
// cells: these (sensor-cell.mjs), named by the caller (sensor1, sensor2, ...).
//   node bench/gateway/device.mjs --pty <path> --name sensor1
// Prints "ready <pty>" on stdout once the port is open; exits on SIGTERM or when stdin closes.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const arg = (name) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : undefined; };
const pty = arg('pty');
const name = arg('name') ?? 'sensor1';
if (pty === undefined) { process.stderr.write('usage: device.mjs --pty <path> [--name sensor1]\n'); process.exit(2); }

const { serveUart } = await import(`${root}dist/uart/index.js`);
const { sensorCell } = await import('./sensor-cell.mjs');

const Sensor = sensorCell(name);

let seq = 0;
const dev = serveUart(Sensor, { read: ({ channel }) => ({ channel, celsius: 20 + channel / 4, seq: ++seq }) }, { path: pty, maxFrameBytes: 512 });
const opened = new Promise((resolve) => { const off = dev.onState((s) => { if (s === 'open') { off(); resolve(); } }); });
await opened;
process.stdout.write(`ready ${pty}\n`);

const stop = async () => { await dev.close(); process.exit(0); };
process.on('SIGTERM', () => { void stop(); });
process.stdin.on('end', () => { void stop(); });
process.stdin.resume();
