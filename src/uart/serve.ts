// A cell served on a serial port across unplug/replug (docs/uart.md §3): every UART session
// (sessions.ts) is one more connection of an rpc Server.
import type { CellDef } from '../rpc/define.ts';
import { serve, type Impl, type Server, type ServeOptions } from '../rpc/api.ts';
import { UartSessions, type UartSessionsOptions, type UartStateListener } from './sessions.ts';

export interface UartServeOptions extends Omit<UartSessionsOptions, 'role'>, ServeOptions {}

/** A cell served on a serial port, across unplug/replug. */
export interface UartServer<D extends CellDef> {
  /** The rpc Server (one Connection per session; `server.connections` has the current one). */
  readonly server: Server<D>;
  /** The port supervisor (`sessions.port` is the open port link, with its line stats). */
  readonly sessions: UartSessions;
  /** Send an event to the client of the current session. Returns how many it went to (0 or 1). */
  emit: Server<D>['emit'];
  /** Listen to 'open' | 'lost' | 'reopened' of the port. */
  onState(fn: UartStateListener): () => void;
  /** Stop: calls in flight are answered Closed, GOODBYE, the port is closed. */
  close(): Promise<void>;
}

/**
 * Serve `impl` on a serial port: opens it when it appears, serves each session (a new Connection
 * with its HELLO), reopens after a loss. Returns at once.
 */
export function serveUart<D extends CellDef>(def: D, impl: Impl<D>, opts: UartServeOptions): UartServer<D> {
  const sessions = new UartSessions({ ...opts, role: 'server' });
  const server = serve(def, impl, sessions, opts);
  return {
    server,
    sessions,
    emit: ((ev: never, v: never) => server.emit(ev, v)) as Server<D>['emit'],
    onState: (fn) => sessions.onState(fn),
    async close() {
      await server.close();
      await sessions.close();
      await sessions.closed;
    },
  };
}
