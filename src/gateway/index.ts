// cell/gateway — devices on serial ports made callable by name from the mesh (docs/gateway.md).
// Loads serialport (through cell/uart) when a port opens; the mesh node is the caller's.
export { startGateway, descriptionFor } from './gateway.ts';
export type { Gateway, GatewayOptions, GatewayEvent, GatewayDeviceStatus, GatewayMeshNode, GatewayProvided } from './gateway.ts';
export { DeviceUpstream } from './device.ts';
export type { DeviceIdentity, DeviceUpstreamOptions, DeviceStateListener, IdentityListener } from './device.ts';
