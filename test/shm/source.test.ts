// The local supervised client (src/shm/source.ts, docs/shm.md §6): one typed client over a
// cell in another process that moves to shared memory, survives the cell being killed and
// restarted (calls made meanwhile wait for it), and leaves no segment behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectLocalClient } from '../../src/shm/index.ts';
import { shmAddonStatus } from '../../src/transports/shm/native.ts';
import { RpcCode } from '../../src/rpc/index.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';

const peer = fileURLToPath(new URL('./serve-peer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cell-shm-src-'));
const children: ChildProcess[] = [];

async function startCell(path: string, mode = ''): Promise<ChildProcess> {
  rmSync(path, { force: true });
  const c = spawn(process.execPath, ['--import', 'tsx', peer, path, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  await new Promise((res, rej) => { c.stdout!.once('data', res); c.once('exit', (code) => rej(new Error(`peer exited ${code}`))); });
  return c;
}

function segments(): string[] {
  return readdirSync('/dev/shm').filter((f) => f.startsWith(`cell-${process.getuid!()}-`));
}

test.after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('moves to shm, survives a SIGKILLed cell, reconnects and upgrades again', async () => {
  const path = join(dir, 'a.sock');
  const before = new Set(segments());
  let cell = await startCell(path);
  const client = await connectLocalClient(Thermo, path, { heartbeatMs: 200 });
  assert.is((await client.read({ channel: 3 })).channel, 3);
  assert.is(client.source.link?.state, shmAddonStatus().available ? 'shm' : 'socket');
  const inFlight = client.sleep({ ms: 60000 }, { deadlineMs: 30000 });
  await new Promise((r) => setTimeout(r, 50));
  cell.kill('SIGKILL');
  await inFlight.then(() => assert.unreachable('a call to a killed cell ended well'), (e) => {
    assert.ok(([RpcCode.Unavailable, RpcCode.Closed] as number[]).includes((e as { code: number }).code), String(e));
  });
  // A call made while the cell is down waits for it (whileDown 'wait') and is answered by the new one.
  const waiting = client.read({ channel: 4 }, { deadlineMs: 15000 });
  cell = await startCell(path);
  assert.is((await waiting).channel, 4);
  assert.is(client.source.link?.state, shmAddonStatus().available ? 'shm' : 'socket');
  await client.close();
  cell.kill();
  assert.equal(segments().filter((f) => !before.has(f)), []);
});

test('shm: false stays on the socket; a cell that refuses leaves it on the socket too', async () => {
  const path = join(dir, 'b.sock');
  const cell = await startCell(path, 'refuse');
  const plain = await connectLocalClient(Thermo, path, { shm: false, heartbeatMs: 0 });
  assert.is((await plain.read({ channel: 1 })).channel, 1);
  assert.is(plain.source.link, null);
  await plain.close();
  const refused = await connectLocalClient(Thermo, path, { heartbeatMs: 0 });
  assert.is((await refused.read({ channel: 2 })).channel, 2);
  if (shmAddonStatus().available) {
    assert.is(refused.source.link?.state, 'refused');
    assert.match(refused.source.link!.reason, /turned off for the test/);
  }
  await refused.close();
  cell.kill();
});

test.run();
