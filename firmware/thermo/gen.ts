// Generates firmware/thermo/gen/{codec,consts}.ts from firmware/thermo/schema.ts
// (run by scripts/build-firmware.mjs before asc: `node --import tsx firmware/thermo/gen.ts`).
import { fileURLToPath } from 'node:url';
import { generateFirmwareCell, writeFirmwareCell, type FirmwareCellFiles } from '../shared/gen-cell.ts';
import {
  ThermoDef, cellFingerprint, THERMO_CHANNELS, THERMO_FW_VERSION, THERMO_MAX_FRAME_BYTES,
} from './schema.ts';

export function generateThermo(): FirmwareCellFiles {
  return generateFirmwareCell(ThermoDef, {
    source: 'firmware/thermo/schema.ts',
    maxFrameBytes: THERMO_MAX_FRAME_BYTES,
    extra: {
      SCHEMA_FINGERPRINT: cellFingerprint(ThermoDef),
      SENSOR_CHANNELS: THERMO_CHANNELS,
      CELL_NAME: ThermoDef.name,
      FW_VERSION: THERMO_FW_VERSION,
    },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL('./gen/', import.meta.url));
  const written = writeFirmwareCell(dir, generateThermo());
  if (written.length) console.error(`gen     firmware/thermo/gen/{${written.join(',')}}`);
}
