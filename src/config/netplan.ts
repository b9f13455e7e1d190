// Reads netplan (Ubuntu): /etc/netplan/*.yaml, merged in file-name order as netplan merges
// them (mappings merge key by key, a later scalar wins, sequences are appended). Each
// `network.bonds.<name>` becomes a bond: `interfaces` (ethernets by id; an id whose entry has
// `match: macaddress` is enslaved by MAC, `match: name` by name), `parameters` with netplan's
// key names, `addresses`, `macaddress`, `mtu`. Durations with or without units. Around the
// bond: `routes`, `gateway4`/`gateway6`, `dhcp4`/`dhcp6`, `accept-ra`, `nameservers`, and a
// `network.bridges.<name>` whose `interfaces` hold the bond (its parameters, L3 and other ports).
import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';
import type { LineCounter as LineCounterT, Node } from 'yaml';
import {
  fail,
  globToRe,
  newDecl,
  convertScalar,
  parseBool,
  parseCidr,
  setOption,
  type KeyConv,
  type BondDecl,
  type ReadResult,
} from './decl.js';
import type { L3Decl } from '../host/l3.js';
import { dnsSearch, dnsServers, gatewayOf, newBridge, routeOf, vlanId } from './netdecl.js';

// loaded on first use: the YAML library costs ~50 ms of start-up that bonds from other sources
// should not pay
type YamlLib = typeof YamlModule;
let yamlLib: YamlLib | undefined;
const yaml = (): YamlLib => (yamlLib ??= createRequire(import.meta.url)('yaml') as YamlLib);

/** A YAML value with the file and line it was written at. */
interface Y {
  v: string | number | boolean | null | Map<string, Y> | Y[];
  where: string;
}

function toY(node: unknown, file: string, lc: LineCounterT, at?: string): Y {
  const { isMap, isScalar, isSeq } = yaml();
  const n = node as Node | null;
  const where = at ?? (n?.range ? `${file}:${lc.linePos(n.range[0]).line}` : file);
  if (isMap(n)) {
    const m = new Map<string, Y>();
    for (const pair of n.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      // a value is where its key is written
      const kr = (pair.key as Node | null)?.range;
      m.set(k, toY(pair.value, file, lc, kr ? `${file}:${lc.linePos(kr[0]).line}` : undefined));
    }
    return { v: m, where };
  }
  if (isSeq(n)) return { v: n.items.map((i) => toY(i, file, lc)), where };
  if (isScalar(n)) {
    const v = n.value;
    return { v: v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v), where };
  }
  return { v: null, where };
}

function merge(a: Y, b: Y): Y {
  if (a.v instanceof Map && b.v instanceof Map) {
    const m = new Map(a.v);
    for (const [k, v] of b.v) m.set(k, m.has(k) ? merge(m.get(k)!, v) : v);
    return { v: m, where: a.where };
  }
  if (Array.isArray(a.v) && Array.isArray(b.v)) return { v: [...a.v, ...b.v], where: b.where };
  return b;
}

const mapOf = (y: Y | undefined, what: string): Map<string, Y> => {
  if (!y || y.v === null) return new Map();
  if (!(y.v instanceof Map)) fail(y.where, `${what}: expected a mapping`);
  return y.v;
};
const listOf = (y: Y, what: string): Y[] => {
  if (Array.isArray(y.v)) return y.v;
  if (typeof y.v === 'string' && what.endsWith('arp-ip-targets')) return y.v.split(',').map((v) => ({ v: v.trim(), where: y.where }));
  return fail(y.where, `${what}: expected a list`);
};
const scalar = (y: Y, what: string): string => {
  if (y.v === null || y.v instanceof Map || Array.isArray(y.v)) fail(y.where, `${what}: expected a single value`);
  return String(y.v);
};

// netplan parameter -> kernel option and how the value is written
export const NETPLAN_PARAMS: Record<string, [string, KeyConv]> = {
  mode: ['mode', 'value'],
  'lacp-rate': ['lacp_rate', 'value'],
  'mii-monitor-interval': ['miimon', 'ms'],
  'min-links': ['min_links', 'value'],
  'transmit-hash-policy': ['xmit_hash_policy', 'value'],
  'ad-select': ['ad_select', 'value'],
  'all-members-active': ['all_slaves_active', 'bool'],
  'all-slaves-active': ['all_slaves_active', 'bool'],
  'arp-interval': ['arp_interval', 'ms'],
  'arp-ip-targets': ['arp_ip_target', 'list'],
  'arp-validate': ['arp_validate', 'value'],
  'arp-all-targets': ['arp_all_targets', 'value'],
  'up-delay': ['updelay', 'ms'],
  'down-delay': ['downdelay', 'ms'],
  'fail-over-mac-policy': ['fail_over_mac', 'value'],
  'gratuitous-arp': ['num_grat_arp', 'value'],
  'gratuitious-arp': ['num_grat_arp', 'value'], // netplan's old spelling, still accepted there
  'packets-per-member': ['packets_per_slave', 'value'],
  'packets-per-slave': ['packets_per_slave', 'value'],
  'primary-reselect-policy': ['primary_reselect', 'value'],
  'resend-igmp': ['resend_igmp', 'value'],
  'learn-packet-interval': ['lp_interval', 's'],
  primary: ['primary', 'value'],
};
const IGNORED_BOND_KEYS = ['renderer', 'optional', 'link-local', 'ipv6-privacy', 'critical', 'wakeonlan', 'ignore-carrier'];
const NOT_APPLIED = ['routing-policy', 'dhcp4-overrides', 'dhcp6-overrides'];

const bool = (y: Y, what: string) => (typeof y.v === 'boolean' ? y.v : parseBool(scalar(y, what), y.where, what));

/**
 * An L3 key of a bond or bridge (routes, gateways, DHCP, router advertisements, DNS) into `l`;
 * false when `key` is not one.
 */
function l3Key(key: string, y: Y, l: L3Decl, what: string): boolean {
  switch (key) {
    case 'routes':
      for (const r of listOf(y, what)) {
        const m = mapOf(r, what);
        const to = m.get('to');
        if (!to) fail(r.where, `${what}: a route needs "to"`);
        const get = (k: string) => (m.has(k) ? scalar(m.get(k)!, `${what}.${k}`) : undefined);
        for (const k of m.keys())
          if (!['to', 'via', 'metric', 'on-link', 'table', 'from', 'scope', 'type', 'mtu'].includes(k))
            fail(m.get(k)!.where, `${what}.${k}: unknown route key`);
        for (const k of ['from', 'scope', 'type', 'mtu'])
          if (m.has(k)) fail(m.get(k)!.where, `${what}.${k}: not applied by bondd; allowed route keys: to, via, metric, on-link, table`);
        l.routes.push(
          routeOf(
            scalar(to, `${what}.to`),
            get('via'),
            { metric: get('metric'), onlink: m.has('on-link') && bool(m.get('on-link')!, `${what}.on-link`), table: get('table') },
            r.where,
          ),
        );
      }
      return true;
    case 'gateway4':
    case 'gateway6':
      l.routes.push(gatewayOf(scalar(y, what), y.where));
      return true;
    case 'dhcp4':
      l.dhcp4 = bool(y, what);
      return true;
    case 'dhcp6':
      l.dhcp6 = bool(y, what);
      return true;
    case 'accept-ra':
      l.acceptRa = bool(y, what);
      return true;
    case 'nameservers': {
      const m = mapOf(y, what);
      const a = m.get('addresses');
      const sr = m.get('search');
      if (a)
        l.dns.servers = dnsServers(
          listOf(a, `${what}.addresses`).map((x) => scalar(x, `${what}.addresses`)),
          a.where,
        );
      if (sr)
        l.dns.search = dnsSearch(
          listOf(sr, `${what}.search`).map((x) => scalar(x, `${what}.search`)),
          sr.where,
        );
      return true;
    }
  }
  return false;
}

/**
 * The bonds of netplan files given as [path, text] pairs (read in that order). `interfaces`:
 * the names present, to resolve `match: name` globs.
 */
export function parseNetplan(files: [string, string][], interfaces: string[] = []): ReadResult {
  const warnings: string[] = [];
  let root: Y | null = null;
  for (const [file, text] of files) {
    const { LineCounter, parseDocument } = yaml();
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
    if (doc.errors.length) {
      const e = doc.errors[0];
      fail(`${file}:${e.linePos?.[0]?.line ?? 1}`, `not valid YAML: ${e.message.split('\n')[0]}`);
    }
    const y = toY(doc.contents, file, lc);
    root = root ? merge(root, y) : y;
  }
  if (!root) return { bonds: [], warnings };
  const network = mapOf(mapOf(root, 'top level').get('network'), 'network');
  const ethernets = mapOf(network.get('ethernets'), 'network.ethernets');
  const bonds: BondDecl[] = [];
  for (const [name, by] of mapOf(network.get('bonds'), 'network.bonds')) {
    const bond = mapOf(by, `bonds.${name}`);
    const b = newDecl(name, `netplan ${by.where.replace(/:\d+$/, '')}`, by.where);
    const nameOfId = new Map<string, string>(); // netplan interface id -> the slave it matched
    for (const [key, y] of bond) {
      const what = `bonds.${name}.${key}`;
      switch (key) {
        case 'interfaces':
          for (const i of listOf(y, what)) {
            const id = scalar(i, what);
            const eth = ethernets.get(id);
            if (!eth) fail(i.where, `${what}: '${id}' is not declared under network.ethernets`);
            const match = mapOf(mapOf(eth, `ethernets.${id}`).get('match'), `ethernets.${id}.match`);
            const mac = match.get('macaddress');
            const mname = match.get('name');
            let ifname = id;
            if (mname) {
              const g = scalar(mname, `ethernets.${id}.match.name`);
              if (/[*?]/.test(g)) {
                const hits = interfaces.filter((n) => globToRe(g).test(n));
                if (hits.length !== 1)
                  fail(
                    mname.where,
                    `ethernets.${id}.match.name: '${g}' matches ${hits.length ? hits.join(', ') : 'no interface'} here; a bond slave must be one interface`,
                  );
                ifname = hits[0];
              } else ifname = g;
            }
            nameOfId.set(id, ifname);
            b.slaves.push({
              name: ifname,
              ...(mac ? { mac: scalar(mac, `ethernets.${id}.match.macaddress`) } : {}),
              where: i.where,
              options: {},
            });
          }
          break;
        case 'parameters':
          for (const [pk, py] of mapOf(y, what)) {
            const conv = NETPLAN_PARAMS[pk];
            if (!conv) {
              warnings.push(`${py.where}: ${what}.${pk}: unknown netplan bond parameter, ignored`);
              continue;
            }
            const [opt, how] = conv;
            const k = `${what}.${pk}`;
            const value =
              how === 'list'
                ? listOf(py, k)
                    .map((t) => scalar(t, k))
                    .join(',')
                : how === 'bool' && typeof py.v === 'boolean'
                  ? py.v
                  : convertScalar(how, scalar(py, k), 'ms', py.where, k);
            setOption(b, opt, value, py.where);
          }
          break;
        case 'addresses':
          for (const a of listOf(y, what)) {
            // "198.18.0.1/24", or { "198.18.0.1/24": { label: ..., lifetime: ... } }
            const text = a.v instanceof Map ? [...a.v.keys()][0] : scalar(a, what);
            b.addresses.push({ ...parseCidr(text, a.where), where: a.where });
          }
          break;
        case 'macaddress':
          b.mac = { value: scalar(y, what), where: y.where };
          break;
        case 'mtu':
          b.mtu = { value: scalar(y, what), where: y.where };
          break;
        default:
          if (l3Key(key, y, b.net.bond, what)) break;
          if (NOT_APPLIED.includes(key))
            warnings.push(
              `${y.where}: ${what}: not applied by bondd (policy routing and DHCP overrides stay with the host's network tools)`,
            );
          else if (!IGNORED_BOND_KEYS.includes(key)) warnings.push(`${y.where}: ${what}: unknown netplan bond key, ignored`);
      }
    }
    // netplan names the primary by its interface id: follow that id to the slave it matched
    const prim = b.options.primary;
    if (prim) prim.value = nameOfId.get(prim.value) ?? prim.value;
    bonds.push(b);
  }
  // VLANs over a bond: network.vlans.<name> with link: <bond> and id
  for (const [vName, vy] of mapOf(network.get('vlans'), 'network.vlans')) {
    const v = mapOf(vy, `vlans.${vName}`);
    const link = v.get('link');
    const bond = link && bonds.find((b) => b.name === scalar(link, `vlans.${vName}.link`));
    if (!bond) continue;
    const id = v.get('id');
    if (!id) fail(vy.where, `vlans.${vName}: a VLAN needs "id"`);
    (bond.net.vlans ??= []).push({ name: vName, id: vlanId(scalar(id, `vlans.${vName}.id`), id.where), where: vy.where });
  }
  // a bridge over a bond: made with its parameters, the bond and its other interfaces its ports
  for (const [brName, by] of mapOf(network.get('bridges'), 'network.bridges')) {
    const br = mapOf(by, `bridges.${brName}`);
    const ifs = br.get('interfaces');
    const ids = ifs ? listOf(ifs, `bridges.${brName}.interfaces`).map((i) => scalar(i, `bridges.${brName}.interfaces`)) : [];
    const bond = bonds.find((b) => ids.includes(b.name));
    if (!bond) continue;
    if (bond.net.bridge) fail(by.where, `bridges.${brName}: bond ${bond.name} is already a port of bridge ${bond.net.bridge.name}`);
    const d = newBridge(brName, by.where);
    d.ports = ids
      .filter((i) => i !== bond.name)
      .map((i) => {
        const eth = ethernets.get(i);
        const mname = eth && mapOf(mapOf(eth, `ethernets.${i}`).get('match'), `ethernets.${i}.match`).get('name');
        return mname ? scalar(mname, `ethernets.${i}.match.name`) : i;
      });
    for (const [key, y] of br) {
      const what = `bridges.${brName}.${key}`;
      if (key === 'interfaces' || l3Key(key, y, d.l3, what)) continue;
      if (key === 'addresses') {
        for (const a of listOf(y, what)) {
          const text = a.v instanceof Map ? [...a.v.keys()][0] : scalar(a, what);
          d.l3.addresses.push(parseCidr(text, a.where));
        }
      } else if (key === 'mtu') {
        const m = Number(scalar(y, what));
        if (!Number.isInteger(m) || m < 68 || m > 65535) fail(y.where, `${what}: invalid value '${scalar(y, what)}'; allowed: 68 to 65535`);
        d.mtu = m;
      } else if (key === 'parameters') {
        for (const [pk, py] of mapOf(y, what)) {
          if (pk === 'stp') d.stp = bool(py, `${what}.stp`);
          else if (pk === 'forward-delay')
            d.forwardDelay = Number(convertScalar('ms', scalar(py, `${what}.${pk}`), 's', py.where, `${what}.${pk}`)) / 1000;
          else warnings.push(`${py.where}: ${what}.${pk}: not applied by bondd (set it on ${brName} yourself), ignored`);
        }
      } else if (!IGNORED_BOND_KEYS.includes(key) && key !== 'macaddress')
        warnings.push(`${y.where}: ${what}: not applied by bondd, ignored`);
    }
    bond.net.bridge = d;
  }
  return { bonds, warnings };
}
