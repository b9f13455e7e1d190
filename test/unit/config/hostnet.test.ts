// What each format declares around a bond (gateways, routes, DHCP, router advertisements, DNS,
// a bridge over the bond with its own L3 and ports), read as each distribution documents it;
// bad values are refused naming the file and the line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { declToConfig, type BondDecl } from '../../../src/config/decl.js';
import { readIfcfgDir, readRouteFile } from '../../../src/config/ifcfg.js';
import { parseInterfaces } from '../../../src/config/ifupdown.js';
import { memFs } from '../../helpers/mem-fs.js';
import { buildConfig, buildFromSystemFiles, readConfigFile } from '../../../src/config/index.js';
import { parseNetplan } from '../../../src/config/netplan.js';
import { parseNetworkd } from '../../../src/config/networkd.js';
import { parseNmKeyfiles } from '../../../src/config/nmkeyfile.js';
import { parseSuse, parseSuseRoutes } from '../../../src/config/suse.js';
import { describeConfigs, loadSystem, peaceAdvice } from '../../../src/config/system.js';

const tmp = mkdtempSync(join(tmpdir(), 'tapbond-hostnet-cfg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function dir(name: string, files: Record<string, string>): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  for (const [f, t] of Object.entries(files)) writeFileSync(join(d, f), t);
  return d;
}
const only = (r: { bonds: BondDecl[] }) => r.bonds[0].net;

describe('RHEL ifcfg', () => {
  it('GATEWAY, METRIC, IPV6_DEFAULTGW, route-IF (both syntaxes), route6-IF, DNSn, DOMAIN, DHCP and RA', () => {
    const d = dir('rhel1', {
      'ifcfg-bond0':
        'DEVICE=bond0\nBONDING_OPTS="mode=1 miimon=100"\nIPADDR=198.18.0.1\nPREFIX=24\nGATEWAY=198.18.0.254\nMETRIC=10\nIPV6ADDR=2001:db8::1/64\nIPV6_DEFAULTGW=2001:db8::fe%bond0\n' +
        'DNS1=198.18.0.2\nDNS2=2001:db8::2\nDOMAIN="lab.example example.org"\nIPV6_AUTOCONF=no\n',
      'route-bond0': '# to the lab\n198.19.7.0/24 via 198.18.0.253 metric 50\n198.19.8.1 via 198.18.0.253 table 100 onlink\n',
      'route6-bond0': '2001:db8:9::/48 via 2001:db8::fd\n',
    });
    const [b] = readIfcfgDir(d);
    expect(b.net.bond.routes.map((r) => [r.to, r.via, r.metric, r.table, r.onlink, r.where])).toEqual([
      ['default', '198.18.0.254', 10, undefined, undefined, `${d}/ifcfg-bond0:5`],
      ['default', '2001:db8::fe', 10, undefined, undefined, `${d}/ifcfg-bond0:8`],
      ['198.19.7.0/24', '198.18.0.253', 50, undefined, undefined, `${d}/route-bond0:2`],
      ['198.19.8.1/32', '198.18.0.253', undefined, 100, true, `${d}/route-bond0:3`],
      ['2001:db8:9::/48', '2001:db8::fd', undefined, undefined, undefined, `${d}/route6-bond0:1`],
    ]);
    expect(b.net.bond.dns).toEqual({ servers: ['198.18.0.2', '2001:db8::2'], search: ['lab.example', 'example.org'] });
    expect(b.net.bond).toMatchObject({ dhcp4: false, dhcp6: false, acceptRa: false });
    const cfg = buildFromSystemFiles([], [b]).configs[0];
    expect(cfg.net?.bond.routes).toHaveLength(5);
  });

  it('the older ADDRESSn/NETMASKn/GATEWAYn route file; DEFROUTE=no keeps GATEWAY out of the default route', () => {
    expect(readRouteFile('ADDRESS0=198.19.7.0\nNETMASK0=255.255.255.0\nGATEWAY0=198.18.0.253\nMETRIC0=5\n', 'r', 'bond0', 4)).toEqual([
      { to: '198.19.7.0/24', family: 4, via: '198.18.0.253', metric: 5, where: 'r:1' },
    ]);
    const d = dir('rhel2', {
      'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\nBOOTPROTO=dhcp\nDHCPV6C=yes\nGATEWAY=198.18.0.254\nDEFROUTE=no\n',
    });
    expect(readIfcfgDir(d)[0].net.bond).toMatchObject({ dhcp4: true, dhcp6: true, routes: [] });
  });

  it('BRIDGE= names a TYPE=Bridge file: its STP, DELAY, MTU, L3 and other ports', () => {
    const d = dir('rhel3', {
      'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=4\nBRIDGE=br0\n',
      'ifcfg-br0': 'DEVICE=br0\nTYPE=Bridge\nSTP=off\nDELAY=2\nMTU=9000\nIPADDR=198.18.0.1\nNETMASK=255.255.255.0\nGATEWAY=198.18.0.254\n',
      'ifcfg-vnet0': 'DEVICE=vnet0\nBRIDGE=br0\n',
    });
    expect(readIfcfgDir(d)[0].net.bridge).toMatchObject({
      name: 'br0',
      stp: false,
      forwardDelay: 2,
      mtu: 9000,
      ports: ['vnet0'],
      l3: { addresses: [{ address: '198.18.0.1', prefixlen: 24 }], routes: [{ to: 'default', via: '198.18.0.254' }] },
    });
  });

  it('bad values: the file and the line', () => {
    const bad = (files: Record<string, string>, re: RegExp) => expect(() => readIfcfgDir(dir(`bad${Math.random()}`, files))).toThrow(re);
    bad({ 'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\nGATEWAY=198.18.0.300\n' }, /ifcfg-bond0:3: invalid gateway '198.18.0.300'/);
    bad(
      { 'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\nBOOTPROTO=magic\n' },
      /ifcfg-bond0:3: BOOTPROTO: invalid value 'magic'; allowed: none, static, dhcp, bootp/,
    );
    bad({ 'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\nDNS1=resolver\n' }, /ifcfg-bond0:3: invalid DNS server 'resolver'/);
    bad(
      { 'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\nBRIDGE=br9\n' },
      /ifcfg-bond0:3: BRIDGE=br9: no ifcfg file here describes that bridge/,
    );
    bad(
      { 'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\n', 'route-bond0': '\n198.19.0.0/16 via 198.18.0.1 realm 4\n' },
      /route-bond0:2: 'realm' is not a route option bondd applies/,
    );
    bad(
      { 'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\n', 'route-bond0': '2001:db8::/32 via 2001:db8::1\n' },
      /route-bond0:1: 2001:db8::\/32: an IPv6 route in route-bond0/,
    );
    bad(
      { 'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\n', 'route-bond0': '198.19.0.0/16 via 2001:db8::1\n' },
      /route-bond0:1: route 198.19.0.0\/16 via 2001:db8::1: the destination and the gateway are of different IP families/,
    );
  });
});

describe('SUSE (wicked)', () => {
  const files = {
    '/n/ifcfg-bond0':
      "STARTMODE='auto'\nBOOTPROTO='static'\nIPADDR='198.18.0.1/24'\nIPADDR_second='198.18.1.1'\nNETMASK_second='255.255.255.0'\nIPADDR_v6='2001:db8::1/64'\n" +
      "BONDING_MASTER='yes'\nBONDING_SLAVE0='eth0'\nBONDING_SLAVE_1='eth1'\nBONDING_SLAVE2='eth2'\nBONDING_MODULE_OPTS='mode=active-backup miimon=100 primary=eth1'\nMTU='9000'\nLLADDR='02:00:00:00:05:01'\n",
    '/n/ifcfg-eth0': "STARTMODE='hotplug'\nBOOTPROTO='none'\n",
    '/n/ifcfg-bond1': "STARTMODE='manual'\nBOOTPROTO='dhcp'\nBONDING_MASTER='yes'\nBONDING_SLAVE0='eth5'\nBONDING_MODULE_OPTS='mode=4'\n",
    '/n/routes': 'default 198.18.0.254 - -\n198.19.9.0 198.18.1.253 255.255.255.0 -\n203.0.113.0/24 192.0.2.1 - -\n',
    '/n/ifroute-bond0': '198.19.7.0/24 198.18.0.253 - - - metric 50\n2001:db8:9::/48 2001:db8::fd - bond0\n',
  };
  const r = parseSuse('/n', memFs(files));
  it('slaves in both spellings, module options, addresses with any suffix, MTU, LLADDR, STARTMODE', () => {
    const [b0, b1] = r.bonds;
    expect(b0.slaves.map((s) => s.name)).toEqual(['eth0', 'eth1', 'eth2']);
    expect(b0.options.mode.value).toBe('active-backup');
    expect(b0.options.primary).toEqual({ value: 'eth1', where: '/n/ifcfg-bond0:11' });
    expect(b0.addresses.map((a) => `${a.address}/${a.prefixlen}`)).toEqual(['198.18.0.1/24', '198.18.1.1/24', '2001:db8::1/64']);
    expect([b0.mtu?.value, b0.mac?.value, b0.enabled]).toEqual(['9000', '02:00:00:00:05:01', true]);
    expect([b1.name, b1.enabled, b1.net.bond.dhcp4, b1.net.bond.dhcp6]).toEqual(['bond1', false, true, true]);
  });
  it('routes: ifroute-IF, and the global file by the gateway subnet (not a route to someone else)', () => {
    expect(r.bonds[0].net.bond.routes.map((x) => `${x.to} ${x.via} ${x.metric ?? '-'}`)).toEqual([
      '198.19.7.0/24 198.18.0.253 50',
      '2001:db8:9::/48 2001:db8::fd -',
      'default 198.18.0.254 -',
      '198.19.9.0/24 198.18.1.253 -',
    ]);
    expect(() => parseSuseRoutes('10.0.0.0/8 - - bond0 blackhole\n', '/n/routes')).toThrow(
      /\/n\/routes:1: route type 'blackhole' is not applied by bondd/,
    );
  });
  it('a bridge: BRIDGE=yes, BRIDGE_PORTS with the bond, STP, forward delay, its own L3', () => {
    const b = parseSuse(
      '/m',
      memFs({
        '/m/ifcfg-bond0': "STARTMODE='auto'\nBOOTPROTO='none'\nBONDING_MASTER='yes'\nBONDING_SLAVE0='eth0'\nBONDING_MODULE_OPTS='mode=1'\n",
        '/m/ifcfg-br0':
          "STARTMODE='auto'\nBOOTPROTO='dhcp4'\nBRIDGE='yes'\nBRIDGE_PORTS='bond0 vnet0'\nBRIDGE_STP='off'\nBRIDGE_FORWARDDELAY='0'\n",
      }),
    ).bonds[0];
    expect(b.net.bridge).toMatchObject({ name: 'br0', stp: false, forwardDelay: 0, ports: ['vnet0'], l3: { dhcp4: true, dhcp6: false } });
  });
  it('bad values: the file and the line', () => {
    expect(() => parseSuse('/x', memFs({ '/x/ifcfg-bond0': "BONDING_MASTER='yes'\nSTARTMODE='sometimes'\n" }))).toThrow(
      /\/x\/ifcfg-bond0:2: STARTMODE: invalid value 'sometimes'; allowed: auto, onboot/,
    );
    expect(() =>
      parseSuse('/x', memFs({ '/x/ifcfg-bond0': "BONDING_MASTER='yes'\nBONDING_MODULE_OPTS='mode=fastest'\n" })).bonds.map(declToConfig),
    ).toThrow(/\/x\/ifcfg-bond0:2: mode: invalid value .fastest./);
    expect(() =>
      parseSuse('/x', memFs({ '/x/ifcfg-bond0': "BONDING_MASTER='yes'\nIPADDR='198.18.0.1'\nNETMASK='255.0.255.0'\n" })),
    ).toThrow(/\/x\/ifcfg-bond0:3: NETMASK: invalid netmask/);
  });
  it('bondd --system reads /etc/sysconfig/network', () => {
    const root = dir('suse-root', {});
    mkdirSync(join(root, 'sysconfig', 'network'), { recursive: true });
    writeFileSync(
      join(root, 'sysconfig', 'network', 'ifcfg-bond7'),
      "STARTMODE='auto'\nBONDING_MASTER='yes'\nBONDING_SLAVE0='eth7'\nBONDING_MODULE_OPTS='mode=1'\n",
    );
    const l = loadSystem(root, []);
    expect(l.found).toEqual(['suse: bond7']);
    expect(l.configs.map((c) => [c.name, c.slaves, c.source])).toEqual([
      ['bond7', ['eth7'], `SUSE ${join(root, 'sysconfig', 'network', 'ifcfg-bond7')}`],
    ]);
  });
});

describe('netplan', () => {
  const y = (bond: string, rest = '') =>
    parseNetplan([
      [
        '/etc/netplan/50.yaml',
        `network:\n  ethernets:\n    e1: {}\n    vg0: {}\n  bonds:\n    bond0:\n      interfaces: [e1]\n${bond}${rest}`,
      ],
    ]);
  it('routes (to, via, metric, on-link, table), gateway4/6, dhcp4/6, accept-ra, nameservers', () => {
    const n = only(
      y(
        '      routes:\n        - to: default\n          via: 198.18.0.254\n          metric: 100\n        - to: 198.19.0.0/16\n          via: 198.18.0.9\n          on-link: true\n          table: 7\n' +
          '      gateway6: 2001:db8::fe\n      dhcp4: yes\n      dhcp6: false\n      accept-ra: false\n      nameservers:\n        addresses: [198.18.0.2, "2001:db8::2"]\n        search: [lab.example]\n',
      ),
    );
    expect(n.bond.routes.map((r) => [r.to, r.via, r.metric, r.onlink, r.table, r.where])).toEqual([
      ['default', '198.18.0.254', 100, undefined, undefined, '/etc/netplan/50.yaml:9'],
      ['198.19.0.0/16', '198.18.0.9', undefined, true, 7, '/etc/netplan/50.yaml:12'],
      ['default', '2001:db8::fe', undefined, undefined, undefined, '/etc/netplan/50.yaml:16'],
    ]);
    expect(n.bond).toMatchObject({
      dhcp4: true,
      dhcp6: false,
      acceptRa: false,
      dns: { servers: ['198.18.0.2', '2001:db8::2'], search: ['lab.example'] },
    });
  });
  it('bridges: the bond in interfaces, parameters, mtu, L3 and the other interfaces as ports', () => {
    const n = only(
      y(
        '',
        '  bridges:\n    br0:\n      interfaces: [bond0, vg0]\n      mtu: 9000\n      addresses: [198.18.0.1/24]\n      gateway4: 198.18.0.254\n      parameters:\n        stp: false\n        forward-delay: 4\n        priority: 10\n',
      ),
    );
    expect(n.bridge).toMatchObject({
      name: 'br0',
      mtu: 9000,
      stp: false,
      forwardDelay: 4,
      ports: ['vg0'],
      l3: { addresses: [{ address: '198.18.0.1', prefixlen: 24 }], routes: [{ via: '198.18.0.254' }] },
    });
    expect(y('', '  bridges:\n    br0:\n      interfaces: [bond0]\n      parameters:\n        priority: 10\n').warnings).toEqual([
      '/etc/netplan/50.yaml:12: bridges.br0.parameters.priority: not applied by bondd (set it on br0 yourself), ignored',
    ]);
  });
  it('bad values: the file and the line', () => {
    expect(() => y('      routes:\n        - via: 198.18.0.254\n')).toThrow(/50.yaml:9: bonds.bond0.routes: a route needs "to"/);
    expect(() => y('      routes:\n        - to: default\n          via: 198.18.0.254\n          scope: link\n')).toThrow(
      /50.yaml:11: bonds.bond0.routes.scope: not applied by bondd/,
    );
    expect(() => y('      gateway4: gw\n')).toThrow(/50.yaml:8: invalid gateway 'gw'/);
    expect(() => y('      nameservers:\n        addresses: [one]\n')).toThrow(/50.yaml:9: invalid DNS server 'one'/);
    expect(() => y('      dhcp4: sometimes\n')).toThrow(/50.yaml:8: bonds.bond0.dhcp4: invalid value 'sometimes'/);
  });
});

describe('systemd-networkd', () => {
  const base: [string, string][] = [
    ['/n/10-bond0.netdev', '[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=active-backup\n'],
    ['/n/20-e1.network', '[Match]\nName=e1\n[Network]\nBond=bond0\n'],
  ];
  it('Gateway=, [Route] (Destination, Gateway, Metric, GatewayOnLink, Table), DHCP=, IPv6AcceptRA=, DNS=, Domains=, [DHCPv4] RouteMetric=', () => {
    const n = only(
      parseNetworkd([
        ...base,
        [
          '/n/30-bond0.network',
          '[Match]\nName=bond0\n[Network]\nGateway=198.18.0.254\nDHCP=ipv6\nIPv6AcceptRA=yes\nDNS=198.18.0.2 2001:db8::2\nDomains=lab.example ~corp.example\n' +
            '[Route]\nDestination=198.19.0.0/16\nGateway=198.18.0.9\nMetric=30\nGatewayOnLink=yes\nTable=7\n[DHCPv4]\nRouteMetric=15\n',
        ],
      ]),
    );
    expect(n.bond.routes.map((r) => [r.to, r.via, r.metric, r.onlink, r.table, r.where])).toEqual([
      ['default', '198.18.0.254', undefined, undefined, undefined, '/n/30-bond0.network:4'],
      ['198.19.0.0/16', '198.18.0.9', 30, true, 7, '/n/30-bond0.network:11'],
    ]);
    expect(n.bond).toMatchObject({
      dhcp4: false,
      dhcp6: true,
      acceptRa: true,
      dhcpMetric: 15,
      dns: { servers: ['198.18.0.2', '2001:db8::2'], search: ['lab.example', 'corp.example'] },
    });
  });
  it('Bridge= names a Kind=bridge .netdev: STP, ForwardDelaySec, MTUBytes, its .network, its other ports', () => {
    const n = only(
      parseNetworkd([
        ...base,
        ['/n/05-br0.netdev', '[NetDev]\nName=br0\nKind=bridge\nMTUBytes=9000\n[Bridge]\nSTP=no\nForwardDelaySec=2s\n'],
        ['/n/30-bond0.network', '[Match]\nName=bond0\n[Network]\nBridge=br0\n'],
        ['/n/31-vg.network', '[Match]\nName=vg0 vg1\n[Network]\nBridge=br0\n'],
        ['/n/40-br0.network', '[Match]\nName=br0\n[Network]\nAddress=198.18.0.1/24\nGateway=198.18.0.254\n'],
      ]),
    );
    expect(n.bridge).toMatchObject({
      name: 'br0',
      stp: false,
      forwardDelay: 2,
      mtu: 9000,
      ports: ['vg0', 'vg1'],
      l3: { addresses: [{ address: '198.18.0.1' }], routes: [{ via: '198.18.0.254' }] },
    });
  });
  it("a .network file with [Link] Unmanaged=yes (what keeps networkd away) is not the bond's file", () => {
    const r = parseNetworkd([
      ...base,
      ['/n/00-tapbond.network', '[Match]\nName=bond0 e1\n[Link]\nUnmanaged=yes\n'],
      ['/n/30-bond0.network', '[Match]\nName=bond0\n[Network]\nAddress=198.18.0.1/24\nGateway=198.18.0.254\n'],
    ]);
    expect(r.bonds[0].addresses.map((a) => a.address)).toEqual(['198.18.0.1']);
    expect(r.bonds[0].slaves.map((x) => x.name)).toEqual(['e1']);
    expect(r.bonds[0].net.bond.routes).toHaveLength(1);
  });
  it('bad values: the file and the line', () => {
    const net = (t: string) => () => parseNetworkd([...base, ['/n/30-bond0.network', `[Match]\nName=bond0\n${t}`]]);
    expect(net('[Network]\nDHCP=sometimes\n')).toThrow(
      /30-bond0.network:4: DHCP=: invalid value 'sometimes'; allowed: yes, no, ipv4, ipv6/,
    );
    expect(net('[Route]\nGateway=198.18.0.9\nScope=link\n')).toThrow(/30-bond0.network:5: \[Route\] Scope=: not applied by bondd/);
    expect(net('[Route]\nMetric=4\n')).toThrow(/30-bond0.network:3: \[Route\] needs Gateway= or Destination=/);
    expect(net('[Network]\nBridge=br9\n')).toThrow(/30-bond0.network:4: Bridge=br9: no .netdev file declares a bridge of that name/);
  });
});

describe('NetworkManager keyfiles', () => {
  const bond = (ip: string, extra = '') =>
    parseNmKeyfiles([
      [
        '/nm/bond0.nmconnection',
        `[connection]\nid=bond0\nuuid=11111111-2222-3333-4444-555555555555\ntype=bond\ninterface-name=bond0\n${extra}[bond]\nmode=1\n${ip}`,
      ],
      ['/nm/e1.nmconnection', '[connection]\nid=e1\ntype=ethernet\ninterface-name=e1\ncontroller=bond0\nport-type=bond\n'],
    ]);
  it('manual with gateway=, routeN= and routeN_options=, route-metric=, dns=, dns-search=; ipv6 auto is router advertisements', () => {
    const n = only(
      bond(
        '[ipv4]\nmethod=manual\naddress1=198.18.0.1/24\ngateway=198.18.0.254\nroute-metric=50\nroute1=198.19.0.0/16,198.18.0.9\nroute1_options=onlink=true,table=7\nroute2=198.20.0.0/16,198.18.0.8,5\ndns=198.18.0.2;198.18.0.3;\ndns-search=lab.example;\n' +
          '[ipv6]\nmethod=auto\n',
      ),
    );
    expect(n.bond.routes.map((r) => [r.to, r.via, r.metric, r.onlink, r.table])).toEqual([
      ['default', '198.18.0.254', 50, undefined, undefined],
      ['198.19.0.0/16', '198.18.0.9', 50, true, 7],
      ['198.20.0.0/16', '198.18.0.8', 5, undefined, undefined],
    ]);
    expect(n.bond).toMatchObject({
      dhcp4: false,
      dhcp6: false,
      acceptRa: true,
      dns: { servers: ['198.18.0.2', '198.18.0.3'], search: ['lab.example'] },
    });
  });
  it('the gateway after an address; never-default=true keeps it out; method=auto is DHCP, ipv6 dhcp is DHCPv6', () => {
    expect(only(bond('[ipv4]\nmethod=manual\naddress1=198.18.0.1/24,198.18.0.254\n')).bond.routes).toMatchObject([
      { to: 'default', via: '198.18.0.254' },
    ]);
    expect(only(bond('[ipv4]\nmethod=manual\naddress1=198.18.0.1/24,198.18.0.254\nnever-default=true\n')).bond.routes).toEqual([]);
    expect(only(bond('[ipv4]\nmethod=auto\nroute-metric=20\n[ipv6]\nmethod=dhcp\n')).bond).toMatchObject({
      dhcp4: true,
      dhcp6: true,
      dhcpMetric: 20,
    });
  });
  it('a type=bridge profile the bond names with controller= and port-type=bridge, and its other ports', () => {
    const r = parseNmKeyfiles([
      [
        '/nm/bond0.nmconnection',
        '[connection]\nid=bond0\ntype=bond\ninterface-name=bond0\ncontroller=br0\nport-type=bridge\n[bond]\nmode=1\n',
      ],
      [
        '/nm/br0.nmconnection',
        '[connection]\nid=br0\nuuid=99999999-2222-3333-4444-555555555555\ntype=bridge\ninterface-name=br0\n[bridge]\nstp=false\nforward-delay=3\n[ipv4]\nmethod=manual\naddress1=198.18.0.1/24,198.18.0.254\n',
      ],
      [
        '/nm/vnet0.nmconnection',
        '[connection]\nid=vnet0\ntype=ethernet\ninterface-name=vnet0\nmaster=99999999-2222-3333-4444-555555555555\nslave-type=bridge\n',
      ],
    ]);
    expect(only(r).bridge).toMatchObject({
      name: 'br0',
      stp: false,
      forwardDelay: 3,
      ports: ['vnet0'],
      l3: { addresses: [{ address: '198.18.0.1', prefixlen: 24 }], routes: [{ via: '198.18.0.254' }] },
    });
  });
  it('bad values: the file and the line', () => {
    expect(() => bond('[ipv4]\nmethod=magic\n')).toThrow(/bond0.nmconnection:9: \[ipv4\] method=: invalid value 'magic'/);
    expect(() => bond('[ipv4]\nmethod=manual\nroute1=198.19.0.0/16,gw\n')).toThrow(/bond0.nmconnection:10: invalid gateway 'gw'/);
    expect(() => bond('[ipv4]\nmethod=manual\nroute1=198.19.0.0/16\nroute1_options=mtu=1400\n')).toThrow(
      /bond0.nmconnection:11: route1_options: 'mtu' is not applied by bondd/,
    );
    expect(() => bond('', 'controller=br9\nport-type=bridge\n')).toThrow(/bond0.nmconnection:6: br9: no type=bridge profile/);
  });
});

describe('ifupdown', () => {
  const read = (t: string) => parseInterfaces('/i', memFs({ '/i': t }));
  const BOND = 'auto bond0\niface bond0 inet static\n  bond-slaves e1 e2\n  bond-mode 1\n';
  it('gateway with metric, dns-*, ip route hooks as routes, inet6 auto/dhcp; other hooks reported', () => {
    const r = read(
      `${BOND}  address 198.18.0.1/24\n  gateway 198.18.0.254\n  metric 20\n  dns-nameservers 198.18.0.2\n  dns-search lab.example\n  up ip route add 198.19.0.0/16 via 198.18.0.9 dev bond0 metric 5 onlink\n` +
        '  post-up /sbin/ip -4 route replace 198.20.0.0/16 via 198.18.0.8 table 7\n  down ip route del 198.19.0.0/16\n  up echo hello\niface bond0 inet6 dhcp\n',
    );
    const n = only(r);
    expect(n.bond.routes.map((x) => [x.to, x.via, x.metric, x.onlink, x.table, x.where])).toEqual([
      ['default', '198.18.0.254', 20, undefined, undefined, '/i:6'],
      ['198.19.0.0/16', '198.18.0.9', 5, true, undefined, '/i:10'],
      ['198.20.0.0/16', '198.18.0.8', undefined, undefined, 7, '/i:11'],
    ]);
    expect(n.bond).toMatchObject({ dhcp4: false, dhcp6: true, acceptRa: true, dns: { servers: ['198.18.0.2'], search: ['lab.example'] } });
    expect(r.warnings).toEqual(['/i:13: up echo hello: bondd runs no hook commands; only "ip route add|replace" routes are applied']);
    expect(only(read('auto bond0\niface bond0 inet dhcp\n  bond-slaves e1\n  metric 30\n')).bond).toMatchObject({
      dhcp4: true,
      dhcpMetric: 30,
    });
  });
  it('a bridge stanza whose bridge_ports hold the bond', () => {
    const n = only(
      read(
        `${BOND}\nauto br0\niface br0 inet static\n  bridge_ports bond0 vnet0\n  bridge_stp off\n  bridge-fd 0\n  address 198.18.0.1\n  netmask 255.255.255.0\n  gateway 198.18.0.254\n`,
      ),
    );
    expect(n.bridge).toMatchObject({
      name: 'br0',
      stp: false,
      forwardDelay: 0,
      ports: ['vnet0'],
      l3: { addresses: [{ address: '198.18.0.1', prefixlen: 24 }], routes: [{ via: '198.18.0.254' }] },
    });
  });
  it('bad values: the file and the line', () => {
    expect(() => read(`${BOND}  gateway 198.18.0\n`)).toThrow(/\/i:5: invalid gateway '198.18.0'/);
    expect(() => read(`${BOND}  up ip route add nowhere via 198.18.0.1\n`)).toThrow(/\/i:5: invalid route destination 'nowhere'/);
    expect(() => read(`${BOND}iface br0 inet manual\n  bridge_ports bond0\n  bridge_stp maybe\n`)).toThrow(
      /\/i:7: bridge_stp: invalid value 'maybe'/,
    );
  });
});

describe("--print-config shows what is applied around the bond, and what keeps the host's manager away", () => {
  it('per format, with the interface names', () => {
    const c = { name: 'bond0', slaves: ['e1', 'e2'], options: {}, notes: [], up: true } as unknown as Parameters<typeof peaceAdvice>[0];
    expect(peaceAdvice({ ...c, source: 'systemd-networkd /n/10.netdev' })).toEqual({
      'systemd-networkd': '/etc/systemd/network/00-tapbond.network: [Match] Name=bond0 e1 e2 [Link] Unmanaged=yes',
    });
    expect(peaceAdvice({ ...c, source: 'NetworkManager /x.nmconnection' })).toEqual({
      NetworkManager:
        '/etc/NetworkManager/conf.d/tapbond.conf: [keyfile] unmanaged-devices=interface-name:bond0;interface-name:e1;interface-name:e2',
    });
    expect(Object.keys(peaceAdvice({ ...c, source: 'netplan /etc/netplan/1.yaml' }))).toEqual(['systemd-networkd', 'NetworkManager']);
    expect(peaceAdvice({ ...c, source: 'ifupdown /etc/network/interfaces' }).ifupdown).toMatch(/leave 'auto bond0' out/);
    expect(peaceAdvice({ ...c })).toEqual({});
  });

  it('routes, DHCP, DNS and the bridge', () => {
    const d = dir('print', {
      'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\nBRIDGE=br0\nDHCPV6C=yes\n',
      'ifcfg-br0': 'DEVICE=br0\nTYPE=Bridge\nSTP=no\nIPADDR=198.18.0.1\nPREFIX=24\nGATEWAY=198.18.0.254\nDNS1=198.18.0.2\n',
    });
    const cfgs = buildFromSystemFiles([], readIfcfgDir(d)).configs;
    cfgs[0].source = 'ifcfg /etc/sysconfig/network-scripts/ifcfg-bond0';
    const out = describeConfigs(cfgs) as { bonds: { around: unknown; host_manager: unknown }[] };
    expect(out.bonds[0].host_manager).toEqual({
      NetworkManager: "NM_CONTROLLED=no in ifcfg-bond0, its slaves' files and ifcfg-br0 (NetworkManager's ifcfg-rh plugin reads them)",
    });
    expect(out.bonds[0].around).toEqual({
      dhcp6: true,
      bridge: {
        name: 'br0',
        stp: false,
        ports: [],
        addresses: ['198.18.0.1/24'],
        routes: ['default via 198.18.0.254'],
        dns: ['198.18.0.2'],
      },
    });
  });
});

describe('VLANs over the bond, as each format declares them', () => {
  it('netplan vlans:, networkd VLAN=, NetworkManager type=vlan, ifupdown bond0.N, RHEL VLAN=yes, SUSE ETHERDEVICE', () => {
    const np = parseNetplan([
      [
        '/p.yaml',
        'network:\n  ethernets:\n    e1: {}\n  bonds:\n    bond0:\n      interfaces: [e1]\n  vlans:\n    vlan100:\n      id: 100\n      link: bond0\n',
      ],
    ]);
    expect(only(np).vlans).toEqual([{ name: 'vlan100', id: 100, where: '/p.yaml:8' }]);
    const nd = parseNetworkd([
      ['/n/10.netdev', '[NetDev]\nName=bond0\nKind=bond\n'],
      ['/n/11.netdev', '[NetDev]\nName=v7\nKind=vlan\n[VLAN]\nId=7\n'],
      ['/n/20.network', '[Match]\nName=bond0\n[Network]\nVLAN=v7\n'],
    ]);
    expect(only(nd).vlans).toEqual([{ name: 'v7', id: 7, where: '/n/20.network:4' }]);
    const nm = parseNmKeyfiles([
      ['/nm/b.nmconnection', '[connection]\nid=b\nuuid=aaaa\ntype=bond\ninterface-name=bond0\n[bond]\nmode=1\n'],
      ['/nm/v.nmconnection', '[connection]\nid=v\ntype=vlan\n[vlan]\nparent=aaaa\nid=30\n'],
    ]);
    expect(only(nm).vlans).toEqual([{ name: 'bond0.30', id: 30, where: '/nm/v.nmconnection:5' }]);
    const iu = parseInterfaces(
      '/i',
      memFs({
        '/i': 'auto bond0\niface bond0 inet manual\n  bond-slaves e1\niface bond0.200 inet static\n  address 198.18.2.1/24\niface vlan5 inet manual\n  vlan-raw-device bond0\n',
      }),
    );
    expect(only(iu).vlans).toEqual([
      { name: 'bond0.200', id: 200, where: '/i:4' },
      { name: 'vlan5', id: 5, where: '/i:6' },
    ]);
    const d = dir('rhel-vlan', {
      'ifcfg-bond0': 'DEVICE=bond0\nBONDING_OPTS=mode=1\n',
      'ifcfg-bond0.42': 'DEVICE=bond0.42\nVLAN=yes\nIPADDR=198.18.42.1\n',
    });
    expect(readIfcfgDir(d)[0].net.vlans).toEqual([{ name: 'bond0.42', id: 42, where: `${d}/ifcfg-bond0.42:2` }]);
    const su = parseSuse(
      '/s',
      memFs({ '/s/ifcfg-bond0': "BONDING_MASTER='yes'\nSTARTMODE='auto'\n", '/s/ifcfg-vlan9': "ETHERDEVICE='bond0'\nVLAN_ID='9'\n" }),
    );
    expect(only(su).vlans).toEqual([{ name: 'vlan9', id: 9, where: '/s/ifcfg-vlan9:1' }]);
  });
  it('a bad VLAN id names the file and line', () => {
    expect(() =>
      parseNetplan([
        [
          '/p.yaml',
          'network:\n  ethernets:\n    e1: {}\n  bonds:\n    bond0:\n      interfaces: [e1]\n  vlans:\n    v:\n      id: 5000\n      link: bond0\n',
        ],
      ]),
    ).toThrow(/\/p.yaml:9: invalid VLAN id '5000'; allowed: 1 to 4094/);
  });
});

describe("tapbond's JSON: the same around the bond", () => {
  it('gateway, routes, dhcp, dns, a bridge with its own L3 and ports, VLANs; errors name the key', () => {
    const d = dir('json', {
      'bond0.json': JSON.stringify({
        name: 'bond0',
        slaves: ['e1'],
        mode: 'active-backup',
        dhcp: 'v6',
        accept_ra: true,
        bridge: {
          name: 'br0',
          stp: false,
          forward_delay: 0,
          ports: ['vnet0'],
          addresses: ['198.18.0.1/24'],
          gateway: '198.18.0.254',
          dns: { servers: ['198.18.0.2'] },
        },
        routes: [{ to: '198.19.0.0/16', via: '198.18.0.9', metric: 5 }],
        vlans: [{ name: 'bond0.7', id: 7 }],
      }),
    });
    const cfg = buildConfig(readConfigFile(join(d, 'bond0.json')));
    expect(cfg.net?.bond).toMatchObject({
      dhcp4: false,
      dhcp6: true,
      acceptRa: true,
      routes: [{ to: '198.19.0.0/16', via: '198.18.0.9', metric: 5 }],
    });
    expect(cfg.net?.bridge).toMatchObject({
      name: 'br0',
      stp: false,
      forwardDelay: 0,
      ports: ['vnet0'],
      l3: { addresses: [{ address: '198.18.0.1', prefixlen: 24 }], routes: [{ via: '198.18.0.254' }], dns: { servers: ['198.18.0.2'] } },
    });
    expect(cfg.net?.vlans).toEqual([{ name: 'bond0.7', id: 7, where: `--config ${join(d, 'bond0.json')}.vlans` }]);
    const bad = dir('json-bad', { 'b.json': JSON.stringify({ name: 'bond0', slaves: ['e1'], gateway: 'gw' }) });
    expect(() => buildConfig(readConfigFile(join(bad, 'b.json')))).toThrow(/--config .*b.json.gateway: invalid gateway 'gw'/);
    expect(buildConfig({ name: 'bond0', slaves: ['e1'], options: {} }).net).toBeUndefined();
  });
});
