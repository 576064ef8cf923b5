// Generates firmware/thermo/gen/{codec,consts}.ts from firmware/thermo/schema.ts
// (run by scripts/build-firmware.mjs before asc: `node --import tsx firmware/thermo/gen.ts`).
import { fileURLToPath } from 'node:url';
import { generateFirmwareCell, writeFirmwareCell, type FirmwareCellFiles } from '../shared/gen-cell.ts';
import {
  ThermoDef, DeviceInfo, cellFingerprint, THERMO_CHANNELS, THERMO_FW_VERSION, THERMO_MAX_FRAME_BYTES,
} from './schema.ts';

/**
 * info() always answers the same DeviceInfo: its payload is encoded here by the Node codec, and
 * the device copies it (no string encoder and no UTF-8 validator in the firmware).
 */
export function thermoInfoPayload(): Uint8Array {
  const buf = new Uint8Array(DeviceInfo.maxSize);
  const n = DeviceInfo.encode({ name: ThermoDef.name, fwVersion: THERMO_FW_VERSION, schema: cellFingerprint(ThermoDef) }, buf, 0);
  return buf.slice(0, n);
}

export function generateThermo(): FirmwareCellFiles {
  return generateFirmwareCell(ThermoDef, {
    source: 'firmware/thermo/schema.ts',
    maxFrameBytes: THERMO_MAX_FRAME_BYTES,
    extra: {
      SCHEMA_FINGERPRINT: cellFingerprint(ThermoDef),
      SENSOR_CHANNELS: THERMO_CHANNELS,
      INFO_PAYLOAD: thermoInfoPayload(),
    },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL('./gen/', import.meta.url));
  const written = writeFirmwareCell(dir, generateThermo());
  if (written.length) console.error(`gen     firmware/thermo/gen/{${written.join(',')}}`);
}
