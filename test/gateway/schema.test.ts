// src/gateway/gateway.ts descriptionFor: the description the proxy serves for a device that does not
// carry its own (firmware answers describe() with 403): a --schema of the same cell name, used only
// when every entry of the device's HELLO has the same name and key in it (docs/gateway.md §2).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { descriptionFor } from '../../src/gateway/gateway.ts';
import type { DeviceIdentity } from '../../src/gateway/device.ts';
import { describeCell, type CellDescription } from '../../src/codec/schema-json.ts';
import type { HelloInfo } from '../../src/rpc/payloads.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';

const test = suite('gateway: a --schema for a device without describe()');

const hello: HelloInfo = {
  version: 1, flags: 0, heartbeatMs: 0, maxFrameBytes: 512, cellName: 'thermo',
  entries: ThermoDef.entries as HelloInfo['entries'],
};
const device = (description: CellDescription | null): DeviceIdentity => ({ name: 'thermo', hello, description, path: '/dev/ttyUSB0' });
const thermo = describeCell(ThermoDef);

test('the matching schema is served for a device without its own', () => {
  assert.is(descriptionFor(device(null), [thermo]), thermo);
});

test('a device that serves describe() keeps its own; no schema of its name → none', () => {
  const own = { ...thermo, version: 'own' } as CellDescription;
  assert.is(descriptionFor(device(own), [thermo]), own);
  assert.is(descriptionFor(device(null), [{ ...thermo, name: 'other' }]), null);
  assert.is(descriptionFor(device(null), []), null);
});

test('a schema of other firmware (a key differs, or an entry is missing) is refused with the reason', () => {
  const changed = { ...thermo, methods: thermo.methods.map((m) => (m.name === 'read' ? { ...m, key: '0000000000000001' } : m)) };
  const why = descriptionFor(device(null), [changed]);
  assert.type(why, 'string');
  assert.match(why as string, /"read".*differs/);
  const missing = { ...thermo, methods: thermo.methods.filter((m) => m.name !== 'setLed') };
  assert.match(descriptionFor(device(null), [missing]) as string, /no method "setLed"/);
});

test.run();
