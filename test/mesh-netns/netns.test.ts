// hw-tests/mesh/netns.ts, the namespace harness of the mesh tests, checked on its own with plain
// Node TCP echo servers and UDP multicast (no libp2p): hosts on a bridge reach each other, a host
// on the far bridge is reached through the router, the host behind the NAT gets out (seen with
// the NAT's address) but nobody gets in, multicast crosses the bridge (the mDNS recipe), agents
// answer ops and report errors by name, and close() leaves no namespace or process behind — nor
// does a run that died (its leftovers are removed by the next run).
// Skips, with the reason, when namespaces cannot be made (not root, not Linux, no iproute2).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createTopology, listNetns, natUnavailable, netnsUnavailable, removeLeftovers, NETNS_PREFIX, type Topology } from '../../hw-tests/mesh/netns.ts';
import { meshTopology, LAN, FAR, INNER } from '../../hw-tests/mesh/topologies.ts';
import { AgentError, type Agent } from '../../hw-tests/mesh/agent-client.ts';

const OPS = 'hw-tests/mesh/ops-echo.ts';
const why = netnsUnavailable() ?? natUnavailable();
const test = suite('mesh netns harness');

if (why !== null) {
  console.log(`\n  mesh netns harness: SKIPPED — ${why}\n`);
  test.skip('namespaces, bridges, router, NAT', () => {});
} else {
  let topo: Topology;
  const ag: Record<string, Agent> = {};

  test.before(async () => {
    topo = createTopology(meshTopology({ lanHosts: 3, routeIntoNat: true }));
    const names = ['a', 'b', 'c', 'f', 'h'];
    const started = await Promise.all(names.map((n) => topo.spawnAgent(n, OPS)));
    names.forEach((n, i) => { ag[n] = started[i]!; });
    await Promise.all(names.map((n) => ag[n]!.call('listen', { port: 7000 })));
  });
  test.after(() => topo?.close());

  test('every host is a namespace with the run prefix; agents run inside them', () => {
    const all = listNetns();
    for (const h of topo.hosts.values()) assert.ok(all.includes(h.netns), h.netns);
    assert.ok(topo.prefix.startsWith(`${NETNS_PREFIX}${process.pid}-`));
    const inNs = topo.exec('a', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.match(inNs, `${LAN}.11/24`);
  });

  test('hosts on the bridge reach each other', async () => {
    assert.is(await ag.a!.call('echo', { host: `${LAN}.12`, port: 7000, text: 'hi' }), `hi from ${LAN}.11`);
    assert.is(await ag.c!.call('echo', { host: `${LAN}.11`, port: 7000, text: 'yo' }), `yo from ${LAN}.13`);
  });

  test('the far host is reached through the router, both ways, with its own address', async () => {
    assert.is(await ag.a!.call('echo', { host: `${FAR}.21`, port: 7000, text: 'x' }), `x from ${LAN}.11`);
    assert.is(await ag.f!.call('echo', { host: `${LAN}.12`, port: 7000, text: 'y' }), `y from ${FAR}.21`);
  });

  test('the host behind the NAT gets out with the NAT\'s address', async () => {
    assert.is(await ag.h!.call('echo', { host: `${LAN}.11`, port: 7000, text: 'out' }), `out from ${LAN}.2`);
    assert.is(await ag.h!.call('echo', { host: `${FAR}.21`, port: 7000, text: 'far' }), `far from ${LAN}.2`);
  });

  test('nobody gets in to the host behind the NAT (even with a route to it)', async () => {
    // The NAT drops the SYN; the echo op gives up after its own timeout. What matters is that it
    // never answers, not how long that took.
    try {
      await ag.a!.call('echo', { host: `${INNER}.21`, port: 7000, text: 'in', timeoutMs: 1500 });
      assert.unreachable('connected through the NAT');
    } catch (e) {
      assert.instance(e, AgentError);
      assert.ok(['Timeout', 'Error'].includes((e as AgentError).errName), (e as Error).message);
    }
  });

  test('multicast crosses the bridge (224.0.0.0/4 routed out of eth0): the mDNS recipe', async () => {
    const group = '224.0.0.251';
    const port = 5399;
    await Promise.all(['b', 'c'].map((n) => ag[n]!.call('mcastListen', { group, port })));
    // Datagrams may be lost; send until both listeners have one (bounded).
    const got = Promise.all(['b', 'c'].map((n) => ag[n]!.waitEvent('mcast', (d) => (d as { text: string }).text === 'ping-mc', 20_000)));
    let done = false;
    void got.then(() => { done = true; }, () => { done = true; });
    for (let i = 0; i < 40 && !done; i++) {
      await ag.a!.call('mcastSend', { group, port, text: 'ping-mc' });
      await new Promise((r) => setTimeout(r, 250));
    }
    const [fromB, fromC] = (await got) as { from: string }[];
    assert.is(fromB!.from, `${LAN}.11`);
    assert.is(fromC!.from, `${LAN}.11`);
  });

  test('an op that throws comes back as AgentError with its name; unknown ops too', async () => {
    try {
      await ag.a!.call('echo', { host: `${LAN}.99`, port: 1, text: 'nobody', timeoutMs: 1000 });
      assert.unreachable();
    } catch (e) {
      assert.instance(e, AgentError);
    }
    try {
      await ag.a!.call('nope');
      assert.unreachable();
    } catch (e) {
      assert.is((e as AgentError).errName, 'UnknownOp');
    }
  });

  test('a killed agent fails its pending call at once, the others keep working', async () => {
    const pending = ag.b!.call('echo', { host: `${INNER}.21`, port: 7000, text: 'hang', timeoutMs: 60_000 });
    await ag.b!.kill();
    try {
      await pending;
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, 'exited');
    }
    assert.is(await ag.c!.call('echo', { host: `${LAN}.11`, port: 7000, text: 'still' }), `still from ${LAN}.13`);
  });

  test.run();
}

const cleanup = suite('mesh netns harness: cleanup');
if (why !== null) {
  cleanup.skip('close() and leftovers', () => {});
} else {
  cleanup('close() removes every namespace and kills the processes in them, even ones the test did not track', async () => {
    const topo = createTopology(meshTopology({ lanHosts: 2, far: false, nat: false }));
    const a = await topo.spawnAgent('a', OPS);
    // A stray process inside the namespace, not an agent: close() must still end it.
    const stray = spawnSync('sh', ['-c', `ip netns exec ${topo.host('b').netns} sleep 300 >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
    const strayPid = Number(stray.stdout.trim());
    assert.ok(strayPid > 0);
    // `$!` is `ip netns exec`, which enters the namespace and then execs sleep: wait until it is in
    // there, else close() can run first and not see it (this raced on a loaded CI machine).
    for (let i = 0; i < 100 && spawnSync('ip', ['netns', 'identify', String(strayPid)], { encoding: 'utf8' }).stdout.trim() !== topo.host('b').netns; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    topo.close();
    await a.exited;
    assert.not.ok(listNetns().some((n) => n.startsWith(topo.prefix)), listNetns().join(' '));
    // Killed = gone, or a zombie: the stray's parent is PID 1 once `sh` has exited, and how soon
    // PID 1 reaps it is the machine's business (a CI container's init may take its time), while
    // kill(pid, 0) still succeeds on a zombie.
    const running = (): boolean => {
      try { process.kill(strayPid, 0); } catch { return false; }
      try { return readFileSync(`/proc/${strayPid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'; } catch { return false; }
    };
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      alive = running();
      if (alive) await new Promise((r) => setTimeout(r, 20));
    }
    assert.not.ok(alive, 'the stray process was killed');
    topo.close(); // idempotent
  });

  cleanup('leftovers of a run that died (its pid is gone) are removed; a live run\'s are not', () => {
    // A pid that cannot be alive: above the kernel's pid_max default range.
    const dead = `${NETNS_PREFIX}4194999-zz-sw`;
    const mine = `${NETNS_PREFIX}${process.pid}-zz-sw`;
    assert.ok(spawnSync('ip', ['netns', 'add', dead]).status === 0);
    assert.ok(spawnSync('ip', ['netns', 'add', mine]).status === 0);
    try {
      const removed = removeLeftovers();
      assert.ok(removed.includes(dead), removed.join(' '));
      assert.not.ok(listNetns().includes(dead));
      assert.ok(listNetns().includes(mine), 'our own namespaces stay');
    } finally {
      spawnSync('ip', ['netns', 'delete', dead]);
      spawnSync('ip', ['netns', 'delete', mine]);
    }
  });
}
cleanup.run();
