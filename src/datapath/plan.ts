// Immutable plans that modes publish from the control path and the datapath only reads.
// Replacing the reference between batches is the whole "commit" (kernel: usable_slaves array).
// Ports are engine port indexes; masks are verdict bitmasks (bit p = engine port p). A plan holds
// data only: what changes per frame (TLB byte counts) lives in the datapath's own TlbEngine.

export type TxPlan = (
  | { readonly kind: 'none' }
  /** active-backup: everything leaves through one port. */
  | { readonly kind: 'single'; readonly mask: number }
  /** balance-rr over the usable ports; IGMP always through `igmpMask` (kernel compat). */
  | { readonly kind: 'round-robin'; readonly masks: Uint32Array; readonly perPort: number; readonly igmpMask: number }
  /** broadcast: one copy per usable port. */
  | { readonly kind: 'all'; readonly mask: number }
  /** balance-xor, 802.3ad: masks[xmit_hash % masks.length] (kernel usable_slaves); with
   * neighborMask (802.3ad broadcast_neighbor) ARP and IPv6 ND leave on all of those ports. */
  | { readonly kind: 'hash'; readonly masks: Uint32Array; readonly policy: number; readonly neighborMask?: number }
  /** balance-tlb / balance-alb (see TlbPlan). */
  | TlbPlan
) & {
  /** balance-rr, active-backup: the slaves' queue ids (see QueueOverride); absent when none has one. */
  readonly queues?: QueueOverride;
};

/**
 * queue_id (kernel bond_slave_override): a frame whose queue mapping is a slave's non-zero queue
 * id leaves on that slave when its link is up, whatever the mode would pick; when it is down the
 * mode decides. Only the kernel sees a frame's queue mapping: the eBPF transmit program carries
 * this out, on either datapath (src/fastpath/kernel-path.ts).
 */
export interface QueueOverride {
  /** tx_queues: the mapping a frame arrives with wraps at this many queues. */
  readonly txQueues: number;
  /** Queue id by engine port (0 = none). */
  readonly ids: Uint8Array;
  /** Ports whose link is up (bond_slave_is_up and BOND_LINK_UP): they may take a frame. */
  readonly upMask: number;
}

/**
 * balance-tlb and balance-alb. Frames from the bond's own MAC: IPv4/IPv6 unicast by bucket
 * (the datapath's TlbEngine, or usable[xmit_hash % n] without dynamic balancing), leaving a
 * non-active port with that port's MAC as source; everything else through the active port; with
 * `trapArp` (balance-alb) ARP from the bond goes to the transmit trap (RLB). Frames from other
 * MACs (guests on a bridge over the TAP): by source-MAC bucket, never rewritten.
 */
export interface TlbPlan {
  readonly kind: 'tlb';
  readonly activeMask: number;
  readonly active: number;
  readonly bondMac: Uint8Array;
  /** 6 bytes per engine port: the port's current MAC. */
  readonly portMacs: Uint8Array;
  /** balance-alb buckets by XOR of the destination IP; balance-tlb by xmit hash & 0xff. */
  readonly alb: boolean;
  /** tlb_dynamic_lb=0: usable[xmit_hash % n] instead of the load-based buckets. */
  readonly dynamic: boolean;
  readonly masks: Uint32Array;
  readonly policy: number;
  /** balance-alb: ARP from the bond goes to the transmit trap, which returns its verdict. */
  readonly trapArp: boolean;
}

export const ETHERTYPE_NORMAL = 0;
/** Handed to the mode only (slow-protocol frames in 802.3ad). */
export const ETHERTYPE_CONSUME = 1;
/** Handed to the mode/monitors and delivered as usual. */
export const ETHERTYPE_OBSERVE = 2;

export const DELIVER_NONE = 0;
export const DELIVER_ALL = 1;
/** balance-alb/tlb inactive slaves: unicast only (broadcasts arrive once, on the active slave). */
export const DELIVER_UNICAST = 2;

export interface RxPlan {
  /** By engine port index: DELIVER_NONE / DELIVER_ALL / DELIVER_UNICAST. */
  readonly deliver: Uint8Array;
  /**
   * balance-alb/tlb: unicast frames addressed to one of these MACs (6 bytes each: the slaves'
   * own) reach the TAP with the bond's MAC as destination, or its stack would not take them.
   */
  readonly rewrite?: { readonly macs: Uint8Array; readonly bondMac: Uint8Array };
  /** By EtherType: ETHERTYPE_NORMAL / CONSUME / OBSERVE. */
  readonly ethertypes: Uint8Array;
}

export const TX_NONE: TxPlan = { kind: 'none' };

/** `maxPorts` is the engine's port count (ModeContext.maxPorts, the binding's MAX_PORTS). */
export function rxPlan(
  maxPorts: number,
  deliverPorts: Iterable<number>,
  trapped: Iterable<[number, number]> = [],
  unicastPorts: Iterable<number> = [],
): RxPlan {
  const deliver = new Uint8Array(maxPorts);
  for (const p of unicastPorts) deliver[p] = DELIVER_UNICAST;
  for (const p of deliverPorts) deliver[p] = DELIVER_ALL;
  const ethertypes = new Uint8Array(65536);
  for (const [et, how] of trapped) ethertypes[et] = how;
  return { deliver, ethertypes };
}

/** `rx` with these EtherTypes also observed (copied to the slow path, delivered as usual). */
export function observing(rx: RxPlan, ethertypes: readonly number[]): RxPlan {
  if (ethertypes.length === 0) return rx;
  const copy = Uint8Array.from(rx.ethertypes);
  for (const et of ethertypes) copy[et] = copy[et] || ETHERTYPE_OBSERVE;
  return { ...rx, ethertypes: copy };
}

export function maskOf(ports: Iterable<number>): number {
  let m = 0;
  for (const p of ports) m |= 1 << p;
  return m >>> 0;
}
