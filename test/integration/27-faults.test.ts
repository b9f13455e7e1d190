// Faults under traffic, seen by an independent observer (ping from the client, the kernel's own
// link state): both links flapping at 50 Hz for 60 s, a slave deleted and re-created while traffic
// flows, and switch ports failing in turn. bondd survives each, its final state matches the
// links' real state, and traffic resumes within the mode's failover bound.
//
//   ns srv: bondd, bond0 over s0 s1  <-- veth -->  ns sw: br0 (p0 p1, c0)  <-->  ns cli 198.18.0.2
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, logErrors, mustSkip, pingSummary, skipReason, sleep, waitFor } from '../helpers/lab.js';

const reason = skipReason();

describe.skipIf(mustSkip(reason))('faults under traffic', () => {
  const lab = new Lab('u');
  beforeAll(() => lab.up(2));
  afterAll(() => lab.down());

  /** bondd's view of each slave against the kernel's (carrier of the veth). */
  const views = () => {
    const st = lab.state();
    return st.ports.map((p: { name: string; mii_status: string }) => ({
      name: p.name,
      bondd: p.mii_status,
      kernel: lab.link(lab.srv, p.name).flags.includes('LOWER_UP') ? 'up' : 'down',
    }));
  };
  /** ms from now until the client's first reply from the bond (10 ms probes). */
  const timeToReply = async (maxMs: number): Promise<number> => {
    const t0 = Date.now();
    while (Date.now() - t0 < maxMs) {
      const r = lab.sh(lab.cli, 'ping -c 1 -W 0.2 198.18.0.1', { allowFail: true });
      if (/1 received/.test(r)) return Date.now() - t0;
      await sleep(10);
    }
    return Infinity;
  };
  /** active-backup with s0 primary, addressed and carrying traffic. */
  const primaryS0 = async () => {
    const b = await lab.startBondd([
      '--name',
      'bond0',
      '--slaves',
      's0,s1',
      'mode=active-backup',
      'miimon=100',
      'primary=s0',
      '--log-format',
      'json',
    ]);
    await lab.addressBond();
    return b;
  };
  // the figure is 60 s; TAPBOND_FLAP_SECONDS shortens it while working on this file
  const FLAP_S = Number(process.env.TAPBOND_FLAP_SECONDS ?? 60);
  it(
    `both links flapping at 50 Hz for ${FLAP_S} s: no crash, the state matches the links, traffic back at once`,
    async () => {
      const b = await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=active-backup', 'miimon=100', '--log-format', 'json']);
      await lab.addressBond();
      const flood = lab.shAsync(lab.cli, `ping -f -w ${FLAP_S + 1} 198.18.0.1 >/dev/null 2>&1 || true`, (FLAP_S + 15) * 1000);
      // 10 ms down, 10 ms up, on both switch ports
      await lab.shAsync(
        lab.sw,
        `end=$(( $(date +%s) + ${FLAP_S} )); while [ $(date +%s) -lt $end ]; do ip link set p0 down; ip link set p1 down; sleep 0.01; ip link set p0 up; ip link set p1 up; sleep 0.01; done`,
        (FLAP_S + 15) * 1000,
      );
      await sleep(500); // past one miimon and the last carrier events
      expect(b.proc.exitCode).toBeNull();
      await waitFor(
        () => views().every((v: { bondd: string; kernel: string }) => v.bondd === v.kernel),
        3000,
        'bondd to agree with the kernel',
      );
      expect(views().map((v: { bondd: string }) => v.bondd)).toEqual(['up', 'up']);
      const back = await timeToReply(2000);
      console.log(
        `after ${FLAP_S} s of 50 Hz flapping: first reply ${back} ms after the links settled; failures counted ${lab
          .state()
          .ports.map((p: { link_failure_count: number }) => p.link_failure_count)
          .join(', ')}`,
      );
      // one run: 5 ms; 50 Hz of flapping made 1,823 link failures per slave in 60 s
      expect(back).toBeLessThan(200);
      for (const p of lab.state().ports) expect(p.link_failure_count).toBeGreaterThanOrEqual(FLAP_S * 5);
      await flood;
      expect(logErrors(b.log())).toEqual([]);
      expect(await lab.stopBondd()).toBe(0);
    },
    (FLAP_S + 45) * 1000,
  );

  it('a backup slave deleted and re-created under traffic: the active slave carries on without loss', async () => {
    const b = await primaryS0();
    const ping = lab.shAsync(lab.cli, 'ping -c 200 -i 0.02 -W 1 198.18.0.1 || true', 20_000);
    for (let i = 0; i < 3; i++) {
      await sleep(400);
      lab.sh(lab.srv, 'ip link del s1');
      await waitFor(() => lab.state().ports.length === 1, 3000, 's1 released');
      lab.sh(lab.srv, `ip link add s1 type veth peer name p1 netns ${lab.sw} && ip link set s1 up`);
      lab.sh(lab.sw, 'ip link set p1 master br0 up');
      lab.bondctl(['enslave', 'bond0', 's1']);
    }
    const p = pingSummary(await ping);
    expect(p.received, `${p.received}/${p.sent}`).toBe(p.sent);
    expect(lab.state().ports.map((x: { name: string; mii_status: string }) => [x.name, x.mii_status])).toEqual([
      ['s0', 'up'],
      ['s1', 'up'],
    ]);
    expect(logErrors(b.log())).toEqual([]);
    expect(await lab.stopBondd()).toBe(0);
  }, 60_000);

  it("the active slave's MTU and MAC changed behind the bond under traffic: set back, and traffic carries on", async () => {
    const b = await primaryS0();
    const bondMac = lab.state().bond.mac;
    const ping = lab.shAsync(lab.cli, 'ping -c 300 -i 0.01 -W 1 198.18.0.1 || true', 20_000);
    for (let i = 0; i < 3; i++) {
      await sleep(300);
      lab.sh(lab.srv, `ip link set s0 mtu ${1400 - i * 100}`);
      await waitFor(() => lab.link(lab.srv, 's0').mtu === 1500, 3000, 'the MTU set back');
      lab.sh(lab.srv, `ip link set s0 address 02:99:00:00:00:0${i + 1}`);
      await waitFor(() => lab.link(lab.srv, 's0').address === bondMac, 3000, 'the MAC set back');
    }
    const p = pingSummary(await ping);
    console.log(`MTU and MAC changed 3 times each under a 100/s ping: ${p.sent - p.received} of ${p.sent} lost`);
    // the changes are undone within one rtnetlink event: a few 10 ms probes at most (0 measured)
    expect(p.received, `${p.received}/${p.sent}`).toBeGreaterThanOrEqual(p.sent - 5);
    expect(pingSummary(lab.sh(lab.cli, 'ping -c 20 -i 0.01 -W 1 198.18.0.1')).received).toBe(20);
    expect(lab.state().bond.active_slave).toBe('s0');
    expect(logErrors(b.log())).toEqual([]);
    expect(await lab.stopBondd()).toBe(0);
  }, 60_000);
});

// Its own lab: in the lab above, after the 50 Hz flapping and the re-created slave, the Linux
// bridge standing in for the switch stops forwarding the client's frames to the re-created port
// for much of each failover to it (a capture there shows every request that does arrive answered).
describe.skipIf(mustSkip(reason))('failovers in turn under traffic', () => {
  const lab = new Lab('v');
  beforeAll(() => lab.up(2));
  afterAll(() => lab.down());
  it('switch ports failing in turn for 8 s: each failover costs at most a few 20 ms pings', async () => {
    const b = await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=active-backup', 'miimon=100', '--log-format', 'json']);
    await lab.addressBond();
    const ping = lab.shAsync(lab.cli, 'ping -D -c 450 -i 0.02 -W 1 198.18.0.1 || true', 30_000);
    await sleep(300);
    // every 400 ms the port of the other slave goes down and the previous one comes back: 20 failovers
    await lab.shAsync(
      lab.sw,
      'for i in $(seq 10); do ip link set p1 up; ip link set p0 down; sleep 0.4; ip link set p0 up; ip link set p1 down; sleep 0.4; done; ip link set p1 up',
      30_000,
    );
    const out = await ping;
    const p = pingSummary(out);
    const failovers = lab.state().bond.failovers;
    if (p.sent - p.received > failovers * 3) {
      let last = -1;
      for (const m of out.matchAll(/^\[([\d.]+)\].*icmp_seq=(\d+)/gm)) {
        const seq = Number(m[2]);
        if (last >= 0 && seq - last > 2) console.log(`gap: seq ${last} -> ${seq} (reply at ${m[1]})`);
        last = seq;
      }
      console.log(
        b
          .log()
          .split('\n')
          .filter((l) => /active-change|link-(up|down)/.test(l))
          .map((l) => {
            const r = JSON.parse(l);
            return `${Date.parse(r.time) / 1000} ${r.slave} ${r.msg}`;
          })
          .join('\n'),
      );
    }
    console.log(`${failovers} failovers in 8 s: ${p.sent - p.received} of ${p.sent} pings lost`);
    expect(failovers).toBeGreaterThanOrEqual(18);
    // one run: 1 of 450 lost; at most one ping (20 ms apart) per failover
    expect(p.sent - p.received).toBeLessThanOrEqual(failovers);
    expect(logErrors(b.log())).toEqual([]);
    expect(await lab.stopBondd()).toBe(0);
  }, 60_000);
});
