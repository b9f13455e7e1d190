// `bondd --system`: every bond the host's own network configuration declares, in whichever
// formats it has: netplan, systemd-networkd, NetworkManager keyfiles, ifupdown, RHEL ifcfg
// and modprobe options. Also the single-format readers behind --netplan-dir, --networkd-dir,
// --nm-dir and --interfaces. Nothing here touches an interface.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BondError } from '../errors.js';
import { checkDecls, declToConfig, type BondDecl, type ReadResult } from './decl.js';
import { readIfcfgDir } from './ifcfg.js';
import { parseInterfaces, type FileAccess } from './ifupdown.js';
import { buildFromSystemFiles, type DaemonConfig } from './index.js';
import { parseModprobe } from './modprobe.js';
import { parseNetplan } from './netplan.js';
import { parseNetworkd } from './networkd.js';
import { parseNmKeyfiles } from './nmkeyfile.js';

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

export type Format = 'netplan' | 'networkd' | 'nm' | 'ifupdown';

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
  }
}

export interface Loaded {
  configs: DaemonConfig[];
  /** Warnings and notes, each with its file and line where there is one. */
  notes: string[];
  /** What was found, for the log: "netplan: bond0; ifcfg: bond1". */
  found: string[];
}

/** Bonds from declarations: those not started at boot are left out with a note. */
export function fromDecls(decls: BondDecl[], warnings: string[]): Loaded {
  checkDecls(decls);
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
    ifcfg: join(root, 'sysconfig', 'network-scripts'),
    modprobe: [
      join(root, 'modprobe.conf'),
      ...nodeFiles
        .list(join(root, 'modprobe.d'))
        .filter((f) => f.endsWith('.conf'))
        .map((f) => join(root, 'modprobe.d', f)),
    ],
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
  for (const f of ['netplan', 'networkd', 'nm', 'ifupdown'] as const) {
    if (!existsSync(p[f])) continue;
    const r = readFormat(f, p[f], interfaces);
    decls.push(...r.bonds);
    warnings.push(...r.warnings);
    if (r.bonds.length) found.push(`${f}: ${r.bonds.map((b) => b.name).join(', ')}`);
  }
  const fromNew = fromDecls(decls, warnings);
  const modprobeFiles = p.modprobe.filter((f) => existsSync(f));
  const modprobeText = modprobeFiles.map((f) => readFileSync(f, 'utf8')).join('\n');
  const modprobe = modprobeFiles.length ? parseModprobe(modprobeText, modprobeFiles.join(' + ')) : [];
  const ifcfg = existsSync(p.ifcfg) ? readIfcfgDir(p.ifcfg) : [];
  // modprobe options apply to the ifcfg bonds; on their own they start a bond only when they
  // name it (alias bondN bonding, options bondN ...), not the bond0 a bare `options bonding` makes
  const aliased = (n: string) =>
    new RegExp(`^\\s*alias\\s+${n.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&')}\\s+bonding\\b`, 'm').test(modprobeText);
  const named = modprobe.filter((m) => ifcfg.some((b) => b.name === m.name) || Object.keys(m.options).length > 0 || aliased(m.name));
  const old = ifcfg.length || named.length ? buildFromSystemFiles(named, ifcfg) : { configs: [], notes: [] };
  for (const c of old.configs)
    c.source ??= ifcfg.some((b) => b.name === c.name)
      ? `ifcfg ${join(p.ifcfg, `ifcfg-${c.name}`)}`
      : `modprobe ${modprobeFiles.join(' + ')}`;
  if (old.configs.length) found.push(`ifcfg/modprobe: ${old.configs.map((c) => c.name).join(', ')}`);
  const configs = [...fromNew.configs, ...old.configs];
  checkAcross(configs);
  return { configs, notes: [...fromNew.notes, ...old.notes], found };
}

/** The same bond, or the same NIC, in two formats. */
function checkAcross(configs: DaemonConfig[]): void {
  const names = new Map<string, DaemonConfig>();
  const slaves = new Map<string, DaemonConfig>();
  for (const c of configs) {
    const o = names.get(c.name);
    if (o) throw new BondError('EOPT_VALUE', `bond ${c.name} is declared twice: by ${o.source} and by ${c.source}; keep one`);
    names.set(c.name, c);
    for (const s of c.slaves) {
      const key = c.slaveMacs?.[s] ? `the interface with MAC ${c.slaveMacs[s]}` : s;
      const other = slaves.get(key);
      if (other)
        throw new BondError(
          'EOPT_VALUE',
          `${key} is claimed by bond ${other.name} (${other.source}) and by bond ${c.name} (${c.source}); a NIC can be the slave of one bond`,
        );
      slaves.set(key, c);
    }
  }
}

/** `bondd --print-config`: what would start, as JSON-ready data. */
export function describeConfigs(loaded: Loaded): unknown {
  return {
    bonds: loaded.configs.map((c) => ({
      name: c.name,
      source: c.source ?? 'command line',
      slaves: c.slaves.map((s) => ({ name: s, ...(c.slaveMacs?.[s] ? { mac: c.slaveMacs[s] } : {}) })),
      options: c.options,
      ...(c.slaveOptions?.length ? { slave_options: c.slaveOptions } : {}),
      addresses: (c.addresses ?? []).map((a) => `${a.address}/${a.prefixlen}`),
      ...(c.mtu !== undefined ? { mtu: c.mtu } : {}),
      ...(c.mac ? { mac: [...c.mac].map((b) => b.toString(16).padStart(2, '0')).join(':') } : {}),
      up: c.up,
    })),
    notes: loaded.notes,
  };
}
