// LACP against the kernel's 802.3ad: a kernel bond in the oracle guest and tapbond's bond over
// the guest's TAPs, as two partners on two (or four) links. Each side's own /proc layout is read
// (the kernel's by the guest, tapbond's by bondctl), and the guest's own ping is the traffic.
import { describe, expect, it } from 'vitest';
import { mustSkip, skipReason, sleep } from '../helpers/lab.js';
import { oracleLab, oracleSkipReason } from '../helpers/oracle.js';

const reason = skipReason() || oracleSkipReason();

/** The active aggregator as one side's /proc/net/bonding shows it. */
export function aggregator(proc: string): { ports: number; partner: string; system: string; distributing: string[] } {
  const ports = Number(/Number of ports: (\d+)/.exec(proc)?.[1] ?? 0);
  const partner = /Partner Mac Address: (\S+)/.exec(proc)?.[1] ?? '';
  const system = /System MAC address: (\S+)/.exec(proc)?.[1] ?? '';
  const active = /Active Aggregator Info:\n\tAggregator ID: (\d+)/.exec(proc)?.[1];
  // a slave distributes when it is in the active aggregator and its actor state has
  // collecting+distributing (0x30) and sync (0x08)
  const distributing: string[] = [];
  for (const block of proc.split('\nSlave Interface: ').slice(1)) {
    const name = block.split('\n')[0];
    const agg = /Aggregator ID: (\d+)/.exec(block)?.[1];
    const state = Number(/details actor lacp pdu:[^]*?port state: (\d+)/.exec(block)?.[1] ?? 0);
    if (agg === active && (state & 0x38) === 0x38) distributing.push(name);
  }
  return { ports, partner, system, distributing };
}

describe.skipIf(mustSkip(reason))('LACP against the kernel 802.3ad', () => {
  const { lab, guest } = oracleLab('kc', 2);

  const kernel = async () => aggregator((await guest.dump('bond0')).proc);
  const ours = () => aggregator(lab.bondctl(['show', 'bond0']).out);
  const formed = async (links: number, ms: number): Promise<number> => {
    const t0 = Date.now();
    for (;;) {
      const [k, o] = [await kernel(), ours()];
      if (k.distributing.length === links && o.distributing.length === links) {
        expect(k.partner).toBe(o.system);
        expect(o.partner).toBe(k.system);
        return Date.now() - t0;
      }
      if (Date.now() - t0 > ms)
        throw new Error(`no aggregator of ${links} within ${ms} ms: kernel ${JSON.stringify(k)}, tapbond ${JSON.stringify(o)}`);
      await sleep(100);
    }
  };
  const start = async (kernelOpts: string, ourOpts: string) => {
    await guest.sh(`mkbond bond0 "mode=802.3ad miimon=100 ${kernelOpts}" eth0 eth1 && ip addr add 198.18.0.11/24 dev bond0`);
    await lab.startBondd(['--name', 'bond0', '--slaves', 'kt0,kt1', 'mode=802.3ad', 'miimon=100', ...ourOpts.split(' ').filter(Boolean)]);
    lab.sh(lab.srv, 'ip addr add 198.18.0.10/24 dev bond0');
  };
  /** Both bonds gone and every link back up, whatever the test left cut. */
  const stop = async () => {
    await lab.stopBondd();
    await guest.sh('rmbond bond0');
    for (const i of guest.taps.keys()) await guest.setLink(i, true);
    lab.sh(lab.srv, guest.taps.map((t) => `ip link set ${t} up`).join(' && '));
  };
  // a cut seen by one side only (the other keeps its carrier) costs what goes onto the cut link
  // until that side's partner has been silent for the short timeout (3 x 1 s): with the
  // layer2 hash all of one direction's pings take one link, the cut one or not, by the MACs
  const CUT_LOSS = Math.ceil(3500 / 20);
  /** The guest pings tapbond's bond: [sent, received]. */
  const ping = async (count: number, intervalS = 0.02): Promise<[number, number]> => {
    const out = await guest.sh(`ping -c ${count} -i ${intervalS} -W 1 198.18.0.10 | tail -2`, { allowFail: true, timeoutMs: 120_000 });
    const m = /(\d+) packets transmitted, (\d+) (packets )?received/.exec(out);
    if (!m) throw new Error(`no ping summary: ${out}`);
    return [Number(m[1]), Number(m[2])];
  };

  for (const [k, o] of [
    ['fast', 'fast'],
    ['slow', 'fast'],
    ['fast', 'slow'],
    ['slow', 'slow'],
  ]) {
    it(`forms with lacp_rate=${k} on the kernel and ${o} on tapbond, and carries traffic`, async () => {
      await start(`lacp_rate=${k}`, `lacp_rate=${o}`);
      try {
        const ms = await formed(2, 40_000);
        console.log(`formation kernel ${k} / tapbond ${o}: ${ms} ms`);
        const [sent, got] = await ping(50);
        expect(got).toBe(sent);
      } finally {
        await stop();
      }
    }, 90_000);
  }

  it('a link cut on the guest side, then on ours: both drop it and take it back; pings go on', async () => {
    await start('lacp_rate=fast', 'lacp_rate=fast');
    try {
      await formed(2, 20_000);
      // the guest's NIC loses its link (its carrier; our TAP keeps its own): the kernel sees it
      // at once, tapbond by its partner's silence (fast rate: 3 s); see CUT_LOSS
      const during = ping(300);
      await sleep(500);
      await guest.setLink(1, false);
      await formed(1, 10_000);
      const [sent, got] = await during;
      console.log(`guest-side cut: ${sent - got} of ${sent} pings lost`);
      expect(sent - got).toBeLessThanOrEqual(CUT_LOSS);
      await guest.setLink(1, true);
      await formed(2, 20_000);
      // now our side: the TAP goes down (tapbond sees it at once; the guest only by silence)
      const during2 = ping(300);
      await sleep(500);
      lab.sh(lab.srv, 'ip link set kt0 down');
      await formed(1, 10_000);
      const [sent2, got2] = await during2;
      console.log(`host-side cut: ${sent2 - got2} of ${sent2} pings lost`);
      // the guest's NIC keeps its carrier: the kernel goes on sending on it (CUT_LOSS)
      expect(sent2 - got2).toBeLessThanOrEqual(CUT_LOSS);
      lab.sh(lab.srv, 'ip link set kt0 up');
      await formed(2, 20_000);
      const [s3, g3] = await ping(100);
      expect(g3).toBe(s3);
    } finally {
      await stop();
    }
  }, 120_000);

  it('lacp_active=off on either side still forms against an active partner; off on both does not', async () => {
    for (const [k, o] of [
      ['off', 'on'],
      ['on', 'off'],
    ]) {
      await start(`lacp_rate=fast lacp_active=${k}`, `lacp_rate=fast lacp_active=${o}`);
      try {
        await formed(2, 20_000);
      } finally {
        await stop();
      }
    }
    // both passive: tcpdump on our side of the first link counts who speaks
    const cap = lab.shAsync(lab.srv, 'timeout 6 tcpdump -nei kt0 ether proto 0x8809 2>/dev/null', 10_000);
    await sleep(300);
    await start('lacp_rate=fast lacp_active=off', 'lacp_rate=fast lacp_active=off');
    try {
      const lines = (await cap).split('\n').filter((l) => l.includes('LACP'));
      const [k, o] = [await kernel(), ours()];
      const from = (mac: string) => lines.filter((l) => l.split(' ')[1] === mac).length;
      console.log(`both passive: kernel sent ${from(guest.macs[0])}, tapbond ${from(o.system)} LACPDUs`);
      // decided difference (docs/kernel-differences.md): the kernel's passive port sends on its
      // own state changes; 802.1AX (no periodic: no LACPDU) and tapbond say nothing
      expect(from(o.system)).toBe(0);
      expect(from(guest.macs[0])).toBeGreaterThan(0);
      // and so the kernel never hears of us, nor aggregates with us
      expect(k.partner).not.toBe(o.system);
      expect(k.distributing).toEqual([]);
    } finally {
      await stop();
    }
  }, 120_000);

  it('min_links=2: one link gone takes the carrier away on both sides', async () => {
    await start('lacp_rate=fast min_links=2', 'lacp_rate=fast min_links=2');
    try {
      await formed(2, 20_000);
      await guest.setLink(0, false);
      await formed(1, 10_000);
      const k = (await guest.dump('bond0')).proc;
      const o = lab.bondctl(['show', 'bond0']).out;
      expect(/^MII Status: (\S+)/m.exec(k)?.[1]).toBe('down');
      expect(/^MII Status: (\S+)/m.exec(o)?.[1]).toBe('down');
      await guest.setLink(0, true);
      await formed(2, 20_000);
      expect(/^MII Status: (\S+)/m.exec(lab.bondctl(['show', 'bond0']).out)?.[1]).toBe('up');
    } finally {
      await stop();
    }
  }, 90_000);
});

describe.skipIf(mustSkip(reason))('LACP against the kernel 802.3ad, four links', () => {
  const { lab, guest } = oracleLab('k4', 4);

  it('forms over four links with ad_select=count, gives up two and takes them back', async () => {
    const nics = [0, 1, 2, 3];
    await guest.sh(`mkbond bond0 "mode=802.3ad miimon=100 lacp_rate=fast ad_select=count" ${nics.map((i) => `eth${i}`).join(' ')}`);
    await lab.startBondd([
      '--name',
      'bond0',
      '--slaves',
      guest.taps.join(','),
      'mode=802.3ad',
      'miimon=100',
      'lacp_rate=fast',
      'ad_select=count',
    ]);
    const both = async (n: number) => {
      const end = Date.now() + 20_000;
      for (;;) {
        const [k, o] = [aggregator((await guest.dump('bond0')).proc), aggregator(lab.bondctl(['show', 'bond0']).out)];
        if (k.distributing.length === n && o.distributing.length === n && k.ports === n && o.ports === n) return;
        if (Date.now() > end) throw new Error(`not ${n} links on both sides: kernel ${JSON.stringify(k)}, tapbond ${JSON.stringify(o)}`);
        await sleep(100);
      }
    };
    try {
      await both(4);
      await guest.setLink(1, false);
      await guest.setLink(3, false);
      await both(2);
      await guest.setLink(1, true);
      await guest.setLink(3, true);
      await both(4);
    } finally {
      await lab.stopBondd();
      await guest.sh('rmbond bond0');
    }
  }, 90_000);
});
