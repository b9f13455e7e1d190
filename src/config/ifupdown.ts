// Reads Debian ifupdown's /etc/network/interfaces (with `source` and `source-directory`
// includes, as ifupdown and ifupdown2 read them). A stanza `iface bond0 inet static|manual`
// with `bond-slaves` (or `bond-mode` and slaves that say `bond-master bond0`) is a bond; its
// `bond-*` lines are the kernel options with `-` for `_` (as ifenslave writes them to sysfs);
// `address`/`netmask` (inet and inet6), `mtu`, `hwaddress`; `auto`/`allow-hotplug` start it.
// Around the bond: `gateway` and `metric`, `inet dhcp`, `inet6 auto|dhcp`, `accept_ra`,
// `dns-nameservers`/`dns-search`, routes written as `up|post-up ip route add|replace ...`, and an
// `iface BR` stanza whose `bridge_ports` (bridge-ports) hold the bond: `bridge_stp`, `bridge_fd`,
// its own L3 and its other ports.
import { dirname, join } from 'node:path';
import type { BridgeDecl, L3Decl } from '../host/l3.js';
import { dnsSearch, dnsServers, gatewayOf, metricOf, newBridge, routeOf, vlanId } from './netdecl.js';
import { OPTION_BY_NAME } from '../options/table.js';
import { maskToPrefix } from '../util/mac.js';
import { fail, globToRe, newDecl, parseBool, parseCidr, setOption, type BondDecl, type ReadResult, type Where } from './decl.js';

/** How the reader reaches the files: the daemon passes node:fs, tests an object of texts. */
export interface FileAccess {
  read(path: string): string;
  /** Entries of a directory, sorted; [] when it does not exist. */
  list(dir: string): string[];
}

interface Stanza {
  name: string;
  family: string;
  method: string;
  where: Where;
  lines: { key: string; value: string; where: Where }[];
}

const STANZA = new Set(['iface', 'auto', 'mapping', 'source', 'source-directory', 'no-auto-down', 'no-scripts', 'rename']);
// ifupdown's allow-* classes all start the interface when that class is brought up at boot
const isAllow = (w: string) => w.startsWith('allow-');

function collect(path: string, fs: FileAccess, out: { stanzas: Stanza[]; auto: Set<string> }, seen: Set<string>): void {
  if (seen.has(path)) return; // sourced twice, or a loop: read once
  seen.add(path);
  let text: string;
  try {
    text = fs.read(path);
  } catch (e) {
    return fail(path, `cannot read: ${(e as Error).message}`);
  }
  const lines = text.split('\n');
  let cur: Stanza | null = null;
  for (let i = 0; i < lines.length; i++) {
    const no = i + 1;
    let l = lines[i].replace(/\r$/, '');
    while (/\\$/.test(l) && i + 1 < lines.length) l = l.slice(0, -1) + ' ' + lines[++i].trim();
    l = l.replace(/^\s*#.*$/, '').trim();
    if (!l) continue;
    const [w, ...rest] = l.split(/\s+/);
    const where = `${path}:${no}`;
    if (STANZA.has(w) || isAllow(w)) cur = null;
    if (w === 'iface') {
      if (rest.length < 3) fail(where, `iface needs a name, an address family and a method: '${l}'`);
      cur = { name: rest[0], family: rest[1], method: rest[2], where, lines: [] };
      out.stanzas.push(cur);
    } else if (w === 'auto' || isAllow(w)) {
      for (const n of rest) out.auto.add(n);
    } else if (w === 'source' || w === 'source-directory') {
      const base = dirname(path);
      for (const pat of rest) {
        const abs = pat.startsWith('/') ? pat : join(base, pat);
        if (w === 'source-directory') {
          // run-parts naming: letters, digits, _ and - only
          for (const f of fs.list(abs)) if (/^[A-Za-z0-9_-]+$/.test(f)) collect(join(abs, f), fs, out, seen);
        } else if (/[*?]/.test(abs)) {
          const dir = dirname(abs);
          const re = globToRe(abs.slice(dir.length + 1));
          for (const f of fs.list(dir)) if (re.test(f)) collect(join(dir, f), fs, out, seen);
        } else collect(abs, fs, out, seen);
      }
    } else if (cur) {
      cur.lines.push({ key: w, value: rest.join(' '), where });
    } else if (!STANZA.has(w)) {
      fail(where, `'${w}' outside a stanza (iface, auto, source ...)`);
    }
  }
}

/** The bonds /etc/network/interfaces (at `path`, with what it sources) declares. */
export function parseInterfaces(path: string, fs: FileAccess): ReadResult {
  const warnings: string[] = [];
  const all = { stanzas: [] as Stanza[], auto: new Set<string>() };
  collect(path, fs, all, new Set());
  const isBond = (s: Stanza) =>
    s.lines.some((l) => l.key.startsWith('bond-') && l.key !== 'bond-master') || s.lines.some((l) => l.key === 'slaves');
  const bonds = new Map<string, BondDecl>();
  for (const s of all.stanzas) {
    if (!isBond(s)) continue;
    const b = bonds.get(s.name) ?? newDecl(s.name, `ifupdown ${s.where.replace(/:\d+$/, '')}`, s.where);
    b.enabled = all.auto.has(s.name);
    bonds.set(s.name, b);
  }
  const names = (v: string) => v.split(/[\s,]+/).filter((n) => n && n !== 'none');
  for (const s of all.stanzas) {
    const b = bonds.get(s.name);
    if (!b) {
      // a slave stanza: bond-master names its bond
      const m = s.lines.find((l) => l.key === 'bond-master');
      if (!m) continue;
      const bond = bonds.get(m.value);
      if (!bond) fail(m.where, `bond-master ${m.value}: no iface stanza declares that bond (bond-slaves, bond-mode ...)`);
      if (!bond.slaves.some((x) => x.name === s.name)) bond.slaves.push({ name: s.name, where: m.where, options: {} });
      continue;
    }
    let netmask: { value: string; where: Where } | undefined;
    const addrs: { value: string; where: Where }[] = [];
    for (const l of s.lines) {
      if (l.key === 'bond-slaves' || l.key === 'slaves') {
        for (const n of names(l.value)) if (!b.slaves.some((x) => x.name === n)) b.slaves.push({ name: n, where: l.where, options: {} });
      } else if (l.key === 'bond-arp-ip-target') {
        setOption(
          b,
          'arp_ip_target',
          [...(b.options.arp_ip_target?.value.split(',').filter(Boolean) ?? []), ...names(l.value)].join(','),
          l.where,
        );
      } else if (l.key.startsWith('bond-')) {
        const opt = l.key.slice(5).replace(/-/g, '_');
        if (OPTION_BY_NAME.has(opt)) setOption(b, opt, l.value, l.where);
        else warnings.push(`${l.where}: ${l.key}: not a bonding option bondd knows, ignored`);
      } else if (l.key === 'address') addrs.push(l);
      else if (l.key === 'netmask') netmask = l;
      else if (l.key === 'mtu') b.mtu = { value: l.value, where: l.where };
      else if (l.key === 'hwaddress') b.mac = { value: l.value.replace(/^ether\s+/, ''), where: l.where };
      else if (!stanzaL3Line(s, l, b.net.bond, warnings)) warnings.push(`${l.where}: ${l.key}: not read for a bond, ignored`);
    }
    stanzaMethod(s, b.net.bond);
    b.addresses.push(...stanzaAddresses(s, addrs, netmask));
  }
  // VLANs over a bond: iface bond0.100, or a stanza with vlan-raw-device bond0 (the id from its name)
  for (const s of all.stanzas) {
    const raw = s.lines.find((l) => l.key === 'vlan-raw-device' || l.key === 'vlan_raw_device');
    const dot = /^(.+)\.(\d+)$/.exec(s.name);
    const bond = bonds.get(raw?.value ?? dot?.[1] ?? '');
    if (!bond || (bond.net.vlans ?? []).some((v) => v.name === s.name)) continue;
    const id = s.lines.find((l) => l.key === 'vlan-id' || l.key === 'vlan_id')?.value ?? dot?.[2] ?? /(\d+)$/.exec(s.name)?.[1];
    if (!id) fail(s.where, `${s.name}: a VLAN on ${bond.name} needs an id (vlan-id, or a name ending in it)`);
    (bond.net.vlans ??= []).push({ name: s.name, id: vlanId(id, s.where), where: s.where });
  }
  // a bridge over a bond: an iface stanza whose bridge_ports hold it
  for (const s of all.stanzas) {
    const portsLine = s.lines.find((l) => l.key === 'bridge_ports' || l.key === 'bridge-ports');
    if (!portsLine) continue;
    const ports = names(portsLine.value);
    const bond = [...bonds.values()].find((b) => ports.includes(b.name));
    if (!bond) continue;
    const br: BridgeDecl = bond.net.bridge ?? newBridge(s.name, s.where);
    if (br.name !== s.name) fail(portsLine.where, `bond ${bond.name} is already a port of bridge ${br.name}`);
    br.ports = ports.filter((p) => p !== bond.name);
    let netmask: { value: string; where: Where } | undefined;
    const addrs: { value: string; where: Where }[] = [];
    for (const l of s.lines) {
      const k = l.key.replace(/-/g, '_');
      if (l === portsLine) continue;
      if (k === 'bridge_stp') br.stp = parseBool(l.value, l.where, l.key);
      else if (k === 'bridge_fd') {
        if (!/^\d+(\.\d+)?$/.test(l.value)) fail(l.where, `${l.key}: invalid value '${l.value}'; allowed: seconds`);
        br.forwardDelay = Number(l.value);
      } else if (k === 'mtu') br.mtu = Number(l.value);
      else if (l.key === 'address') addrs.push(l);
      else if (l.key === 'netmask') netmask = l;
      else if (!stanzaL3Line(s, l, br.l3, warnings))
        warnings.push(`${l.where}: ${l.key}: not applied by bondd on bridge ${s.name}, ignored`);
    }
    stanzaMethod(s, br.l3);
    br.l3.addresses.push(...stanzaAddresses(s, addrs, netmask).map(({ address, prefixlen }) => ({ address, prefixlen })));
    bond.net.bridge = br;
  }
  return { bonds: [...bonds.values()], warnings };
}

type Line = Stanza['lines'][number];

/** The addresses of one stanza (address with a prefix, or with netmask). */
function stanzaAddresses(s: Stanza, addrs: { value: string; where: Where }[], netmask: { value: string; where: Where } | undefined) {
  const v6 = s.family === 'inet6';
  return addrs.map((a) => {
    const mask = netmask?.value;
    const prefix = a.value.includes('/') ? undefined : mask ? (/^\d+$/.test(mask) ? Number(mask) : maskToPrefix(mask)) : v6 ? 64 : 32;
    if (netmask && prefix === undefined && !a.value.includes('/'))
      fail(netmask.where, `netmask ${netmask.value}: not a netmask or prefix length`);
    return { ...parseCidr(a.value, a.where, prefix), where: a.where };
  });
}

/** What the stanza's method asks for: DHCPv4, DHCPv6, router advertisements. */
function stanzaMethod(s: Stanza, l: L3Decl): void {
  if (s.family === 'inet' && s.method === 'dhcp') l.dhcp4 = true;
  if (s.family === 'inet6' && s.method === 'dhcp') l.dhcp6 = true;
  if (s.family === 'inet6' && (s.method === 'auto' || s.method === 'dhcp')) l.acceptRa ??= true;
}

const HOOKS = ['up', 'post-up', 'pre-up', 'down', 'pre-down', 'post-down'];

/** An L3 line of a stanza into `l`; false when `line` is not one. Hooks other than routes are reported. */
function stanzaL3Line(s: Stanza, line: Line, l: L3Decl, warnings: string[]): boolean {
  const { key, value, where } = line;
  switch (key) {
    case 'gateway': {
      const metric = s.lines.find((x) => x.key === 'metric')?.value;
      l.routes.push(gatewayOf(value, where, metric));
      return true;
    }
    case 'metric':
      if (s.method === 'dhcp') l.dhcpMetric = metricOf(value, where);
      return true;
    case 'dns-nameservers':
      l.dns.servers.push(...dnsServers(value.split(/\s+/).filter(Boolean), where));
      return true;
    case 'dns-search':
      l.dns.search.push(...dnsSearch(value.split(/\s+/).filter(Boolean), where));
      return true;
    case 'accept_ra':
      l.acceptRa = value !== '0';
      return true;
  }
  if (!HOOKS.includes(key)) return false;
  // a route as ifupdown users write it: up ip [-4|-6] route add|replace DEST [via GW] [dev IF] [metric N] [table T] [onlink]
  const w = value.split(/\s+/).filter((x) => x !== '-4' && x !== '-6');
  const ip = w[0]?.replace(/^.*\//, '');
  if ((key === 'up' || key === 'post-up') && ip === 'ip' && w[1] === 'route' && (w[2] === 'add' || w[2] === 'replace') && w[3]) {
    let via: string | undefined;
    const o: { metric?: string; onlink?: boolean; table?: string } = {};
    let ok = true;
    for (let j = 4; j < w.length && ok; j++) {
      if (w[j] === 'via') via = w[++j];
      else if (w[j] === 'metric' || w[j] === 'preference') o.metric = w[++j];
      else if (w[j] === 'table') o.table = w[++j];
      else if (w[j] === 'onlink') o.onlink = true;
      else if (w[j] === 'dev') ok = w[++j] === s.name || w[j] === '$IFACE';
      else ok = false;
    }
    if (ok) {
      l.routes.push(routeOf(w[3], via, o, where));
      return true;
    }
  }
  if (key === 'down' || key === 'pre-down' || key === 'post-down') {
    if (ip === 'ip' && w[1] === 'route' && w[2] === 'del') return true; // bondd takes its routes away itself
  }
  warnings.push(`${where}: ${key} ${value}: bondd runs no hook commands; only "ip route add|replace" routes are applied`);
  return true;
}
