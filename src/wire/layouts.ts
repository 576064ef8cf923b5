// Layouts of the RPC control payloads (docs/rpc.md §4 "Payloads, byte by byte"): HELLO, ERROR,
// CREDIT, and the payloads that are empty. One table for the host (src/rpc/payloads.ts,
// src/rpc/connection.ts) and the firmware (firmware/shared/rpc-core.ts).
// Portable core: compiled by tsc and asc; constants only. All integers little-endian.
// Error codes are in ./errors.ts; frame kinds, flags and channels in ./header.ts.

/** RPC protocol version carried in HELLO byte 0 (not the wire version of header byte 1). */
export const RPC_PROTOCOL_VERSION: u8 = 1;

// ---- HELLO (kind 1, channel 0, call id 0, key 0) ---------------------------------------------
//  off size field
//   0   1   RPC protocol version
//   1   1   flags (HELLO_FLAG_*)
//   2   2   heartbeat interval ms (0 = the sender sends no PING of its own)
//   4   4   max frame bytes the sender accepts, header included
//   8   1   cell name length n (<= 255)
//   9   n   cell name, UTF-8
//  9+n  2   entry count m
//   …   m×  entry: u8 kind, u8 name length k, k bytes name, u64 key, u64 request fp, u64 response fp
// An empty HELLO payload is legal: the sender's table did not fit its frame.
export const HELLO_OFF_VERSION: i32 = 0;
export const HELLO_OFF_FLAGS: i32 = 1;
export const HELLO_OFF_HEARTBEAT_MS: i32 = 2;
export const HELLO_OFF_MAX_FRAME_BYTES: i32 = 4;
export const HELLO_OFF_NAME_LEN: i32 = 8;
export const HELLO_OFF_NAME: i32 = 9;
/** Bytes of the count that follows the name (u16). */
export const HELLO_COUNT_BYTES: i32 = 2;
/** Smallest non-empty HELLO payload: the 9-byte head, an empty name and the entry count. */
export const HELLO_MIN_BYTES: i32 = 11;
/** Longest cell name (its length is one byte). */
export const HELLO_NAME_MAX_BYTES: i32 = 255;

/** HELLO flags bit 0: the sender serves a cell (its entry table follows). */
export const HELLO_FLAG_SERVING: u8 = 0x01;
/** HELLO flags bit 1: the sender calls a cell (a client's table: what it will call). */
export const HELLO_FLAG_CALLING: u8 = 0x02;
/**
 * HELLO flags bit 2: this HELLO answers a HELLO the sender got; it starts no session of the
 * sender's. A UART client takes a HELLO without it, after the handshake, for a device reset.
 */
export const HELLO_FLAG_ANSWER: u8 = 0x04;
/**
 * HELLO flags bit 3: extensions follow the entry table, to the end of the payload. Each is
 * u8 type, u16 length n, n bytes; a receiver skips the types it does not know. Links add them
 * (a local socket offering shared memory, docs/shm.md §6).
 */
export const HELLO_FLAG_EXTENSIONS: u8 = 0x08;
/** Bytes before an extension's body: type (u8) and length (u16). */
export const HELLO_EXT_HEAD_BYTES: i32 = 3;
/**
 * Extension type 1, shared-memory offer: u32 ring bytes, u32 epoch, u8 name length n, n bytes
 * /dev/shm segment name (docs/shm.md §6).
 */
export const HELLO_EXT_SHM_OFFER: u8 = 1;
export const SHM_OFFER_OFF_RING_BYTES: i32 = 0;
export const SHM_OFFER_OFF_EPOCH: i32 = 4;
export const SHM_OFFER_OFF_NAME_LEN: i32 = 8;
export const SHM_OFFER_OFF_NAME: i32 = 9;

// One entry of the HELLO table, offsets from its first byte (k = its name length).
export const HELLO_ENTRY_OFF_KIND: i32 = 0;
export const HELLO_ENTRY_OFF_NAME_LEN: i32 = 1;
export const HELLO_ENTRY_OFF_NAME: i32 = 2;
/** After the name: key (u64), request/event fingerprint (u64), response/item fingerprint (u64). */
export const HELLO_ENTRY_KEY: i32 = 0;
export const HELLO_ENTRY_REQUEST_FP: i32 = 8;
export const HELLO_ENTRY_RESPONSE_FP: i32 = 16;
export const HELLO_ENTRY_TAIL_BYTES: i32 = 24;
/** Entry kinds (byte 0 of an entry). */
export const ENTRY_KIND_METHOD: u8 = 1;
export const ENTRY_KIND_EVENT: u8 = 2;
export const ENTRY_KIND_STREAM: u8 = 3;

// ---- ERROR (kind 4, the call's channel, id and key) ------------------------------------------
//  off size field
//   0   2   code (src/wire/errors.ts: 400-409 RPC, >= 1000 declared by the method)
//   2   2   message length n
//   4   n   message, UTF-8, may be empty (a Node peer cuts it to ERROR_MESSAGE_MAX_BYTES)
//  4+n rest app errors with a payload schema: the payload, codec-encoded, to the end of the frame
export const ERROR_OFF_CODE: i32 = 0;
export const ERROR_OFF_MESSAGE_LEN: i32 = 2;
export const ERROR_OFF_MESSAGE: i32 = 4;
/** Code and message length: the fixed head before the message. */
export const ERROR_HEAD_BYTES: i32 = 4;
/** Longest message a Node peer sends (bytes); a receiver accepts up to 65535. */
export const ERROR_MESSAGE_MAX_BYTES: i32 = 200;

// ---- CREDIT (kind 11, the stream's channel, id and key) --------------------------------------
//   0   4   items granted, added to the stream's credit
export const CREDIT_OFF_ITEMS: i32 = 0;
export const CREDIT_BYTES: i32 = 4;

// ---- empty payloads --------------------------------------------------------------------------
// PING and PONG (PONG: the PING's channel and call id, key 0), CANCEL (the call's channel, id and
// key), GOODBYE (channel 1, id 0, key 0) and STREAM_END (the stream's channel, id and key) carry
// no payload.
export const PING_BYTES: i32 = 0;
export const PONG_BYTES: i32 = 0;
export const CANCEL_BYTES: i32 = 0;
export const GOODBYE_BYTES: i32 = 0;
export const STREAM_END_BYTES: i32 = 0;

// ---- control channel (channel 1) ------------------------------------------------------------
/** describe: REQUEST on channel 1 with this key (u64 1: keyLo 1, keyHi 0), empty payload. */
export const CONTROL_KEY_DESCRIBE_LO: u32 = 1;
export const CONTROL_KEY_DESCRIBE_HI: u32 = 0;

// ---- link channel (CHANNEL_LINK, header.ts): frames a link exchanges with its peer link, never seen by rpc --
// Kind PING, call id = LINK_OP_*, key 0. Sent only to a peer that showed it knows them (the
// shared-memory switch of a local socket, docs/shm.md §6).
/** Server → client: the offered segment is mapped; this side's frames now go to the ring. */
export const LINK_OP_SHM_ACCEPT: u32 = 1;
/** Client → server: the last frame on the socket; this side's frames now go to the ring. */
export const LINK_OP_SHM_SWITCH: u32 = 2;
/** Server → client: the offer is refused (payload: u16 error code, then a UTF-8 reason); stay on the socket. */
export const LINK_OP_SHM_REFUSE: u32 = 3;

// ---- link security (docs/wire-format.md §7, docs/security.md) ---------------------------------
// Opening a session: three frames of kind PING on CHANNEL_LINK, key 0, call id = the op.
/** Device → host, plaintext: "I hold a key and no session; open one" (at boot, and for sealed frames it cannot read). */
export const LINK_OP_SEC_REQUEST: u32 = 4;
/** Host → device, plaintext: open a session with this host nonce. */
export const LINK_OP_SEC_OPEN: u32 = 5;
/** Device → host, flags AUTH, sealed with the new session key (its counter 0): the session is open. */
export const LINK_OP_SEC_ACCEPT: u32 = 6;

/** Suite 1: ChaCha20-Poly1305 (RFC 8439) with the tag cut to SEC_TAG_BYTES; 2 is kept for Ascon-AEAD128. */
export const SEC_SUITE_CHACHA20_POLY1305: u8 = 1;
/** Bytes a sealed frame adds after its payload: u32 counter + tag. */
export const SEC_TRAILER_BYTES: i32 = 12;
export const SEC_COUNTER_BYTES: i32 = 4;
export const SEC_TAG_BYTES: i32 = 8;
export const SEC_KEY_BYTES: i32 = 32;
export const SEC_NONCE_BYTES: i32 = 12;
export const SEC_DEVICE_ID_BYTES: i32 = 8;
export const SEC_HOST_NONCE_BYTES: i32 = 8;
/** Bad tags a session takes before it is dropped (counted as a lockout). */
export const SEC_MAX_BAD_TAGS: u32 = 8;
/** Nonce byte 0: who sealed the frame, so a frame reflected to its sender never verifies. */
export const SEC_DIR_HOST_TO_DEVICE: u8 = 1;
export const SEC_DIR_DEVICE_TO_HOST: u8 = 2;
/** Nonce byte 1: the kind of link the session belongs to. */
export const SEC_LINK_BYTE_STREAM: u8 = 1;
export const SEC_LINK_CAN: u8 = 2;

// REQUEST payload (10 bytes)
//   0 1 suite   1 1 flags (0)   2 8 device id
export const SEC_REQUEST_OFF_SUITE: i32 = 0;
export const SEC_REQUEST_OFF_FLAGS: i32 = 1;
export const SEC_REQUEST_OFF_DEVICE_ID: i32 = 2;
export const SEC_REQUEST_BYTES: i32 = 10;

// OPEN payload (10 bytes)
//   0 1 suite   1 1 flags (SEC_OPEN_FLAG_*)   2 8 host nonce (random, fresh per OPEN)
export const SEC_OPEN_OFF_SUITE: i32 = 0;
export const SEC_OPEN_OFF_FLAGS: i32 = 1;
export const SEC_OPEN_OFF_HOST_NONCE: i32 = 2;
export const SEC_OPEN_BYTES: i32 = 10;
/** OPEN flags bit 0: a rekey of a working session: the device keeps its RPC session (sends no new HELLO). */
export const SEC_OPEN_FLAG_REKEY: u8 = 0x01;

// ACCEPT payload (18 bytes, then the 12-byte trailer; authenticated, not encrypted)
//   0 1 suite   1 1 flags (echo of OPEN's)   2 8 device id   10 4 boot counter   14 4 session number
export const SEC_ACCEPT_OFF_SUITE: i32 = 0;
export const SEC_ACCEPT_OFF_FLAGS: i32 = 1;
export const SEC_ACCEPT_OFF_DEVICE_ID: i32 = 2;
export const SEC_ACCEPT_OFF_BOOT_COUNTER: i32 = 10;
export const SEC_ACCEPT_OFF_SESSION: i32 = 14;
export const SEC_ACCEPT_BYTES: i32 = 18;

// Provisioning record (64 bytes, written to the device's key page when it is flashed)
//   0 4 magic "CSEC"   4 1 format (1)   5 1 suite   6 2 zero   8 8 device id   16 32 device key
//   48 12 zero   60 4 CRC-32C of bytes 0..59
export const SEC_PROVISION_MAGIC: u32 = 0x43455343; // "CSEC" little-endian
export const SEC_PROVISION_FORMAT: u8 = 1;
export const SEC_PROVISION_OFF_FORMAT: i32 = 4;
export const SEC_PROVISION_OFF_SUITE: i32 = 5;
export const SEC_PROVISION_OFF_DEVICE_ID: i32 = 8;
export const SEC_PROVISION_OFF_KEY: i32 = 16;
export const SEC_PROVISION_OFF_CRC: i32 = 60;
export const SEC_PROVISION_BYTES: i32 = 64;

// ---- CAN profile (docs/wire-format.md §8) -----------------------------------------------------
// 29-bit extended identifier, most significant first:
//   28..26 priority (0 wins arbitration)   25..22 kind (the header's)   21..14 port
//   13..7  destination node                6..0   source node
export const CAN_ID_PRIORITY_SHIFT: i32 = 26;
export const CAN_ID_KIND_SHIFT: i32 = 22;
export const CAN_ID_PORT_SHIFT: i32 = 14;
export const CAN_ID_DST_SHIFT: i32 = 7;
export const CAN_ID_MASK: u32 = 0x1fffffff;
/** Priority a frame with header priority bits p (0–3) gets: CAN_PRIORITY_NOMINAL − p. */
export const CAN_PRIORITY_NOMINAL: u32 = 4;
/** Node ids 0–126 name one node; 127 as a destination is every node (a HELLO's broadcast). */
export const CAN_NODE_MAX: u32 = 126;
export const CAN_NODE_BROADCAST: u32 = 127;
/** Ports 0–247: entry index in the serving node's HELLO table (channel 0, that entry's key). */
export const CAN_PORT_ENTRY_MAX: u32 = 247;
/** Ports 248–254: channel (port − 248), call id 0, key 0 (HELLO, PING, PONG, GOODBYE). */
export const CAN_PORT_CHANNEL_BASE: u32 = 248;
export const CAN_PORT_CHANNEL_MAX: u32 = 6;
/** Port 255: explicit; the transfer starts with u8 channel, u32 call id, u64 key. */
export const CAN_PORT_EXPLICIT: u32 = 255;
export const CAN_EXPLICIT_PREFIX_BYTES: i32 = 13;
/** A compact REQUEST starts with one byte: the low byte of the entry's method key. */
export const CAN_KEY_CHECK_BYTES: i32 = 1;
/** Call id of a compact call as the receiving rpc layer sees it: bit 29 | port << 5 | transfer id
 *  (under 2^30, so a small integer in JS engines: nothing is boxed on the frame path). */
export const CAN_COMPACT_CALL_BIT: u32 = 0x20000000;
/** Explicit calls use wire call ids 1..CAN_WIRE_CALL_ID_MAX (bits 29–31 clear). */
export const CAN_WIRE_CALL_ID_MAX: u32 = 0x1fffffff;
// Tail byte (the last byte of every frame): start, end, toggle, 5-bit transfer id.
export const CAN_TAIL_SOT: u8 = 0x80;
export const CAN_TAIL_EOT: u8 = 0x40;
export const CAN_TAIL_TOGGLE: u8 = 0x20;
export const CAN_TAIL_TID_MASK: u8 = 0x1f;
/** A multi-frame transfer ends with CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of its bytes, LE. */
export const CAN_TRANSFER_CRC_BYTES: i32 = 2;
// Frame flags of a CAN driver's frames (src/transports/can/driver.ts) and of the boards'
// can_read/can_write imports (firmware/shared/rpc-can.ts): one set for both sides.
export const CAN_FLAG_EXTENDED: u32 = 1; // 29-bit identifier (Cell's profile uses only these)
export const CAN_FLAG_FD: u32 = 2; // a CAN FD frame (up to 64 data bytes)
export const CAN_FLAG_BRS: u32 = 4; // CAN FD bit-rate switch: the data phase at the data bitrate
export const CAN_FLAG_ESI: u32 = 8; // CAN FD error-state indicator: the sender is error-passive
