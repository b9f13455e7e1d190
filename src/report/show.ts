// `bondctl show`: the /proc/net/bonding/<bond> layout of the kernel (bond_procfs.c), for the
// modes this version implements. Pure: state in, text out.
import type { BondState } from '../state/schema.js';
import { policyId } from '../datapath/hash.js';
import { MODE_INFO, type ModeName } from '../options/modes.js';
import { VERSION } from '../version.js';

export function renderShow(s: BondState): string {
  const o = s.options;
  const mode = o.mode as ModeName;
  const info = MODE_INFO[mode];
  const L: string[] = [];
  const dpath = s.bond.datapath;
  // beyond the kernel, on the driver line: scripts read the line after it as the blank one that
  // ends the header (the kernel prints nothing else there)
  const kernel = `kernel (eBPF${dpath.attach === 'tc' ? ', tc filters: no TCX links' : ''})`;
  const user = `user space${dpath.requested !== 'user' && dpath.reason ? ` (${dpath.reason})` : ''}`;
  L.push(`Ethernet Channel Bonding Driver: tapbond v${VERSION}, datapath ${dpath.path === 'kernel' ? kernel : user}`);
  L.push('');
  L.push(`Bonding Mode: ${info.proc}${info.failOverMac && o.fail_over_mac !== 'none' ? ` (fail_over_mac ${o.fail_over_mac})` : ''}`);
  if (info.hashLine === 'always' || (info.hashLine === 'static-tlb' && o.tlb_dynamic_lb === 'off')) {
    L.push(`Transmit Hash Policy: ${o.xmit_hash_policy} (${policyId(o.xmit_hash_policy)})`);
  }
  if (info.usesPrimary) {
    const primary = o.primary && s.ports.some((p) => p.name === o.primary) ? o.primary : '';
    L.push(`Primary Slave: ${primary || 'None'}${primary ? ` (primary_reselect ${o.primary_reselect})` : ''}`);
    L.push(`Currently Active Slave: ${s.bond.active_slave ?? 'None'}`);
  }
  L.push(`MII Status: ${s.bond.carrier ? 'up' : 'down'}`);
  L.push(`MII Polling Interval (ms): ${o.miimon}`);
  L.push(`Up Delay (ms): ${o.updelay}`);
  L.push(`Down Delay (ms): ${o.downdelay}`);
  L.push(`Peer Notification Delay (ms): ${o.peer_notif_delay}`);
  if (o.arp_interval > 0) {
    L.push(`ARP Polling Interval (ms): ${o.arp_interval}`);
    L.push(`ARP Missed Max: ${o.arp_missed_max}`);
    L.push(`ARP IP target/s (n.n.n.n form):${o.arp_ip_target.map((t) => ' ' + t).join(',')}`);
    L.push(`NS IPv6 target/s (xx::xx form):${o.ns_ip6_target.map((t) => ' ' + t).join(',')}`);
  }
  if (info.lacp) {
    const m = s.mode as {
      lacp_active: string;
      lacp_rate: string;
      system_priority: number;
      system_mac: string;
      active_aggregator: { id: number; ports: number; actor_key: number; partner_key: number; partner_mac: string } | null;
    };
    L.push('');
    L.push('802.3ad info');
    L.push(`LACP active: ${m.lacp_active}`);
    L.push(`LACP rate: ${m.lacp_rate}`);
    L.push(`Min links: ${o.min_links}`);
    L.push(`Aggregator selection policy (ad_select): ${o.ad_select}`);
    L.push(`System priority: ${m.system_priority}`);
    L.push(`System MAC address: ${m.system_mac}`);
    const a = m.active_aggregator;
    if (!a) L.push(`bond ${s.bond.name} has no active aggregator`);
    else {
      L.push('Active Aggregator Info:');
      L.push(`\tAggregator ID: ${a.id}`);
      L.push(`\tNumber of ports: ${a.ports}`);
      L.push(`\tActor Key: ${a.actor_key}`);
      L.push(`\tPartner Key: ${a.partner_key}`);
      L.push(`\tPartner Mac Address: ${a.partner_mac}`);
    }
  }
  for (const p of s.ports) {
    L.push('');
    L.push(`Slave Interface: ${p.name}`);
    L.push(`MII Status: ${p.mii_status}`);
    L.push(`Speed: ${p.speed > 0 ? `${p.speed} Mbps` : 'Unknown'}`);
    L.push(`Duplex: ${p.duplex === 'unknown' ? 'Unknown' : p.duplex}`);
    L.push(`Link Failure Count: ${p.link_failure_count}`);
    L.push(`Permanent HW addr: ${p.perm_hwaddr}`);
    L.push(`Slave queue ID: ${p.queue_id}`);
    if (info.lacp) L.push(...lacpPortLines(p.lacp));
  }
  return L.join('\n') + '\n';
}

/** `bondctl show --stats`: what the kernel never gave: per-port frame counters and drops. */
export function renderStats(s: BondState): string {
  const rows: string[][] = [['port', 'state', 'rx_frames', 'tx_frames', 'rx_bytes', 'tx_bytes', 'drops']];
  const drops = (c: Record<string, number>) =>
    (c.tx_errors ?? 0) + (c.rx_truncated ?? 0) + (c.rx_kernel_drops ?? 0) + (c.rx_malformed ?? 0);
  const b = s.bond.counters;
  rows.push([
    s.bond.name,
    s.bond.carrier ? 'up' : 'down',
    String(b.rx_frames),
    String(b.tx_frames),
    String(b.rx_bytes),
    String(b.tx_bytes),
    String(drops(b) + (b.tx_no_slave_dropped ?? 0) + (b.tap_queue_drops ?? 0)),
  ]);
  for (const p of s.ports) {
    const c = p.counters;
    rows.push([
      p.name,
      `${p.state}/${p.mii_status}`,
      String(c.rx_frames),
      String(c.tx_frames),
      String(c.rx_bytes),
      String(c.tx_bytes),
      String(drops(c)),
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(w[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

interface LacpInfoView {
  systemPriority: number;
  system: string;
  key: number;
  portPriority: number;
  port: number;
  state: number;
}

/** The per-slave 802.3ad block of bond_procfs.c. */
function lacpPortLines(l: Record<string, unknown> | undefined): string[] {
  if (!l || l.aggregator_id === null) return ['Aggregator ID: N/A'];
  const a = l.actor as LacpInfoView;
  const p = l.partner as LacpInfoView;
  return [
    `Aggregator ID: ${String(l.aggregator_id)}`,
    `Actor Churn State: ${String(l.actor_churn_state)}`,
    `Partner Churn State: ${String(l.partner_churn_state)}`,
    `Actor Churned Count: ${String(l.actor_churned_count)}`,
    `Partner Churned Count: ${String(l.partner_churned_count)}`,
    'details actor lacp pdu:',
    `    system priority: ${a.systemPriority}`,
    `    system mac address: ${a.system}`,
    `    port key: ${a.key}`,
    `    port priority: ${a.portPriority}`,
    `    port number: ${a.port}`,
    `    port state: ${a.state}`,
    'details partner lacp pdu:',
    `    system priority: ${p.systemPriority}`,
    `    system mac address: ${p.system}`,
    `    oper key: ${p.key}`,
    `    port priority: ${p.portPriority}`,
    `    port number: ${p.port}`,
    `    port state: ${p.state}`,
  ];
}
