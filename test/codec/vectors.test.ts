import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isDeepStrictEqual } from 'node:util';
import * as E from '../../src/wire/errors.ts';
import { hasCode } from '../../src/wire/cell-error.ts';
import { fromHex, toHex } from '../helpers/hex.ts';
import { fromJson, loadVectors, schemaNamed, toJson } from '../vectors/load.ts';
import { implsOf, type AnyCodec } from './_impls.ts';

const V = loadVectors();
const CODES = new Set([300, 301, 302, 303, 304, 305, 306, 307, 308, 309]);
const IMPLS = ['compiled', 'interpreted', 'aot'] as const;

const golden = suite('codec vectors: golden bytes');

for (const c of V.cases) {
  golden(`${c.schema}: ${c.name} — encodes to the golden bytes and decodes back (all implementations)`, async () => {
    const t = schemaNamed(c.schema);
    const impls = await implsOf(t);
    const value = fromJson(t, c.input);
    for (const k of IMPLS) {
      const codec = impls[k];
      const buf = new Uint8Array(codec.maxSize + 3).fill(0xee);
      const n = codec.encode(value as never, buf, 3);
      assert.is(toHex(buf.subarray(3, 3 + n)), c.hex, `${k} encode`);
      assert.is(buf[2], 0xee, `${k} wrote before off`);
      assert.is(codec.encodedSize(value as never), n, `${k} encodedSize`);
      const bytes = fromHex(c.hex);
      const decoded = codec.decode(bytes);
      assert.equal(toJson(t, decoded), c.input, `${k} decode`);
      // decode at an offset, bounded by `end`, into a reused object
      const framed = new Uint8Array(bytes.length + 7).fill(0xcc);
      framed.set(bytes, 5);
      const out = codec.create();
      assert.is(codec.tryDecode(framed, 5, 5 + bytes.length, out), bytes.length);
      assert.equal(toJson(t, out), c.input, `${k} tryDecode at offset`);
    }
  });
}
golden.run();

const invalid = suite('codec vectors: invalid input gives exactly its code');

for (const c of V.invalid) {
  invalid(`${c.schema}: ${c.name} → ${c.error}`, async () => {
    const impls = await implsOf(schemaNamed(c.schema));
    const bytes = fromHex(c.hex);
    for (const k of IMPLS) {
      const codec = impls[k];
      try {
        codec.decode(bytes);
        assert.unreachable(`${k} decoded invalid input`);
      } catch (e) {
        assert.ok(hasCode(e, c.error), `${k}: expected ${c.error}, got ${(e as Error).message}`);
      }
      if (c.error !== E.ERR_CODEC_TRAILING_BYTES) assert.is(codec.tryDecode(bytes, 0, bytes.length, codec.create()), -c.error, k);
    }
  });
}
invalid.run();

const robust = suite('codec vectors: truncation and mutation');

robust('every prefix of every valid vector is CodecTruncated, in every implementation', async () => {
  for (const c of V.cases) {
    const impls = await implsOf(schemaNamed(c.schema));
    const bytes = fromHex(c.hex);
    for (let len = 0; len < bytes.length; len++) {
      const prefix = bytes.slice(0, len);
      for (const k of IMPLS) {
        const codec = impls[k];
        assert.is(codec.tryDecode(prefix, 0, len, codec.create()), -E.ERR_CODEC_TRUNCATED, `${c.name} ${k} prefix ${len}`);
        // the same bytes inside a larger buffer, bounded by end
        const big = new Uint8Array(bytes.length + 8);
        big.set(prefix);
        assert.is(codec.tryDecode(big, 0, len, codec.create()), -E.ERR_CODEC_TRUNCATED, `${c.name} ${k} bounded prefix ${len}`);
        try { codec.decode(prefix); assert.unreachable(); } catch (e) { assert.ok(hasCode(e, E.ERR_CODEC_TRUNCATED), String(e)); }
      }
    }
  }
});

function outcome(codec: AnyCodec, bytes: Uint8Array): { code: number; value?: unknown } {
  const out = codec.create();
  const n = codec.tryDecode(bytes, 0, bytes.length, out);
  if (n < 0) {
    assert.ok(CODES.has(-n), `not a codec error: ${n}`);
    return { code: -n };
  }
  return n === bytes.length ? { code: 0, value: out } : { code: E.ERR_CODEC_TRAILING_BYTES };
}

robust('every single-byte mutation decodes or gives a 3xx code; implementations agree; decodable ⇒ canonical', async () => {
  const MUTS = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff];
  for (const c of V.cases) {
    const t = schemaNamed(c.schema);
    const impls = await implsOf(t);
    const bytes = fromHex(c.hex);
    for (let i = 0; i < bytes.length; i++) {
      for (const m of [...MUTS, bytes[i]! ^ 0x01, bytes[i]! ^ 0x80]) {
        if (m === bytes[i]) continue;
        const mutated = bytes.slice();
        mutated[i] = m;
        const r = IMPLS.map((k) => outcome(impls[k], mutated));
        assert.is(r[1]!.code, r[0]!.code, `${c.name}: byte ${i} = ${m}: interpreted vs compiled`);
        assert.is(r[2]!.code, r[0]!.code, `${c.name}: byte ${i} = ${m}: aot vs compiled`);
        if (r[0]!.code === 0) {
          // one encoding per value: re-encoding a decoded value gives the same bytes (NaN payloads aside)
          const json = JSON.stringify(toJson(t, r[0]!.value));
          assert.ok(isDeepStrictEqual(toJson(t, r[1]!.value), toJson(t, r[0]!.value)), 'decoded values differ');
          if (!json.includes('NaN')) {
            const again = new Uint8Array(impls.compiled.maxSize);
            const n = impls.compiled.encode(r[0]!.value as never, again);
            assert.is(toHex(again.subarray(0, n)), toHex(mutated), `${c.name}: byte ${i} = ${m} decoded but is not canonical`);
          }
        }
      }
    }
  }
});
robust.run();
