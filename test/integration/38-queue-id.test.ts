// queue_id and tx_queues on the wire (kernel bond_slave_override): a tc classifier on bond0's
// egress sets a frame's queue mapping, here examples/queue-by-mark.bpf.o (mark 1..255 -> queue),
// and a frame whose mapping is a slave's queue id leaves on that slave while its link is up,
// whatever balance-rr or active-backup would pick; with the link down, or no slave with that id,
// the mode decides. Counted on the switch ports (the kernel's counters, not bondd's). Both
// datapaths: on the user-space one the transmit programs carry out just this part.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ROOT, skipReason, waitFor, mustSkip } from '../helpers/lab.js';

const CLASSIFIER = join(ROOT, 'examples', 'queue-by-mark.bpf.o');
const N = 60;

describe.skipIf(mustSkip(skipReason()))('queue_id: the queue mapping picks the slave', () => {
  const lab = new Lab('q');
  beforeAll(() => lab.up(2));
  afterAll(() => lab.down());

  /** Sends N UDP datagrams with firewall mark `mark` (0 = none); returns what each switch port received. */
  function send(mark: number): number[] {
    const before = ['p0', 'p1'].map((p) => lab.stats(lab.sw, p).rx_packets);
    const opt = mark ? `s.setsockopt(socket.SOL_SOCKET, 36, ${mark}); ` : '';
    lab.sh(lab.srv, `python3 -c "import socket; s=socket.socket(2,2); ${opt}[s.sendto(b'q'*32,('198.18.0.2',9)) for _ in range(${N})]"`);
    return ['p0', 'p1'].map((p, i) => lab.stats(lab.sw, p).rx_packets - before[i]);
  }
  /** All N on port `i` (the other may see a stray ARP or IPv6 frame, never the datagrams). */
  const allOn = (got: number[], i: number, what: string) => {
    expect(got[i], `${what}: ${got}`).toBeGreaterThanOrEqual(N);
    expect(got[1 - i], `${what}: ${got}`).toBeLessThan(N / 4);
  };

  it('active-backup: a queue id sends its frames through the backup while its link is up', async () => {
    const args = [
      '--name',
      'bond0',
      '--slaves',
      's0,s1',
      'mode=active-backup',
      'miimon=50',
      'tx_queues=4',
      '--slave-option',
      's1:queue_id=2',
    ];
    await lab.startBondd(args);
    try {
      await lab.addressBond();
      lab.sh(lab.srv, 'ping -c 2 -i 0.05 198.18.0.2 >/dev/null');
      // the classifier goes where a user puts it: a tc filter on the clsact bondd made
      lab.sh(lab.srv, `tc filter add dev bond0 egress bpf da obj ${CLASSIFIER} sec tc`);
      const filters = lab.sh(lab.srv, 'tc filter show dev bond0 egress');
      // added without a pref, it lands before tapbond's tx_after, the last at 65535
      const pref = Number(/pref (\d+) bpf .*queue-by-mark/.exec(filters)?.[1]);
      expect(pref, filters).toBeLessThan(65535);
      expect(filters).toMatch(/pref 65535 bpf .*handle 0x7b02 tapbond .*name tx_after/);
      expect(lab.bondctl(['show', 'bond0']).out).toMatch(/Slave Interface: s1\n(.*\n)*?Slave queue ID: 2/);

      allOn(send(0), 0, 'no mark: the active slave');
      const sent = () => lab.state().ports[1].counters.tx_frames as number;
      const before = sent();
      allOn(send(2), 1, 'queue 2: s1, the backup');
      // bondd's own counters have them too, whichever program sent them
      await waitFor(() => sent() - before >= N, 2000, `s1's tx_frames to grow by ${N}`);
      allOn(send(3), 0, 'queue 3, no slave has it: the active slave');
      // the README's recipe: nftables marks by destination, the classifier maps the mark
      lab.sh(
        lab.srv,
        "nft add table inet qmap && nft add chain inet qmap out '{ type route hook output priority mangle; }' && " +
          'nft add rule inet qmap out ip daddr 198.18.0.2 meta mark set 2',
      );
      allOn(send(0), 1, 'marked by nftables for queue 2: s1');
      lab.sh(lab.srv, 'nft delete table inet qmap');

      // s1's link down: its queue id's frames go by the mode
      lab.sh(lab.sw, 'ip link set p1 down');
      await waitFor(() => lab.state().ports[1].mii_status === 'down', 3000, 's1 down');
      const down = send(2);
      expect(down[0], `queue 2 with s1 down: ${down}`).toBeGreaterThanOrEqual(N);
      lab.sh(lab.sw, 'ip link set p1 up');
      await waitFor(() => lab.state().ports[1].mii_status === 'up', 3000, 's1 up');
      allOn(send(2), 1, 'queue 2 with s1 up again');

      // runtime changes, checked as the kernel checks them
      const big = lab.bondctl(['set-slave', 'bond0', 's0', 'queue_id=5'], true);
      expect(big.code).not.toBe(0);
      expect(big.out).toContain("queue_id: invalid value '5' (tx_queues is 4); allowed: 0..4");
      const dup = lab.bondctl(['set-slave', 'bond0', 's0', 'queue_id=2'], true);
      expect(dup.out).toContain("queue_id: invalid value '2' (s1 has it)");
      // what carries it out, and what stays when bondd ends (bond0 does): the kernel path's
      // tx_after goes on with its pinned data plane, the user-space path's goes with the process
      const path = lab.state().bond.datapath.path;
      const log = lab.bonddLog();
      if (path === 'user') expect(log).toContain('queue_id on the user-space datapath: the eBPF transmit programs send');
      else expect(log).not.toContain('queue_id on the user-space datapath');
      expect(log).not.toContain('queue_id has no effect');
      await lab.stopBondd('SIGTERM');
      const left = lab.sh(lab.srv, 'tc filter show dev bond0 egress');
      expect(left).toContain('queue-by-mark');
      if (path === 'user') expect(left).not.toContain('tapbond');
      else expect(left).toContain('tx_after');
      // the next bondd takes the bond over, queue ids and all
      await lab.startBondd(args);
      await waitFor(() => lab.state().ports.every((p: { mii_status: string }) => p.mii_status === 'up'), 5000, 'both up');
      allOn(send(2), 1, 'queue 2 after a restart');

      lab.bondctl(['set-slave', 'bond0', 's1', 'queue_id=0']);
      allOn(send(2), 0, 'queue 2 after s1 gave its id up');
      // no id left: the user-space path's helper programs and filter go
      if (path === 'user') expect(lab.sh(lab.srv, 'tc filter show dev bond0 egress')).not.toContain('tapbond');
      await lab.stopBondd();
      expect(lab.sh(lab.srv, 'ip link show bond0', { allowFail: true })).toContain('does not exist');
    } finally {
      lab.sh(lab.sw, 'ip link set p1 up', { allowFail: true });
      await lab.stopBondd();
    }
  });

  it("a bridged guest's frames keep the mode: their receive queue is no queue id", async () => {
    // a frame from a guest's TAP carries its receive queue + 1 in its queue mapping: 1 here. The
    // kernel bond's bond_select_queue() makes that 0 before any classifier; so does tx, or all
    // of it would leave through the slave with queue id 1
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=active-backup', 'miimon=50', '--slave-option', 's1:queue_id=1']);
    try {
      lab.sh(lab.srv, 'ip link add brq type bridge stp_state 0 forward_delay 0 && ip link set bond0 master brq && ip link set brq up');
      await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
      const cliMac = lab.link(lab.cli, 'eth0').address;
      const before = ['p0', 'p1'].map((p) => lab.stats(lab.sw, p).rx_packets);
      lab.sh(lab.srv, `python3 ${join(ROOT, 'scripts', 'lib', 'tap-guest.py')} gq0 brq 52:54:00:12:34:60 ${cliMac} ${N}`);
      allOn(
        ['p0', 'p1'].map((p, i) => lab.stats(lab.sw, p).rx_packets - before[i]),
        0,
        "the guest's frames: the active slave",
      );
    } finally {
      await lab.stopBondd();
      lab.sh(lab.srv, 'ip link del brq', { allowFail: true });
    }
  });

  it.each(['tcx', 'tc'])('balance-rr: a queue id pins its frames to one slave, the rest go round (%s)', async (attach) => {
    // tc: the programs as clsact filters (kernels without TCX), tx at pref 1, the classifier between
    const args = ['--name', 'bond0', '--slaves', 's0,s1', 'mode=balance-rr', 'miimon=50', '--slave-option', 's0:queue_id=7'];
    await lab.startBondd(args, 'bond0', undefined, { TAPBOND_BPF_ATTACH: attach });
    try {
      await lab.addressBond();
      lab.sh(lab.srv, 'ping -c 2 -i 0.05 198.18.0.2 >/dev/null');
      // the TAP outlives a bondd: the classifier may be there already
      lab.sh(
        lab.srv,
        `tc filter show dev bond0 egress | grep -q queue-by-mark || tc filter add dev bond0 egress bpf da obj ${CLASSIFIER} sec tc`,
      );
      const spread = send(0);
      for (const n of spread) expect(n, `no mark: ${spread}`).toBeGreaterThanOrEqual(N / 2 - 2);
      allOn(send(7), 0, 'queue 7: s0');
      lab.bondctl(['set-slave', 'bond0', 's1', 'queue_id=9']);
      allOn(send(9), 1, 'queue 9 (tx_queues 16): s1');
      if (attach === 'tc')
        expect(lab.sh(lab.srv, 'tc filter show dev bond0 egress')).toMatch(/pref 1 bpf .*handle 0x7b01 tapbond .*name tx\b/);
    } finally {
      await lab.stopBondd();
    }
  });
});
