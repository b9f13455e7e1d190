// Reads Debian ifupdown's /etc/network/interfaces (with `source` and `source-directory`
// includes, as ifupdown and ifupdown2 read them). A stanza `iface bond0 inet static|manual`
// with `bond-slaves` (or `bond-mode` and slaves that say `bond-master bond0`) is a bond; its
// `bond-*` lines are the kernel options with `-` for `_` (as ifenslave writes them to sysfs);
// `address`/`netmask` (inet and inet6), `mtu`, `hwaddress`; `auto`/`allow-hotplug` start it.
import { dirname, join } from 'node:path';
import { OPTION_BY_NAME } from '../options/table.js';
import { maskToPrefix } from './ifcfg.js';
import { fail, globToRe, newDecl, parseCidr, setOption, type BondDecl, type ReadResult, type Where } from './decl.js';

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
      else if (['gateway', 'dns-nameservers', 'dns-search', 'up', 'down', 'pre-up', 'post-up', 'pre-down', 'post-down'].includes(l.key))
        warnings.push(`${l.where}: ${l.key}: not applied by bondd (routes, DNS and hooks stay with ifupdown)`);
      else warnings.push(`${l.where}: ${l.key}: not read for a bond, ignored`);
    }
    if (s.method === 'dhcp') warnings.push(`${s.where}: inet dhcp: bondd does not run a DHCP client; run one on ${s.name}`);
    const v6 = s.family === 'inet6';
    for (const a of addrs) {
      const mask = netmask?.value;
      const prefix = a.value.includes('/') ? undefined : mask ? (/^\d+$/.test(mask) ? Number(mask) : maskToPrefix(mask)) : v6 ? 64 : 32;
      if (netmask && prefix === undefined && !a.value.includes('/'))
        fail(netmask.where, `netmask ${netmask.value}: not a netmask or prefix length`);
      b.addresses.push({ ...parseCidr(a.value, a.where, prefix), where: a.where });
    }
  }
  return { bonds: [...bonds.values()], warnings };
}
