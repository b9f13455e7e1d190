// A bond's state in the two other shapes scripts read from a kernel bond: one sysfs file
// (/sys/class/net/<bond>/bonding/<name>, bond_sysfs.c) and the bond line of `ip -d link show`
// (iproute2 ip/iplink_bond.c bond_print_opt: the same keywords in the same order). Pure.
import { BondError } from '../errors.js';
import { MODE_INFO, type ModeName } from '../options/modes.js';
import { OPTION_BY_NAME } from '../options/table.js';
import type { BondState } from '../state/schema.js';

type Agg = { id: number; ports: unknown; actor_key: number; partner_key: number; partner_mac: string } | null;

/** An enum option's number (kernel value table order). */
function num(name: string, value: unknown): number {
  const v = OPTION_BY_NAME.get(name)?.values?.find((x) => x.name === value);
  return v ? v.value : Number(value);
}

const usesPrimary = (s: BondState) => MODE_INFO[s.bond.mode as ModeName]?.usesPrimary ?? false;
const is8023ad = (s: BondState) => MODE_INFO[s.bond.mode as ModeName]?.lacp ?? false;
const aggregator = (s: BondState): Agg => (is8023ad(s) ? ((s.mode.active_aggregator as Agg) ?? null) : null);
const portCount = (a: NonNullable<Agg>) => (Array.isArray(a.ports) ? a.ports.length : Number(a.ports));

/**
 * The sysfs files of a kernel bond, each rendered as the kernel prints it (bond_sysfs.c's
 * per_bond_attrs; ns_ip6_target has none: netlink and /proc only, test/kernel/layouts holds it).
 */
const SYSFS: Record<string, (s: BondState) => string> = {
  slaves: (s) => s.ports.map((p) => p.name).join(' '),
  mode: (s) => `${s.bond.mode} ${s.bond.mode_id}`,
  xmit_hash_policy: (s) => named(s, 'xmit_hash_policy'),
  arp_validate: (s) => named(s, 'arp_validate'),
  arp_all_targets: (s) => named(s, 'arp_all_targets'),
  fail_over_mac: (s) => named(s, 'fail_over_mac'),
  primary_reselect: (s) => named(s, 'primary_reselect'),
  lacp_rate: (s) => named(s, 'lacp_rate'),
  lacp_active: (s) => named(s, 'lacp_active'),
  ad_select: (s) => named(s, 'ad_select'),
  arp_ip_target: (s) => s.options.arp_ip_target.join(' '),
  arp_interval: (s) => String(s.options.arp_interval),
  arp_missed_max: (s) => String(s.options.arp_missed_max),
  miimon: (s) => String(s.options.miimon),
  updelay: (s) => String(s.options.updelay),
  downdelay: (s) => String(s.options.downdelay),
  peer_notif_delay: (s) => String(s.options.peer_notif_delay),
  use_carrier: (s) => String(num('use_carrier', s.options.use_carrier)),
  num_grat_arp: (s) => String(s.options.num_grat_arp),
  num_unsol_na: (s) => String(s.options.num_unsol_na),
  min_links: (s) => String(s.options.min_links),
  all_slaves_active: (s) => String(num('all_slaves_active', s.options.all_slaves_active)),
  resend_igmp: (s) => String(s.options.resend_igmp),
  lp_interval: (s) => String(s.options.lp_interval),
  tlb_dynamic_lb: (s) => String(num('tlb_dynamic_lb', s.options.tlb_dynamic_lb)),
  packets_per_slave: (s) => String(s.options.packets_per_slave),
  primary: (s) => (usesPrimary(s) && s.ports.some((p) => p.name === s.options.primary) ? s.options.primary : ''),
  active_slave: (s) => (usesPrimary(s) ? (s.bond.active_slave ?? '') : ''),
  mii_status: (s) => (s.bond.carrier ? 'up' : 'down'),
  queue_id: (s) => s.ports.map((p) => `${p.name}:${p.queue_id}`).join(' '),
  // 802.3ad only, as the kernel prints them (empty in the other modes)
  ad_aggregator: (s) => String(aggregator(s)?.id ?? ''),
  ad_num_ports: (s) => (aggregator(s) ? String(portCount(aggregator(s)!)) : ''),
  ad_actor_key: (s) => String(aggregator(s)?.actor_key ?? ''),
  ad_partner_key: (s) => String(aggregator(s)?.partner_key ?? ''),
  ad_partner_mac: (s) => aggregator(s)?.partner_mac ?? '',
  ad_actor_sys_prio: (s) => (is8023ad(s) ? String(s.options.ad_actor_sys_prio) : ''),
  ad_user_port_key: (s) => (is8023ad(s) ? String(s.options.ad_user_port_key) : ''),
  ad_actor_system: (s) => (is8023ad(s) ? s.options.ad_actor_system : ''),
};

function named(s: BondState, name: keyof BondState['options']): string {
  return `${String(s.options[name])} ${num(name, s.options[name])}`;
}

export const SYSFS_FILES = Object.keys(SYSFS);

/** `bondctl get BOND NAME`: the value as /sys/class/net/BOND/bonding/NAME reads. */
export function sysfsValue(s: BondState, name: string): string {
  const f = SYSFS[name];
  if (!f) {
    throw new BondError(
      'EOPT_UNKNOWN',
      `${name}: no such file in /sys/class/net/${s.bond.name}/bonding; allowed: ${SYSFS_FILES.join(', ')}` +
        (OPTION_BY_NAME.has(name) ? ` (${name} is netlink-only in the kernel: see bondctl show ${s.bond.name} --details)` : ''),
    );
  }
  return f(s);
}

/** The bond line of `ip -d link show BOND`. */
export function ipDetailsLine(s: BondState): string {
  const o = s.options;
  const w: string[] = [`mode ${s.bond.mode}`];
  if (s.bond.active_slave) w.push(`active_slave ${s.bond.active_slave}`);
  w.push(`miimon ${o.miimon}`, `updelay ${o.updelay}`, `downdelay ${o.downdelay}`, `peer_notify_delay ${o.peer_notif_delay}`);
  w.push(`use_carrier ${num('use_carrier', o.use_carrier)}`, `arp_interval ${o.arp_interval}`, `arp_missed_max ${o.arp_missed_max}`);
  if (o.arp_ip_target.length) w.push(`arp_ip_target ${o.arp_ip_target.join(',')}`);
  if (o.ns_ip6_target.length) w.push(`ns_ip6_target ${o.ns_ip6_target.join(',')}`);
  w.push(`arp_validate ${o.arp_validate}`, `arp_all_targets ${o.arp_all_targets}`);
  if (usesPrimary(s) && s.ports.some((p) => p.name === o.primary)) w.push(`primary ${o.primary}`);
  w.push(`primary_reselect ${o.primary_reselect}`, `fail_over_mac ${o.fail_over_mac}`, `xmit_hash_policy ${o.xmit_hash_policy}`);
  w.push(
    `resend_igmp ${o.resend_igmp}`,
    `num_grat_arp ${o.num_grat_arp}`,
    `all_slaves_active ${num('all_slaves_active', o.all_slaves_active)}`,
  );
  w.push(`min_links ${o.min_links}`, `lp_interval ${o.lp_interval}`, `packets_per_slave ${o.packets_per_slave}`);
  w.push(`lacp_active ${o.lacp_active}`, `lacp_rate ${o.lacp_rate}`, `coupled_control ${o.coupled_control}`, `ad_select ${o.ad_select}`);
  const a = aggregator(s);
  if (a) {
    w.push(`ad_aggregator ${a.id}`, `ad_num_ports ${portCount(a)}`, `ad_actor_key ${a.actor_key}`, `ad_partner_key ${a.partner_key}`);
    w.push(`ad_partner_mac ${a.partner_mac}`);
  }
  if (is8023ad(s))
    w.push(`ad_actor_sys_prio ${o.ad_actor_sys_prio}`, `ad_user_port_key ${o.ad_user_port_key}`, `ad_actor_system ${o.ad_actor_system}`);
  w.push(`tlb_dynamic_lb ${num('tlb_dynamic_lb', o.tlb_dynamic_lb)}`);
  return `    bond ${w.join(' ')} `;
}
