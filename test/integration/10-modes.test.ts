// Ping (IPv4 and IPv6) and TCP through the bond in each mode, with real veths: three modes on the
// datapath the run asks for (TAPBOND_DATAPATH; .ci/run's host stage: the kernel fast path), and
// all seven on the user-space path (--datapath user), so the host stage carries real traffic over
// both. 802.3ad has no LACP partner here (a plain bridge): each port is an individual aggregator
// and one carries the traffic, as in the kernel; 60-lacp runs it against Open vSwitch.
//   srv: bondd, bond0 198.18.0.1 over s0,s1  <->  sw: br0 (p0,p1,c0)  <->  cli: eth0 198.18.0.2
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, pingSummary, skipReason, mustSkip } from '../helpers/lab.js';

const reason = skipReason();
const ALL = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'];

describe.skipIf(mustSkip(reason))('traffic through the bond in each mode', () => {
  const lab = new Lab('m');
  beforeAll(() => lab.up(2));
  afterAll(() => lab.down());

  const cases: [string, string[]][] = [
    ...['active-backup', 'balance-rr', 'broadcast'].map((m): [string, string[]] => [m, []]),
    ...ALL.map((m): [string, string[]] => [m, ['--datapath', 'user']]),
  ];
  for (const [mode, extra] of cases) {
    it(`${mode}${extra.length ? ' on the user-space path' : ''}: ping v4/v6 and TCP`, async () => {
      await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', `mode=${mode}`, 'miimon=100', ...extra]);
      try {
        await lab.addressBond();
        const p4 = pingSummary(lab.sh(lab.srv, 'ping -c 20 -i 0.02 -W 1 198.18.0.2'));
        expect(p4.received).toBe(20);
        const p6 = pingSummary(lab.sh(lab.srv, 'ping -6 -c 10 -i 0.02 -W 1 2001:db8::2'));
        expect(p6.received).toBe(10);
        if (mode !== 'broadcast') {
          // no duplicates: backups and the slaves' own stacks deliver nothing extra
          expect(p4.dups).toBe(0);
          expect(p6.dups).toBe(0);
        }
        // TCP both ways: the server listens in the client namespace for 1 connection
        lab.sh(lab.cli, 'timeout 20 iperf3 -s -1 -D -p 5201');
        await new Promise((r) => setTimeout(r, 300));
        const j = JSON.parse(lab.sh(lab.srv, 'timeout 20 iperf3 -c 198.18.0.2 -p 5201 -t 1 -J', { timeoutMs: 25_000 }));
        expect(j.end.sum_received.bytes).toBeGreaterThan(1_000_000);
        const show = lab.bondctl(['show', 'bond0']).out;
        expect(show).toContain('MII Status: up');
        expect(show).toContain('Slave Interface: s1');
        if (extra.length) expect(show).toMatch(/^Ethernet Channel Bonding Driver: tapbond v\S+, datapath user space$/m);
        // the switch saw the frames on the bond's links (an observer other than bondd)
        const seen = lab.stats(lab.sw, 'p0').rx_packets + lab.stats(lab.sw, 'p1').rx_packets;
        expect(seen).toBeGreaterThan(30);
      } finally {
        // the bond outlives bondd: the next case adopts it in its own mode and datapath
        expect(await lab.stopBondd()).toBe(0);
      }
    });
  }
});
