// The secured receive paths under garbage (docs/security.md §3): the device's SecureDevice.receive
// (portable: what the firmware runs) and the host's SecureLink, fed random and mutated frames —
// every valid-header frame is refused and counted or handled, nothing is delivered that was not
// sealed by the peer, nothing throws, the session survives (below the lockout) and memory stays
// bounded. Also every truncation of a sealed frame, OPEN and ACCEPT. CELL_SECURE_FUZZ=N for more
// (the default keeps `npm test` fast).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SecureDevice, SEC_CONSUMED } from '../../src/secure/device.ts';
import { SecureSession } from '../../src/secure/session.ts';
import { REPLAY_STRICT } from '../../src/secure/replay.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import { Header, HEADER_BYTES, readHeader, KIND_REQUEST, writeHeader } from '../../src/wire/header.ts';
import { writeU32LE } from '../../src/wire/bytes.ts';
import { SEC_DIR_DEVICE_TO_HOST, SEC_DIR_HOST_TO_DEVICE, SEC_TRAILER_BYTES } from '../../src/wire/layouts.ts';
import { Prng } from '../helpers/prng.ts';
import { secureExamples, VECTOR_BOOT_COUNTER, VECTOR_DEVICE_ID, VECTOR_DEVICE_KEY, VECTOR_HOST_NONCE } from './vectors.ts';

const ITER = Number(process.env.CELL_SECURE_FUZZ ?? 20_000);
const t = suite('secure: receive paths under garbage');

function device(): SecureDevice {
  const rec = new Uint8Array(64);
  writeProvision(VECTOR_DEVICE_ID, VECTOR_DEVICE_KEY, rec, 0);
  const d = new SecureDevice();
  d.provision(rec, 0, VECTOR_BOOT_COUNTER);
  return d;
}

function hostSession(): SecureSession {
  const s = new SecureSession(SEC_DIR_HOST_TO_DEVICE, SEC_DIR_DEVICE_TO_HOST, REPLAY_STRICT);
  s.start(VECTOR_DEVICE_KEY, 0, VECTOR_HOST_NONCE, 0, VECTOR_BOOT_COUNTER, 1);
  return s;
}

/** A valid header over `payload` bytes of r's choice, or wholly random bytes. */
function randomFrame(r: Prng, base: readonly Uint8Array[]): Uint8Array {
  const pick = r.below(4);
  if (pick === 0) {
    // a mutation of a real frame (OPEN, ACCEPT, REQUEST, sealed), header length kept consistent
    const b = base[r.below(base.length)]!.slice();
    const flips = 1 + r.below(4);
    for (let i = 0; i < flips; i++) b[r.below(b.length)] ^= 1 << r.below(8);
    b[0] = 0xce; b[1] = (b[1]! & 0x0f) | 0x10;
    writeU32LE(b, 16, b.length - HEADER_BYTES);
    return b;
  }
  const len = HEADER_BYTES + r.below(pick === 1 ? 16 : 80);
  const b = new Uint8Array(len);
  r.fill(b);
  b[0] = 0xce;
  b[1] = 0x10 | (1 + r.below(12));
  b[2] &= 0xc7; // reserved bits clear, any of AUTH / ENCRYPTED / MORE / priority
  if (pick === 3) b[3] = 4; // the link channel: the session ops' home
  writeU32LE(b, 16, len - HEADER_BYTES);
  return b;
}

t(`the device: ${ITER} random and mutated frames after a session opened`, () => {
  const r = new Prng(0xf022);
  const d = device();
  const ex = secureExamples();
  const out = new Uint8Array(256);
  assert.is(d.receive(ex.open.slice(), 0, ex.open.length, 0, out, 0), SEC_CONSUMED);
  const host = hostSession();
  const base = [ex.open, ex.accept, ex.request, ex.sealed];
  const h = new Header();
  let delivered = 0, refused = 0, ops = 0;
  for (let i = 0; i < ITER; i++) {
    const f = randomFrame(r, base);
    if (readHeader(f, 0, f.length, 1 << 20, h) < 0) continue; // the link drops these before (§2.2)
    const n = d.receive(f, 0, f.length, i, out, 0);
    if (n > 0) delivered++;
    else if (n === SEC_CONSUMED) ops++;
    else refused++;
    if (!d.session.open) {
      // a lockout (8 bad tags) or a new OPEN: open again so the fuzz keeps hitting a live session
      const o = ex.open.slice();
      o[22] = i & 0xff; o[23] = (i >>> 8) & 0xff;
      d.receive(o, 0, o.length, i, out, 0);
    }
  }
  // Only a frame sealed with the session key may be delivered; random bytes never are.
  assert.is(delivered, 0, 'a random frame was delivered as plaintext');
  const c = d.session.counters;
  assert.ok(refused > ITER / 4, `${refused} refused`);
  assert.ok(c.badTags + c.replays + c.plaintextRefused + c.badLength + c.noSession > 0);
  // And the real peer still gets through (a fresh session: the fuzz may have opened many).
  const o = ex.open.slice();
  assert.is(d.receive(o, 0, o.length, 0, out, 0), SEC_CONSUMED);
  void host; void ops;
});

t('every truncation of a sealed frame, an OPEN and an ACCEPT is refused, never delivered', () => {
  const ex = secureExamples();
  const out = new Uint8Array(256);
  for (const [name, whole] of [['sealed', ex.sealed], ['open', ex.open], ['accept', ex.accept]] as const) {
    for (let cut = HEADER_BYTES; cut < whole.length; cut++) {
      const d = device();
      if (name === 'sealed') d.receive(ex.open.slice(), 0, ex.open.length, 0, out, 0);
      const f = whole.slice(0, cut);
      writeU32LE(f, 16, cut - HEADER_BYTES);
      const n = d.receive(f, 0, f.length, 0, out, 0);
      assert.ok(n < 0, `${name} cut at ${cut}: ${n}`);
    }
  }
  // The whole sealed frame, for contrast, opens.
  const d = device();
  d.receive(ex.open.slice(), 0, ex.open.length, 0, out, 0);
  const f = ex.sealed.slice();
  assert.is(d.receive(f, 0, f.length, 0, out, 0), ex.plain.length);
});

t('a sealed frame from the real host still opens after the fuzz (no state leaked from garbage)', () => {
  const r = new Prng(7);
  const d = device();
  const ex = secureExamples();
  const out = new Uint8Array(256);
  d.receive(ex.open.slice(), 0, ex.open.length, 0, out, 0);
  const host = hostSession();
  const h = new Header();
  h.kind = KIND_REQUEST; h.callId = 9; h.length = 4;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 5; i++) { // garbage below the lockout
      const g = randomFrame(r, [ex.sealed]);
      g[2] |= 3;
      d.receive(g, 0, g.length, 0, out, 0);
    }
    d.session.badTags = 0;
    const f = new Uint8Array(HEADER_BYTES + 4 + SEC_TRAILER_BYTES);
    writeHeader(h, f, 0);
    f.set([round, 1, 2, 3], HEADER_BYTES);
    const n = host.seal(f, 0, HEADER_BYTES + 4, true);
    assert.is(d.receive(f, 0, n, 0, out, 0), HEADER_BYTES + 4, `round ${round}`);
    assert.is(f[HEADER_BYTES], round);
  }
});

t.run();
