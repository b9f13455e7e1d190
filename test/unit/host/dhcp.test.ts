// The DHCP hook: each client's events (dhclient's $reason and new_* variables, udhcpc's first
// argument and variables) as one kind of event, and what applying them does to the interface.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyDhcpEvent, dhcpClientCommand, findDhcpClient, parseDhcpEvent } from '../../../src/host/dhcp.js';
import type { Cidr, NetOps, Procs } from '../../../src/host/l3.js';
import { RTPROT_DHCP, type AddrLifetime, type Route } from '../../../src/net/rtnl.js';
import { formatIp } from '../../../src/util/mac.js';
import { MemoryLogger } from '../../../src/util/logger.js';

describe('parseDhcpEvent', () => {
  it('dhclient BOUND: address, mask, routers, DNS, search and lease time', () => {
    expect(
      parseDhcpEvent([], {
        reason: 'BOUND',
        interface: 'bond0',
        new_ip_address: '198.18.0.120',
        new_subnet_mask: '255.255.255.0',
        new_routers: '198.18.0.254 198.18.0.253',
        new_domain_name_servers: '198.18.0.2',
        new_domain_search: 'lab.example',
        new_dhcp_lease_time: '600',
      }),
    ).toEqual({
      ifname: 'bond0',
      family: 4,
      kind: 'bound',
      reason: 'BOUND',
      lease: {
        address: '198.18.0.120',
        prefixlen: 24,
        routers: ['198.18.0.254', '198.18.0.253'],
        dns: { servers: ['198.18.0.2'], search: ['lab.example'] },
        validLft: 600,
      },
    });
  });

  it('dhclient -6 BOUND6: the address and its lifetimes, no routers (those come from router advertisements)', () => {
    expect(
      parseDhcpEvent([], {
        reason: 'BOUND6',
        interface: 'br0',
        new_ip6_address: '2001:db8::55',
        new_ip6_prefixlen: '128',
        new_dhcp6_name_servers: '2001:db8::2',
        new_max_life: '7200',
        new_preferred_life: '3600',
      }),
    ).toMatchObject({
      family: 6,
      kind: 'bound',
      lease: { address: '2001:db8::55', prefixlen: 128, routers: [], validLft: 7200, preferredLft: 3600 },
    });
  });

  it('losing a lease, and events that change nothing', () => {
    for (const reason of ['EXPIRE', 'FAIL', 'STOP', 'RELEASE', 'EXPIRE6'])
      expect(parseDhcpEvent([], { reason, interface: 'bond0' })?.kind).toBe('lost');
    for (const reason of ['PREINIT', 'PREINIT6', 'TIMEOUT', 'MEDIUM'])
      expect(parseDhcpEvent([], { reason, interface: 'bond0' })?.kind).toBe('other');
    expect(parseDhcpEvent([], { reason: 'BOUND' })).toBe(null); // no interface
  });

  it('udhcpc: bound/renew with mask as a length or a dotted subnet; deconfig and nak lose the lease', () => {
    expect(
      parseDhcpEvent(['bound'], {
        interface: 'bond0',
        ip: '198.18.0.121',
        mask: '24',
        router: '198.18.0.254',
        dns: '198.18.0.2 198.18.0.3',
        domain: 'lab.example',
        lease: '600',
      }),
    ).toMatchObject({
      kind: 'bound',
      reason: 'bound',
      lease: {
        address: '198.18.0.121',
        prefixlen: 24,
        routers: ['198.18.0.254'],
        dns: { servers: ['198.18.0.2', '198.18.0.3'], search: ['lab.example'] },
        validLft: 600,
      },
    });
    expect(parseDhcpEvent(['renew'], { interface: 'bond0', ip: '198.18.0.121', subnet: '255.255.0.0' })?.lease?.prefixlen).toBe(16);
    expect(parseDhcpEvent(['deconfig'], { interface: 'bond0' })?.kind).toBe('lost');
    expect(parseDhcpEvent(['nak'], { interface: 'bond0' })?.kind).toBe('lost');
    expect(parseDhcpEvent(['leasefail'], { interface: 'bond0' })?.kind).toBe('other');
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fakeOps() {
  const s = { addrs: [] as (Cidr & { lifetime?: AddrLifetime })[], routes: [] as Route[] };
  const ops: NetOps = {
    ifindex: (n) => (n === 'bond0' ? 4 : null),
    masterOf: () => null,
    addresses: () => s.addrs,
    addAddress: (_i, a, lifetime) => {
      s.addrs = s.addrs.filter((x) => x.address !== a.address);
      s.addrs.push({ ...a, lifetime });
    },
    deleteAddress: (_i, a) => void (s.addrs = s.addrs.filter((x) => x.address !== a.address)),
    replaceRoute: (r) => void (s.routes = [...s.routes.filter((x) => x.dstLen !== r.dstLen), r]),
    deleteRoute: (r) =>
      void (s.routes = s.routes.filter(
        (x) => !(x.dstLen === r.dstLen && x.gateway && r.gateway && formatIp(x.gateway) === formatIp(r.gateway)),
      )),
    newBridge: () => {},
    newVlan: () => {},
    setMaster: () => {},
    setUp: () => {},
    carrier: () => true,
    deleteLink: () => {},
    writeSysctl: () => {},
  };
  return { s, ops };
}

const noProcs: Procs = { which: () => null, run: () => ({ status: 0, stderr: '' }), start: () => 0, alive: () => false, kill: () => {} };

describe('applyDhcpEvent', () => {
  it("a lease's address with its lifetime and a default route with the file's metric; a new address replaces the old; an expiry takes it back", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapbond-dhcp-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'bond0.json'), JSON.stringify({ metric: 20 }));
    const { s, ops } = fakeOps();
    const log = new MemoryLogger();
    const bound = (ip: string, gw: string) => parseDhcpEvent(['bound'], { interface: 'bond0', ip, mask: '24', router: gw, lease: '600' })!;
    applyDhcpEvent(ops, noProcs, bound('198.18.0.121', '198.18.0.254'), dir, log);
    expect(s.addrs).toEqual([{ address: '198.18.0.121', prefixlen: 24, lifetime: { validLft: 600, preferredLft: 600 } }]);
    expect(s.routes).toMatchObject([{ dstLen: 0, metric: 20, protocol: RTPROT_DHCP, oif: 4 }]);
    expect(formatIp(s.routes[0].gateway!)).toBe('198.18.0.254');
    expect(existsSync(join(dir, 'bond0.4.lease'))).toBe(true);
    applyDhcpEvent(ops, noProcs, bound('198.18.0.130', '198.18.0.253'), dir, log);
    expect(s.addrs.map((a) => a.address)).toEqual(['198.18.0.130']);
    expect(s.routes.map((r) => formatIp(r.gateway!))).toEqual(['198.18.0.253']);
    expect(JSON.parse(readFileSync(join(dir, 'bond0.4.lease'), 'utf8')).lease.address).toBe('198.18.0.130');
    applyDhcpEvent(ops, noProcs, parseDhcpEvent([], { reason: 'EXPIRE', interface: 'bond0' })!, dir, log);
    expect(s.addrs).toEqual([]);
    expect(s.routes).toEqual([]);
    expect(existsSync(join(dir, 'bond0.4.lease'))).toBe(false);
    expect(log.lines.at(-1)).toContain('DHCPv4 lease 198.18.0.130/24 on bond0 gone (EXPIRE)');
  });

  it('udhcpc deconfig before any lease takes nothing away (static addresses stay)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapbond-dhcp-'));
    dirs.push(dir);
    const { s, ops } = fakeOps();
    s.addrs.push({ address: '198.18.1.1', prefixlen: 24 });
    applyDhcpEvent(ops, noProcs, parseDhcpEvent(['deconfig'], { interface: 'bond0' })!, dir, new MemoryLogger());
    expect(s.addrs).toHaveLength(1);
  });
});

describe('choosing and running a client', () => {
  const procs = (have: string[], busyboxHasUdhcpc = true): Procs => ({
    ...noProcs,
    which: (c) => (have.includes(c) ? `/sbin/${c}` : null),
    run: () => ({ status: 0, stderr: busyboxHasUdhcpc ? 'Usage: udhcpc [-fbqRB]' : 'udhcpc: applet not found' }),
  });
  it('dhclient first, then udhcpc (or busybox udhcpc); IPv6 only with dhclient; TAPBOND_DHCP_CLIENT picks', () => {
    expect(findDhcpClient(procs(['dhclient', 'udhcpc']), 4, undefined)?.name).toBe('dhclient');
    expect(findDhcpClient(procs(['dhclient', 'udhcpc']), 4, 'udhcpc')?.name).toBe('udhcpc');
    expect(findDhcpClient(procs(['busybox']), 4, undefined)).toEqual({ name: 'udhcpc', path: '/sbin/busybox', pre: ['udhcpc'] });
    expect(findDhcpClient(procs(['busybox'], false), 4, undefined)).toBe(null);
    expect(findDhcpClient(procs(['busybox']), 6, undefined)).toBe(null);
    expect(findDhcpClient(procs(['dhclient']), 6, 'udhcpc')?.name).toBe('dhclient');
  });
  it('udhcpc in the foreground, never giving up, events to the hook', () => {
    expect(dhcpClientCommand({ name: 'udhcpc', path: '/bin/busybox', pre: ['udhcpc'] }, 'br0', 4, '/run/h', '/run/d')).toEqual({
      cmd: '/bin/busybox',
      args: ['udhcpc', '-f', '-i', 'br0', '-s', '/run/h', '-p', '/run/d/br0.4.pid', '-T', '2', '-A', '5'],
    });
  });
});
