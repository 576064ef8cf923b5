// Generates firmware/thermo/gen/{codec,consts}.ts from firmware/thermo/schema.ts, and
// gen/schema.json: the cell's describe() answer, which the device does not serve (16 KB flash
// budget; docs/firmware.md) — `cell call --port /dev/ttyX --schema firmware/thermo/gen/schema.json`
// (run by scripts/build-firmware.mjs before asc: `node --import tsx firmware/thermo/gen.ts`).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeCell } from '../../src/codec/schema-json.ts';
import type { CellDef } from '../../src/rpc/index.ts';
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
  const schema = join(dir, 'schema.json');
  const text = JSON.stringify(describeCell(ThermoDef as CellDef), null, 2) + '\n';
  if (!existsSync(schema) || readFileSync(schema, 'utf8') !== text) { writeFileSync(schema, text); written.push('schema.json'); }
  if (written.length) console.error(`gen     firmware/thermo/gen/{${written.join(',')}}`);
}
