// A secured device through the whole path (docs/security.md): the thermo-secure firmware in the
// simulator (wasm, its key provisioned from a fleet key, its boot counter in a flash file) on a
// socat pty → `startGateway` with the fleet key → a libp2p mesh → a typed caller on another node.
// Calls and streams work sealed; the device restarts (reset button, then a power cycle) and the
// caller resumes on a new session with a higher boot counter; a gateway without the key gets
// nothing from the device (no downgrade). Skips with the reason where the simulator cannot run.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway, type GatewayEvent } from '../../src/gateway/gateway.ts';
import { KeyRing, deviceKeyFromFleet, newKey, writeKeyFile, writeSecretFile, parseDeviceId } from '../../src/transports/secure-keys.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import { ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import { deviceSimUnavailable, startDeviceSim, type DeviceSim } from '../../hw-tests/mesh/device-sim.ts';
import { meshNodes, stopAll, until } from '../mesh/helpers.ts';

const test = suite('gateway: a secured device, end to end');
const why = await deviceSimUnavailable();
const codeOf = (e: unknown): number => (e as { code: number }).code;

if (why !== null) {
  console.log(`\n  gateway secured device: SKIPPED — ${why}\n`);
  test.skip('device → gateway → mesh → typed caller, sealed', () => {});
} else {
  let dir = '';
  let fleetFile = '';
  let dev: DeviceSim;
  let nodes: MeshNode[] = [];
  let gw: Gateway | null = null;
  const events: GatewayEvent[] = [];

  test.before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cell-gw-sec-'));
    fleetFile = join(dir, 'fleet.key');
    const fleet = newKey();
    writeKeyFile(fleetFile, { kind: 'fleet', key: fleet });
    const id = parseDeviceId('7e57000000000042');
    const rec = new Uint8Array(64);
    writeProvision(id, deviceKeyFromFleet(fleet, id), rec, 0);
    writeSecretFile(join(dir, 'dev.rec'), rec);
    dev = await startDeviceSim(undefined, { record: join(dir, 'dev.rec'), flash: join(dir, 'dev.flash') });
    nodes = await meshNodes(2);
  });
  test.after(async () => {
    await gw?.close();
    await stopAll(nodes);
    await dev?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('calls and a stream through the mesh, sealed on the UART; the device restarts and the caller resumes', async () => {
    gw = startGateway({
      node: nodes[1]!,
      devices: [{ path: dev.hostPath, maxFrameBytes: THERMO_MAX_FRAME_BYTES, security: { keys: KeyRing.fromFiles([fleetFile]) } }],
      onEvent: (e) => events.push(e),
    });
    await gw.whenAnnounced(30_000);
    const opens = (): Extract<GatewayEvent, { event: 'secure' }>[] => events.filter((e): e is Extract<GatewayEvent, { event: 'secure' }> => e.event === 'secure' && e.what === 'open');
    assert.ok(opens().length >= 1, 'a secured session opened');
    const thermo = await nodes[0]!.connect(ThermoDef, { timeoutMs: 30_000 });
    for (let i = 0; i < 20; i++) assert.is((await thermo.read({ channel: i % 4 }, { deadlineMs: 10_000 })).channel, i % 4);
    const e = await thermo.read({ channel: 9 }, { deadlineMs: 10_000 }).then(() => null, (x: unknown) => x);
    assert.is(codeOf(e), 1001, 'a typed application error crosses the sealed link');
    const items: number[] = [];
    for await (const s of thermo.samples({ count: 5 })) items.push(s.i);
    assert.equal(items, [0, 1, 2, 3, 4]);
    const first = opens()[0]!;
    // The reset button, then a power cycle: each boot takes a new boot counter from flash.
    for (const restart of [() => dev.sim.reset(), () => dev.sim.restart()]) {
      const before = opens().length;
      await restart();
      await until(() => opens().length > before, 'a new secured session after the restart', 30_000);
      await until(async () => (await thermo.read({ channel: 2 }, { deadlineMs: 5000 }).then((r) => r.channel === 2, () => false)), 'calls again', 30_000);
    }
    const last = opens()[opens().length - 1]!;
    assert.ok(last.message !== first.message);
    assert.ok(events.every((x) => !(x.event === 'secure' && (x.what === 'lockout'))), 'no lockout');
    await thermo.close();
    await gw.close();
    gw = null;
  });

  test('a gateway without the key gets nothing from the secured device', async () => {
    const plainEvents: GatewayEvent[] = [];
    gw = startGateway({ node: nodes[1]!, devices: [{ path: dev.hostPath, maxFrameBytes: THERMO_MAX_FRAME_BYTES, probeTimeoutMs: 300 }], onEvent: (e) => plainEvents.push(e) });
    await until(() => plainEvents.some((x) => x.event === 'probe-failed'), 'the probe fails', 30_000);
    assert.not.ok(plainEvents.some((x) => x.event === 'identified' || x.event === 'announced'), 'a plaintext gateway never identifies a secured device');
    await gw.close();
    gw = null;
  });
}

test.run();
