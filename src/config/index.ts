// Daemon configuration: command-line words or a JSON file, validated completely before any
// interface is touched.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DATAPATH_CHOICES, type DatapathChoice } from '../bond/fast-path.js';
import { BondError } from '../errors.js';
import { OPTION_BY_NAME } from '../options/table.js';
import { parseSlaveOption, resolveOptions, type BondOptions } from '../options/parse.js';
import { parseMac } from '../util/mac.js';
import { declaresNet, type HostNetDecl } from '../host/l3.js';
import type { IfcfgBond } from './ifcfg.js';
import { cidrOf, jsonNet } from './netdecl.js';
import type { ModprobeBond } from './modprobe.js';

export interface DaemonConfig {
  name: string;
  slaves: string[];
  /** Slave name -> MAC it must have (ifcfg HWADDR): the interface with that MAC is enslaved. */
  slaveMacs?: Record<string, string>;
  /** Where each MAC-matched slave was declared (for the error when no interface has the MAC). */
  slaveMacWhere?: Record<string, string>;
  /** The file format and file the bond came from ("netplan /etc/netplan/01-bond.yaml"). */
  source?: string;
  /** Addresses put on the TAP once it exists (ifcfg IPADDR/PREFIX, IPV6ADDR). */
  addresses?: { address: string; prefixlen: number }[];
  /** Routes, DHCP, DNS and a bridge over the bond, as the host's files declare them. */
  net?: HostNetDecl;
  options: BondOptions;
  notes: string[];
  mtu?: number;
  mac?: Uint8Array;
  up: boolean;
  busyPollUs?: number;
  /** auto (default), kernel or user: which datapath forwards frames. */
  datapath?: DatapathChoice;
  /** tc: the kernel path attaches with tc filters even where TCX exists (TAPBOND_BPF_ATTACH=tc). */
  bpfAttach?: 'tcx' | 'tc';
  /** Per-slave options, applied right after enslaving (checked before anything is touched). */
  slaveOptions?: { slave: string; name: string; value: number }[];
}

export interface RawConfig {
  name?: unknown;
  slaves?: unknown;
  mtu?: unknown;
  mac?: unknown;
  up?: unknown;
  busy_poll?: unknown;
  datapath?: unknown;
  cpu?: unknown;
  addresses?: unknown;
  /** { "eth1": { "actor_port_prio": 100 } } */
  slave_options?: unknown;
  /** gateway, routes, dhcp, accept_ra, dhcp_metric, dns, bridge, vlans (see netdecl.jsonNet). */
  net?: Record<string, unknown>;
  /** Where `net` was read (the file), for its errors. */
  netWhere?: string;
  options: Record<string, unknown>;
}

/** The JSON keys of what goes around the bond (netdecl.jsonNet). */
const NET_KEYS = ['gateway', 'routes', 'dhcp', 'accept_ra', 'dhcp_metric', 'dns', 'bridge', 'vlans'];

const NON_OPTION_KEYS = new Set([
  'name',
  'slaves',
  'mtu',
  'mac',
  'hwaddr',
  'up',
  'busy_poll',
  'datapath',
  'cpu',
  'addresses',
  'slave_options',
  'options',
  ...NET_KEYS,
]);

/** Reads a JSON config: bond keys plus option names, at top level or under "options". */
export function readConfigFile(path: string): RawConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BondError('EOPT_VALUE', `--config ${path}: ${(e as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new BondError('EOPT_VALUE', `--config ${path}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'options') {
      if (!v || typeof v !== 'object') throw new BondError('EOPT_VALUE', `--config ${path}: "options" must be an object`);
      Object.assign(options, v);
    } else if (!NON_OPTION_KEYS.has(k)) {
      if (!OPTION_BY_NAME.has(k)) throw new BondError('EOPT_UNKNOWN', `--config ${path}: unknown key '${k}'`);
      options[k] = v;
    }
  }
  return {
    name: o.name,
    slaves: o.slaves,
    mtu: o.mtu,
    mac: o.mac ?? o.hwaddr,
    up: o.up,
    busy_poll: o.busy_poll,
    datapath: o.datapath,
    cpu: o.cpu,
    addresses: o.addresses,
    slave_options: o.slave_options,
    net: Object.fromEntries(NET_KEYS.filter((k) => k in o).map((k) => [k, o[k]])),
    netWhere: `--config ${path}`,
    options,
  };
}

/**
 * Bonds from the seed's configuration files: modprobe options (module-wide and per alias) and
 * ifcfg files (BONDING_OPTS override modprobe options; ONBOOT=no bonds are not started).
 */
export function buildFromSystemFiles(modprobe: ModprobeBond[], ifcfg: IfcfgBond[]): { configs: DaemonConfig[]; notes: string[] } {
  const notes: string[] = [];
  const names = [...modprobe.map((b) => b.name)];
  for (const b of ifcfg) if (!names.includes(b.name)) names.push(b.name);
  const configs: DaemonConfig[] = [];
  for (const name of names) {
    const m = modprobe.find((b) => b.name === name);
    const f = ifcfg.find((b) => b.name === name);
    if (f && !f.onboot) {
      notes.push(`${name}: ONBOOT=no, not started`);
      continue;
    }
    const strict = { ...(m?.options ?? {}), ...(f?.options ?? {}) };
    const moduleWide = { ...(m?.moduleOptions ?? {}) };
    // kernel compat (bond_check_params): a module parameter without effect in the bond's mode
    // is ignored with a warning
    const mode = resolveOptions({ mode: strict.mode ?? moduleWide.mode ?? 'default' }).options.mode;
    for (const k of Object.keys(moduleWide)) {
      const def = OPTION_BY_NAME.get(k);
      if (def?.modes && !def.modes.includes(mode) && !(k in strict)) {
        notes.push(`${name}: ${k}=${moduleWide[k]} has no effect in mode ${mode}, ignored (module-wide option)`);
        delete moduleWide[k];
      }
    }
    const cfg = buildConfig({
      name,
      slaves: f?.slaves.map((s) => s.device) ?? [],
      mtu: f?.mtu,
      mac: f?.mac,
      options: { ...moduleWide, ...strict },
    });
    const macs = Object.fromEntries((f?.slaves ?? []).filter((s) => s.hwaddr).map((s) => [s.device, s.hwaddr!]));
    if (Object.keys(macs).length) cfg.slaveMacs = macs;
    if (f?.addresses.length) cfg.addresses = f.addresses;
    if (f && declaresNet(f.net)) cfg.net = f.net;
    notes.push(...(f?.warnings ?? []));
    configs.push(cfg);
  }
  return { configs, notes };
}

/** `--cpu` / "cpu": the CPUs the daemon's datapath thread is pinned to (one process, all bonds). */
export function parseCpuList(raw: unknown): number[] {
  const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  const cpus = list.map((c) => Number(c.trim()));
  if (!cpus.length || cpus.some((c) => !Number.isInteger(c) || c < 0 || c > 1023)) {
    throw new BondError('EOPT_VALUE', `cpu: invalid value '${String(raw)}'; allowed: CPU numbers, comma separated (e.g. 1 or 2,3)`);
  }
  return cpus;
}

export function buildConfig(raw: RawConfig): DaemonConfig {
  const name = String(raw.name ?? 'bond0');
  if (!/^[^\s/:]{1,15}$/.test(name)) throw new BondError('EOPT_VALUE', `name: invalid interface name '${name}'`);
  const slavesRaw = raw.slaves ?? [];
  const slaves = (Array.isArray(slavesRaw) ? slavesRaw.map(String) : String(slavesRaw).split(',')).map((s) => s.trim()).filter(Boolean);
  for (const s of slaves) if (!/^[^\s/:]{1,15}$/.test(s)) throw new BondError('EOPT_VALUE', `slaves: invalid interface name '${s}'`);
  if (new Set(slaves).size !== slaves.length)
    throw new BondError('EOPT_VALUE', `slaves: an interface is listed twice (${slaves.join(',')})`);
  if (slaves.includes(name)) throw new BondError('EOPT_VALUE', `slaves: cannot enslave the bond ${name} to itself`);
  let mtu: number | undefined;
  if (raw.mtu !== undefined) {
    mtu = Number(raw.mtu);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
      throw new BondError('EOPT_VALUE', `mtu: invalid value '${String(raw.mtu)}'; allowed: an integer from 68 to 65535`);
  }
  let mac: Uint8Array | undefined;
  if (raw.mac !== undefined) {
    mac = parseMac(String(raw.mac));
    if (!mac || mac[0] & 1 || mac.every((b) => b === 0))
      throw new BondError('EOPT_VALUE', `mac: invalid value '${String(raw.mac)}'; allowed: a unicast MAC address like 02:00:00:00:00:01`);
  }
  let busyPollUs: number | undefined;
  if (raw.busy_poll !== undefined) {
    busyPollUs = Number(raw.busy_poll);
    if (!Number.isInteger(busyPollUs) || busyPollUs < 0 || busyPollUs > 1000)
      throw new BondError('EOPT_VALUE', `busy_poll: invalid value '${String(raw.busy_poll)}'; allowed: microseconds from 0 (off) to 1000`);
  }
  const datapath = raw.datapath === undefined ? undefined : parseDatapath(raw.datapath);
  const { max_bonds: _maxBonds, ...optionWords } = raw.options; // module-wide: handled by the readers
  const { options, notes } = resolveOptions(optionWords);
  if (options.primary && !slaves.includes(options.primary)) notes.push(`primary: ${options.primary} is not among the slaves yet`);
  if (options.active_slave) {
    throw new BondError(
      'EOPT_VALUE',
      `active_slave: set it at runtime with \`bondctl set ${name} active_slave=IF\`; at start use primary=IF`,
    );
  }
  const addresses = raw.addresses === undefined ? undefined : parseAddresses(raw.addresses);
  const slaveOptions = raw.slave_options === undefined ? undefined : parseSlaveOptions(raw.slave_options, slaves, options.mode);
  const net = raw.net ? jsonNet(raw.net, raw.netWhere ?? 'config') : null;
  return {
    name,
    slaves,
    options,
    notes,
    mtu,
    mac,
    up: raw.up !== false && raw.up !== 'false',
    busyPollUs,
    ...(datapath ? { datapath } : {}),
    ...(addresses?.length ? { addresses } : {}),
    ...(slaveOptions?.length ? { slaveOptions } : {}),
    ...(net ? { net } : {}),
  };
}

export function parseDatapath(v: unknown): DatapathChoice {
  const s = String(v);
  if (!(DATAPATH_CHOICES as readonly string[]).includes(s))
    throw new BondError('EOPT_VALUE', `datapath: invalid value '${s}'; allowed: ${DATAPATH_CHOICES.join(', ')}`);
  return s as DatapathChoice;
}

/** "slave_options": { "eth1": { "actor_port_prio": 100 } }, every slave among "slaves". */
export function parseSlaveOptions(
  raw: unknown,
  slaves: string[],
  mode: BondOptions['mode'],
): { slave: string; name: string; value: number }[] {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new BondError('EOPT_VALUE', 'slave_options: expected an object like { "eth1": { "actor_port_prio": 100 } }');
  const out: { slave: string; name: string; value: number }[] = [];
  for (const [slave, opts] of Object.entries(raw as Record<string, unknown>)) {
    if (!slaves.includes(slave))
      throw new BondError('EOPT_VALUE', `slave_options: '${slave}' is not among the slaves (${slaves.join(',') || 'none'})`);
    if (!opts || typeof opts !== 'object' || Array.isArray(opts))
      throw new BondError('EOPT_VALUE', `slave_options.${slave}: expected an object of option names and values`);
    for (const [name, v] of Object.entries(opts as Record<string, unknown>))
      out.push({ slave, name, value: parseSlaveOption(name, v, mode).value });
  }
  return out;
}

/** "addresses": ["198.18.0.1/24", "2001:db8::1/64"] (or one comma-separated string). */
export function parseAddresses(raw: unknown): { address: string; prefixlen: number }[] {
  const list = (Array.isArray(raw) ? raw.map(String) : String(raw).split(',')).map((a) => a.trim()).filter(Boolean);
  return list.map((a) => {
    const c = cidrOf(a);
    if (!c) {
      throw new BondError(
        'EOPT_VALUE',
        `addresses: invalid value '${a}'; allowed: IPv4 or IPv6 address with a prefix length, like 198.18.0.1/24 or 2001:db8::1/64`,
      );
    }
    return c;
  });
}

/** Where `bondd --instance BOND` (systemd bondd@BOND.service) looks, under a root (default /etc). */
export function instancePaths(bond: string, root = '/etc') {
  return {
    json: join(root, 'tapbond', `${bond}.json`),
    ifcfgDir: join(root, 'sysconfig', 'network-scripts'),
    modprobe: [join(root, 'modprobe.conf'), ...listConf(join(root, 'modprobe.d'))],
  };
}

function listConf(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.conf'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/**
 * One bond for a systemd instance: /etc/tapbond/BOND.json when it exists, otherwise what
 * ifcfg-BOND (with its slaves' files) and the modprobe files say about BOND, otherwise BOND as
 * the other formats declare it (`readers.system`).
 */
export function loadInstance(
  bond: string,
  root: string,
  readers: {
    ifcfg: (dir: string) => IfcfgBond[];
    modprobe: (text: string, file: string) => ModprobeBond[];
    /** Every bond the other formats under `root` declare (netplan, networkd, NetworkManager, ifupdown). */
    system?: (root: string) => { configs: DaemonConfig[]; notes: string[] };
  },
): { configs: DaemonConfig[]; notes: string[]; source: string } {
  const p = instancePaths(bond, root);
  if (existsSync(p.json)) {
    const raw = readConfigFile(p.json);
    if (raw.name !== undefined && raw.name !== bond)
      throw new BondError('EOPT_VALUE', `${p.json}: name '${String(raw.name)}' differs from the instance name '${bond}'`);
    raw.name = bond;
    return { configs: [buildConfig(raw)], notes: [], source: p.json };
  }
  const ifcfg = existsSync(join(p.ifcfgDir, `ifcfg-${bond}`)) ? readers.ifcfg(p.ifcfgDir).filter((b) => b.name === bond) : [];
  // read as one configuration, as modprobe does: an alias in one file, options in another
  const files = p.modprobe.filter((f) => existsSync(f));
  const modprobe = files.length
    ? readers.modprobe(files.map((f) => readFileSync(f, 'utf8')).join('\n'), files.join(' + ')).filter((b) => b.name === bond)
    : [];
  if (!ifcfg.length && !modprobe.length) {
    const sys = readers.system?.(root);
    const mine = sys?.configs.filter((c) => c.name === bond) ?? [];
    if (mine.length) return { configs: mine, notes: sys!.notes.filter((n) => n.includes(bond)), source: mine[0].source ?? root };
    throw new BondError(
      'EOPT_VALUE',
      `instance ${bond}: no configuration found; looked for ${p.json}, ${join(p.ifcfgDir, `ifcfg-${bond}`)} and "options ${bond} ..." in ${[p.modprobe[0], join(root, 'modprobe.d', '*.conf')].join(', ')}` +
        (readers.system ? ', and in the netplan, systemd-networkd, NetworkManager and ifupdown files there' : ''),
    );
  }
  const sources = [...(ifcfg.length ? [join(p.ifcfgDir, `ifcfg-${bond}`)] : []), ...(modprobe.length ? ['modprobe files'] : [])];
  return { ...buildFromSystemFiles(modprobe, ifcfg), source: sources.join(' + ') };
}
