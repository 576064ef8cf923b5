// The SocketCAN driver on the host, which has no CAN (no AF_CAN in the kernel on these machines):
// the addon loads under the running Node (or its status says why not and how to fix it), opening
// an interface fails with a typed, readable CellError, and CELL_CAN_ADDON=0 makes it absent.
// The driver on a real kernel bus is tested in the micro-VM (test/can-vm/socketcan.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { canAddonStatus, loadCanAddon } from '../../src/transports/can/native.ts';
import { canFilterPairs, nextCanBusState, openSocketCan } from '../../src/transports/can/socketcan.ts';
import { ERR_CAN_NO_INTERFACE, ERR_CAN_UNAVAILABLE } from '../../src/wire/errors.ts';
import { CellError } from '../../src/wire/cell-error.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('the addon loads under this Node, or its status says what is missing and the fix', () => {
  const st = canAddonStatus();
  if (st.available) {
    assert.ok(loadCanAddon() !== null);
    assert.match(st.reason, /^loaded .*cell_can\.node$/);
  } else {
    assert.is(loadCanAddon(), null);
    assert.match(st.reason, /npm run build:native/);
  }
});

test('opening an interface on this host fails with a typed error that says why', () => {
  let err: unknown;
  try {
    openSocketCan('cellnocan0').close();
  } catch (e) {
    err = e;
  }
  assert.instance(err, CellError);
  const e = err as CellError;
  const hasAfCan = spawnSync('sh', ['-c', 'grep -qw can /proc/modules 2>/dev/null || test -d /proc/net/can']).status === 0;
  if (!canAddonStatus().available) {
    assert.is(e.code, ERR_CAN_UNAVAILABLE);
    assert.match(e.message, /npm run build:native/);
  } else if (!hasAfCan) {
    assert.is(e.code, ERR_CAN_UNAVAILABLE, e.message);
    assert.is(e.name, 'CanUnavailable');
    assert.match(e.message, /no AF_CAN/);
    assert.match(e.message, /slcan/);
    assert.is(e.detail?.['errno'], 'EAFNOSUPPORT');
  } else {
    assert.is(e.code, ERR_CAN_NO_INTERFACE, e.message); // a host with CAN: the interface is what is missing
    assert.match(e.message, /cellnocan0/);
  }
});

test('CELL_CAN_ADDON=0: the addon is absent, opening says so (code 900)', () => {
  const script = `
    import { canAddonStatus } from './src/transports/can/native.ts';
    import { openSocketCan } from './src/transports/can/socketcan.ts';
    let code = null, message = '';
    try { openSocketCan('vcan0'); } catch (e) { code = e.code; message = e.message; }
    console.log(JSON.stringify({ status: canAddonStatus(), code, message }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, encoding: 'utf8', env: { ...process.env, CELL_CAN_ADDON: '0' },
  });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { status: { available: boolean; path: string | null; reason: string }; code: number; message: string };
  assert.is(out.status.available, false);
  assert.is(out.status.path, null);
  assert.match(out.status.reason, /disabled by CELL_CAN_ADDON=0/);
  assert.is(out.code, ERR_CAN_UNAVAILABLE);
  assert.match(out.message, /CELL_CAN_ADDON=0/);
});

test('filters become CAN_RAW_FILTER pairs that keep the id width and refuse remote frames', () => {
  assert.equal(Array.from(canFilterPairs([])), [0, 0]);
  assert.equal(Array.from(canFilterPairs(undefined)), [0, 0]);
  assert.equal(Array.from(canFilterPairs([{ id: 0x1234500, mask: 0x1fffff00 }])), [(0x1234500 | 0x80000000) >>> 0, (0x1fffff00 | 0x80000000 | 0x40000000) >>> 0]);
  assert.equal(Array.from(canFilterPairs([{ id: 0x7ff, mask: 0x700, extended: false }])), [0x7ff, (0x700 | 0x80000000 | 0x40000000) >>> 0]);
  assert.throws(() => canFilterPairs(Array.from({ length: 513 }, () => ({ id: 0, mask: 0 }))), /512/);
});

test('bus state from error frames: warning, passive, bus-off, restarted, active', () => {
  assert.is(nextCanBusState('unknown', 0x4, 0x08), 'error-warning'); // CRTL TX_WARNING
  assert.is(nextCanBusState('unknown', 0x4, 0x04), 'error-warning'); // CRTL RX_WARNING
  assert.is(nextCanBusState('error-warning', 0x4, 0x20), 'error-passive'); // CRTL TX_PASSIVE
  assert.is(nextCanBusState('error-warning', 0x4, 0x10), 'error-passive'); // CRTL RX_PASSIVE
  assert.is(nextCanBusState('error-passive', 0x40, 0), 'bus-off');
  assert.is(nextCanBusState('bus-off', 0x100, 0), 'error-active'); // RESTARTED
  assert.is(nextCanBusState('error-passive', 0x4, 0x40), 'error-active'); // CRTL ACTIVE
  assert.is(nextCanBusState('error-passive', 0x8, 0), 'error-passive'); // a protocol error alone changes nothing
  assert.is(nextCanBusState('unknown', 0x4, 0x01), 'unknown'); // RX overflow alone changes nothing
});

test.run();
