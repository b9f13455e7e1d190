// `bondd --system`: every bond the host's own network configuration declares, in whichever
// formats it has: netplan, systemd-networkd, NetworkManager keyfiles, ifupdown, SUSE's
// sysconfig, RHEL ifcfg and modprobe options. Also the single-format readers behind --netplan-dir, --networkd-dir,
// --nm-dir and --interfaces. Nothing here touches an interface.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BondError } from '../errors.js';
import { checkClaims, declClaims, declToConfig, type BondDecl, type Claim, type ReadResult } from './decl.js';
import { readIfcfgDir } from './ifcfg.js';
import { parseInterfaces, type FileAccess } from './ifupdown.js';
import { buildFromSystemFiles, instancePaths, type DaemonConfig } from './index.js';
import { parseModprobe } from './modprobe.js';
import { parseNetplan } from './netplan.js';
import { parseNetworkd } from './networkd.js';
import { parseNmKeyfiles } from './nmkeyfile.js';
import { parseSuse } from './suse.js';
import { formatMac } from '../util/mac.js';
import { routeText, type HostNetDecl, type L3Decl } from '../host/l3.js';

export const nodeFiles: FileAccess = {
  read: (p) => readFileSync(p, 'utf8'),
  list: (d) => {
    try {
      return readdirSync(d)
        .filter((f) => statSync(join(d, f)).isFile())
        .sort();
    } catch {
      return [];
    }
  },
};

function filesIn(dir: string, re: RegExp): [string, string][] {
  return nodeFiles
    .list(dir)
    .filter((f) => re.test(f))
    .map((f) => [join(dir, f), readFileSync(join(dir, f), 'utf8')]);
}

/** Names of the interfaces in this network namespace (to resolve glob matches). */
export function interfaceNames(): string[] {
  try {
    return readdirSync('/sys/class/net').sort();
  } catch {
    return [];
  }
}

export type Format = 'netplan' | 'networkd' | 'nm' | 'ifupdown' | 'suse';

/** One format's reader over a directory (or, for ifupdown, the interfaces file). */
export function readFormat(format: Format, path: string, interfaces = interfaceNames()): ReadResult {
  if (!existsSync(path)) throw new BondError('EOPT_VALUE', `${path}: no such file or directory`);
  switch (format) {
    case 'netplan':
      return parseNetplan(filesIn(path, /\.ya?ml$/), interfaces);
    case 'networkd':
      return parseNetworkd(filesIn(path, /\.(netdev|network)$/), interfaces);
    case 'nm':
      return parseNmKeyfiles(filesIn(path, /\.nmconnection$/));
    case 'ifupdown':
      return parseInterfaces(path, nodeFiles);
    case 'suse':
      return parseSuse(path, nodeFiles);
  }
}

export interface Loaded {
  configs: DaemonConfig[];
  /** Warnings and notes, each with its file and line where there is one. */
  notes: string[];
  /** What was found, for the log: "netplan: bond0; ifcfg: bond1". */
  found: string[];
}

/**
 * Bonds from declarations: those not started at boot are left out with a note. `others`: bonds
 * from other sources, which the declarations must not repeat or take NICs from.
 */
export function fromDecls(decls: BondDecl[], warnings: string[], others: Claim[] = []): Loaded {
  checkClaims([...others, ...declClaims(decls)]); // an error then points at a line of the declarations
  const notes = [...warnings];
  const configs: DaemonConfig[] = [];
  for (const d of decls) {
    if (!d.enabled) {
      notes.push(`${d.where}: ${d.name} is not started at boot (no auto / autoconnect=false), not started`);
      continue;
    }
    const c = declToConfig(d);
    notes.push(...c.notes.map((n) => `${d.name}: ${n}`));
    configs.push(c);
  }
  return { configs, notes, found: [] };
}

/** Where each format lives under a root (default /etc). */
export function systemPaths(root = '/etc') {
  return {
    netplan: join(root, 'netplan'),
    networkd: join(root, 'systemd', 'network'),
    nm: join(root, 'NetworkManager', 'system-connections'),
    ifupdown: join(root, 'network', 'interfaces'),
    suse: join(root, 'sysconfig', 'network'),
    ifcfg: join(root, 'sysconfig', 'network-scripts'),
    modprobe: instancePaths('', root).modprobe,
  };
}

/**
 * Every bond the host declares, in every format it has. A bond declared in two formats, or a
 * NIC claimed by two bonds, is an error naming both places.
 */
export function loadSystem(root = '/etc', interfaces = interfaceNames()): Loaded {
  const p = systemPaths(root);
  const decls: BondDecl[] = [];
  const warnings: string[] = [];
  const found: string[] = [];
  for (const f of ['netplan', 'networkd', 'nm', 'ifupdown', 'suse'] as const) {
    if (!existsSync(p[f]) || (f === 'suse' && !nodeFiles.list(p.suse).some((x) => x.startsWith('ifcfg-')))) continue;
    const r = readFormat(f, p[f], interfaces);
    decls.push(...r.bonds);
    warnings.push(...r.warnings);
    if (r.bonds.length) found.push(`${f}: ${r.bonds.map((b) => b.name).join(', ')}`);
  }
  const modprobeFiles = p.modprobe.filter((f) => existsSync(f));
  const modprobe = modprobeFiles.length
    ? parseModprobe(modprobeFiles.map((f) => readFileSync(f, 'utf8')).join('\n'), modprobeFiles.join(' + '))
    : [];
  const ifcfg = existsSync(p.ifcfg) ? readIfcfgDir(p.ifcfg) : [];
  // modprobe options apply to the ifcfg bonds; on their own they start a bond only when they
  // name it (alias bondN bonding, options bondN ...), not the bond0 a bare `options bonding` makes
  const named = modprobe.filter((m) => m.named || ifcfg.some((b) => b.name === m.name));
  const old = ifcfg.length || named.length ? buildFromSystemFiles(named, ifcfg) : { configs: [], notes: [] };
  for (const c of old.configs)
    c.source ??= ifcfg.some((b) => b.name === c.name)
      ? `ifcfg ${join(p.ifcfg, `ifcfg-${c.name}`)}`
      : `modprobe ${modprobeFiles.join(' + ')}`;
  if (old.configs.length) found.push(`ifcfg/modprobe: ${old.configs.map((c) => c.name).join(', ')}`);
  const fromNew = fromDecls(decls, warnings, configClaims(old.configs));
  return { configs: [...fromNew.configs, ...old.configs], notes: [...fromNew.notes, ...old.notes], found };
}

/** What the ifcfg/modprobe bonds take, for the checks across formats. */
function configClaims(configs: DaemonConfig[]): Claim[] {
  return configs.map((c) => ({
    bond: c.name,
    where: c.source ?? c.name,
    slaves: c.slaves.map((s) => {
      const mac = c.slaveMacs?.[s];
      return { key: mac ? `mac ${mac}` : s, label: mac ? `the interface with MAC ${mac}` : s, where: c.source ?? c.name };
    }),
  }));
}

/** `bondd --print-config`: what would start, as JSON-ready data. */
export function describeConfigs(configs: DaemonConfig[]): unknown {
  return {
    bonds: configs.map((c) => ({
      name: c.name,
      source: c.source ?? 'command line',
      slaves: c.slaves.map((s) => ({ name: s, ...(c.slaveMacs?.[s] ? { mac: c.slaveMacs[s] } : {}) })),
      options: c.options,
      ...(c.slaveOptions?.length ? { slave_options: c.slaveOptions } : {}),
      addresses: (c.addresses ?? []).map((a) => `${a.address}/${a.prefixlen}`),
      ...(c.net ? { around: describeNet(c.net) } : {}),
      host_manager: peaceAdvice(c),
      ...(c.mtu !== undefined ? { mtu: c.mtu } : {}),
      ...(c.mac ? { mac: formatMac(c.mac) } : {}),
      up: c.up,
    })),
    notes: configs.flatMap((c) => c.notes.map((n) => `${c.name}: ${n}`)),
  };
}

/** What --print-config shows of the L3 and bridge around a bond. */
function describeNet(n: HostNetDecl): unknown {
  const l3 = (l: L3Decl) => ({
    ...(l.addresses.length ? { addresses: l.addresses.map((a) => `${a.address}/${a.prefixlen}`) } : {}),
    ...(l.routes.length ? { routes: l.routes.map(routeText) } : {}),
    ...(l.dhcp4 ? { dhcp4: true } : {}),
    ...(l.dhcp6 ? { dhcp6: true } : {}),
    ...(l.acceptRa !== undefined ? { accept_ra: l.acceptRa } : {}),
    ...(l.dns.servers.length ? { dns: l.dns.servers } : {}),
    ...(l.dns.search.length ? { search: l.dns.search } : {}),
  });
  return {
    ...l3(n.bond),
    ...(n.bridge
      ? {
          bridge: {
            name: n.bridge.name,
            ...(n.bridge.stp !== undefined ? { stp: n.bridge.stp } : {}),
            ...(n.bridge.forwardDelay !== undefined ? { forward_delay: n.bridge.forwardDelay } : {}),
            ...(n.bridge.mtu !== undefined ? { mtu: n.bridge.mtu } : {}),
            ports: n.bridge.ports,
            ...l3(n.bridge.l3),
          },
        }
      : {}),
    ...(n.vlans?.length ? { vlans: n.vlans.map((v) => `${v.name} (id ${v.id})`) } : {}),
  };
}

/**
 * What to set so that the host's network manager, reading the same files, leaves the bond, its
 * slaves and its bridge to bondd (docs/configs.md, "Living beside the host's network manager").
 */
export function peaceAdvice(c: DaemonConfig): Record<string, string> {
  const names = [c.name, ...c.slaves, ...(c.net?.bridge ? [c.net.bridge.name] : [])];
  const src = c.source ?? '';
  const nm = `/etc/NetworkManager/conf.d/tapbond.conf: [keyfile] unmanaged-devices=${names.map((n) => `interface-name:${n}`).join(';')}`;
  const networkd = `/etc/systemd/network/00-tapbond.network: [Match] Name=${names.join(' ')} [Link] Unmanaged=yes`;
  if (src.startsWith('NetworkManager')) return { NetworkManager: nm };
  if (src.startsWith('systemd-networkd')) return { 'systemd-networkd': networkd };
  if (src.startsWith('netplan')) return { 'systemd-networkd': networkd, NetworkManager: nm };
  if (src.startsWith('ifupdown'))
    return { ifupdown: `leave 'auto ${c.name}' out (or write 'allow-tapbond ${c.name}') so that ifup -a does not try to make the bond` };
  if (src.startsWith('SUSE'))
    return {
      wicked: `wicked reads /etc/sysconfig/network and fails at the bond: keep ifcfg-${c.name} and its bridge's file in a directory of their own and give it to bondd --suse-dir`,
    };
  if (src.startsWith('ifcfg'))
    return {
      NetworkManager: `NM_CONTROLLED=no in ifcfg-${c.name}, its slaves' files${c.net?.bridge ? ` and ifcfg-${c.net.bridge.name}` : ''} (NetworkManager's ifcfg-rh plugin reads them)`,
    };
  return {};
}
