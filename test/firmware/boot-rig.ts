// Shared by the native bootloader suites under qemu (boot-qemu.test.ts: mps2-an385,
// boot-lm3s-qemu.test.ts: lm3s6965evb): the build through scripts/build-boot.mjs with the test
// publisher key trusted, signed slot images, and a rig over a running qemu — INFO, flashImage,
// a typed thermo call, raw boot-protocol sessions — that does not care which board it drives.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { flashImage, deviceInfo, buildManifest, signManifest, decodeDeviceInfo, type DeviceInfo, type FlashResult } from '../../src/flash/index.ts';
import type { BuildOptions } from '../../src/flash/manifest.ts';
import { BootClient } from '../../src/flash/client.ts';
import { OP_CHUNK, OP_ENTER_BOOT, OP_INFO } from '../../src/flash/boot-wire.ts';
import { crc32c } from '../../src/framing/crc32c.ts';
import { writeU32LE } from '../../src/wire/bytes.ts';
import { openUart, connectUart } from '../../src/uart/index.ts';
import { ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import type { Qemu } from '../../hw-tests/lib/qemu.ts';

export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The test publisher key; the bootloaders under test trust its public half. */
export const SECRET = sha256(new TextEncoder().encode('cell boot test key'));
export const PUB_HEX = Buffer.from(ed25519.getPublicKey(SECRET)).toString('hex');
export const sign = (img: Uint8Array, o: BuildOptions, key = SECRET): Uint8Array => signManifest(buildManifest(img, o), key);

export interface Footprint { flash: number; ram: number; text: number; data: number; bss: number; stack: number }
export interface Built {
  board: string; trustedKey: string | null; testImages: Record<'fault' | 'hang' | 'hang-nmi', string>; bootElf: string; slotBin: string;
  slotBinBytes: number; bootWasmBytes: number; boot: Footprint; app: Footprint; variants: Record<string, { elf: string; boot: Footprint }>;
}

/** Build `board`'s bootloader (trusting the test key) and its slot images; a skip reason when the toolchain is incomplete. */
export function buildBoot(board: string): Built | { skip: string } {
  const r = spawnSync(process.execPath, ['scripts/build-boot.mjs', '--json', '--board', board, '--trusted-key', PUB_HEX], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim();
    if (/toolchain incomplete/.test(msg)) return { skip: msg.replace(/^build-(boot|firmware): /, '') };
    throw new Error(`bootloader build failed:\n${msg}`);
  }
  return JSON.parse(r.stdout) as Built;
}

/** The slot image with a version stamp appended (other bytes per version; the app ignores it). */
export function image(base: Uint8Array, version: string): Uint8Array {
  const tag = new TextEncoder().encode(`cell-image ${version}\0`);
  const out = new Uint8Array(base.length + tag.length);
  out.set(base);
  out.set(tag, base.length);
  return out;
}

/** 0 when answered, else the ERROR code. */
export const codeOf = (p: Promise<unknown>): Promise<number> => p.then(() => 0, (e: { code?: number }) => e.code ?? -1);

/** CHUNK requests for all of `img` (1 KiB each, CRC-32C), answered one by one. */
export async function sendChunks(c: BootClient, img: Uint8Array): Promise<void> {
  for (let off = 0; off < img.length; off += 1024) {
    const n = Math.min(1024, img.length - off);
    const p = new Uint8Array(8 + n);
    writeU32LE(p, 0, off);
    writeU32LE(p, 4, crc32c(img, off, n));
    p.set(img.subarray(off, off + n), 8);
    await c.request(OP_CHUNK, p, 5000);
  }
}

/** A rig over the running qemu `q()` (its pty may change on restart). */
export function bootRig(q: () => Qemu) {
  let holder = -1;
  const port = (): string => q().ptyPath;
  // Generous deadlines: a loaded 2-vCPU machine; nothing here asserts on time.
  const flashOpts = { requestTimeoutMs: 3000, reconnectMs: 20_000 };
  const info = (): Promise<DeviceInfo> => deviceInfo({ port: port(), timeoutMs: 2000 });
  return {
    port, flashOpts, info,
    /** Hold the pty open for the whole run (never read): qemu's pty chardev then never sees its
     *  peer go away when flashImage and the clients open and close the port, so no byte waits
     *  for the chardev's 1 s reconnect poll. Again after every restart. */
    hold(): void {
      if (holder >= 0) closeSync(holder);
      holder = openSync(port(), constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    },
    release(): void {
      if (holder >= 0) closeSync(holder);
      holder = -1;
    },
    async flash(img: { image: Uint8Array; manifest: Uint8Array }, v: string, confirm = true): Promise<FlashResult> {
      const states: string[] = [];
      try {
        const r = await flashImage({ port: port(), ...img, confirm, ...flashOpts, onEvent: (e) => { if (e.type === 'state') states.push(e.state); } });
        console.log(`  flash ${v}: slot ${r.slot}, ${r.imageBytes} B, transfer ${r.transferMs.toFixed(0)} ms, INFO → done ${r.totalMs.toFixed(0)} ms, ${r.retransmits} retransmits (${states.join(' → ')})`);
        return r;
      } catch (e) {
        throw new Error(`flash ${v} failed after states [${states.join(', ')}]: ${String(e)}\n${q().log}`);
      }
    },
    /** A typed call to the running thermo app answers. */
    async typedCall(): Promise<void> {
      const dev = await connectUart(ThermoDef, { path: port(), maxFrameBytes: THERMO_MAX_FRAME_BYTES, deadlineMs: 10_000, openTimeoutMs: 10_000, helloRetryMs: 1500 });
      try {
        const r = await dev.read({ channel: 2 });
        assert.is(r.channel, 2);
        assert.ok(r.seq >= 1);
      } finally {
        await dev.close();
      }
    },
    async waitFor(what: string, pred: (d: DeviceInfo) => boolean): Promise<DeviceInfo> {
      let last: unknown = null;
      for (let i = 0; i < 40; i++) {
        try {
          const d = await info();
          if (pred(d)) return d;
          last = d;
        } catch (e) { last = e; }
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last, null, 1) ?? String(last)}`);
    },
    /** A raw boot-protocol client on the pty. */
    async raw<T>(f: (c: BootClient) => Promise<T>): Promise<T> {
      const c = new BootClient(await openUart({ path: port() }));
      try { return await f(c); } finally { await c.close(); }
    },
    /** INFO; from an app, ENTER_BOOT and wait for the bootloader. */
    async enterBoot(c: BootClient): Promise<DeviceInfo> {
      let d = decodeDeviceInfo(await c.request(OP_INFO, null, 3000));
      if (d.mode === 'app') {
        await c.request(OP_ENTER_BOOT, null, 3000);
        for (let i = 0; i < 60; i++) {
          await new Promise((r) => setTimeout(r, 200));
          try { d = decodeDeviceInfo(await c.request(OP_INFO, null, 1000)); } catch { continue; }
          if (d.mode === 'bootloader') break;
        }
      }
      assert.is(d.mode, 'bootloader');
      return d;
    },
  };
}
