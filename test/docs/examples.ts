// The hex examples and the error table of docs/wire-format.md, computed from the code.
// test/docs/wire-format.test.ts checks that the document says exactly this;
// `node --import tsx scripts/doc-examples.ts --write` rewrites the document from it.
import { codec } from '../../src/codec/index.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { Header, KIND_REQUEST, writeHeader } from '../../src/wire/header.ts';
import { errorTable } from '../../src/wire/error-names.ts';
import { Ping, Reading } from '../vectors/schemas.ts';
import { toHex } from '../helpers/hex.ts';
import { secureExamples } from '../secure/vectors.ts';
import { canDocExamples } from '../can/doc-examples.ts';

/** Hex bytes separated by spaces, in groups of the given sizes separated by two spaces. */
function hex(b: Uint8Array, groups: number[] = []): string {
  const spaced = (part: Uint8Array) => toHex(part).replace(/(..)(?!$)/g, '$1 ');
  const parts: string[] = [];
  let at = 0;
  for (const g of groups) {
    parts.push(spaced(b.subarray(at, at + g)));
    at += g;
  }
  if (at < b.length) parts.push(spaced(b.subarray(at)));
  return parts.join('  ');
}

function requestFrame(): Uint8Array {
  const buf = new Uint8Array(24);
  const h = new Header();
  h.kind = KIND_REQUEST; h.callId = 1; h.keyLo = 0x44332211; h.keyHi = 0x88776655; h.length = 4;
  writeHeader(h, buf, 0);
  buf.set([0xde, 0xad, 0xbe, 0xef], 20);
  return buf;
}

/**
 * The canonical text, the fingerprint as it goes on the wire (8 bytes, u64 little-endian, as in
 * a HELLO entry) and the same fingerprint as a value (16 hex digits,
 * most significant first, as `fingerprintHex`, `cell describe` and error details print it).
 */
function fingerprintExample(canonical: string, fp: bigint): string {
  const le = new Uint8Array(8);
  for (let i = 0; i < 8; i++) le[i] = Number((fp >> BigInt(8 * i)) & 0xffn);
  return `${canonical}\nwire:  ${hex(le)}\nvalue: 0x${fp.toString(16).padStart(16, '0')}`;
}

/** Example name → the hex text the document must show in its ```hex example=NAME block. */
export function examples(): Record<string, string> {
  const frame = requestFrame();
  const wire = new Uint8Array(frameMaxEncodedBytes(frame.length));
  const wireLen = frameEncode(frame, 0, frame.length, wire, 0);

  const R = codec(Reading);
  const reading = new Uint8Array(R.maxSize);
  const rn = R.encode({ id: 7, ts: 1732200000.25, temp: 21.5, flags: 5, name: 'greenhouse-1',
    samples: Int16Array.from([-3, -2, -1, 0, 1, 2, 3, 4]) }, reading, 0);

  const P = codec(Ping);
  const ping = new Uint8Array(P.maxSize);
  const pn = P.encode({ seq: 0x1234, ok: true }, ping, 0);

  return {
    'header-request': hex(frame.subarray(0, 20), [4, 4, 8]),
    'frame-request': hex(wire.subarray(0, wireLen)),
    'codec-reading': hex(reading.subarray(0, rn), [4, 8, 4, 1, 1, 16]),
    'codec-ping': hex(ping.subarray(0, pn)),
    'fingerprint-reading': fingerprintExample(R.canonical, R.fingerprint),
    ...secureDocExamples(),
    ...canDocExamples(),
  };
}

/** The link security examples of §7 (the same bytes as test/vectors/secure-frames.json). */
function secureDocExamples(): Record<string, string> {
  const v = secureExamples();
  return {
    'secure-request': hex(v.request, [4, 4, 8, 4, 1, 1]),
    'secure-open': hex(v.open, [4, 4, 8, 4, 1, 1]),
    'secure-accept': hex(v.accept, [4, 4, 8, 4, 1, 1, 8, 4, 4, 4]),
    'secure-session-key': hex(v.sessionKey),
    'secure-frame': hex(v.sealed, [4, 4, 8, 4, 4, 4]),
  };
}

/** The error-code table as Markdown rows, by code. */
export function errorRows(): string {
  const rows = ['| code | name | meaning |', '|---|---|---|'];
  for (const e of [...errorTable].sort((a, b) => a.code - b.code)) rows.push(`| ${e.code} | ${e.name} | ${e.hint} |`);
  return rows.join('\n');
}

const BLOCK = /```hex example=([a-z0-9-]+)\n([\s\S]*?)\n```/g;
const TABLE = /<!-- errors:begin -->\n([\s\S]*?)\n<!-- errors:end -->/;

/** The examples and the error table as the document has them. */
export function documented(doc: string): { examples: Record<string, string>; errors: string | undefined } {
  const out: Record<string, string> = {};
  for (const m of doc.matchAll(BLOCK)) out[m[1]!] = m[2]!;
  return { examples: out, errors: TABLE.exec(doc)?.[1] };
}

/** The document with every example block and the error table replaced by the computed ones. */
export function rewrite(doc: string): string {
  const ex = examples();
  return doc
    .replace(BLOCK, (all, name: string) => (name in ex ? '```hex example=' + name + '\n' + ex[name] + '\n```' : all))
    .replace(TABLE, `<!-- errors:begin -->\n${errorRows()}\n<!-- errors:end -->`);
}
