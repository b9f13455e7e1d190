// Reads NetworkManager keyfiles (/etc/NetworkManager/system-connections/*.nmconnection): a
// profile with [connection] type=bond and [bond] keys (the kernel's option names) is a bond,
// its addresses from [ipv4]/[ipv6] address1=, address2=...; its ports are the ethernet profiles
// with controller= (or the older master=) naming the bond's interface or its UUID and
// port-type=bond (or slave-type=bond), by interface-name= or [ethernet] mac-address=, with
// [bond-port] prio= and queue-id=. autoconnect=false profiles are not started.
import { OPTION_BY_NAME } from '../options/table.js';
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
    for (const fam of ['ipv4', 'ipv6']) {
      const m = get(p, fam, 'method');
      if (m && (m.value === 'auto' || m.value === 'dhcp'))
        warnings.push(`${where(p, m)}: [${fam}] method=${m.value}: bondd does not run a DHCP client; run one on ${name}`);
    }
    bonds.push({ decl: b, uuid: get(p, 'connection', 'uuid')?.value, id: id?.value });
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
