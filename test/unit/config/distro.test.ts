// The distro readers against fixtures written from each format's documentation: the same four
// bonds in netplan, systemd-networkd, NetworkManager keyfiles and ifupdown come out as the same
// bonds; bad files give errors with file and line, and nothing else.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkClaims, declClaims, declToConfig, parseDuration, type BondDecl } from '../../../src/config/decl.js';
import { parseInterfaces } from '../../../src/config/ifupdown.js';
import { memFs } from '../../helpers/mem-fs.js';
import type { DaemonConfig } from '../../../src/config/index.js';
import { parseNetplan } from '../../../src/config/netplan.js';
import { parseNetworkd } from '../../../src/config/networkd.js';
import { parseNmKeyfiles } from '../../../src/config/nmkeyfile.js';
import { fromDecls } from '../../../src/config/system.js';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'distro');
const files = (sub: string): [string, string][] =>
  readdirSync(join(DIR, sub))
    .sort()
    .map((f) => [`${sub}/${f}`, readFileSync(join(DIR, sub, f), 'utf8')]);
const ifupdownFs = memFs({
  '/etc/network/interfaces': readFileSync(join(DIR, 'ifupdown', 'interfaces'), 'utf8'),
  '/etc/network/interfaces.d/bond2': readFileSync(join(DIR, 'ifupdown', 'interfaces.d', 'bond2'), 'utf8'),
});

const readers = {
  netplan: () => parseNetplan(files('netplan')),
  networkd: () => parseNetworkd(files('networkd')),
  nm: () => parseNmKeyfiles(files('nm')),
  ifupdown: () => parseInterfaces('/etc/network/interfaces', ifupdownFs),
};
const configs = (r: { bonds: BondDecl[] }) => Object.fromEntries(r.bonds.map((b) => [b.name, declToConfig(b)]));
const addrs = (c: DaemonConfig) => (c.addresses ?? []).map((a) => `${a.address}/${a.prefixlen}`).sort();
// options netplan has no key for
const NOT_IN_NETPLAN = ['ad_actor_sys_prio', 'ad_user_port_key', 'ad_actor_system', 'arp_missed_max'];
const comparable = (c: DaemonConfig, drop: string[] = []) =>
  Object.fromEntries(Object.entries(c.options).filter(([k]) => !drop.includes(k)));

describe('the same four bonds in four formats', () => {
  const all = Object.fromEntries(Object.entries(readers).map(([k, r]) => [k, configs(r())]));

  it('each format declares bond0..bond3', () => {
    for (const [format, c] of Object.entries(all))
      expect({ format, bonds: Object.keys(c).sort() }).toEqual({ format, bonds: ['bond0', 'bond1', 'bond2', 'bond3'] });
  });

  it('bond0: options (hash policy accepted in active-backup), slaves, addresses, MTU and MAC agree', () => {
    const ref = all.networkd.bond0;
    expect(ref.options).toMatchObject({
      mode: 'active-backup',
      miimon: 100,
      updelay: 200,
      downdelay: 200,
      primary: 'eno1',
      primary_reselect: 'better',
      fail_over_mac: 'active',
      num_grat_arp: 3,
      resend_igmp: 2,
      xmit_hash_policy: 'layer2+3',
      all_slaves_active: 'off',
    });
    for (const [format, c] of Object.entries(all)) {
      expect({ format, o: c.bond0.options }).toEqual({ format, o: ref.options });
      expect({ format, s: c.bond0.slaves }).toEqual({ format, s: ['eno1', 'eno2'] });
      expect({ format, a: addrs(c.bond0) }).toEqual({ format, a: ['198.18.0.1/24', '198.18.0.2/24', '2001:db8::1/64'] });
      expect({ format, mtu: c.bond0.mtu, mac: Buffer.from(c.bond0.mac!).toString('hex') }).toEqual({
        format,
        mtu: 9000,
        mac: '020000000b00',
      });
    }
    expect(all.nm.bond0.slaveOptions).toEqual([
      { slave: 'eno1', name: 'prio', value: 10 },
      { slave: 'eno1', name: 'queue_id', value: 0 },
    ]);
  });

  it('bond1 (802.3ad, ports by MAC where the format allows), bond2 (alb) and bond3 (ARP monitor) agree', () => {
    for (const [format, c] of Object.entries(all)) {
      const drop = format === 'netplan' || all.netplan === c ? NOT_IN_NETPLAN : [];
      for (const b of ['bond1', 'bond2', 'bond3'])
        expect({ format, b, o: comparable(c[b], NOT_IN_NETPLAN) }).toEqual({ format, b, o: comparable(all.networkd[b], NOT_IN_NETPLAN) });
      if (!drop.length) {
        expect(c.bond1.options).toMatchObject({ ad_actor_sys_prio: 1000, ad_user_port_key: 5, ad_actor_system: '02:00:00:00:0c:01' });
        expect(c.bond3.options.arp_missed_max).toBe(3);
      }
    }
    expect(all.networkd.bond1.options).toMatchObject({
      mode: '802.3ad',
      lacp_rate: 'fast',
      miimon: 1000,
      min_links: 1,
      xmit_hash_policy: 'layer3+4',
      ad_select: 'bandwidth',
    });
    expect(all.networkd.bond2.options).toMatchObject({ mode: 'balance-alb', lp_interval: 3, tlb_dynamic_lb: 'on' });
    expect(all.networkd.bond3.options).toMatchObject({
      mode: 'balance-rr',
      arp_interval: 250,
      arp_ip_target: ['198.18.3.254', '198.18.3.253'],
      arp_validate: 'all',
      arp_all_targets: 'all',
      packets_per_slave: 4,
      min_links: 2,
    });
    for (const format of ['netplan', 'networkd', 'nm'])
      expect({ format, macs: Object.values(all[format].bond1.slaveMacs ?? {}) }).toEqual({
        format,
        macs: ['02:00:00:00:0a:03', '02:00:00:00:0a:04'],
      });
    expect(all.ifupdown.bond1.slaves).toEqual(['eno3', 'eno4']);
  });

  it('warns about what it does not apply, with file and line; routes it applies are not warned about', () => {
    expect(readers.netplan().warnings).toEqual([]);
    expect(readers.nm().warnings).toEqual(['nm/bond3.nmconnection:14: [bond] balance-slb=: not a bonding option bondd knows, ignored']);
    expect(readers.ifupdown().warnings).toEqual([]);
    expect(readers.networkd().warnings).toEqual([]);
    // the same routes, read as each format writes them
    expect(all.netplan.bond3.net?.bond.routes).toEqual([
      { to: 'default', family: 4, via: '198.18.3.254', where: 'netplan/20-more.yaml:24' },
    ]);
    expect(all.ifupdown.bond0.net?.bond.routes).toEqual([
      { to: '198.18.9.0/24', family: 4, via: '198.18.0.254', where: '/etc/network/interfaces:26' },
    ]);
  });
});

describe('format details', () => {
  it('durations: systemd time spans (bare = seconds), netplan (bare = milliseconds)', () => {
    expect(parseDuration('100ms', 's', 'f:1', 'k')).toBe(100);
    expect(parseDuration('1min 30s', 's', 'f:1', 'k')).toBe(90000);
    expect(parseDuration('0.2', 's', 'f:1', 'k')).toBe(200);
    expect(parseDuration('150', 'ms', 'f:1', 'k')).toBe(150);
    expect(() => parseDuration('10 parsecs', 's', 'f:3', 'MIIMonitorSec=')).toThrow(/^f:3: MIIMonitorSec=: invalid duration '10 parsecs'/);
  });

  it('ifupdown: bonds without auto/allow-* are declared but not started', () => {
    const r = parseInterfaces('/i', memFs({ '/i': 'iface bond9 inet manual\n  bond-slaves e1 e2\n  bond-mode 1\n' }));
    const { configs, notes } = fromDecls(r.bonds, r.warnings);
    expect(configs).toEqual([]);
    expect(notes).toEqual(['/i:1: bond9 is not started at boot (no auto / autoconnect=false), not started']);
  });

  it('NetworkManager autoconnect=false profiles are not started; ports of other controllers are not ours', () => {
    const r = parseNmKeyfiles([
      ['a.nmconnection', '[connection]\ntype=bond\ninterface-name=bond4\nautoconnect=false\n[bond]\nmode=1\n'],
      ['b.nmconnection', '[connection]\ntype=ethernet\ninterface-name=e1\ncontroller=br0\nport-type=bridge\n'],
    ]);
    expect(r.bonds.map((b) => [b.name, b.enabled, b.slaves.length])).toEqual([['bond4', false, 0]]);
  });
});

describe('bad files: an error with file, line, key and what is allowed; nothing started', () => {
  const cfg = (r: { bonds: BondDecl[] }) => r.bonds.map(declToConfig);
  it('a bad value', () => {
    expect(() => cfg(parseNetworkd([['b.netdev', '[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=fastest\n']]))).toThrow(
      /^b\.netdev:5: mode: invalid value 'fastest'; allowed: balance-rr \(0\), active-backup \(1\)/,
    );
    expect(() =>
      cfg(
        parseNetplan([
          [
            'n.yaml',
            'network:\n  ethernets: {e1: {}}\n  bonds:\n    bond0:\n      interfaces: [e1]\n      parameters:\n        mode: active-backup\n        packets-per-member: 3\n',
          ],
        ]),
      ),
    ).toThrow(/^n\.yaml:8: packets_per_slave: not valid in mode active-backup \(1\); allowed in modes: balance-rr/);
    expect(() =>
      cfg(parseNmKeyfiles([['x.nmconnection', '[connection]\ntype=bond\ninterface-name=bond0\n[bond]\nmode=1\nmiimon=often\n']])),
    ).toThrow(/^x\.nmconnection:6: miimon: invalid value 'often'/);
    expect(() =>
      cfg(
        parseNmKeyfiles([
          ['x.nmconnection', '[connection]\ntype=bond\ninterface-name=bond0\n[bond]\nmode=1\n'],
          ['y.nmconnection', '[connection]\ntype=ethernet\ninterface-name=e1\ncontroller=bond0\nport-type=bond\n[bond-port]\nprio=high\n'],
        ]),
      ),
    ).toThrow(/^y\.nmconnection:7: prio: invalid value 'high'/);
    expect(() =>
      cfg(parseInterfaces('/i', memFs({ '/i': 'auto bond0\niface bond0 inet static\n address 198.18.0.300/24\n bond-slaves e1\n' }))),
    ).toThrow(/^\/i:3: invalid address '198\.18\.0\.300\/24'/);
  });

  it('unknown keys warn with file and line', () => {
    const r = parseNetworkd([['b.netdev', '[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=1\nTurboMode=yes\n']]);
    expect(r.warnings).toEqual(['b.netdev:6: [Bond] TurboMode=: unknown key, ignored']);
    const n = parseNetplan([
      ['n.yaml', 'network:\n  bonds:\n    bond0:\n      parameters:\n        mode: balance-rr\n        warp-speed: 9\n'],
    ]);
    expect(n.warnings).toEqual(['n.yaml:6: bonds.bond0.parameters.warp-speed: unknown netplan bond parameter, ignored']);
    const i = parseInterfaces('/i', memFs({ '/i': 'auto bond0\niface bond0 inet manual\n bond-slaves e1\n bond-warp 9\n' }));
    expect(i.warnings).toEqual(['/i:4: bond-warp: not a bonding option bondd knows, ignored']);
  });

  it('a port naming a missing bond', () => {
    expect(() => parseNetworkd([['e.network', '[Match]\nName=e1\n[Network]\nBond=bond7\n']])).toThrow(
      /^e\.network:4: Bond=bond7: no \.netdev file declares/,
    );
    expect(() =>
      parseNmKeyfiles([['p.nmconnection', '[connection]\ntype=ethernet\ninterface-name=e1\ncontroller=bond7\nport-type=bond\n']]),
    ).toThrow(/^p\.nmconnection:4: controller=bond7: no type=bond profile/);
    expect(() => parseInterfaces('/i', memFs({ '/i': 'iface e1 inet manual\n bond-master bond7\n' }))).toThrow(
      /^\/i:2: bond-master bond7: no iface stanza/,
    );
    expect(() => parseNetplan([['n.yaml', 'network:\n  bonds:\n    bond0:\n      interfaces: [e9]\n']])).toThrow(
      /^n\.yaml:4: bonds\.bond0\.interfaces: 'e9' is not declared under network\.ethernets/,
    );
  });

  it('two bonds claiming one NIC', () => {
    const r = parseInterfaces(
      '/i',
      memFs({ '/i': 'auto bond0 bond1\niface bond0 inet manual\n bond-slaves e1 e2\niface bond1 inet manual\n bond-slaves e2\n' }),
    );
    expect(() => checkClaims(declClaims(r.bonds))).toThrow(/^\/i:5: e2 is claimed by bond bond1 and by bond bond0 \(\/i:3\)/);
    const m = parseNetplan([
      [
        'n.yaml',
        'network:\n  ethernets:\n    a: {match: {macaddress: "02:00:00:00:00:01"}}\n    b: {match: {macaddress: "02:00:00:00:00:01"}}\n  bonds:\n    bond0: {interfaces: [a]}\n    bond1: {interfaces: [b]}\n',
      ],
    ]);
    expect(() => checkClaims(declClaims(m.bonds))).toThrow(
      /the interface with MAC 02:00:00:00:00:01 is claimed by bond bond1 and by bond bond0/,
    );
    // against a bond from another source (an ifcfg file): the same bond, or the same NIC
    const ifcfg = {
      bond: 'bond0',
      where: 'ifcfg /etc/sysconfig/network-scripts/ifcfg-bond0',
      slaves: [{ key: 'e1', label: 'e1', where: 'ifcfg-e1' }],
    };
    expect(() => fromDecls(r.bonds.slice(0, 1), [], [ifcfg])).toThrow(
      /^\/i:2: bond bond0 is also declared in ifcfg \/etc\/sysconfig\/network-scripts\/ifcfg-bond0; keep one/,
    );
    expect(() =>
      fromDecls(r.bonds.slice(1), [], [{ ...ifcfg, bond: 'bond7', slaves: [{ key: 'e2', label: 'e2', where: 'ifcfg-e2' }] }]),
    ).toThrow(/^\/i:5: e2 is claimed by bond bond1 and by bond bond7 \(ifcfg-e2\)/);
  });

  it('not YAML, not INI', () => {
    expect(() => parseNetplan([['n.yaml', 'network:\n  bonds: [\n']])).toThrow(/^n\.yaml:\d+: not valid YAML/);
    expect(() => parseNetworkd([['b.netdev', '[NetDev]\nthis is not a setting\n']])).toThrow(
      /^b\.netdev:2: expected \[Section\] or Key=value/,
    );
  });
});
