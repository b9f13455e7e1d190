// Checks for what the formats declare around a bond (routes, gateways, DNS, bridges), shared by
// the readers: each value is checked where it is read, and an error names the file and line.
// Depends on nothing else in config/, so every reader (and index.ts) can use it.
import { isIP, isIPv4 } from 'node:net';
import { BondError } from '../errors.js';
import { emptyL3, type BridgeDecl, type HostNetDecl, type RouteDecl } from '../host/l3.js';

type Where = string;

export function fail(where: Where, msg: string): never {
  throw new BondError('EOPT_VALUE', `${where}: ${msg}`);
}

/**
 * "198.18.0.1/24" as an address and prefix length, or null when it is not one; `defaultPrefix`
 * for formats that allow the length to be left out.
 */
export function cidrOf(text: string, defaultPrefix?: number): { address: string; prefixlen: number } | null {
  const [ip, p, extra] = text.trim().split('/');
  const fam = isIP(ip);
  const prefixlen = p === undefined ? defaultPrefix : /^\d+$/.test(p) ? Number(p) : undefined;
  if (!fam || extra !== undefined || prefixlen === undefined || prefixlen > (fam === 4 ? 32 : 128)) return null;
  return { address: ip, prefixlen };
}

export function emptyNet(): HostNetDecl {
  return { bond: emptyL3() };
}

export function newBridge(name: string, where: Where): BridgeDecl {
  if (!/^[^\s/:]{1,15}$/.test(name)) fail(where, `invalid bridge name '${name}'`);
  return { name, ports: [], l3: emptyL3(), where };
}

function int(text: string | number | undefined, where: Where, key: string, max: number): number | undefined {
  if (text === undefined || text === '') return undefined;
  const s = String(text).trim();
  if (!/^\d+$/.test(s) || Number(s) > max) fail(where, `${key}: invalid value '${s}'; allowed: an integer from 0 to ${max}`);
  return Number(s);
}

/** A route table by number (names other than main are in /etc/iproute2/rt_tables: not read). */
export function tableOf(text: string | number | undefined, where: Where): number | undefined {
  if (text === undefined || text === '') return undefined;
  const s = String(text).trim();
  if (s === 'main') return 254;
  return int(s, where, 'table', 0xffffffff);
}

/**
 * A static route: `to` is "default", a prefix, or a bare address (a host route); `via` the
 * next hop. Both must be of one family.
 */
export function routeOf(
  to: string,
  via: string | undefined,
  o: { metric?: string | number; onlink?: boolean; table?: string | number },
  where: Where,
): RouteDecl {
  const t = to.trim();
  const v = via?.trim() || undefined;
  if (v !== undefined && !isIP(v)) fail(where, `invalid gateway '${v}'; allowed: an IPv4 or IPv6 address`);
  let family: 4 | 6;
  let dest: string;
  if (/^default(4|6)?$/.test(t) || t === '0.0.0.0/0' || t === '::/0') {
    family = t === 'default6' || t === '::/0' ? 6 : t === 'default4' || t === '0.0.0.0/0' ? 4 : v && !isIPv4(v) ? 6 : 4;
    dest = 'default';
  } else {
    const c = cidrOf(t, isIP(t) === 6 ? 128 : 32);
    if (!c) fail(where, `invalid route destination '${t}'; allowed: default, or a prefix like 198.18.9.0/24 or 2001:db8:9::/64`);
    family = isIPv4(c.address) ? 4 : 6;
    dest = `${networkOf(c.address, c.prefixlen)}/${c.prefixlen}`;
  }
  if (v && (isIPv4(v) ? 4 : 6) !== family) fail(where, `route ${t} via ${v}: the destination and the gateway are of different IP families`);
  const metric = int(o.metric, where, 'metric', 0xffffffff);
  const table = tableOf(o.table, where);
  return {
    to: dest,
    family,
    ...(v ? { via: v } : {}),
    ...(metric !== undefined ? { metric } : {}),
    ...(o.onlink ? { onlink: true } : {}),
    ...(table !== undefined ? { table } : {}),
    where,
  };
}

/** The network address of a prefix (the kernel refuses a route with host bits set). */
function networkOf(address: string, prefixlen: number): string {
  if (isIPv4(address)) {
    const n = address.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const mask = prefixlen === 0 ? 0 : (0xffffffff << (32 - prefixlen)) >>> 0;
    const v = (n & mask) >>> 0;
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  }
  return address; // IPv6 prefixes are written as networks in every format
}

/** A route metric (the default route a DHCP lease brings uses it too). */
export function metricOf(text: string | number, where: Where): number {
  return int(text, where, 'metric', 0xffffffff)!;
}

/** A default route via `gw` (GATEWAY=, gateway4:, Gateway=). */
export function gatewayOf(gw: string, where: Where, metric?: string | number): RouteDecl {
  return routeOf('default', gw, { metric }, where);
}

/** Name servers: each an IP address. */
export function dnsServers(list: string[], where: Where): string[] {
  for (const s of list) if (!isIP(s.replace(/%.*$/, ''))) fail(where, `invalid DNS server '${s}'; allowed: IPv4 or IPv6 addresses`);
  return list;
}

/** Search domains: plain DNS names. */
export function dnsSearch(list: string[], where: Where): string[] {
  for (const s of list)
    if (!/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$/.test(s) && s !== '.')
      fail(where, `invalid search domain '${s}'; allowed: DNS names like example.org`);
  return list;
}

/** An 802.1Q VLAN id (1 to 4094). */
export function vlanId(text: string | number, where: Where): number {
  const s = String(text).trim();
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 4094) fail(where, `invalid VLAN id '${s}'; allowed: 1 to 4094`);
  return Number(s);
}

const L3_KEYS = ['addresses', 'gateway', 'routes', 'dhcp', 'accept_ra', 'dhcp_metric', 'dns'];

/**
 * The JSON configuration's keys around the bond (tapbond's own format): `gateway`, `routes`
 * ([{to, via, metric, onlink, table}]), `dhcp` (true, "v4", "v6", "both"), `accept_ra`,
 * `dhcp_metric`, `dns` ({servers, search}), `bridge` ({name, stp, forward_delay, mtu, ports, and
 * the same L3 keys with `addresses`}), `vlans` ([{name, id}]). Null when there are none.
 */
export function jsonNet(o: Record<string, unknown>, where: Where): HostNetDecl | null {
  const net: HostNetDecl = { bond: emptyL3() };
  let any = false;
  const l3 = (src: Record<string, unknown>, at: string, l: HostNetDecl['bond'], addresses: boolean) => {
    for (const k of Object.keys(src)) {
      if (!L3_KEYS.includes(k) || (k === 'addresses' && !addresses)) continue;
      any = true;
    }
    if (addresses && src.addresses !== undefined)
      for (const a of list(src.addresses, `${at}.addresses`)) {
        const c = cidrOf(String(a));
        if (!c) fail(at, `addresses: invalid address '${String(a)}'; allowed: an address with a prefix length, like 198.18.0.1/24`);
        l.addresses.push(c);
      }
    if (src.gateway !== undefined) for (const g of list(src.gateway, `${at}.gateway`)) l.routes.push(gatewayOf(String(g), `${at}.gateway`));
    if (src.routes !== undefined)
      for (const r of list(src.routes, `${at}.routes`)) {
        if (!r || typeof r !== 'object' || !('to' in r))
          fail(`${at}.routes`, 'each route is an object with "to" (and "via", "metric", "onlink", "table")');
        const x = r as Record<string, unknown>;
        l.routes.push(
          routeOf(
            String(x.to),
            x.via === undefined ? undefined : String(x.via),
            { metric: x.metric as number, onlink: x.onlink === true, table: x.table as number },
            `${at}.routes`,
          ),
        );
      }
    if (src.dhcp !== undefined) {
      const d = String(src.dhcp);
      if (!['true', 'false', 'v4', 'v6', 'both'].includes(d))
        fail(`${at}.dhcp`, `invalid value '${d}'; allowed: true (v4), false, v4, v6, both`);
      l.dhcp4 = d === 'true' || d === 'v4' || d === 'both';
      l.dhcp6 = d === 'v6' || d === 'both';
    }
    if (src.accept_ra !== undefined) l.acceptRa = src.accept_ra === true;
    if (src.dhcp_metric !== undefined) l.dhcpMetric = metricOf(src.dhcp_metric as number, `${at}.dhcp_metric`);
    if (src.dns !== undefined) {
      const d = src.dns as Record<string, unknown>;
      if (d.servers !== undefined) l.dns.servers = dnsServers(list(d.servers, `${at}.dns.servers`).map(String), `${at}.dns.servers`);
      if (d.search !== undefined) l.dns.search = dnsSearch(list(d.search, `${at}.dns.search`).map(String), `${at}.dns.search`);
    }
  };
  l3(o, where, net.bond, false);
  if (o.bridge !== undefined) {
    const b = o.bridge as Record<string, unknown>;
    if (!b || typeof b !== 'object' || typeof b.name !== 'string') fail(`${where}.bridge`, 'expected an object with "name"');
    const br = newBridge(b.name, `${where}.bridge`);
    if (b.stp !== undefined) br.stp = b.stp === true;
    if (b.forward_delay !== undefined) br.forwardDelay = Number(b.forward_delay);
    if (b.mtu !== undefined) br.mtu = Number(b.mtu);
    if (b.ports !== undefined) br.ports = list(b.ports, `${where}.bridge.ports`).map(String);
    l3(b, `${where}.bridge`, br.l3, true);
    net.bridge = br;
    any = true;
  }
  if (o.vlans !== undefined) {
    net.vlans = list(o.vlans, `${where}.vlans`).map((v) => {
      const x = v as Record<string, unknown>;
      if (!x || typeof x.name !== 'string') fail(`${where}.vlans`, 'each VLAN is an object with "name" and "id"');
      return { name: x.name, id: vlanId(x.id as number, `${where}.vlans`), where: `${where}.vlans` };
    });
    any = true;
  }
  return any ? net : null;
}

function list(v: unknown, where: Where): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string' || typeof v === 'number') return [v];
  return fail(where, 'expected a list');
}
