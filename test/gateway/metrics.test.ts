// src/gateway/metrics.ts and stats.ts: the Prometheus text (escaping, cumulative histograms,
// +Inf), the bounded in-flight table, and a real gateway — the thermo firmware simulated on a
// socat pty, real libp2p nodes on loopback, a mesh caller — scraped over HTTP: N calls counted N
// times, an error counted by its code, the text parsed by a strict parser, and
// `cell status --gateway --json` reporting the same numbers. No wall-clock assertions.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import {
  escapeLabelValue, formatPrometheus, formatValue, gatewayFamilies, histogramSamples, parseHostPort, serveMetrics, type MetricsServer,
} from '../../src/gateway/metrics.ts';
import { DeviceStats, LATENCY_BUCKETS_SECONDS, methodStatus, type GatewayStatus } from '../../src/gateway/stats.ts';
import { startGateway, type Gateway } from '../../src/gateway/gateway.ts';
import { memoryPair } from '../../src/transports/memory.ts';
import { LinkStats, type Link, type LinkHandlers } from '../../src/transports/link.ts';
import { measureGc } from '../../bench/lib/alloc.ts';
import { Header, HEADER_BYTES, KIND_ERROR, KIND_REQUEST, KIND_RESPONSE, writeHeader } from '../../src/wire/header.ts';
import type { HelloInfo } from '../../src/rpc/payloads.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import { ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import { deviceSimUnavailable, startDeviceSim, type DeviceSim } from '../../hw-tests/mesh/device-sim.ts';
import { meshNodes, stopAll } from '../mesh/helpers.ts';
import { cli, cliIn } from '../cli/helpers.ts';
import { parseExposition, sampleValue } from './prom-parse.ts';

const codeOf = (e: unknown): number => (e as { code: number }).code;

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => { body += s; }).on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject).end();
  });
}

// ---------------------------------------------------------------------------------------------
const text = suite('gateway metrics: Prometheus text format');

const status = (over: Partial<GatewayStatus['devices'][number]> = {}): GatewayStatus => ({
  version: 1, pid: 1, peerId: 'p', uptimeSeconds: 12.5, rssBytes: 1000, meshPeers: 3,
  latencyBucketsSeconds: [0.001, 0.01, 0.1],
  devices: [{
    device: '/dev/tty"odd\\name\nx', match: '/dev/tty*', path: '/dev/ttyUSB0', cell: 'thermo', announcedAs: 'thermo', present: true, up: true, announced: true,
    reconnects: 2, probes: 3, probeFailures: 1, sessions: 4,
    link: { bytesIn: 10, bytesOut: 20, framesIn: 1, framesOut: 2, crcErrors: 5, resyncs: 6, ioErrors: 0, dropped: 0 },
    meshStreams: 1, inFlight: 0, untracked: 0,
    methods: [
      { cell: 'thermo', method: 'read', kind: 'method', calls: 7, errors: { 1001: 2, 401: 1 }, cancelled: 0, events: 0, latency: { buckets: [1, 3, 3, 6], sumSeconds: 0.75, count: 6 } },
      { cell: 'thermo', method: 'alarm', kind: 'event', calls: 0, errors: {}, cancelled: 0, events: 4, latency: { buckets: [0, 0, 0, 0], sumSeconds: 0, count: 0 } },
    ],
    ...over,
  }],
});

text('label values escape backslash, double quote and line feed; the parser gets the raw value back', () => {
  assert.is(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const out = formatPrometheus(gatewayFamilies(status()));
  assert.ok(out.includes('cell_gateway_device_present{device="/dev/tty\\"odd\\\\name\\nx"} 1\n'), out);
  const fams = parseExposition(out);
  assert.is(sampleValue(fams, 'cell_gateway_link_crc_errors_total', { device: '/dev/tty"odd\\name\nx' }), 5);
});

text('histograms: cumulative buckets with le, a +Inf bucket equal to _count, _sum and _count', () => {
  const out = formatPrometheus(gatewayFamilies(status({ device: 'd' })));
  const lines = out.split('\n').filter((l) => l.startsWith('cell_gateway_call_duration_seconds'));
  assert.equal(lines, [
    'cell_gateway_call_duration_seconds_bucket{device="d",cell="thermo",method="read",le="0.001"} 1',
    'cell_gateway_call_duration_seconds_bucket{device="d",cell="thermo",method="read",le="0.01"} 3',
    'cell_gateway_call_duration_seconds_bucket{device="d",cell="thermo",method="read",le="0.1"} 3',
    'cell_gateway_call_duration_seconds_bucket{device="d",cell="thermo",method="read",le="+Inf"} 6',
    'cell_gateway_call_duration_seconds_sum{device="d",cell="thermo",method="read"} 0.75',
    'cell_gateway_call_duration_seconds_count{device="d",cell="thermo",method="read"} 6',
  ]);
  assert.ok(out.includes('# TYPE cell_gateway_call_duration_seconds histogram\n'));
  // errors by code, events by event, and no call series for an event
  const fams = parseExposition(out);
  assert.is(sampleValue(fams, 'cell_gateway_call_errors_total', { method: 'read', code: '1001' }), 2);
  assert.is(sampleValue(fams, 'cell_gateway_call_errors_total', { method: 'read', code: '401' }), 1);
  assert.is(sampleValue(fams, 'cell_gateway_events_total', { event: 'alarm' }), 4);
  assert.not.ok(out.includes('method="alarm"'));
  assert.is(sampleValue(fams, 'cell_gateway_mesh_peers'), 3);
  // every counter ends in _total, HELP and TYPE for each family (the parser checks both)
  for (const f of fams.values()) assert.ok(f.help.length > 0 && f.type !== '', f.name);
});

text('values: NaN, +Inf, -Inf; bad names and repeated families are refused', () => {
  assert.is(formatValue(NaN), 'NaN');
  assert.is(formatValue(Infinity), '+Inf');
  assert.is(formatValue(-Infinity), '-Inf');
  assert.is(formatValue(0.0025), '0.0025');
  assert.throws(() => formatPrometheus([{ name: 'bad-name', type: 'gauge', help: 'x', samples: [] }]), /not valid/);
  assert.throws(() => formatPrometheus([{ name: 'a', type: 'gauge', help: 'x', samples: [] }, { name: 'a', type: 'gauge', help: 'x', samples: [] }]), /twice/);
  assert.throws(() => formatPrometheus([{ name: 'a', type: 'gauge', help: 'x', samples: [{ suffix: '', labels: [['__x', 'y']], value: 1 }] }]), /label name/);
  const h = formatPrometheus([{ name: 'h', type: 'histogram', help: 'a "quoted" help\\ with\nbreak', samples: histogramSamples([], [1, 2], [0, 5], 7, 9) }]);
  assert.ok(h.startsWith('# HELP h a "quoted" help\\\\ with\\nbreak\n# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="2"} 5\nh_bucket{le="+Inf"} 9\nh_sum 7\nh_count 9\n'), h);
  assert.is(parseExposition(h).get('h')!.help, 'a "quoted" help\\ with\nbreak');
});

text('addresses: host:port, [v6]:port, a bare port on 127.0.0.1; the rest refused with the fix', () => {
  assert.equal(parseHostPort('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.equal(parseHostPort('[::1]:80'), { host: '::1', port: 80 });
  assert.equal(parseHostPort('9464'), { host: '127.0.0.1', port: 9464 });
  assert.equal(parseHostPort('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  for (const bad of [':9464', 'localhost', 'h:99999', 'h:x', '::1:80']) assert.throws(() => parseHostPort(bad), /host:port/, bad);
});

text.run();

// ---------------------------------------------------------------------------------------------
const inflight = suite('gateway metrics: the in-flight table is bounded');

const HELLO: HelloInfo = { version: 1, flags: 0, heartbeatMs: 0, maxFrameBytes: 512, cellName: 'thermo', entries: ThermoDef.entries as HelloInfo['entries'] };

function frame(kind: number, id: number, key: bigint, payload: number[] = []): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES + payload.length);
  const h = new Header();
  h.kind = kind; h.callId = id; h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n); h.length = payload.length;
  writeHeader(h, b, 0);
  b.set(payload, HEADER_BYTES);
  return b;
}

inflight('calls never answered are evicted and counted, not kept; answers are matched by call id; a lost link counts 401', async () => {
  const read = ThermoDef.entries.find((e) => e.name === 'read')!.key;
  const stats = new DeviceStats('mem', { maxInFlightTracked: 64 });
  const [gwSide, devSide] = memoryPair();
  const got: number[] = [];
  devSide.start({ onFrame: (b, o) => got.push(b[o + 1]! & 0x0f), onClose: () => {} });
  const tap = stats.tap(gwSide, HELLO);
  tap.start({ onFrame: () => {}, onClose: () => {} });
  for (let id = 1; id <= 200; id++) tap.send(frame(KIND_REQUEST, id, read));
  // ids 137..200 still held (64 slots); 1..136 evicted as 201.. are not sent: 200 - 64 = 136
  assert.is(stats.untracked, 136);
  devSide.send(frame(KIND_RESPONSE, 200, read));
  devSide.send(frame(KIND_ERROR, 199, read, [0xe9, 0x03, 0, 0])); // code 1001
  devSide.send(frame(KIND_RESPONSE, 5, read)); // evicted long ago: untracked
  await new Promise((r) => setTimeout(r, 20));
  const t = stats.tables[0]!;
  const i = ThermoDef.entries.findIndex((e) => e.name === 'read');
  assert.is(t.calls[i], 200);
  assert.is(t.answered[i], 2);
  assert.is(stats.untracked, 137);
  gwSide.close();
  await new Promise((r) => setTimeout(r, 20));
  // the 62 still in flight end Unavailable at the caller (the proxy answers them): counted as 401
  const m = methodStatus(t).find((x) => x.method === 'read')!;
  assert.equal(m.errors, { 1001: 1, 401: 62 });
  assert.is(m.latency.count, 2);
  assert.is(m.latency.buckets.length, LATENCY_BUCKETS_SECONDS.length + 1);
  assert.ok(got.length === 200);
});

inflight('a frame costs no allocation: 0 scavenges over 10^5 REQUEST + RESPONSE pairs through the tap', async () => {
  const keys = ThermoDef.entries.map((e) => e.key);
  const stats = new DeviceStats('alloc');
  let inner: LinkHandlers | null = null;
  let sent = 0;
  // The UART session's place: takes frames, delivers the device's (the tap's cost only: a memory
  // link would copy every frame).
  const sink: Link = {
    caps: { kind: 'stream', reliable: false, mtu: 512, framing: 'cobs' }, stats: new LinkStats(), closed: false,
    start(h) { inner = h; }, send() { sent++; return true; }, close() {},
  };
  const tap = stats.tap(sink, HELLO);
  let answered = 0;
  tap.start({ onFrame: () => { answered++; }, onClose: () => {} });
  const reqs = keys.map((k) => frame(KIND_REQUEST, 0, k));
  const ress = keys.map((k) => frame(KIND_RESPONSE, 0, k));
  let id = 1;
  const loop = (n: number): number => {
    for (let i = 0; i < n; i++) {
      const j = i % reqs.length;
      const q = reqs[j]!, r = ress[j]!;
      q[4] = id & 0xff; q[5] = (id >>> 8) & 0xff; q[6] = (id >>> 16) & 0xff; q[7] = 0;
      r[4] = q[4]!; r[5] = q[5]!; r[6] = q[6]!; r[7] = 0;
      tap.send(q, q.length);
      inner!.onFrame(r, 0, r.length);
      id = id >= 0xffffff ? 1 : id + 1;
    }
    return n;
  };
  const r = await measureGc('tap', loop, 100_000, 50_000);
  assert.is(r.minor, 0, `the tap allocates: ${r.minor} scavenges over ${r.iterations} pairs (heap ${r.heapGrowth} B)`);
  assert.is(sent, answered);
  assert.is(stats.untracked, 0);
  const total = stats.tables[0]!.answered.reduce((a, b) => a + b, 0);
  assert.is(total, sent);
});

inflight.run();

// ---------------------------------------------------------------------------------------------
const real = suite('gateway metrics: a real gateway scraped over HTTP');
const why = await deviceSimUnavailable();

if (why !== null) {
  console.log(`\n  gateway metrics: SKIPPED — ${why}\n`);
  real.skip('N calls through the mesh counted N times', () => {});
} else {
  let dev: DeviceSim;
  let nodes: MeshNode[] = [];
  let gw: Gateway;
  let metrics: MetricsServer;
  const N = 40;

  real.before(async () => {
    dev = await startDeviceSim();
    nodes = await meshNodes(2);
    gw = startGateway({ node: nodes[1]!, devices: [{ path: dev.hostPath, maxFrameBytes: THERMO_MAX_FRAME_BYTES }] });
    await gw.whenAnnounced(30_000);
    metrics = await serveMetrics(gw, '127.0.0.1:0');
  });
  real.after(async () => {
    await metrics?.close();
    await gw?.close();
    await stopAll(nodes);
    await dev?.stop();
  });

  real('N reads and one failing read through the mesh: counters, error code and histogram count agree; status.json and cell status too', async () => {
    const caller = nodes[0]!;
    const thermo = await caller.connect(ThermoDef, { timeoutMs: 30_000 });
    for (let i = 0; i < N; i++) assert.is((await thermo.read({ channel: i % 4 }, { deadlineMs: 10_000 })).channel, i % 4);
    const e = await thermo.read({ channel: 9 }, { deadlineMs: 10_000 }).then(() => null, (x: unknown) => x);
    assert.is(codeOf(e), 1001);
    const items: number[] = [];
    for await (const s of thermo.samples({ count: 5 })) items.push(s.i);
    assert.is(items.length, 5);
    await thermo.close();

    const res = await get(`${metrics.url}/metrics`);
    assert.is(res.status, 200);
    assert.is(res.type, 'text/plain; version=0.0.4; charset=utf-8');
    const fams = parseExposition(res.body);
    const l = { device: dev.hostPath, cell: 'thermo', method: 'read' };
    assert.is(sampleValue(fams, 'cell_gateway_calls_total', l), N + 1);
    assert.is(sampleValue(fams, 'cell_gateway_call_duration_seconds_count', l), N + 1);
    assert.is(sampleValue(fams, 'cell_gateway_call_duration_seconds_bucket', { ...l, le: '+Inf' }), N + 1);
    assert.is(sampleValue(fams, 'cell_gateway_call_errors_total', { ...l, code: '1001' }), 1);
    assert.is(fams.get('cell_gateway_call_errors_total')!.samples.filter((s) => s.labels.method === 'read').length, 1, 'no other error code');
    assert.is(sampleValue(fams, 'cell_gateway_calls_total', { ...l, method: 'samples' }), 1);
    assert.is(sampleValue(fams, 'cell_gateway_call_duration_seconds_count', { ...l, method: 'samples' }), 1);
    assert.is(sampleValue(fams, 'cell_gateway_calls_total', { ...l, method: 'setLed' }), 0);
    assert.is(sampleValue(fams, 'cell_gateway_calls_untracked_total', { device: dev.hostPath }), 0);
    assert.is(sampleValue(fams, 'cell_gateway_device_up', { device: dev.hostPath, cell: 'thermo' }), 1);
    assert.is(sampleValue(fams, 'cell_gateway_device_announced', { device: dev.hostPath, cell: 'thermo' }), 1);
    assert.ok(sampleValue(fams, 'cell_gateway_link_received_bytes_total', { device: dev.hostPath }) > 0);
    assert.ok(sampleValue(fams, 'cell_gateway_link_sent_frames_total', { device: dev.hostPath }) >= N + 2);
    assert.is(sampleValue(fams, 'cell_gateway_link_crc_errors_total', { device: dev.hostPath }), 0);
    assert.ok(sampleValue(fams, 'cell_gateway_mesh_peers') >= 1);
    assert.ok(sampleValue(fams, 'process_resident_memory_bytes') > 0);

    const js = JSON.parse((await get(`${metrics.url}/status.json`)).body) as GatewayStatus;
    const read = js.devices[0]!.methods.find((m) => m.method === 'read')!;
    assert.is(read.calls, N + 1);
    assert.is(read.latency.count, N + 1);
    assert.equal(read.errors, { 1001: 1 });
    assert.is((await get(`${metrics.url}/nope`)).status, 404);

    // The CLI, as a separate process, reads the same numbers.
    const out = await cli(['status', '--gateway', metrics.address, '--json']);
    assert.is(out.code, 0, out.stderr);
    const st = JSON.parse(out.stdout) as GatewayStatus;
    const r2 = st.devices.find((d) => d.device === dev.hostPath)!.methods.find((m) => m.method === 'read')!;
    assert.is(r2.calls, N + 1);
    assert.is(r2.latency.count, N + 1);
    assert.equal(r2.errors, { 1001: 1 });
    const human = await cli(['status', '--gateway', metrics.address]);
    assert.is(human.code, 0, human.stderr);
    assert.match(human.stdout, /thermo/);
    assert.match(human.stdout, new RegExp(`read\\s+${N + 1}\\s`));
  });

  real('binding an address in use is refused with LinkIo and the fix; cell status --gateway where nothing listens: exit 1, Unavailable, the fix', async () => {
    const e = await serveMetrics(gw, metrics.address).then(() => null, (x: unknown) => x);
    assert.is(codeOf(e), 501);
    assert.match((e as Error).message, /in use/);
    const spare = await serveMetrics(gw, '127.0.0.1:0');
    await spare.close();
    const out = await cliIn(['status', '--gateway', spare.address, '--json']);
    assert.is(out.code, 1);
    const err = (JSON.parse(out.stdout) as { error: { code: number; fix: string } }).error;
    assert.is(err.code, 401);
    assert.match(err.fix, /metrics = /);
  });
}
real.run();
