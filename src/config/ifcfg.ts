// Reads RedHat network-scripts (/etc/sysconfig/network-scripts): ifcfg-bondN with DEVICE,
// ONBOOT, BONDING_OPTS, IPADDR[n]/PREFIX[n]/NETMASK[n], IPV6ADDR, MTU, MACADDR; and ifcfg-ethN
// with MASTER=bondN SLAVE=yes, matched by HWADDR when given (names may differ from the file's).
import { readdirSync, readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { BondError } from '../errors.js';
import { parseOptionWords } from '../options/parse.js';

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
}

/** Shell-style KEY=VALUE lines: quotes, comments, `export`. */
export function parseShellVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    let v = m[2].trim();
    if (/^"/.test(v)) v = v.replace(/^"((?:[^"\\]|\\.)*)".*$/, '$1').replace(/\\(.)/g, '$1');
    else if (/^'/.test(v)) v = v.replace(/^'([^']*)'.*$/, '$1');
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]] = v;
  }
  return out;
}

/** A dotted IPv4 netmask as a prefix length (255.255.255.0 -> 24), or undefined. */
export function maskToPrefix(mask: string): number | undefined {
  if (!isIPv4(mask)) return undefined;
  const bits = mask
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
  return /^1*0*$/.test(bits) ? (bits.indexOf('0') === -1 ? 32 : bits.indexOf('0')) : undefined;
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
  const parsed = files.map((f) => ({ file: f, v: parseShellVars(readFileSync(join(dir, f), 'utf8')) }));
  const bonds = new Map<string, IfcfgBond>();
  for (const { file, v } of parsed) {
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
    });
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
