// `bondctl hash` (Bond.placement) is a query: it changes nothing the datapath decides with, it
// names the port a frame really takes, and it honours broadcast_neighbor.
import { describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { rxPlan } from '../../src/datapath/plan.js';
import { arpReply, gratuitousArp } from '../../src/net/frames.js';
import { Port } from '../../src/port/port.js';
import { placement } from '../../src/state/build.js';
import { parseMac } from '../../src/util/mac.js';
import { fakeBond } from '../helpers/fake-bond.js';
import { FakeNet } from '../helpers/fake-binding.js';
import { ipv4, toHost } from '../helpers/frames.js';

const ip = (last: number) => Uint8Array.of(198, 18, 0, last);

describe('bondctl hash changes nothing', () => {
  it('balance-tlb: names a port without assigning a bucket', () => {
    const { bond } = fakeBond({ mode: 'balance-tlb', miimon: 100 });
    const mac = bond.state().bond.mac!;
    const before = JSON.stringify(bond.state().mode);
    for (let last = 2; last < 60; last++) expect(bond.placement(toHost(mac, last)).port).toMatch(/^s[012]$/);
    expect(JSON.stringify(bond.state().mode)).toBe(before);
  });

  it('balance-rr: the round robin does not move on', () => {
    const { bond, engine, portOf } = fakeBond({ mode: 'balance-rr', miimon: 100 }, ['s0', 's1']);
    engine.inject(0, [ipv4(17)]);
    for (let i = 0; i < 3; i++) bond.placement(ipv4(17));
    engine.inject(0, [ipv4(17)]);
    expect(engine.take(portOf('s0'))).toHaveLength(1);
    expect(engine.take(portOf('s1'))).toHaveLength(1);
  });

  it('balance-alb: an ARP reply to a new client makes no RLB entry, and leaves where it said', () => {
    const { bond, engine, portOf } = fakeBond({ mode: 'balance-alb', miimon: 100 });
    const bondMac = parseMac(bond.state().bond.mac!)!;
    const reply = () => arpReply(bondMac, ip(1), parseMac('02:00:00:00:07:07')!, ip(7));
    const where = bond.placement(reply());
    expect(where.port).toMatch(/^s[012]$/);
    expect(bond.state().mode.rlb_clients).toEqual([]);
    engine.inject(0, [reply()]);
    expect(engine.take(portOf(where.port!)).filter((f) => f[12] === 8 && f[13] === 6)).toHaveLength(1);
    expect(bond.state().mode.rlb_clients).toHaveLength(1);
  });
});

describe('bondctl hash with broadcast_neighbor', () => {
  it('names every port of the neighbour mask for ARP, one hashed port otherwise', () => {
    const net = new FakeNet();
    const links = [net.addLink('a'), net.addLink('b')];
    const dp = new Datapath(net.binding());
    const ports = links.map(
      (l, i) =>
        new Port(
          i + 1,
          l.name,
          l.ifindex,
          l.mac,
          { name: l.name, ifindex: l.ifindex, mac: l.mac, mtu: 1500, flags: 0, disableIpv6: null },
          'up',
        ),
    );
    dp.publish({ kind: 'hash', masks: Uint32Array.of(2, 4), policy: 1, neighborMask: 6 }, rxPlan(32, [1, 2]));
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
    expect(placement(dp, ports, gratuitousArp(mac, ip(1)))).toMatchObject({ plan: 'hash', neighbor: true, port: 'a,b' });
    const data = placement(dp, ports, ipv4(17));
    expect(data.neighbor).toBeUndefined();
    expect(data.port).toBe(['a', 'b'][data.index!]);
    dp.close();
  });
});
