// Secured UART sessions over real socat ptys (docs/security.md §3): connectUart with a fleet key
// file ↔ serveUart as a provisioned device; calls and streams sealed; the device restarts (a new
// boot counter) and the same client resumes; a plaintext client gets nothing from a secure device;
// a client with the wrong key never gets a session; line noise is counted as line errors, never
// as bad tags.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPtyPair, ptyUnavailable, type PtyPair } from '../../hw-tests/lib/pty.ts';
import { connectUart, serveUart, type UartClient, type UartServer } from '../../src/uart/index.ts';
import { RpcCode } from '../../src/rpc/index.ts';
import { writeKeyFile, deviceKeyFromFleet, parseDeviceId, newKey } from '../../src/transports/secure-keys.ts';
import { nextBootCounter } from '../../src/transports/secure-boot-counter.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import type { SecureEvent } from '../../src/transports/secure-link.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';

const codeOf = (e: unknown): number => (e as { code: number }).code;
const ID = parseDeviceId('5ec0de0000000001');

function withTimeout<T>(p: Promise<T>, what: string, ms = 15_000): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); res(v); }, (e) => { clearTimeout(t); rej(e); });
  });
}

const test = suite('uart: secured sessions over ptys');
const missing = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));

let dir = '';
let fleetFile = '';
let record = new Uint8Array(64);
const pairs: PtyPair[] = [];
const clients: UartClient<typeof Thermo>[] = [];
const servers: UartServer<typeof Thermo>[] = [];

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cell-uart-sec-'));
  fleetFile = join(dir, 'fleet.key');
  const fleet = newKey();
  writeKeyFile(fleetFile, { kind: 'fleet', key: fleet });
  writeProvision(ID, deviceKeyFromFleet(fleet, ID), record, 0);
});
test.after.each(async () => {
  for (const c of clients.splice(0)) await withTimeout(c.close(), 'client close').catch(() => {});
  for (const s of servers.splice(0)) await withTimeout(s.close(), 'server close').catch(() => {});
  for (const p of pairs.splice(0)) await p.close();
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

function device(path: string): UartServer<typeof Thermo> {
  const srv = serveUart(Thermo, thermoImpl(), { path, security: { record, bootCounter: nextBootCounter(join(dir, 'boot')) } });
  servers.push(srv);
  return srv;
}

if (missing !== null) {
  console.log(`\n  uart secured sessions: SKIPPED — ${missing}\n`);
  test.skip('secured sessions over ptys', () => {});
} else {
  test('calls and streams through sealed frames; the device restarts and the client resumes', async () => {
    const pty = await startPtyPair();
    pairs.push(pty);
    let srv = device(pty.pathB);
    const events: SecureEvent[] = [];
    const client = await withTimeout(connectUart(Thermo, { path: pty.pathA, security: { keys: [fleetFile], onEvent: (e) => events.push(e) } }), 'first session');
    clients.push(client);
    for (let i = 0; i < 20; i++) assert.is((await client.read({ channel: i % 8 })).channel, i % 8);
    const items: number[] = [];
    for await (const s of client.samples({ count: 5, failAt: 0 })) items.push(s.i);
    assert.equal(items, [0, 1, 2, 3, 4]);
    const sec = client.sessions.secure!;
    assert.ok(sec.counters.sessions >= 1);
    assert.is(sec.counters.badTags, 0);
    // The device restarts: its server closes, a new one (next boot counter) opens the same port.
    await srv.close();
    servers.splice(servers.indexOf(srv), 1);
    srv = device(pty.pathB);
    await withTimeout((async () => {
      for (;;) {
        try { if ((await client.read({ channel: 2 })).channel === 2) return; } catch (e) { if (codeOf(e) !== RpcCode.Unavailable && codeOf(e) !== RpcCode.Timeout) throw e; }
        await new Promise((r) => setTimeout(r, 50));
      }
    })(), 'resume after the device restarted');
    const opens = events.filter((e) => e.type === 'open') as Extract<SecureEvent, { type: 'open' }>[];
    assert.ok(opens.length >= 2, `${opens.length} sessions`);
    assert.ok(opens[opens.length - 1]!.bootCounter > opens[0]!.bootCounter, 'a new boot counter after the restart');
    assert.is(sec.counters.badTags + client.sessions.secure!.counters.badTags, 0, 'line noise or restarts are never bad tags');
  });

  test('a plaintext client gets no session from a secure device; the device counts the refusals', async () => {
    const pty = await startPtyPair();
    pairs.push(pty);
    const srv = device(pty.pathB);
    await connectUart(Thermo, { path: pty.pathA, openTimeoutMs: 1500 }).then(
      (c) => { clients.push(c); assert.unreachable('a plaintext session with a secure device'); },
      (e) => assert.is(codeOf(e), RpcCode.Unavailable),
    );
    assert.ok(srv.sessions.secure!.counters.plaintextRefused >= 1, 'plaintext HELLOs refused and counted');
  });

  test('a client with the wrong key never gets a session (refused, not a hang)', async () => {
    const pty = await startPtyPair();
    pairs.push(pty);
    device(pty.pathB);
    const wrong = join(dir, `wrong-${Date.now()}.key`);
    writeKeyFile(wrong, { kind: 'fleet', key: newKey() });
    const events: SecureEvent[] = [];
    await connectUart(Thermo, { path: pty.pathA, openTimeoutMs: 1500, security: { keys: [wrong], onEvent: (e) => events.push(e) } }).then(
      (c) => { clients.push(c); assert.unreachable('a session with the wrong key'); },
      (e) => assert.is(codeOf(e), RpcCode.Unavailable),
    );
    assert.ok(events.some((e) => e.type === 'refused' && e.error.code === 809), 'the failed handshake is reported');
  });

  test('line noise between sealed frames is a line error, never a bad tag', async () => {
    const pty = await startPtyPair();
    pairs.push(pty);
    const srv = device(pty.pathB);
    const client = await withTimeout(connectUart(Thermo, { path: pty.pathA, security: { keys: [fleetFile] } }), 'session');
    clients.push(client);
    const port = client.sessions.port!;
    for (let i = 0; i < 30; i++) {
      port.writeRaw(new Uint8Array([0x00, 0x41 + i, 0x13, 0x37, 0xff, 0x00]));
      assert.is((await client.read({ channel: i % 8 })).channel, i % 8);
    }
    const line = srv.sessions.port!.stats;
    assert.ok(line.errCrc + line.errCobs + line.errTooShort > 0, 'noise counted as line errors');
    assert.is(srv.sessions.secure!.counters.badTags, 0);
  });
}

test.run();
