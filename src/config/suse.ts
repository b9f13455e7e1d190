// Reads SUSE's network configuration (SLES, openSUSE; wicked and the older ifup):
// /etc/sysconfig/network/ifcfg-* and the routes files. A file with BONDING_MASTER=yes is a bond:
// its slaves in BONDING_SLAVE0.. (BONDING_SLAVE_0.. too), its options in BONDING_MODULE_OPTS,
// STARTMODE (auto, onboot, hotplug, nfsroot start it; manual, off, ifplugd do not), BOOTPROTO
// (static, dhcp, dhcp4, dhcp6, none), IPADDR with a prefix or NETMASK/PREFIXLEN (and the same
// with any suffix: IPADDR_1, IPADDR_x), LLADDR, MTU. A file with BRIDGE=yes whose BRIDGE_PORTS
// hold the bond is a bridge over it (BRIDGE_STP, BRIDGE_FORWARDDELAY, its own L3, other ports).
// Routes: /etc/sysconfig/network/routes (the gateway's interface found by subnet, or named) and
// ifroute-IF, lines "DESTINATION GATEWAY NETMASK INTERFACE [TYPE] [OPTIONS]", `-` for none.
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { emptyL3, type Cidr, type L3Decl } from '../host/l3.js';
import { parseOptionWords } from '../options/parse.js';
import { ipBytes, maskToPrefix, sameSubnet as sameSubnet4, sameSubnet6 } from '../util/mac.js';
import { fail, newDecl, parseCidr, setOption, type BondDecl, type ReadResult, type Where } from './decl.js';
import { shellVars } from './ifcfg.js';
import type { FileAccess } from './ifupdown.js';
import { newBridge, routeOf, vlanId } from './netdecl.js';

interface IfFile {
  name: string;
  path: string;
  v: Record<string, string>;
  at: (k: string) => Where;
}

const STARTS = ['auto', 'onboot', 'boot', 'hotplug', 'nfsroot'];
const STARTMODES = [...STARTS, 'manual', 'off', 'ifplugd'];

/** The suffixes of a variable family: IPADDR, IPADDR0, IPADDR_1, IPADDR_x. */
function suffixes(v: Record<string, string>, base: string): string[] {
  return Object.keys(v)
    .filter((k) => k === base || (k.startsWith(base) && /^(_?[A-Za-z0-9]+)$/.test(k.slice(base.length))))
    .map((k) => k.slice(base.length))
    .sort((a, b) => {
      // BONDING_SLAVE0, BONDING_SLAVE_1, BONDING_SLAVE2: by number, then by name
      const n = (x: string) => (/^_?\d+$/.test(x) ? Number(x.replace('_', '')) : Infinity);
      return n(a) - n(b) || a.localeCompare(b);
    });
}

function addresses(f: IfFile): Cidr[] {
  const out: Cidr[] = [];
  for (const sfx of suffixes(f.v, 'IPADDR')) {
    const text = f.v[`IPADDR${sfx}`];
    if (!text) continue;
    const where = f.at(`IPADDR${sfx}`);
    let prefix: number | undefined;
    if (!text.includes('/')) {
      const pl = f.v[`PREFIXLEN${sfx}`] ?? (sfx === '' ? undefined : f.v.PREFIXLEN);
      const nm = f.v[`NETMASK${sfx}`] ?? (sfx === '' ? undefined : f.v.NETMASK);
      if (pl !== undefined) prefix = Number(pl);
      else if (nm !== undefined) {
        prefix = maskToPrefix(nm);
        if (prefix === undefined) fail(f.at(`NETMASK${sfx}`), `NETMASK${sfx}: invalid netmask '${nm}'`);
      } else prefix = isIPv4(text) ? 32 : 128;
    }
    const c = parseCidr(text, where, prefix);
    out.push({ address: c.address, prefixlen: c.prefixlen });
  }
  return out;
}

function l3Of(f: IfFile): L3Decl {
  const l = emptyL3();
  const proto = (f.v.BOOTPROTO ?? 'static').toLowerCase().replace(/\+autoip$/, '');
  if (!['static', 'dhcp', 'dhcp4', 'dhcp6', 'none', 'autoip', 'ibft'].includes(proto))
    fail(f.at('BOOTPROTO'), `BOOTPROTO: invalid value '${f.v.BOOTPROTO}'; allowed: static, dhcp, dhcp4, dhcp6, none`);
  l.dhcp4 = proto === 'dhcp' || proto === 'dhcp4';
  l.dhcp6 = proto === 'dhcp' || proto === 'dhcp6';
  return l;
}

/** One routes file: DESTINATION GATEWAY NETMASK INTERFACE [TYPE] [OPTIONS]. */
export function parseSuseRoutes(text: string, path: string, defaultIf?: string) {
  const out: { ifname?: string; route: ReturnType<typeof routeOf> }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const where = `${path}:${i + 1}`;
    const w = line.split(/\s+/);
    const [dest, gw, mask, ifn, type, ...opts] = w;
    if (type !== undefined && type !== '-' && type !== 'unicast')
      fail(where, `route type '${type}' is not applied by bondd; allowed: unicast (or -)`);
    let to = dest;
    if (dest !== 'default' && !dest.includes('/') && mask && mask !== '-') {
      const p = /^\d+$/.test(mask) ? Number(mask) : maskToPrefix(mask);
      if (p === undefined) fail(where, `invalid netmask '${mask}'`);
      to = `${dest}/${p}`;
    }
    const o: { metric?: string; table?: string; onlink?: boolean } = {};
    for (let j = 0; j < opts.length; j++) {
      if (opts[j] === 'metric' || opts[j] === 'preference') o.metric = opts[++j];
      else if (opts[j] === 'table') o.table = opts[++j];
      else if (opts[j] === 'onlink') o.onlink = true;
      else fail(where, `route option '${opts[j]}' is not applied by bondd; allowed: metric, table, onlink`);
    }
    out.push({ ifname: ifn && ifn !== '-' ? ifn : defaultIf, route: routeOf(to, gw && gw !== '-' ? gw : undefined, o, where) });
  });
  return out;
}

/** The bonds of /etc/sysconfig/network (at `dir`). */
export function parseSuse(dir: string, fs: FileAccess): ReadResult {
  const warnings: string[] = [];
  const files: IfFile[] = fs
    .list(dir)
    .filter((f) => /^ifcfg-[^~]+$/.test(f) && !/\.(bak|orig|rpmnew|rpmsave|old)$/.test(f) && f !== 'ifcfg-lo' && f !== 'ifcfg.template')
    .map((f) => {
      const path = join(dir, f);
      const { vars, line } = shellVars(fs.read(path));
      return { name: f.slice('ifcfg-'.length), path, v: vars, at: (k: string) => `${path}:${line[k] ?? 1}` };
    });
  const bonds: BondDecl[] = [];
  for (const f of files) {
    if (!/^(yes|true|1)$/i.test(f.v.BONDING_MASTER ?? '')) continue;
    const b = newDecl(f.name, `SUSE ${f.path}`, `${f.path}:1`);
    const start = (f.v.STARTMODE ?? 'manual').toLowerCase();
    if (!STARTMODES.includes(start))
      fail(f.at('STARTMODE'), `STARTMODE: invalid value '${f.v.STARTMODE}'; allowed: ${STARTMODES.join(', ')}`);
    b.enabled = STARTS.includes(start);
    if (f.v.BONDING_MODULE_OPTS) {
      const where = f.at('BONDING_MODULE_OPTS');
      let opts: Record<string, string>;
      try {
        opts = parseOptionWords(f.v.BONDING_MODULE_OPTS.split(/\s+/).filter(Boolean));
      } catch (e) {
        fail(where, `BONDING_MODULE_OPTS: ${(e as Error).message}`);
      }
      for (const [k, v] of Object.entries(opts)) setOption(b, k, v, where);
    }
    for (const sfx of suffixes(f.v, 'BONDING_SLAVE')) {
      const s = f.v[`BONDING_SLAVE${sfx}`];
      if (s) b.slaves.push({ name: s, where: f.at(`BONDING_SLAVE${sfx}`), options: {} });
    }
    if (!b.slaves.length) warnings.push(`${f.path}: BONDING_MASTER=yes but no BONDING_SLAVE0=`);
    b.addresses.push(...addresses(f).map((a) => ({ ...a, where: f.at('IPADDR') })));
    if (f.v.MTU) b.mtu = { value: f.v.MTU, where: f.at('MTU') };
    if (f.v.LLADDR) b.mac = { value: f.v.LLADDR, where: f.at('LLADDR') };
    b.net.bond = l3Of(f);
    const br = files.find((x) => /^(yes|true|1)$/i.test(x.v.BRIDGE ?? '') && (x.v.BRIDGE_PORTS ?? '').split(/\s+/).includes(f.name));
    if (br) {
      const d = newBridge(br.name, `${br.path}:1`);
      if (br.v.BRIDGE_STP) d.stp = /^(on|yes|true|1)$/i.test(br.v.BRIDGE_STP);
      if (br.v.BRIDGE_FORWARDDELAY) {
        if (!/^\d+(\.\d+)?$/.test(br.v.BRIDGE_FORWARDDELAY))
          fail(br.at('BRIDGE_FORWARDDELAY'), `BRIDGE_FORWARDDELAY: invalid value '${br.v.BRIDGE_FORWARDDELAY}'; allowed: seconds`);
        d.forwardDelay = Number(br.v.BRIDGE_FORWARDDELAY);
      }
      if (br.v.MTU) d.mtu = Number(br.v.MTU);
      d.ports = br.v.BRIDGE_PORTS!.split(/\s+/).filter((p) => p && p !== f.name);
      d.l3 = { ...l3Of(br), addresses: addresses(br) };
      b.net.bridge = d;
    }
    bonds.push(b);
  }
  // VLANs over a bond: ETHERDEVICE= the bond, VLAN_ID= (or a name ending in the id)
  for (const f of files) {
    const b = bonds.find((x) => x.name === f.v.ETHERDEVICE);
    if (!b) continue;
    const id = f.v.VLAN_ID ?? /(\d+)$/.exec(f.name)?.[1];
    if (!id) fail(f.at('ETHERDEVICE'), `${f.name}: a VLAN on ${b.name} needs VLAN_ID=`);
    (b.net.vlans ??= []).push({ name: f.name, id: vlanId(id, f.at('VLAN_ID')), where: f.at('ETHERDEVICE') });
  }
  // routes: ifroute-IF for IF, and the global routes file (the gateway's subnet picks the interface)
  for (const b of bonds) {
    for (const target of [b.net.bridge ? b.net.bridge.name : null, b.name]) {
      if (!target) continue;
      const l = target === b.name ? b.net.bond : b.net.bridge!.l3;
      const addrs = target === b.name ? b.addresses : b.net.bridge!.l3.addresses;
      const own = `ifroute-${target}`;
      if (fs.list(dir).includes(own))
        l.routes.push(...parseSuseRoutes(fs.read(join(dir, own)), join(dir, own), target).map((r) => r.route));
      if (fs.list(dir).includes('routes')) {
        for (const r of parseSuseRoutes(fs.read(join(dir, 'routes')), join(dir, 'routes'))) {
          const mine = r.ifname === target || (!r.ifname && r.route.via !== undefined && addrs.some((a) => sameSubnet(a, r.route.via!)));
          if (mine) l.routes.push(r.route);
        }
      }
    }
  }
  return { bonds, warnings };
}

function sameSubnet(a: Cidr, ip: string): boolean {
  if (isIPv4(a.address) !== isIPv4(ip)) return false;
  return (isIPv4(ip) ? sameSubnet4 : sameSubnet6)(ipBytes(a.address), ipBytes(ip), a.prefixlen);
}
