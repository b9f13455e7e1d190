// ad_select=actor_port_prio, as the kernel's selftest bond_lacp_prio.sh does it: one bond with
// four links, two to a "switch" and two to a "backup switch" (each a bondd 802.3ad partner in
// its own process). The per-slave actor_port_prio decides which aggregator is active; the
// partners' own LACP state (their view of us) is the outside observer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, skipReason, waitFor, mustSkip } from '../helpers/lab.js';

const reason = skipReason();

describe.skipIf(mustSkip(reason))('802.3ad ad_select=actor_port_prio with two partners', () => {
  const lab = new Lab('p');
  beforeAll(() => lab.pair(4));
  afterAll(() => lab.down());

  const distributing = (bond: string, ns?: string) => lab.state(bond, ns).mode.distributing as string[];
  /** What a partner bond has learnt about us: the port priority in our LACPDUs, per its port. */
  const partnerView = (bond: string) =>
    lab
      .state(bond, lab.cli)
      .ports.map((p: { name: string; lacp: { partner: { portPriority: number } } }) => `${p.name}:${p.lacp.partner.portPriority}`);

  it('the aggregator with the highest priority sum wins, and swapping the priorities moves it', async () => {
    await lab.startBondd(['--name', 'bond1', '--slaves', 'q0,q1', 'mode=802.3ad', 'lacp_rate=fast'], 'bond1', lab.cli);
    await lab.startBondd(['--name', 'bond2', '--slaves', 'q2,q3', 'mode=802.3ad', 'lacp_rate=fast'], 'bond2', lab.cli);
    try {
      await lab.startBondd([
        '--name',
        'bond0',
        '--slaves',
        's0,s1,s2,s3',
        '--slave-option',
        's0:actor_port_prio=100',
        '--slave-option',
        's1:actor_port_prio=100',
        '--slave-option',
        's2:actor_port_prio=255',
        '--slave-option',
        's3:actor_port_prio=255',
        'mode=802.3ad',
        'lacp_rate=fast',
        'ad_select=actor_port_prio',
      ]);
      // 255 + 255 > 100 + 100: the backup switch's aggregator (s2, s3) is active
      await waitFor(() => distributing('bond0').join() === 's2,s3', 10_000, 'bond0 distributing on s2,s3');
      await waitFor(() => distributing('bond2', lab.cli).join() === 'q2,q3', 5000, 'partner bond2 distributing');
      expect(distributing('bond1', lab.cli)).toEqual([]);
      expect(partnerView('bond1')).toEqual(['q0:100', 'q1:100']);
      expect(partnerView('bond2')).toEqual(['q2:255', 'q3:255']);
      expect(lab.state().ports.map((p: { actor_port_prio: number }) => p.actor_port_prio)).toEqual([100, 100, 255, 255]);

      // reversed at runtime (bondctl set-slave, the kernel's `ip link set DEV type bond_slave`)
      for (const s of ['s0', 's1']) lab.bondctl(['set-slave', 'bond0', s, 'actor_port_prio=1000']);
      for (const s of ['s2', 's3']) lab.bondctl(['set-slave', 'bond0', s, 'actor_port_prio=10']);
      await waitFor(() => distributing('bond0').join() === 's0,s1', 10_000, 'bond0 moving to s0,s1');
      await waitFor(
        () => distributing('bond1', lab.cli).join() === 'q0,q1' && distributing('bond2', lab.cli).length === 0,
        5000,
        'the partners following',
      );
      expect(partnerView('bond1')).toEqual(['q0:1000', 'q1:1000']);

      // a bad value is refused with the option, the value and the range, and changes nothing
      const bad = lab.bondctl(['set-slave', 'bond0', 's0', 'actor_port_prio=0'], true);
      expect(bad.code).not.toBe(0);
      expect(bad.out).toContain("actor_port_prio: invalid value '0'; allowed: an integer from 1 to 65535");
      expect(lab.state().ports[0].actor_port_prio).toBe(1000);
    } finally {
      await lab.stopAll();
    }
  });
});
