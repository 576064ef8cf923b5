// The bootloader of a native board (docs/flash.md §10): the portable Bootloader over a flash
// reached through env imports (as in wasm-entry.ts) plus its own UART loop, so the C side
// (firmware/boot/qemu/boot-main.c) only moves bytes, copies the chosen slot and jumps.
// AssemblyScript only; built with asc → wasm2c → arm-none-eabi-gcc by scripts/build-boot.mjs.
//
//   env.flash_read/flash_write/flash_erase, env.ed25519_verify   as in import-flash.ts
//   env.uart_read(ptr, max) / uart_write(ptr, len)   as for apps (firmware/runtime/host.c)
//   init(pageBytes, slotPages, chunkBytes, window)   once, after writing the board name (16 B) and the
//     trusted key (32 B, zero: none) at reqPtr()
//   boot() → slot | -1     enterApp(slot)     healthy() → 0 | <0 (app mode: the app's healthy signal)
//   poll() → 1 when the device must reset now (the answer has been written), else 0
//   prepare(), listen() → 0 | 1 (a frame answered: stay) | 2 (reset): the recovery window at a
//     cold start (docs/flash.md §5.6), before boot()
//   handle(len) → answer length at outPtr(); action() → 0 | 1 (app mode: the C side of the
//   running app calls these through the hand-over record, firmware/boot/qemu/boot-qemu.h)
import { Bootloader, ACTION_NONE } from './loader.ts';
import { newImportBootloader } from './import-flash.ts';
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';

@external("env", "uart_read") declare function uart_read(ptr: usize, max: i32): i32;
@external("env", "uart_write") declare function uart_write(ptr: usize, len: i32): void;

/** Largest frame (header + payload): a CHUNK of 1024 data bytes is 1052. */
const FRAME_BYTES: i32 = 1280;
const RX_BYTES: i32 = 64;
const REQ = new Uint8Array(FRAME_BYTES);
const OUT = new Uint8Array(FRAME_BYTES);
const DF = new Deframer(FRAME_BYTES);
const RX = new Uint8Array(RX_BYTES);
const TX = new Uint8Array(frameMaxEncodedBytes(FRAME_BYTES) + 1);

let BL: Bootloader | null = null;

export function reqPtr(): usize { return REQ.dataStart; }
export function outPtr(): usize { return OUT.dataStart; }
export function frameBytes(): i32 { return FRAME_BYTES; }

export function init(pageBytes: i32, slotPages: i32, chunkBytes: i32, window: i32): void {
  BL = newImportBootloader(pageBytes, slotPages, chunkBytes, window, REQ);
}

export function boot(): i32 { return BL!.boot(); }
export function enterApp(slot: i32): void { BL!.enterApp(slot); }
export function healthy(): i32 { return BL!.healthy(); }
export function handle(len: i32): i32 { return BL!.handle(REQ, len, OUT); }
export function action(): i32 { return BL!.action; }

// A leading 0x00 ends line noise before the frame (docs/wire-format.md §3 "Framing").
function send(n: i32): void {
  store<u8>(TX.dataStart, 0);
  const k = frameEncode(OUT, 0, n, TX, 1);
  if (k > 0) uart_write(TX.dataStart, k + 1);
}

/** Before the recovery window (boot-main.c): load the state record. 0 or <0. */
export function prepare(): i32 { return BL!.prepare(); }

/**
 * One pass of the recovery window: serve every frame the UART has, from the state prepare()
 * loaded. 0 = nothing answered yet, 1 = a boot-protocol frame was answered (stay in the
 * bootloader), 2 = reset now (RESET was answered).
 */
export function listen(): i32 {
  const bl = BL!;
  let held: i32 = 0;
  for (;;) {
    const n = DF.next();
    if (n > 0) {
      const k = bl.handle(DF.frame, n, OUT);
      if (k > 0) {
        send(k);
        if (held == 0) bl.hold();
        held = 1;
      }
      if (bl.action != ACTION_NONE) return 2;
      continue;
    }
    const got = uart_read(RX.dataStart, RX_BYTES);
    if (got <= 0) return held;
    DF.feed(RX, 0, got);
  }
  return held;
}

/** Bootloader mode: serve every frame the UART has; 1 = reset now (RESET was answered). */
export function poll(): i32 {
  const bl = BL!;
  for (;;) {
    const n = DF.next();
    if (n > 0) {
      const k = bl.handle(DF.frame, n, OUT);
      if (k > 0) send(k);
      if (bl.action != ACTION_NONE) return 1;
      continue;
    }
    const got = uart_read(RX.dataStart, RX_BYTES);
    if (got <= 0) return 0;
    DF.feed(RX, 0, got);
  }
  return 0;
}
