// cell/transports — the Link interface and the links that need no native addon.
export { LinkStats, isListener } from './link.ts';
export type { Link, LinkCapabilities, LinkHandlers, LinkListener } from './link.ts';
export { MemoryLink, memoryPair, type MemoryLinkOptions } from './memory.ts';
export { SocketLink, type SocketLinkOptions } from './socket.ts';
export { connectUnix, listenUnix, type UnixLinkOptions } from './unix.ts';
export { connectTcp, listenTcp, type TcpLinkOptions, type TcpListener } from './tcp.ts';
