// The secured link on the host and the Node device role (src/transports/secure-link.ts, the
// portable session of src/secure/): handshake, sealed frames on the wire, every byte flipped,
// replays (same session, after a device reset), reflection, lockout, plaintext refused, rekey,
// 200 resets without a repeated (key, nonce), and the link compliance suite over a secured pair.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hchacha } from '@noble/ciphers/chacha.js';
import { memoryPair, type MemoryLink } from '../../src/transports/memory.ts';
import { SecureLink, type SecureEvent } from '../../src/transports/secure-link.ts';
import {
  KeyRing, deviceKeyFromFleet, readKeyFile, writeKeyFile, newKey, parseDeviceId, hexOf,
} from '../../src/transports/secure-keys.ts';
import { nextBootCounter } from '../../src/transports/secure-boot-counter.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import { FLAG_AUTH, FLAG_ENCRYPTED, HEADER_BYTES } from '../../src/wire/header.ts';
import { readU32LE } from '../../src/wire/bytes.ts';
import {
  LINK_OP_SEC_ACCEPT, LINK_OP_SEC_OPEN, SEC_ACCEPT_OFF_BOOT_COUNTER, SEC_ACCEPT_OFF_SESSION,
  SEC_OPEN_OFF_HOST_NONCE, SEC_PROVISION_BYTES,
} from '../../src/wire/layouts.ts';
import { ERR_SECURE_KEY_FILE } from '../../src/wire/errors.ts';
import { connect, serve } from '../../src/rpc/index.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';
import { complianceSuite, makeFrame } from '../transports/compliance.ts';

const DEVICE_ID = parseDeviceId('00c0ffee00000017');
const FLEET = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff);
const DEVICE_KEY = deviceKeyFromFleet(FLEET, DEVICE_ID);

function record(key = DEVICE_KEY, id = DEVICE_ID): Uint8Array {
  const r = new Uint8Array(SEC_PROVISION_BYTES);
  assert.is(writeProvision(id, key, r, 0), SEC_PROVISION_BYTES);
  return r;
}

function fleetRing(): KeyRing {
  return new KeyRing().add({ kind: 'fleet', key: FLEET });
}

/** Every frame an inner link sends, as sent (sealed). */
function tap(link: MemoryLink): Uint8Array[] {
  const sent: Uint8Array[] = [];
  const orig = link.send.bind(link);
  link.send = (f: Uint8Array, len: number = f.length) => { sent.push(f.slice(0, len)); return orig(f, len); };
  return sent;
}

async function until(cond: () => boolean, what: string, maxMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > maxMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Pair {
  a: MemoryLink; b: MemoryLink; host: SecureLink; device: SecureLink;
  hostRx: Uint8Array[]; deviceRx: Uint8Array[]; hostTx: Uint8Array[]; deviceTx: Uint8Array[];
  events: SecureEvent[];
}

async function securePair(opts: { bootCounter?: number; keys?: KeyRing; rekeyAfterFrames?: number; deviceKey?: Uint8Array } = {}): Promise<Pair> {
  const [a, b] = memoryPair();
  const hostTx = tap(a);
  const deviceTx = tap(b);
  const events: SecureEvent[] = [];
  const host = new SecureLink(a, { role: 'host', keys: opts.keys ?? fleetRing(), rekeyAfterFrames: opts.rekeyAfterFrames, onEvent: (e) => events.push(e) });
  const device = new SecureLink(b, { role: 'device', record: record(opts.deviceKey), bootCounter: opts.bootCounter ?? 1 });
  const hostRx: Uint8Array[] = [];
  const deviceRx: Uint8Array[] = [];
  device.start({ onFrame: (buf, off, len) => deviceRx.push(buf.slice(off, off + len)), onClose: () => {} });
  host.start({ onFrame: (buf, off, len) => hostRx.push(buf.slice(off, off + len)), onClose: () => {} });
  return { a, b, host, device, hostRx, deviceRx, hostTx, deviceTx, events };
}

const t = suite('secure link: sessions and sealed frames');

t('opens a session and carries frames both ways; the wire only sees sealed bytes', async () => {
  const p = await securePair();
  await until(() => p.host.isOpen && p.device.isOpen, 'session');
  const f = makeFrame(7, 40);
  p.host.send(f);
  p.device.send(makeFrame(8, 3));
  await until(() => p.deviceRx.length === 1 && p.hostRx.length === 1, 'frames');
  assert.equal(p.deviceRx[0], f);
  assert.equal(p.hostRx[0], makeFrame(8, 3));
  const sealed = p.hostTx.find((x) => (x[2]! & FLAG_ENCRYPTED) !== 0)!;
  assert.is(sealed.length, f.length + 12);
  assert.is(sealed[2]! & (FLAG_AUTH | FLAG_ENCRYPTED), FLAG_AUTH | FLAG_ENCRYPTED);
  assert.is(readU32LE(sealed, 16), 40 + 12);
  assert.not.equal(sealed.subarray(20, 60), f.subarray(20, 60), 'payload encrypted');
  assert.is(p.host.caps.mtu, p.a.caps.mtu - 12);
  assert.is(p.events.filter((e) => e.type === 'open').length, 1);
  assert.is(p.host.deviceId, hexOf(DEVICE_ID));
  p.host.close();
});

t('frames sent before the session opens wait and go out in order', async () => {
  const [a, b] = memoryPair({ latencyMs: 5 });
  const host = new SecureLink(a, { role: 'host', keys: fleetRing() });
  const device = new SecureLink(b, { role: 'device', record: record(), bootCounter: 3 });
  const got: number[] = [];
  device.start({ onFrame: (buf, off) => got.push(readU32LE(buf, off + 4)), onClose: () => {} });
  host.start({ onFrame: () => {}, onClose: () => {} });
  for (let i = 1; i <= 5; i++) host.send(makeFrame(i, 10));
  await until(() => got.length === 5, 'queued frames');
  assert.equal(got, [1, 2, 3, 4, 5]);
  host.close();
});

t('every byte of a sealed frame flipped in turn: all refused and counted, none delivered', async () => {
  const p = await securePair();
  await until(() => p.host.isOpen && p.device.isOpen, 'session');
  p.host.send(makeFrame(1, 32));
  await until(() => p.deviceRx.length === 1, 'first frame');
  const before = { ...p.device.counters };
  // The next frame, sealed but not delivered: seal it through the host and capture it.
  p.a.sever();
  p.host.send(makeFrame(2, 32));
  const good = p.hostTx[p.hostTx.length - 1]!;
  let refused = 0;
  for (let i = 0; i < good.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = good.slice();
      bad[i] ^= bit;
      // Straight into the device's receive path (as the memory link would deliver it).
      (p.device as unknown as { onInnerFrame(b: Uint8Array, o: number, l: number): void }).onInnerFrame(bad, 0, bad.length);
      refused++;
      // Keep the session alive for the next try: a lockout would end it.
      (p.device as unknown as { session: { badTags: number } }).session.badTags = 0;
    }
  }
  const c = p.device.counters;
  const counted = (c.badTags - before.badTags) + (c.replays - before.replays) + (c.plaintextRefused - before.plaintextRefused) + (c.badLength - before.badLength);
  assert.is(p.deviceRx.length, 1, 'no flipped frame delivered');
  assert.is(counted, refused, 'every flipped frame counted');
  // The untouched frame still verifies afterwards: nothing moved the replay window.
  (p.device as unknown as { onInnerFrame(b: Uint8Array, o: number, l: number): void }).onInnerFrame(good.slice(), 0, good.length);
  assert.is(p.deviceRx.length, 2);
  assert.equal(p.deviceRx[1], makeFrame(2, 32));
});

t('a captured frame replayed in the same session is refused (replay) and not delivered', async () => {
  const p = await securePair();
  await until(() => p.host.isOpen && p.device.isOpen, 'session');
  p.host.send(makeFrame(1, 8));
  p.host.send(makeFrame(2, 8));
  await until(() => p.deviceRx.length === 2, 'frames');
  const captured = p.hostTx.filter((x) => (x[2]! & FLAG_AUTH) !== 0);
  for (const f of captured) p.b.inject(f);
  await until(() => p.device.counters.replays >= captured.length, 'replays counted');
  assert.is(p.deviceRx.length, 2);
});

t('frames captured before a device reset are refused by the restarted device', async () => {
  const p = await securePair({ bootCounter: 10 });
  await until(() => p.host.isOpen && p.device.isOpen, 'session');
  for (let i = 0; i < 5; i++) p.host.send(makeFrame(i, 16));
  await until(() => p.deviceRx.length === 5, 'frames');
  const captured = p.hostTx.filter((x) => (x[2]! & FLAG_ENCRYPTED) !== 0);
  p.host.close();
  // The device restarts with the next boot counter; a new host session opens.
  const q = await securePair({ bootCounter: 11 });
  await until(() => q.host.isOpen && q.device.isOpen, 'new session');
  for (const f of captured) q.b.inject(f);
  await new Promise((r) => setTimeout(r, 20));
  assert.is(q.deviceRx.length, 0, 'no old frame delivered');
  assert.ok(q.device.counters.badTags + q.device.counters.replays >= 1);
  // The new session still works (the old frames stayed below the lockout).
  q.host.send(makeFrame(99, 4));
  await until(() => q.deviceRx.length === 1, 'fresh frame');
  q.host.close();
});

t('a frame reflected back to its sender is refused', async () => {
  const p = await securePair();
  await until(() => p.host.isOpen && p.device.isOpen, 'session');
  p.host.send(makeFrame(5, 12));
  await until(() => p.deviceRx.length === 1, 'frame');
  const sealed = p.hostTx.filter((x) => (x[2]! & FLAG_ENCRYPTED) !== 0).pop()!;
  p.a.inject(sealed); // the host's own frame, back at the host
  await until(() => p.host.counters.badTags + p.host.counters.replays >= 1, 'refused');
  assert.is(p.hostRx.length, 0);
  p.host.close();
});

t('8 bad tags drop the session (lockout, counted, logged); a new one opens', async () => {
  const p = await securePair();
  await until(() => p.host.isOpen && p.device.isOpen, 'session');
  p.device.send(makeFrame(1, 4));
  await until(() => p.hostRx.length === 1, 'frame');
  const sealed = p.deviceTx.filter((x) => (x[2]! & FLAG_ENCRYPTED) !== 0).pop()!;
  for (let i = 0; i < 8; i++) {
    const bad = sealed.slice();
    bad[bad.length - 1] ^= 1 + i;
    bad[bad.length - 12] = 100 + i; // a new counter each time, so it reaches the tag check
    p.a.inject(bad);
  }
  await until(() => p.host.counters.lockouts === 1, 'lockout');
  assert.ok(p.events.some((e) => e.type === 'lockout'));
  await until(() => p.events.filter((e) => e.type === 'open').length === 2, 'a new session');
  p.device.send(makeFrame(2, 4));
  await until(() => p.hostRx.length === 2, 'frame after the new session');
  p.host.close();
});

t('plaintext frames to a secure device are refused, counted, and answered with REQUEST', async () => {
  const p = await securePair();
  await until(() => p.host.isOpen && p.device.isOpen, 'session');
  const requestsBefore = p.deviceTx.filter((x) => readU32LE(x, 4) === 4 && x[3] === 4).length;
  p.b.inject(makeFrame(1, 10));
  await until(() => p.device.counters.plaintextRefused === 1, 'refused');
  assert.is(p.deviceRx.length, 0);
  await until(() => p.deviceTx.filter((x) => readU32LE(x, 4) === 4 && x[3] === 4).length === requestsBefore + 1, 'REQUEST sent');
  // and plaintext to the host is refused too (no downgrade by a device that stops sealing)
  p.a.inject(makeFrame(2, 10));
  await until(() => p.host.counters.plaintextRefused === 1, 'host refused');
  assert.is(p.hostRx.length, 0);
  p.host.close();
});

t('a host with the wrong key never opens; it reports the failed handshake', async () => {
  const wrong = new KeyRing().add({ kind: 'device', deviceId: DEVICE_ID, key: new Uint8Array(32).fill(9) });
  const p = await securePair({ keys: wrong });
  await until(() => p.events.some((e) => e.type === 'refused'), 'refusal');
  assert.not.ok(p.host.isOpen);
  const e = p.events.find((x) => x.type === 'refused') as { error: { code: number } };
  assert.is(e.error.code, 809);
  p.host.close();
});

t('a device the host has no key for is reported (SecureUnknownDevice)', async () => {
  const p = await securePair({ keys: new KeyRing().add({ kind: 'device', deviceId: parseDeviceId('1111111111111111'), key: newKey() }) });
  await until(() => p.events.some((e) => e.type === 'refused'), 'refusal');
  const e = p.events.find((x) => x.type === 'refused') as { error: { code: number } };
  assert.is(e.error.code, 805);
  p.host.close();
});

t('the host renews the session before its counter runs out; calls go on across rekeys', async () => {
  const [a, b] = memoryPair();
  const events: SecureEvent[] = [];
  const host = new SecureLink(a, { role: 'host', keys: fleetRing(), rekeyAfterFrames: 5, onEvent: (e) => events.push(e) });
  const device = new SecureLink(b, { role: 'device', record: record(), bootCounter: 1 });
  serve(Thermo, thermoImpl(), device, { heartbeatMs: 0 });
  const client = await connect(Thermo, host, { heartbeatMs: 0 });
  for (let i = 0; i < 40; i++) assert.is((await client.read({ channel: i % 4 })).channel, i % 4);
  const opens = events.filter((e) => e.type === 'open');
  assert.ok(opens.length >= 6, `rekeyed ${opens.length - 1} times`);
  assert.ok(opens.slice(1).every((e) => e.type === 'open' && e.rekey));
  await client.close();
});

t('200 device resets: no (session key, nonce) pair is ever used twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-sec-'));
  try {
    const counterFile = join(dir, 'boot-counter');
    const seen = new Map<string, string>();
    let pairs = 0;
    for (let reset = 0; reset < 200; reset++) {
      const p = await securePair({ bootCounter: nextBootCounter(counterFile) });
      await until(() => p.host.isOpen && p.device.isOpen, 'session');
      p.host.send(makeFrame(1, 8));
      p.device.send(makeFrame(2, 8));
      await until(() => p.deviceRx.length === 1 && p.hostRx.length === 1, 'frames');
      // The session key as both sides derive it, from what crossed the wire.
      const open = p.hostTx.find((x) => x[3] === 4 && readU32LE(x, 4) === LINK_OP_SEC_OPEN)!;
      const accept = p.deviceTx.find((x) => x[3] === 4 && readU32LE(x, 4) === LINK_OP_SEC_ACCEPT)!;
      const input = new Uint8Array(16);
      input.set(open.subarray(HEADER_BYTES + SEC_OPEN_OFF_HOST_NONCE, HEADER_BYTES + SEC_OPEN_OFF_HOST_NONCE + 8), 0);
      input.set(accept.subarray(HEADER_BYTES + SEC_ACCEPT_OFF_BOOT_COUNTER, HEADER_BYTES + SEC_ACCEPT_OFF_BOOT_COUNTER + 4), 8);
      input.set(accept.subarray(HEADER_BYTES + SEC_ACCEPT_OFF_SESSION, HEADER_BYTES + SEC_ACCEPT_OFF_SESSION + 4), 12);
      const k32 = new Uint32Array(8);
      const dk = new Uint32Array(DEVICE_KEY.buffer.slice(DEVICE_KEY.byteOffset, DEVICE_KEY.byteOffset + 32));
      const in32 = new Uint32Array(input.buffer);
      hchacha(new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]), dk, in32, k32);
      const keyHex = Buffer.from(k32.buffer).toString('hex');
      for (const [frames, dir] of [[p.hostTx, 1], [p.deviceTx, 2]] as const) {
        for (const f of frames) {
          if ((f[2]! & FLAG_AUTH) === 0) continue;
          // A repeated OPEN gets the same ACCEPT again, byte for byte: the same message, not a reuse.
          const id = `${keyHex}/${dir}/${readU32LE(f, f.length - 12)}`;
          const bytes = Buffer.from(f).toString('hex');
          const prev = seen.get(id);
          assert.ok(prev === undefined || prev === bytes, `(key, nonce) used for two messages at reset ${reset}: ${id}`);
          if (prev === undefined) pairs++;
          seen.set(id, bytes);
        }
      }
      p.host.close();
    }
    assert.ok(pairs >= 600, `${pairs} (key, nonce) pairs checked`);
    assert.is(Number(readFileSync(counterFile, 'utf8')), 199);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();


const keys = suite('secure link: key files and boot counters');

keys('a key file is created exclusively with mode 0600 and read back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-key-'));
  try {
    const f = join(dir, 'fleet.key');
    writeKeyFile(f, { kind: 'fleet', key: FLEET });
    assert.is(statSync(f).mode & 0o777, 0o600);
    const e = readKeyFile(f);
    assert.is(e.kind, 'fleet');
    assert.equal(e.key, FLEET);
    try { writeKeyFile(f, { kind: 'fleet', key: FLEET }); assert.unreachable('overwrote'); } catch (err) { assert.is((err as { code: number }).code, ERR_SECURE_KEY_FILE); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

keys('a key file others can read is refused with the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-key-'));
  try {
    const f = join(dir, 'open.key');
    writeFileSync(f, `cell-key 1 device ${hexOf(DEVICE_ID)} ${hexOf(DEVICE_KEY)}\n`);
    chmodSync(f, 0o644);
    try { readKeyFile(f); assert.unreachable('read a 0644 key'); } catch (err) {
      assert.is((err as { code: number }).code, ERR_SECURE_KEY_FILE);
      assert.match((err as Error).message, /chmod 600/);
    }
    chmodSync(f, 0o600);
    const e = readKeyFile(f);
    assert.is(e.kind, 'device');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

keys('malformed key files are refused with a reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-key-'));
  try {
    for (const [text, re] of [['', /one key line/], ['hello', /not a Cell key/], ['cell-key 1 fleet 00', /64 hex/], [`cell-key 1 device 12 ${'00'.repeat(32)}`, /16 hex/]] as const) {
      const f = join(dir, `k${Math.random()}`);
      writeFileSync(f, text, { mode: 0o600 });
      try { readKeyFile(f); assert.unreachable(text); } catch (err) { assert.match((err as Error).message, re); }
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

keys('fleet derivation is HKDF-SHA256 and a device key file wins over the fleet', () => {
  const ring = new KeyRing().add({ kind: 'fleet', key: FLEET });
  assert.equal(ring.keyFor(DEVICE_ID), DEVICE_KEY);
  const other = newKey();
  ring.add({ kind: 'device', deviceId: DEVICE_ID, key: other });
  assert.equal(ring.keyFor(DEVICE_ID), other);
  assert.is(ring.keysFor(DEVICE_ID).length, 2);
  assert.not.equal(deviceKeyFromFleet(FLEET, parseDeviceId('0000000000000001')), DEVICE_KEY);
});

keys('the boot counter file gives 0, 1, 2, … and is 0600', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-boot-'));
  try {
    const f = join(dir, 'c');
    assert.equal([nextBootCounter(f), nextBootCounter(f), nextBootCounter(f)], [0, 1, 2]);
    assert.is(statSync(f).mode & 0o777, 0o600);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

keys.run();

complianceSuite('secure link over memory (host ↔ device)', {
  maxFrameBytes: 4096,
  async pair() {
    const [a, b] = memoryPair();
    const host = new SecureLink(a, { role: 'host', keys: fleetRing() });
    const device = new SecureLink(b, { role: 'device', record: record(), bootCounter: 1 });
    return { a: host, b: device, killB: () => b.kill(), garbageToA: (bytes) => a.inject(bytes) };
  },
});

