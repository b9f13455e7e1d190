// Reads NetworkManager keyfiles (/etc/NetworkManager/system-connections/*.nmconnection): a
// profile with [connection] type=bond and [bond] keys (the kernel's option names) is a bond,
// its addresses from [ipv4]/[ipv6] address1=, address2=...; its ports are the ethernet profiles
// with controller= (or the older master=) naming the bond's interface or its UUID and
// port-type=bond (or slave-type=bond), by interface-name= or [ethernet] mac-address=, with
// [bond-port] prio= and queue-id=. autoconnect=false profiles are not started. Around the bond,
// from [ipv4]/[ipv6]: method= (auto, dhcp: a DHCP client; auto in ipv6: router advertisements),
// gateway= and the gateway after an address, routeN= with routeN_options=, route-metric=,
// route-table=, never-default=, dns=, dns-search=; and a type=bridge profile that the bond's
// controller= names with port-type=bridge ([bridge] stp=, forward-delay=; its ports likewise).
import { emptyL3, type L3Decl } from '../host/l3.js';
import { OPTION_BY_NAME } from '../options/table.js';
import { dnsSearch, dnsServers, metricOf, newBridge, routeOf, vlanId } from './netdecl.js';
import { fail, newDecl, parseBool, parseCidr, parseIni, setOption, type BondDecl, type IniSection, type ReadResult } from './decl.js';

interface Profile {
  file: string;
  secs: Map<string, Map<string, { value: string; line: number }>>;
}

function profile(file: string, text: string): Profile {
  const secs = new Map<string, Map<string, { value: string; line: number }>>();
  for (const s of parseIni(text, file, false) as IniSection[]) {
    const m = secs.get(s.name) ?? new Map();
    for (const e of s.entries) m.set(e.key, { value: e.value, line: e.line });
    secs.set(s.name, m);
  }
  return { file, secs };
}

const get = (p: Profile, sec: string, key: string) => p.secs.get(sec)?.get(key);
const where = (p: Profile, e?: { line: number }) => `${p.file}:${e?.line ?? 1}`;
// NetworkManager's long section names are aliases of the short ones
const section = (p: Profile, short: string, long: string) => p.secs.get(short) ?? p.secs.get(long);

/** A keyfile list: `a;b;` (or commas). */
const items = (v: string) =>
  v
    .split(/[;,]/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The L3 of a profile besides its addresses. */
function nmL3(p: Profile): L3Decl {
  const l = emptyL3();
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const sec = p.secs.get(fam);
    if (!sec) continue;
    const w = (k: string) => where(p, sec.get(k));
    const method = sec.get('method')?.value ?? (fam === 'ipv4' ? 'auto' : 'auto');
    const allowed =
      fam === 'ipv4'
        ? ['auto', 'manual', 'disabled', 'link-local', 'shared']
        : ['auto', 'dhcp', 'manual', 'ignore', 'disabled', 'link-local', 'shared'];
    if (!allowed.includes(method)) fail(w('method'), `[${fam}] method=: invalid value '${method}'; allowed: ${allowed.join(', ')}`);
    if (fam === 'ipv4') l.dhcp4 = method === 'auto' && sec.has('method');
    else {
      l.dhcp6 = method === 'dhcp';
      if (method === 'auto' && sec.has('method')) l.acceptRa = true;
      else if (method === 'ignore' || method === 'disabled' || method === 'manual') l.acceptRa = false;
    }
    const metric = sec.get('route-metric')?.value;
    const table = sec.get('route-table')?.value;
    const usable = (m: string | undefined) => (m === undefined || m === '-1' ? undefined : m);
    if (fam === 'ipv4' && l.dhcp4 && usable(metric)) l.dhcpMetric = metricOf(metric!, w('route-metric'));
    const neverDefault = sec.get('never-default');
    const noDefault = neverDefault && parseBool(neverDefault.value, where(p, neverDefault), 'never-default');
    const gws: { gw: string; at: string }[] = [];
    if (sec.get('gateway')) gws.push({ gw: sec.get('gateway')!.value, at: w('gateway') });
    for (const [k, e] of sec) {
      if (!/^address(es)?\d*$/.test(k)) continue;
      for (const item of e.value.split(';').filter(Boolean)) {
        const gw = item.split(',')[1]?.trim();
        if (gw && !gws.length) gws.push({ gw, at: where(p, e) });
      }
    }
    if (!noDefault && gws[0]) l.routes.push(routeOf('default', gws[0].gw, { metric: usable(metric), table }, gws[0].at));
    const routeKeys = [...sec.keys()]
      .filter((k) => /^routes?\d*$/.test(k))
      .sort((a, b) => Number(a.replace(/\D/g, '') || 0) - Number(b.replace(/\D/g, '') || 0));
    for (const k of routeKeys) {
      const e = sec.get(k)!;
      const opts = new Map(
        (sec.get(`${k}_options`)?.value ?? '')
          .split(',')
          .filter(Boolean)
          .map((kv) => kv.split('=').map((x) => x.trim()) as [string, string]),
      );
      for (const [ok] of opts)
        if (!['onlink', 'table'].includes(ok))
          fail(w(`${k}_options`), `${k}_options: '${ok}' is not applied by bondd; allowed: onlink, table`);
      for (const item of e.value.split(';').filter(Boolean)) {
        const [dest, hop, m] = item.split(',').map((x) => x.trim());
        l.routes.push(
          routeOf(
            dest,
            hop && hop !== '0.0.0.0' && hop !== '::' ? hop : undefined,
            {
              metric: m ?? usable(metric),
              onlink: opts.has('onlink') && parseBool(opts.get('onlink')!, w(`${k}_options`), 'onlink'),
              table: opts.get('table') ?? table,
            },
            where(p, e),
          ),
        );
      }
    }
    const dns = sec.get('dns');
    if (dns) l.dns.servers.push(...dnsServers(items(dns.value), where(p, dns)));
    const search = sec.get('dns-search');
    if (search) l.dns.search.push(...dnsSearch(items(search.value), where(p, search)));
  }
  return l;
}

function addresses(p: Profile, b: BondDecl): void {
  for (const fam of ['ipv4', 'ipv6']) {
    const sec = p.secs.get(fam);
    if (!sec) continue;
    const keys = [...sec.keys()]
      .filter((k) => /^address(es)?\d*$/.test(k))
      .sort((x, y) => Number(x.replace(/\D/g, '') || 0) - Number(y.replace(/\D/g, '') || 0));
    for (const k of keys) {
      const e = sec.get(k)!;
      // address1=198.18.0.1/24,198.18.0.254 (gateway after the comma); addresses=a;b; (old)
      for (const item of e.value.split(';').filter(Boolean)) {
        const cidr = item.split(',')[0].trim();
        b.addresses.push({ ...parseCidr(cidr, where(p, e), fam === 'ipv4' ? 32 : 128), where: where(p, e) });
      }
    }
  }
}

/** The bonds of keyfiles given as [path, text] pairs. */
export function parseNmKeyfiles(files: [string, string][]): ReadResult {
  const warnings: string[] = [];
  const profiles = files.map(([f, t]) => profile(f, t)).sort((a, b) => a.file.localeCompare(b.file));
  const bonds: { decl: BondDecl; uuid?: string; id?: string }[] = [];
  for (const p of profiles) {
    if (get(p, 'connection', 'type')?.value !== 'bond') continue;
    const ifname = get(p, 'connection', 'interface-name');
    const id = get(p, 'connection', 'id');
    const name = ifname?.value ?? id?.value;
    if (!name) fail(where(p), '[connection] type=bond without interface-name=');
    const b = newDecl(name, `NetworkManager ${p.file}`, where(p, ifname ?? id));
    const auto = get(p, 'connection', 'autoconnect');
    if (auto) b.enabled = parseBool(auto.value, where(p, auto), 'autoconnect');
    for (const [k, e] of p.secs.get('bond') ?? []) {
      if (k === 'options') {
        // very old keyfiles: options=mode=active-backup,miimon=100
        for (const kv of e.value.split(',')) {
          const [ok, ov] = kv.split('=');
          if (ok && ov !== undefined) setOption(b, ok.trim(), ov.trim(), where(p, e));
        }
      } else if (OPTION_BY_NAME.has(k)) setOption(b, k, e.value, where(p, e));
      else warnings.push(`${where(p, e)}: [bond] ${k}=: not a bonding option bondd knows, ignored`);
    }
    const eth = section(p, 'ethernet', '802-3-ethernet');
    const mac = eth?.get('cloned-mac-address');
    if (mac && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac.value)) b.mac = { value: mac.value, where: where(p, mac) };
    else if (mac) warnings.push(`${where(p, mac)}: cloned-mac-address=${mac.value}: only a fixed MAC is applied, ignored`);
    const mtu = eth?.get('mtu');
    if (mtu && mtu.value !== '0') b.mtu = { value: mtu.value, where: where(p, mtu) };
    addresses(p, b);
    b.net.bond = nmL3(p);
    bonds.push({ decl: b, uuid: get(p, 'connection', 'uuid')?.value, id: id?.value });
  }
  // VLANs over a bond: type=vlan profiles whose [vlan] parent= is the bond's name or uuid
  for (const p of profiles) {
    if (get(p, 'connection', 'type')?.value !== 'vlan') continue;
    const parent = get(p, 'vlan', 'parent');
    const bond = parent && bonds.find((b) => b.decl.name === parent.value || b.uuid === parent.value);
    if (!bond) continue;
    const id = get(p, 'vlan', 'id');
    if (!id) fail(where(p, parent), '[vlan] id= is missing');
    const vid = vlanId(id.value, where(p, id));
    const name = get(p, 'connection', 'interface-name')?.value ?? get(p, 'vlan', 'interface-name')?.value ?? `${bond.decl.name}.${vid}`;
    (bond.decl.net.vlans ??= []).push({ name, id: vid, where: where(p, parent) });
  }
  // a bridge over a bond: the bond's controller= names a type=bridge profile
  const bridges = profiles.filter((p) => get(p, 'connection', 'type')?.value === 'bridge');
  const controllerOf = (p: Profile) => get(p, 'connection', 'controller') ?? get(p, 'connection', 'master');
  const portType = (p: Profile) => (get(p, 'connection', 'port-type') ?? get(p, 'connection', 'slave-type'))?.value;
  const bridgeNamed = (v: string) =>
    bridges.find((br) => get(br, 'connection', 'interface-name')?.value === v || get(br, 'connection', 'uuid')?.value === v);
  for (const { decl } of bonds) {
    const p = profiles.find((x) => `NetworkManager ${x.file}` === decl.source)!;
    const ctl = controllerOf(p);
    if (!ctl || portType(p) !== 'bridge') continue;
    const br = bridgeNamed(ctl.value);
    if (!br) fail(where(p, ctl), `${ctl.value}: no type=bridge profile has that interface-name or uuid`);
    const brName = get(br, 'connection', 'interface-name')?.value ?? get(br, 'connection', 'id')?.value;
    if (!brName) fail(where(br), '[connection] type=bridge without interface-name=');
    const d = newBridge(brName, where(br, get(br, 'connection', 'interface-name')));
    const stp = get(br, 'bridge', 'stp');
    d.stp = stp ? parseBool(stp.value, where(br, stp), 'stp') : true; // NetworkManager's default
    const fd = get(br, 'bridge', 'forward-delay');
    if (fd) {
      if (!/^\d+$/.test(fd.value)) fail(where(br, fd), `forward-delay: invalid value '${fd.value}'; allowed: seconds`);
      d.forwardDelay = Number(fd.value);
    }
    const mtu = section(br, 'ethernet', '802-3-ethernet')?.get('mtu') ?? get(br, 'bridge', 'mtu');
    if (mtu && mtu.value !== '0') d.mtu = Number(mtu.value);
    const holder = newDecl(brName, '', '');
    addresses(br, holder);
    d.l3 = { ...nmL3(br), addresses: holder.addresses.map(({ address, prefixlen }) => ({ address, prefixlen })) };
    d.ports = profiles
      .filter((x) => x !== p && portType(x) === 'bridge' && bridgeNamed(controllerOf(x)?.value ?? '') === br)
      .map((x) => get(x, 'connection', 'interface-name')?.value)
      .filter((n): n is string => !!n);
    decl.net.bridge = d;
  }
  for (const p of profiles) {
    const ctlKey = get(p, 'connection', 'controller') ? 'controller' : 'master';
    const ctl = get(p, 'connection', ctlKey);
    if (!ctl) continue;
    const type = get(p, 'connection', 'port-type') ?? get(p, 'connection', 'slave-type');
    if (type && type.value !== 'bond') continue;
    const bond = bonds.find((b) => b.decl.name === ctl.value || b.uuid === ctl.value);
    if (!bond) {
      if (!type) continue; // a port of something else (a bridge, a team)
      fail(where(p, ctl), `${ctlKey}=${ctl.value}: no type=bond profile has that interface-name or uuid`);
    }
    const auto = get(p, 'connection', 'autoconnect');
    if (auto && !parseBool(auto.value, where(p, auto), 'autoconnect')) continue;
    const ifname = get(p, 'connection', 'interface-name');
    const mac = section(p, 'ethernet', '802-3-ethernet')?.get('mac-address');
    const name = ifname?.value ?? get(p, 'connection', 'id')?.value;
    if (!name && !mac) fail(where(p, ctl), 'a bond port needs interface-name= or [ethernet] mac-address=');
    const options: BondDecl['slaves'][number]['options'] = {};
    const bp = p.secs.get('bond-port');
    for (const [k, e] of bp ?? []) {
      const opt = { prio: 'prio', 'queue-id': 'queue_id' }[k];
      if (opt) options[opt] = { value: e.value, where: where(p, e) };
      else warnings.push(`${where(p, e)}: [bond-port] ${k}=: unknown key, ignored`);
    }
    bond.decl.slaves.push({ name: name ?? mac!.value, ...(mac ? { mac: mac.value } : {}), where: where(p, ctl), options });
  }
  return { bonds: bonds.map((b) => b.decl), warnings };
}
