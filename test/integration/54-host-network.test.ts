// The host's network around the bond, from the host's own files in each of six formats (RHEL
// ifcfg, SUSE ifcfg, netplan, systemd-networkd, NetworkManager keyfile, Debian ifupdown), each
// written as that distribution documents it. Three layouts per format, checked from outside:
//  - static: an address, a default gateway and a static route with a metric; the routes as
//    `ip route` lists them, a ping that only the route can carry, all gone with the bond;
//  - dhcp: a real DHCP server (dnsmasq) on the client side; the bond gets its lease (dnsmasq's
//    lease table names the bond's MAC), a default route via the lease's router, and keeps both
//    across a failover while a client pings the leased address;
//  - bridge: br0 made over bond0 holding the host's address and gateway, a guest's port on it
//    (`bridge link`), the guest reaching the client across a failover; br0 goes with the bond.
//
//   srv: bondd, bond0 over s0 s1 (br0 over bond0, vg0 to the guest)  <-- veth -->  sw: br0  <-->  cli
//   cli: 198.18.0.2, .253 and .254 (routers), 198.19.5.1 and 198.19.7.1 on lo (beyond them)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { have, Lab, mustSkip, pingSummary, sleep, skipReason, waitFor } from '../helpers/lab.js';

const reason =
  skipReason() ||
  (!have('dnsmasq') ? 'dnsmasq is not installed (Debian: dnsmasq-base)' : '') ||
  (!have('dhclient') ? 'dhclient is not installed (Debian: isc-dhcp-client)' : '') ||
  (!have('busybox') ? 'busybox is not installed (Debian: busybox-static), for its udhcpc' : '');
const FORMATS = ['ifcfg', 'suse', 'netplan', 'networkd', 'nm', 'ifupdown'] as const;
type Format = (typeof FORMATS)[number];
type Layout = 'static' | 'dhcp' | 'bridge';

const OPTS = { mode: 'active-backup', miimon: '50' };

/** The files of one format and layout under `dir`, and the bondd arguments that read them. */
function writeFiles(dir: string, f: Format, layout: Layout): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const w = (name: string, text: string) => {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  };
  const dhcp = layout === 'dhcp';
  const bridge = layout === 'bridge';
  switch (f) {
    case 'ifcfg': {
      const l3 = 'IPADDR=198.18.0.1\nPREFIX=24\nGATEWAY=198.18.0.254\nDNS1=198.18.0.2\nDOMAIN=lab.example\n';
      w(
        'ifcfg-bond0',
        `DEVICE=bond0\nTYPE=Bond\nONBOOT=yes\nBONDING_MASTER=yes\nBONDING_OPTS="mode=${OPTS.mode} miimon=${OPTS.miimon}"\n` +
          (dhcp ? 'BOOTPROTO=dhcp\n' : bridge ? 'BOOTPROTO=none\nBRIDGE=br0\n' : `BOOTPROTO=none\n${l3}`),
      );
      w('ifcfg-s0', 'DEVICE=s0\nMASTER=bond0\nSLAVE=yes\nBOOTPROTO=none\n');
      w('ifcfg-s1', 'DEVICE=s1\nMASTER=bond0\nSLAVE=yes\nBOOTPROTO=none\n');
      if (layout === 'static') w('route-bond0', '198.19.7.0/24 via 198.18.0.253 metric 50\n');
      if (bridge) {
        w('ifcfg-br0', `DEVICE=br0\nTYPE=Bridge\nONBOOT=yes\nBOOTPROTO=none\nSTP=off\nDELAY=0\n${l3}`);
        w('ifcfg-vg0', 'DEVICE=vg0\nONBOOT=yes\nBRIDGE=br0\n');
      }
      return ['--ifcfg-dir', dir];
    }
    case 'suse': {
      const net = join('sysconfig', 'network');
      w(
        join(net, 'ifcfg-bond0'),
        `STARTMODE='auto'\nBONDING_MASTER='yes'\nBONDING_SLAVE0='s0'\nBONDING_SLAVE_1='s1'\nBONDING_MODULE_OPTS='mode=${OPTS.mode} miimon=${OPTS.miimon}'\n` +
          (dhcp ? "BOOTPROTO='dhcp4'\n" : bridge ? "BOOTPROTO='none'\n" : "BOOTPROTO='static'\nIPADDR='198.18.0.1/24'\n"),
      );
      w(join(net, 'ifcfg-s0'), "STARTMODE='hotplug'\nBOOTPROTO='none'\n");
      w(join(net, 'ifcfg-s1'), "STARTMODE='hotplug'\nBOOTPROTO='none'\n");
      if (layout === 'static') {
        w(join(net, 'routes'), 'default 198.18.0.254 - -\n');
        w(join(net, 'ifroute-bond0'), '198.19.7.0/24 198.18.0.253 - bond0 - metric 50\n');
      }
      if (bridge) {
        w(
          join(net, 'ifcfg-br0'),
          "STARTMODE='auto'\nBOOTPROTO='static'\nIPADDR='198.18.0.1'\nNETMASK='255.255.255.0'\nBRIDGE='yes'\nBRIDGE_PORTS='bond0 vg0'\nBRIDGE_STP='off'\nBRIDGE_FORWARDDELAY='0'\n",
        );
        w(join(net, 'routes'), 'default 198.18.0.254 - -\n');
      }
      // `bondd --system` reads SUSE's files too
      return ['--system', '--sysconf-root', dir];
    }
    case 'netplan': {
      const l3 =
        `      addresses: [198.18.0.1/24]\n      routes:\n        - to: default\n          via: 198.18.0.254\n` +
        (layout === 'static' ? '        - to: 198.19.7.0/24\n          via: 198.18.0.253\n          metric: 50\n' : '') +
        `      nameservers:\n        addresses: [198.18.0.2]\n        search: [lab.example]\n`;
      w(
        '01-bond.yaml',
        'network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    s0: {}\n    s1: {}\n    vg0: {}\n  bonds:\n    bond0:\n      interfaces: [s0, s1]\n' +
          `      parameters:\n        mode: ${OPTS.mode}\n        mii-monitor-interval: ${OPTS.miimon}\n` +
          (dhcp
            ? '      dhcp4: true\n'
            : bridge
              ? '      dhcp4: false\n  bridges:\n    br0:\n      interfaces: [bond0, vg0]\n      parameters:\n        stp: false\n        forward-delay: 0\n' +
                l3
              : l3),
      );
      return ['--netplan-dir', dir];
    }
    case 'networkd': {
      w('25-bond0.netdev', `[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=${OPTS.mode}\nMIIMonitorSec=${OPTS.miimon}ms\n`);
      w('30-s0.network', '[Match]\nName=s0\n\n[Network]\nBond=bond0\n');
      w('30-s1.network', '[Match]\nName=s1\n\n[Network]\nBond=bond0\n');
      const l3 = 'Address=198.18.0.1/24\nGateway=198.18.0.254\nDNS=198.18.0.2\nDomains=lab.example\n';
      if (dhcp) w('40-bond0.network', '[Match]\nName=bond0\n\n[Network]\nDHCP=ipv4\n');
      else if (bridge) {
        w('20-br0.netdev', '[NetDev]\nName=br0\nKind=bridge\n\n[Bridge]\nSTP=no\nForwardDelaySec=0\n');
        w('40-bond0.network', '[Match]\nName=bond0\n\n[Network]\nBridge=br0\n');
        w('41-vg0.network', '[Match]\nName=vg0\n\n[Network]\nBridge=br0\n');
        w('50-br0.network', `[Match]\nName=br0\n\n[Network]\n${l3}`);
      } else
        w(
          '40-bond0.network',
          `[Match]\nName=bond0\n\n[Network]\n${l3}\n[Route]\nDestination=198.19.7.0/24\nGateway=198.18.0.253\nMetric=50\n`,
        );
      return ['--networkd-dir', dir];
    }
    case 'nm': {
      const ip4 =
        '[ipv4]\nmethod=manual\naddress1=198.18.0.1/24,198.18.0.254\ndns=198.18.0.2;\ndns-search=lab.example;\n' +
        (layout === 'static' ? 'route1=198.19.7.0/24,198.18.0.253,50\n' : '');
      w(
        'bond0.nmconnection',
        '[connection]\nid=bond0\nuuid=5a1f3a57-9d34-4a8e-8a3c-0b0d1e2f3a01\ntype=bond\ninterface-name=bond0\n' +
          (bridge ? 'controller=br0\nport-type=bridge\n' : '') +
          `\n[bond]\nmode=${OPTS.mode}\nmiimon=${OPTS.miimon}\n\n` +
          (dhcp ? '[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=ignore\n' : bridge ? '' : `${ip4}\n[ipv6]\nmethod=ignore\n`),
      );
      for (const s of ['s0', 's1'])
        w(`bond-${s}.nmconnection`, `[connection]\nid=bond-${s}\ntype=ethernet\ninterface-name=${s}\ncontroller=bond0\nport-type=bond\n`);
      if (bridge) {
        w(
          'br0.nmconnection',
          `[connection]\nid=br0\nuuid=5a1f3a57-9d34-4a8e-8a3c-0b0d1e2f3a02\ntype=bridge\ninterface-name=br0\n\n[bridge]\nstp=false\nforward-delay=0\n\n${ip4}\n[ipv6]\nmethod=ignore\n`,
        );
        w('vg0.nmconnection', '[connection]\nid=vg0\ntype=ethernet\ninterface-name=vg0\ncontroller=br0\nport-type=bridge\n');
      }
      return ['--nm-dir', dir];
    }
    case 'ifupdown': {
      const l3 = '    address 198.18.0.1/24\n    gateway 198.18.0.254\n    dns-nameservers 198.18.0.2\n    dns-search lab.example\n';
      const bond = `auto bond0\niface bond0 inet ${dhcp ? 'dhcp' : bridge ? 'manual' : 'static'}\n    bond-slaves s0 s1\n    bond-mode ${OPTS.mode}\n    bond-miimon ${OPTS.miimon}\n`;
      w(
        'interfaces',
        bond +
          (layout === 'static' ? `${l3}    up ip route add 198.19.7.0/24 via 198.18.0.253 metric 50\n` : '') +
          (bridge ? `\nauto br0\niface br0 inet static\n${l3}    bridge_ports bond0 vg0\n    bridge_stp off\n    bridge_fd 0\n` : ''),
      );
      return ['--interfaces', join(dir, 'interfaces')];
    }
  }
}

describe.skipIf(mustSkip(reason))("the host's network around the bond, from its own files", () => {
  const lab = new Lab('hn');
  const guest = `${lab.prefix}-gst`;
  const files = join(lab.runDir, 'files');
  let dnsmasq: Promise<string> | null = null;
  const run = (args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

  beforeAll(() => {
    lab.up(2);
    // two routers on the client's side and hosts beyond them
    lab.sh(lab.cli, 'ip addr add 198.18.0.253/24 dev eth0 && ip addr add 198.18.0.254/24 dev eth0');
    lab.sh(lab.cli, 'ip addr add 198.19.5.1/32 dev lo && ip addr add 198.19.7.1/32 dev lo');
    // a guest behind the bond's bridge
    run(['netns', 'add', guest]);
    run(['-n', lab.srv, 'link', 'add', 'vg0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', guest]);
    run(['-n', guest, 'addr', 'add', '198.18.0.50/24', 'dev', 'eth0']);
    run(['-n', guest, 'link', 'set', 'eth0', 'up']);
    run(['-n', guest, 'link', 'set', 'lo', 'up']);
  });
  afterAll(() => {
    try {
      run(['netns', 'del', guest]);
    } catch {
      /* gone */
    }
    lab.down();
  });
  afterEach(async () => {
    await lab.stopBondd();
    lab.sh(lab.cli, 'pkill -x dnsmasq || true; ip neigh flush all');
    await dnsmasq;
    dnsmasq = null;
  });

  const routes = () =>
    JSON.parse(lab.sh(lab.srv, 'ip -j -4 route show table main')) as {
      dst: string;
      gateway?: string;
      dev: string;
      metric?: number;
      protocol?: string;
    }[];
  /** The ports of br0, as the bridge tool lists them. */
  const brPorts = () =>
    (JSON.parse(lab.sh(lab.srv, 'bridge -j link show')) as { ifname: string; master: string }[])
      .filter((p) => p.master === 'br0')
      .map((p) => p.ifname)
      .sort();
  /** bond0's IPv4 addresses. */
  const bondV4 = () =>
    (JSON.parse(lab.sh(lab.srv, 'ip -j -4 addr show dev bond0'))[0]?.addr_info ?? []).map((x: { local: string }) => x.local) as string[];
  const bondMac = () => lab.link(lab.srv, 'bond0').address;
  const activePort = () => `p${lab.state().bond.active_slave.slice(1)}`;

  /** Cuts the active slave's switch port while `ns` pings `to` every 10 ms; the summary. */
  async function pingAcrossFailover(ns: string, to: string): Promise<{ sent: number; received: number }> {
    const port = activePort();
    const pinger = lab.shAsync(ns, `ping -c 200 -i 0.01 -W 1 ${to}`);
    await sleep(500);
    lab.sh(lab.sw, `ip link set ${port} down`);
    const p = pingSummary(await pinger);
    lab.sh(lab.sw, `ip link set ${port} up`);
    await waitFor(() => lab.state().ports.every((x: { mii_status: string }) => x.mii_status === 'up'), 3000, 'both slaves up again');
    return p;
  }

  /** Starts dnsmasq on the client side; the path of its lease file. */
  function startDnsmasq(tag: string): string {
    const leases = join(lab.runDir, `dnsmasq-${tag}.leases`);
    rmSync(leases, { force: true });
    dnsmasq = lab.shAsync(
      lab.cli,
      `dnsmasq --no-daemon --port=0 --interface=eth0 --bind-interfaces --dhcp-authoritative --dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,10m ` +
        `--dhcp-option=3,198.18.0.254 --dhcp-leasefile=${leases} --pid-file= --conf-file=/dev/null 2>&1`,
      90_000,
    );
    return leases;
  }

  /** The address bond0 leased (waits for it). */
  async function leasedAddress(client: string): Promise<string> {
    let leased = '';
    await waitFor(
      () => {
        leased = bondV4().find((x) => x.startsWith('198.18.0.1')) ?? '';
        return leased !== '';
      },
      20_000,
      `a DHCP lease on bond0 (${client})\n${lab.bonddLog()}\n${lab.sh(lab.srv, `cat ${lab.runDir}/dhcp/bond0.4.log`, { allowFail: true })}`,
    );
    return leased;
  }

  const dhcpPid = () =>
    Number(
      /pid (\d+)\)/.exec(
        lab
          .bonddLog()
          .split('\n')
          .find((l) => l.includes('DHCPv4 on bond0')) ?? '',
      )?.[1],
    );
  /** Whether `pid` runs (a zombie whose parent is gone does not). */
  const alive = (pid: number) => lab.sh(lab.srv, `awk '{print $3}' /proc/${pid}/stat 2>/dev/null || true`).trim().replace('Z', '') !== '';
  const ended = (pid: number) => waitFor(() => !alive(pid), 3000, `pid ${pid} to end`);

  it('restarts keep it all: the DHCP client and its lease (SIGTERM), the bridge and its ports (SIGKILL)', async () => {
    startDnsmasq('restart');
    const args = writeFiles(files, 'ifcfg', 'dhcp');
    await lab.startBondd(args);
    const leased = await leasedAddress('dhclient');
    const pid = dhcpPid();
    expect(alive(pid)).toBe(true);
    await lab.stopBondd('SIGTERM');
    await lab.startBondd(args);
    expect(lab.bonddLog()).toContain(`DHCPv4 on bond0: dhclient (pid ${pid}) goes on`);
    expect(alive(pid)).toBe(true);
    expect(bondV4()).toContain(leased);
    await lab.stopBondd(); // delete: the client goes with the bond
    await ended(pid);

    const bargs = writeFiles(files, 'netplan', 'bridge');
    await lab.startBondd(bargs);
    await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
    const brIndex = lab.link(lab.srv, 'br0') as unknown as { ifindex: number };
    const pinger = lab.shAsync(guest, 'ping -c 300 -i 0.01 -W 1 198.18.0.2');
    await sleep(500);
    await lab.stopBondd('SIGKILL');
    await lab.startBondd(bargs);
    const p = pingSummary(await pinger);
    expect((lab.link(lab.srv, 'br0') as unknown as { ifindex: number }).ifindex).toBe(brIndex.ifindex);
    expect(lab.bonddLog()).not.toContain('bridge br0 made');
    expect(brPorts()).toEqual(['bond0', 'vg0']);
    // the kernel path forwards while no bondd runs; the user path loses what the gap costs
    expect(p.received).toBeGreaterThanOrEqual(process.env.TAPBOND_DATAPATH === 'user' ? 200 : 290);
  });

  it('DHCPv6 and router advertisements from a real server (dnsmasq), with dhclient -6', async () => {
    const dir = join(files, 'v6');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, '01.yaml'),
      `network:\n  ethernets:\n    s0: {}\n    s1: {}\n  bonds:\n    bond0:\n      interfaces: [s0, s1]\n      parameters:\n        mode: ${OPTS.mode}\n` +
        `        mii-monitor-interval: ${OPTS.miimon}\n      dhcp6: true\n      accept-ra: true\n`,
    );
    const leases = join(lab.runDir, 'dnsmasq-v6.leases');
    dnsmasq = lab.shAsync(
      lab.cli,
      `dnsmasq --no-daemon --port=0 --interface=eth0 --bind-interfaces --dhcp-authoritative --enable-ra ` +
        `--dhcp-range=2001:db8::100,2001:db8::1ff,64,10m --dhcp-leasefile=${leases} --pid-file= --conf-file=/dev/null 2>&1`,
      60_000,
    );
    await lab.startBondd(['--netplan-dir', dir]);
    expect(lab.sh(lab.srv, 'cat /proc/sys/net/ipv6/conf/bond0/accept_ra').trim()).toBe('2');
    let leased = '';
    await waitFor(
      () => {
        const a = JSON.parse(lab.sh(lab.srv, 'ip -j -6 addr show dev bond0 scope global'))[0]?.addr_info ?? [];
        leased = a.find((x: { local: string; prefixlen: number }) => x.prefixlen === 128)?.local ?? '';
        return leased !== '';
      },
      20_000,
      `a DHCPv6 lease on bond0\n${lab.bonddLog()}\n${lab.sh(lab.srv, `cat ${lab.runDir}/dhcp/bond0.6.log`, { allowFail: true })}`,
    );
    expect(lab.bonddLog()).toContain('DHCPv6 on bond0: dhclient');
    await waitFor(() => readFileSync(leases, 'utf8').includes(leased), 3000, 'dnsmasq lease file');
    // the router advertisement's default route, taken because accept_ra is 2
    await waitFor(() => lab.sh(lab.srv, 'ip -6 route show default').includes('proto ra'), 10_000, 'a default route from RA');
    expect(pingSummary(lab.sh(lab.cli, `ping -6 -c 2 -i 0.2 -W 1 ${leased}`, { allowFail: true })).received).toBe(2);
  });

  it('bondctl recover after a crash takes down the bridge bondd made and its DHCP client', async () => {
    startDnsmasq('recover');
    const args = writeFiles(files, 'networkd', 'dhcp');
    await lab.startBondd(args);
    await leasedAddress('dhclient');
    const pid = dhcpPid();
    await lab.stopBondd('SIGKILL');
    lab.bondctl(['recover', 'bond0']);
    await ended(pid);
    expect(lab.sh(lab.srv, 'ip -o link show')).not.toMatch(/ bond0:/);
    const bargs = writeFiles(files, 'nm', 'bridge');
    await lab.startBondd(bargs);
    await lab.stopBondd('SIGKILL');
    lab.bondctl(['recover', 'bond0']);
    expect(lab.sh(lab.srv, 'ip -o link show')).not.toMatch(/ (bond0|br0):/);
    expect(lab.sh(lab.srv, 'ip -o link show vg0')).not.toContain('master');
  });

  it('a VLAN over the bond: made where the kernel has 8021q, else an error naming it; the bond runs either way', async () => {
    const dir = join(files, 'vlan');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'interfaces'),
      `auto bond0\niface bond0 inet static\n    address 198.18.0.1/24\n    bond-slaves s0 s1\n    bond-mode ${OPTS.mode}\n    bond-miimon ${OPTS.miimon}\n\nauto bond0.100\niface bond0.100 inet static\n    address 198.18.100.1/24\n`,
    );
    await lab.startBondd(['--interfaces', join(dir, 'interfaces')]);
    await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
    const vlan = lab.sh(lab.srv, 'ip -j -d link show bond0.100 2>/dev/null || echo none').trim();
    if (vlan === 'none') {
      expect(existsSync('/sys/module/8021q')).toBe(false);
      expect(lab.bonddLog()).toContain(
        `${join(dir, 'interfaces')}:9: VLAN bond0.100 (id 100) on bond0 not made: this kernel has no 802.1Q VLAN support (the 8021q module)`,
      );
    } else expect(JSON.parse(vlan)[0]).toMatchObject({ link: 'bond0', linkinfo: { info_kind: 'vlan', info_data: { id: 100 } } });
    expect(pingSummary(lab.sh(lab.cli, 'ping -c 2 -i 0.2 -W 1 198.18.0.1', { allowFail: true })).received).toBe(2);
  });

  for (const f of FORMATS) {
    it(`${f}: a gateway and a static route, applied and taken away with the bond`, async () => {
      const args = writeFiles(files, f, 'static');
      await lab.startBondd(args);
      await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
      const r = routes();
      expect(r.find((x) => x.dst === 'default')).toMatchObject({ gateway: '198.18.0.254', dev: 'bond0' });
      expect(r.find((x) => x.dst === '198.19.7.0/24')).toMatchObject({ gateway: '198.18.0.253', dev: 'bond0', metric: 50 });
      // only the default route reaches 198.19.5.1, only the static one 198.19.7.1 (the client
      // answers from its lo either way; the ping fails without the route)
      expect(pingSummary(lab.sh(lab.srv, 'ping -c 2 -i 0.2 -W 1 198.19.5.1', { allowFail: true })).received).toBe(2);
      expect(pingSummary(lab.sh(lab.srv, 'ping -c 2 -i 0.2 -W 1 198.19.7.1', { allowFail: true })).received).toBe(2);
      expect(JSON.parse(lab.sh(lab.srv, 'ip -j route get 198.19.7.1'))[0].gateway).toBe('198.18.0.253');
      await lab.stopBondd(); // bondctl delete: the bond goes, and its routes with it
      expect(lab.sh(lab.srv, 'ip -4 route show')).not.toMatch(/198\.18\.0\.25[34]/);
    });

    it(`${f}: DHCP from a real server, the lease kept across a failover`, async () => {
      const args = writeFiles(files, f, 'dhcp');
      const leases = startDnsmasq(f);
      // udhcpc (busybox) for two formats, dhclient for the rest
      const client = f === 'suse' || f === 'ifupdown' ? 'udhcpc' : 'dhclient';
      await lab.startBondd(args, 'bond0', undefined, { TAPBOND_DHCP_CLIENT: client });
      const leased = await leasedAddress(client);
      expect(lab.bonddLog()).toContain(`DHCPv4 on bond0: ${client}`);
      // the server's own record: this lease, to the bond's MAC
      await waitFor(() => readFileSync(leases, 'utf8').includes(leased), 3000, 'dnsmasq lease file');
      expect(readFileSync(leases, 'utf8')).toContain(`${bondMac()} ${leased}`);
      expect(routes().find((x) => x.dst === 'default')).toMatchObject({ gateway: '198.18.0.254', dev: 'bond0', protocol: 'dhcp' });
      const lifetime = () =>
        JSON.parse(lab.sh(lab.srv, 'ip -j -4 addr show dev bond0'))[0].addr_info.find((x: { local: string }) => x.local === leased)
          .valid_life_time;
      expect(lifetime()).toBeLessThanOrEqual(600);
      const p = await pingAcrossFailover(lab.cli, leased);
      expect(p.received).toBeGreaterThanOrEqual(190);
      // the same lease, still on bond0, still in the server's table
      expect(bondV4()).toContain(leased);
      expect(readFileSync(leases, 'utf8')).toContain(`${bondMac()} ${leased}`);
    });

    it(`${f}: a bridge over the bond with the host's address, a guest reaching out across a failover`, async () => {
      const args = writeFiles(files, f, 'bridge');
      await lab.startBondd(args);
      await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
      expect(brPorts()).toEqual(['bond0', 'vg0']);
      const br = JSON.parse(lab.sh(lab.srv, 'ip -j -d link show br0'))[0].linkinfo.info_data;
      expect(br.stp_state).toBe(0);
      expect(br.forward_delay).toBe(0);
      expect(JSON.parse(lab.sh(lab.srv, 'ip -j -4 addr show dev br0'))[0].addr_info[0].local).toBe('198.18.0.1');
      expect(routes().find((x) => x.dst === 'default')).toMatchObject({ gateway: '198.18.0.254', dev: 'br0' });
      await waitFor(
        () => JSON.parse(lab.sh(lab.srv, 'bridge -j link show')).every((p: { state: string }) => p.state === 'forwarding'),
        3000,
        'ports forwarding',
      );
      // the host through its gateway, the guest through the bridge and the bond
      expect(pingSummary(lab.sh(lab.srv, 'ping -c 2 -i 0.2 -W 1 198.19.5.1', { allowFail: true })).received).toBe(2);
      expect(pingSummary(lab.sh(guest, 'ping -c 2 -i 0.2 -W 1 198.18.0.2', { allowFail: true })).received).toBe(2);
      const p = await pingAcrossFailover(guest, '198.18.0.2');
      expect(p.received).toBeGreaterThanOrEqual(190);
      await lab.stopBondd(); // bondd made br0: it goes with the bond, and vg0 is free again
      expect(lab.sh(lab.srv, 'ip -o link show')).not.toMatch(/ br0:/);
      expect(lab.sh(lab.srv, 'ip -o link show vg0')).not.toContain('master');
    });
  }
});
