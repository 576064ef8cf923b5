// Frames, bytes and bus time per call of the CAN profile (docs/wire-format.md §8.4), next to
// Cyphal/CAN and ISO-TP for the same payloads. Cell's counts come from the code (the segmenter
// runs); Cyphal's and ISO-TP's from their specifications:
//   Cyphal/CAN: tail byte per frame; one frame if P ≤ 7 (classic) / 63 (FD); else P + 2-byte CRC
//     in 7- or 63-byte pieces, the last padded to a valid FD length.
//   ISO-TP (ISO 15765-2): SF up to 7 bytes (classic; FD: up to 62 with the escape byte); else a
//     first frame with 6 (classic) or 62 (FD) data bytes, consecutive frames of 7 or 63, and one
//     flow-control frame back from the receiver (plus its round trip) before the consecutive frames.
import { CanTxTransfer, canFdLength } from '../../src/framing/can-transfer.ts';

/** Bits a frame occupies on the wire. Classic extended: 67 + 8·len fixed bits plus worst-case
 *  stuffing; FD: arbitration phase at the nominal rate, data phase at `dataRatio` times faster. */
export function frameBits(len: number, fd: boolean, dataRatio = 1): number {
  if (!fd) {
    const stuffable = 54 + 8 * len; // SOF .. CRC, where stuff bits go
    return 67 + 8 * len + Math.floor((stuffable - 1) / 4);
  }
  // FD extended: ~ 33 arbitration + control bits at nominal, data + CRC (17 or 21 bits + fixed stuff) at data rate.
  const crcBits = len <= 16 ? 17 + 5 : 21 + 6;
  const dataBits = 8 * len + crcBits + 4 /* DLC */ + 3; /* BRS, ESI, stuff count */
  const nominal = 33 + 3 + 10; // SOF..IDE..FDF/res, ACK + delimiters, EOF/IFS counted as nominal
  return nominal + 7 + (dataBits + Math.floor(dataBits / 4)) / dataRatio;
}

/** The frame lengths Cell sends for a transfer of `len` bytes. */
export function cellFrames(len: number, fd: boolean): number[] {
  const tx = new CanTxTransfer();
  const payload = new Uint8Array(len);
  tx.begin(new Uint8Array(0), 0, payload, 0, len, fd, 0);
  const out = new Uint8Array(64);
  const lens: number[] = [];
  for (let n = tx.next(out, 0); n > 0; n = tx.next(out, 0)) lens.push(n);
  return lens;
}

export function cyphalFrames(p: number, fd: boolean): number[] {
  const mtu = fd ? 64 : 8;
  if (p <= mtu - 1) return [fd ? canFdLength(p + 1) : p + 1];
  const lens: number[] = [];
  let left = p + 2;
  while (left > mtu - 1) { lens.push(mtu); left -= mtu - 1; }
  if (left > 0) lens.push(fd ? canFdLength(left + 1) : left + 1);
  return lens;
}

/** ISO-TP frames from the sender, and whether a flow-control frame (and round trip) is needed. */
export function isotpFrames(p: number, fd: boolean): { lens: number[]; fc: boolean } {
  if (p <= 7) return { lens: [p + 1], fc: false };
  if (fd && p <= 62) return { lens: [canFdLength(p + 2)], fc: false };
  const first = fd ? 62 : 6;
  const cf = fd ? 63 : 7;
  const lens = [fd ? 64 : 8];
  let left = p - first;
  while (left > 0) {
    const n = Math.min(cf, left);
    lens.push(fd ? canFdLength(n + 1) : (n === cf ? 8 : 8)); // classic ISO-TP pads CFs to 8 by default
    left -= n;
  }
  return { lens, fc: true };
}

export interface ProfileRow {
  what: string;
  payload: number;
  /** Cell's transfer bytes (payload + prefix). */
  cellBytes: number;
  cell: { classic: number[]; fd: number[] };
  cyphal: { classic: number[]; fd: number[] };
  isotp: { classic: { lens: number[]; fc: boolean }; fd: { lens: number[]; fc: boolean } };
}

/** The rows of §8.4: Cell's prefix is the 1-byte key check on requests, nothing on answers. */
export function profileRows(): ProfileRow[] {
  const rows: Array<[string, number, number]> = [
    ['thermo read request (ReadReq)', 1, 1],
    ['thermo read reply (Reading)', 9, 0],
    ['64-byte request', 64, 1],
    ['200-byte request', 200, 1],
  ];
  return rows.map(([what, p, prefix]) => ({
    what, payload: p, cellBytes: p + prefix,
    cell: { classic: cellFrames(p + prefix, false), fd: cellFrames(p + prefix, true) },
    cyphal: { classic: cyphalFrames(p, false), fd: cyphalFrames(p, true) },
    isotp: { classic: isotpFrames(p, false), fd: isotpFrames(p, true) },
  }));
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

/** Markdown table: frames (and data bytes on the bus) per transfer. */
export function profileTable(): string {
  const cell = (lens: number[]) => `${lens.length} (${sum(lens)} B)`;
  const iso = (r: { lens: number[]; fc: boolean }) => `${r.lens.length}${r.fc ? ' + FC' : ''} (${sum(r.lens) + (r.fc ? 8 : 0)} B)`;
  const lines = [
    '| transfer | payload | Cell classic | Cyphal classic | ISO-TP classic | Cell FD | Cyphal FD | ISO-TP FD |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of profileRows()) {
    lines.push(`| ${r.what} | ${r.payload} | ${cell(r.cell.classic)} | ${cell(r.cyphal.classic)} | ${iso(r.isotp.classic)} | ${cell(r.cell.fd)} | ${cell(r.cyphal.fd)} | ${iso(r.isotp.fd)} |`);
  }
  return lines.join('\n');
}

/** Thermo read calls per second a 500 kbit/s classic bus carries, and the bus time of one call. */
export function readCallBusTime(bitrate = 500_000): { bitsPerCall: number; usPerCall: number; callsPerSecond: number } {
  const rows = profileRows();
  const req = rows[0]!.cell.classic;
  const res = rows[1]!.cell.classic;
  const bits = sum([...req, ...res].map((l) => frameBits(l, false)));
  return { bitsPerCall: bits, usPerCall: (bits / bitrate) * 1e6, callsPerSecond: bitrate / bits };
}
