// The firmware simulator on a CAN bus, in the calling process: a CAN firmware's wasm
// (build/firmware/thermo-can.wasm — the module wasm2c turns into the Cortex-M image) instantiated
// here, its `env.can_*` imports (firmware/shared/rpc-can.ts) connected to any CanDriver
// (src/transports/can/driver.ts): the memory bus of the unit tests, SocketCAN on a vcan/can
// interface (hw-tests/lib/sim-can-device.mjs is the command-line form, one process per device),
// an slcan adapter.
//
//   const wire = new MemoryCanBus({ fd: false });
//   const dev = startCanSim({ wasm: 'build/firmware/thermo-can.wasm', node: 10, driver: wire.attach('dev10') });
//   dev.reset();               // the reset button: a new instance (fresh memory, boot HELLO again)
//   dev.reset({ offMs: 300 }); // held in reset for 300 ms: frames on the bus meanwhile are lost to it
//   dev.stop();                // power off: no more polls, the driver closed
//
// The board, as the firmware sees it:
//   can_read(meta, data, max)  the oldest received frame of the controller's receive queue (FIFO,
//                              `rxQueueFrames` deep: a frame arriving at a full queue is lost and
//                              counted, as a controller overruns), its id/flags at meta, data
//                              at data; -1 when empty
//   can_write(id, flags, p, n) driver.send (the driver queues, never drops while open); -1 once
//                              the driver is closed
//   can_node()                 `node`;   can_fd(): `fd` (default: driver.fd)
//   millis()                   ms since this instance booted (u32)
//   reset()                    a new instance (as the reset button)
// The acceptance filter a board would set (dst = node or 127) is given to the driver
// (setFilters), and the firmware checks it again. poll() runs when frames arrive (batched in one
// setImmediate) and every `tickMs` (the app's timers: stream pacing). A trap is a panic, as on
// the board: logged, then a reset.
import { readFileSync } from 'node:fs';
import { CAN_NODE_BROADCAST } from '../../src/wire/layouts.ts';
import type { CanDriver } from '../../src/transports/can/driver.ts';

// The WebAssembly global, typed here: tsconfig's lib (ES2022, no DOM) does not declare it.
interface WasmInstance { exports: { memory: { buffer: ArrayBuffer }; poll: () => void } }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => WasmInstance;
  RuntimeError: new (msg?: string) => Error;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface CanSimOptions {
  /** The firmware: a .wasm path, its bytes, or a compiled WebAssembly.Module (shared by several devices). */
  wasm: string | Uint8Array | object;
  /** The board's node id (env.can_node), 0–126. */
  node: number;
  /** The board's CAN controller. Started here; closed by stop(). */
  driver: CanDriver;
  /** The board sends CAN FD frames (env.can_fd). @default driver.fd */
  fd?: boolean;
  /** Frames the controller's receive queue holds (a full queue loses frames, counted). @default 64 */
  rxQueueFrames?: number;
  /** poll() at least this often (ms): stream pacing. @default 1 */
  tickMs?: number;
  /** Set the driver's filters to this node and broadcast, as a board's acceptance filter. @default true */
  filter?: boolean;
}

export interface CanSimStats {
  /** Frames the controller received (after the driver's filters). */
  framesIn: number;
  /** Frames the firmware wrote. */
  framesOut: number;
  /** Frames lost: the receive queue was full, or the device was held in reset. */
  rxLost: number;
  /** Instances started (1 + resets + panics). */
  boots: number;
  panics: number;
}

export interface CanSim {
  readonly node: number;
  readonly fd: boolean;
  readonly driver: CanDriver;
  readonly stats: CanSimStats;
  /** Panics and resets, one line each, for failure messages. */
  readonly log: string;
  /** The device runs (not stopped, not held in reset). */
  readonly running: boolean;
  /** The instance's linear memory (for inspection: it changes at every reset). */
  readonly memory: ArrayBuffer;
  /** The reset button: a new instance at once, or after being held in reset for `offMs`. Resolves once it runs. */
  reset(opts?: { offMs?: number }): Promise<void>;
  /** Power off: polling stops, the driver is closed. Idempotent. */
  stop(): void;
}

class ResetRequest extends Error {}

/** Start a simulated CAN device on `opts.driver`; it boots at once (its HELLO goes out at the first poll). */
export function startCanSim(opts: CanSimOptions): CanSim {
  const { node, driver } = opts;
  if (!Number.isInteger(node) || node < 0 || node >= CAN_NODE_BROADCAST) throw new RangeError(`CAN node id must be 0–126, got ${node}`);
  const fd = opts.fd ?? driver.fd;
  const module = typeof opts.wasm === 'string' ? new Wasm.Module(readFileSync(opts.wasm))
    : opts.wasm instanceof Uint8Array ? new Wasm.Module(opts.wasm) : opts.wasm;
  const rxMax = opts.rxQueueFrames ?? 64;
  const tickMs = opts.tickMs ?? 1;
  // The receive queue: fixed slots (id, flags, len, 64 data bytes), a ring.
  const qId = new Uint32Array(rxMax);
  const qFlags = new Uint32Array(rxMax);
  const qLen = new Int32Array(rxMax);
  const qData = new Uint8Array(rxMax * 64);
  let qHead = 0;
  let qCount = 0;
  const stats: CanSimStats = { framesIn: 0, framesOut: 0, rxLost: 0, boots: 0, panics: 0 };
  let log = '';
  let instance: WasmInstance | null = null;
  /** The instance's memory now (a memory.grow would detach an old ArrayBuffer). */
  const buf = (): ArrayBuffer => (instance !== null ? instance.exports.memory.buffer : new ArrayBuffer(0));
  let t0 = 0;
  let stopped = false;
  let held = false;
  let running = false;
  let scheduled = false;

  const env = {
    can_read(meta: number, data: number, max: number): number {
      if (qCount === 0) return -1;
      const i = qHead;
      qHead = (qHead + 1) % rxMax;
      qCount--;
      const len = Math.min(qLen[i]!, max);
      const mem = buf();
      const m = new DataView(mem);
      m.setUint32(meta >>> 0, qId[i]!, true);
      m.setUint32((meta >>> 0) + 4, qFlags[i]!, true);
      new Uint8Array(mem, data >>> 0, len).set(qData.subarray(i * 64, i * 64 + len));
      return len;
    },
    can_write(id: number, flags: number, ptr: number, len: number): number {
      if (driver.closed) return -1;
      stats.framesOut++;
      driver.send(id >>> 0, flags >>> 0, new Uint8Array(buf()), ptr >>> 0, len); // false: queued over the high-water mark, not lost
      return 0;
    },
    can_node: (): number => node,
    can_fd: (): number => (fd ? 1 : 0),
    millis: (): number => (Math.floor(performance.now() - t0) >>> 0) | 0,
    reset(): void { throw new ResetRequest('reset'); },
  };

  function boot(): void {
    t0 = performance.now();
    qHead = 0;
    qCount = 0; // a reset clears the controller
    instance = null;
    const inst = new Wasm.Instance(module, { env });
    instance = inst;
    stats.boots++;
  }

  function panic(reason: string): void {
    stats.panics++;
    log += `!panic ${reason}\n`;
    boot();
  }

  function run(): void {
    scheduled = false;
    if (running || instance === null || stopped || held) return;
    running = true;
    try {
      let spins = 0;
      do instance.exports.poll(); while (qCount > 0 && ++spins < 10_000);
    } catch (e) {
      if (e instanceof ResetRequest) { log += 'reset (firmware)\n'; boot(); }
      else panic(e instanceof Wasm.RuntimeError ? `trap ${(e as Error).message}` : String(e));
    } finally {
      running = false;
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(run);
  }

  boot();
  if (opts.filter ?? true) {
    driver.setFilters?.([
      { id: node << 7, mask: 0x7f << 7 },
      { id: CAN_NODE_BROADCAST << 7, mask: 0x7f << 7 },
    ]);
  }
  driver.start({
    onFrame(id, flags, data, off, len) {
      if (stopped) return;
      stats.framesIn++;
      if (held || qCount >= rxMax || len > 64) { stats.rxLost++; return; }
      const i = (qHead + qCount) % rxMax;
      qId[i] = id >>> 0;
      qFlags[i] = flags >>> 0;
      qLen[i] = len;
      qData.set(data.subarray(off, off + len), i * 64);
      qCount++;
      schedule();
    },
    onClose() { stopped = true; clearInterval(timer); },
  });
  const timer = setInterval(run, tickMs);
  schedule();

  return {
    node,
    fd,
    driver,
    stats,
    get log() { return log; },
    get running() { return !stopped && !held; },
    get memory() { return buf(); },
    async reset(o?: { offMs?: number }): Promise<void> {
      if (stopped) throw new Error('startCanSim: reset after stop');
      log += 'reset (button)\n';
      if ((o?.offMs ?? 0) > 0) {
        held = true;
        qCount = 0;
        await new Promise((res) => setTimeout(res, o!.offMs));
        held = false;
      }
      while (running) await new Promise((res) => setImmediate(res));
      if (stopped) return;
      try { boot(); } catch (e) { panic(String(e)); }
      schedule();
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      driver.close();
    },
  };
}
