// The state tree's shape (`bondctl state --json`, the input of `bondctl show`, watch and the
// metrics). Types only: the CLI, control and metrics import these, never the bond itself.
import type { BondOptions } from '../options/parse.js';
import type { ProcessState } from '../util/process-stats.js';

export interface PortState {
  name: string;
  ifindex: number;
  engine_port: number;
  perm_hwaddr: string;
  mii_status: string;
  carrier: boolean;
  link_failure_count: number;
  actor_port_prio: number;
  prio: number;
  speed: number;
  duplex: string;
  state: 'active' | 'backup';
  queue_id: number;
  promisc: boolean;
  multicast: string[];
  counters: Record<string, number>;
  lacp?: Record<string, unknown>;
}

export interface BondState {
  bond: {
    name: string;
    ifindex: number;
    mac: string | null;
    mtu: number;
    up: boolean;
    promisc: boolean;
    carrier: boolean;
    mode: string;
    mode_id: number;
    active_slave: string | null;
    peer_notifications: number;
    igmp_resends: number;
    learned_macs: number;
    learned_mac_announcements: number;
    failovers: number;
    /** What forwards frames: the kernel fast path, or the user-space datapath (and why). */
    datapath: { path: 'kernel' | 'user'; attach?: 'tcx' | 'tc'; requested: string; reason?: string };
    counters: Record<string, number>;
  };
  options: BondOptions;
  mode: Record<string, unknown>;
  ports: PortState[];
  /** The daemon process (bondctl state; not part of one bond's own state). */
  process?: ProcessState;
}

/** `bondctl hash`: where the datapath would send a frame now (like OVS bond/hash). */
export interface Placement {
  plan: string;
  hash?: number;
  index?: number;
  /** ARP/ND on every port of the neighbour mask (802.3ad broadcast_neighbor). */
  neighbor?: boolean;
  usable: string[];
  port: string | null;
}
