// What every distro format declares about a bond, in one shape: the kernel's option names,
// slaves by name or MAC, addresses, MTU and MAC, each with the file and line it came from.
// Readers (netplan, systemd-networkd, NetworkManager, ifupdown) build these; declToConfig()
// turns one into a DaemonConfig through the same validation as the command line, and an error
// names the file and line of what is wrong. Pure: readers pass text in.
import { BondError } from '../errors.js';
import { declaresNet, emptyL3, type HostNetDecl } from '../host/l3.js';
import { buildConfig, type DaemonConfig } from './index.js';
import { cidrOf } from './netdecl.js';

/** Where a value came from: "/etc/netplan/01-bond.yaml:12". */
export type Where = string;

export interface DeclSlave {
  /** The interface name, or the name the file uses for it when it is matched by MAC. */
  name: string;
  /** Enslave whichever interface has this MAC (netplan `match: macaddress`, networkd `[Match] MACAddress=`). */
  mac?: string;
  where: Where;
  /** Per-slave options by kernel name (prio, queue_id, actor_port_prio). */
  options: Record<string, { value: string; where: Where }>;
}

export interface BondDecl {
  name: string;
  /** The format and file: "netplan /etc/netplan/01-bond.yaml". */
  source: string;
  where: Where;
  /** Kernel option name -> value (lists comma separated) and where it was written. */
  options: Record<string, { value: string; where: Where }>;
  slaves: DeclSlave[];
  addresses: { address: string; prefixlen: number; where: Where }[];
  mtu?: { value: string; where: Where };
  mac?: { value: string; where: Where };
  /** false: declared but not started at boot (ONBOOT=no, autoconnect=false, no `auto`). */
  enabled: boolean;
  /** Routes, DHCP, DNS and a bridge over the bond (the bond's addresses are `addresses`). */
  net: HostNetDecl;
}

/** What a reader found: the bonds, and warnings (unknown keys, ignored settings) with file and line. */
export interface ReadResult {
  bonds: BondDecl[];
  warnings: string[];
}

export function newDecl(name: string, source: string, where: Where): BondDecl {
  return { name, source, where, options: {}, slaves: [], addresses: [], enabled: true, net: { bond: emptyL3() } };
}

export function fail(where: Where, msg: string, code: 'EOPT_VALUE' | 'EOPT_UNKNOWN' = 'EOPT_VALUE'): never {
  throw new BondError(code, `${where}: ${msg}`);
}

/** "198.18.0.1/24" -> address and prefix length, or an error naming where. */
export function parseCidr(text: string, where: Where, defaultPrefix?: number): { address: string; prefixlen: number } {
  const c = cidrOf(text, defaultPrefix);
  if (!c)
    fail(where, `invalid address '${text}'; allowed: an IPv4 or IPv6 address with a prefix length, like 198.18.0.1/24 or 2001:db8::1/64`);
  return c;
}

const UNIT_MS: Record<string, number> = {
  us: 0.001,
  usec: 0.001,
  ms: 1,
  msec: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60000,
  min: 60000,
  minute: 60000,
  minutes: 60000,
  h: 3600000,
  hr: 3600000,
  hour: 3600000,
  hours: 3600000,
};

/**
 * A duration as systemd and netplan write them ("100ms", "1s", "1min 30s", "0.5s"), in
 * milliseconds; a bare number is in `bareUnit` (systemd: seconds; netplan: milliseconds for
 * the monitors and delays). Rounded down to whole milliseconds, as the kernel stores them.
 */
export function parseDuration(text: string, bareUnit: 'ms' | 's', where: Where, key: string): number {
  const t = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.floor(Number(t) * (bareUnit === 's' ? 1000 : 1));
  const parts = t.match(/\d+(?:\.\d+)?\s*[a-z]+/g);
  if (!parts || parts.join('').replace(/\s/g, '') !== t.replace(/\s/g, '')) {
    fail(
      where,
      `${key}: invalid duration '${text}'; allowed: a number (${bareUnit === 's' ? 'seconds' : 'milliseconds'}) or a time span like 100ms, 2s, 1min`,
    );
  }
  let ms = 0;
  for (const p of parts) {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(p)!;
    const unit = UNIT_MS[m[2]];
    if (unit === undefined) fail(where, `${key}: invalid duration '${text}' (unknown unit '${m[2]}'); allowed units: us, ms, s, min, h`);
    ms += Number(m[1]) * unit;
  }
  return Math.floor(ms);
}

/** yes/no as the formats write it (true, on, 1 ...), or an error naming the key. */
export function parseBool(text: string, where: Where, key: string): boolean {
  const t = String(text).trim().toLowerCase();
  if (['1', 'yes', 'y', 'true', 't', 'on'].includes(t)) return true;
  if (['0', 'no', 'n', 'false', 'f', 'off'].includes(t)) return false;
  return fail(where, `${key}: invalid value '${text}'; allowed: true or false (yes/no, on/off, 1/0)`);
}

/**
 * How a format writes a kernel option's value: as the kernel does ('value'), a duration in
 * milliseconds or whole seconds ('ms', 's'), a boolean, or a list.
 */
export type KeyConv = 'value' | 'ms' | 's' | 'bool' | 'list';

/** A scalar value in the kernel's terms; `bare`: the unit of a duration without one. */
export function convertScalar(
  how: Exclude<KeyConv, 'list'>,
  text: string,
  bare: 'ms' | 's',
  where: Where,
  key: string,
): string | number | boolean {
  switch (how) {
    case 'ms':
      return parseDuration(text, bare, where, key);
    case 's':
      return Math.floor(parseDuration(text, 's', where, key) / 1000);
    case 'bool':
      return parseBool(text, where, key);
    case 'value':
      return text;
  }
}

/** Sets a kernel option on a bond, remembering where it was written. */
export function setOption(b: BondDecl, name: string, value: string | number | boolean, where: Where): void {
  b.options[name] = { value: typeof value === 'boolean' ? (value ? '1' : '0') : String(value), where };
}

/** An error from the option table, with the file and line of the option it is about in front. */
function locate(e: unknown, b: BondDecl): never {
  if (!(e instanceof BondError)) throw e;
  const m = /^([a-z0-9_]+): /.exec(e.message);
  const where = (m && (b.options[m[1]]?.where ?? (m[1] === 'mtu' ? b.mtu?.where : m[1] === 'mac' ? b.mac?.where : undefined))) ?? b.where;
  throw new BondError(e.code, `${where}: ${e.message}`);
}

/** One declared bond as the daemon runs it; errors carry the file and line. */
export function declToConfig(b: BondDecl): DaemonConfig {
  const options = Object.fromEntries(Object.entries(b.options).map(([k, v]) => [k, v.value]));
  const slaveOptions: Record<string, Record<string, string>> = {};
  for (const s of b.slaves) for (const [k, v] of Object.entries(s.options)) (slaveOptions[s.name] ??= {})[k] = v.value;
  let cfg: DaemonConfig;
  try {
    cfg = buildConfig({
      name: b.name,
      slaves: b.slaves.map((s) => s.name),
      mtu: b.mtu?.value,
      mac: b.mac?.value,
      options,
      ...(Object.keys(slaveOptions).length ? { slave_options: slaveOptions } : {}),
    });
  } catch (e) {
    // a per-slave option's error names the option: point at that slave's line
    for (const s of b.slaves)
      for (const [k, v] of Object.entries(s.options))
        if (e instanceof BondError && e.message.startsWith(`${k}:`)) throw new BondError(e.code, `${v.where}: ${e.message}`);
    locate(e, b);
  }
  const macs = Object.fromEntries(b.slaves.filter((s) => s.mac).map((s) => [s.name, s.mac!.toLowerCase()]));
  if (Object.keys(macs).length) {
    cfg.slaveMacs = macs;
    cfg.slaveMacWhere = Object.fromEntries(b.slaves.filter((s) => s.mac).map((s) => [s.name, s.where]));
  }
  if (b.addresses.length) cfg.addresses = b.addresses.map(({ address, prefixlen }) => ({ address, prefixlen }));
  if (declaresNet(b.net)) cfg.net = b.net;
  cfg.source = b.source;
  return cfg;
}

/** A bond and the NICs it takes, with where each was written (for the checks across files). */
export interface Claim {
  bond: string;
  where: Where;
  /** key: the interface name, or "mac <MAC>" for one matched by MAC; label: how an error names it. */
  slaves: { key: string; label: string; where: Where }[];
}

export function declClaims(bonds: BondDecl[]): Claim[] {
  return bonds.map((b) => ({
    bond: b.name,
    where: b.where,
    slaves: b.slaves.map((s) => ({
      key: s.mac ? `mac ${s.mac.toLowerCase()}` : s.name,
      label: s.mac ? `the interface with MAC ${s.mac.toLowerCase()}` : s.name,
      where: s.where,
    })),
  }));
}

/**
 * Checks what no single file can: a bond declared twice (in two formats, or two files of one),
 * a NIC claimed by two bonds.
 */
export function checkClaims(claims: Claim[]): void {
  const byName = new Map<string, Claim>();
  const owner = new Map<string, { bond: string; where: Where }>();
  for (const c of claims) {
    const other = byName.get(c.bond);
    if (other) throw new BondError('EOPT_VALUE', `${c.where}: bond ${c.bond} is also declared in ${other.where}; keep one`);
    byName.set(c.bond, c);
  }
  for (const c of claims) {
    for (const s of c.slaves) {
      const o = owner.get(s.key);
      if (o) {
        throw new BondError(
          'EOPT_VALUE',
          `${s.where}: ${s.label} is claimed by bond ${c.bond} and by bond ${o.bond} (${o.where}); a NIC can be the slave of one bond`,
        );
      }
      owner.set(s.key, { bond: c.bond, where: s.where });
    }
  }
}

export interface IniEntry {
  key: string;
  value: string;
  line: number;
}
export interface IniSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

/**
 * The INI dialect of systemd unit files and GLib key files (NetworkManager): [Section] lines,
 * key=value, # and ; comments, backslash continuations (systemd). Sections repeat (systemd's
 * [Address] may appear several times), so they stay a list.
 */
export function parseIni(text: string, file: string, continuations = true): IniSection[] {
  const out: IniSection[] = [];
  let cur: IniSection | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i].replace(/\r$/, '');
    const no = i + 1;
    if (/^\s*[#;]/.test(l) || !l.trim()) continue;
    while (continuations && /\\$/.test(l) && i + 1 < lines.length) l = l.slice(0, -1) + ' ' + lines[++i].replace(/\r$/, '').trim();
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(l);
    if (sec) {
      cur = { name: sec[1].trim(), line: no, entries: [] };
      out.push(cur);
      continue;
    }
    const eq = l.indexOf('=');
    if (eq <= 0) fail(`${file}:${no}`, `expected [Section] or Key=value, found '${l.trim()}'`);
    if (!cur) fail(`${file}:${no}`, `'${l.trim()}' comes before any [Section]`);
    cur.entries.push({ key: l.slice(0, eq).trim(), value: l.slice(eq + 1).trim(), line: no });
  }
  return out;
}

/** A shell-style glob (`*`, `?`) as netplan, networkd and ifupdown match names and files. */
export function globToRe(g: string): RegExp {
  return new RegExp(
    `^${g
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}
