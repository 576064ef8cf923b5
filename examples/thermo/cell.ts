// The thermo cell's implementation: simulated sensors (deterministic, so the demo's output is
// stable). `cell run examples/thermo` serves the default export.
import type { Impl, Server } from '../../src/rpc/index.ts';
import type { Infer } from '../../src/codec/index.ts';
import { Alarm, CHANNELS, Thermo } from './schema.ts';

/** Base temperature and alarm limit per channel (°C). The boiler runs hot: reading it raises `alarm`. */
const BASE = [21.5, 12, 18.25, 78] as const;
const LIMIT = [35, 25, 40, 75] as const;

function celsius(channel: number, i: number): number {
  return BASE[channel]! + 0.25 * (i % 4); // exactly representable in f32
}

let seq = 0;

/** Where alarms go: every connected client once `cell run` has called start(), else the caller only. */
let broadcast: ((a: Infer<typeof Alarm>) => void) | null = null;

export const impl: Impl<typeof Thermo> = {
  read(req, ctx) {
    if (req.channel >= CHANNELS.length) {
      ctx.fail('sensorFault', { channel: req.channel, channels: CHANNELS.length, reason: `no sensor on channel ${req.channel} (0..${CHANNELS.length - 1})` });
    }
    const c = celsius(req.channel, seq);
    if (c > LIMIT[req.channel]!) {
      const alarm = { channel: req.channel, celsius: c, limit: LIMIT[req.channel]! };
      if (broadcast !== null) broadcast(alarm);
      else ctx.connection.emit('alarm', alarm);
    }
    return { channel: req.channel, sensor: CHANNELS[req.channel]!, celsius: c, seq: ++seq };
  },

  async *samples(req, ctx) {
    if (req.channel >= CHANNELS.length) {
      ctx.fail('sensorFault', { channel: req.channel, channels: CHANNELS.length, reason: `no sensor on channel ${req.channel} (0..${CHANNELS.length - 1})` });
    }
    for (let i = 0; i < req.count; i++) {
      if (i > 0 && req.intervalMs > 0) await new Promise((r) => setTimeout(r, req.intervalMs));
      if (ctx.signal.aborted) return;
      yield { i, celsius: celsius(req.channel, i) };
    }
  },
};

export default {
  cell: Thermo,
  impl,
  /** Called by `cell run` once listening: alarms then go to every client (`cell call <dir> alarm`). */
  start(server: Pick<Server<typeof Thermo>, 'emit'>) {
    broadcast = (a) => { server.emit('alarm', a); };
    return () => { broadcast = null; };
  },
};
