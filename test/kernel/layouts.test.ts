// /proc/net/bonding and every sysfs file, the real driver against tapbond: the same options on a
// kernel bond in the oracle guest (eth0, eth1) and on bondd's bond over the guest's TAPs (kt0,
// kt1), the two bonds facing each other. Only what must differ is normalised (the driver line,
// MACs, slave names); every other difference fails, except the decided ones in ACCEPTED.
import { describe, expect, it } from 'vitest';
import { mustSkip, skipReason } from '../helpers/lab.js';
import { oracleLab, oracleSkipReason, type BondDump } from '../helpers/oracle.js';
import { sysfsValue, SYSFS_FILES } from '../../src/report/kernel-text.js';

const reason = skipReason() || oracleSkipReason();

/** One row: the options as both sides take them (slave names as the guest calls them). */
interface Case {
  name: string;
  opts: string;
  /** addresses of the two bonds (the ARP monitor's targets answer) */
  l3?: boolean;
  /** lines that may differ in this case, and why */
  timing?: RegExp;
  /** queue_id per slave, as the kernel's sysfs file takes it (`eth1:2`), set after enslaving */
  queues?: string;
}

const CASES: Case[] = [
  { name: 'balance-rr', opts: 'mode=balance-rr miimon=100 packets_per_slave=3', queues: 'eth1:2' },
  {
    name: 'active-backup',
    opts: 'mode=active-backup miimon=100 updelay=200 downdelay=100 primary=eth1 primary_reselect=better',
    queues: 'eth0:16',
  },
  { name: 'active-backup fail_over_mac', opts: 'mode=active-backup miimon=50 fail_over_mac=active num_grat_arp=3 peer_notif_delay=100' },
  {
    name: 'active-backup arp monitor',
    opts: 'mode=active-backup arp_interval=100 arp_ip_target=198.18.0.10 arp_validate=active arp_all_targets=all',
    l3: true,
    // how often each slave failed before both answered depends on when each bond started, and
    // so does whether the backup was last probed by the rotation (going down) or not (down)
    timing: /^(Link Failure Count: \d+|MII Status: (going )?down)$/,
  },
  { name: 'balance-xor', opts: 'mode=balance-xor miimon=100 xmit_hash_policy=layer3+4 min_links=1' },
  { name: 'broadcast', opts: 'mode=broadcast miimon=100 use_carrier=1' },
  { name: '802.3ad fast', opts: 'mode=802.3ad miimon=100 lacp_rate=fast ad_select=bandwidth xmit_hash_policy=layer2+3' },
  { name: '802.3ad slow', opts: 'mode=802.3ad miimon=100 lacp_rate=slow ad_actor_sys_prio=100 ad_user_port_key=5 min_links=2' },
  { name: 'balance-tlb', opts: 'mode=balance-tlb miimon=100 tlb_dynamic_lb=0 xmit_hash_policy=encap2+3' },
  { name: 'balance-alb', opts: 'mode=balance-alb miimon=100 lp_interval=2 resend_igmp=3' },
];

/** The parts of a layout that must differ between two drivers on two machines. */
function normalise(text: string): string {
  return (
    text
      .replace(/^(Ethernet Channel Bonding Driver:).*$/m, '$1 *')
      .replace(/\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b/g, '<mac>')
      .replace(/\beth(\d)\b/g, 'kt$1')
      // each bond's ARP target is the other one's address
      .replace(/\b198\.18\.0\.1[01]\b/g, '<peer>')
  );
}

/**
 * Differences decided, line by line (docs/kernel-differences.md): the kernel up to 6.18 leaves
 * the churn machines in `monitoring` until their 60 s timer runs out even when the port is in
 * sync; tapbond follows IEEE 802.1AX §6.4.17 (in sync: no churn at once).
 */
const CHURN: [RegExp, RegExp] = [/^(Actor|Partner) Churn State: monitoring$/, /^(Actor|Partner) Churn State: none$/];
let ACCEPTED: [RegExp, RegExp][] = [];

function diffLines(kernel: string, ours: string, timing?: RegExp): string[] {
  const k = normalise(kernel).split('\n');
  const o = normalise(ours).split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(k.length, o.length); i++) {
    if (k[i] === o[i]) continue;
    if (k[i] !== undefined && o[i] !== undefined && ACCEPTED.some(([a, b]) => a.test(k[i]) && b.test(o[i]))) continue;
    if (timing?.test(k[i] ?? '') && timing.test(o[i] ?? '')) continue;
    out.push(`line ${i + 1}: kernel ${JSON.stringify(k[i])} / tapbond ${JSON.stringify(o[i])}`);
  }
  return out;
}

describe.skipIf(mustSkip(reason))('layouts against the kernel driver', () => {
  const { lab, guest } = oracleLab('kl', 2, (_, g) => {
    // the churn difference is the kernel's up to 6.18; a newer guest is held to the standard
    const [major, minor] = g.version.split('.').map(Number);
    if (major < 6 || (major === 6 && minor <= 18)) ACCEPTED = [CHURN];
  });

  for (const c of CASES) {
    it(`${c.name}: /proc/net/bonding and ${SYSFS_FILES.length} sysfs files agree`, async () => {
      await guest.sh(`mkbond bond0 "${c.opts}" eth0 eth1`);
      const args = ['--name', 'bond0', '--slaves', 'kt0,kt1', ...c.opts.replace(/\beth(\d)\b/g, 'kt$1').split(' ')];
      if (c.queues) {
        await guest.sh(`echo ${c.queues} > /sys/class/net/bond0/bonding/queue_id`);
        args.push('--slave-option', c.queues.replace(/^eth(\d):/, 'kt$1:queue_id='));
      }
      const arpTarget = c.opts.includes('arp_ip_target');
      await lab.startBondd(arpTarget ? args.map((a) => a.replace('arp_ip_target=198.18.0.10', 'arp_ip_target=198.18.0.11')) : args);
      try {
        if (c.l3) {
          // both bonds first lose their active slave to unanswered probes and rotate (one
          // candidate per interval), then their targets start answering: the same history
          await new Promise((r) => setTimeout(r, 800));
          lab.sh(lab.srv, 'ip addr add 198.18.0.10/24 dev bond0');
          await guest.sh('ip addr add 198.18.0.11/24 dev bond0');
        }
        // both bonds settled (LACP formed and in sync, monitors past their first rounds): the
        // layouts agree within a deadline, or the last difference fails the test
        let kernel: BondDump = await guest.dump('bond0');
        let ours = '';
        let proc: string[] = [];
        for (const end = Date.now() + 10_000; ;) {
          kernel = await guest.dump('bond0');
          ours = lab.bondctl(['show', 'bond0']).out;
          proc = diffLines(kernel.proc.replace(/\n+$/, ''), ours.replace(/\n+$/, ''), c.timing);
          if (!proc.length || Date.now() > end) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        expect(proc, `kernel:\n${kernel.proc}\ntapbond:\n${ours}`).toEqual([]);
        const state = lab.state();
        // sysfs: the same files, and each one's value the same once normalised
        expect(
          SYSFS_FILES.filter((f) => !(f in kernel.sysfs)),
          'files only tapbond has',
        ).toEqual([]);
        expect(
          Object.keys(kernel.sysfs).filter((f) => !SYSFS_FILES.includes(f)),
          'files only the kernel has',
        ).toEqual([]);
        const differ = SYSFS_FILES.filter((f) => normalise(kernel.sysfs[f]) !== normalise(sysfsValue(state, f))).map(
          (f) => `${f}: kernel ${JSON.stringify(kernel.sysfs[f])} / tapbond ${JSON.stringify(sysfsValue(state, f))}`,
        );
        expect(differ).toEqual([]);
        if (c.queues) {
          // the same refusals: above tx_queues (16 here, the default) and an id another slave has
          const other = c.queues.startsWith('eth0') ? 'eth1' : 'eth0';
          const id = c.queues.split(':')[1];
          expect(kernel.proc).toContain(`Slave queue ID: ${id}`);
          for (const [slave, qid] of [
            [other, '17'],
            [other, id],
          ]) {
            const k = await guest.sh(`echo ${slave}:${qid} > /sys/class/net/bond0/bonding/queue_id && echo taken || echo refused`);
            const o = lab.bondctl(['set-slave', 'bond0', slave.replace('eth', 'kt'), `queue_id=${qid}`], true);
            expect([k.trim().split('\n').pop(), o.code === 0 ? 'taken' : 'refused'], `${slave}:${qid}`).toEqual(['refused', 'refused']);
          }
        }
      } finally {
        await lab.stopBondd();
        await guest.sh('rmbond bond0');
      }
    }, 60_000);
  }
});
