// Immutable plans that modes publish from the control path and the datapath only reads.
// Replacing the reference between batches is the whole "commit" (kernel: usable_slaves array).
// Ports are engine port indexes; masks are verdict bitmasks (bit p = engine port p).

export type TxPlan =
  | { readonly kind: 'none' }
  /** active-backup: everything leaves through one port. */
  | { readonly kind: 'single'; readonly mask: number }
  /** balance-rr over the usable ports; IGMP always through `igmpMask` (kernel compat). */
  | { readonly kind: 'round-robin'; readonly masks: Uint32Array; readonly perPort: number; readonly igmpMask: number }
  /** broadcast: one copy per usable port. */
  | { readonly kind: 'all'; readonly mask: number }
  /** balance-xor, 802.3ad: masks[xmit_hash % masks.length] (kernel usable_slaves); with
   * neighborMask (802.3ad broadcast_neighbor) ARP and IPv6 ND leave on all of those ports. */
  | { readonly kind: 'hash'; readonly masks: Uint32Array; readonly policy: number; readonly neighborMask?: number };

export const ETHERTYPE_NORMAL = 0;
/** Handed to the mode only (slow-protocol frames in 802.3ad). */
export const ETHERTYPE_CONSUME = 1;
/** Handed to the mode/monitors and delivered as usual. */
export const ETHERTYPE_OBSERVE = 2;

export interface RxPlan {
  /** By engine port index: 1 = pass ordinary frames up the TAP (an active port). */
  readonly deliver: Uint8Array;
  /** By EtherType: ETHERTYPE_NORMAL / CONSUME / OBSERVE. */
  readonly ethertypes: Uint8Array;
}

export const TX_NONE: TxPlan = { kind: 'none' };

export function rxPlan(deliverPorts: Iterable<number>, trapped: Iterable<[number, number]> = [], maxPorts = 32): RxPlan {
  const deliver = new Uint8Array(maxPorts);
  for (const p of deliverPorts) deliver[p] = 1;
  const ethertypes = new Uint8Array(65536);
  for (const [et, how] of trapped) ethertypes[et] = how;
  return { deliver, ethertypes };
}

export function maskOf(ports: Iterable<number>): number {
  let m = 0;
  for (const p of ports) m |= 1 << p;
  return m >>> 0;
}
