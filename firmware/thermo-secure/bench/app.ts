// Device cost of link security, measured on the device (docs/firmware.md §"Link security on the
// device"): the same code thermo-secure runs — framing, SecureDevice.receive and seal, with the
// AEAD of firmware/runtime/cell-aead.c behind env.aead_* (firmware/shared/device-aead.ts) —
// timed in a loop, for a frame with a 32-byte payload (52 bytes plain, 64 sealed). Not an app to
// ship: built on demand (`node scripts/build-firmware.mjs thermo-secure/bench --board mps2-an385`)
// and run under `qemu -icount shift=N` by test/firmware/thermo-secure-bench.test.ts, where virtual
// time counts guest instructions: ms × 10^6 / 2^N = instructions (SysTick, hence millis(), runs
// on the virtual clock; the 1 kHz SysTick interrupt adds ~0.02 %).
// At the first poll every measurement runs for at least BENCH_MS of virtual time and its result
// goes out on the UART as one text line `bench <name> <iterations> <ms>`, then `bench done`.
import { Deframer } from '../../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../../src/framing/frame.ts';
import { SecureDevice, writeSecOpHeader } from '../../../src/secure/device.ts';
import { SecureSession } from '../../../src/secure/session.ts';
import { REPLAY_STRICT } from '../../../src/secure/replay.ts';
import { writeProvision } from '../../../src/secure/provision.ts';
import { DeviceAead } from '../../shared/device-aead.ts';
import { Header, HEADER_BYTES, readHeader, writeHeader, KIND_REQUEST } from '../../../src/wire/header.ts';
import {
  LINK_OP_SEC_OPEN, SEC_DIR_DEVICE_TO_HOST, SEC_DIR_HOST_TO_DEVICE, SEC_OPEN_BYTES, SEC_OPEN_OFF_HOST_NONCE,
  SEC_OPEN_OFF_SUITE, SEC_SUITE_CHACHA20_POLY1305, SEC_TRAILER_BYTES,
} from '../../../src/wire/layouts.ts';

@external("env", "millis") declare function millis(): u32;
@external("env", "uart_write") declare function uart_write(ptr: usize, len: i32): void;

/** Virtual milliseconds per measurement (at least). */
const BENCH_MS: u32 = 200;
const PAYLOAD: i32 = 32;
const PLAIN: i32 = HEADER_BYTES + PAYLOAD; // 52
const SEALED: i32 = PLAIN + SEC_TRAILER_BYTES; // 64
const MAX_FRAME: i32 = 512;

const id = new Uint8Array(8);
const key = new Uint8Array(32);
for (let i = 0; i < 32; i++) key[i] = <u8>(i * 29 + 7);
for (let i = 0; i < 8; i++) id[i] = <u8>(0xc0 + i);
const rec = new Uint8Array(64);
writeProvision(id, key, rec, 0);

const dev = new SecureDevice(new DeviceAead()); // as firmware/shared/rpc-secure.ts: the board's AEAD (cell-aead.c)
dev.provision(rec, 0, 1);
const host = new SecureSession(SEC_DIR_HOST_TO_DEVICE, SEC_DIR_DEVICE_TO_HOST, REPLAY_STRICT);
const answer = new Uint8Array(128);
const open = new Uint8Array(HEADER_BYTES + SEC_OPEN_BYTES);
writeSecOpHeader(open, 0, LINK_OP_SEC_OPEN, 0, SEC_OPEN_BYTES);
open[HEADER_BYTES + SEC_OPEN_OFF_SUITE] = SEC_SUITE_CHACHA20_POLY1305;

// The plain frame (a REQUEST with 32 payload bytes) and the host's sealed copy of it.
const plain = new Uint8Array(PLAIN);
const hdr = new Header();
hdr.kind = KIND_REQUEST;
hdr.callId = 7;
hdr.keyLo = 0x12345678;
hdr.keyHi = 0x9abcdef0;
hdr.length = <u32>PAYLOAD;
writeHeader(hdr, plain, 0);
for (let i = 0; i < PAYLOAD; i++) plain[HEADER_BYTES + i] = <u8>(i * 7 + 1);
const sealed = new Uint8Array(SEALED);
const buf = new Uint8Array(MAX_FRAME + SEC_TRAILER_BYTES);
const plainWire = new Uint8Array(frameMaxEncodedBytes(PLAIN) + 2);
const sealedWire = new Uint8Array(frameMaxEncodedBytes(SEALED) + 2);
const tx = new Uint8Array(frameMaxEncodedBytes(MAX_FRAME + SEC_TRAILER_BYTES) + 1);
const df = new Deframer(MAX_FRAME + SEC_TRAILER_BYTES);
let plainWireLen = 0;
let sealedWireLen = 0;
let sink: i32 = 0;
let done = false;

/** An OPEN with host nonce `n` → ACCEPT: the device's session key for (n, boot 1, session). */
function openSession(n: u32): i32 {
  for (let i = 0; i < 8; i++) open[HEADER_BYTES + SEC_OPEN_OFF_HOST_NONCE + i] = <u8>((n >>> ((<u32>i & 3) * 8)) & 0xff);
  const r = dev.receive(open, 0, open.length, 0, answer, 0);
  host.start(key, 0, open, HEADER_BYTES + SEC_OPEN_OFF_HOST_NONCE, dev.bootCounter, dev.sessionNo);
  return r;
}

function copy(src: Uint8Array, n: i32): void {
  for (let i = 0; i < n; i++) buf[i] = src[i];
}

function line(name: string, iters: u32, ms: u32): void {
  const s = 'bench ' + name + ' ' + iters.toString() + ' ' + ms.toString() + '\n';
  const b = String.UTF8.encode(s);
  uart_write(changetype<usize>(b), b.byteLength);
}

// Each op: run batches of 16 until BENCH_MS have passed; `op` selects what one iteration does.
function measure(name: string, op: i32): void {
  let iters: u32 = 0;
  const t0 = millis();
  let t = t0;
  while (t - t0 < BENCH_MS) {
    for (let k = 0; k < 16; k++) sink += step(op, iters + <u32>k);
    iters += 16;
    t = millis();
  }
  line(name, iters, t - t0);
}

function step(op: i32, i: u32): i32 {
  if (op == 0) { // baseline of receive: its 64-byte copy
    copy(sealed, SEALED);
    return buf[5];
  }
  if (op == 9) { // baseline of seal: its 52-byte copy
    copy(plain, PLAIN);
    return buf[5];
  }
  if (op == 1) { // seal (device → host): the plain frame in, 12 bytes longer out
    copy(plain, PLAIN);
    return dev.seal(buf, 0, PLAIN);
  }
  if (op == 2) { // receive + unseal (host → device): the sealed frame in, the plain frame out
    copy(sealed, SEALED);
    dev.session.window.reset(); // the same counter every time: the replay window would refuse it
    return dev.receive(buf, 0, SEALED, 0, answer, 0);
  }
  if (op == 3) { // deframe the plain frame (COBS + CRC-32C)
    df.feed(plainWire, 0, plainWireLen);
    return df.next() + df.next();
  }
  if (op == 4) { // deframe the sealed frame
    df.feed(sealedWire, 0, sealedWireLen);
    return df.next() + df.next();
  }
  if (op == 5) { // frame the plain frame for the UART
    return frameEncode(plain, 0, PLAIN, tx, 1);
  }
  if (op == 6) { // frame the sealed frame
    return frameEncode(sealed, 0, SEALED, tx, 1);
  }
  if (op == 7) { // readHeader, as RpcCore.ingest and SecureRpcDevice.dispatch do
    return readHeader(plain, 0, PLAIN, <u32>(MAX_FRAME - HEADER_BYTES), hdr);
  }
  // op 8: OPEN → ACCEPT (HChaCha20 session key + the sealed ACCEPT), a new host nonce each time
  return openSession(i + 1000);
}

export function poll(): void {
  if (done) return;
  done = true;
  if (openSession(1) != 0) {
    line('error-open', 0, 0);
    return;
  }
  for (let i = 0; i < PLAIN; i++) sealed[i] = plain[i];
  if (host.seal(sealed, 0, PLAIN, true) != SEALED) {
    line('error-seal', 0, 0);
    return;
  }
  plainWire[0] = 0;
  plainWireLen = frameEncode(plain, 0, PLAIN, plainWire, 1) + 1;
  sealedWire[0] = 0;
  sealedWireLen = frameEncode(sealed, 0, SEALED, sealedWire, 1) + 1;
  // Sanity: the device opens the host's frame and gets the plain frame back.
  copy(sealed, SEALED);
  if (dev.receive(buf, 0, SEALED, 0, answer, 0) != PLAIN) {
    line('error-receive', 0, 0);
    return;
  }
  measure('baseline-copy64', 0);
  measure('baseline-copy52', 9);
  measure('seal', 1);
  measure('receive-unseal', 2);
  measure('deframe-plain', 3);
  measure('deframe-sealed', 4);
  measure('encode-plain', 5);
  measure('encode-sealed', 6);
  measure('read-header', 7);
  measure('open-accept', 8);
  line('done', <u32>sink & 1, 0);
}
