// The V8 word paths of the framing core (src/framing/wordcopy.ts; docs/uart.md §6): every
// alignment of source and destination, buffers whose ArrayBuffer length is not a multiple of 4,
// a 0x00 at every position of a word, and views with odd byteOffsets through cobsEncode,
// frameEncode, the Deframer and the CRC — each against the bytewise reference implementations.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyNonZero } from '../../src/framing/wordcopy.ts';
import { cobsEncode, cobsMaxEncodedBytes } from '../../src/framing/cobs.ts';
import { crc32c } from '../../src/framing/crc32c.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { Deframer } from '../../src/framing/deframer.ts';
import { prng, randomBytes, crc32cRef } from './util.ts';

// Bytewise COBS (the standard variant of cobs.ts: a full 254-byte block at the very end gets no
// trailing 0x01).
function cobsEncodeRef(src: Uint8Array): number[] {
  const out: number[] = [0];
  let code = 0;
  let codeAt = 0;
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0) { out[codeAt] = code + 1; codeAt = out.length; out.push(0); code = 0; continue; }
    out.push(src[i]!);
    if (++code === 254) {
      out[codeAt] = 0xff;
      code = 0;
      if (i + 1 < src.length) { codeAt = out.length; out.push(0); } else return out;
    }
  }
  out[codeAt] = code + 1;
  return out;
}

const t = suite('wordcopy');

t('copyNonZero: every alignment, length and first-zero position', () => {
  const rnd = prng(7);
  for (const abLen of [64, 65, 66, 67]) {
    const sab = new ArrayBuffer(abLen);
    const dab = new ArrayBuffer(abLen + 3);
    for (let so = 0; so < 5; so++) {
      for (let dOff = 0; dOff < 5; dOff++) {
        for (const n of [0, 1, 3, 15, 16, 17, 20, 31, 40, abLen - so - 8]) {
          for (let z = -1; z < Math.min(n, 24); z += z < 8 ? 1 : 5) {
            const src = new Uint8Array(sab, so, abLen - so);
            const dst = new Uint8Array(dab, dOff, abLen - dOff);
            if (n > src.length - 3 || n > dst.length - 3) continue;
            for (let i = 0; i < src.length; i++) src[i] = 1 + Math.floor(rnd() * 255);
            if (z >= 0) src[3 + z] = 0;
            dst.fill(0xee);
            const got = copyNonZero(src, 3, dst, 2, n);
            const want = z >= 0 && z < n ? z : n;
            assert.is(got, want, `abLen ${abLen} so ${so} do ${dOff} n ${n} z ${z}`);
            for (let i = 0; i < got; i++) assert.is(dst[2 + i], src[3 + i]);
            for (let i = 0; i < 2; i++) assert.is(dst[i], 0xee, 'nothing before the range');
            for (let i = 2 + n; i < dst.length; i++) assert.is(dst[i], 0xee, 'nothing after the range');
          }
        }
      }
    }
  }
});

t('copyNonZero: right bytes while the view cache evicts (more buffers than slots)', () => {
  // A source that hits its cache slot, then a destination whose miss evicts that very slot.
  const rnd = prng(3);
  const pool = Array.from({ length: 6 }, (_, i) => new Uint8Array(new ArrayBuffer(80 + i), i & 3, 70));
  for (let k = 0; k < 500; k++) {
    const a = Math.floor(rnd() * 6);
    const b = (a + 1 + Math.floor(rnd() * 5)) % 6;
    const src = pool[a]!;
    const dst = pool[b]!;
    for (let i = 0; i < src.length; i++) src[i] = 1 + Math.floor(rnd() * 255);
    const si = Math.floor(rnd() * 4);
    const di = Math.floor(rnd() * 4);
    const n = 16 + Math.floor(rnd() * 40);
    assert.is(copyNonZero(src, si, dst, di, n), n);
    for (let i = 0; i < n; i++) assert.is(dst[di + i], src[si + i], `round ${k}`);
  }
});

t('cobsEncode, frameEncode, crc32c and Deframer on unaligned views agree with the references', () => {
  const rnd = prng(11);
  for (const n of [1, 17, 63, 64, 100, 253, 254, 255, 600, 1021, 4000]) {
    for (const zeroFrac of [0, 0.004, 0.05, 0.5]) {
      for (let so = 0; so < 4; so++) {
        const bytes = randomBytes(rnd, n, zeroFrac);
        const src = new Uint8Array(new ArrayBuffer(n + so + 1), so, n);
        src.set(bytes);
        assert.is(crc32c(src), crc32cRef(bytes));
        const ref = cobsEncodeRef(bytes);
        for (let dOff = 0; dOff < 4; dOff++) {
          const dst = new Uint8Array(new ArrayBuffer(cobsMaxEncodedBytes(n) + dOff + 2), dOff);
          const w = cobsEncode(src, dst);
          assert.equal(Array.from(dst.subarray(0, w)), ref, `n ${n} zf ${zeroFrac} so ${so} do ${dOff}`);
          const fdst = new Uint8Array(new ArrayBuffer(frameMaxEncodedBytes(n) + dOff + 3), dOff);
          const fw = frameEncode(src, 0, n, fdst, 0);
          // The frame is COBS(bytes ++ CRC LE) ++ 00.
          const withCrc = new Uint8Array(n + 4);
          withCrc.set(bytes);
          new DataView(withCrc.buffer).setUint32(n, crc32cRef(bytes), true);
          assert.equal(Array.from(fdst.subarray(0, fw)), [...cobsEncodeRef(withCrc), 0]);
          // Deframe from a view at another offset, in two pieces split somewhere inside.
          const chunkAb = new ArrayBuffer(fw + 5);
          const chunk = new Uint8Array(chunkAb, (so + dOff) & 3, fw);
          chunk.set(fdst.subarray(0, fw));
          const d = new Deframer(n);
          const cut = Math.floor(rnd() * (fw + 1));
          d.feed(chunk, 0, cut);
          let got = d.next();
          if (got === 0) { d.feed(chunk, cut, fw - cut); got = d.next(); }
          assert.is(got, n);
          assert.equal(Array.from(d.frame.subarray(0, n)), Array.from(bytes));
        }
      }
    }
  }
});

t.run();
