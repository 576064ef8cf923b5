// cell/gateway — devices on serial ports made callable by name from the mesh (docs/gateway.md).
// Loads serialport (through cell/uart) when a port opens; the mesh node is the caller's.
export { startGateway, descriptionFor } from './gateway.ts';
export type { Gateway, GatewayOptions, GatewayEvent, GatewayDeviceStatus, GatewayMeshNode, GatewayProvided, GatewayCanSpec } from './gateway.ts';
export { DeviceUpstream } from './device.ts';
export type { DeviceIdentity, DeviceUpstreamOptions, DeviceStateListener, IdentityListener } from './device.ts';
export { parseDeviceGlob } from './hotplug.ts';
export type { GatewayDeviceSpec, GlobDeviceSpec, HotplugOptions, DeviceGlob } from './hotplug.ts';
export { serveMetrics, formatPrometheus, gatewayFamilies, parseHostPort, DEFAULT_METRICS_ADDRESS, PROMETHEUS_CONTENT_TYPE } from './metrics.ts';
export type { MetricsServer, ServeMetricsOptions, PromFamily, PromSample, PromType } from './metrics.ts';
export { LATENCY_BUCKETS_MS, LATENCY_BUCKETS_SECONDS } from './stats.ts';
export type { GatewayStatus, GatewayDeviceMetrics, GatewayMethodStatus, DeviceLinkTotals, DeviceStatsOptions, GatewayCanBusMetrics } from './stats.ts';
