// Reads RedHat network-scripts (/etc/sysconfig/network-scripts): ifcfg-bondN with DEVICE,
// ONBOOT, BONDING_OPTS, IPADDR[n]/PREFIX[n]/NETMASK[n], IPV6ADDR, MTU, MACADDR; and ifcfg-ethN
// with MASTER=bondN SLAVE=yes, matched by HWADDR when given (names may differ from the file's).
// Around the bond, as initscripts' ifup does: GATEWAY/IPV6_DEFAULTGW (DEFROUTE, METRIC),
// route-IF and route6-IF, BOOTPROTO=dhcp, DHCPV6C, IPV6_AUTOCONF, DNSn and DOMAIN, and BRIDGE=
// naming an ifcfg file with TYPE=Bridge (STP, DELAY, its own L3, its other ports).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { BondError } from '../errors.js';
import { emptyL3, type HostNetDecl, type L3Decl } from '../host/l3.js';
import { parseOptionWords } from '../options/parse.js';
import { dnsSearch, dnsServers, fail, gatewayOf, metricOf, newBridge, routeOf, tableOf, vlanId } from './netdecl.js';
import { maskToPrefix } from '../util/mac.js';

export interface IfcfgAddress {
  address: string;
  prefixlen: number;
}

export interface IfcfgBond {
  name: string;
  onboot: boolean;
  options: Record<string, string>;
  addresses: IfcfgAddress[];
  mtu?: string;
  mac?: string;
  slaves: { device: string; hwaddr?: string; file: string }[];
  /** Routes, DHCP, DNS and a bridge over the bond. */
  net: HostNetDecl;
  /** Keys read but not carried out, with file and line. */
  warnings: string[];
}

/** Shell-style KEY=VALUE lines: quotes, comments, `export`. */
export function parseShellVars(text: string): Record<string, string> {
  return shellVars(text).vars;
}

/** The same, with the line each variable was last set on. */
export function shellVars(text: string): { vars: Record<string, string>; line: Record<string, number> } {
  const out: Record<string, string> = {};
  const line: Record<string, number> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    line[m[1]] = i + 1;
    let v = m[2].trim();
    if (/^"/.test(v)) v = v.replace(/^"((?:[^"\\]|\\.)*)".*$/, '$1').replace(/\\(.)/g, '$1');
    else if (/^'/.test(v)) v = v.replace(/^'([^']*)'.*$/, '$1');
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]] = v;
  }
  return { vars: out, line };
}

function yes(v: string | undefined): boolean {
  return /^(yes|true|1)$/i.test(v ?? '');
}

function addresses(v: Record<string, string>, file: string): IfcfgAddress[] {
  const out: IfcfgAddress[] = [];
  for (const suffix of ['', ...Array.from({ length: 256 }, (_, i) => String(i))]) {
    const ip = v[`IPADDR${suffix}`];
    if (!ip) continue;
    if (!isIPv4(ip)) throw new BondError('EOPT_VALUE', `${file}: IPADDR${suffix}: invalid IPv4 address '${ip}'`);
    const prefix =
      v[`PREFIX${suffix}`] !== undefined
        ? Number(v[`PREFIX${suffix}`])
        : v[`NETMASK${suffix}`] !== undefined
          ? maskToPrefix(v[`NETMASK${suffix}`])
          : 32;
    if (prefix === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
      throw new BondError('EOPT_VALUE', `${file}: PREFIX${suffix}/NETMASK${suffix}: invalid value for ${ip}`);
    }
    out.push({ address: ip, prefixlen: prefix });
  }
  const v6 = [v.IPV6ADDR, ...(v.IPV6ADDR_SECONDARIES ?? '').split(/\s+/)].filter(Boolean) as string[];
  for (const a of v6) {
    const [ip, p] = a.split('/');
    const prefixlen = p === undefined ? 64 : Number(p);
    if (!isIPv6(ip) || !Number.isInteger(prefixlen) || prefixlen < 0 || prefixlen > 128)
      throw new BondError('EOPT_VALUE', `${file}: IPV6ADDR: invalid address '${a}'`);
    out.push({ address: ip, prefixlen });
  }
  return out;
}

/** Every bond the directory describes, with its slaves, in file-name order. */
export function readIfcfgDir(dir: string): IfcfgBond[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /^ifcfg-[^~]+$/.test(f) && !/\.(bak|orig|rpmnew|rpmsave)$/.test(f))
      .sort();
  } catch (e) {
    throw new BondError('EOPT_VALUE', `--ifcfg-dir ${dir}: ${(e as Error).message}`);
  }
  const parsed = files.map((f) => {
    const { vars, line } = shellVars(readFileSync(join(dir, f), 'utf8'));
    return { file: f, v: vars, at: (k: string) => `${join(dir, f)}:${line[k] ?? 1}` };
  });
  const bonds = new Map<string, IfcfgBond>();
  for (const { file, v, at } of parsed) {
    const device = v.DEVICE ?? file.slice('ifcfg-'.length);
    const isBond =
      v.BONDING_OPTS !== undefined || yes(v.BONDING_MASTER) || /^bond/i.test(v.TYPE ?? '') || (/^bond\d+$/.test(device) && !v.MASTER);
    if (!isBond) continue;
    let options: Record<string, string>;
    try {
      options = parseOptionWords((v.BONDING_OPTS ?? '').split(/\s+/).filter(Boolean));
    } catch (e) {
      throw new BondError('EOPT_VALUE', `${file}: BONDING_OPTS: ${(e as Error).message}`);
    }
    bonds.set(device, {
      name: device,
      onboot: v.ONBOOT === undefined || yes(v.ONBOOT),
      options,
      addresses: addresses(v, file),
      mtu: v.MTU,
      mac: v.MACADDR,
      slaves: [],
      net: { bond: ifL3(v, at, dir, device) },
      warnings: [],
    });
    const b = bonds.get(device)!;
    if (v.BRIDGE) {
      const brFile = parsed.find((p) => (p.v.DEVICE ?? p.file.slice('ifcfg-'.length)) === v.BRIDGE);
      if (!brFile || !/^bridge$/i.test(brFile.v.TYPE ?? ''))
        fail(at('BRIDGE'), `BRIDGE=${v.BRIDGE}: no ifcfg file here describes that bridge (DEVICE=${v.BRIDGE} TYPE=Bridge)`);
      const br = newBridge(v.BRIDGE, `${join(dir, brFile.file)}:1`);
      const bv = brFile.v;
      if (bv.STP !== undefined) br.stp = /^(on|yes|true|1)$/i.test(bv.STP);
      if (bv.DELAY !== undefined) {
        if (!/^\d+(\.\d+)?$/.test(bv.DELAY)) fail(brFile.at('DELAY'), `DELAY: invalid value '${bv.DELAY}'; allowed: seconds`);
        br.forwardDelay = Number(bv.DELAY);
      }
      if (bv.MTU !== undefined) {
        const m = Number(bv.MTU);
        if (!Number.isInteger(m) || m < 68 || m > 65535) fail(brFile.at('MTU'), `MTU: invalid value '${bv.MTU}'; allowed: 68 to 65535`);
        br.mtu = m;
      }
      br.l3 = { ...ifL3(bv, brFile.at, dir, v.BRIDGE), addresses: addresses(bv, brFile.file) };
      br.ports = parsed
        .filter((p) => p.v.BRIDGE === v.BRIDGE && p !== brFile && (p.v.DEVICE ?? p.file.slice('ifcfg-'.length)) !== device)
        .map((p) => p.v.DEVICE ?? p.file.slice('ifcfg-'.length));
      b.net.bridge = br;
      if (b.addresses.length)
        b.warnings.push(
          `${at('IPADDR')}: ${device} is a port of bridge ${v.BRIDGE}: its own addresses are applied too, but the bridge's should hold the host's`,
        );
    }
  }
  // VLANs over a bond: VLAN=yes with DEVICE=bond0.100, or PHYSDEV=bond0 and VLAN_ID=
  for (const { file, v, at } of parsed) {
    if (!yes(v.VLAN)) continue;
    const device = v.DEVICE ?? file.slice('ifcfg-'.length);
    const dot = /^(.+)\.(\d+)$/.exec(device);
    const b = bonds.get(v.PHYSDEV ?? dot?.[1] ?? '');
    if (!b) continue;
    const id = v.VLAN_ID ?? dot?.[2];
    if (!id) fail(at('VLAN'), `${device}: a VLAN on ${b.name} needs VLAN_ID= (or DEVICE=${b.name}.ID)`);
    (b.net.vlans ??= []).push({ name: device, id: vlanId(id, at(v.VLAN_ID ? 'VLAN_ID' : 'DEVICE')), where: at('VLAN') });
  }
  for (const { file, v } of parsed) {
    if (!v.MASTER) continue;
    const b = bonds.get(v.MASTER);
    if (!b) throw new BondError('EOPT_VALUE', `${file}: MASTER=${v.MASTER}: no ifcfg file describes that bond`);
    if (v.SLAVE !== undefined && !yes(v.SLAVE)) continue;
    b.slaves.push({ device: v.DEVICE ?? file.slice('ifcfg-'.length), hwaddr: v.HWADDR?.toLowerCase(), file });
  }
  return [...bonds.values()];
}

const yesNo = (v: string | undefined) => (v === undefined ? undefined : /^(yes|true|1|on)$/i.test(v));

/**
 * The L3 initscripts' ifup gives an interface besides its addresses: the default gateways
 * (unless DEFROUTE=no), route-IF and route6-IF, DHCP, router advertisements and DNS.
 */
function ifL3(v: Record<string, string>, at: (k: string) => string, dir: string, device: string): L3Decl {
  const l = emptyL3();
  const defroute = yesNo(v.DEFROUTE) !== false;
  if (v.GATEWAY && defroute) l.routes.push(gatewayOf(v.GATEWAY, at('GATEWAY'), v.METRIC));
  if (v.IPV6_DEFAULTGW && defroute)
    l.routes.push(gatewayOf(v.IPV6_DEFAULTGW.replace(/%.*$/, ''), at('IPV6_DEFAULTGW'), v.IPV6_ROUTE_METRIC ?? v.METRIC));
  const proto = (v.BOOTPROTO ?? 'none').toLowerCase();
  if (!['none', 'static', 'dhcp', 'bootp', ''].includes(proto))
    fail(at('BOOTPROTO'), `BOOTPROTO: invalid value '${v.BOOTPROTO}'; allowed: none, static, dhcp, bootp`);
  l.dhcp4 = proto === 'dhcp' || proto === 'bootp';
  l.dhcp6 = yesNo(v.DHCPV6C) === true;
  const ra = yesNo(v.IPV6_AUTOCONF);
  if (ra !== undefined) l.acceptRa = ra;
  if (l.dhcp4 && v.METRIC !== undefined) l.dhcpMetric = metricOf(v.METRIC, at('METRIC'));
  const servers = ['DNS1', 'DNS2', 'DNS3'].filter((k) => v[k]);
  l.dns.servers = servers.flatMap((k) => dnsServers([v[k]], at(k)));
  if (v.DOMAIN) l.dns.search = dnsSearch(v.DOMAIN.split(/\s+/).filter(Boolean), at('DOMAIN'));
  for (const [file, family] of [
    [`route-${device}`, 4],
    [`route6-${device}`, 6],
  ] as const) {
    const path = join(dir, file);
    if (existsSync(path)) l.routes.push(...readRouteFile(readFileSync(path, 'utf8'), path, device, family));
  }
  return l;
}

/**
 * route-IF / route6-IF: iproute2 argument lines ("198.18.9.0/24 via 198.18.0.254 metric 10"), or
 * for IPv4 the older ADDRESSn=, NETMASKn=, GATEWAYn=, METRICn= variables.
 */
export function readRouteFile(text: string, path: string, device: string, family: 4 | 6) {
  const out = [];
  const { vars, line } = shellVars(text);
  if (family === 4 && Object.keys(vars).some((k) => /^ADDRESS\d+$/.test(k))) {
    for (const k of Object.keys(vars).filter((x) => /^ADDRESS\d+$/.test(x))) {
      const n = k.slice('ADDRESS'.length);
      const where = `${path}:${line[k]}`;
      const mask = vars[`NETMASK${n}`];
      const prefix = mask === undefined ? 32 : maskToPrefix(mask);
      if (prefix === undefined) fail(`${path}:${line[`NETMASK${n}`]}`, `NETMASK${n}: invalid netmask '${mask}'`);
      out.push(routeOf(`${vars[k]}/${prefix}`, vars[`GATEWAY${n}`], { metric: vars[`METRIC${n}`] }, where));
    }
    return out;
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/#.*$/, '').trim();
    if (!l) continue;
    const where = `${path}:${i + 1}`;
    const w = l.split(/\s+/);
    const to = w[0];
    let via: string | undefined;
    const o: { metric?: string; onlink?: boolean; table?: string } = {};
    for (let j = 1; j < w.length; j++) {
      const k = w[j];
      if (k === 'via') via = w[++j];
      else if (k === 'metric' || k === 'preference') o.metric = w[++j];
      else if (k === 'table') o.table = w[++j];
      else if (k === 'onlink') o.onlink = true;
      else if (k === 'dev') {
        if (w[++j] !== device) fail(where, `dev ${w[j]}: a route in ${path} is for ${device}`);
      } else if (k === 'proto' || k === 'scope' || k === 'src') {
        j++; // the kernel's choice is kept
      } else fail(where, `'${k}' is not a route option bondd applies; allowed: via, dev, metric, table, onlink`);
    }
    if (o.table !== undefined) tableOf(o.table, where);
    const r = routeOf(to, via, o, where);
    if (r.family !== family) fail(where, `${to}: an IPv${r.family} route in ${family === 4 ? 'route-' : 'route6-'}${device}`);
    out.push(r);
  }
  return out;
}
