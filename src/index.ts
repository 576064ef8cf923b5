// cell — the package root: the portable core (wire header, framing, codec) and nothing that loads
// a native addon or a network stack. Transports, the mesh and the CLI live behind subpaths.
export * from './wire/index.ts';
