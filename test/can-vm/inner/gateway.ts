// Runs inside the CAN micro-VM (test/helpers/can-vm.ts) as root with vcan0 (classic) and vcan1
// (CAN FD, mtu 72) up: the CAN device layer and the gateway on real kernel SocketCAN. Three thermo
// devices (Node cells served like the firmware: src/can/serve.ts), each on its own socket with
// node ids 10, 11, 12, and a gateway (startGateway, node 0) on a fourth socket of the same vcan —
// sockets of one host hear each other through CAN_RAW_LOOPBACK, as nodes on a wire would. The
// gateway's mesh node is a stand-in that runs the real FrameProxy (src/mesh/proxy.ts) without
// libp2p (no network in the VM); callers reach each proxy over memory links, by name.
//
// Each case prints one line `CASE <json>`: { name, ok, error?, ms, ...figures }. An outer test
// (like test/can-vm/socketcan.test.ts) boots the VM with
//   runInCanVm({ interfaces: [{ name: 'vcan0' }, { name: 'vcan1', fd: true }], commands: [{ script: <this file> }] })
// and asserts on the lines. `node --import tsx test/can-vm/inner/gateway.ts --memory` runs the
// same cases on the in-process memory bus (a check of this script on a host without CAN).
//
// Cases: discover (3 nodes found: two boot HELLOs, one configured and probed; announced by name),
// calls (read, a stream, a typed error, an event, through the proxy), restart (a device reset
// mid-call: the call ends Unavailable 401, then calls resume), silent (a device gone: lost and
// withdrawn; back: announced again), fd (the same on the FD interface), cli (`cell call --can
// vcan0:10 read` from dist/, when the package is built), foreign (a node flooding other ids does
// not disturb the calls), bigAnswer (describe(): a 2.8 KB answer, ~400 classic frames in one
// burst, to a fresh socket).
//
// Run on 2026-12-07 (runInCanVm, Debian 6.1 kernel under TCG): every case passes (boot ~2.7 s,
// cases ~11 s). bigAnswer and cli need the sockets' receive buffer that openCanDriver asks for
// (CAN_RECEIVE_BUFFER_BYTES, 2 MiB): with the kernel's default (~200 KiB, ~280 frames) the burst
// overflowed the receiving socket under TCG (rxOverflows 132 of ~440 frames; CAN has no flow
// control) and the transfer never completed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CanBus } from '../../../src/transports/can/bus.ts';
import type { CanDriver } from '../../../src/transports/can/driver.ts';
import { CAN_FLAG_EXTENDED } from '../../../src/transports/can/driver.ts';
import { MemoryCanBus } from '../../../src/transports/can/memory-bus.ts';
import { openSocketCan } from '../../../src/transports/can/socketcan.ts';
import { serveCan, type CanServer } from '../../../src/can/serve.ts';
import { CAN_RECEIVE_BUFFER_BYTES } from '../../../src/can/open.ts';
import { startGateway, type Gateway, type GatewayEvent, type GatewayMeshNode, type GatewayProvided } from '../../../src/gateway/gateway.ts';
import { FrameProxy } from '../../../src/mesh/proxy.ts';
import { connect } from '../../../src/rpc/index.ts';
import { memoryPair } from '../../../src/transports/memory.ts';
import type { Link, LinkListener } from '../../../src/transports/link.ts';
import { Thermo } from '../../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../../rpc/fixtures/impl.ts';

const memory = process.argv.includes('--memory');
const root = fileURLToPath(new URL('../../..', import.meta.url));
const wires = new Map<string, MemoryCanBus>();

function driver(ifname: string, fd: boolean): CanDriver {
  if (!memory) return openSocketCan(ifname, { fd, receiveBufferBytes: CAN_RECEIVE_BUFFER_BYTES }); // what openCanDriver asks for
  let w = wires.get(ifname);
  if (w === undefined) { w = new MemoryCanBus({ fd }); wires.set(ifname, w); }
  return w.attach(ifname);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}
function check(cond: unknown, msg: string): asserts cond { if (!cond) throw new Error(msg); }

/** A device: its own socket and node id; boot = a new socket and a HELLO broadcast. */
class Device {
  bus: CanBus | null = null;
  served: CanServer<typeof Thermo> | null = null;
  constructor(readonly ifname: string, readonly node: number, readonly fd: boolean) {}
  boot(announce = true): this {
    // 4096: describe() (2.8 KB) fits, so `cell call --can` needs no --schema.
    this.bus = new CanBus(driver(this.ifname, this.fd), { node: this.node, fd: this.fd, maxFrameBytes: 4096 });
    this.served = serveCan(Thermo, thermoImpl(), this.bus, { announce });
    return this;
  }
  /** Off the bus at once, as a power loss: no GOODBYE (the bus closes before the server). */
  async off(): Promise<void> {
    this.bus?.close();
    await this.served?.close();
    this.served = null; this.bus = null;
  }
}

/** A mesh node stand-in: the real FrameProxy per name, reached over memory links. */
function meshStandIn(): GatewayMeshNode & { call(name: string): ReturnType<typeof connect<typeof Thermo>>; provided: Map<string, FrameProxy> } {
  const provided = new Map<string, FrameProxy>();
  return {
    peerId: 'vm-gateway',
    addrs: () => [],
    provided,
    async provideProxy(name: string, upstream: Link | LinkListener, opts = {}): Promise<GatewayProvided> {
      const proxy = new FrameProxy(name, { heartbeatMs: 200, ...opts });
      provided.set(name, proxy);
      (upstream as LinkListener).onLink = (l) => proxy.setUpstream(l);
      return {
        name, server: null, proxy,
        get upstreamUp() { return proxy.upstreamUp; },
        replaceUpstream: (l: Link) => proxy.setUpstream(l),
        load: () => proxy.load(),
        reannounce: async () => true,
        withdraw: async () => { provided.delete(name); },
        stop: async () => { if (provided.get(name) === proxy) provided.delete(name); await proxy.close(); },
      } as unknown as GatewayProvided;
    },
    async call(name: string) {
      const proxy = provided.get(name);
      if (proxy === undefined) throw new Error(`"${name}" is not provided`);
      const [a, b] = memoryPair({ mtu: 1024 });
      proxy.addClient(b);
      return connect(Thermo, a, { heartbeatMs: 0 });
    },
  } as never;
}

async function runCase(name: string, fn: () => Promise<Record<string, unknown> | void>): Promise<void> {
  const t0 = performance.now();
  try {
    const figures = (await fn()) ?? {};
    console.log(`CASE ${JSON.stringify({ name, ok: true, ms: Math.round(performance.now() - t0), ...figures })}`);
  } catch (e) {
    console.log(`CASE ${JSON.stringify({ name, ok: false, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e), ms: Math.round(performance.now() - t0) })}`);
  }
}

async function scenario(ifname: string, fd: boolean, withCli: boolean): Promise<void> {
  const suffix = fd ? '-fd' : '';
  const devices = [new Device(ifname, 10, fd).boot(), new Device(ifname, 11, fd).boot(), new Device(ifname, 12, fd)];
  const gwBus = new CanBus(driver(ifname, fd), { node: 0, fd, maxFrameBytes: 1024 });
  const mesh = meshStandIn();
  const events: GatewayEvent[] = [];
  let gw: Gateway | null = null;
  try {
    await runCase(`discover${suffix}`, async () => {
      gw = startGateway({
        node: mesh, devices: [],
        can: [{ bus: gwBus, nodes: [12], names: { 11: 'thermo-b', 12: 'thermo-c' }, probeIntervalMs: 300, probeTimeoutMs: 500 }],
        onEvent: (e) => events.push(e),
      });
      devices[2]!.boot(false); // configured, no broadcast: found by a probe
      await until(() => events.filter((e) => e.event === 'announced').length === 3, 20_000, 'three announced');
      return { announced: events.filter((e) => e.event === 'announced').map((e) => (e as { cell: string }).cell).sort() };
    });
    await runCase(`calls${suffix}`, async () => {
      const out: Record<string, number> = {};
      for (const name of ['thermo', 'thermo-b', 'thermo-c']) {
        const c = await mesh.call(name);
        const t0 = performance.now();
        for (let i = 0; i < 100; i++) check((await c.read({ channel: i % 4 })).channel === i % 4, 'read');
        out[`${name}ReadUs`] = Math.round((performance.now() - t0) * 10);
        let n = 0;
        for await (const s of c.samples({ count: 20, failAt: 0 })) { check(s.i === n, 'stream order'); n++; }
        check(n === 20, 'stream items');
        const e = await c.read({ channel: 9 }).then(() => null, (x: unknown) => x as { code: number });
        check(e?.code === 1001, `typed error, got ${JSON.stringify(e)}`);
        await c.close();
      }
      const c = await mesh.call('thermo');
      const alarms: string[] = [];
      c.on('alarm', (a) => alarms.push(a.msg));
      await c.read({ channel: 0 });
      await until(() => { devices[0]!.served?.emit('alarm', { level: 1, msg: 'hot' }); return alarms.length > 0; }, 5000, 'an event');
      await c.close();
      return out;
    });
    await runCase(`restart${suffix}`, async () => {
      const c = await mesh.call('thermo-b');
      await c.read({ channel: 1 });
      const slow = c.sleep({ ms: 5000 }).then(() => null, (e: unknown) => e as { code: number });
      await sleep(100);
      await devices[1]!.off();
      devices[1]!.boot();
      const err = await slow;
      check(err?.code === 401, `the call in flight ended ${JSON.stringify(err)}`);
      await c.close().catch(() => {});
      await until(async () => {
        const d = await mesh.call('thermo-b').catch(() => null);
        if (d === null) return false;
        const ok = await d.read({ channel: 2 }).then((r) => r.channel === 2, () => false);
        await d.close();
        return ok;
      }, 20_000, 'calls again');
      check(events.some((e) => e.event === 'restarted' && e.path.endsWith(':11')), 'a restarted event');
    });
    await runCase(`silent${suffix}`, async () => {
      const before = events.length;
      await devices[2]!.off();
      await until(() => events.slice(before).some((e) => e.event === 'unannounced'), 20_000, 'withdrawn');
      devices[2]!.boot();
      await until(() => events.slice(before).some((e) => e.event === 'announced'), 20_000, 'announced again');
      const c = await mesh.call('thermo-c');
      check((await c.read({ channel: 3 })).channel === 3, 'read after return');
      await c.close();
    });
    if (!fd) {
      await runCase('foreign', async () => {
        // A node flooding frames to other ids (and garbage to us) while calls run.
        const flood = driver(ifname, fd);
        flood.start({ onFrame: () => {}, onClose: () => {} });
        let stop = false;
        const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
        const pump = (async () => { let i = 0; while (!stop) { for (let k = 0; k < 50; k++) flood.send(((i++ & 0x3ff) << 14) | (100 << 7) | 99, CAN_FLAG_EXTENDED, data, 0, 8); await sleep(1); } })();
        const c = await mesh.call('thermo');
        for (let i = 0; i < 200; i++) check((await c.read({ channel: 1 })).channel === 1, 'read under flood');
        stop = true;
        await pump;
        await c.close();
        flood.close();
        return { foreign: gwBus.stats.foreign };
      });
    }
    if (withCli) {
      await runCase('bigAnswer', async () => {
        // describe() of the thermo cell is a 2.8 KB answer: ~400 classic frames in one transfer.
        const b = new CanBus(driver(ifname, fd), { node: 6, fd });
        b.start();
        try {
          const c = await connect(Thermo, b.peer(10), { heartbeatMs: 0, helloTimeoutMs: 5000 });
          const t0 = performance.now();
          const d = await c.describe({ deadlineMs: 20_000 }) as { name: string };
          check(d.name === 'thermo', 'describe()');
          await c.close();
          return { describeMs: Math.round(performance.now() - t0), framesIn: b.stats.framesIn, transfersIn: b.stats.transfersIn, errTransfer: b.stats.errTransfer };
        } catch (e) {
          throw new Error(`${(e as Error).message}; bus ${JSON.stringify(b.stats)}; driver ${JSON.stringify(b.driver.stats)}`);
        } finally { b.close(); }
      });
      await runCase('cli', async () => {
        const bin = join(root, 'bin', 'cell.mjs');
        if (!existsSync(join(root, 'dist', 'can', 'index.js'))) return { skipped: 'dist/ not built (npm run build)' };
        // Not spawnSync: the devices answering it live in this process's event loop.
        const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [bin, 'call', '--can', `${ifname}:10`, '--can-node', '5', '--deadline', '20000', '--json', 'read', '{"channel": 2}'], { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '', stderr = '';
          child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
          child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
          const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
          child.once('close', (status) => { clearTimeout(t); resolve({ status, stdout, stderr }); });
        });
        check(r.status === 0, `cell call exit ${r.status}: ${r.stdout} ${r.stderr}`);
        check((JSON.parse(r.stdout.trim()) as { channel: number }).channel === 2, `answer ${r.stdout}`);
        return {};
      });
    }
  } finally {
    await (gw as Gateway | null)?.close();
    gwBus.close();
    for (const d of devices) await d.off();
  }
}

await scenario('vcan0', false, !memory);
await scenario('vcan1', true, false);
process.exit(0);
