// cell/flash — flash a signed image into a device's bootloader over UART (docs/flash.md).
// serialport loads on the first open of a port, never at import; the boot protocol's wire format
// (channel 3) is boot-wire.ts, shared with the firmware.
export { flashImage, deviceInfo, decodeDeviceInfo, BOOT_MODE_FIX, MODE_BOOTLOADER, SLOT_VALID } from './flash.ts';
export type { DeviceInfo, FlashEvent, FlashOptions, FlashResult } from './flash.ts';
export { buildManifest, signManifest, describeManifest, checkImage, parseVersion, formatVersion, boardName } from './manifest.ts';
export type { ManifestInfo, CheckOptions } from './manifest.ts';
export { generateKeyPair, writeKeyPair, readKeyFile, readTrustedKeysFile, trustedKeysFromToml, type KeyPair } from './keys.ts';
export { humanProgress, progressLine, formatBytes } from './progress.ts';
