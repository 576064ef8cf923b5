// The device's RPC pump with link security (docs/firmware.md §"Link security on the device";
// docs/security.md): RpcDevice (firmware/shared/rpc.ts) with src/secure/device.ts's SecureDevice
// between the deframer and RpcCore, and between RpcCore and the UART. AssemblyScript only. A
// separate file so that plain apps never import src/secure (asc compiles every imported module's
// globals into the image).
//
//   const RPC = new SecureRpcDevice(HELLO, HELLO_LEN, MAX_FRAME_BYTES);  // top level, as RpcDevice
//
// At the first poll the device reads the board's provisioning record (env.sec_record) and, when it
// verifies, takes the next boot counter (firmware/shared/boot-counter.ts over env.sec_flash_*,
// persisted before it is used). From then on:
//  - it sends REQUEST instead of the plaintext HELLO, and answers nothing in plaintext: every frame
//    that deframes goes through SecureDevice.receive (OPEN → ACCEPT; sealed → opened and handed to
//    RpcCore.ingest; plaintext → refused, counted, REQUEST at most every 200 ms);
//  - after each new session it sends its HELLO, sealed (the host starts its RPC session over);
//  - every answer frame is sealed in place (`out` has 12 bytes of room after maxFrameBytes); a
//    frame that cannot be sealed (no session) is not sent, and a running stream ends.
// Without a valid record (blank key page, no record on this board) it is a plain device, exactly
// like RpcDevice (it reports the security counters, all 0).
// A record but no boot counter (the counter pages cannot be written): REQUEST at boot, every OPEN
// refused — no session opens with a counter that might repeat; C_SEC_BOOT_COUNTER = 0xFFFFFFFF.
//
// Board imports (firmware/runtime/sec-store.c; hw-tests/lib/sim-device.mjs):
//   env.sec_record(ptr): i32                 the 64-byte provisioning record → ptr; 64, or 0: none
//   env.sec_flash_page_bytes(): i32          page size of the boot counter's two pages (0: none)
//   env.sec_flash_read(addr, ptr, len): i32  \
//   env.sec_flash_erase(page): i32            } the two pages (addr from 0): 0, or -708 (out of range)
//   env.sec_flash_write(addr, ptr, len): i32 /  write = NOR programming (bits only cleared)
//   env.aead_seal, env.aead_open, env.hchacha20  the AEAD (firmware/shared/device-aead.ts)
import { RpcDevice, millis } from './rpc.ts';
import {
  C_BAD_HEADERS, C_SEC_SESSIONS, C_SEC_BAD_TAGS, C_SEC_REPLAYS, C_SEC_PLAINTEXT_REFUSED, C_SEC_NO_SESSION,
  C_SEC_LOCKOUTS, C_SEC_BAD_LENGTH, C_SEC_BOOT_COUNTER, OPS_COUNTERS_SECURE,
} from './rpc-core.ts';
import { BootCounter, BOOT_COUNTER_NONE } from './boot-counter.ts';
import { Flash } from '../boot/flash.ts';
import { SecureDevice, secOpOf } from '../../src/secure/device.ts';
import { DeviceAead } from './device-aead.ts';
import { Header, HEADER_BYTES, readHeader } from '../../src/wire/header.ts';
import { LINK_OP_SEC_OPEN, SEC_PROVISION_BYTES, SEC_TRAILER_BYTES } from '../../src/wire/layouts.ts';
import { ERR_SECURE_COUNTER_EXHAUSTED, ERR_SECURE_LOCKOUT } from '../../src/wire/errors.ts';

@external("env", "sec_record") declare function sec_record(ptr: usize): i32;
@external("env", "sec_flash_page_bytes") declare function sec_flash_page_bytes(): i32;
@external("env", "sec_flash_read") declare function sec_flash_read(addr: i32, ptr: usize, len: i32): i32;
@external("env", "sec_flash_erase") declare function sec_flash_erase(page: i32): i32;
@external("env", "sec_flash_write") declare function sec_flash_write(addr: i32, ptr: usize, len: i32): i32;

/** The boot counter's two pages, as the board stores them. */
class SecFlash extends Flash {
  read(addr: i32, dst: Uint8Array, dstOff: i32, len: i32): i32 { return sec_flash_read(addr, dst.dataStart + <usize>dstOff, len); }
  erase(page: i32): i32 { return sec_flash_erase(page); }
  write(addr: i32, src: Uint8Array, srcOff: i32, len: i32): i32 { return sec_flash_write(addr, src.dataStart + <usize>srcOff, len); }
}

export class SecureRpcDevice extends RpcDevice {
  readonly sec: SecureDevice = new SecureDevice(new DeviceAead()); // the board's AEAD (env.aead_*, env.hchacha20)
  /** `out` with its 12 bytes of room: frames are sealed here in place; also the record's scratch at boot. */
  private readonly full!: Uint8Array;
  private readonly hh: Header = new Header();
  private readonly bootCounter: BootCounter;
  /** A record but no boot counter: no session may open in this boot. */
  private noCounter: bool = false;

  constructor(hello: usize, helloLen: i32, maxFrameBytes: i32) {
    super(hello, helloLen, maxFrameBytes, SEC_TRAILER_BYTES);
    const f = new SecFlash();
    f.pageBytes = sec_flash_page_bytes(); // a number only: the start function must not touch memory through imports
    f.pages = 2;
    this.bootCounter = new BootCounter(f, 0, 1);
    this.full = Uint8Array.wrap(this.out.buffer);
  }

  opsCount(): i32 {
    return OPS_COUNTERS_SECURE;
  }

  /** First poll: provision from the board (not in the start function: a simulator cannot see memory then), then REQUEST or HELLO. */
  boot(): void {
    const sec = this.sec;
    const rec = this.full;
    if (sec_record(rec.dataStart) >= SEC_PROVISION_BYTES && sec.provision(rec, 0, BOOT_COUNTER_NONE) > 0) {
      // Only a provisioned device uses up a counter value; persisted before any session can use it.
      const b = this.bootCounter.next();
      sec.bootCounter = b;
      this.noCounter = b == BOOT_COUNTER_NONE;
    }
    for (let i = 0; i < SEC_PROVISION_BYTES; i++) rec[i] = 0; // no copy of the key left in `out`
    if (!sec.provisioned) {
      this.announce();
      return;
    }
    const n = sec.request(millis(), true, rec, 0);
    if (n > 0) super.transmit(rec, n);
  }

  dispatch(n: i32): i32 {
    const sec = this.sec;
    if (!sec.provisioned) return this.ingest(n);
    const f = this.req;
    const h = this.hh;
    // receive() wants a validated header; a sealed frame may be 12 bytes over the plain maximum.
    let r = readHeader(f, 0, n, <u32>(this.maxFrameBytes + SEC_TRAILER_BYTES - HEADER_BYTES), h);
    if (r > 0 && <u32>(n - HEADER_BYTES) != h.length) r = -1;
    if (r < 0) {
      unchecked(this.counter[C_BAD_HEADERS]++);
      return -1;
    }
    if (this.noCounter && secOpOf(f, 0, n) == LINK_OP_SEC_OPEN) {
      sec.session.counters.plaintextRefused++;
      return -1;
    }
    const out = this.full;
    const m = sec.receive(f, 0, n, millis(), out, 0);
    if (sec.answerLen > 0) super.transmit(out, sec.answerLen); // ACCEPT (sealed by receive) or REQUEST
    if (sec.newSession) {
      // A new host session: as after a boot, any stream ends and our HELLO goes out (sealed).
      this.streamActive = false;
      this.announce();
    }
    if (m == -ERR_SECURE_LOCKOUT) this.streamActive = false;
    return m > 0 ? this.ingest(m) : -1;
  }

  /** Every RPC frame (it is `out`): sealed in place, then framed; never sent in plaintext once provisioned. */
  transmit(frame: Uint8Array, len: i32): void {
    const sec = this.sec;
    if (!sec.provisioned) {
      super.transmit(frame, len);
      return;
    }
    const full = this.full;
    const m = sec.seal(full, 0, len);
    if (m > 0) {
      super.transmit(full, m);
      return;
    }
    // No session (it was dropped) or its counter is used up: the frame is lost, a stream ends.
    this.streamActive = false;
    if (m == -ERR_SECURE_COUNTER_EXHAUSTED) {
      sec.session.end();
      const q = sec.request(millis(), true, full, 0);
      if (q > 0) super.transmit(full, q);
    }
  }

  refreshCounters(c: StaticArray<u32>): void {
    super.refreshCounters(c);
    const s = this.sec.session.counters;
    unchecked(c[C_SEC_SESSIONS] = s.sessions);
    unchecked(c[C_SEC_BAD_TAGS] = s.badTags);
    unchecked(c[C_SEC_REPLAYS] = s.replays);
    unchecked(c[C_SEC_PLAINTEXT_REFUSED] = s.plaintextRefused);
    unchecked(c[C_SEC_NO_SESSION] = s.noSession);
    unchecked(c[C_SEC_LOCKOUTS] = s.lockouts);
    unchecked(c[C_SEC_BAD_LENGTH] = s.badLength);
    unchecked(c[C_SEC_BOOT_COUNTER] = this.sec.bootCounter);
  }
}
