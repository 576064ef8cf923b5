// cell/secure — link security for device links (docs/security.md): the secured link, key files
// and the key ring, the fleet → device key derivation, the device's provisioning record, and the
// portable session code the firmware runs.
export { SecureLink, type SecureEvent, type SecureLinkOptions, type SecureHostOptions, type SecureDeviceOptions } from './secure-link.ts';
export {
  KeyRing, readKeyFile, writeKeyFile, writeSecretFile, parseKeyFile, formatKeyFile, deviceKeyFromFleet, newKey, parseDeviceId, hexOf,
  type KeyFileEntry,
} from './secure-keys.ts';
export { nextBootCounter } from './secure-boot-counter.ts';
export { SecureSession, SecureCounters } from '../secure/session.ts';
export { SecureDevice } from '../secure/device.ts';
export { readProvision, writeProvision, ProvisionRecord } from '../secure/provision.ts';
export { ReplayWindow, REPLAY_STRICT, REPLAY_WINDOW_64 } from '../secure/replay.ts';
