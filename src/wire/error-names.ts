// Stable names and one-line hints for every error code (docs/wire-format.md §6).
// Node-side only (strings and a map); the portable core deals in numbers.
import * as E from './errors.ts';

export interface ErrorInfo {
  readonly code: number;
  /** Stable identifier, e.g. "FrameCrc". Never changes once published. */
  readonly name: string;
  /** What probably happened and what to do about it. */
  readonly hint: string;
}

const table: ErrorInfo[] = [
  { code: E.ERR_WIRE_TRUNCATED, name: 'WireTruncated', hint: 'fewer than 20 header bytes: the frame was cut short' },
  { code: E.ERR_WIRE_BAD_MAGIC, name: 'WireBadMagic', hint: 'first byte is not 0xCE: the peer does not speak Cell, or the stream is out of sync' },
  { code: E.ERR_WIRE_BAD_VERSION, name: 'WireBadVersion', hint: 'the peer speaks another major version of the Cell wire format: upgrade one side' },
  { code: E.ERR_WIRE_BAD_KIND, name: 'WireBadKind', hint: 'unknown frame kind (low nibble of byte 1)' },
  { code: E.ERR_WIRE_BAD_FLAGS, name: 'WireBadFlags', hint: 'reserved flag bits are set: the peer uses a newer protocol' },
  { code: E.ERR_WIRE_FLAGS_UNSUPPORTED, name: 'WireFlagsUnsupported', hint: 'the frame is flagged AUTH, ENCRYPTED or MORE and this link has no key or reassembly for it: configure link security (docs/security.md) on both ends' },
  { code: E.ERR_WIRE_LENGTH_TOO_LARGE, name: 'WireLengthTooLarge', hint: 'payload length exceeds the link maximum or the bytes received' },
  { code: E.ERR_WIRE_BUFFER_TOO_SMALL, name: 'WireBufferTooSmall', hint: 'the output buffer has fewer than 20 bytes left for the header' },
  { code: E.ERR_FRAME_COBS, name: 'FrameCobs', hint: 'invalid COBS encoding: line noise or a lost byte' },
  { code: E.ERR_FRAME_CRC, name: 'FrameCrc', hint: 'CRC-32C mismatch: the frame was corrupted on the line' },
  { code: E.ERR_FRAME_OVERSIZE, name: 'FrameOversize', hint: 'frame longer than the configured maximum: raise maxFrameBytes on both ends or send less' },
  { code: E.ERR_FRAME_TOO_SHORT, name: 'FrameTooShort', hint: 'frame shorter than its CRC' },
  { code: E.ERR_FRAME_BUFFER_TOO_SMALL, name: 'FrameBufferTooSmall', hint: 'the output buffer is too small for the encoded frame (see cobsMaxEncodedBytes)' },
  { code: E.ERR_CODEC_TRUNCATED, name: 'CodecTruncated', hint: 'the message is shorter than its schema requires' },
  { code: E.ERR_CODEC_BAD_BOOL, name: 'CodecBadBool', hint: 'a bool byte is neither 0 nor 1' },
  { code: E.ERR_CODEC_LENGTH_OVER_BOUND, name: 'CodecLengthOverBound', hint: 'a string, bytes or list length exceeds its declared maximum' },
  { code: E.ERR_CODEC_INVALID_UTF8, name: 'CodecInvalidUtf8', hint: 'a string field is not valid UTF-8' },
  { code: E.ERR_CODEC_UNKNOWN_ENUM, name: 'CodecUnknownEnum', hint: 'an enum value the schema does not declare: the peer may have a newer schema' },
  { code: E.ERR_CODEC_BAD_OPTIONAL_TAG, name: 'CodecBadOptionalTag', hint: 'an optional presence byte is neither 0 nor 1' },
  { code: E.ERR_CODEC_BUFFER_TOO_SMALL, name: 'CodecBufferTooSmall', hint: 'the output buffer is smaller than the encoded message (allocate schema.maxSize bytes)' },
  { code: E.ERR_CODEC_VALUE_OUT_OF_RANGE, name: 'CodecValueOutOfRange', hint: 'a value does not fit its field (integer range, string or list longer than its bound)' },
  { code: E.ERR_CODEC_TRAILING_BYTES, name: 'CodecTrailingBytes', hint: 'bytes left over after the message: the peer may use another schema' },
  { code: E.ERR_CODEC_BAD_VALUE, name: 'CodecBadValue', hint: 'a value has the wrong type for its field' },
  { code: E.ERR_RPC_TIMEOUT, name: 'Timeout', hint: 'no answer before the deadline: is the peer alive and not overloaded?' },
  { code: E.ERR_RPC_UNAVAILABLE, name: 'Unavailable', hint: 'the peer cannot be reached right now: it will be retried when the link comes back' },
  { code: E.ERR_RPC_SCHEMA_MISMATCH, name: 'SchemaMismatch', hint: 'the peer has a different schema for this method: run `cell gen` and rebuild, or update the peer' },
  { code: E.ERR_RPC_UNKNOWN_METHOD, name: 'UnknownMethod', hint: 'the peer has no such method' },
  { code: E.ERR_RPC_CANCELLED, name: 'Cancelled', hint: 'the call was cancelled by its caller' },
  { code: E.ERR_RPC_CLOSED, name: 'Closed', hint: 'the connection was closed before the answer arrived' },
  { code: E.ERR_RPC_MALFORMED, name: 'Malformed', hint: 'the peer sent bytes that do not decode' },
  { code: E.ERR_RPC_UNAUTHORIZED, name: 'Unauthorized', hint: 'the peer refused the caller\'s identity' },
  { code: E.ERR_RPC_OVERLOADED, name: 'Overloaded', hint: 'the peer has too many calls in flight: back off and retry' },
  { code: E.ERR_RPC_INTERNAL, name: 'Internal', hint: 'the handler failed without a declared error: see the cell\'s log' },
  { code: E.ERR_LINK_CLOSED, name: 'LinkClosed', hint: 'the link is closed' },
  { code: E.ERR_LINK_IO, name: 'LinkIo', hint: 'the operating system reported an I/O error on the link' },
  { code: E.ERR_LINK_MTU_EXCEEDED, name: 'LinkMtuExceeded', hint: 'the frame is larger than the link MTU' },
  { code: E.ERR_LINK_SHM_UNAVAILABLE, name: 'LinkShmUnavailable', hint: 'shared memory is not available: build the addon with `npm run build:native`, or use the socket' },
  { code: E.ERR_LINK_SHM_CORRUPT, name: 'LinkShmCorrupt', hint: 'the peer wrote indexes or lengths out of range into a shared-memory ring; the link was closed' },
  { code: E.ERR_MESH_NO_PROVIDERS, name: 'MeshNoProviders', hint: 'no node of the mesh provides this cell: is it running and announced? check bootstrap peers / mDNS' },
  { code: E.ERR_MESH_DIAL_FAILED, name: 'MeshDialFailed', hint: 'a mesh peer could not be dialled, or it refused the cell\'s protocol' },
  { code: E.ERR_MESH_STOPPED, name: 'MeshStopped', hint: 'the mesh node is stopped' },
  { code: E.ERR_MESH_BAD_KEY, name: 'MeshBadKey', hint: 'the mesh key file is not an Ed25519 libp2p private key: move it away to create a new identity' },
  { code: E.ERR_MESH_UNSUPPORTED, name: 'MeshUnsupported', hint: 'a mesh transport or feature is not available on this machine (e.g. the QUIC binary)' },
  { code: E.ERR_BOOT_BAD_REQUEST, name: 'BootBadRequest', hint: 'a boot-channel message does not decode: host and bootloader speak different boot protocol versions' },
  { code: E.ERR_BOOT_CHUNK_CRC, name: 'BootChunkCrc', hint: 'an image chunk does not match its CRC-32C: it is sent again' },
  { code: E.ERR_BOOT_IMAGE_TOO_LARGE, name: 'BootImageTooLarge', hint: 'the image is larger than a slot of the device (see `maxImageBytes` in the device info)' },
  { code: E.ERR_BOOT_WRONG_BOARD, name: 'BootWrongBoard', hint: 'the image was built for another board than the device reports' },
  { code: E.ERR_BOOT_HASH_MISMATCH, name: 'BootHashMismatch', hint: 'the SHA-256 of the written image differs from the manifest: the image was not installed' },
  { code: E.ERR_BOOT_NO_SESSION, name: 'BootNoSession', hint: 'no transfer is open on the device (it was reset): start again with BEGIN' },
  { code: E.ERR_BOOT_INCOMPLETE, name: 'BootIncomplete', hint: 'COMMIT before every chunk of the image arrived' },
  { code: E.ERR_BOOT_NOT_IN_BOOT_MODE, name: 'BootNotInBootMode', hint: 'the device runs its application: ask it to enter the bootloader first (ENTER_BOOT)' },
  { code: E.ERR_BOOT_FLASH_IO, name: 'BootFlashIo', hint: 'the device could not erase, write or read its flash' },
  { code: E.ERR_BOOT_BAD_OFFSET, name: 'BootBadOffset', hint: 'a chunk offset or length does not fit the image being written' },
  { code: E.ERR_BOOT_NO_TRIAL, name: 'BootNoTrial', hint: 'CONFIRM while no trial image runs: nothing to confirm' },
  { code: E.ERR_BOOT_BAD_MANIFEST, name: 'BootBadManifest', hint: 'the image manifest does not decode (wrong magic, version or size)' },
  { code: E.ERR_BOOT_UNSIGNED, name: 'BootUnsigned', hint: 'the image has no publisher signature: sign it with `cell sign`, or pass --insecure for a development board' },
  { code: E.ERR_BOOT_BAD_SIGNATURE, name: 'BootBadSignature', hint: 'the manifest signature does not verify: the image or its manifest was changed after signing' },
  { code: E.ERR_BOOT_UNTRUSTED_KEY, name: 'BootUntrustedKey', hint: 'the image is signed by a key that is not among the trusted publisher keys' },
  { code: E.ERR_BOOT_NO_ANSWER, name: 'BootNoAnswer', hint: 'nothing answers on the boot channel: the device is off, on another port, or runs an app without the boot service' },
  { code: E.ERR_BOOT_IMAGE_SIZE, name: 'BootImageSize', hint: 'the image file is not the size its manifest states (truncated or padded)' },
  { code: E.ERR_BOOT_ROLLBACK, name: 'BootRollback', hint: 'the image\'s security version is below the minimum the device has confirmed (an older, possibly vulnerable image): flash a newer one, or sign it with `cell sign --allow-downgrade`' },
  { code: E.ERR_SECURE_BAD_TAG, name: 'SecureBadTag', hint: 'a secured frame failed its authentication tag: forged, replayed from another session, or the two ends hold different keys (check the device key or fleet key)' },
  { code: E.ERR_SECURE_BAD_LENGTH, name: 'SecureBadLength', hint: 'a secured frame is shorter than its 12-byte trailer, or a range does not fit its buffer' },
  { code: E.ERR_SECURE_REPLAY, name: 'SecureReplay', hint: 'a secured frame was not newer than one already accepted: replayed or duplicated, dropped' },
  { code: E.ERR_SECURE_NO_SESSION, name: 'SecureNoSession', hint: 'a secured frame arrived while no session was open (the peer restarted): a new session is being opened' },
  { code: E.ERR_SECURE_PLAINTEXT_REFUSED, name: 'SecurePlaintextRefused', hint: 'the link must be secured and the peer sent plaintext: give both ends the key (`--key`, docs/security.md)' },
  { code: E.ERR_SECURE_UNKNOWN_DEVICE, name: 'SecureUnknownDevice', hint: 'no key for this device id: pass its device key file, or the fleet key it was provisioned from (`--key`)' },
  { code: E.ERR_SECURE_LOCKOUT, name: 'SecureLockout', hint: 'too many frames with bad tags in one session: the session was dropped (an attack, or the wrong key)' },
  { code: E.ERR_SECURE_KEY_FILE, name: 'SecureKeyFile', hint: 'the key file cannot be used: it must exist, be yours, have mode 0600 (`chmod 600 FILE`) and hold one key line (`cell key new`)' },
  { code: E.ERR_SECURE_UNSUPPORTED_SUITE, name: 'SecureUnsupportedSuite', hint: 'the peer asked for an AEAD suite this side does not implement (suite 1 = ChaCha20-Poly1305)' },
  { code: E.ERR_SECURE_HANDSHAKE_FAILED, name: 'SecureHandshakeFailed', hint: 'the device gave no valid session answer: is it provisioned with a key, and is it the key you passed?' },
  { code: E.ERR_SECURE_COUNTER_EXHAUSTED, name: 'SecureCounterExhausted', hint: 'the session used up its frame counter: a new session is opened (rekey)' },
  { code: E.ERR_CAN_UNAVAILABLE, name: 'CanUnavailable', hint: 'SocketCAN cannot be used here: build the addon (`npm run build:native`, needs a C compiler) on Linux, or use an slcan adapter (`--can slcan:/dev/ttyACM0`)' },
  { code: E.ERR_CAN_NO_INTERFACE, name: 'CanNoInterface', hint: 'the CAN interface does not exist or is down: `ip link set can0 up type can bitrate 500000 restart-ms 100` (docs/can.md)' },
  { code: E.ERR_CAN_BUS_OFF, name: 'CanBusOff', hint: 'the CAN controller is bus-off after too many errors: check wiring, termination and bitrate; set `restart-ms 100` so it recovers by itself' },
  { code: E.ERR_CAN_TRANSFER_CRC, name: 'CanTransferCrc', hint: 'a multi-frame CAN transfer failed its CRC-16: a frame was lost, repeated or corrupted; dropped' },
  { code: E.ERR_CAN_TRANSFER_SEQUENCE, name: 'CanTransferSequence', hint: 'a CAN frame had the wrong toggle bit or transfer id for its transfer: a frame was lost or repeated; the transfer was dropped' },
  { code: E.ERR_CAN_TRANSFER_ORPHAN, name: 'CanTransferOrphan', hint: 'a CAN frame continues no transfer in progress (its start frame was lost or timed out); dropped' },
  { code: E.ERR_CAN_TRANSFER_TOO_LONG, name: 'CanTransferTooLong', hint: 'a CAN transfer is longer than this node accepts (its maximum frame): raise maxFrameBytes or send less' },
  { code: E.ERR_CAN_REASSEMBLY_FULL, name: 'CanReassemblyFull', hint: 'every CAN reassembly slot (or this source node\'s share) is busy: the transfer was dropped; a node may be flooding the bus' },
  { code: E.ERR_CAN_TRANSFER_TIMEOUT, name: 'CanTransferTimeout', hint: 'a multi-frame CAN transfer did not complete in time: its sender stopped or frames were lost' },
  { code: E.ERR_CAN_BAD_FRAME, name: 'CanBadFrame', hint: 'a CAN frame this profile does not define (reserved port or node id, short compact prefix): another protocol shares the bus, or a newer peer' },
  { code: E.ERR_CAN_STALE_ENTRY, name: 'CanStaleEntry', hint: 'a compact request names a table entry whose key check does not match: the device was reflashed; the caller relearns its table from the next HELLO' },
  { code: E.ERR_CAN_ADAPTER, name: 'CanAdapter', hint: 'the slcan adapter refused a command or sent a line it should not: check the port, the bitrate letter (S0–S8) and that no other program uses the adapter' },
];

const byCode = new Map<number, ErrorInfo>();
for (const info of table) {
  if (byCode.has(info.code)) throw new Error(`duplicate error code ${info.code}`);
  byCode.set(info.code, info);
}

/** All codes known to this build, in code order. */
export const errorTable: readonly ErrorInfo[] = table;

/** Name and hint for a code; application codes (>= 1000) get a generic entry. */
export function errorInfo(code: number): ErrorInfo {
  const info = byCode.get(code);
  if (info !== undefined) return info;
  if (code >= E.ERR_APP_FIRST && code <= E.ERR_APP_LAST) {
    return { code, name: `App${code}`, hint: 'an error declared by the cell' };
  }
  return { code, name: `Unknown${code}`, hint: 'a code this build does not know: the peer may be newer' };
}
