// The applier of the host network around a bond, over fake links and processes: what it does,
// what it records, what a later bondd keeps, and what taking the bond down undoes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyL3, type Cidr, type HostNetDecl, type NetOps, type Procs } from '../../../src/host/l3.js';
import { HostNet } from '../../../src/host/netconf.js';
import type { Route } from '../../../src/net/rtnl.js';
import { formatIp } from '../../../src/util/mac.js';
import { MemoryLogger } from '../../../src/util/logger.js';

class FakeNet implements NetOps {
  links = new Map<string, { ifindex: number; master: string | null; up: boolean; running: boolean; addrs: Cidr[] }>();
  routes: Route[] = [];
  bridges: { name: string; o: unknown }[] = [];
  sysctls: Record<string, string> = {};
  calls: string[] = [];
  add(name: string, running = true) {
    this.links.set(name, { ifindex: this.links.size + 2, master: null, up: false, running, addrs: [] });
  }
  private by(ifindex: number) {
    return [...this.links.values()].find((l) => l.ifindex === ifindex)!;
  }
  ifindex = (n: string) => this.links.get(n)?.ifindex ?? null;
  masterOf = (n: string) => this.links.get(n)?.master ?? null;
  addresses = (i: number) => this.by(i).addrs;
  addAddress = (i: number, a: Cidr) => void this.by(i).addrs.push(a);
  deleteAddress = (i: number, a: Cidr) => {
    const l = this.by(i);
    l.addrs = l.addrs.filter((x) => x.address !== a.address);
  };
  replaceRoute = (r: Route) => {
    this.routes = this.routes.filter((x) => !(x.dstLen === r.dstLen && formatIp(x.dst) === formatIp(r.dst) && x.metric === r.metric));
    this.routes.push(r);
  };
  deleteRoute = (r: Route) => {
    this.routes = this.routes.filter((x) => !(x.dstLen === r.dstLen && formatIp(x.dst) === formatIp(r.dst) && x.metric === r.metric));
  };
  newBridge = (name: string, o: unknown) => {
    this.add(name);
    this.bridges.push({ name, o });
  };
  vlanError: (Error & { code?: string }) | null = null;
  newVlan = (name: string, parent: string, id: number) => {
    if (this.vlanError) throw this.vlanError;
    this.add(name);
    this.calls.push(`vlan ${name} ${parent} ${id}`);
  };
  setMaster = (n: string, m: string | null) => void (this.links.get(n)!.master = m);
  setUp = (n: string) => void (this.links.get(n)!.up = true);
  carrier = (n: string) => this.links.get(n)?.running ?? false;
  deleteLink = (n: string) => {
    this.links.delete(n);
    for (const l of this.links.values()) if (l.master === n) l.master = null;
  };
  writeSysctl = (p: string, v: string) => void (this.sysctls[p] = v);
}

class FakeProcs implements Procs {
  running = new Map<number, string[]>();
  ran: string[][] = [];
  next = 100;
  have = new Set(['/usr/sbin/dhclient']);
  which = (c: string) => [...this.have].find((p) => p.endsWith(`/${c}`)) ?? null;
  run = (cmd: string, args: string[], input?: string) => {
    this.ran.push([cmd, ...args, ...(input ? [input] : [])]);
    return { status: 0, stderr: '' };
  };
  start = (cmd: string, args: string[]) => {
    this.running.set(this.next, [cmd, ...args]);
    return this.next++;
  };
  alive = (pid: number, needle: string) => this.running.get(pid)?.includes(needle) ?? false;
  kill = (pid: number) => void this.running.delete(pid);
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const net = new FakeNet();
  net.add('bond0');
  net.add('vg0');
  const procs = new FakeProcs();
  const log = new MemoryLogger();
  const dir = mkdtempSync(join(tmpdir(), 'tapbond-hostnet-'));
  dirs.push(dir);
  return { net, procs, log, dir, hn: new HostNet(net, procs, log, dir) };
}

const decl = (): HostNetDecl => ({
  bond: emptyL3(),
  bridge: {
    name: 'br0',
    stp: false,
    forwardDelay: 0,
    ports: ['vg0', 'vnet9'],
    l3: {
      ...emptyL3(),
      addresses: [{ address: '198.18.0.1', prefixlen: 24 }],
      routes: [
        { to: 'default', family: 4, via: '198.18.0.254', metric: 10 },
        { to: '198.19.7.0/24', family: 4 },
      ],
      dns: { servers: ['198.18.0.2'], search: ['lab.example'] },
    },
  },
});

describe('HostNet', () => {
  it('makes the bridge, joins the bond and the declared ports, applies its L3; records all of it', () => {
    const { net, procs, log, hn } = setup();
    const rec = hn.apply('bond0', decl(), []);
    expect(net.bridges).toEqual([{ name: 'br0', o: { stp: false, forwardDelay: 0, mtu: undefined } }]);
    expect(net.masterOf('bond0')).toBe('br0');
    expect(net.masterOf('vg0')).toBe('br0');
    expect(net.links.get('br0')!.addrs).toEqual([{ address: '198.18.0.1', prefixlen: 24 }]);
    // the route on the link goes first: the gateway's must find its next hop
    expect(net.routes.map((r) => `${formatIp(r.dst)}/${r.dstLen} ${r.gateway ? formatIp(r.gateway) : '-'} ${r.metric ?? '-'}`)).toEqual([
      '198.19.7.0/24 - -',
      '0.0.0.0/0 198.18.0.254 10',
    ]);
    expect(log.lines.some((l) => l.includes('vnet9 is not here, not joined to br0'))).toBe(true);
    expect(rec).toMatchObject({ bridge: { name: 'br0', made: true }, ports: [], addresses: [{ ifname: 'br0', address: '198.18.0.1' }] });
    expect(rec.routes).toHaveLength(2);
    // no resolver manager here: the servers are logged for whoever owns resolv.conf
    expect(log.lines.some((l) => l.includes('DNS for br0: nameservers 198.18.0.2, search lab.example'))).toBe(true);
    procs.have.add('/sbin/resolvconf');
    hn.apply('bond0', decl(), [], rec);
    expect(procs.ran.at(-1)).toEqual(['/sbin/resolvconf', '-a', 'br0.tapbond', 'nameserver 198.18.0.2\nsearch lab.example\n']);
  });

  it('a bridge someone else made keeps its options and stays when the bond goes; what bondd added goes', () => {
    const { net, hn } = setup();
    net.add('br0');
    const rec = hn.apply('bond0', decl(), []);
    expect(net.bridges).toEqual([]);
    expect(rec.bridge).toEqual({ name: 'br0', made: false });
    expect(rec.ports).toEqual(['vg0']);
    hn.remove(rec);
    expect(net.links.has('br0')).toBe(true);
    expect(net.links.get('br0')!.addrs).toEqual([]);
    expect(net.routes).toEqual([]);
    expect(net.masterOf('vg0')).toBe(null);
  });

  it('a bridge bondd made goes with the bond, its ports freed', () => {
    const { net, hn } = setup();
    const rec = hn.apply('bond0', decl(), []);
    hn.remove(rec);
    expect(net.links.has('br0')).toBe(false);
    expect(net.masterOf('vg0')).toBe(null);
  });

  it('applying again (an adopted bond) changes nothing and keeps the record', () => {
    const { net, hn } = setup();
    const rec = hn.apply('bond0', decl(), [{ address: '198.18.1.1', prefixlen: 24 }]);
    const again = hn.apply('bond0', decl(), [{ address: '198.18.1.1', prefixlen: 24 }], rec);
    expect(net.bridges).toHaveLength(1);
    expect(net.links.get('br0')!.addrs).toHaveLength(1);
    expect(net.links.get('bond0')!.addrs).toHaveLength(1);
    expect(net.routes).toHaveLength(2);
    expect(again).toEqual(rec);
  });

  it('DHCP: a client per family on the interface, kept by the next bondd while it runs, stopped with the bond', () => {
    const { procs, dir, hn } = setup();
    const d: HostNetDecl = { bond: { ...emptyL3(), dhcp4: true, dhcp6: true, acceptRa: true, dhcpMetric: 20 } };
    const rec = hn.apply('bond0', d, []);
    expect(rec.dhcp.map((c) => [c.ifname, c.family, c.client])).toEqual([
      ['bond0', 4, 'dhclient'],
      ['bond0', 6, 'dhclient'],
    ]);
    const [cmd, ...args] = procs.running.get(rec.dhcp[0].pid)!;
    expect(cmd).toBe('/usr/sbin/dhclient');
    expect(args).toEqual([
      '-4',
      '-d',
      '-sf',
      join(dir, 'hook'),
      '-lf',
      join(dir, 'bond0.4.leases'),
      '-pf',
      join(dir, 'bond0.4.pid'),
      'bond0',
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'bond0.json'), 'utf8'))).toEqual({ metric: 20 });
    expect(readFileSync(join(dir, 'hook'), 'utf8')).toMatch(/^#!\/bin\/sh\n.*TAPBOND_DHCP_STATE=.* exec .*dhcp-hook\.js' "\$@"\n$/s);
    const again = hn.apply('bond0', d, [], rec);
    expect(again.dhcp).toEqual(rec.dhcp);
    expect(procs.running.size).toBe(2);
    hn.remove(again);
    expect(procs.running.size).toBe(0);
  });

  it('DHCP waits for carrier: the first discover is not lost to a link still coming up', async () => {
    const { net, procs, hn } = setup();
    net.links.get('bond0')!.running = false;
    const rec = hn.apply('bond0', { bond: { ...emptyL3(), dhcp4: true } }, []);
    expect(rec.dhcp).toEqual([]);
    net.links.get('bond0')!.running = true;
    await new Promise((r) => setTimeout(r, 250));
    expect(rec.dhcp).toHaveLength(1);
    expect(procs.running.size).toBe(1);
  });

  it('no DHCP client on the machine: an error that names what to install', () => {
    const { procs, log, hn } = setup();
    procs.have.clear();
    expect(hn.apply('bond0', { bond: { ...emptyL3(), dhcp4: true } }, []).dhcp).toEqual([]);
    expect(log.lines.join('\n')).toMatch(
      /DHCPv4 on bond0: no DHCP client here; install isc-dhcp-client \(dhclient\) or busybox \(udhcpc\)/,
    );
  });

  it('VLANs over the bond: made where the kernel can; without 8021q an error that names it', () => {
    const { net, log, hn } = setup();
    hn.apply('bond0', { bond: emptyL3(), vlans: [{ name: 'bond0.100', id: 100, where: 'f:7' }] }, []);
    expect(net.calls).toEqual(['vlan bond0.100 bond0 100']);
    expect(net.links.get('bond0.100')!.up).toBe(true);
    const b = setup();
    b.net.vlanError = Object.assign(new Error('RTM_NEWLINK vlan failed: EOPNOTSUPP'), { code: 'EOPNOTSUPP' });
    b.hn.apply('bond0', { bond: emptyL3(), vlans: [{ name: 'vlan7', id: 7, where: 'f:9' }] }, []);
    expect(b.log.lines.join('\n')).toContain(
      'f:9: VLAN vlan7 (id 7) on bond0 not made: this kernel has no 802.1Q VLAN support (the 8021q module)',
    );
    expect(log.lines.some((l) => l.startsWith('error'))).toBe(false);
  });

  it('a route the kernel refuses is logged with its file and line; the rest still applies', () => {
    const { net, log, hn } = setup();
    let first = true;
    const replace = net.replaceRoute;
    net.replaceRoute = (r) => {
      if (first) {
        first = false;
        throw new Error('RTM_NEWROUTE failed: ENETUNREACH');
      }
      replace(r);
    };
    hn.apply(
      'bond0',
      {
        bond: {
          ...emptyL3(),
          routes: [
            { to: 'default', family: 4, via: '203.0.113.1', where: 'f:3' },
            { to: '198.19.0.0/16', family: 4, via: '198.18.0.9', onlink: true },
          ],
        },
      },
      [],
    );
    expect(log.lines.some((l) => l.includes('f:3: route default via 203.0.113.1 dev bond0: RTM_NEWROUTE failed: ENETUNREACH'))).toBe(true);
    expect(net.routes).toHaveLength(1);
  });
});
