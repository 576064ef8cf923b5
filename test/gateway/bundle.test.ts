// `cell gateway` from the built package runs the one-file build (dist/bundle/cell.mjs,
// scripts/build-bundle.mjs): the QUIC transport's JavaScript is inside it, its native binary
// loaded from node_modules at run time. Here that gateway listens on QUIC only, with the thermo
// firmware simulated on a socat pty, and a mesh caller in this process (from the sources, QUIC
// too) reaches the device by name over it. Skips without dist/bundle, socat, the firmware
// toolchain, libp2p, or a QUIC build for this CPU.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deviceSimUnavailable, startDeviceSim, type DeviceSim } from '../../hw-tests/mesh/device-sim.ts';
import { describeCell } from '../../src/codec/schema-json.ts';
import { connect } from '../../src/rpc/index.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import { skipDeclared } from '../helpers/skip.ts';
import { HANG_MS, spawnGateway, type GatewayProc } from '../helpers/gateway-cli.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const NAME = 'the built gateway (dist/bundle) announces over QUIC only, and a mesh caller reads the device through it';

async function why(): Promise<string | null> {
  if (!existsSync(join(root, 'dist/bundle/cell.mjs'))) return 'dist/bundle/cell.mjs: run `npm run build` first';
  const sim = await deviceSimUnavailable();
  if (sim !== null) return sim;
  try { await import('libp2p'); } catch (e) { return `libp2p is not installed: ${(e as Error).message.split('\n')[0]}`; }
  try { await import('@chainsafe/libp2p-quic'); } catch (e) { return `no QUIC build for ${process.platform}-${process.arch}: ${(e as Error).message.split('\n')[0]}`; }
  return null;
}

const reason = await why();
if (reason !== null) {
  skipDeclared(test, NAME, reason);
} else {
  let dev: DeviceSim | null = null;
  let gw: GatewayProc | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'cell-gw-bundle-'));
  test.after(async () => {
    gw?.child.kill('SIGKILL');
    await dev?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test(NAME, async () => {
    dev = await startDeviceSim();
    writeFileSync(join(dir, 'thermo.json'), JSON.stringify(describeCell(ThermoDef)));
    gw = spawnGateway(dir, ['--uart', dev.hostPath, '--schema', 'thermo.json', '--max-frame', '512',
      '--listen', '/ip4/127.0.0.1/udp/0/quic-v1', '--no-mdns', '--dir', join(dir, 'state'), '--json'], false);
    const node = await gw.waitFor('node');
    const addrs = node.addrs as string[];
    assert.ok(addrs.length > 0 && addrs.every((a) => a.includes('/quic-v1')), `QUIC addresses only: ${addrs.join(' ')}`);
    await gw.waitFor('announced', (l) => l.cell === 'thermo');
    await gw.waitFor('upstream', (l) => l.up === true);
    const { startMeshNode } = await import('../../src/mesh/index.ts');
    const caller = await startMeshNode({ listen: ['/ip4/127.0.0.1/udp/0/quic-v1'], mdns: false, dht: false, bootstrap: addrs });
    try {
      const client = await connect(ThermoDef, await caller.bestLink('thermo', { timeoutMs: HANG_MS }));
      try {
        const r = await client.read({ channel: 0 });
        assert.is(r.channel, 0);
        assert.type(r.celsius, 'number');
      } finally {
        await client.close();
      }
      const conns = caller.libp2p.getConnections().map((c: { remoteAddr: { toString(): string } }) => c.remoteAddr.toString());
      assert.ok(conns.some((a: string) => a.includes('/quic-v1')), `the call went over QUIC: ${conns.join(' ')}`);
    } finally {
      await caller.stop();
    }
    assert.is(gw.stderr().includes('QUIC unavailable'), false, gw.stderr());
  });
}

test.run();
