// The reference message (same values as shared/bench-baseline/lib/codecs.mjs) and helpers.
export interface Msg {
  id: number;
  ts: number;
  temp: number;
  flags: number;
  name?: string;
  samples: ArrayLike<number>;
}

/** A codec of plain objects: encode returns the wire form (bytes or a string), decode the object. */
export interface ObjCodec {
  name: string;
  /** 'hand' codecs encode into (and decode from) their own reused buffer */
  kind: 'hand' | 'alloc';
  encode(o: Msg): Uint8Array | string;
  decode(b: any): Msg;
  wireBytes(e: Uint8Array | string): number;
}

/** { id: u32, ts: f64, temp: f32, flags: u8, name: string(16), samples: array(i16, 8) } */
export const MSG: Msg = {
  id: 123456789,
  ts: 1732197442123.4567, // epoch ms with a sub-ms fraction
  temp: 23.4, // logically f32
  flags: 0xa5,
  name: 'sensor-07/west', // 14 ASCII bytes (≤ 16)
  samples: [12, -34, 560, -7800, 32767, -32768, 0, 1],
};

/** the same message without the string: the allocation-free path */
export const MSG_NOSTR: Msg = { id: MSG.id, ts: MSG.ts, temp: MSG.temp, flags: MSG.flags, samples: MSG.samples };

/** more values every codec must round-trip before it is timed (edge values, name lengths 0/1/16, non-ASCII) */
export function verificationMessages(withName: boolean): Msg[] {
  const extra: Msg[] = [
    { id: 0, ts: 0, temp: 0, flags: 0, name: '', samples: [0, 0, 0, 0, 0, 0, 0, 0] },
    { id: 0xffffffff, ts: -1.5e300, temp: -3.4028234663852886e38, flags: 0xff, name: 'x', samples: [-1, 1, -2, 2, -32768, 32767, 7, -7] },
    { id: 1, ts: Math.PI, temp: 1e-3, flags: 1, name: 'sixteen-bytes-ok', samples: [1, 2, 3, 4, 5, 6, 7, 8] },
    { id: 42, ts: 1e-300, temp: 100.25, flags: 0x80, name: 'grüße°C', samples: [9, 8, 7, 6, 5, 4, 3, 2] },
  ];
  const all = [MSG, ...extra];
  return withName ? all.map(fresh) : all.map((m) => { const { name: _n, ...rest } = fresh(m); return rest; });
}

export function fresh(m: Msg): Msg {
  return { ...m, samples: Array.from(m.samples) };
}

/** a comparable plain form of a decoded value (f32 rounding applied; typed arrays to arrays) */
export function normalise(o: Msg, withName: boolean): Record<string, unknown> {
  const r: Record<string, unknown> = {
    id: o.id >>> 0,
    ts: Number(o.ts),
    temp: Math.fround(o.temp),
    flags: o.flags & 0xff,
    samples: Array.from(o.samples),
  };
  if (withName) r.name = String(o.name);
  return r;
}
