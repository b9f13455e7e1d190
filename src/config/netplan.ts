// Reads netplan (Ubuntu): /etc/netplan/*.yaml, merged in file-name order as netplan merges
// them (mappings merge key by key, a later scalar wins, sequences are appended). Each
// `network.bonds.<name>` becomes a bond: `interfaces` (ethernets by id; an id whose entry has
// `match: macaddress` is enslaved by MAC, `match: name` by name), `parameters` with netplan's
// key names, `addresses`, `macaddress`, `mtu`. Durations with or without units.
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
const IGNORED_BOND_KEYS = ['renderer', 'optional', 'link-local', 'accept-ra', 'ipv6-privacy', 'critical', 'wakeonlan', 'ignore-carrier'];
const NOT_APPLIED = ['routes', 'gateway4', 'gateway6', 'nameservers', 'routing-policy', 'dhcp4-overrides', 'dhcp6-overrides'];

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
        case 'dhcp4':
        case 'dhcp6':
          if (y.v === true || (typeof y.v === 'string' && parseBool(y.v, y.where, what)))
            warnings.push(`${y.where}: ${what}: bondd does not run a DHCP client; run one on ${name} (dhclient, systemd-networkd)`);
          break;
        default:
          if (NOT_APPLIED.includes(key))
            warnings.push(`${y.where}: ${what}: not applied by bondd (routes and DNS stay with the host's network tools)`);
          else if (!IGNORED_BOND_KEYS.includes(key)) warnings.push(`${y.where}: ${what}: unknown netplan bond key, ignored`);
      }
    }
    // netplan names the primary by its interface id: follow that id to the slave it matched
    const prim = b.options.primary;
    if (prim) prim.value = nameOfId.get(prim.value) ?? prim.value;
    bonds.push(b);
  }
  return { bonds, warnings };
}
