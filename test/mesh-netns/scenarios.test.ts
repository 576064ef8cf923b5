// The mesh scenarios of issue 6 in network namespaces (hw-tests/mesh/scenarios.ts; topology and
// how to run them in docs/mesh-tests.md). Skips, with the reason, when namespaces cannot be made
// (not root, not Linux, no iproute2/nftables), when libp2p is not installed (it is an optional
// peer dependency), or when the simulated device cannot run (no socat, serialport or asc).
import { suite } from 'uvu';
import { natUnavailable, netnsUnavailable } from '../../hw-tests/mesh/netns.ts';
import { deviceSimUnavailable } from '../../hw-tests/mesh/device-sim.ts';

async function libp2pUnavailable(): Promise<string | null> {
  try {
    await import('libp2p');
    return null;
  } catch (e) {
    return `libp2p is not installed (optional peer dependency): ${(e as Error).message.split('\n')[0]}`;
  }
}

const why = netnsUnavailable() ?? natUnavailable() ?? (await libp2pUnavailable()) ?? (await deviceSimUnavailable());
if (why !== null) {
  console.log(`\n  mesh scenarios in namespaces: SKIPPED — ${why}\n`);
  const s = suite('mesh in namespaces (mDNS, DHT, gateway, relay, failover)');
  s.skip('mDNS, DHT, gateway, relay, failover', () => {});
  s.run();
} else {
  const { meshScenarios } = await import('../../hw-tests/mesh/scenarios.ts');
  meshScenarios();
}
