// Tests of the thermo cell over the in-memory link: `cell test examples/thermo` runs them (node:test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callError, connect, serve } from '../../../src/rpc/index.ts';
import { memoryPair } from '../../../src/transports/index.ts';
import { Thermo } from '../schema.ts';
import { impl } from '../cell.ts';

async function open() {
  const [serverEnd, clientEnd] = memoryPair();
  const server = serve(Thermo, impl, serverEnd);
  const client = await connect(Thermo, clientEnd);
  return { client, close: async () => { await client.close(); await server.close(); } };
}

test('read answers the channel\'s sensor and temperature', async () => {
  const { client, close } = await open();
  const r = await client.read({ channel: 1 });
  assert.equal(r.channel, 1);
  assert.equal(r.sensor, 'cellar');
  assert.ok(r.celsius >= 12 && r.celsius < 13);
  await close();
});

test('read of a channel out of range fails with sensorFault (1001) and its payload', async () => {
  const { client, close } = await open();
  try {
    await client.read({ channel: 9 });
    assert.fail('expected sensorFault');
  } catch (e) {
    const err = callError(Thermo.methods.read, e);
    assert.equal(err.code, 1001);
    if (err.code !== 1001) return;
    assert.equal(err.name, 'sensorFault');
    assert.deepEqual({ ...err.payload }, { channel: 9, channels: 4, reason: 'no sensor on channel 9 (0..3)' });
  }
  await close();
});

test('reading the boiler above its limit raises alarm', async () => {
  const { client, close } = await open();
  const alarms: number[] = [];
  client.on('alarm', (a) => alarms.push(a.channel));
  await client.read({ channel: 3 });
  assert.deepEqual(alarms, [3]);
  await close();
});

test('samples streams count items', async () => {
  const { client, close } = await open();
  const got: number[] = [];
  for await (const s of client.samples({ channel: 0, count: 4, intervalMs: 0 })) got.push(s.i);
  assert.deepEqual(got, [0, 1, 2, 3]);
  await close();
});
