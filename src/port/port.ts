// One enslaved interface, as the control path sees it. The hot path only knows `index`.
import type { StackBlock } from '../net/rtnl.js';
import type { LinkInfo } from '../native/types.js';
import { macEquals } from '../util/mac.js';
import { PortLink, type MiiState } from './link.js';

/** What enslaving changed, so release and SIGTERM can put it back exactly. */
export interface SavedLink {
  /** The name and ifindex when enslaved; a restore finds the interface by ifindex (renames). */
  name: string;
  ifindex: number;
  mac: Uint8Array;
  mtu: number;
  flags: number;
  /** /proc/sys/net/ipv6/conf/<if>/disable_ipv6 before enslaving; null when IPv6 is absent. */
  disableIpv6: string | null;
  /** The tc ingress drop that blinds the slave's own stack, to undo on release. */
  stackBlock?: StackBlock;
  /** Whether it had a clsact qdisc before enslaving (recovery from a kill mid-way needs it). */
  hadClsact?: boolean;
}

export class Port {
  readonly link: PortLink;
  speed = -1;
  duplex: 'full' | 'half' | 'unknown' = 'unknown';
  /** Last raw carrier seen (miimon poll or rtnetlink event). */
  carrier = false;
  /** Multicast MACs joined on this port (hex), mirrored from the TAP. */
  readonly multicast = new Set<string>();
  promisc = false;
  allmulti = false;
  /** Per-slave option actor_port_prio (802.3ad port priority; kernel default 255). */
  actorPortPrio = 255;
  /** Per-slave option prio (failover reselection without a primary; kernel default 0). */
  prio = 0;
  /** Per-slave option queue_id (kernel default 0). */
  queueId = 0;
  /** The MAC the interface has now (the bond's, its own, or a swapped one with fail_over_mac). */
  mac: Uint8Array;

  constructor(
    /** Engine port index (1..31): bit `index` of a verdict. */
    readonly index: number,
    /** Follows a rename under the daemon (rtnetlink). */
    public name: string,
    readonly ifindex: number,
    /** The MAC the interface had when it was enslaved (kernel perm_hwaddr). */
    readonly permMac: Uint8Array,
    readonly saved: SavedLink,
    initial: MiiState,
  ) {
    this.link = new PortLink(initial);
    this.mac = Uint8Array.from(permMac);
  }

  /** A port just enslaved: `now` is the interface as it is after preparation, at time `at`. */
  static enslaved(index: number, name: string, saved: SavedLink, now: LinkInfo, carrier: boolean, initial: MiiState, at: number): Port {
    const port = new Port(index, name, now.ifindex, saved.mac, saved, initial);
    port.mac = Uint8Array.from(now.mac);
    port.carrier = carrier;
    port.speed = now.speed;
    port.duplex = now.duplex;
    if (initial === 'back') port.link.since = at;
    return port;
  }

  get isUp(): boolean {
    return this.link.state === 'up';
  }
}

/** True when `m` is the bond's MAC or one a slave has now (our own frames seen again). */
export function isOurMac(m: Uint8Array, bondMac: Uint8Array | undefined, ports: readonly Port[]): boolean {
  const eq = (a: Uint8Array) => a.length === 6 && macEquals(a, m);
  return (bondMac !== undefined && eq(bondMac)) || ports.some((p) => eq(p.mac));
}
