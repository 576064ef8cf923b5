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
