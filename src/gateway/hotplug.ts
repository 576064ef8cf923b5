// Hot-plug for the gateway (docs/gateway.md §8 "Hot-plug"): devices given by a glob over a
// directory of device nodes (`/dev/ttyUSB*`) or by USB serial number are opened when they appear
// and dropped when they disappear, without a restart.
//
// A DeviceWatcher watches each directory with fs.watch (prompt, but unreliable on /dev in
// containers and silent for directories that do not exist yet, such as /dev/serial/by-id before
// the first USB serial device) and also reads it every `pollMs` (the fallback; one readdir and a
// stat per matching name). Serial numbers come from SerialPort.list(), which on Linux runs
// `udevadm info -e`: it is called only when the names in `devDir` changed, never per poll.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { UartPortInfo } from '../transports/uart.ts';
import type { DeviceUpstreamOptions } from './device.ts';

/** A device spec that matches any number of device nodes: every node matching `glob` is a device. */
export interface GlobDeviceSpec extends Omit<DeviceUpstreamOptions, 'path' | 'serialNumber'> {
  /**
   * Device nodes to use, `*` and `?` in the last path segment only (`/dev/ttyUSB*`,
   * `/dev/serial/by-id/usb-FTDI_*`). Each match is opened, probed and announced when it appears,
   * and withdrawn when it disappears.
   */
  glob: string;
  path?: undefined;
  serialNumber?: undefined;
}

/** What `startGateway({ devices })` takes: a fixed path, a USB serial number, or a glob. */
export type GatewayDeviceSpec = DeviceUpstreamOptions | GlobDeviceSpec;

export interface HotplugOptions {
  /** Read the watched directories this often (fs.watch is the fast path; this the fallback). @default 1000 */
  pollMs?: number;
  /** Where device nodes of devices given by serial number appear. @default '/dev' */
  devDir?: string;
  /** Wait this long after a watch event before reading the directory (udev makes a node, then links). @default 50 */
  settleMs?: number;
  /** Hot-plugged devices open at once; more matches are reported (`error` event) and left alone. @default 64 */
  maxDevices?: number;
}

export interface DeviceGlob {
  readonly glob: string;
  readonly dir: string;
  readonly pattern: string;
  readonly re: RegExp;
}

/** Split and check a device glob. Throws TypeError (with the fix) for globs it cannot watch. */
export function parseDeviceGlob(glob: string): DeviceGlob {
  if (typeof glob !== 'string' || glob === '') throw new TypeError('device glob: give a path pattern such as /dev/ttyUSB*');
  const cut = glob.lastIndexOf('/');
  const dir = cut < 0 ? '.' : cut === 0 ? '/' : glob.slice(0, cut);
  const pattern = glob.slice(cut + 1);
  if (/[*?[\]{}]/.test(dir)) throw new TypeError(`device glob "${glob}": wildcards only in the last path segment (the directory is watched), e.g. /dev/ttyUSB* or /dev/serial/by-id/usb-FTDI_*`);
  if (pattern === '') throw new TypeError(`device glob "${glob}" ends with "/": give a name pattern, e.g. ${glob}ttyUSB*`);
  if (/[[\]{}]/.test(pattern)) throw new TypeError(`device glob "${glob}": only * and ? are supported (no [...] or {...}); use one glob per pattern`);
  const re = new RegExp(`^${pattern.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return { glob, dir, pattern, re };
}

/** One hot-plug spec as the watcher sees it (index: its place in the gateway's device list). */
export interface WatchedSpec {
  readonly index: number;
  readonly glob?: DeviceGlob;
  readonly serialNumber?: string;
  readonly list?: () => Promise<UartPortInfo[]>;
}

export interface DeviceWatcherEvents {
  /** A device node for spec `index` appeared at `path`. */
  added(index: number, path: string): void;
  /** The node at `path` is gone (or no longer the spec's device). */
  removed(index: number, path: string): void;
  /** Something the operator should know (too many devices, serialport missing). */
  notice(path: string, message: string): void;
}

let serialList: Promise<() => Promise<UartPortInfo[]>> | null = null;
/** SerialPort.list, loading serialport (an optional dependency) on first use. */
function defaultList(): Promise<UartPortInfo[]> {
  serialList ??= import('serialport').then(
    (m) => () => m.SerialPort.list(),
    (e: Error) => { serialList = null; throw new TypeError(`devices by serial number need the optional dependency "serialport" (npm i serialport): ${e.message}`); },
  );
  return serialList.then((list) => list());
}

/**
 * Watches directories for the device nodes of hot-plug specs and reports each appearing and
 * disappearing node once. One scan at a time; events during a scan cause one more scan after it.
 */
export class DeviceWatcher {
  /** path → spec index of the nodes present now. */
  readonly present = new Map<string, number>();
  /** Resolves after the first scan (the devices present at start have been reported). */
  readonly ready: Promise<void>;
  private readonly dirs: string[];
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly pollMs: number;
  private readonly settleMs: number;
  private readonly maxDevices: number;
  private readonly devDir: string;
  private readonly serialSpecs: WatchedSpec[];
  private readonly globSpecs: WatchedSpec[];
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private settleTimer: ReturnType<typeof setTimeout> | null = null;
  private scanning: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** Names in devDir at the last SerialPort.list(), and what it found (spec index → path). */
  private devNames: string | null = null;
  private serialFound = new Map<number, string>();
  private readonly noticed = new Set<string>();

  constructor(specs: readonly WatchedSpec[], private readonly on: DeviceWatcherEvents, private readonly reserved: ReadonlySet<string>, opts: HotplugOptions = {}) {
    this.pollMs = Math.max(50, opts.pollMs ?? 1000);
    this.settleMs = opts.settleMs ?? 50;
    this.maxDevices = opts.maxDevices ?? 64;
    this.devDir = opts.devDir ?? '/dev';
    this.globSpecs = specs.filter((s) => s.glob !== undefined);
    this.serialSpecs = specs.filter((s) => s.serialNumber !== undefined);
    const dirs = new Set(this.globSpecs.map((s) => s.glob!.dir));
    if (this.serialSpecs.length > 0) dirs.add(this.devDir);
    this.dirs = [...dirs];
    if (this.dirs.length === 0) { this.ready = Promise.resolve(); return; }
    this.pollTimer = setInterval(() => { this.watchDirs(); void this.scan(); }, this.pollMs);
    this.pollTimer.unref?.();
    this.watchDirs();
    this.ready = this.scan();
  }

  /** Read the directories now (resolves when that scan, or the one running, is done). */
  scan(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.scanning !== null) { this.again = true; return this.scanning; }
    this.scanning = (async () => {
      do {
        this.again = false;
        try { await this.scanOnce(); } catch (e) { this.notice(this.dirs.join(', '), `scan failed: ${(e as Error).message}`); }
      } while (this.again && !this.closed);
      this.scanning = null;
    })();
    return this.scanning;
  }

  /**
   * The gateway dropped the device at `path` on its own (its port closed and the node was gone):
   * forget it without a `removed`, and scan, so that a node back before the next scan is `added`.
   */
  forget(path: string): void {
    if (this.present.delete(path)) void this.scan();
  }

  /** Scan now and ask SerialPort.list() again (a device was lost: it may be another one now). */
  relist(): Promise<void> {
    this.devNames = null;
    return this.scan();
  }

  close(): void {
    this.closed = true;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** fs.watch each directory not watched yet (it may not exist yet, or the watch may have failed). */
  private watchDirs(): void {
    for (const dir of this.dirs) {
      if (this.watchers.has(dir) || this.closed) continue;
      let w: FSWatcher;
      try {
        w = watch(dir, { persistent: false }, () => this.settle());
      } catch {
        continue; // not there (yet), or not watchable: the poll covers it
      }
      w.on('error', () => { w.close(); if (this.watchers.get(dir) === w) this.watchers.delete(dir); this.settle(); });
      this.watchers.set(dir, w);
    }
  }

  private settle(): void {
    if (this.closed || this.settleTimer !== null) return;
    this.settleTimer = setTimeout(() => { this.settleTimer = null; void this.scan(); }, this.settleMs);
    this.settleTimer.unref?.();
  }

  private notice(path: string, message: string): void {
    const k = `${path}\0${message}`;
    if (this.noticed.has(k)) return;
    if (this.noticed.size >= 256) this.noticed.clear();
    this.noticed.add(k);
    try { this.on.notice(path, message); } catch { /* listener's bug */ }
  }

  private async scanOnce(): Promise<void> {
    const want = new Map<string, number>();
    const claim = (path: string, index: number): void => {
      if (this.reserved.has(path) || want.has(path)) return;
      want.set(path, index);
    };
    const names = new Map<string, string[]>();
    for (const dir of this.dirs) names.set(dir, await readdir(dir).catch(() => [] as string[]));
    for (const s of this.globSpecs) {
      const g = s.glob!;
      for (const name of names.get(g.dir)!.filter((n) => g.re.test(n) && (!n.startsWith('.') || g.pattern.startsWith('.'))).sort()) {
        const path = g.dir === '.' ? name : join(g.dir, name);
        if (await isNode(path)) claim(path, s.index);
      }
    }
    if (this.serialSpecs.length > 0) {
      const sig = names.get(this.devDir)!.slice().sort().join('\n');
      if (sig !== this.devNames) {
        this.devNames = sig;
        this.serialFound = await this.listSerials();
      }
      for (const [index, path] of this.serialFound) if (await isNode(path)) claim(path, index);
    }
    if (this.closed) return;
    for (const [path, index] of [...this.present]) {
      if (want.get(path) !== index) { this.present.delete(path); this.on.removed(index, path); }
    }
    for (const [path, index] of want) {
      if (this.present.has(path)) continue;
      if (this.present.size >= this.maxDevices) { this.notice(path, `more than ${this.maxDevices} hot-plugged devices: ${path} is left alone (raise hotplug.maxDevices, or narrow the glob)`); continue; }
      this.present.set(path, index);
      this.on.added(index, path);
    }
  }

  private async listSerials(): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    const byList = new Map<() => Promise<UartPortInfo[]>, UartPortInfo[] | null>();
    for (const s of this.serialSpecs) {
      const list = s.list ?? defaultList;
      if (!byList.has(list)) {
        try { byList.set(list, await list()); } catch (e) {
          byList.set(list, null);
          this.notice(`serial number ${s.serialNumber}`, (e as Error).message);
        }
      }
      const want = s.serialNumber!.toLowerCase();
      const hit = byList.get(list)?.find((p) => p.serialNumber !== undefined && p.serialNumber.toLowerCase() === want);
      if (hit !== undefined) found.set(s.index, hit.path);
    }
    return found;
  }
}

/** The path exists (links followed: a dangling link is a device that is gone) and is not a directory. */
async function isNode(path: string): Promise<boolean> {
  try { return !(await stat(path)).isDirectory(); } catch { return false; }
}
