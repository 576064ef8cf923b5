// Cell error codes: one table for every layer (docs/wire-format.md §6 "Error codes").
// Portable core: compiled by tsc and asc. Codes are stable forever: never renumber, only add.
// Functions of the portable core return a code as a negative number (-code) where they would
// otherwise return a byte count, so a caller tests `n < 0` and reports `-n`.
//
// Ranges: 1xx wire, 2xx framing, 3xx codec, 4xx rpc, 5xx transport, 6xx mesh, 7xx boot/flash,
// 8xx link security, 9xx CAN, 1000–65535 errors declared by cells in their schema.

// 1xx — wire header
export const ERR_WIRE_TRUNCATED: i32 = 100;
export const ERR_WIRE_BAD_MAGIC: i32 = 101;
export const ERR_WIRE_BAD_VERSION: i32 = 102;
export const ERR_WIRE_BAD_KIND: i32 = 103;
export const ERR_WIRE_BAD_FLAGS: i32 = 104;
export const ERR_WIRE_LENGTH_TOO_LARGE: i32 = 105;
export const ERR_WIRE_BUFFER_TOO_SMALL: i32 = 106;
/** AUTH, ENCRYPTED or MORE set on a link that does not implement them: refused, never read as plain. */
export const ERR_WIRE_FLAGS_UNSUPPORTED: i32 = 107;

// 2xx — framing (COBS + CRC-32C on byte streams)
export const ERR_FRAME_COBS: i32 = 200;
export const ERR_FRAME_CRC: i32 = 201;
export const ERR_FRAME_OVERSIZE: i32 = 202;
export const ERR_FRAME_TOO_SHORT: i32 = 203;
export const ERR_FRAME_BUFFER_TOO_SMALL: i32 = 204;

// 3xx — codec (fixed-layout schemas)
export const ERR_CODEC_TRUNCATED: i32 = 300;
export const ERR_CODEC_BAD_BOOL: i32 = 301;
export const ERR_CODEC_LENGTH_OVER_BOUND: i32 = 302;
export const ERR_CODEC_INVALID_UTF8: i32 = 303;
export const ERR_CODEC_UNKNOWN_ENUM: i32 = 304;
export const ERR_CODEC_BAD_OPTIONAL_TAG: i32 = 305;
export const ERR_CODEC_BUFFER_TOO_SMALL: i32 = 306;
export const ERR_CODEC_VALUE_OUT_OF_RANGE: i32 = 307;
export const ERR_CODEC_TRAILING_BYTES: i32 = 308;
export const ERR_CODEC_BAD_VALUE: i32 = 309;

// 4xx — rpc. Written without `: i32` on purpose: asc infers i32 from the literal, and tsc keeps
// the literal type (400, not number), so RpcCode (src/rpc/errors.ts) takes its discriminated-union
// types from these constants instead of repeating the numbers.
export const ERR_RPC_TIMEOUT = 400;
export const ERR_RPC_UNAVAILABLE = 401;
export const ERR_RPC_SCHEMA_MISMATCH = 402;
export const ERR_RPC_UNKNOWN_METHOD = 403;
export const ERR_RPC_CANCELLED = 404;
export const ERR_RPC_CLOSED = 405;
export const ERR_RPC_MALFORMED = 406;
export const ERR_RPC_UNAUTHORIZED = 407;
export const ERR_RPC_OVERLOADED = 408;
export const ERR_RPC_INTERNAL = 409;

// 5xx — transport (links)
export const ERR_LINK_CLOSED: i32 = 500;
export const ERR_LINK_IO: i32 = 501;
export const ERR_LINK_MTU_EXCEEDED: i32 = 502;
/** Shared memory cannot be used here: the addon is not built, or a segment cannot be created or mapped (docs/shm.md). */
export const ERR_LINK_SHM_UNAVAILABLE: i32 = 503;
/** A shared-memory ring holds indexes or record lengths out of range: the peer is broken or hostile; the link is closed. */
export const ERR_LINK_SHM_CORRUPT: i32 = 504;

// 6xx — mesh (docs/mesh.md §5)
export const ERR_MESH_NO_PROVIDERS: i32 = 600;
export const ERR_MESH_DIAL_FAILED: i32 = 601;
export const ERR_MESH_STOPPED: i32 = 602;
export const ERR_MESH_BAD_KEY: i32 = 603;
export const ERR_MESH_UNSUPPORTED: i32 = 604;

// 7xx — boot/flash (docs/flash.md): the boot protocol on channel 3 and `cell flash`
export const ERR_BOOT_BAD_REQUEST: i32 = 700;
export const ERR_BOOT_CHUNK_CRC: i32 = 701;
export const ERR_BOOT_IMAGE_TOO_LARGE: i32 = 702;
export const ERR_BOOT_WRONG_BOARD: i32 = 703;
export const ERR_BOOT_HASH_MISMATCH: i32 = 704;
export const ERR_BOOT_NO_SESSION: i32 = 705;
export const ERR_BOOT_INCOMPLETE: i32 = 706;
export const ERR_BOOT_NOT_IN_BOOT_MODE: i32 = 707;
export const ERR_BOOT_FLASH_IO: i32 = 708;
export const ERR_BOOT_BAD_OFFSET: i32 = 709;
export const ERR_BOOT_NO_TRIAL: i32 = 710;
export const ERR_BOOT_BAD_MANIFEST: i32 = 711;
export const ERR_BOOT_UNSIGNED: i32 = 712;
export const ERR_BOOT_BAD_SIGNATURE: i32 = 713;
export const ERR_BOOT_UNTRUSTED_KEY: i32 = 714;
export const ERR_BOOT_NO_ANSWER: i32 = 715;
export const ERR_BOOT_IMAGE_SIZE: i32 = 716;
/** The image's security version is below the minimum the device has confirmed (anti-rollback). */
export const ERR_BOOT_ROLLBACK: i32 = 717;

// 8xx — link security (docs/security.md): sealed frames, sessions, keys
/** A sealed frame's tag does not verify: forged, from another session, or the two ends hold different keys. */
export const ERR_SECURE_BAD_TAG: i32 = 800;
/** A range outside the buffer, a tag length outside 1..16, or a sealed frame shorter than its trailer. */
export const ERR_SECURE_BAD_LENGTH: i32 = 801;
/** A sealed frame whose counter is not newer than one already accepted: replayed or duplicated. */
export const ERR_SECURE_REPLAY: i32 = 802;
/** A sealed frame arrived while no session is open (the peer restarted): a new session is opened. */
export const ERR_SECURE_NO_SESSION: i32 = 803;
/** A plaintext frame on a link that must be secured: refused, never read (no downgrade). */
export const ERR_SECURE_PLAINTEXT_REFUSED: i32 = 804;
/** The device's id has no key on this host. */
export const ERR_SECURE_UNKNOWN_DEVICE: i32 = 805;
/** Too many bad tags in one session: the session was dropped. */
export const ERR_SECURE_LOCKOUT: i32 = 806;
/** A key file is unreadable, malformed, or readable by others. */
export const ERR_SECURE_KEY_FILE: i32 = 807;
/** The peer asked for an AEAD suite this side does not implement. */
export const ERR_SECURE_UNSUPPORTED_SUITE: i32 = 808;
/** No valid session answer from the device before the deadline. */
export const ERR_SECURE_HANDSHAKE_FAILED: i32 = 809;
/** The session's frame counter is used up: a new session must be opened. */
export const ERR_SECURE_COUNTER_EXHAUSTED: i32 = 810;

// 9xx — CAN (docs/wire-format.md §8, docs/can.md): drivers, the compact profile, transfers
/** CAN cannot be used here: the SocketCAN addon is not built, or this OS has no SocketCAN. */
export const ERR_CAN_UNAVAILABLE: i32 = 900;
/** The CAN interface does not exist or is down (`ip link set can0 up type can bitrate 500000`). */
export const ERR_CAN_NO_INTERFACE: i32 = 901;
/** The controller is bus-off: it stopped sending after too many errors (set `restart-ms`). */
export const ERR_CAN_BUS_OFF: i32 = 902;
/** A multi-frame transfer's CRC-16 does not match: a frame was lost, duplicated or corrupted. */
export const ERR_CAN_TRANSFER_CRC: i32 = 903;
/** A frame of a transfer with the wrong toggle bit or transfer id: a frame was lost or repeated. */
export const ERR_CAN_TRANSFER_SEQUENCE: i32 = 904;
/** A frame that continues no transfer in progress (its start was lost, or it timed out). */
export const ERR_CAN_TRANSFER_ORPHAN: i32 = 905;
/** A transfer longer than the receiver's maximum frame. */
export const ERR_CAN_TRANSFER_TOO_LONG: i32 = 906;
/** Every reassembly slot (or this source's share of them) is busy: the transfer was dropped. */
export const ERR_CAN_REASSEMBLY_FULL: i32 = 907;
/** A transfer did not complete before its timeout. */
export const ERR_CAN_TRANSFER_TIMEOUT: i32 = 908;
/** A CAN id or compact header this profile does not define (reserved port, bad node id, short prefix). */
export const ERR_CAN_BAD_FRAME: i32 = 909;
/** A compact REQUEST names a table entry whose key check does not match: the tables changed (reflash); refused. */
export const ERR_CAN_STALE_ENTRY: i32 = 910;
/** The slcan adapter answered with an error (BELL) or a line it should not send. */
export const ERR_CAN_ADAPTER: i32 = 911;

// First code a cell may declare for its own errors.
export const ERR_APP_FIRST: i32 = 1000;
export const ERR_APP_LAST: i32 = 65535;
