// The same bond written in six formats (tapbond JSON, RHEL ifcfg, netplan, systemd-networkd,
// NetworkManager keyfile, Debian ifupdown) starts the same bond: one `bondctl state --json`,
// addresses on bond0 as `ip addr` sees them, traffic through it, every slave restored on
// SIGTERM. s1 is matched by its MAC wherever the format can say so. `bondd --system` and
// `--print-config` read a whole /etc; two formats declaring one bond are refused, touching nothing.
//   srv: bondd, bond0 over s0 s1  <-- veth -->  sw: br0  <-->  cli 198.18.0.2
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, mustSkip, pingSummary, ROOT, skipReason, waitFor } from '../helpers/lab.js';

const reason = skipReason();
const BONDD = join(ROOT, 'dist', 'cli', 'bondd.js');

/** The bond every format describes: active-backup, s1 primary, a hash policy the kernel accepts in that mode too. */
function writeFormats(dir: string, s1mac: string): Record<string, string[]> {
  const d = (f: string) => join(dir, f);
  for (const sub of ['json', 'ifcfg', 'netplan', 'networkd', 'nm', 'ifupdown']) mkdirSync(d(sub), { recursive: true });
  writeFileSync(
    d('json/bond0.json'),
    JSON.stringify({
      name: 'bond0',
      slaves: ['s0', 's1'],
      mtu: 1400,
      addresses: ['198.18.0.1/24', '2001:db8::1/64'],
      options: { mode: 'active-backup', miimon: 100, downdelay: 200, primary: 's1', num_grat_arp: 2, xmit_hash_policy: 'layer2+3' },
    }),
  );
  writeFileSync(
    d('ifcfg/ifcfg-bond0'),
    'DEVICE=bond0\nONBOOT=yes\nMTU=1400\nIPADDR=198.18.0.1\nPREFIX=24\nIPV6ADDR=2001:db8::1/64\n' +
      'BONDING_OPTS="mode=active-backup miimon=100 downdelay=200 primary=s1 num_grat_arp=2 xmit_hash_policy=layer2+3"\n',
  );
  writeFileSync(d('ifcfg/ifcfg-s0'), 'DEVICE=s0\nMASTER=bond0\nSLAVE=yes\n');
  writeFileSync(d('ifcfg/ifcfg-s1'), `DEVICE=s1\nHWADDR=${s1mac.toUpperCase()}\nMASTER=bond0\nSLAVE=yes\n`);
  writeFileSync(
    d('netplan/50-bond.yaml'),
    `network:\n  version: 2\n  ethernets:\n    s0: {}\n    second:\n      match:\n        macaddress: "${s1mac}"\n` +
      '  bonds:\n    bond0:\n      interfaces: [s0, second]\n      mtu: 1400\n      addresses: [198.18.0.1/24, "2001:db8::1/64"]\n' +
      '      parameters:\n        mode: active-backup\n        mii-monitor-interval: 100ms\n        down-delay: 200\n        primary: second\n' +
      '        gratuitous-arp: 2\n        transmit-hash-policy: layer2+3\n',
  );
  writeFileSync(
    d('networkd/10-bond0.netdev'),
    '[NetDev]\nName=bond0\nKind=bond\nMTUBytes=1400\n\n[Bond]\nMode=active-backup\nMIIMonitorSec=100ms\nDownDelaySec=0.2s\nGratuitousARP=2\nTransmitHashPolicy=layer2+3\n',
  );
  writeFileSync(d('networkd/20-bond0.network'), '[Match]\nName=bond0\n[Network]\nAddress=198.18.0.1/24\nAddress=2001:db8::1/64\n');
  writeFileSync(d('networkd/30-s0.network'), '[Match]\nName=s0\n[Network]\nBond=bond0\n');
  writeFileSync(d('networkd/31-s1.network'), `[Match]\nMACAddress=${s1mac}\n[Network]\nBond=bond0\nPrimarySlave=yes\n`);
  writeFileSync(
    d('nm/bond0.nmconnection'),
    '[connection]\nid=bond0\nuuid=0d7e7f5c-4e43-4e8e-8f0e-5b7f0c1b0b00\ntype=bond\ninterface-name=bond0\n[ethernet]\nmtu=1400\n' +
      '[bond]\nmode=active-backup\nmiimon=100\ndowndelay=200\nprimary=s1\nnum_grat_arp=2\nxmit_hash_policy=layer2+3\n' +
      '[ipv4]\nmethod=manual\naddress1=198.18.0.1/24\n[ipv6]\nmethod=manual\naddress1=2001:db8::1/64\n',
  );
  writeFileSync(d('nm/s0.nmconnection'), '[connection]\nid=s0\ntype=ethernet\ninterface-name=s0\ncontroller=bond0\nport-type=bond\n');
  writeFileSync(
    d('nm/s1.nmconnection'),
    `[connection]\nid=s1\ntype=ethernet\ncontroller=0d7e7f5c-4e43-4e8e-8f0e-5b7f0c1b0b00\nport-type=bond\n[ethernet]\nmac-address=${s1mac}\n`,
  );
  writeFileSync(
    d('ifupdown/interfaces'),
    'auto bond0\niface bond0 inet static\n    address 198.18.0.1\n    netmask 255.255.255.0\n    mtu 1400\n    bond-slaves s0 s1\n' +
      '    bond-mode active-backup\n    bond-miimon 100\n    bond-downdelay 200\n    bond-primary s1\n    bond-num-grat-arp 2\n' +
      '    bond-xmit-hash-policy layer2+3\niface bond0 inet6 static\n    address 2001:db8::1/64\n',
  );
  return {
    json: ['--config', d('json/bond0.json')],
    ifcfg: ['--ifcfg-dir', d('ifcfg')],
    netplan: ['--netplan-dir', d('netplan')],
    networkd: ['--networkd-dir', d('networkd')],
    nm: ['--nm-dir', d('nm')],
    ifupdown: ['--interfaces', d('ifupdown/interfaces')],
  };
}

/** The state without what differs from one start to the next (ifindex, counters, timers). */
function stable(s: { bond: Record<string, unknown>; ports: Record<string, unknown>[]; options: unknown; mode: unknown }) {
  const { ifindex: _i, counters: _c, failovers: _f, peer_notifications: _p, igmp_resends: _g, learned_macs: _l, ...bond } = s.bond;
  return {
    bond,
    options: s.options,
    ports: s.ports.map(({ ifindex: _x, counters: _y, multicast: _m, link_failure_count: _lf, engine_port: _e, ...p }) => p),
  };
}

describe.skipIf(mustSkip(reason))('the same bond in six formats', () => {
  const lab = new Lab('d');
  const dir = mkdtempSync(join(tmpdir(), 'tapbond-distro-'));
  beforeAll(() => lab.up(2));
  afterAll(() => {
    lab.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the same bond from each: one state, addresses on bond0, traffic, slaves restored', async () => {
    const before = { s0: lab.slave('s0'), s1: lab.slave('s1') };
    const formats = writeFormats(dir, lab.link(lab.srv, 's1').address);
    const states: Record<string, unknown> = {};
    for (const [format, args] of Object.entries(formats)) {
      await lab.startBondd(args);
      try {
        await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, `${format}: bond0 carrier`);
        states[format] = stable(lab.state());
        const addrs = JSON.parse(lab.sh(lab.srv, 'ip -j addr show dev bond0'))[0].addr_info.filter(
          (a: { scope: string }) => a.scope === 'global',
        );
        expect({ format, addrs: addrs.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`).sort() }).toEqual({
          format,
          addrs: ['198.18.0.1/24', '2001:db8::1/64'],
        });
        expect({ format, mtu: lab.link(lab.srv, 'bond0').mtu }).toEqual({ format, mtu: 1400 });
        lab.sh(lab.cli, 'ip neigh flush all');
        expect({ format, ping: pingSummary(lab.sh(lab.srv, 'ping -c 5 -i 0.05 -W 1 198.18.0.2')).received }).toEqual({ format, ping: 5 });
        expect(lab.bondctl(['get', 'bond0', 'mode']).out).toBe('active-backup 1\n');
        expect(lab.bondctl(['get', 'bond0', 'xmit_hash_policy']).out).toBe('layer2+3 2\n');
      } finally {
        expect(await lab.stopBondd()).toBe(0);
      }
      expect({ format, after: { s0: lab.slave('s0'), s1: lab.slave('s1') } }).toEqual({ format, after: before });
    }
    const ref = states.json as { bond: { active_slave: string }; options: Record<string, unknown> };
    expect(ref.bond.active_slave).toBe('s1');
    expect(ref.options).toMatchObject({
      mode: 'active-backup',
      miimon: 100,
      downdelay: 200,
      primary: 's1',
      num_grat_arp: 2,
      xmit_hash_policy: 'layer2+3',
    });
    for (const [format, s] of Object.entries(states)) expect({ format, state: s }).toEqual({ format, state: ref });
  }, 120_000);

  it('per-slave prio: --slave-option at start and bondctl set-slave later move the active slave, as the switch sees', async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', '--slave-option', 's1:prio=10', 'mode=active-backup', 'miimon=100']);
    try {
      await lab.addressBond();
      const mac = lab.link(lab.srv, 'bond0').address;
      // the bridge learns the bond's MAC on the port the active slave sends from
      const learnt = () => {
        lab.sh(lab.sw, `bridge fdb del ${mac} dev p0 master 2>/dev/null; bridge fdb del ${mac} dev p1 master 2>/dev/null; true`);
        lab.sh(lab.srv, 'ping -c 3 -i 0.05 -W 1 198.18.0.2');
        return lab.sh(lab.sw, `bridge fdb show br br0 | grep -i '^${mac} ' | grep -o 'dev p[01]' || true`).trim();
      };
      expect(lab.bondctl(['get', 'bond0', 'active_slave']).out).toBe('s1\n');
      expect(learnt()).toBe('dev p1');
      lab.bondctl(['set-slave', 'bond0', 's0', 'prio=20']);
      expect(lab.bondctl(['get', 'bond0', 'active_slave']).out).toBe('s0\n');
      expect(learnt()).toBe('dev p0');
      expect(lab.state().ports.map((p: { name: string; prio: number }) => [p.name, p.prio])).toEqual([
        ['s0', 20],
        ['s1', 10],
      ]);
      const bad = lab.bondctl(['set-slave', 'bond0', 's0', 'prio=high'], true);
      expect(bad.out).toMatch(/prio: invalid value 'high'; allowed: an integer from -2147483648 to 2147483647/);
    } finally {
      expect(await lab.stopBondd()).toBe(0);
    }
  });

  it('--system reads a whole /etc; --print-config touches nothing; one bond in two formats is refused', () => {
    const root = join(dir, 'etc');
    mkdirSync(join(root, 'netplan'), { recursive: true });
    const s1mac = lab.link(lab.srv, 's1').address;
    writeFormats(join(dir, 'f2'), s1mac);
    writeFileSync(join(root, 'netplan', '50-bond.yaml'), readFileSync(join(dir, 'f2/netplan/50-bond.yaml'), 'utf8'));
    const before = lab.sh(lab.srv, 'ip -j link show');
    const run = (args: string) =>
      lab.sh(lab.srv, `${process.execPath} ${BONDD} --run-dir ${lab.runDir} --system --sysconf-root ${root} ${args}; echo "exit=$?"`, {
        allowFail: true,
      });
    const printed = run('--print-config');
    expect(printed).toContain('exit=0');
    const json = JSON.parse(printed.slice(0, printed.lastIndexOf('exit=')).replace(/^[^{]*/s, ''));
    expect(json.bonds).toHaveLength(1);
    expect(json.bonds[0]).toMatchObject({
      name: 'bond0',
      source: `netplan ${join(root, 'netplan', '50-bond.yaml')}`,
      slaves: [{ name: 's0' }, { name: 'second', mac: s1mac }],
      addresses: ['198.18.0.1/24', '2001:db8::1/64'],
      mtu: 1400,
    });
    expect(json.bonds[0].options).toMatchObject({ mode: 'active-backup', primary: 'second', xmit_hash_policy: 'layer2+3' });
    // a systemd instance finds the same bond there (bondd@bond0 on an Ubuntu host)
    const inst = lab.sh(lab.srv, `${process.execPath} ${BONDD} --instance bond0 --sysconf-root ${root} --print-config`);
    expect(JSON.parse(inst).bonds.map((b: { name: string; source: string }) => [b.name, b.source])).toEqual([
      ['bond0', `netplan ${join(root, 'netplan', '50-bond.yaml')}`],
    ]);
    mkdirSync(join(root, 'network'), { recursive: true });
    writeFileSync(join(root, 'network', 'interfaces'), readFileSync(join(dir, 'f2/ifupdown/interfaces'), 'utf8'));
    const refused = run('');
    expect(refused).toMatch(/bond bond0 is also declared in .*50-bond\.yaml|bond0 is declared twice/);
    expect(refused).toContain('exit=2');
    // a bad value: the file, the line, the option, what is allowed; nothing started
    const bad = join(dir, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(
      join(bad, '01.yaml'),
      'network:\n  ethernets: {s0: {}}\n  bonds:\n    bond0:\n      interfaces: [s0]\n      parameters:\n        mode: fastest\n',
    );
    const r = lab.sh(lab.srv, `${process.execPath} ${BONDD} --run-dir ${lab.runDir} --netplan-dir ${bad}; echo "exit=$?"`, {
      allowFail: true,
    });
    expect(r).toMatch(new RegExp(`${join(bad, '01.yaml')}:7: mode: invalid value 'fastest'; allowed: balance-rr \\(0\\)`));
    expect(r).toContain('exit=2');
    expect(lab.sh(lab.srv, 'ip -j link show')).toBe(before);
  });
});
