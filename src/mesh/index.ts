// cell/mesh — cells callable by name from any node, on js-libp2p v3 (docs/mesh.md).
// The only module of the package that loads libp2p, and only when a node starts (dynamic
// imports, after the Node 20 `Promise.withResolvers` polyfill below).
import './polyfill.ts';

export { startMeshNode, MeshNode, RPC_PROTOCOL, LOAD_PROTOCOL, DHT_PROTOCOL, rpcProtocol } from './node.ts';
export type { MeshNodeOptions, MeshLoad, ProviderInfo, PeerSummary, ProvideOptions, Provided, ProvidedProxy } from './node.ts';
export type { MeshClient, MeshControls, MeshConnectOptions, CandidateInfo, SwitchReason } from './client.ts';
export { MeshLink } from './link.ts';
export type { MeshLinkOptions, MeshStreamLike } from './link.ts';
export { FrameProxy } from './proxy.ts';
export type { ProxyOptions } from './proxy.ts';
export { cellKeyBytes, schemaId, meshKeyPath } from './keys.ts';
