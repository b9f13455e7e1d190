// Reads systemd-networkd: a `.netdev` with [NetDev] Kind=bond and its [Bond] section makes a
// bond; `.network` files put slaves in it ([Match] Name= or MACAddress=, [Network] Bond=,
// PrimarySlave=) and addresses on it ([Match] Name=bond0, [Network] Address=, [Address]).
// As networkd does, the first .network file in file-name order that matches an interface is
// the one that applies to it. Time spans without a unit are seconds, as in systemd. Around the
// bond, from its .network: Gateway=, [Route], DHCP=, IPv6AcceptRA=, DNS=, Domains=,
// [DHCPv4] RouteMetric=, and Bridge= naming a Kind=bridge .netdev ([Bridge] STP=,
// ForwardDelaySec=) whose own .network gives its L3 and whose other Bridge= files its ports.
import { basename } from 'node:path';
import {
  fail,
  globToRe,
  newDecl,
  parseBool,
  parseCidr,
  convertScalar,
  type KeyConv,
  parseIni,
  setOption,
  type BondDecl,
  type IniSection,
  type ReadResult,
} from './decl.js';
import { emptyL3, type L3Decl } from '../host/l3.js';
import { dnsSearch, dnsServers, gatewayOf, metricOf, newBridge, routeOf, vlanId } from './netdecl.js';

// [Bond] key -> kernel option
export const NETWORKD_BOND_KEYS: Record<string, [string, KeyConv]> = {
  Mode: ['mode', 'value'],
  TransmitHashPolicy: ['xmit_hash_policy', 'value'],
  LACPTransmitRate: ['lacp_rate', 'value'],
  MIIMonitorSec: ['miimon', 'ms'],
  UpDelaySec: ['updelay', 'ms'],
  DownDelaySec: ['downdelay', 'ms'],
  ARPIntervalSec: ['arp_interval', 'ms'],
  ARPIPTargets: ['arp_ip_target', 'list'],
  ARPValidate: ['arp_validate', 'value'],
  ARPAllTargets: ['arp_all_targets', 'value'],
  PrimaryReselectPolicy: ['primary_reselect', 'value'],
  ResendIGMP: ['resend_igmp', 'value'],
  PacketsPerSlave: ['packets_per_slave', 'value'],
  GratuitousARP: ['num_grat_arp', 'value'],
  AllSlavesActive: ['all_slaves_active', 'bool'],
  DynamicTransmitLoadBalancing: ['tlb_dynamic_lb', 'bool'],
  MinLinks: ['min_links', 'value'],
  AdSelect: ['ad_select', 'value'],
  AdActorSystemPriority: ['ad_actor_sys_prio', 'value'],
  AdUserPortKey: ['ad_user_port_key', 'value'],
  AdActorSystem: ['ad_actor_system', 'value'],
  FailOverMACPolicy: ['fail_over_mac', 'value'],
  LearnPacketIntervalSec: ['lp_interval', 's'],
  PeerNotifyDelaySec: ['peer_notif_delay', 'ms'],
  ARPMissedMax: ['arp_missed_max', 'value'],
};
const NETDEV_KEYS = ['Name', 'Kind', 'MACAddress', 'MTUBytes', 'Description'];

const at = (file: string, line: number) => `${file}:${line}`;
const values = (secs: IniSection[], sec: string, key: string) =>
  secs.filter((s) => s.name === sec).flatMap((s) => s.entries.filter((e) => e.key === key));
const last = (secs: IniSection[], sec: string, key: string) => values(secs, sec, key).at(-1);

/** The L3 a .network file gives its interface besides addresses. */
function networkL3(secs: IniSection[], file: string): L3Decl {
  const l = emptyL3();
  for (const e of values(secs, 'Network', 'Gateway')) l.routes.push(gatewayOf(e.value, at(file, e.line)));
  for (const r of secs.filter((x) => x.name === 'Route')) {
    const get = (k: string) => r.entries.filter((e) => e.key === k).at(-1);
    const gw = get('Gateway');
    const dest = get('Destination');
    const onlink = get('GatewayOnLink');
    const where = at(file, (gw ?? dest ?? { line: r.line }).line);
    for (const e of r.entries)
      if (!['Gateway', 'Destination', 'Metric', 'GatewayOnLink', 'Table'].includes(e.key))
        fail(at(file, e.line), `[Route] ${e.key}=: not applied by bondd; allowed: Gateway=, Destination=, Metric=, GatewayOnLink=, Table=`);
    if (!gw && !dest) fail(at(file, r.line), '[Route] needs Gateway= or Destination=');
    l.routes.push(
      routeOf(
        dest?.value ?? 'default',
        gw?.value,
        {
          metric: get('Metric')?.value,
          onlink: onlink ? parseBool(onlink.value, at(file, onlink.line), 'GatewayOnLink=') : false,
          table: get('Table')?.value,
        },
        where,
      ),
    );
  }
  const dhcp = last(secs, 'Network', 'DHCP');
  if (dhcp) {
    const v = dhcp.value.toLowerCase();
    if (!['yes', 'no', 'true', 'false', 'ipv4', 'ipv6', '1', '0'].includes(v))
      fail(at(file, dhcp.line), `DHCP=: invalid value '${dhcp.value}'; allowed: yes, no, ipv4, ipv6`);
    l.dhcp4 = ['yes', 'true', '1', 'ipv4'].includes(v);
    l.dhcp6 = ['yes', 'true', '1', 'ipv6'].includes(v);
  }
  const ra = last(secs, 'Network', 'IPv6AcceptRA');
  if (ra) l.acceptRa = parseBool(ra.value, at(file, ra.line), 'IPv6AcceptRA=');
  for (const e of values(secs, 'Network', 'DNS')) l.dns.servers.push(...dnsServers(e.value.split(/\s+/).filter(Boolean), at(file, e.line)));
  for (const e of values(secs, 'Network', 'Domains'))
    l.dns.search.push(
      ...dnsSearch(
        e.value
          .split(/\s+/)
          .filter(Boolean)
          .map((d) => d.replace(/^~/, '')),
        at(file, e.line),
      ),
    );
  const metric = last(secs, 'DHCPv4', 'RouteMetric');
  if (metric) l.dhcpMetric = metricOf(metric.value, at(file, metric.line));
  return l;
}

/** MTUBytes= with systemd's 1024-based K, M, G suffixes. */
function mtuBytes(v: string, where: string): string {
  const m = /^(\d+)([KMG]?)$/.exec(v.trim());
  if (!m) fail(where, `MTUBytes: invalid value '${v}'; allowed: a byte count, optionally with K, M or G`);
  return String(Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as '' | 'K' | 'M' | 'G']);
}

/**
 * The bonds of networkd files given as [path, text] pairs. `interfaces`: names present here,
 * to resolve [Match] Name= globs.
 */
export function parseNetworkd(files: [string, string][], interfaces: string[] = []): ReadResult {
  const warnings: string[] = [];
  const byName = (a: [string, string], b: [string, string]) => basename(a[0]).localeCompare(basename(b[0]));
  const netdevs = files.filter(([f]) => f.endsWith('.netdev')).sort(byName);
  // a file with [Link] Unmanaged=yes keeps networkd away from what bondd runs (docs/configs.md):
  // it says nothing about the bond, so it does not count as the interface's file here
  const networks = files
    .filter(([f]) => f.endsWith('.network'))
    .sort(byName)
    .map(([f, t]) => ({ file: f, secs: parseIni(t, f) }))
    .filter(({ file, secs }) => {
      const u = last(secs, 'Link', 'Unmanaged');
      return !(u && parseBool(u.value, at(file, u.line), 'Unmanaged='));
    });
  const bonds: BondDecl[] = [];
  for (const [file, text] of netdevs) {
    const secs = parseIni(text, file);
    const kind = last(secs, 'NetDev', 'Kind');
    if (kind?.value !== 'bond') continue;
    const name = last(secs, 'NetDev', 'Name');
    if (!name) fail(at(file, kind.line), '[NetDev] Kind=bond without Name=');
    const b = newDecl(name.value, `systemd-networkd ${file}`, at(file, name.line));
    for (const s of secs) {
      if (s.name === 'NetDev') {
        for (const e of s.entries) {
          const where = at(file, e.line);
          if (e.key === 'MACAddress') b.mac = { value: e.value, where };
          else if (e.key === 'MTUBytes') b.mtu = { value: mtuBytes(e.value, where), where };
          else if (!NETDEV_KEYS.includes(e.key)) warnings.push(`${where}: [NetDev] ${e.key}=: unknown key, ignored`);
        }
      } else if (s.name === 'Bond') {
        for (const e of s.entries) {
          const where = at(file, e.line);
          const conv = NETWORKD_BOND_KEYS[e.key];
          if (!conv) {
            warnings.push(`${where}: [Bond] ${e.key}=: unknown key, ignored`);
            continue;
          }
          const [opt, how] = conv;
          const k = `${e.key}=`;
          if (e.value === '') {
            delete b.options[opt]; // an empty assignment resets, as in every systemd setting
            continue;
          }
          const value =
            how === 'list'
              ? [...(b.options[opt]?.value.split(',').filter(Boolean) ?? []), ...e.value.split(/\s+/)].join(',')
              : convertScalar(how, e.value, 's', where, k);
          setOption(b, opt, value, where);
        }
      } else if (s.name !== 'Match') warnings.push(`${at(file, s.line)}: [${s.name}]: not read for a bond, ignored`);
    }
    bonds.push(b);
  }
  // each interface takes the first .network file that matches it
  const claimed = new Set<string>();
  for (const { file, secs } of networks) {
    const names = values(secs, 'Match', 'Name').flatMap((e) => e.value.split(/\s+/).filter(Boolean));
    const macEntry = values(secs, 'Match', 'MACAddress').at(-1) ?? values(secs, 'Match', 'PermanentMACAddress').at(-1);
    const macs = macEntry?.value.split(/\s+/).filter(Boolean) ?? [];
    const bondKey = last(secs, 'Network', 'Bond');
    const self = bonds.find((b) => names.includes(b.name));
    if (self && !claimed.has(self.name)) {
      claimed.add(self.name);
      for (const e of [...values(secs, 'Network', 'Address'), ...values(secs, 'Address', 'Address')])
        self.addresses.push({ ...parseCidr(e.value, at(file, e.line)), where: at(file, e.line) });
      const mtu = last(secs, 'Link', 'MTUBytes');
      if (mtu) self.mtu = { value: mtuBytes(mtu.value, at(file, mtu.line)), where: at(file, mtu.line) };
      const mac = last(secs, 'Link', 'MACAddress');
      if (mac) self.mac = { value: mac.value, where: at(file, mac.line) };
      self.net.bond = networkL3(secs, file);
      const br = last(secs, 'Network', 'Bridge');
      if (br) bridgeOf(self, br.value, at(file, br.line));
      for (const e of values(secs, 'Network', 'VLAN')) {
        const nd = netdevs
          .map(([f, t]) => ({ file: f, secs: parseIni(t, f) }))
          .find((x) => last(x.secs, 'NetDev', 'Name')?.value === e.value);
        if (!nd || last(nd.secs, 'NetDev', 'Kind')?.value !== 'vlan')
          fail(at(file, e.line), `VLAN=${e.value}: no .netdev file declares a VLAN of that name (Kind=vlan, Name=${e.value})`);
        const id = last(nd.secs, 'VLAN', 'Id');
        if (!id) fail(at(nd.file, last(nd.secs, 'NetDev', 'Name')!.line), `${e.value}: [VLAN] Id= is missing`);
        (self.net.vlans ??= []).push({ name: e.value, id: vlanId(id.value, at(nd.file, id.line)), where: at(file, e.line) });
      }
    }
    if (!bondKey) continue;
    const where = at(file, bondKey.line);
    const b = bonds.find((x) => x.name === bondKey.value);
    if (!b) fail(where, `Bond=${bondKey.value}: no .netdev file declares a bond of that name (Kind=bond, Name=${bondKey.value})`);
    let slaves: { name: string; mac?: string }[];
    if (macs.length) {
      if (macs.length > 1)
        fail(at(file, macEntry!.line), `[Match] MACAddress= lists ${macs.length} addresses; a slave's file must match one interface`);
      slaves = [{ name: names.length === 1 && !/[*?]/.test(names[0]) ? names[0] : basename(file, '.network'), mac: macs[0] }];
    } else {
      if (!names.length) fail(where, `Bond=${bondKey.value}: [Match] names no interface (Name= or MACAddress=)`);
      slaves = names.flatMap((n) => {
        if (!/[*?]/.test(n)) return [{ name: n }];
        const hits = interfaces.filter((i) => globToRe(n).test(i));
        if (!hits.length) warnings.push(`${where}: [Match] Name=${n} matches no interface here`);
        return hits.map((h) => ({ name: h }));
      });
    }
    const primary = last(secs, 'Network', 'PrimarySlave');
    const active = last(secs, 'Network', 'ActiveSlave');
    for (const s of slaves) {
      if (claimed.has(s.mac ?? s.name)) continue; // an earlier file matched it first
      claimed.add(s.mac ?? s.name);
      b.slaves.push({ ...s, where, options: {} });
      if (primary && parseBool(primary.value, at(file, primary.line), 'PrimarySlave='))
        setOption(b, 'primary', s.name, at(file, primary.line));
    }
    if (active && parseBool(active.value, at(file, active.line), 'ActiveSlave='))
      warnings.push(
        `${at(file, active.line)}: ActiveSlave=: not applied at start (PrimarySlave= is; or bondctl set ${b.name} active_slave=IF)`,
      );
  }
  // the bridges over the bonds: made from their .netdev, L3 from their .network, ports from Bridge=
  function bridgeOf(bond: BondDecl, name: string, where: string): void {
    const nd = netdevs.map(([f, t]) => ({ file: f, secs: parseIni(t, f) })).find((x) => last(x.secs, 'NetDev', 'Name')?.value === name);
    if (!nd || last(nd.secs, 'NetDev', 'Kind')?.value !== 'bridge')
      fail(where, `Bridge=${name}: no .netdev file declares a bridge of that name (Kind=bridge, Name=${name})`);
    const d = newBridge(name, at(nd.file, last(nd.secs, 'NetDev', 'Name')!.line));
    const stp = last(nd.secs, 'Bridge', 'STP');
    if (stp) d.stp = parseBool(stp.value, at(nd.file, stp.line), 'STP=');
    const fd = last(nd.secs, 'Bridge', 'ForwardDelaySec');
    if (fd) d.forwardDelay = Number(convertScalar('ms', fd.value, 's', at(nd.file, fd.line), 'ForwardDelaySec=')) / 1000;
    const mtu = last(nd.secs, 'NetDev', 'MTUBytes');
    if (mtu) d.mtu = Number(mtuBytes(mtu.value, at(nd.file, mtu.line)));
    for (const n of networks) {
      const names = values(n.secs, 'Match', 'Name').flatMap((e) => e.value.split(/\s+/));
      if (names.includes(name)) {
        d.l3 = networkL3(n.secs, n.file);
        for (const e of [...values(n.secs, 'Network', 'Address'), ...values(n.secs, 'Address', 'Address')])
          d.l3.addresses.push(parseCidr(e.value, at(n.file, e.line)));
      } else if (last(n.secs, 'Network', 'Bridge')?.value === name && !names.includes(bond.name))
        d.ports.push(...names.filter((x) => !/[*?]/.test(x)));
    }
    bond.net.bridge = d;
  }
  return { bonds, warnings };
}
