// The device's provisioning record (docs/security.md §2 "Keys"): 64 bytes written to a key page
// of the device's flash when it is flashed; the host writes it (`cell key provision`), the device
// reads it at boot. Portable core (tsc + asc); no allocation after construction.
//
//   0 4 magic "CSEC"   4 1 format (1)   5 1 suite   6 2 zero   8 8 device id   16 32 device key
//   48 12 zero   60 4 CRC-32C of bytes 0..59
// An erased page (all 0xFF) or a torn write fails the magic or the CRC: the device is then not secure.
import { readU32LE, writeU32LE } from '../wire/bytes.ts';
import { crc32cSmall } from '../framing/crc32c.ts';
import { ERR_SECURE_BAD_LENGTH, ERR_SECURE_KEY_FILE, ERR_SECURE_UNSUPPORTED_SUITE } from '../wire/errors.ts';
import {
  SEC_DEVICE_ID_BYTES, SEC_KEY_BYTES, SEC_PROVISION_BYTES, SEC_PROVISION_FORMAT, SEC_PROVISION_MAGIC,
  SEC_PROVISION_OFF_CRC, SEC_PROVISION_OFF_DEVICE_ID, SEC_PROVISION_OFF_FORMAT, SEC_PROVISION_OFF_KEY,
  SEC_PROVISION_OFF_SUITE, SEC_SUITE_CHACHA20_POLY1305,
} from '../wire/layouts.ts';

export class ProvisionRecord {
  suite: u8 = 0;
  readonly deviceId: Uint8Array = new Uint8Array(SEC_DEVICE_ID_BYTES);
  readonly key: Uint8Array = new Uint8Array(SEC_KEY_BYTES);
}

/** Parse the record at buf[off, off+64) into `out`. Returns 64, or -ERR_SECURE_KEY_FILE (blank, torn, foreign), -ERR_SECURE_UNSUPPORTED_SUITE, -ERR_SECURE_BAD_LENGTH. */
export function readProvision(buf: Uint8Array, off: i32, out: ProvisionRecord): i32 {
  if (off < 0 || off + SEC_PROVISION_BYTES > buf.length) return -ERR_SECURE_BAD_LENGTH;
  if (readU32LE(buf, off) != SEC_PROVISION_MAGIC || buf[off + SEC_PROVISION_OFF_FORMAT] != SEC_PROVISION_FORMAT) return -ERR_SECURE_KEY_FILE;
  if (crc32cSmall(buf, off, SEC_PROVISION_OFF_CRC) != readU32LE(buf, off + SEC_PROVISION_OFF_CRC)) return -ERR_SECURE_KEY_FILE;
  const suite = buf[off + SEC_PROVISION_OFF_SUITE];
  if (suite != SEC_SUITE_CHACHA20_POLY1305) return -ERR_SECURE_UNSUPPORTED_SUITE;
  out.suite = suite;
  for (let i = 0; i < SEC_DEVICE_ID_BYTES; i++) out.deviceId[i] = buf[off + SEC_PROVISION_OFF_DEVICE_ID + i];
  for (let i = 0; i < SEC_KEY_BYTES; i++) out.key[i] = buf[off + SEC_PROVISION_OFF_KEY + i];
  return SEC_PROVISION_BYTES;
}

/** Write a record for (deviceId, key) at buf[off, off+64); returns 64 or -ERR_SECURE_BAD_LENGTH. */
export function writeProvision(deviceId: Uint8Array, key: Uint8Array, buf: Uint8Array, off: i32): i32 {
  if (off < 0 || off + SEC_PROVISION_BYTES > buf.length || deviceId.length != SEC_DEVICE_ID_BYTES || key.length != SEC_KEY_BYTES) {
    return -ERR_SECURE_BAD_LENGTH;
  }
  for (let i = 0; i < SEC_PROVISION_BYTES; i++) buf[off + i] = 0;
  writeU32LE(buf, off, SEC_PROVISION_MAGIC);
  buf[off + SEC_PROVISION_OFF_FORMAT] = SEC_PROVISION_FORMAT;
  buf[off + SEC_PROVISION_OFF_SUITE] = SEC_SUITE_CHACHA20_POLY1305;
  for (let i = 0; i < SEC_DEVICE_ID_BYTES; i++) buf[off + SEC_PROVISION_OFF_DEVICE_ID + i] = deviceId[i];
  for (let i = 0; i < SEC_KEY_BYTES; i++) buf[off + SEC_PROVISION_OFF_KEY + i] = key[i];
  writeU32LE(buf, off + SEC_PROVISION_OFF_CRC, crc32cSmall(buf, off, SEC_PROVISION_OFF_CRC));
  return SEC_PROVISION_BYTES;
}
