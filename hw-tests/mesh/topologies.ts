// The topology of the mesh tests (docs/mesh-tests.md §"Topology"): one LAN bridge with the
// ordinary hosts, a router to a second bridge ("far"), and a NAT router with a host behind it.
//
//       lan 10.99.0.0/24 (bridge)                               far 10.99.1.0/24 (bridge)
//   ┌──────┬──────┬──────┬──────┐                         ┌──────┐
//   a .11  b .12  c .13  d .14  rt .1 ── ip_forward ── rt .1 (far)   f .21 (default via .1)
//                               nat .2 (eth0, masquerade)
//                                 │
//                     inner 10.99.2.0/24 (bridge)
//                               nat .1 ── h .21 (default via 10.99.2.1)
//
// Hosts on the LAN route 10.99.1.0/24 through rt; nothing routes into 10.99.2.0/24 except the
// NAT's own masquerade state (and a LAN host that adds a route still gets dropped by its forward
// chain), so `h` is reachable only through connections it opens itself: a relay.
import type { TopologySpec } from './netns.ts';

export const LAN = '10.99.0';
export const FAR = '10.99.1';
export const INNER = '10.99.2';

export interface MeshTopologyOptions {
  /** Ordinary LAN hosts, named a, b, c, … (at most 8). @default 4 */
  lanHosts?: number;
  /** Add the router rt and the far host f. @default true */
  far?: boolean;
  /** Add the NAT router nat and the host h behind it. @default true */
  nat?: boolean;
  /**
   * Give LAN hosts a route to the inner subnet through the NAT (only the harness test wants it: it
   * shows the NAT's forward chain dropping inbound connections). @default false
   */
  routeIntoNat?: boolean;
}

export function meshTopology(opts: MeshTopologyOptions = {}): TopologySpec {
  const n = opts.lanHosts ?? 4;
  const far = opts.far ?? true;
  const nat = opts.nat ?? true;
  const bridges = ['lan'];
  if (far) bridges.push('far');
  if (nat) bridges.push('inner');
  const hosts: TopologySpec['hosts'] = [];
  for (let i = 0; i < n; i++) {
    const routes = [];
    if (far) routes.push({ to: `${FAR}.0/24`, via: `${LAN}.1` });
    if (nat && opts.routeIntoNat === true) routes.push({ to: `${INNER}.0/24`, via: `${LAN}.2` });
    hosts.push({ name: String.fromCharCode(97 + i), links: [{ bridge: 'lan', addr: `${LAN}.${11 + i}/24` }], routes });
  }
  if (far) {
    hosts.push({ name: 'rt', links: [{ bridge: 'lan', addr: `${LAN}.1/24` }, { bridge: 'far', addr: `${FAR}.1/24` }], forward: true });
    hosts.push({ name: 'f', links: [{ bridge: 'far', addr: `${FAR}.21/24` }], defaultVia: `${FAR}.1` });
  }
  if (nat) {
    hosts.push({
      name: 'nat',
      links: [{ bridge: 'lan', addr: `${LAN}.2/24` }, { bridge: 'inner', addr: `${INNER}.1/24` }],
      natOut: 'eth0',
      routes: far ? [{ to: `${FAR}.0/24`, via: `${LAN}.1` }] : [],
    });
    hosts.push({ name: 'h', links: [{ bridge: 'inner', addr: `${INNER}.21/24` }], defaultVia: `${INNER}.1` });
  }
  return { bridges, hosts };
}
