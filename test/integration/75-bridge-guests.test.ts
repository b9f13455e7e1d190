// A bridge of "virtual machines" on the TAP master (guest stand-ins: a namespace behind a veth
// in the bridge). The guest pings a host beyond the bond and keeps pinging across a failure of
// the slave its traffic uses, in every mode that works over a plain learning switch. Observers:
// the guest's own ping, and the switch's forwarding table (bridge fdb) for the guest's MAC.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, pingSummary, skipReason, sleep, waitFor, mustSkip } from '../helpers/lab.js';

const reason = skipReason();

describe.skipIf(mustSkip(reason))('guests on a bridge over the TAP master', () => {
  const lab = new Lab('vm');
  const guest = `${lab.prefix}-g`;
  const run = (args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  beforeAll(() => {
    lab.up(2);
    run(['netns', 'add', guest]);
    run(['-n', lab.srv, 'link', 'add', 'brvm', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    run(['-n', lab.srv, 'link', 'add', 'vm0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', guest]);
    run(['-n', lab.srv, 'link', 'set', 'vm0', 'master', 'brvm', 'up']);
    run(['-n', lab.srv, 'link', 'set', 'brvm', 'up']);
    run(['-n', guest, 'link', 'set', 'lo', 'up']);
    run(['-n', guest, 'addr', 'add', '198.18.0.50/24', 'dev', 'eth0']);
    run(['-n', guest, 'link', 'set', 'eth0', 'address', '52:54:00:12:34:56', 'up']);
  });
  afterAll(() => {
    try {
      run(['netns', 'del', guest]);
    } catch {
      /* gone */
    }
    lab.down();
  });

  /** The switch port (p0/p1) on which the switch has learnt the guest's MAC. */
  const guestPort = () => {
    const fdb = JSON.parse(lab.sh(lab.sw, 'bridge -j fdb show br br0') || '[]') as { mac: string; ifname: string }[];
    return fdb.find((e) => e.mac === '52:54:00:12:34:56')?.ifname ?? null;
  };

  for (const mode of ['active-backup', 'balance-xor', 'balance-tlb', 'balance-alb']) {
    it(`${mode}: the guest keeps pinging across a failure of its slave`, async () => {
      await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', `mode=${mode}`, 'miimon=20']);
      try {
        lab.sh(lab.srv, 'ip link set bond0 master brvm');
        await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
        lab.sh(guest, 'ip neigh flush all');
        lab.sh(lab.cli, 'ip neigh flush all');
        expect(pingSummary(lab.sh(guest, 'ping -c 3 -i 0.1 -W 1 198.18.0.2')).received).toBe(3);
        const port = guestPort();
        expect(port).toMatch(/^p[01]$/);
        const pinger = lab.shAsync(guest, 'ping -c 300 -i 0.01 -W 1 198.18.0.2');
        await sleep(800);
        lab.sh(lab.sw, `ip link set ${port} down`); // the guest's slave fails (carrier off)
        const out = await pinger;
        lab.sh(lab.sw, `ip link set ${port} up`);
        const p = pingSummary(out);
        // a failover within a few 20 ms miimon ticks and an immediate announcement of the
        // guest's MAC: a handful of 10 ms pings at most
        expect(p.received).toBeGreaterThanOrEqual(285);
        const st = lab.state();
        expect(st.bond.learned_macs).toBeGreaterThanOrEqual(1);
        expect(st.bond.learned_mac_announcements).toBeGreaterThanOrEqual(1);
      } finally {
        await lab.stopBondd();
      }
    });
  }
});
