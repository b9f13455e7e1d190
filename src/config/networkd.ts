// Reads systemd-networkd: a `.netdev` with [NetDev] Kind=bond and its [Bond] section makes a
// bond; `.network` files put slaves in it ([Match] Name= or MACAddress=, [Network] Bond=,
// PrimarySlave=) and addresses on it ([Match] Name=bond0, [Network] Address=, [Address]).
// As networkd does, the first .network file in file-name order that matches an interface is
// the one that applies to it. Time spans without a unit are seconds, as in systemd.
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
  const networks = files
    .filter(([f]) => f.endsWith('.network'))
    .sort(byName)
    .map(([f, t]) => ({ file: f, secs: parseIni(t, f) }));
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
      const dhcp = last(secs, 'Network', 'DHCP');
      if (dhcp && dhcp.value !== 'no' && dhcp.value !== 'false')
        warnings.push(`${at(file, dhcp.line)}: DHCP=${dhcp.value}: bondd does not run a DHCP client; run one on ${self.name}`);
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
  return { bonds, warnings };
}
