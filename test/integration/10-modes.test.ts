// Ping (IPv4 and IPv6) and TCP through the bond in each implemented mode, with real veths.
//   srv: bondd, bond0 198.18.0.1 over s0,s1  <->  sw: br0 (p0,p1,c0)  <->  cli: eth0 198.18.0.2
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, pingSummary, skipReason, mustSkip } from '../helpers/lab.js';

const reason = skipReason();

describe.skipIf(mustSkip(reason))('traffic through the bond in each mode', () => {
  const lab = new Lab('m');
  beforeAll(() => lab.up(2));
  afterAll(() => lab.down());

  for (const mode of ['active-backup', 'balance-rr', 'broadcast']) {
    it(`${mode}: ping v4/v6 and TCP`, async () => {
      await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', `mode=${mode}`, 'miimon=100']);
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
      } finally {
        expect(await lab.stopBondd()).toBe(0);
      }
    });
  }
});
