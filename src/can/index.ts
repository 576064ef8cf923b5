// cell/can: Cell over a CAN bus (docs/can.md). The bus and its peer links, the drivers' open
// functions (SocketCAN loads its addon only when a socket is opened; slcan loads serialport only
// when an adapter is opened), the device sessions, a reconnecting typed client, and the device
// end for Node devices and simulators.
export { CanBus, CanBusStats, CanPeerLink, type CanBusOptions } from '../transports/can/bus.ts';
export {
  CAN_FLAG_BRS, CAN_FLAG_ESI, CAN_FLAG_EXTENDED, CAN_FLAG_FD, CanDriverStats,
  type CanBusEvent, type CanBusState, type CanDriver, type CanDriverHandlers, type CanFilter,
} from '../transports/can/driver.ts';
export { MemoryCanBus, type MemoryCanBusOptions } from '../transports/can/memory-bus.ts';
export { openSlcan, type SlcanOptions } from '../transports/can/slcan.ts';
export { openSocketCan, type SocketCanOptions } from '../transports/can/socketcan.ts';
export { canAddonStatus } from '../transports/can/native.ts';
export {
  CanDevice, CanDevices, CanSession,
  type CanDeviceIdentity, type CanDeviceState, type CanDeviceStateListener, type CanDevicesOptions, type CanIdentityListener,
} from './sessions.ts';
export { CanConnectionSource, connectCan, type CanClient, type CanClientExtras, type CanClientOptions } from './client.ts';
export { serveCan, type CanServeOptions, type CanServer } from './serve.ts';
export { openCanDriver, parseCanTarget, type CanTarget, type OpenCanDriverOptions } from './open.ts';
