// The shared-memory addon (native/shm/cell_shm.c) through its loader src/transports/shm/native.ts:
// segments in /dev/shm that are ours and 0600, the refusals of open(), unmap() that detaches
// instead of leaving a view over unmapped memory, and Atomics across two real processes.
// Without the addon (no C compiler) the addon tests are reported as skipped, not passed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadShmAddon, shmAddonStatus, type ShmAddon } from '../../src/transports/shm/native.ts';
import { skipDeclared, skipTest } from '../helpers/skip.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const loaderPath = join(root, 'src/transports/shm/native.ts');
const childScript = fileURLToPath(new URL('./shm-child.ts', import.meta.url));
const addon = loadShmAddon();
const status = shmAddonStatus();
const hasDevShm = existsSync('/dev/shm');

/** Every name this file makes starts with this, so the last test can check none is left. */
const prefix = `/cell-test-${process.pid}-${randomBytes(3).toString('hex')}-`;
let seq = 0;
const fresh = (): string => `${prefix}${seq++}`;
const devShm = (name: string): string => `/dev/shm${name}`;
const PAGE = 4096;

/** Our own segments' lines in /proc/self/maps (a mapping outlives its name: "(deleted)"). */
function mapsOf(name: string): number {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(devShm(name))).length;
}

/** The error thrown by fn, checked to be one (codes, never message text or class identity). */
function thrown(fn: () => unknown): { code?: string; name: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; name: string; message: string };
  }
  assert.unreachable('expected an error');
  throw new Error('unreachable');
}

type Test = ReturnType<typeof suite>;
/** Registers the test, or reports it skipped with the loader's reason when the addon is absent. */
function needsAddon(s: Test, name: string, fn: (a: ShmAddon) => void | Promise<void>): void {
  if (addon === null || !hasDevShm) {
    skipDeclared(s, name, addon === null ? status.reason : 'no /dev/shm on this system');
    return;
  }
  s(name, () => fn(addon));
}

// ---------------------------------------------------------------------------------------------
const create = suite('shm addon: create');

needsAddon(create, 'maps a zeroed segment another open() of the same name shares, Atomics included', (a) => {
  const name = fresh();
  const one = a.create(name, 2 * PAGE);
  const two = a.open(name, 2 * PAGE);
  try {
    assert.is(one.byteLength, 2 * PAGE);
    assert.ok(new Uint8Array(one).every((b) => b === 0), 'a new segment is zeroed');
    new Uint8Array(one).set([1, 2, 3, 4], 100);
    assert.equal([...new Uint8Array(two, 100, 4)], [1, 2, 3, 4]);
    const w1 = new Int32Array(one);
    const w2 = new Int32Array(two);
    assert.is(Atomics.add(w1, 7, 5), 0);
    assert.is(Atomics.add(w2, 7, 3), 5);
    assert.is(Atomics.load(w1, 7), 8);
    assert.is(Atomics.compareExchange(w2, 8, 0, 42), 0);
    assert.is(w1[8], 42);
  } finally {
    a.unmap(one);
    a.unmap(two);
    a.unlink(name);
  }
});

needsAddon(create, 'makes the file 0600 and ours even under a umask that would clear bits', (a) => {
  const name = fresh();
  const old = process.umask(0o377);
  let ab: ArrayBuffer;
  try {
    ab = a.create(name, PAGE);
  } finally {
    process.umask(old);
  }
  const st = statSync(devShm(name));
  assert.is(st.mode & 0o777, 0o600);
  assert.ok(st.isFile());
  assert.is(st.uid, process.geteuid!());
  assert.is(st.size, PAGE);
  a.unmap(ab);
  assert.ok(a.unlink(name));
});

needsAddon(create, 'refuses an existing name with EEXIST (O_EXCL) and leaves that segment alone', (a) => {
  const name = fresh();
  const ab = a.create(name, PAGE);
  new Uint8Array(ab)[0] = 9;
  const err = thrown(() => a.create(name, PAGE));
  assert.is(err.code, 'EEXIST');
  assert.match(err.message, name);
  assert.ok(existsSync(devShm(name)), 'the failed create did not unlink the existing segment');
  assert.is(new Uint8Array(a.open(name, PAGE))[0], 9);
  a.unmap(ab);
  a.unlink(name);
});

needsAddon(create, 'takes sizes that are multiples of 64 from 64 B, not a page multiple', (a) => {
  for (const bytes of [64, 192, 2 * (256 + 4096)]) {
    const name = fresh();
    const ab = a.create(name, bytes);
    assert.is(ab.byteLength, bytes);
    assert.is(statSync(devShm(name)).size, bytes);
    new Uint8Array(ab)[bytes - 1] = 1;
    a.unmap(ab);
    a.unlink(name);
  }
});

needsAddon(create, 'refuses bad names and sizes with code EINVAL (TypeError or RangeError), creating nothing', (a) => {
  const badNames: unknown[] = ['cell-x', '/cell-', '/other-x', '/cell-a/b', '/cell-ä', '/cell-a b', '/cell-a\0b',
    `/cell-${'a'.repeat(201)}`, '/CELL-x', '', 42, undefined, null];
  for (const name of badNames) {
    const err = thrown(() => a.create(name as string, PAGE));
    assert.is(err.code, 'EINVAL', `name ${JSON.stringify(name)}`);
    assert.ok(err.name === 'TypeError' || err.name === 'RangeError', `name ${JSON.stringify(name)}: ${err.name}`);
    assert.is(thrown(() => a.open(name as string, PAGE)).code, 'EINVAL');
    assert.is(thrown(() => a.unlink(name as string)).code, 'EINVAL');
  }
  const ok200 = `/cell-${'a'.repeat(200)}`;
  assert.not.ok(a.unlink(ok200), 'a 200-character name is valid (and absent)');
  const name = fresh();
  for (const bytes of [0, 32, 63, 65, 100, 4097, 64.5, -64, 2 ** 30 + 64, 2 ** 31, NaN, Infinity, '4096', undefined]) {
    const err = thrown(() => a.create(name, bytes as number));
    assert.is(err.code, 'EINVAL', `bytes ${String(bytes)}`);
    assert.is(thrown(() => a.open(name, bytes as number)).code, 'EINVAL');
  }
  assert.not.ok(existsSync(devShm(name)));
});

// ---------------------------------------------------------------------------------------------
const open = suite('shm addon: open');

needsAddon(open, 'a missing name is ENOENT', (a) => {
  const err = thrown(() => a.open(fresh(), PAGE));
  assert.is(err.code, 'ENOENT');
  assert.match(err.message, 'create()');
});

needsAddon(open, 'refuses a segment whose mode is not 0600 (EACCES), whoever made it', (a) => {
  const name = fresh();
  const ab = a.create(name, PAGE);
  chmodSync(devShm(name), 0o644);
  const err = thrown(() => a.open(name, PAGE));
  assert.is(err.code, 'EACCES');
  assert.match(err.message, '0644');
  chmodSync(devShm(name), 0o660);
  assert.is(thrown(() => a.open(name, PAGE)).code, 'EACCES');
  a.unmap(ab);
  a.unlink(name);

  const planted = fresh();
  writeFileSync(devShm(planted), new Uint8Array(PAGE), { mode: 0o644 });
  chmodSync(devShm(planted), 0o644);
  assert.is(thrown(() => a.open(planted, PAGE)).code, 'EACCES');
  unlinkSync(devShm(planted));
});

needsAddon(open, 'refuses a segment of another size (EINVAL), larger or smaller', (a) => {
  const name = fresh();
  const ab = a.create(name, 2 * PAGE);
  for (const bytes of [PAGE, 4 * PAGE, 2 * PAGE + 64]) {
    const err = thrown(() => a.open(name, bytes));
    assert.is(err.code, 'EINVAL');
    assert.match(err.message, String(2 * PAGE));
  }
  a.unmap(ab);
  a.unlink(name);
});

needsAddon(open, 'refuses a segment owned by another user (EPERM)', (a) => {
  if (process.geteuid!() !== 0) return skipTest('needs root to chown a segment to another user');
  const name = fresh();
  const ab = a.create(name, PAGE);
  chownSync(devShm(name), 65534, 65534);
  const err = thrown(() => a.open(name, PAGE));
  assert.is(err.code, 'EPERM');
  assert.match(err.message, '65534');
  a.unmap(ab);
  a.unlink(name);
});

needsAddon(open, 'refuses a directory or a symlink in place of a segment', (a) => {
  const dir = fresh();
  mkdirSync(devShm(dir), { mode: 0o700 });
  try {
    assert.ok(['EISDIR', 'EINVAL'].includes(thrown(() => a.open(dir, PAGE)).code!));
  } finally {
    rmdirSync(devShm(dir));
  }
  const target = fresh();
  const link = fresh();
  const ab = a.create(target, PAGE);
  symlinkSync(devShm(target), devShm(link));
  try {
    assert.ok(['ELOOP', 'EINVAL'].includes(thrown(() => a.open(link, PAGE)).code!), 'shm_open does not follow symlinks');
  } finally {
    unlinkSync(devShm(link));
    a.unmap(ab);
    a.unlink(target);
  }
});

// ---------------------------------------------------------------------------------------------
const unlink = suite('shm addon: unlink');

needsAddon(unlink, 'removes the name (mappings stay valid) and is false the second time', (a) => {
  const name = fresh();
  const ab = a.create(name, PAGE);
  assert.is(a.unlink(name), true);
  assert.not.ok(existsSync(devShm(name)));
  assert.is(a.unlink(name), false);
  assert.is(thrown(() => a.open(name, PAGE)).code, 'ENOENT');
  new Uint8Array(ab)[5] = 5; // still mapped
  assert.is(new Uint8Array(ab)[5], 5);
  a.unmap(ab);
});

// ---------------------------------------------------------------------------------------------
const unmap = suite('shm addon: unmap');

needsAddon(unmap, 'detaches: views read as length 0, Atomics throw, nothing faults; the memory is unmapped', (a) => {
  const name = fresh();
  const ab = a.create(name, PAGE);
  const other = a.open(name, PAGE);
  const bytes = new Uint8Array(ab);
  const words = new Int32Array(ab);
  bytes[0] = 1;
  assert.is(mapsOf(name), 2);
  a.unmap(ab);
  assert.is(ab.byteLength, 0);
  assert.is(bytes.length, 0);
  assert.is(words.length, 0);
  assert.is(bytes[0], undefined);
  bytes[0] = 7; // ignored, no fault
  assert.throws(() => Atomics.add(words, 0, 1), (e: Error) => e.name === 'TypeError');
  assert.throws(() => new Uint8Array(ab), (e: Error) => e.name === 'TypeError');
  assert.is(mapsOf(name), 1, 'this mapping is gone, the other one stays');
  assert.is(new Uint8Array(other)[0], 1, 'the other mapping of the same segment is unaffected');
  a.unmap(ab); // idempotent
  a.unmap(other);
  a.unmap(other);
  assert.is(mapsOf(name), 0);
  a.unlink(name);
});

needsAddon(unmap, 'refuses an ArrayBuffer it did not map (TypeError, EINVAL)', (a) => {
  for (const v of [new ArrayBuffer(64), new SharedArrayBuffer(64), new Uint8Array(64), {}, undefined]) {
    const err = thrown(() => a.unmap(v as ArrayBuffer));
    assert.is(err.code, 'EINVAL');
    assert.is(err.name, 'TypeError');
  }
});

needsAddon(unmap, 'a mapping stays on its thread: postMessage copies it (Node 20) or throws (21+)', (a) => {
  const name = fresh();
  const ab = a.create(name, PAGE);
  new Uint8Array(ab)[0] = 3;
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(ab, [ab]);
  } catch (err) {
    assert.is((err as Error).name, 'DataCloneError');
  } finally {
    port1.close();
    port2.close();
  }
  assert.is(ab.byteLength, PAGE, 'still attached here');
  assert.is(new Uint8Array(ab)[0], 3);
  a.unmap(ab);
  a.unlink(name);
});

needsAddon(unmap, 'ArrayBuffer.prototype.transfer() (Node 22+) moves it within the thread: unmap() then refuses the copy', (a) => {
  const name = fresh();
  const ab = a.create(name, PAGE);
  const transfer = (ab as { transfer?: () => ArrayBuffer }).transfer;
  if (typeof transfer !== 'function') {
    a.unmap(ab);
    a.unlink(name);
    return skipTest('no ArrayBuffer.prototype.transfer in this Node');
  }
  new Uint8Array(ab)[0] = 4;
  const moved = transfer.call(ab);
  assert.is(ab.byteLength, 0);
  assert.is(new Uint8Array(moved)[0], 4, 'the same memory, now owned by `moved` until it is collected');
  a.unmap(ab); // already detached: a no-op
  assert.is(thrown(() => a.unmap(moved)).code, 'EINVAL');
  a.unlink(name);
});

needsAddon(unmap, 'garbage collection unmaps a dropped mapping, and never one that unmap() already released', async (a) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc !== 'function') return skipTest('gc() not exposable here');
  const dropped = fresh();
  const released = fresh();
  const kept = fresh();
  (() => { a.create(dropped, PAGE); })();
  (() => { a.unmap(a.create(released, PAGE)); })(); // its finalizer must not munmap again…
  const live = a.create(kept, PAGE); // …possibly where this one now lives
  for (let i = 0; i < 20 && mapsOf(dropped) > 0; i++) {
    gc();
    await new Promise((r) => setImmediate(r)); // Node runs the finalizers from an immediate
  }
  assert.is(mapsOf(dropped), 0, 'the finalizer unmapped the dropped mapping');
  assert.is(mapsOf(kept), 1);
  new Uint8Array(live).fill(0xa5); // would fault had a finalizer unmapped this range
  assert.is(new Uint8Array(live)[PAGE - 1], 0xa5);
  a.unmap(live);
  for (const n of [dropped, released, kept]) a.unlink(n);
});

// ---------------------------------------------------------------------------------------------
const processes = suite('shm addon: across processes');

needsAddon(processes, 'a child process and this one each add 100000 with Atomics.add: exactly 200000', async (a) => {
  const name = fresh();
  const count = 100_000;
  const ab = a.create(name, PAGE);
  const words = new Int32Array(ab);
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, name, String(PAGE), String(count)], {
      cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 30_000;
    while (Atomics.load(words, 1) !== 1) {
      if (Date.now() > deadline) { child.kill('SIGKILL'); assert.unreachable('the child did not map the segment within 30 s'); }
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.is(Atomics.load(words, 3), 0x0c0ffee0, 'the child\'s write is visible here');
    Atomics.store(words, 2, 1);
    for (let i = 0; i < count; i++) Atomics.add(words, 0, 1);
    assert.is(await exited, 0);
    assert.is(out.trim(), 'unmapped', 'the child\'s views read as empty after unmap()');
    assert.is(Atomics.load(words, 0), 2 * count);
  } finally {
    a.unmap(ab);
    a.unlink(name);
  }
});

// ---------------------------------------------------------------------------------------------
const loader = suite('shm addon: loader');

function statusInChild(env: Record<string, string>): { status: { available: boolean; path: string | null; reason: string }; loaded: boolean } {
  const script = `import { shmAddonStatus, loadShmAddon } from ${JSON.stringify(pathToFileURL(loaderPath).href)};
    console.log(JSON.stringify({ status: shmAddonStatus(), loaded: loadShmAddon() !== null }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, env: { ...process.env, ...env }, encoding: 'utf8',
  });
  assert.is(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

loader('CELL_SHM_ADDON=0 forces "absent" and says how to undo it', () => {
  const { status: s, loaded } = statusInChild({ CELL_SHM_ADDON: '0' });
  assert.is(s.available, false);
  assert.is(loaded, false);
  assert.is(s.path, null);
  assert.match(s.reason, 'CELL_SHM_ADDON=0');
  assert.match(s.reason, 'unset it');
});

loader('a missing addon file is "absent" with the build command and the compiler to install', () => {
  const missing = join(root, 'native/shm/build/does-not-exist.node');
  const { status: s, loaded } = statusInChild({ CELL_SHM_ADDON: missing });
  assert.is(s.available, false);
  assert.is(loaded, false);
  assert.is(s.path, missing);
  assert.match(s.reason, 'npm run build:native');
  assert.match(s.reason, 'apt-get install build-essential');
});

loader('finds native/shm/build/cell_shm.node by walking up to the package named "cell"', () => {
  if (process.env['CELL_SHM_ADDON'] !== undefined) return skipTest('CELL_SHM_ADDON is set');
  assert.is(status.path, join(root, 'native/shm/build/cell_shm.node'));
  assert.is(status.available, existsSync(join(root, 'native/shm/build/cell_shm.node')));
  if (status.available) assert.is(status.reason, `loaded ${status.path}`);
  else assert.match(status.reason, 'npm run build:native');
});

// ---------------------------------------------------------------------------------------------
const leftovers = suite('shm addon: clean-up');

leftovers('no /dev/shm/cell-* of this test file is left', () => {
  if (!hasDevShm) return skipTest('no /dev/shm on this system');
  const mine = readdirSync('/dev/shm').filter((f) => `/${f}`.startsWith(prefix));
  for (const f of mine) { try { unlinkSync(`/dev/shm/${f}`); } catch { /* counted below */ } }
  assert.equal(mine, [], 'segments left behind');
});

create.run();
open.run();
unlink.run();
unmap.run();
processes.run();
loader.run();
leftovers.run();
