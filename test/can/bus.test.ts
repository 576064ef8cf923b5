// Cell over CAN (src/transports/can/bus.ts): the link compliance suite between two nodes, typed
// calls, streams and events through the compact profile, classic and FD; discovery by HELLO.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { complianceSuite } from '../transports/compliance.ts';
import { nodes } from './bus-helpers.ts';
import { canCompliancePair } from './compliance-pair.ts';
import { connect, serve } from '../../src/rpc/index.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';

for (const fd of [false, true]) {
  complianceSuite(`CAN peer link (${fd ? 'FD' : 'classic'})`, {
    maxFrameBytes: 1024,
    heartbeatMs: 100,
    async pair() {
      const { wire, buses } = await nodes([1, 2], { fd, maxFrameBytes: 1024 });
      return canCompliancePair(buses[0]!, buses[1]!, wire.attach('garbage'));
    },
  });
}

const s = suite('CAN bus: rpc through the compact profile');

s('a caller finds a serving node by its frames, calls it, compact frames on the wire', async () => {
  const { buses } = await nodes([1, 10]);
  const [gw, dev] = buses as [typeof buses[0], typeof buses[0]];
  dev.onPeer = (_node, link) => { serve(Thermo, thermoImpl({ cancelled: 0, streamReturned: 0, maxBuffered: 0 }), link, { heartbeatMs: 0 }); };
  const client = await connect(Thermo, gw.peer(10), { heartbeatMs: 0 });
  const before = gw.stats.framesOut;
  const r = await client.read({ channel: 1 });
  assert.is(r.channel, 1);
  assert.is(gw.stats.framesOut - before, 1, 'a 1-byte request is one classic frame');
  const items: number[] = [];
  for await (const it of client.samples({ count: 5, failAt: 0 })) items.push(it.i);
  assert.is(items.length, 5);
  assert.is(gw.peer(10).callsInFlight, 0);
  gw.close(); dev.close();
});

s.run();
