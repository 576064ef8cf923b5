// `npm run demo`: one sensor reading, all the way down to the bytes on a UART and back.
// Declares a schema, encodes a message, puts a 20-byte header in front, frames it with COBS +
// CRC-32C for a byte stream, then feeds the wire bytes to the deframer in small chunks (as a UART
// delivers them), validates the header and decodes the message again — printing every layer.
// See docs/wire-format.md for the byte tables.
import { struct, u32, f64, f32, u8, string, array, i16, methodKey, type Infer } from '../src/codec/index.ts';
import { Header, HEADER_BYTES, KIND_REQUEST, readHeader, writeHeader } from '../src/wire/header.ts';
import { frameEncode, frameMaxEncodedBytes } from '../src/framing/frame.ts';
import { Deframer } from '../src/framing/deframer.ts';
import { errorInfo } from '../src/wire/error-names.ts';

const json = process.argv.includes('--json');
const log = (s = '') => { if (!json) console.log(s); };
const hex = (b: Uint8Array, from = 0, to = b.length) =>
  Array.from(b.subarray(from, to), (x) => x.toString(16).padStart(2, '0')).join(' ');

// 1. The schema, declared once. `Reading` is both the TypeScript type and the codec.
const Reading = struct('Reading', {
  id: u32, ts: f64, temp: f32, flags: u8, name: string(16), samples: array(i16, 8),
});
type Reading = Infer<typeof Reading>;
const ReadReq = struct('ReadReq', { channel: u8 });

const value: Reading = {
  id: 7, ts: 1732200000.25, temp: 21.5, flags: 0b101, name: 'greenhouse-1',
  samples: Int16Array.from([-3, -2, -1, 0, 1, 2, 3, 4]),
};

log('Cell demo: one reading from a sensor cell, down to the wire and back\n');
log(`schema     ${Reading.canonical}`);
log(`fingerprint ${Reading.fingerprintHex}   fixed part ${Reading.fixedSize} B, at most ${Reading.maxSize} B`);

// 2. Encode into a buffer we own, after room for the header.
const plain = new Uint8Array(HEADER_BYTES + Reading.maxSize);
const payloadBytes = Reading.encode(value, plain, HEADER_BYTES);

// 3. The 20-byte header: a RESPONSE would look the same; here a REQUEST-shaped frame for the demo.
const key = methodKey('thermo', 'read', ReadReq, Reading);
const h = new Header();
h.kind = KIND_REQUEST; h.callId = 42; h.length = payloadBytes;
h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n);
writeHeader(h, plain, 0);
const frameBytes = HEADER_BYTES + payloadBytes;

log('\nheader (20 bytes, little-endian)');
log(`  ${hex(plain, 0, 1).padEnd(24)} magic 0xCE`);
log(`  ${hex(plain, 1, 2).padEnd(24)} version 1, kind 2 = REQUEST`);
log(`  ${hex(plain, 2, 4).padEnd(24)} flags 0, channel 0 (app)`);
log(`  ${hex(plain, 4, 8).padEnd(24)} call id 42`);
log(`  ${hex(plain, 8, 16).padEnd(24)} method key ${key.toString(16).padStart(16, '0')} = thermo.read(ReadReq)->Reading`);
log(`  ${hex(plain, 16, 20).padEnd(24)} payload length ${payloadBytes}`);
log(`\npayload (${payloadBytes} bytes: fixed part ${Reading.fixedSize}, then the string tail)`);
const p = HEADER_BYTES;
log(`  ${hex(plain, p, p + 4).padEnd(24)} id u32 = ${value.id}`);
log(`  ${hex(plain, p + 4, p + 12).padEnd(24)} ts f64 = ${value.ts}`);
log(`  ${hex(plain, p + 12, p + 16).padEnd(24)} temp f32 = ${value.temp}`);
log(`  ${hex(plain, p + 16, p + 17).padEnd(24)} flags u8 = ${value.flags}`);
log(`  ${hex(plain, p + 17, p + 18).padEnd(24)} name length = ${value.name.length} (string<16>: bytes follow in the tail)`);
log(`  ${hex(plain, p + 18, p + 34)}  samples [i16;8]`);
log(`  ${hex(plain, p + 34, p + payloadBytes).padEnd(24)} tail: "${value.name}"`);

// 4. Frame for a byte stream: COBS(header + payload + CRC-32C) + 0x00.
const wire = new Uint8Array(frameMaxEncodedBytes(frameBytes));
const wireBytes = frameEncode(plain, 0, frameBytes, wire, 0);
log(`\non the wire: ${wireBytes} bytes = COBS(${frameBytes} + 4 CRC) + 0x00 delimiter — no zero byte inside`);
log(`  ${hex(wire, 0, wireBytes)}`);

// 5. Receive: feed the wire bytes 7 at a time, as a UART would deliver them, plus line noise.
const deframer = new Deframer(HEADER_BYTES + 1024);
const noise = Uint8Array.from([0x13, 0x37, 0x00]);
deframer.feed(noise);
while (deframer.next() > 0) { /* noise yields no frame; it is counted */ }
const got = Reading.create();
const rh = new Header();
let received = 0;
for (let at = 0; at < wireBytes; at += 7) {
  deframer.feed(wire, at, Math.min(7, wireBytes - at));
  for (let n = deframer.next(); n > 0; n = deframer.next()) {
    const r = readHeader(deframer.frame, 0, n, 1024, rh);
    if (r < 0) { log(`header rejected: ${errorInfo(-r).name}`); continue; }
    Reading.decode(deframer.frame, HEADER_BYTES, got, HEADER_BYTES + rh.length);
    received++;
  }
}
log(`\nreceived ${received} frame; noise before it counted, not thrown: crc errors ${deframer.errCrc}, cobs errors ${deframer.errCobs}, too short ${deframer.errTooShort}`);
log(`decoded: ${JSON.stringify({ ...got, samples: Array.from(got.samples) })}`);
const same = got.id === value.id && got.name === value.name && got.ts === value.ts && got.samples.every((s, i) => s === value.samples[i]);
log(same ? 'round trip: identical ✔' : 'round trip: DIFFERENT ✘');

if (json) {
  console.log(JSON.stringify({ canonical: Reading.canonical, fingerprint: Reading.fingerprintHex, payloadBytes, wireBytes, wire: hex(wire, 0, wireBytes), decoded: { ...got, samples: Array.from(got.samples) }, identical: same }));
}
process.exit(same ? 0 : 1);
