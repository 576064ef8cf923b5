// The link security session (src/secure/session.ts, device.ts, provision.ts) in the asc build:
// test/vectors/secure-frames.json (docs/wire-format.md §7) through build/wasm/core.wasm
// (firmware/core/vectors-secure.ts `secureSessionFlow`): the device's REQUEST and ACCEPT, the
// host's sealed frame, the same bytes as the tsc build; and the device opens the sealed frame.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../helpers/hex.ts';
import { ROOT, ensureWasm, loadCore } from './wasm.ts';

ensureWasm();
const wasm = await loadCore();
const x = wasm.x as Record<string, ((...a: number[]) => number) | undefined>;
const V = JSON.parse(readFileSync(join(ROOT, 'test/vectors/secure-frames.json'), 'utf8')) as Record<string, string | number>;

const t = suite('secure: session vectors through the asc build');

t('REQUEST, ACCEPT and the sealed frame are the vector bytes; the device opens the frame', () => {
  assert.ok(wasm.has('secureSessionFlow'), 'the core wasm exports secureSessionFlow');
  wasm.input(fromHex(String(V.deviceKey)), 0);
  wasm.input(fromHex(String(V.deviceId)), 32);
  wasm.input(fromHex(String(V.hostNonce)), 40);
  const open = fromHex(String(V.open));
  wasm.input(open, 48);
  const plain = fromHex(String(V.plain));
  wasm.input(plain, 128);
  const r = x.secureSessionFlow!(Number(V.bootCounter), Number(V.session), open.length, plain.length);
  assert.ok(r > 0, `secureSessionFlow: ${r}`);
  const req = r & 0xff, acc = (r >>> 8) & 0xff, sealed = (r >>> 16) & 0xffff;
  assert.is(toHex(wasm.output(req, 0)), V.request);
  assert.is(toHex(wasm.output(acc, 64)), V.accept);
  assert.is(toHex(wasm.output(sealed, 128)), V.sealed);
  assert.is(x.secureDeviceOpen!(sealed), plain.length);
  assert.is(toHex(wasm.output(plain.length, 128)), V.plain);
});

t.run();
