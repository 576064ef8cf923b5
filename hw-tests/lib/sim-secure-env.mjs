// The `env` imports a secured app (firmware/thermo-secure, firmware/shared/rpc-secure.ts) needs in
// the simulators (hw-tests/lib/sim-device.mjs, and the bootloader simulator boot-sim-device.ts):
// the key page, the boot counter's two flash pages, and the AEAD the board runs in C
// (firmware/runtime/cell-aead.c) — here the portable src/secure/aead.ts and chacha20.ts, so the
// simulator keeps exercising the portable code.
//
//   sec_record(ptr)      the record file's first 64 bytes → ptr: 64, or 0 without one
//   sec_flash_page_bytes() 1024 with a counter file, else 0
//   sec_flash_read/erase/write  the counter file: erase = 0xFF, write = AND (NOR), 0 | -708
//   aead_seal/aead_open, hchacha20  over the whole linear memory, as host.c gives cell-aead.c
//
// Plain JavaScript: sim-device.mjs runs without tsx and loads the portable AEAD through tsx only
// for an app that imports it; the bootloader simulator (bundled by esbuild) imports it directly.
// Either passes `loadAead`.
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';

export const SEC_RECORD_BYTES = 64;
const SEC_PAGE_BYTES = 1024;
const SEC_FLASH_BYTES = 2 * SEC_PAGE_BYTES;
const ERR_FLASH_IO = -708;

/** Does this app module import the device AEAD (a secured build)? */
export function importsAead(module) {
  return WebAssembly.Module.imports(module).some((i) => i.module === 'env' && i.name.startsWith('aead_'));
}

/**
 * The secured app's imports. `module`: the app (its AEAD imports are provided when it has them),
 * or null when the app is not known yet (the bootloader simulator: provide them always).
 * `memory()` returns the running instance's memory (it changes at each reset); `recordPath` /
 * `flashPath` may be undefined (a plain device / no counter pages). The counter file is created
 * erased when missing. `loadAead()` resolves to { aeadSeal, aeadOpen, hchacha20 } of
 * src/secure/aead.ts and chacha20.ts. `close()` releases the counter file.
 */
export async function secureEnv(module, { recordPath, flashPath, memory, loadAead }) {
  let fd = -1;
  if (flashPath !== undefined) {
    if (!existsSync(flashPath)) writeFileSync(flashPath, Buffer.alloc(SEC_FLASH_BYTES, 0xff));
    fd = openSync(flashPath, 'r+');
  }
  const inRange = (addr, len) => fd >= 0 && addr >= 0 && len >= 0 && addr + len <= SEC_FLASH_BYTES;
  const env = {
    sec_record(ptr) {
      if (recordPath === undefined || !existsSync(recordPath)) return 0;
      const rec = readFileSync(recordPath);
      if (rec.length < SEC_RECORD_BYTES) return 0;
      new Uint8Array(memory().buffer, ptr, SEC_RECORD_BYTES).set(rec.subarray(0, SEC_RECORD_BYTES));
      return SEC_RECORD_BYTES;
    },
    sec_flash_page_bytes() {
      return fd >= 0 ? SEC_PAGE_BYTES : 0;
    },
    sec_flash_read(addr, ptr, len) {
      if (!inRange(addr, len)) return ERR_FLASH_IO;
      readSync(fd, new Uint8Array(memory().buffer, ptr, len), 0, len, addr);
      return 0;
    },
    sec_flash_erase(page) {
      if (page < 0 || !inRange(page * SEC_PAGE_BYTES, SEC_PAGE_BYTES)) return ERR_FLASH_IO;
      writeSync(fd, Buffer.alloc(SEC_PAGE_BYTES, 0xff), 0, SEC_PAGE_BYTES, page * SEC_PAGE_BYTES);
      return 0;
    },
    sec_flash_write(addr, ptr, len) {
      if (!inRange(addr, len)) return ERR_FLASH_IO;
      const cur = Buffer.alloc(len);
      readSync(fd, cur, 0, len, addr);
      const src = new Uint8Array(memory().buffer, ptr, len);
      for (let i = 0; i < len; i++) cur[i] &= src[i]; // NOR: programming only clears bits
      writeSync(fd, cur, 0, len, addr);
      return 0;
    },
  };
  if (module === null || importsAead(module)) {
    const portable = await loadAead();
    // Key and nonce outside memory trap, as an out-of-bounds access of the wasm would.
    const call = (fn, key, nonce, ...ranges) => {
      const m = new Uint8Array(memory().buffer);
      if ((key >>> 0) + 32 > m.length || (nonce >>> 0) + 12 > m.length) throw new WebAssembly.RuntimeError('out of bounds memory access');
      return fn(m, key >>> 0, m, nonce >>> 0, m, ...ranges);
    };
    env.aead_seal = (...a) => call(portable.aeadSeal, ...a);
    env.aead_open = (...a) => call(portable.aeadOpen, ...a);
    env.hchacha20 = (key, inp, out) => {
      const m = new Uint8Array(memory().buffer);
      if ((key >>> 0) + 32 > m.length || (inp >>> 0) + 16 > m.length || (out >>> 0) + 32 > m.length) throw new WebAssembly.RuntimeError('out of bounds memory access');
      portable.hchacha20(m, key >>> 0, m, inp >>> 0, m, out >>> 0);
    };
  }
  return { env, close() { if (fd >= 0) { closeSync(fd); fd = -1; } } };
}
