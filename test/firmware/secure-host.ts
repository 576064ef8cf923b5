// The host's end of a secured thermo device (firmware/thermo-secure) for the device tests: the
// provisioning record, a SecureLink (role 'host', src/transports/secure-link.ts) over a StreamLink
// on the serial port, wrapped in a TapLink so a test can send raw (sealed) requests and read the
// ops counters, and a plaintext probe that looks at what the device answers unsealed frames with.
// Used by test/firmware/thermo-secure-sim.test.ts and thermo-secure-qemu.test.ts.
import type { SerialPort as SerialPortType } from 'serialport';
import { StreamLink } from '../../src/transports/stream.ts';
import { SecureLink, type SecureEvent } from '../../src/transports/secure-link.ts';
import { KeyRing } from '../../src/transports/secure-keys.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import { secOpOf } from '../../src/secure/device.ts';
import { readU32LE } from '../../src/wire/bytes.ts';
import { Header, readHeader, KIND_REQUEST, CHANNEL_OPS, CHANNEL_BOOT, HEADER_BYTES, FLAG_AUTH } from '../../src/wire/header.ts';
import { BOOT_KEY_HI, OP_ENTER_BOOT, OP_RESET } from '../../src/flash/boot-wire.ts';
import { LINK_OP_SEC_REQUEST, SEC_PROVISION_BYTES, SEC_TRAILER_BYTES } from '../../src/wire/layouts.ts';
import { ThermoDef, ReadReq, Reading, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import { TapLink, RPC_COUNTERS } from '../../hw-tests/lib/tap-link.ts';
import { rawFrame } from '../../hw-tests/lib/echo-client.ts';

/** The security counters after the 23 of a plain device (firmware/shared/rpc-core.ts C_SEC_*). */
export const SEC_COUNTERS = [
  'sessions', 'badTags', 'replays', 'plaintextRefused', 'noSession', 'lockouts', 'badLength', 'bootCounter',
] as const;
export type SecCounters = Record<(typeof RPC_COUNTERS)[number] | (typeof SEC_COUNTERS)[number], number>;

export const DEVICE_ID = Uint8Array.from([0xce, 0x11, 0x5e, 0xc0, 0x00, 0x00, 0x00, 0x01]);
export const DEVICE_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 7) & 0xff);
export const DEVICE_ID_HEX = Buffer.from(DEVICE_ID).toString('hex');

/** The 64-byte provisioning record of DEVICE_ID / DEVICE_KEY ("flashed" into the key page). */
export function provisioningRecord(id = DEVICE_ID, key = DEVICE_KEY): Uint8Array {
  const rec = new Uint8Array(SEC_PROVISION_BYTES);
  if (writeProvision(id, key, rec, 0) !== SEC_PROVISION_BYTES) throw new Error('writeProvision failed');
  return rec;
}

const keyOf = (name: string): bigint => ThermoDef.entries.find((e) => e.name === name)!.key;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A session opened, as the host saw it. */
export interface Opened { bootCounter: number; session: number; rekey: boolean; at: number }

/**
 * The host of one port: StreamLink (MTU = the device's plain maximum + the 12-byte trailer) →
 * SecureLink (host) → TapLink. `start()` for raw use; or hand `link` to connect().
 */
export class SecureHost {
  /** The plain link under the SecureLink (for plaintext injected on the same line). */
  readonly stream: StreamLink;
  readonly secure: SecureLink;
  readonly tap: TapLink;
  readonly opened: Opened[] = [];
  readonly events: SecureEvent[] = [];

  constructor(port: SerialPortType, key: Uint8Array = DEVICE_KEY, deadlineMs = 5000) {
    const keys = new KeyRing().add({ kind: 'device', deviceId: DEVICE_ID, key });
    const stream = new StreamLink(port, { mtu: THERMO_MAX_FRAME_BYTES + SEC_TRAILER_BYTES });
    this.stream = stream;
    this.secure = new SecureLink(stream, {
      role: 'host', keys, deviceId: DEVICE_ID_HEX,
      onEvent: (e) => {
        this.events.push(e);
        if (e.type === 'open') this.opened.push({ bootCounter: e.bootCounter, session: e.session, rekey: e.rekey, at: Date.now() });
      },
    });
    this.tap = new TapLink(this.secure, deadlineMs);
  }

  /** Start the link with no RPC connection on top (raw calls through `tap`). */
  start(): void {
    this.tap.start({ onFrame: () => {}, onClose: () => {} });
  }

  /** Wait until more than `n` sessions opened; the newest. */
  async waitOpened(n: number, timeoutMs = 5000): Promise<Opened> {
    const end = Date.now() + timeoutMs;
    while (this.opened.length <= n) {
      if (Date.now() > end) throw new Error(`no session opened within ${timeoutMs} ms (events: ${JSON.stringify(this.events.map((e) => e.type))})`);
      await sleep(2);
    }
    return this.opened[this.opened.length - 1]!;
  }

  /** read({channel}) as a raw sealed REQUEST. */
  async read(channel: number): Promise<{ channel: number; celsius: number; seq: number }> {
    const k = keyOf('read');
    const payload = new Uint8Array(ReadReq.maxSize);
    const n = ReadReq.encode({ channel }, payload, 0);
    const f = await this.tap.call({ kind: KIND_REQUEST, channel: 0, keyLo: Number(k & 0xffffffffn), keyHi: Number(k >> 32n) }, payload.subarray(0, n));
    if (f.kind !== 3) throw new Error(`read: answer kind ${f.kind}`);
    return Reading.decode(f.payload, 0) as { channel: number; celsius: number; seq: number };
  }

  /** The device's ops counters (REQUEST on channel 2), the 23 plain ones and the security ones. */
  async counters(): Promise<SecCounters> {
    const f = await this.tap.call({ kind: KIND_REQUEST, channel: CHANNEL_OPS });
    const c = {} as Record<string, number>;
    [...RPC_COUNTERS, ...SEC_COUNTERS].forEach((name, i) => { c[name] = i * 4 + 4 <= f.payload.length ? readU32LE(f.payload, i * 4) : NaN; });
    return c as SecCounters;
  }

  /**
   * Send a plaintext read REQUEST on the line, under the SecureLink (as an attacker or an old host
   * would). A secured device answers it with nothing but a REQUEST, which this host takes as "open
   * a session" (a 'request' event, then a new session of the same boot).
   */
  injectPlaintextRead(callId = 0x6f000001): void {
    const k = keyOf('read');
    const payload = new Uint8Array(ReadReq.maxSize);
    const n = ReadReq.encode({ channel: 0 }, payload, 0);
    const raw = rawFrame({ kind: KIND_REQUEST, callId, channel: 0, keyLo: Number(k & 0xffffffffn), keyHi: Number(k >> 32n) }, payload.subarray(0, n));
    this.stream.send(raw, raw.length);
  }

  close(): void {
    this.tap.close();
  }
}

/** What a plain (unsecured) host sees after sending a plaintext frame: every frame the device sent meanwhile. */
export interface Seen { kind: number; channel: number; callId: number; flags: number; secOp: number; length: number }

/** Send `frames` in plaintext on the port, `gapMs` apart, and collect what the device answers. */
async function probe(port: SerialPortType, frames: Uint8Array[], gapMs: number): Promise<Seen[]> {
  const link = new StreamLink(port, { mtu: THERMO_MAX_FRAME_BYTES + SEC_TRAILER_BYTES });
  const seen: Seen[] = [];
  const h = new Header();
  link.start({
    onFrame: (buf, off, len) => {
      if (readHeader(buf, off, len, len, h) < 0) return;
      seen.push({ kind: h.kind, channel: h.channel, callId: h.callId, flags: h.flags, secOp: secOpOf(buf, off, len), length: len });
    },
    onClose: () => {},
  });
  for (const f of frames) {
    link.send(f, f.length);
    await sleep(gapMs);
  }
  link.close();
  return seen;
}

/** A plaintext `read` request, as a host without the key sends it; what the device answers. */
export async function plaintextProbe(port: SerialPortType, waitMs = 400): Promise<Seen[]> {
  const k = keyOf('read');
  const payload = new Uint8Array(ReadReq.maxSize);
  const n = ReadReq.encode({ channel: 0 }, payload, 0);
  return probe(port, [rawFrame({ kind: KIND_REQUEST, callId: 77, channel: 0, keyLo: Number(k & 0xffffffffn), keyHi: Number(k >> 32n) }, payload.subarray(0, n))], waitMs);
}

/**
 * Plaintext boot commands (ENTER_BOOT, RESET: channel 3, the boot protocol's constant keys,
 * docs/flash.md §1) as an attacker on the wire sends them; what the device answers.
 */
export async function plaintextBootProbe(port: SerialPortType, waitMs = 400): Promise<Seen[]> {
  const frames = [OP_ENTER_BOOT, OP_RESET].map((op, i) => rawFrame({ kind: KIND_REQUEST, callId: 90 + i, channel: CHANNEL_BOOT, keyLo: op, keyHi: BOOT_KEY_HI }, new Uint8Array(0)));
  return probe(port, frames, waitMs / 2);
}

/** A frame the device sent is a REQUEST (plaintext, link channel). */
export const isRequest = (s: Seen): boolean => s.secOp === LINK_OP_SEC_REQUEST && (s.flags & FLAG_AUTH) === 0 && s.length === HEADER_BYTES + 10;

