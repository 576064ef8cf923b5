// Generates test/vectors/boot.json: the boot protocol's messages (src/flash/boot-wire.ts,
// docs/flash.md §3–§4) as golden bytes (review every diff by hand).
// Run: node --import tsx test/vectors/generators/boot.mts
import { writeFileSync } from 'node:fs';
import { toHex } from '../../helpers/hex.ts';
import { encodeBootMessage, type BootMessage } from '../boot-messages.ts';
import { signManifest } from '../../../src/flash/manifest.ts';

const cases: { name: string; message: string; fields: Record<string, unknown>; hex: string }[] = [];
function add(name: string, m: BootMessage): string {
  const hex = toHex(encodeBootMessage(m));
  cases.push({ name, message: m.message, fields: m.fields, hex });
  return hex;
}

const sha = Array.from({ length: 32 }, (_, i) => i).map((x) => x.toString(16).padStart(2, '0')).join('');
const unsigned = add('manifest, unsigned: 7745 bytes, version 1.2.3, board sim', {
  message: 'manifest',
  fields: { imageBytes: 7745, version: '1.2.3', board: 'sim', sha256: sha, key: '00'.repeat(32), signature: '00'.repeat(64) },
});
// Ed25519 is deterministic: a fixed secret key gives a fixed signature.
const secret = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const signed = signManifest(Uint8Array.from(Buffer.from(unsigned, 'hex')), secret);
add('manifest, signed by the key 0102..20', {
  message: 'manifest',
  fields: {
    imageBytes: 7745, version: '1.2.3', board: 'sim', sha256: sha,
    key: Buffer.from(signed.subarray(64, 96)).toString('hex'), signature: Buffer.from(signed.subarray(96, 160)).toString('hex'),
  },
});
add('INFO answer: app on trial from slot 1, slot 0 valid 1.0.0', {
  message: 'info',
  fields: {
    protocol: 1, mode: 2, bootloaderVersion: 1, board: 'sim', maxImageBytes: 131072, chunkBytes: 1024, window: 4,
    runningSlot: 1, activeSlot: 0, trialSlot: 1, flags: 1,
    slot0: { state: 1, version: '1.0.0', imageBytes: 7745, shaPrefix: 0x972ada80 },
    slot1: { state: 1, version: '1.1.0', imageBytes: 8001, shaPrefix: 0x04030201 },
  },
});
add('INFO answer: blank device in the bootloader', {
  message: 'info',
  fields: {
    protocol: 1, mode: 1, bootloaderVersion: 1, board: 'mps2-an385', maxImageBytes: 65536, chunkBytes: 512, window: 2,
    runningSlot: 255, activeSlot: 255, trialSlot: 255, flags: 0,
    slot0: { state: 0, version: '0.0.0', imageBytes: 0, shaPrefix: 0 },
    slot1: { state: 0, version: '0.0.0', imageBytes: 0, shaPrefix: 0 },
  },
});
add('BEGIN answer: slot 1, resumed, 8 chunks of 1024, 5 received', { message: 'begin-res', fields: { slot: 1, resumed: 1, chunkBytes: 1024, chunkCount: 8, chunksReceived: 5 } });
add('CHUNK answer: offset 3072, 4 of 8', { message: 'chunk-res', fields: { offset: 3072, chunksReceived: 4, chunkCount: 8 } });
add('COMMIT/CONFIRM answer: slot 0, version 2.0.1', { message: 'slot-res', fields: { slot: 0, version: '2.0.1' } });
add('STATUS answer: receiving into slot 1, 10 chunks, 0 2 3 9 received', {
  message: 'status', fields: { state: 1, slot: 1, chunkBytes: 1024, imageBytes: 9300, chunkCount: 10, chunksReceived: 4, bitmap: '0d02' },
});
add('STATUS answer: no session', { message: 'status', fields: { state: 0, slot: 255, chunkBytes: 1024, imageBytes: 0, chunkCount: 0, chunksReceived: 0, bitmap: '' } });
add('INFO request frame, call id 7', { message: 'request', fields: { op: 1, callId: 7, payload: '' } });
add('CHUNK request frame, call id 9: offset 1024, 4 bytes de ad be ef', { message: 'chunk-req', fields: { callId: 9, offset: 1024, data: 'deadbeef' } });
add('ERROR answer to CHUNK, call id 9: 701 BootChunkCrc', { message: 'error', fields: { op: 3, callId: 9, code: 701 } });
const infoV2 = add('INFO answer, protocol 2: verified boot, minimum security version 3, app from slot 0 (security 3), slot 1 rejected (security 2)', {
  message: 'info',
  fields: {
    protocol: 2, mode: 2, bootloaderVersion: 1, board: 'lm3s6965evb', maxImageBytes: 28672, chunkBytes: 1024, window: 4,
    runningSlot: 0, activeSlot: 0, trialSlot: 255, flags: 4, minSecurityVersion: 3,
    slot0: { state: 1, version: '2.1.0', imageBytes: 16384, shaPrefix: 0x11223344, securityVersion: 3 },
    slot1: { state: 3, version: '2.0.0', imageBytes: 16000, shaPrefix: 0x55667788, securityVersion: 2 },
  },
});

const m0 = cases[0]!.hex;
const flip = (hex: string, byte: number, v: number): string => hex.slice(0, byte * 2) + v.toString(16).padStart(2, '0') + hex.slice(byte * 2 + 2);
const invalid = [
  { name: 'manifest: bad magic', message: 'manifest', hex: flip(m0, 0, 0x44), error: 711 },
  { name: 'manifest: format 2', message: 'manifest', hex: flip(m0, 4, 2), error: 711 },
  { name: 'manifest: reserved byte set', message: 'manifest', hex: flip(m0, 6, 1), error: 711 },
  { name: 'manifest: size 0', message: 'manifest', hex: flip(flip(m0, 8, 0), 9, 0), error: 711 },
  { name: 'manifest: board with a space', message: 'manifest', hex: flip(m0, 17, 0x20), error: 711 },
  { name: 'manifest: empty board', message: 'manifest', hex: flip(flip(flip(m0, 16, 0), 17, 0), 18, 0), error: 711 },
  { name: 'manifest: one byte short', message: 'manifest', hex: m0.slice(0, -2), error: 711 },
  { name: 'INFO: mode 3', message: 'info', hex: flip(cases[2]!.hex, 1, 3), error: 700 },
  { name: 'INFO: running slot 2', message: 'info', hex: flip(cases[2]!.hex, 27, 2), error: 700 },
  { name: 'INFO: window 0', message: 'info', hex: flip(cases[2]!.hex, 26, 0), error: 700 },
  { name: 'INFO: slot state 4', message: 'info', hex: flip(cases[2]!.hex, 32, 4), error: 700 },
  { name: 'INFO protocol 1: flag bit 2 (protocol 2 only)', message: 'info', hex: flip(cases[2]!.hex, 30, 5), error: 700 },
  { name: 'INFO protocol 1: byte 31 set (protocol 2 only)', message: 'info', hex: flip(cases[2]!.hex, 31, 1), error: 700 },
  { name: 'INFO protocol 1: a slot\'s security version (protocol 2 only)', message: 'info', hex: flip(cases[2]!.hex, 33, 1), error: 700 },
  { name: 'INFO protocol 2: flag bit 3', message: 'info', hex: flip(infoV2, 30, 0x0c), error: 700 },
  { name: 'INFO protocol 2: slot byte 2 set', message: 'info', hex: flip(infoV2, 34, 1), error: 700 },
  { name: 'BEGIN answer: slot 2', message: 'begin-res', hex: flip(cases[4]!.hex, 0, 2), error: 700 },
  { name: 'BEGIN answer: received > count', message: 'begin-res', hex: flip(cases[4]!.hex, 6, 9), error: 700 },
  { name: 'STATUS answer: bitmap one byte short', message: 'status', hex: cases[7]!.hex.slice(0, -2), error: 700 },
  { name: 'COMMIT answer: reserved byte set', message: 'slot-res', hex: flip(cases[6]!.hex, 2, 1), error: 700 },
];

writeFileSync(new URL('../boot.json', import.meta.url), JSON.stringify({
  description: 'Boot protocol (docs/flash.md): manifest and boot messages. cases: encode(fields) == hex and decode(hex) == fields; request/answer frames are header + payload (before COBS). invalid: decode(hex) == -error.',
  cases, invalid,
}, null, 1) + '\n');
console.log(`boot.json: ${cases.length} cases, ${invalid.length} invalid`);
