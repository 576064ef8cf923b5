// The side cell `cell run` serves on `.cell/run/ops.sock` so `cell status` can read the server's
// counters. (A stopgap until the rpc layer serves metrics on channel 2 of the main socket.)
import { f64, string, struct, u32, u8 } from '../codec/index.ts';
import { defineCell, method } from '../rpc/index.ts';

export const OpsEmpty = struct('OpsEmpty', { reserved: u8 });
export const OpsStats = struct('OpsStats', {
  pid: u32,
  name: string(255),
  version: string(64),
  uptimeMs: f64,
  /** Connections open now. */
  connections: u32,
  /** Connections accepted since start. */
  connectionsTotal: u32,
  /** Requests and stream calls received (all connections, since start). */
  callsIn: f64,
  /** Calls answered with an error. */
  errorsOut: f64,
  eventsOut: f64,
});

export const Ops = defineCell({
  name: 'cell_ops',
  version: '1',
  methods: { counters: method(OpsEmpty, OpsStats) },
});
