// The announcer on its own (in-memory host, manual clock): peer notifications spaced and
// stopped as the options and the port say, IGMP reports again after a change, and RARPs for
// MACs learnt behind the TAP whenever a new plan moves where they leave.
import { describe, expect, it } from 'vitest';
import type { TxPlan } from '../../../src/datapath/plan.js';
import { Announcer } from '../../../src/bond/announcer.js';
import { parseArp } from '../../../src/net/frames.js';
import { resolveOptions } from '../../../src/options/parse.js';
import { Port } from '../../../src/port/port.js';
import { ManualClock } from '../../../src/util/clock.js';
import { MemoryLogger } from '../../../src/util/logger.js';
import { formatIp, formatMac } from '../../../src/util/mac.js';
import { FakeNet } from '../../helpers/fake-binding.js';

const BOND_MAC = Uint8Array.of(2, 0xb0, 0, 0, 0, 1);
const GUEST = Uint8Array.of(0x52, 0x54, 0, 0, 0, 9);
const TAP = 50;

function setup(opts: Record<string, string | number> = {}) {
  const net = new FakeNet();
  const host = net.host();
  host.addAddress(TAP, '198.18.0.1', 24);
  host.addAddress(TAP, '198.18.1.1', 24);
  const clock = new ManualClock();
  const { options } = resolveOptions({ mode: 'active-backup', miimon: 100, ...opts });
  const ports = [0, 1].map((i) => {
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 0x10 + i);
    return new Port(i + 1, `s${i}`, 10 + i, mac, { name: `s${i}`, ifindex: 10 + i, mac, mtu: 1500, flags: 0, disableIpv6: null }, 'up');
  });
  const sent: { port: string; frame: Uint8Array; at: number }[] = [];
  let learned: Uint8Array[] = [];
  let verdict = 1 << 1;
  const a = new Announcer({
    host,
    clock,
    log: new MemoryLogger(),
    bondName: 'bond0',
    tapIfindex: () => TAP,
    mac: () => BOND_MAC,
    options: () => options,
    usable: (p) => p.isUp,
    send: (p, frame) => void sent.push({ port: p.name, frame, at: clock.now() }),
    ports: () => ports,
    learned: () => learned,
    select: () => verdict,
  });
  return {
    a,
    net,
    clock,
    ports,
    sent,
    learn: (macs: Uint8Array[]) => (learned = macs),
    leaveBy: (mask: number) => (verdict = mask),
  };
}

describe('announcer', () => {
  it('sends num_grat_arp notifications, a gratuitous ARP per address, peer_notif_delay apart', () => {
    const t = setup({ num_grat_arp: 3, peer_notif_delay: 300 });
    t.a.notifyPeers(t.ports[0]);
    t.clock.advance(1000);
    expect(t.sent.map((s) => [s.at, formatIp(parseArp(s.frame)!.sip)])).toEqual([
      [0, '198.18.0.1'],
      [0, '198.18.1.1'],
      [300, '198.18.0.1'],
      [300, '198.18.1.1'],
      [600, '198.18.0.1'],
      [600, '198.18.1.1'],
    ]);
    expect(t.sent.every((s) => s.port === 's0' && formatMac(s.frame.subarray(6, 12)) === formatMac(BOND_MAC))).toBe(true);
    expect(t.a.peerNotifications).toBe(3);
  });

  it('stops notifying when the port stops being usable, and when a newer sequence starts', () => {
    const t = setup({ num_grat_arp: 5, peer_notif_delay: 100 });
    t.a.notifyPeers(t.ports[0]);
    t.clock.advance(100);
    t.ports[0].link.set(false);
    t.clock.advance(1000);
    expect(t.a.peerNotifications).toBe(2);
    t.a.notifyPeers(t.ports[1]);
    t.a.notifyPeers(t.ports[1]); // the second replaces the first
    t.clock.advance(1000);
    expect(t.a.peerNotifications).toBe(2 + 1 + 5);
  });

  it('reports the IGMP groups again resend_igmp times, 200 ms apart', () => {
    const t = setup({ resend_igmp: 2 });
    t.net.igmp.set('bond0', [Uint8Array.of(239, 1, 2, 3)]);
    t.a.resendIgmp(t.ports[1]);
    t.clock.advance(1000);
    expect(t.sent.map((s) => [s.port, s.at])).toEqual([
      ['s1', 0],
      ['s1', 200],
    ]);
    expect(t.a.igmpResends).toBe(2);
  });

  it('reports the IPv6 groups too (MLD), as the kernel does on NETDEV_RESEND_IGMP', () => {
    const t = setup({ resend_igmp: 1 });
    t.net.mld.set('bond0', [Uint8Array.from(Buffer.from('ff0200000000000000000001ff000001', 'hex'))]);
    t.a.resendIgmp(t.ports[1]);
    t.clock.advance(1000);
    expect(t.sent.map((s) => [s.port, s.at])).toEqual([['s1', 0]]);
    expect(t.a.igmpResends).toBe(1);
  });

  it('announces each learnt MAC by RARP from where a changed plan sends it, skipping our own and group MACs', () => {
    const t = setup();
    const single = (mask: number): TxPlan => ({ kind: 'single', mask });
    t.learn([GUEST, BOND_MAC, Uint8Array.of(1, 0, 0x5e, 0, 0, 1), Uint8Array.from(t.ports[1].mac)]);
    t.a.planChanged(single(1 << 1)); // the first plan: nothing moved
    expect(t.sent).toEqual([]);
    t.leaveBy(1 << 2);
    t.a.planChanged(single(1 << 2));
    expect(t.sent.map((s) => [s.port, formatMac(s.frame.subarray(6, 12)), (s.frame[12] << 8) | s.frame[13]])).toEqual([
      ['s1', formatMac(GUEST), 0x8035],
    ]);
    t.a.planChanged(single(1 << 2)); // same plan again
    expect(t.sent).toHaveLength(1);
    expect(t.a.learnedAnnouncements).toBe(1);
  });

  it('announces thousands of learnt MACs 32 at once, then 32 a millisecond, and a newer plan starts over', () => {
    const t = setup();
    const single = (mask: number): TxPlan => ({ kind: 'single', mask });
    const guest = (i: number) => Uint8Array.of(0x52, 0x54, 0, 0, i >> 8, i & 0xff);
    t.learn(Array.from({ length: 1000 }, (_, i) => guest(i)));
    t.a.planChanged(single(1 << 1));
    t.leaveBy(1 << 2);
    t.a.planChanged(single(1 << 2));
    expect(t.sent).toHaveLength(32);
    t.clock.advance(1);
    expect(t.sent).toHaveLength(64);
    t.clock.advance(14);
    expect(t.sent).toHaveLength(512);
    // the plan moves back mid-way: every MAC again, from s0, the rest of the old round dropped
    t.leaveBy(1 << 1);
    t.a.planChanged(single(1 << 1));
    t.clock.advance(40);
    const after = t.sent.slice(512);
    expect(after).toHaveLength(1000);
    expect(new Set(after.map((s) => s.port))).toEqual(new Set(['s0']));
    expect(new Set(after.map((s) => formatMac(s.frame.subarray(6, 12)))).size).toBe(1000);
    expect(t.a.learnedAnnouncements).toBe(1512);
  });
});
