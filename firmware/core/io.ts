// Static I/O area shared by the AssemblyScript test entries (firmware/core/vectors*.ts).
// AssemblyScript only (not compiled by tsc). Allocated once at start-up: with the stub runtime
// nothing is ever freed, so entry points never allocate per call. The host writes input bytes at
// inPtr(), calls an export with the length, and reads results at outPtr().

/** Bytes in each of IN and OUT: room for a 64 KiB payload plus header, CRC and COBS overhead. */
export const IO_BYTES: i32 = 0x20000;

export const IN = new Uint8Array(IO_BYTES);
export const OUT = new Uint8Array(IO_BYTES);
