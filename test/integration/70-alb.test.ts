// balance-alb receive load balancing seen from the outside: three client namespaces behind the
// bridge "switch" resolve the bond's address, learn different slave MACs (their own neighbour
// tables), their traffic arrives over different switch ports (the switch's counters), and a
// slave failure moves its clients to the others while they keep talking; a restart keeps them
// where they were.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, pingSummary, skipReason, sleep, waitFor, mustSkip } from '../helpers/lab.js';

const reason = skipReason();

describe.skipIf(mustSkip(reason))('balance-alb with three clients behind a switch', () => {
  const lab = new Lab('alb');
  const extra = [`${lab.prefix}-c1`, `${lab.prefix}-c2`];
  const clients = [
    { ns: lab.cli, ip: '198.18.0.2' },
    { ns: extra[0], ip: '198.18.0.3' },
    { ns: extra[1], ip: '198.18.0.4' },
  ];
  const run = (args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  beforeAll(() => {
    lab.up(3);
    extra.forEach((ns, i) => {
      run(['netns', 'add', ns]);
      run(['-n', lab.sw, 'link', 'add', `x${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run(['-n', lab.sw, 'link', 'set', `x${i}`, 'master', 'br0', 'up']);
      run(['-n', ns, 'addr', 'add', `${clients[i + 1].ip}/24`, 'dev', 'eth0']);
      run(['-n', ns, 'link', 'set', 'eth0', 'up']);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
    });
  });
  afterAll(() => {
    for (const ns of extra) {
      try {
        run(['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    lab.down();
  });

  const neighMac = (ns: string) => {
    const out = lab.sh(ns, 'ip -j neigh show 198.18.0.1');
    return (JSON.parse(out || '[]')[0]?.lladdr as string | undefined) ?? null;
  };
  const swTx = () => [0, 1, 2].map((i) => lab.stats(lab.sw, `p${i}`).tx_packets);

  it("clients learn different slave MACs, traffic arrives spread, a failed slave's clients move", async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1,s2', 'mode=balance-alb', 'miimon=50']);
    try {
      await lab.addressBond();
      for (const c of clients) lab.sh(c.ns, 'ip neigh flush all');
      for (const c of clients) lab.sh(c.ns, 'ping -c 2 -i 0.1 -W 1 198.18.0.1');
      await sleep(300);
      const slaveMacs = [0, 1, 2].map((i) => lab.link(lab.srv, `s${i}`).address);
      const learnt = clients.map((c) => neighMac(c.ns));
      expect(new Set(learnt).size).toBe(3);
      for (const m of learnt) expect(slaveMacs).toContain(m);

      const before = swTx();
      for (const c of clients) lab.sh(c.ns, 'ping -c 100 -i 0.005 -W 1 198.18.0.1');
      const after = swTx();
      const d = after.map((v, i) => v - before[i]);
      for (const x of d) expect(x).toBeGreaterThanOrEqual(100); // each switch port carried one client's pings

      // the slave of a client not on the active slave fails (carrier off on the switch side)
      const bondMac = lab.link(lab.srv, 'bond0').address;
      const ci = learnt.findIndex((m) => m !== bondMac);
      const victim = slaveMacs.indexOf(learnt[ci]!);
      lab.sh(lab.sw, `ip link set p${victim} down`);
      const t0 = Date.now();
      await waitFor(() => neighMac(clients[ci].ns) !== learnt[ci], 3000, 'the client taught a new MAC');
      const moveMs = Date.now() - t0;
      expect(moveMs).toBeLessThan(3000);
      const p = pingSummary(lab.sh(clients[ci].ns, 'ping -c 20 -i 0.02 -W 1 198.18.0.1'));
      expect(p.received).toBe(20);
      const st = lab.state();
      expect(st.mode.rlb_clients.find((c: { client: string }) => c.client === clients[ci].ip).slave).not.toBe(`s${victim}`);
      lab.sh(lab.sw, `ip link set p${victim} up`);
    } finally {
      await lab.stopBondd();
    }
  });

  it('a restart (SIGTERM, then SIGKILL) keeps every client on its slave: the RLB table is restored, not taught anew', async () => {
    const args = ['--name', 'bond0', '--slaves', 's0,s1,s2', 'mode=balance-alb', 'miimon=50', '--log-format', 'json'];
    await lab.startBondd(args);
    try {
      await lab.addressBond();
      for (const c of clients) lab.sh(c.ns, 'ip neigh flush all');
      for (const c of clients) lab.sh(c.ns, 'ping -c 2 -i 0.1 -W 1 198.18.0.1');
      await sleep(1500); // the RLB table reaches the journal with the next once-a-second chore
      const slaveOf = () =>
        Object.fromEntries(lab.state().mode.rlb_clients.map((c: { client: string; slave: string }) => [c.client, c.slave]));
      const assigned = slaveOf();
      const taught = clients.map((c) => neighMac(c.ns));
      expect(new Set(taught).size).toBe(3);
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        await lab.stopBondd(signal);
        await sleep(300);
        const b = await lab.startBondd(args);
        expect(b.log()).toContain('"event":"adopted"');
        // bondd's own view: every client where it was
        expect(slaveOf()).toEqual(assigned);
        // the clients' view: they ask again, in the reverse order (a table built anew would hand
        // out the slaves in the order the requests come), and are taught the same MACs
        for (const c of clients) lab.sh(c.ns, 'ip neigh flush all');
        for (const c of [...clients].reverse()) lab.sh(c.ns, 'ping -c 2 -i 0.1 -W 1 198.18.0.1');
        await sleep(300);
        expect(clients.map((c) => neighMac(c.ns))).toEqual(taught);
        await sleep(1500);
      }
    } finally {
      await lab.stopBondd();
    }
  });
});
