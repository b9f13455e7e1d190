// The ARP/NS monitor's adapter on its own (in-memory host, manual clock): probes framed from the
// right source address and MAC, the EtherTypes it asks to see, replies fed to the monitor, and
// verdicts handed to the bond (counted before the link changes, then one update).
import { describe, expect, it } from 'vitest';
import { ArpLink } from '../../../src/monitors/arp-link.js';
import { arpReply, parseArp, parseNd } from '../../../src/net/frames.js';
import { resolveOptions } from '../../../src/options/parse.js';
import { Port } from '../../../src/port/port.js';
import { ManualClock } from '../../../src/util/clock.js';
import { MemoryLogger } from '../../../src/util/logger.js';
import { formatIp, formatMac, ipBytes } from '../../../src/util/mac.js';
import { FakeNet } from '../../helpers/fake-binding.js';

const TAP = 50;
const TARGET_MAC = Uint8Array.of(2, 0x77, 0, 0, 0, 1);

function setup(opts: Record<string, string | number>, activeBackup = true) {
  const host = new FakeNet().host();
  host.addAddress(TAP, '198.18.0.1', 24);
  host.addAddress(TAP, '2001:db8::1', 64);
  const clock = new ManualClock();
  const { options } = resolveOptions({ mode: activeBackup ? 'active-backup' : 'balance-xor', arp_interval: 100, ...opts });
  const ports = [0, 1].map((i) => {
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 0x10 + i);
    return new Port(i + 1, `s${i}`, 10 + i, mac, { name: `s${i}`, ifindex: 10 + i, mac, mtu: 1500, flags: 0, disableIpv6: null }, 'up');
  });
  const lastRx = new Float64Array(32);
  const sent: { port: string; frame: Uint8Array }[] = [];
  const events: string[] = [];
  const link = new ArpLink({
    host,
    clock,
    log: new MemoryLogger(),
    tapIfindex: () => TAP,
    options: () => options,
    ports: () => ports,
    activePort: () => ports[0],
    usesPrimary: () => activeBackup,
    lastRx: () => lastRx,
    send: (p, frame) => void sent.push({ port: p.name, frame }),
    committed: (p, up) => void events.push(`${p.name} ${up ? 'up' : 'down'} (was ${p.link.state})`),
    update: (reason) => void events.push(`update: ${reason}`),
    settled: () => void events.push('settled'),
  });
  return { link, clock, ports, lastRx, sent, events };
}

describe('ARP/NS monitor adapter', () => {
  it('probes every target through the active slave, from our address on its subnet (else 0.0.0.0)', () => {
    const t = setup({ arp_ip_target: '198.18.0.254,203.0.113.9' });
    t.clock.advance(100);
    const probes = t.sent.map((s) => ({ port: s.port, src: formatMac(s.frame.subarray(6, 12)), ...parseArp(s.frame)! }));
    expect(probes.map((p) => [p.port, p.op, formatIp(p.sip), formatIp(p.tip)])).toEqual([
      ['s0', 1, '198.18.0.1', '198.18.0.254'],
      ['s0', 1, '0.0.0.0', '203.0.113.9'],
    ]);
    expect(probes[0].src).toBe(formatMac(t.ports[0].mac));
    expect(t.link.ethertypes()).toEqual([0x0806]);
  });

  it('solicits an IPv6 target from our address in its prefix and asks to see IPv6', () => {
    const t = setup({ ns_ip6_target: '2001:db8::fe' });
    t.clock.advance(100);
    const ns = t.sent.map((s) => parseNd(s.frame)).filter(Boolean);
    expect(ns.map((n) => formatIp(n!.sip))).toEqual(['2001:db8::1']);
    expect(t.link.ethertypes()).toEqual([0x86dd]);
  });

  it('takes a silent slave down after arp_missed_max intervals and keeps a replying one up', () => {
    const t = setup({ arp_ip_target: '198.18.0.254', arp_validate: 'active' });
    const reply = () => arpReply(TARGET_MAC, ipBytes('198.18.0.254'), t.ports[0].mac, ipBytes('198.18.0.1'));
    for (let i = 0; i < 10; i++) {
      t.clock.advance(50);
      expect(t.link.onFrame(t.ports[0], reply())).toBe(true);
      t.lastRx[1] = t.clock.now();
      t.clock.advance(50);
    }
    // s0 validated its replies; s1 (a backup, validation off for backups) heard nothing at all
    expect(t.events).toEqual(['s1 down (was up)', 'update: arp monitor', 'settled']);
    expect(t.ports.map((p) => p.link.state)).toEqual(['up', 'down']);
  });

  it('has backups join the solicited-node group of NS targets when it validates them', () => {
    const t = setup({ ns_ip6_target: '2001:db8::fe', arp_validate: 'backup' });
    expect(t.link.multicast(t.ports[0])).toEqual([]); // the active slave
    expect(t.link.multicast(t.ports[1])).toEqual(['3333ff0000fe']);
  });
});
