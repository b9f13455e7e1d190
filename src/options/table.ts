// THE option table: one row per kernel bonding option (kernel bond_options.c bond_opts[]), with
// its values by name and number, default, range, the modes that allow it, when it may change and
// what a change takes. The command line, the JSON config, `bondctl set`, applying a change, the
// help text and the BondOptions type are all driven from here.
import { HASH_POLICIES } from '../datapath/hash.js';
import { MODE_NAMES, modesWhere, type ModeName } from './modes.js';

export type OptionKind = 'enum' | 'int' | 'ifname' | 'mac' | 'ipv4-list' | 'ipv6-list';
export type OptionValue = string | number | string[];

export interface EnumValue<N extends string = string> {
  readonly name: N;
  readonly value: number;
}

/**
 * What changing an option takes besides republishing the mode's plans (the kernel's `.set`
 * handlers): a new mode instance, or a restarted link monitor.
 */
export type OptionEffect = 'mode' | 'monitor';

export interface OptionDef {
  readonly name: string;
  readonly desc: string;
  readonly kind: OptionKind;
  readonly values?: readonly EnumValue[];
  readonly min?: number;
  readonly max?: number;
  readonly unit?: 'ms' | 's';
  readonly default: OptionValue;
  /**
   * Modes in which the option may be set (the complement of the kernel's `unsuppmodes`);
   * undefined = every mode.
   */
  readonly modes?: readonly ModeName[];
  /**
   * Modes in which the option does something, where that is fewer than `modes`: the kernel
   * accepts it in the others silently (xmit_hash_policy in active-backup); undefined = `modes`.
   */
  readonly effective?: readonly ModeName[];
  /** Kernel NOSLAVES: only while the bond has no slaves. */
  readonly noSlaves?: boolean;
  /** Kernel IFDOWN: only while the bond is down. */
  readonly ifDown?: boolean;
  /** Module parameter only: set at start, never at runtime. */
  readonly startOnly?: boolean;
  /** Aliases share one value (num_grat_arp / num_unsol_na). */
  readonly aliasOf?: string;
  /** Implemented in this version. A non-default value of an unimplemented option is refused. */
  readonly supported: boolean;
  /** Values of an enum that this version does not implement yet. */
  readonly unsupportedValues?: readonly string[];
  /** Not a kernel option: something tapbond adds (listed separately in the docs). */
  readonly extension?: boolean;
  /** What a change takes besides republishing (undefined: republishing is enough). */
  readonly effect?: OptionEffect;
}

function enumOf<const N extends string>(...names: readonly N[]): readonly EnumValue<N>[] {
  return names.map((name, value) => ({ name, value }));
}
const OFF_ON = enumOf('off', 'on');
const INT_MAX = 2 ** 31 - 1;

const USES_PRIMARY = modesWhere((m) => m.usesPrimary);
const ARP_MODES = modesWhere((m) => m.arpMonitor);
const HASH_MODES: ModeName[] = ['balance-xor', '802.3ad', 'balance-tlb', 'balance-alb'];
const LB_MODES: ModeName[] = ['balance-tlb', 'balance-alb'];
const AD: ModeName[] = ['802.3ad'];
const PEER_NOTIF_MODES: ModeName[] = ['active-backup', '802.3ad'];

// one row per option, read as a table
// prettier-ignore
const OPTION_ROWS = [
  { name: 'mode', desc: 'bonding policy', kind: 'enum', values: MODE_NAMES.map((name, value) => ({ name, value })), default: 'balance-rr', noSlaves: true, ifDown: true, supported: true, effect: 'mode' },
  { name: 'miimon', desc: 'MII link monitoring interval', kind: 'int', unit: 'ms', min: 0, max: INT_MAX, default: 0, supported: true, effect: 'monitor' },
  { name: 'updelay', desc: 'delay before enabling a slave after link recovery (multiple of miimon)', kind: 'int', unit: 'ms', min: 0, max: INT_MAX, default: 0, supported: true },
  { name: 'downdelay', desc: 'delay before disabling a slave after link failure (multiple of miimon)', kind: 'int', unit: 'ms', min: 0, max: INT_MAX, default: 0, supported: true },
  { name: 'peer_notif_delay', desc: 'delay between peer notifications after a failover (multiple of miimon)', kind: 'int', unit: 'ms', min: 0, max: 300000, default: 0, supported: true },
  { name: 'use_carrier', desc: 'obsolete since Linux 6.18: the carrier is always used (0 is accepted with a warning)', kind: 'enum', values: OFF_ON, default: 'on', supported: true },
  { name: 'arp_interval', desc: 'ARP link monitoring interval', kind: 'int', unit: 'ms', min: 0, max: INT_MAX, default: 0, modes: ARP_MODES, supported: true, effect: 'monitor' },
  { name: 'arp_ip_target', desc: 'IPv4 addresses to ARP-probe (up to 16)', kind: 'ipv4-list', max: 16, default: [], effective: ARP_MODES, supported: true, effect: 'monitor' },
  { name: 'ns_ip6_target', desc: 'IPv6 addresses to NS-probe (up to 16)', kind: 'ipv6-list', max: 16, default: [], effective: ARP_MODES, supported: true, effect: 'monitor' },
  { name: 'arp_validate', desc: 'validate ARP probe replies', kind: 'enum', values: enumOf('none', 'active', 'backup', 'all', 'filter', 'filter_active', 'filter_backup'), default: 'none', modes: ARP_MODES, supported: true, effect: 'monitor' },
  { name: 'arp_all_targets', desc: 'slave is up when any / all ARP targets answer', kind: 'enum', values: enumOf('any', 'all'), default: 'any', effective: ARP_MODES, supported: true, effect: 'monitor' },
  { name: 'arp_missed_max', desc: 'missed ARP intervals before a slave goes down', kind: 'int', min: 1, max: 255, default: 2, modes: ARP_MODES, supported: true, effect: 'monitor' },
  { name: 'primary', desc: 'preferred slave (active-backup, tlb, alb)', kind: 'ifname', default: '', modes: USES_PRIMARY, supported: true },
  { name: 'primary_reselect', desc: 'when the primary becomes active again', kind: 'enum', values: enumOf('always', 'better', 'failure'), default: 'always', effective: USES_PRIMARY, supported: true },
  { name: 'active_slave', desc: 'the active slave (runtime; empty = automatic)', kind: 'ifname', default: '', modes: USES_PRIMARY, supported: true },
  { name: 'fail_over_mac', desc: 'MAC policy on failover', kind: 'enum', values: enumOf('none', 'active', 'follow'), default: 'none', effective: ['active-backup'], noSlaves: true, supported: true },
  { name: 'xmit_hash_policy', desc: 'transmit hash policy', kind: 'enum', values: HASH_POLICIES.map((name, value) => ({ name, value })), default: 'layer2', effective: HASH_MODES, supported: true },
  { name: 'resend_igmp', desc: 'IGMP membership reports sent after a failover', kind: 'int', min: 0, max: 255, default: 1, effective: ['balance-rr', 'active-backup', 'balance-tlb', 'balance-alb'], supported: true },
  { name: 'num_grat_arp', desc: 'peer notifications (gratuitous ARP / unsolicited NA) after a failover', kind: 'int', min: 0, max: 255, default: 1, effective: PEER_NOTIF_MODES, supported: true },
  { name: 'num_unsol_na', desc: 'alias of num_grat_arp', kind: 'int', min: 0, max: 255, default: 1, effective: PEER_NOTIF_MODES, aliasOf: 'num_grat_arp', supported: true },
  { name: 'all_slaves_active', desc: 'deliver frames received on inactive slaves', kind: 'enum', values: OFF_ON, default: 'off', supported: true },
  { name: 'min_links', desc: 'minimum links for carrier (802.3ad)', kind: 'int', min: 0, max: INT_MAX, default: 0, effective: AD, supported: true },
  { name: 'lp_interval', desc: 'seconds between learning packets (tlb, alb)', kind: 'int', unit: 's', min: 1, max: INT_MAX, default: 1, effective: LB_MODES, supported: true },
  { name: 'packets_per_slave', desc: 'packets per slave before moving on (balance-rr; 0 = random)', kind: 'int', min: 0, max: 65535, default: 1, modes: ['balance-rr'], supported: true },
  { name: 'lacp_rate', desc: 'LACPDU rate asked of the partner', kind: 'enum', values: enumOf('slow', 'fast'), default: 'slow', modes: AD, ifDown: true, supported: true },
  { name: 'lacp_active', desc: 'send LACPDUs unprompted', kind: 'enum', values: OFF_ON, default: 'on', modes: AD, ifDown: true, supported: true },
  { name: 'ad_select', desc: 'aggregator selection policy', kind: 'enum', values: enumOf('stable', 'bandwidth', 'count', 'actor_port_prio'), default: 'stable', effective: AD, ifDown: true, supported: true },
  { name: 'ad_actor_sys_prio', desc: 'LACP system priority', kind: 'int', min: 1, max: 65535, default: 65535, modes: AD, supported: true },
  { name: 'ad_user_port_key', desc: 'upper 10 bits of the LACP port key', kind: 'int', min: 0, max: 1023, default: 0, modes: AD, ifDown: true, supported: true },
  { name: 'ad_actor_system', desc: 'LACP system MAC (00:00:00:00:00:00 = bond MAC)', kind: 'mac', default: '00:00:00:00:00:00', modes: AD, supported: true },
  { name: 'tlb_dynamic_lb', desc: 'dynamic (load based) transmit balancing', kind: 'enum', values: OFF_ON, default: 'on', modes: LB_MODES, ifDown: true, supported: true },
  { name: 'coupled_control', desc: 'coupled collecting/distributing mux', kind: 'enum', values: OFF_ON, default: 'on', modes: AD, ifDown: true, supported: true },
  { name: 'broadcast_neighbor', desc: 'ARP/ND on every usable port (802.3ad)', kind: 'enum', values: OFF_ON, default: 'off', modes: AD, supported: true },
  { name: 'lacp_strict', desc: 'carrier down without an LACP partner', kind: 'enum', values: OFF_ON, default: 'off', modes: AD, supported: true },
  { name: 'ad_speed_override', desc: 'speed (Mbit/s) assumed for a slave whose driver reports none, so LACP can build a key (0 = off)', kind: 'int', min: 0, max: 800000, default: 0, modes: modesWhere((m) => m.needsSpeed), supported: true, extension: true },
  { name: 'lacp_fallback', desc: 'while no port hears an LACP partner, carry traffic active-backup on one port at once (with gratuitous ARPs); LACP takes over when a partner speaks', kind: 'enum', values: OFF_ON, default: 'off', modes: AD, supported: true, extension: true },
  { name: 'max_bonds', desc: 'bonds created at start (module parameter; --modprobe-conf)', kind: 'int', min: 0, max: INT_MAX, default: 1, startOnly: true, supported: true },
  { name: 'tx_queues', desc: 'transmit queues (module parameter): the queue ids a slave may have are 1..tx_queues', kind: 'int', min: 1, max: 255, default: 16, startOnly: true, supported: true },
] as const satisfies readonly OptionDef[];

type OptionRow = (typeof OPTION_ROWS)[number];
type ValueOf<R> = R extends { readonly kind: 'enum'; readonly values: readonly EnumValue<infer N>[] }
  ? N
  : R extends { readonly kind: 'int' }
    ? number
    : R extends { readonly kind: 'ipv4-list' | 'ipv6-list' }
      ? string[]
      : string;

/** A bond's options, one field per row of OPTIONS, typed by the row's kind and values. */
export type BondOptions = { -readonly [R in OptionRow as R['name']]: ValueOf<R> };
export type OptionName = keyof BondOptions;

/** Every option row, as generic code reads them. */
export const OPTIONS: readonly OptionDef[] = OPTION_ROWS;

export const OPTION_BY_NAME: ReadonlyMap<string, OptionDef> = new Map(OPTIONS.map((o) => [o.name, o]));

/** The value as the kernel shows it in /proc and sysfs: "name number" for enums. */
export function describeAllowed(def: OptionDef): string {
  switch (def.kind) {
    case 'enum':
      return (
        def
          .values!.filter((v) => !def.unsupportedValues?.includes(v.name))
          .map((v) => `${v.name} (${v.value})`)
          .join(', ') + (def.unsupportedValues?.length ? `; not supported yet: ${def.unsupportedValues.join(', ')}` : '')
      );
    case 'int':
      return `an integer from ${def.min} to ${def.max}${def.unit ? ` (${def.unit})` : ''}`;
    case 'ifname':
      return 'an interface name, or empty for none';
    case 'mac':
      return 'a MAC address like 02:00:00:00:00:01';
    case 'ipv4-list':
      return `up to ${def.max} IPv4 addresses, comma separated`;
    case 'ipv6-list':
      return `up to ${def.max} IPv6 addresses, comma separated`;
  }
}

/**
 * Per-slave options (the kernel's `ip link set DEV type bond_slave ...`): set with
 * `bondctl set-slave`, the JSON "slave_options" or `bondd --slave-option`.
 */
export interface SlaveOptionDef {
  readonly name: string;
  readonly desc: string;
  readonly min: number;
  readonly max: number;
  readonly default: number;
  readonly modes?: readonly ModeName[];
}

// prettier-ignore
export const SLAVE_OPTIONS: readonly SlaveOptionDef[] = [
  { name: 'prio', desc: 'failover priority: with no primary, reselection prefers the highest prio among the usable slaves (follows primary_reselect)', min: -(2 ** 31), max: 2 ** 31 - 1, default: 0, modes: ['active-backup', 'balance-tlb', 'balance-alb'] },
  { name: 'queue_id', desc: 'transmit queue this slave serves in balance-rr and active-backup: a frame whose queue mapping (set by a tc classifier on the bond\'s egress) is this id leaves here while the link is up (0 = none; at most tx_queues; a non-zero id belongs to one slave)', min: 0, max: 65535, default: 0 },
  { name: 'actor_port_prio', desc: '802.3ad actor port priority (LACPDUs; ad_select=actor_port_prio sums it over an aggregator\'s enabled ports)', min: 1, max: 65535, default: 255, modes: ['802.3ad'] },
];
