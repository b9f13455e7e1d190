// The Mode contract: control-path policy. A mode never touches sockets; it publishes plans
// through its context and asks the bond for side effects (peer notification).
import type { Port } from '../port/port.js';
import type { TxPlan, RxPlan } from '../datapath/plan.js';
import type { TlbControl } from '../datapath/tlb.js';
import type { BondOptions } from '../options/parse.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ModeName } from '../options/modes.js';

export interface ModeContext {
  readonly bondName: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Ports in enslave order. */
  ports(): readonly Port[];
  options(): Readonly<BondOptions>;
  /** The only way a mode affects the datapath. */
  publish(tx: TxPlan, rx: RxPlan): void;
  /**
   * Peer notification (gratuitous ARP / unsolicited NA) from `port` after an active change,
   * once the plan that sends through it is published.
   */
  notifyPeers(port: Port): void;
  /**
   * The active slave changed: the link monitor's active port and the fail_over_mac MAC moves
   * follow it (active-backup, tlb and alb call it before publishing the plan, whose MACs it may
   * change).
   */
  activeChanged(prev: Port | null, next: Port | null): void;
  /**
   * resend_igmp: the bond's IPv4 memberships reported again through `port`, the new active (or,
   * in balance-rr, first) slave, once the plan that sends through it is published.
   */
  resendIgmp(port: Port): void;
  /** Sends a control frame (LACPDU, marker response) on a port. */
  sendControl(port: Port, frame: Uint8Array): void;
  /** The mode's view of the carrier may have changed. */
  updateCarrier(): void;
  /** The bond's MAC (the default LACP system id). */
  bondMac(): Uint8Array;
  /** Engine ports (verdict bits), the size of per-port plan arrays. */
  readonly maxPorts: number;
  /** The datapath's TLB buckets (balance-tlb/alb rebalance them; the datapath counts bytes). */
  readonly tlb: TlbControl;
}

export interface Mode {
  readonly name: ModeName;
  /** Recomputes after any change of ports, links or options, and publishes plans. */
  update(reason: string): void;
  /** A slave was enslaved (before update()). */
  portAdded?(port: Port): void;
  /** A slave is being released (before update()). */
  portRemoved?(port: Port): void;
  /** The active slave, for modes that have one (kernel curr_active_slave). */
  active(): Port | null;
  /** Manual active_slave: the bond has checked that the port is up. null = automatic. */
  setActive?(port: Port | null): void;
  /** Bond carrier: kernel "at least one usable slave". */
  carrier(): boolean;
  /** True when this port passes received frames up the bond. */
  isActive(port: Port): boolean;
  describe(): Record<string, unknown>;
  /** Per-port details for `state` and `show` (802.3ad: LACP actor/partner, churn). */
  describePort?(port: Port): Record<string, unknown> | undefined;
  /** 100 ms cadence, for modes that run protocol machines. */
  tick?(): void;
  /** The protocol state a next bondd needs to go on where this one is (JSON), if any. */
  snapshot?(): unknown;
  /** Goes on from an earlier bondd's snapshot, after its ports were added; nothing is announced. */
  restore?(state: unknown): void;
  /** A frame of an EtherType the mode's RxPlan consumes or observes arrived on `port`. */
  trapped?(port: Port, frame: Uint8Array): void;
  /**
   * A frame from the TAP that the TxPlan traps (balance-alb: the bond's ARP). Returns its verdict;
   * `commit` false is a query that must change nothing (see TxTrapHandler).
   */
  transmitTrapped?(frame: Uint8Array, commit: boolean): number;
  /** Extra multicast MACs (hex) every slave must receive, e.g. the slow-protocols address. */
  multicast?(): string[];
}

export function usablePorts(ctx: ModeContext): Port[] {
  return ctx.ports().filter((p) => p.isUp);
}
