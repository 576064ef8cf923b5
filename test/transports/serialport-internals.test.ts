// What src/transports/serialport-internals.ts relies on inside the installed serialport, checked
// against the real package in node_modules: when a serialport release changes any of it, this
// fails, naming what changed (the UART link would otherwise fall back to the slower stream API,
// or its lost-wake-up fix would silently stop applying). Then the feature check's fallback.
// Skips (with the reason) without serialport, or without socat for the open-port checks.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readSync, writeSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SerialPort as SerialPortClass } from 'serialport';
import { directPort, kickWritable, missingInternals, resetInternalsWarning, UV_READABLE, UV_WRITABLE } from '../../src/transports/serialport-internals.ts';
import { startPtyPair, ptyUnavailable, type PtyPair } from '../../hw-tests/lib/pty.ts';

const require = createRequire(import.meta.url);
const noSerialport = await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`);
const version = (pkg: string): string => {
  try { return (require(`${pkg}/package.json`) as { version: string }).version; } catch { return '?'; }
};

interface PollerLike {
  once(ev: string, fn: (err: Error | null) => void): unknown;
  poll(flags: number): void;
  listenerCount(ev: string): number;
  cellPatched?: boolean;
}
type PollerClass = new (fd: number, FDPoller?: unknown) => PollerLike;

const shape = suite(`serialport internals (serialport ${version('serialport')}, @serialport/bindings-cpp ${version('@serialport/bindings-cpp')})`);

if (noSerialport !== null) {
  shape.skip(`the installed serialport (${noSerialport})`, () => {});
} else {
  const pollerModule = (): { Poller: PollerClass; EVENTS: Record<string, number> } => {
    try {
      return require('@serialport/bindings-cpp/dist/poller.js') as never;
    } catch (e) {
      throw new Error(`@serialport/bindings-cpp/dist/poller.js is gone (${(e as Error).message}): serialport-internals.ts relies on its Poller`);
    }
  };

  shape("the Poller's event bits are the ones serialport-internals.ts uses", () => {
    const { EVENTS } = pollerModule();
    assert.is(EVENTS.UV_READABLE, UV_READABLE, 'EVENTS.UV_READABLE');
    assert.is(EVENTS.UV_WRITABLE, UV_WRITABLE, 'EVENTS.UV_WRITABLE');
  });

  shape("once('readable' | 'writable') goes through poll(flags) to the native poller; the fix adds the other waiter's event", () => {
    // The Poller takes its native class as a constructor argument: record what reaches it.
    const { Poller } = pollerModule();
    const native: number[] = [];
    class FakeNative {
      constructor(_fd: number, _cb: unknown) {}
      poll(flags: number): void { native.push(flags); }
      stop(): void {}
      destroy(): void {}
    }
    const poller = new Poller(99, FakeNative);
    for (const m of ['once', 'poll', 'listenerCount', 'removeListener'] as const) {
      assert.type((poller as unknown as Record<string, unknown>)[m], 'function', `Poller#${m}`);
    }
    const port = { isOpen: true, port: { fd: 99, isOpen: true, poller } } as unknown as SerialPortClass;
    assert.ok(directPort(port) !== null, 'a port of this shape gets direct I/O');
    assert.ok(poller.cellPatched, 'the Poller is patched');
    poller.once('writable', () => {});
    poller.once('readable', () => {});
    // Unpatched, the second request would ask for UV_READABLE alone and drop the pending write's wake-up.
    assert.equal(native, [UV_WRITABLE, UV_READABLE | UV_WRITABLE], 'flags that reach the native poller');
    assert.ok(kickWritable(port));
    assert.is(native[2], UV_READABLE | UV_WRITABLE, 'kickWritable asks for writable (readable still waited for)');
  });

  const missingPty = ptyUnavailable();
  if (missingPty !== null) {
    shape.skip(`an open port's binding (${missingPty})`, () => {});
  } else {
    let pty: PtyPair | null = null;
    const ports: SerialPortClass[] = [];
    shape.after(async () => {
      for (const p of ports) if (p.isOpen) await new Promise<void>((r) => p.close(() => r()));
      await pty?.close();
    });

    shape("an open port: fd (non-blocking), isOpen and the Poller are there, and a byte comes through the fd on the Poller's 'readable'", async () => {
      pty = await startPtyPair();
      const { SerialPort } = await import('serialport');
      const open = (path: string): Promise<SerialPortClass> => new Promise((res, rej) => {
        const p: SerialPortClass = new SerialPort({ path, baudRate: 115200 }, (e) => (e ? rej(e) : res(p)));
        ports.push(p);
      });
      const [a, b] = await Promise.all([open(pty.pathA), open(pty.pathB)]);
      assert.equal(missingInternals(a), [], 'what serialport-internals.ts relies on');
      const name = (a as unknown as { port: { constructor: { name: string } } }).port.constructor.name;
      if (process.platform === 'linux') assert.is(name, 'LinuxPortBinding');
      const d = directPort(a);
      assert.ok(d !== null, 'direct I/O on a real port');
      const fd = d.fd();
      assert.ok(fd >= 0, `fd ${fd}`);
      if (process.platform === 'linux') {
        // Direct reads and writes run on the main thread: a blocking fd would freeze the process.
        const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
        assert.ok(flags !== undefined && (parseInt(flags, 8) & 0o4000) !== 0, `O_NONBLOCK on the binding's fd (flags ${flags})`);
      }
      const got = await new Promise<number>((resolve, reject) => {
        d.once('readable', (err) => {
          if (err !== null) { reject(err); return; }
          const buf = Buffer.alloc(16);
          resolve(readSync(fd, buf, 0, 16, null) > 0 ? buf[0]! : -1);
        });
        const fdB = directPort(b)!.fd();
        writeSync(fdB, Buffer.from([0xa5]));
      });
      assert.is(got, 0xa5);
    });
  }
}

shape.run();

const fallback = suite('serialport internals: the feature check falls back');

fallback('no binding port (not open, Windows-like, mock): null, nothing said', () => {
  resetInternalsWarning();
  const said: string[] = [];
  const emit = process.emitWarning;
  process.emitWarning = ((w: string) => { said.push(String(w)); }) as typeof process.emitWarning;
  try {
    assert.is(directPort({ isOpen: true } as unknown as SerialPortClass), null);
    class MockPortBinding { isOpen = true; }
    assert.is(directPort({ isOpen: true, port: new MockPortBinding() } as unknown as SerialPortClass), null);
  } finally { process.emitWarning = emit; }
  assert.equal(said, []);
});

fallback('a unix binding without the shape: null, said once per process, naming what is missing', () => {
  resetInternalsWarning();
  const said: string[] = [];
  const emit = process.emitWarning;
  process.emitWarning = ((w: string) => { said.push(String(w)); }) as typeof process.emitWarning;
  try {
    class LinuxPortBinding { fd = 7; isOpen = true; }
    const port = { isOpen: true, port: new LinuxPortBinding() } as unknown as SerialPortClass;
    assert.equal(missingInternals(port), ['binding.poller']);
    assert.is(directPort(port), null);
    assert.is(directPort(port), null);
    assert.not.ok(kickWritable(port));
  } finally { process.emitWarning = emit; }
  if (process.platform === 'win32') return;
  assert.is(said.length, 1, 'said once');
  assert.match(said[0]!, /binding\.poller/);
  assert.match(said[0]!, /fall back/);
});

fallback.run();
