// Whole bonds over the in-memory binding, under a ManualClock: failover, delivery rules,
// spreading, peer notification, enslave/release hygiene and the show layout.
import { describe, expect, it } from 'vitest';
import { policyId, xmitHash } from '../../src/datapath/hash.js';
import { encodeLacpdu } from '../../src/lacp/pdu.js';
import { frameFromSpec } from '../../src/net/frame-spec.js';
import { formatMac } from '../../src/util/mac.js';
import { renderShow } from '../../src/report/show.js';
import { AF_INET, AF_INET6 } from '../../src/net/rtnl.js';
import { eth, ipv4 } from '../helpers/frames.js';
import { fakeBond } from '../helpers/fake-bond.js';
import type { TxPlan } from '../../src/datapath/plan.js';

const data = (n: number) =>
  Array.from({ length: n }, (_, i) => ipv4(17, '02:00:00:00:00:aa', `02:00:00:00:01:${(i % 256).toString(16).padStart(2, '0')}`));

describe('active-backup', () => {
  it('sends through the active slave only and fails over on carrier loss', () => {
    const { net, clock, bond, engine, portOf, log } = fakeBond({ mode: 'active-backup', miimon: 100 });
    expect(bond.state().bond.active_slave).toBe('s0');
    engine.inject(0, data(10));
    expect(engine.take(portOf('s0'))).toHaveLength(10);
    expect(engine.take(portOf('s1'))).toHaveLength(0);
    net.setCarrier('s0', false);
    clock.advance(100);
    expect(bond.state().bond.active_slave).toBe('s1');
    expect(bond.state().ports[0]).toMatchObject({ mii_status: 'down', link_failure_count: 1 });
    engine.inject(0, data(4));
    expect(engine.take(portOf('s1')).filter((f) => f[12] === 0x08 && f[13] === 0x00)).toHaveLength(4);
    expect(log.lines).toContain('info bond0 s1: active s0 -> s1 (s0 link failure)');
  });

  it('event-driven: a link event fails over without waiting for the next miimon tick', () => {
    const { net, bond } = fakeBond({ mode: 'active-backup', miimon: 100 });
    net.setCarrier('s0', false);
    bond.onLinkEvent({ type: 'new', ifindex: net.link('s0').ifindex, flags: 0x1003 });
    expect(bond.state().bond.active_slave).toBe('s1');
  });

  it('a stale event (queued before a poll saw the loss) does not bring the link back', () => {
    const { net, bond, clock } = fakeBond({ mode: 'active-backup', miimon: 100 });
    const l = net.link('s0');
    net.setCarrier('s0', false);
    clock.advance(100); // the poll finds the loss first
    expect(bond.state().ports[0]).toMatchObject({ mii_status: 'down', link_failure_count: 1 });
    // then an event emitted while the link still ran: UP|RUNNING|BROADCAST|MULTICAST
    bond.onLinkEvent({ type: 'new', ifindex: l.ifindex, flags: 0x1043, name: 's0', mtu: l.mtu, mac: l.mac, carrier: true });
    bond.onLinkEvent({ type: 'new', ifindex: l.ifindex, flags: 0x1003, name: 's0', mtu: l.mtu, mac: l.mac, carrier: false });
    expect(bond.state().ports[0]).toMatchObject({ mii_status: 'down', link_failure_count: 1 });
    expect(bond.state().bond.active_slave).toBe('s1');
  });

  it('queue ids reach the plan with the links they may use; other modes keep them with a warning', () => {
    const { net, clock, bond, portOf, log } = fakeBond({ mode: 'active-backup', miimon: 100, tx_queues: 4 });
    // the plan the datapaths get (the transmit programs carry the queue ids out)
    const plan = () => (bond as unknown as { datapath: { txPlan: TxPlan } }).datapath.txPlan;
    expect(plan().queues).toBeUndefined();
    bond.setSlaveOption('s1', 'queue_id', 2);
    const s1 = portOf('s1');
    expect(plan()).toMatchObject({ kind: 'single', mask: 1 << portOf('s0') });
    expect(plan().queues?.txQueues).toBe(4);
    expect(plan().queues?.ids[s1]).toBe(2);
    expect(plan().queues?.upMask).toBe(1 << s1); // a backup takes its queue's frames
    net.setCarrier('s1', false);
    clock.advance(100);
    expect(plan().queues?.upMask).toBe(0); // down: the mode decides
    expect(() => bond.setSlaveOption('s0', 'queue_id', 5)).toThrow("queue_id: invalid value '5' (tx_queues is 4); allowed: 0..4");
    bond.setSlaveOption('s1', 'queue_id', 0);
    expect(plan().queues).toBeUndefined();
    const x = fakeBond({ mode: 'balance-xor', miimon: 100 });
    x.bond.setSlaveOption('s1', 'queue_id', 2);
    expect((x.bond as unknown as { datapath: { txPlan: TxPlan } }).datapath.txPlan.queues).toBeUndefined();
    expect(x.log.lines.join('\n')).toMatch(/queue_id is kept, but mode balance-xor sends by its own policy/);
    expect(log.lines.join('\n')).not.toMatch(/queue_id is kept/);
  });

  it('delivers nothing from backups unless all_slaves_active', () => {
    const { engine, portOf } = fakeBond({ mode: 'active-backup', miimon: 100 });
    engine.inject(portOf('s1'), data(3));
    engine.inject(portOf('s0'), data(2));
    expect(engine.take(0)).toHaveLength(2);
    const b = fakeBond({ mode: 'active-backup', miimon: 100, all_slaves_active: 1 });
    b.engine.inject(b.portOf('s1'), data(3));
    expect(b.engine.take(0)).toHaveLength(3);
  });

  it('honours downdelay and updelay (rounded to miimon)', () => {
    const { net, clock, bond } = fakeBond({ mode: 'active-backup', miimon: 100, downdelay: 300, updelay: 200 });
    clock.advance(300); // initial updelay of the backups
    expect(bond.state().ports.map((p) => p.mii_status)).toEqual(['up', 'up', 'up']);
    net.setCarrier('s0', false);
    clock.advance(100);
    expect(bond.state().ports[0].mii_status).toBe('going down');
    clock.advance(200);
    expect(bond.state().bond.active_slave).toBe('s0');
    clock.advance(100);
    expect(bond.state().bond.active_slave).toBe('s1');
    net.setCarrier('s0', true);
    clock.advance(100);
    expect(bond.state().ports[0].mii_status).toBe('going back');
    clock.advance(300);
    expect(bond.state().ports[0].mii_status).toBe('up');
  });

  it('takes a returning link at once when no slave is usable (mode-1 recovery)', () => {
    const { net, clock, bond } = fakeBond({ mode: 'active-backup', miimon: 100, updelay: 10000 }, ['s0', 's1']);
    clock.advance(10100); // both finish their initial updelay
    for (const s of ['s0', 's1']) net.setCarrier(s, false);
    clock.advance(100);
    expect(bond.state().bond.carrier).toBe(false);
    net.setCarrier('s1', true);
    clock.advance(100);
    expect(bond.state().bond.active_slave).toBe('s1');
    expect(bond.state().bond.carrier).toBe(true);
  });

  it('follows primary and primary_reselect', () => {
    // the primary s1 fails and comes back (at `speed`); which slave is active afterwards?
    const bounce = (reselect: string, speed = 10000) => {
      const b = fakeBond({ mode: 'active-backup', miimon: 100, primary: 's1', primary_reselect: reselect });
      expect(b.bond.state().bond.active_slave).toBe('s1');
      b.net.setCarrier('s1', false);
      b.clock.advance(100);
      expect(b.bond.state().bond.active_slave).toBe('s0');
      b.net.link('s1').speed = speed;
      b.net.setCarrier('s1', true);
      b.clock.advance(100);
      return b.bond.state().bond.active_slave;
    };
    expect(bounce('always')).toBe('s1');
    expect(bounce('failure')).toBe('s0');
    expect(bounce('better', 1000)).toBe('s0'); // primary came back slower: keep the current one
    expect(bounce('better', 25000)).toBe('s1');
  });

  it('sends num_grat_arp notifications spaced by peer_notif_delay from the new active slave', () => {
    const { net, clock, bond, engine, portOf } = fakeBond({ mode: 'active-backup', miimon: 100, num_grat_arp: 3, peer_notif_delay: 200 });
    net.addrs.push({ ifindex: bond.ifindex, family: AF_INET, prefixlen: 24, scope: 0, flags: 0, address: Uint8Array.of(198, 18, 0, 1) });
    net.addrs.push({
      ifindex: bond.ifindex,
      family: AF_INET6,
      prefixlen: 64,
      scope: 0,
      flags: 0,
      address: Uint8Array.from(Buffer.from('20010db8000000000000000000000001', 'hex')),
    });
    clock.advance(1000);
    engine.take(portOf('s1'));
    net.setCarrier('s0', false);
    clock.advance(100);
    const garp = () => engine.take(portOf('s1')).filter((f) => f[12] === 0x08 && f[13] === 0x06);
    expect(garp()).toHaveLength(1);
    clock.advance(199);
    expect(garp()).toHaveLength(0);
    clock.advance(1);
    expect(garp()).toHaveLength(1);
    clock.advance(1000);
    expect(garp()).toHaveLength(1);
    expect(bond.state().bond.peer_notifications).toBeGreaterThanOrEqual(3);
  });

  it('switches on a manual active_slave and refuses a slave whose link is down', () => {
    const { net, clock, bond } = fakeBond({ mode: 'active-backup', miimon: 100 });
    bond.setOption('active_slave', 's2');
    expect(bond.state().bond.active_slave).toBe('s2');
    net.setCarrier('s1', false);
    clock.advance(100);
    expect(() => bond.setOption('active_slave', 's1')).toThrow(/must be up/);
    expect(() => bond.setOption('active_slave', 'nope')).toThrow(/not a slave of bond0/);
  });
});

describe('balance-rr', () => {
  it('spreads one frame per slave by default', () => {
    const { engine, portOf } = fakeBond({ mode: 'balance-rr', miimon: 100 });
    engine.inject(0, data(30));
    for (const s of ['s0', 's1', 's2']) expect(engine.take(portOf(s))).toHaveLength(10);
  });

  it('sends runs of packets_per_slave', () => {
    const { engine, portOf } = fakeBond({ mode: 'balance-rr', miimon: 100, packets_per_slave: 3 }, ['s0', 's1']);
    const frames = data(12).map((f, i) => (f.set([i], 20), f));
    engine.inject(0, frames);
    const on0 = engine.take(portOf('s0')).map((f) => f[20]);
    expect(on0).toEqual([0, 1, 2, 6, 7, 8]);
  });

  it('packets_per_slave=0 picks slaves at random', () => {
    const { engine, portOf } = fakeBond({ mode: 'balance-rr', miimon: 100, packets_per_slave: 0 }, ['s0', 's1']);
    engine.inject(0, data(2000));
    const n0 = engine.take(portOf('s0')).length;
    expect(n0).toBeGreaterThan(850);
    expect(n0).toBeLessThan(1150);
  });

  it('pins IGMP to one slave and skips down slaves', () => {
    const { net, clock, engine, portOf } = fakeBond({ mode: 'balance-rr', miimon: 100 });
    engine.inject(
      0,
      Array.from({ length: 6 }, () => ipv4(2)),
    );
    expect(engine.take(portOf('s0'))).toHaveLength(6);
    net.setCarrier('s1', false);
    clock.advance(100);
    engine.inject(0, data(10));
    expect(engine.take(portOf('s1'))).toHaveLength(0);
    const sent = [...engine.take(portOf('s0')), ...engine.take(portOf('s2'))];
    expect(sent.filter((f) => f[12] === 0x08 && f[13] === 0x00)).toHaveLength(10);
    // the MAC seen from the TAP side was announced once (RARP) where it now leaves
    expect(sent.filter((f) => f[12] === 0x80 && f[13] === 0x35)).toHaveLength(1);
  });

  it('delivers from every slave, counts and drops malformed frames', () => {
    const { bond, engine, portOf } = fakeBond({ mode: 'balance-rr', miimon: 100 });
    engine.inject(portOf('s1'), [...data(3), new Uint8Array(8)]);
    expect(engine.take(0)).toHaveLength(3);
    expect(bond.state().ports[1].counters.rx_malformed).toBe(1);
  });
});

describe('broadcast', () => {
  it('sends every frame once on every usable slave', () => {
    const { net, clock, engine, portOf } = fakeBond({ mode: 'broadcast', miimon: 100 });
    engine.inject(0, data(5));
    for (const s of ['s0', 's1', 's2']) expect(engine.take(portOf(s))).toHaveLength(5);
    net.setCarrier('s2', false);
    clock.advance(100);
    engine.inject(0, data(5));
    expect(engine.take(portOf('s2'))).toHaveLength(0);
    expect(engine.take(portOf('s0')).filter((f) => f[12] === 0x08)).toHaveLength(5);
  });
});

describe('enslave and release', () => {
  it('gives slaves the bond MAC and MTU, blinds their stack, and restores everything on release', () => {
    const { net, bond } = fakeBond({ mode: 'active-backup', miimon: 100 });
    const s1 = net.link('s1');
    const bondMac = Buffer.from(net.link('bond0').mac).toString('hex');
    expect(Buffer.from(net.link('s0').mac).toString('hex')).toBe(bondMac); // bond took the first slave's MAC
    expect(Buffer.from(s1.mac).toString('hex')).toBe(bondMac);
    expect(net.sysctls.get('net/ipv6/conf/s1/disable_ipv6')).toBe('1');
    expect(net.blocked.has(s1.ifindex)).toBe(true);
    bond.release('s1');
    expect(Buffer.from(s1.mac).toString('hex')).toBe('02000000000' + s1.ifindex.toString(16));
    expect(net.sysctls.get('net/ipv6/conf/s1/disable_ipv6')).toBe('0');
    expect(net.blocked.has(s1.ifindex)).toBe(false);
    expect(s1.flags & 1).toBe(1);
    expect(() => bond.release('s1')).toThrow(/not a slave/);
    expect(() => bond.enslave('s0')).toThrow(/already a slave/);
    expect(() => bond.enslave('nope')).toThrow(/no such interface/);
  });

  it('enslaves with a warning where /proc/sys is read-only (a container)', () => {
    const { net, bond, log } = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0']);
    net.addLink('s5', { flags: 0x1003 });
    net.readOnlySysctls = true;
    bond.enslave('s5');
    expect(net.blocked.has(net.link('s5').ifindex)).toBe(true);
    expect(log.lines.join('\n')).toMatch(/warn bond0 s5: cannot turn IPv6 off \(net\/ipv6\/conf\/s5\/disable_ipv6 is read-only here/);
    bond.release('s5'); // nothing to restore there, and no error
    expect(net.sysctls.get('net/ipv6/conf/s5/disable_ipv6')).toBe('0');
  });

  it('stop() restores every slave and removes the TAP', () => {
    const { net, bond } = fakeBond({ mode: 'balance-rr', miimon: 100 });
    net.link('s2').mtu = 1500;
    bond.delete();
    expect(net.links.has('bond0')).toBe(false);
    for (const s of ['s0', 's1', 's2']) expect(net.blocked.has(net.link(s).ifindex)).toBe(false);
    expect(Buffer.from(net.link('s1').mac).toString('hex')).toBe('02000000000' + net.link('s1').ifindex.toString(16));
  });

  it('mirrors the TAP multicast list and promiscuous state onto the slaves', () => {
    const { net, clock, engine } = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0']);
    net.multicast.set('bond0', ['333300000001']);
    net.link('bond0').flags |= 0x100;
    clock.advance(1000);
    expect(engine.memberships).toContain('1 +multicast 333300000001');
    expect(engine.memberships).toContain('1 +promisc');
    net.multicast.set('bond0', []);
    clock.advance(1000);
    expect(engine.memberships).toContain('1 -multicast 333300000001');
  });
});

describe('show', () => {
  it('prints the /proc/net/bonding layout', () => {
    const { bond } = fakeBond({ mode: 'active-backup', miimon: 100, primary: 's1' }, ['s0', 's1']);
    const text = renderShow(bond.state())
      .replace(/HW addr: .*/g, 'HW addr: <mac>')
      .replace(/tapbond v[^,]+/, 'tapbond vX');
    expect(text).toBe(`Ethernet Channel Bonding Driver: tapbond vX, datapath user space (bpf failed: Function not implemented (ENOSYS))

Bonding Mode: fault-tolerance (active-backup)
Primary Slave: s1 (primary_reselect always)
Currently Active Slave: s1
MII Status: up
MII Polling Interval (ms): 100
Up Delay (ms): 0
Down Delay (ms): 0
Peer Notification Delay (ms): 0

Slave Interface: s0
MII Status: up
Speed: 10000 Mbps
Duplex: full
Link Failure Count: 0
Permanent HW addr: <mac>
Slave queue ID: 0

Slave Interface: s1
MII Status: up
Speed: 10000 Mbps
Duplex: full
Link Failure Count: 0
Permanent HW addr: <mac>
Slave queue ID: 0
`);
  });

  it('has no primary lines in balance-rr', () => {
    const { bond } = fakeBond({ mode: 'balance-rr', miimon: 100 }, ['s0']);
    const text = renderShow(bond.state());
    expect(text).toContain('Bonding Mode: load balancing (round-robin)\nMII Status: up');
    expect(text).not.toContain('Primary Slave');
  });
});

// keep the helper used (eth) for tagged frames
describe('VLAN-tagged IGMP', () => {
  it('is recognised behind one 802.1Q tag', () => {
    const { engine, portOf } = fakeBond({ mode: 'balance-rr', miimon: 100 }, ['s0', 's1']);
    const p = new Uint8Array(50);
    p.set([0x00, 0x05, 0x08, 0x00, 0x45], 0);
    p[4 + 9] = 2;
    engine.inject(0, [eth('01:00:5e:00:00:01', '02:00:00:00:00:01', 0x8100, p), eth('01:00:5e:00:00:01', '02:00:00:00:00:01', 0x8100, p)]);
    expect(engine.take(portOf('s0'))).toHaveLength(2);
  });
});

describe('balance-xor', () => {
  it('places each frame on usable[hash % count] and remaps when a slave goes down', () => {
    const { net, clock, bond, engine, portOf } = fakeBond({ mode: 'balance-xor', miimon: 100, xmit_hash_policy: 'layer3+4' });
    const flows = Array.from({ length: 40 }, (_, i) => frameFromSpec(['proto=udp', `sport=${1000 + i}`, 'dport=53']));
    const place = (names: string[]) => {
      engine.inject(0, flows);
      const got = new Map<string, Uint8Array[]>(names.map((n) => [n, engine.take(portOf(n))]));
      flows.forEach((f, i) => {
        const want = names[xmitHash(f, 0, f.length, policyId('layer3+4')) % names.length];
        const sport = 1000 + i;
        const on = [...got].find(([, fs]) => fs.some((x) => ((x[34] << 8) | x[35]) === sport))?.[0];
        expect(on, `flow ${sport}`).toBe(want);
      });
      return got;
    };
    const three = place(['s0', 's1', 's2']);
    expect([...three.values()].every((fs) => fs.length > 0)).toBe(true); // 40 flows use every slave
    net.setCarrier('s1', false);
    clock.advance(100);
    place(['s0', 's2']);
    expect(bond.placement(flows[0]).usable).toEqual(['s0', 's2']);
    bond.setOption('xmit_hash_policy', 'layer2');
    engine.inject(0, flows);
    // layer2 hashes MACs only: every flow between the same two hosts takes one slave
    expect([engine.take(portOf('s0')).length, engine.take(portOf('s2')).length].sort((a, b) => a - b)).toEqual([0, 40]);
  });

  it('shows the transmit hash policy line', () => {
    const { bond } = fakeBond({ mode: 'balance-xor', miimon: 100, xmit_hash_policy: '2' }, ['s0']);
    expect(renderShow(bond.state())).toContain('Bonding Mode: load balancing (xor)\nTransmit Hash Policy: layer2+3 (2)\nMII Status: up');
  });
});

describe('fail_over_mac', () => {
  const hex = (m: Uint8Array) => Buffer.from(m).toString('hex');

  it("active: slaves keep their MACs, the bond takes the active slave's", () => {
    const { net, clock, bond } = fakeBond({ mode: 'active-backup', miimon: 100, fail_over_mac: 'active' }, ['s0', 's1']);
    const own = ['s0', 's1'].map((s) => hex(net.link(s).mac));
    expect(hex(net.link('bond0').mac)).toBe(own[0]);
    expect(hex(net.link('s1').mac)).toBe(own[1]); // not given the bond's MAC
    net.setCarrier('s0', false);
    clock.advance(100);
    expect(bond.state().bond.active_slave).toBe('s1');
    expect(hex(net.link('bond0').mac)).toBe(own[1]);
    expect(renderShow(bond.state())).toContain('Bonding Mode: fault-tolerance (active-backup) (fail_over_mac active)');
  });

  it("follow: the new active slave takes the bond MAC and the old one gets the new one's", () => {
    const { net, clock, bond } = fakeBond({ mode: 'active-backup', miimon: 100, fail_over_mac: 'follow' }, ['s0', 's1']);
    const [m0, m1] = ['s0', 's1'].map((s) => hex(net.link(s).mac));
    const bondMac = hex(net.link('bond0').mac);
    expect(bondMac).toBe(m0);
    net.setCarrier('s0', false);
    clock.advance(100);
    expect(bond.state().bond.active_slave).toBe('s1');
    expect(hex(net.link('s1').mac)).toBe(bondMac);
    expect(hex(net.link('s0').mac)).toBe(m1);
    expect(hex(net.link('bond0').mac)).toBe(bondMac);
    net.setCarrier('s0', true);
    clock.advance(100);
    bond.setOption('active_slave', 's0');
    expect(hex(net.link('s0').mac)).toBe(bondMac);
    expect(hex(net.link('s1').mac)).toBe(m1);
    bond.delete(); // release puts every slave's own MAC back
    expect([hex(net.link('s0').mac), hex(net.link('s1').mac)]).toEqual([m0, m1]);
  });

  it('may only change while the bond has no slaves', () => {
    const { bond } = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0']);
    expect(() => bond.setOption('fail_over_mac', 'active')).toThrow(/fail_over_mac: may only change while the bond has no slaves/);
  });
});

describe('802.3ad over the in-memory binding', () => {
  const lacpFrames = (fs: Uint8Array[]) => fs.filter((f) => f[12] === 0x88 && f[13] === 0x09);

  it("sends LACPDUs from each port's own MAC to the slow-protocols address and joins it", async () => {
    const { clock, engine, portOf, bond } = fakeBond({ mode: '802.3ad', lacp_rate: 'fast' }, ['s0', 's1']);
    clock.advance(1000);
    const f = lacpFrames(engine.take(portOf('s1')));
    expect(f.length).toBeGreaterThan(0);
    expect(Buffer.from(f[0].subarray(0, 6)).toString('hex')).toBe('0180c2000002');
    expect(engine.memberships).toContain(`${portOf('s1')} +multicast 0180c2000002`);
    // the source is s1's own (permanent) MAC, not the bond's, which s1 carries now
    const perm = (name: string) => bond.state().ports.find((p) => p.name === name)!.perm_hwaddr;
    expect(perm('s1')).not.toBe(perm('s0'));
    expect(formatMac(f[0].subarray(6, 12))).toBe(perm('s1'));
  });

  it('warns about a slave without speed and uses ad_speed_override when set', () => {
    const net0 = fakeBond({ mode: '802.3ad' }, []);
    net0.net.addLink('v0', { flags: 0x1003, speed: -1, duplex: 'unknown' });
    net0.bond.enslave('v0');
    net0.clock.advance(200);
    expect(net0.log.lines.join('\n')).toMatch(/v0: speed unknown: LACP is disabled on this port .*set ad_speed_override/);
    expect(net0.bond.state().ports[0].lacp).toMatchObject({ lacp_enabled: false });
    const b = fakeBond({ mode: '802.3ad', ad_speed_override: 10000 }, []);
    b.net.addLink('v0', { flags: 0x1003, speed: -1, duplex: 'unknown' });
    b.bond.enslave('v0');
    b.clock.advance(200);
    expect(b.bond.state().ports[0].lacp).toMatchObject({ lacp_enabled: true, actor: { key: 15 } });
  });

  it('lacp_fallback: without a partner one port carries traffic at once; a partner takes it back', () => {
    const { clock, bond, engine, portOf, net, log } = fakeBond({ mode: '802.3ad', lacp_rate: 'fast', lacp_fallback: 'on' }, ['s0', 's1']);
    clock.advance(100);
    expect(bond.state().mode.distributing).toEqual(['s0']);
    expect(bond.state().bond.carrier).toBe(true);
    engine.inject(0, data(4));
    expect(engine.take(portOf('s0')).filter((f) => f[12] === 0x08 && f[13] === 0x00)).toHaveLength(4);
    net.setCarrier('s0', false);
    clock.advance(200);
    expect(bond.state().mode.distributing).toEqual(['s1']);
    // a partner speaks on s1: LACP takes over (the port will distribute after LACP converges)
    const partner = { systemPriority: 1, system: Uint8Array.of(2, 9, 9, 9, 9, 9), key: 33, portPriority: 255, port: 7, state: 0x3d };
    const frame = encodeLacpdu(Uint8Array.of(2, 9, 9, 9, 9, 8), {
      actor: partner,
      partner: { ...partner, system: new Uint8Array(6), state: 0 },
      collectorMaxDelay: 0,
    });
    engine.inject(portOf('s1'), [frame]);
    clock.advance(100);
    expect(bond.state().ports[1].lacp).toMatchObject({ rx_state: 'current', partner: { system: '02:09:09:09:09:09' } });
    expect(log.lines.join('\n')).toContain('bond0: LACP partner heard, leaving the active-backup fallback');
  });
});

describe('resend_igmp', () => {
  it("reports the TAP's groups resend_igmp times, 200 ms apart, from the new active slave", () => {
    const { net, clock, engine, portOf, bond } = fakeBond({ mode: 'active-backup', miimon: 100, resend_igmp: 3, num_grat_arp: 0 }, [
      's0',
      's1',
    ]);
    net.igmp.set('bond0', [Uint8Array.of(239, 1, 1, 1)]);
    clock.advance(1000);
    engine.take(portOf('s1'));
    net.setCarrier('s0', false);
    clock.advance(100);
    const igmp = () => engine.take(portOf('s1')).filter((f) => f[12] === 0x08 && f[14 + 9] === 2);
    expect(igmp()).toHaveLength(1);
    clock.advance(199);
    expect(igmp()).toHaveLength(0);
    clock.advance(1);
    expect(igmp()).toHaveLength(1);
    clock.advance(1000);
    expect(igmp()).toHaveLength(1);
    expect(bond.state().bond.igmp_resends).toBeGreaterThanOrEqual(3);
  });
});
