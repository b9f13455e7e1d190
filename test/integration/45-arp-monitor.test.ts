// ARP monitor with real ARP traffic: three slaves, the client as the ARP target.
//   srv: bondd over s0..s2 (198.18.0.1)  <->  sw: br0  <->  cli: eth0 198.18.0.2 (target)
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, have, Lab, pingSummary, skipReason, sleep, waitFor, mustSkip } from '../helpers/lab.js';

const reason = skipReason() || (have('python3') ? '' : 'needs python3');

describe.skipIf(mustSkip(reason))('ARP monitor', () => {
  const lab = new Lab('a');
  beforeAll(() => lab.up(3));
  afterAll(() => lab.down());

  const statuses = () => lab.state().ports.map((p: { mii_status: string }) => p.mii_status);
  // active-backup with no slave up probes one candidate per interval, rotating, and shows it
  // "going back", then "going down", as the kernel does: none of them is up
  const noneUp = (s: string[]) => s.length > 0 && s.every((x) => x === 'down' || x === 'going down' || x === 'going back');
  const failures = () => lab.state().ports.map((p: { link_failure_count: number }) => p.link_failure_count);

  /** The client back as the target: link up and its IPv6 address (it goes with the link). */
  const targetUp = () => lab.sh(lab.cli, 'ip link set eth0 up && ip addr replace 2001:db8::2/64 dev eth0 nodad');

  async function start(opts: string[]): Promise<void> {
    targetUp();
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1,s2', 'arp_interval=100', 'arp_ip_target=198.18.0.2', ...opts]);
    lab.sh(lab.cli, 'ip neigh flush all');
    lab.sh(lab.srv, 'ip addr add 198.18.0.1/24 dev bond0 && ip addr add 2001:db8::1/64 dev bond0 nodad');
  }

  it('takes slaves down after arp_missed_max intervals without replies and brings them back (active-backup, validate all)', async () => {
    await start(['mode=active-backup', 'arp_validate=all', 'arp_missed_max=3']);
    try {
      await waitFor(() => statuses().every((s: string) => s === 'up'), 3000, 'all up');
      const f0 = failures();
      const active = lab.state().bond.active_slave;
      lab.sh(lab.cli, 'ip link set eth0 down'); // the target stops answering
      const t0 = Date.now();
      await waitFor(() => noneUp([lab.state().ports.find((p: { name: string }) => p.name === active).mii_status]), 3000, 'active down');
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(250); // not before missed_max (3) intervals
      expect(took).toBeLessThan(900);
      await waitFor(() => noneUp(statuses()), 3000, 'none up');
      expect(failures().map((f: number, i: number) => f - f0[i])).toEqual([1, 1, 1]);
      await waitFor(() => lab.link(lab.srv, 'bond0').operstate !== 'UP', 2000, 'bond carrier off');
      lab.sh(lab.cli, 'ip link set eth0 up');
      await waitFor(() => statuses().every((s: string) => s === 'up'), 3000, 'all up again');
      expect(pingSummary(lab.sh(lab.srv, 'ping -c 3 -i 0.05 -W 1 198.18.0.2')).received).toBe(3);
      expect(lab.bondctl(['show', 'bond0']).out).toContain(
        'ARP Polling Interval (ms): 100\nARP Missed Max: 3\nARP IP target/s (n.n.n.n form): 198.18.0.2',
      );
    } finally {
      await lab.stopBondd();
    }
  });

  it('load-balancing modes: a slave is up while it both sends and receives (balance-xor, one slave)', async () => {
    lab.sh(lab.cli, 'ip link set eth0 up');
    await lab.startBondd([
      '--name',
      'bond0',
      '--slaves',
      's0',
      'mode=balance-xor',
      'arp_interval=100',
      'arp_ip_target=198.18.0.2',
      'arp_missed_max=2',
    ]);
    try {
      lab.sh(lab.srv, 'ip addr add 198.18.0.1/24 dev bond0');
      await waitFor(() => statuses()[0] === 'up', 3000, 'up');
      lab.sh(lab.cli, 'ip link set eth0 down');
      await waitFor(() => statuses()[0] === 'down', 2000, 'down without replies');
      lab.sh(lab.cli, 'ip link set eth0 up');
      await waitFor(() => statuses()[0] === 'up', 3000, 'up again');
    } finally {
      await lab.stopBondd();
    }
  });

  for (const validate of ['none', 'active', 'backup', 'all', 'filter', 'filter_active', 'filter_backup']) {
    it(`active-backup, arp_validate=${validate}: all three slaves reach up and stay up`, async () => {
      await start(['mode=active-backup', `arp_validate=${validate}`]);
      try {
        // the address comes after the start: the probes sent without one are not validated, so
        // the slaves may go down and up once while it settles (a few intervals); count after that
        await waitFor(() => statuses().every((s: string) => s === 'up'), 4000, 'all up');
        await sleep(600);
        await waitFor(() => statuses().every((s: string) => s === 'up'), 4000, 'all up, settled');
        const f0 = failures();
        await sleep(1500);
        expect(statuses()).toEqual(['up', 'up', 'up']);
        expect(failures(), lab.bonddLog()).toEqual(f0);
        expect(pingSummary(lab.sh(lab.srv, 'ping -c 3 -i 0.05 -W 1 198.18.0.2')).received).toBe(3);
      } finally {
        await lab.stopBondd();
      }
    });
  }

  for (const [all, expectUp] of [
    ['any', true],
    ['all', false],
  ] as const) {
    it(`arp_all_targets=${all} with one dead target: slaves ${expectUp ? 'stay up' : 'go down'}`, async () => {
      await start(['mode=active-backup', 'arp_validate=all', `arp_all_targets=${all}`, 'arp_ip_target=198.18.0.2,198.18.0.99']);
      try {
        await sleep(2000);
        const s = statuses();
        if (expectUp) expect(s).toEqual(['up', 'up', 'up']);
        else expect(noneUp(s), s.join()).toBe(true);
      } finally {
        await lab.stopBondd();
      }
    });
  }

  for (const [validate, expectUp] of [
    ['all', false],
    ['none', true],
  ] as const) {
    it(`third-party ARP noise with the target unreachable: arp_validate=${validate} -> slaves ${expectUp ? 'stay up (documented)' : 'go down'}`, async () => {
      await start(['mode=active-backup', `arp_validate=${validate}`, 'arp_ip_target=198.18.0.77']);
      // another host keeps ARPing on the segment (broadcast requests the bond hears on every slave)
      const noise = spawn(
        'ip',
        [
          'netns',
          'exec',
          lab.cli,
          'timeout',
          '4',
          'python3',
          '-c',
          `
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('eth0', 0))
mac = bytes.fromhex(open('/sys/class/net/eth0/address').read().strip().replace(':', ''))
arp = bytes([0,1,8,0,6,4,0,1]) + mac + bytes([198,18,0,2]) + bytes(6) + bytes([198,18,0,50])
while True:
    s.send(b'\\xff' * 6 + mac + b'\\x08\\x06' + arp + bytes(18)); time.sleep(0.02)`,
        ],
        { stdio: 'ignore' },
      );
      try {
        await sleep(2500);
        const s = statuses();
        if (expectUp) expect(s).toEqual(['up', 'up', 'up']);
        else expect(noneUp(s), s.join()).toBe(true);
      } finally {
        noise.kill();
        await lab.stopBondd();
      }
    });
  }

  it("probes with sender 0.0.0.0 for a target outside the bond's subnets (tcpdump)", async () => {
    await start(['mode=active-backup', 'arp_ip_target=198.19.5.5']);
    let cap = '';
    const tcpdump = spawn('ip', ['netns', 'exec', lab.sw, 'timeout', '1.5', 'tcpdump', '-i', 'p0', '-nn', '-l', 'arp'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    tcpdump.stdout.on('data', (d) => (cap += d));
    try {
      await exited(tcpdump);
      expect(cap).toMatch(/Request who-has 198\.19\.5\.5 tell 0\.0\.0\.0/);
      expect(cap).not.toMatch(/who-has 198\.19\.5\.5 tell 198\.18\.0\.1/);
    } finally {
      await lab.stopBondd();
    }
  });

  it('NS monitor: an IPv6 target keeps slaves up through neighbour advertisements and takes them down without', async () => {
    targetUp();
    await lab.startBondd([
      '--name',
      'bond0',
      '--slaves',
      's0,s1,s2',
      'mode=active-backup',
      'arp_interval=100',
      'ns_ip6_target=2001:db8::2',
      'arp_validate=all',
    ]);
    try {
      lab.sh(lab.srv, 'ip addr add 2001:db8::1/64 dev bond0 nodad');
      await waitFor(() => statuses().every((s: string) => s === 'up'), 4000, 'all up');
      await sleep(1000);
      expect(statuses()).toEqual(['up', 'up', 'up']);
      expect(pingSummary(lab.sh(lab.srv, 'ping -6 -c 3 -i 0.05 -W 1 2001:db8::2')).received).toBe(3);
      // backups joined the target's solicited-node group (validation on backups)
      const backup = lab.state().ports.find((p: { state: string }) => p.state === 'backup');
      expect(backup.multicast).toContain('3333ff000002');
      lab.sh(lab.cli, 'ip link set eth0 down');
      await waitFor(() => noneUp(statuses()), 3000, 'none up');
      // IPv6 addresses go with the link (keep_addr_on_down=0): the target comes back with it
      targetUp();
      await waitFor(() => statuses().every((s: string) => s === 'up'), 4000, 'all up again');
    } finally {
      await lab.stopBondd();
    }
  });

  it('refuses miimon together with arp_interval, naming both', () => {
    const r = lab.sh(
      lab.srv,
      `${process.execPath} ${import.meta.dirname}/../../dist/cli/bondd.js --run-dir ${lab.runDir} --name bond0 --slaves s0 miimon=100 arp_interval=100 arp_ip_target=198.18.0.2; echo "exit=$?"`,
      { allowFail: true },
    );
    expect(r).toMatch(/miimon and arp_interval are mutually exclusive/);
    expect(r).toContain('exit=2');
  });
});
