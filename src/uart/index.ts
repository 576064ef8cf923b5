// cell/uart — cells on serial devices (docs/uart.md): the port (from cell/transports/uart), the
// sessions that come back after an unplug or a device reset, a reconnecting typed client and a
// server. serialport (optional) is loaded the first time a port is opened.
export { openUart, UartLink } from '../transports/uart.ts';
export type { UartPortInfo, UartPortOptions } from '../transports/uart.ts';
export { UartSessions, UartSession } from './sessions.ts';
export type { UartSessionsOptions, UartState, UartStateListener } from './sessions.ts';
export { connectUart, UartConnectionSource } from './client.ts';
export type { UartClient, UartClientExtras, UartClientOptions } from './client.ts';
export { serveUart } from './serve.ts';
export type { UartServeOptions, UartServer } from './serve.ts';
export type { SupervisedClient, SupervisedControls, SupervisedState, SupervisedStateListener } from '../rpc/supervised.ts';

/** @deprecated the controls of a UART client are those of every supervised client: SupervisedControls. */
export type { SupervisedControls as UartClientControls } from '../rpc/supervised.ts';
