// A secured native device through the whole path (docs/security.md): the thermo-secure firmware
// under qemu mps2-an385, its provisioning record (from a fleet key) written into qemu's
// file-backed "flash" before it starts, the UART on a pty → startGateway with the fleet key → a
// libp2p mesh → a typed caller on another node. Sealed calls and a stream; a system_reset gives a
// new session with a higher boot counter and the caller goes on. Skips (printed) without qemu,
// the arm toolchain, wabt or serialport.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway, type GatewayEvent } from '../../src/gateway/gateway.ts';
import { KeyRing, deviceKeyFromFleet, newKey, parseDeviceId } from '../../src/transports/secure-keys.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import { ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import { buildFirmwareApp, loadSerialPort, qemuUnavailable } from '../../hw-tests/lib/targets.ts';
import { startQemu, type Qemu } from '../../hw-tests/lib/qemu.ts';
import { meshNodes, stopAll, until } from '../mesh/helpers.ts';

/** The key page in the mps2-an385 backing file (0x21040000 - 0x21000000; docs/firmware.md). */
const MPS2_KEY_PAGE_OFFSET = 0x40000;

const test = suite('gateway: a secured native device under qemu, end to end');
const missing = qemuUnavailable();
const built = missing !== null ? { skip: missing } : buildFirmwareApp('thermo-secure');
const sp = 'skip' in built ? built.skip : await loadSerialPort();
const why = 'skip' in built ? built.skip : typeof sp === 'string' ? sp : null;

if (why !== null) {
  console.log(`\n  gateway secured qemu device: SKIPPED — ${why}\n`);
  test.skip('qemu device → gateway → mesh → typed caller, sealed', () => {});
} else {
  const elf = (built as { elfs: Record<string, string> }).elfs['mps2-an385']!;
  let dir = '';
  let qemu: Qemu | null = null;
  let nodes: MeshNode[] = [];
  let gw: Gateway | null = null;
  const events: GatewayEvent[] = [];

  test.before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cell-gw-qemu-sec-'));
    const fleet = newKey();
    const id = parseDeviceId('7e57000000000099');
    const rec = new Uint8Array(64);
    writeProvision(id, deviceKeyFromFleet(fleet, id), rec, 0);
    const img = Buffer.alloc(16 * 1024 * 1024);
    Buffer.from(rec).copy(img, MPS2_KEY_PAGE_OFFSET);
    writeFileSync(join(dir, 'flash.bin'), img);
    qemu = await startQemu({ board: 'mps2-an385', elf, paused: true, flashFile: join(dir, 'flash.bin') });
    nodes = await meshNodes(2);
    gw = startGateway({
      node: nodes[1]!,
      devices: [{ path: qemu.ptyPath, maxFrameBytes: THERMO_MAX_FRAME_BYTES, security: { keys: new KeyRing().add({ kind: 'fleet', key: fleet }) } }],
      onEvent: (e) => events.push(e),
    });
    await new Promise((r) => setTimeout(r, 300)); // the gateway opens the pty; then the CPU starts
    await qemu.cont();
  });
  test.after(async () => {
    await gw?.close();
    await stopAll(nodes);
    await qemu?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('sealed calls and a stream through the mesh; a reset opens a new session and calls go on', async () => {
    try {
      await gw!.whenAnnounced(60_000);
      const opens = (): Extract<GatewayEvent, { event: 'secure' }>[] => events.filter((e): e is Extract<GatewayEvent, { event: 'secure' }> => e.event === 'secure' && e.what === 'open');
      assert.ok(opens().length >= 1);
      const thermo = await nodes[0]!.connect(ThermoDef, { timeoutMs: 30_000 });
      for (let i = 0; i < 10; i++) assert.is((await thermo.read({ channel: i % 4 }, { deadlineMs: 10_000 })).channel, i % 4);
      const items: number[] = [];
      for await (const s of thermo.samples({ count: 3 })) items.push(s.i);
      assert.equal(items, [0, 1, 2]);
      const before = opens().length;
      await qemu!.reset();
      await until(() => opens().length > before, 'a new secured session after system_reset', 30_000);
      await until(async () => (await thermo.read({ channel: 1 }, { deadlineMs: 5000 }).then((r) => r.channel === 1, () => false)), 'calls again', 30_000);
      const first = opens()[0]!.message, last = opens()[opens().length - 1]!.message;
      assert.match(first, /\(boot 0\)/);
      assert.match(last, /\(boot 1\)/);
      await thermo.close();
    } catch (e) {
      throw new Error(`${(e as Error).message}\nqemu log:\n${qemu?.log ?? ''}\nevents: ${JSON.stringify(events.slice(-10))}`);
    }
  });
}

test.run();
