// The datapath's hash plan with broadcast_neighbor: ARP and IPv6 ND leave on every distributing
// port, everything else by the hash. Over the in-memory binding.
import { describe, expect, it } from 'vitest';
import { Datapath, DpCtr } from '../../../src/datapath/datapath.js';
import { rxPlan } from '../../../src/datapath/plan.js';
import { FakeNet, type FakeEngine } from '../../helpers/fake-binding.js';
import { gratuitousArp, neighbourSolicitation } from '../../../src/net/frames.js';
import { ipv4 } from '../../helpers/frames.js';

/** A datapath over the in-memory binding: the TAP and slaves a (port 1) and b (port 2). */
function twoPorts() {
  const net = new FakeNet();
  const a = net.addLink('a');
  const b = net.addLink('b');
  const dp = new Datapath(net.binding());
  const engine = net.engine as FakeEngine;
  dp.engine.openTap('bond0');
  dp.engine.openPacket(1, a.ifindex, 0);
  dp.engine.openPacket(2, b.ifindex, 0);
  return { dp, engine };
}

describe('datapath hash plan', () => {
  it('sends ARP and ND on every port of the neighbour mask, other frames on one', () => {
    const { dp, engine } = twoPorts();
    dp.publish({ kind: 'hash', masks: Uint32Array.of(2, 4), policy: 1, neighborMask: 6 }, rxPlan(32, [1, 2]));
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
    const ns = neighbourSolicitation(mac, new Uint8Array(16), Uint8Array.from(Buffer.from('20010db8000000000000000000000002', 'hex')));
    engine.inject(0, [gratuitousArp(mac, Uint8Array.of(198, 18, 0, 1)), ns, ipv4(17)]);
    const onA = engine.take(1);
    const onB = engine.take(2);
    expect(onA.length + onB.length).toBe(5); // 2 + 2 neighbour frames, 1 hashed frame
    expect(onA.filter((f) => f[12] === 0x08 && f[13] === 0x06)).toHaveLength(1);
    expect(onB.filter((f) => f[12] === 0x86 && f[13] === 0xdd)).toHaveLength(1);
    dp.publish({ kind: 'hash', masks: Uint32Array.of(2, 4), policy: 1 }, rxPlan(32, [1, 2]));
    engine.inject(0, [gratuitousArp(mac, Uint8Array.of(198, 18, 0, 1))]);
    expect(engine.take(1).length + engine.take(2).length).toBe(1);
    dp.close();
  });
});

describe('datapath tlb plan, reflection filter, alb receive', () => {
  const bondMac = Uint8Array.of(2, 0, 0, 0, 0, 1);
  const macs = new Uint8Array(32 * 6);
  macs.set(Uint8Array.of(2, 0, 0, 0, 0, 0x11), 6); // port 1's own MAC
  macs.set(bondMac, 12); // port 2 is active: it carries the bond's

  function setup() {
    const { dp, engine } = twoPorts();
    dp.tlb.setPorts(
      [
        { index: 1, speed: 1000, usable: true },
        { index: 2, speed: 1000, usable: true },
      ],
      2,
      0,
    );
    dp.publish(
      {
        kind: 'tlb',
        activeMask: 4,
        active: 2,
        bondMac,
        portMacs: macs,
        alb: true,
        dynamic: true,
        masks: Uint32Array.of(2, 4),
        policy: 0,
        trapArp: false,
      },
      { ...rxPlan(32, [2], [], [1]), rewrite: { macs: macs.slice(6, 12), bondMac } },
    );
    return { dp, engine };
  }

  it("balances the bond's IP unicast with the port's MAC, keeps broadcasts and guests as they are", () => {
    const { dp, engine } = setup();
    const guest = ipv4(17, '52:54:00:00:00:09', '02:00:00:00:00:99');
    engine.inject(0, [ipv4(17, '02:00:00:00:00:01', '02:00:00:00:00:99'), gratuitousArp(bondMac, Uint8Array.of(198, 18, 0, 1)), guest]);
    const onA = engine.take(1);
    const onB = engine.take(2);
    // the IP frame took port 1 (largest gap, first in order) with port 1's MAC as source
    expect(onA.some((f) => f[12] === 8 && f[13] === 0 && f[11] === 0x11)).toBe(true);
    // the broadcast ARP left the active port with the bond's MAC
    expect(onB.filter((f) => f[13] === 6).map((f) => f[11])).toEqual([1]);
    // the guest's frame was never rewritten
    const g = [...onA, ...onB].filter((f) => f[6] === 0x52);
    expect(g).toHaveLength(1);
    expect(g[0][11]).toBe(9);
    dp.close();
  });

  it('drops our own MACs coming back, delivers unicast only on inactive ports, rewrites slave MACs', () => {
    const { dp, engine } = setup();
    engine.inject(0, [ipv4(17, '52:54:00:00:00:09', '02:00:00:00:00:99')]); // learn the guest
    engine.take(1);
    engine.take(2);
    const reflected = ipv4(17, '52:54:00:00:00:09', 'ff:ff:ff:ff:ff:ff');
    const bcast = ipv4(17, '02:00:00:00:00:77', 'ff:ff:ff:ff:ff:ff');
    const toSlave = ipv4(17, '02:00:00:00:00:77', '02:00:00:00:00:11');
    engine.inject(1, [reflected, bcast, toSlave]);
    const up = engine.take(0);
    expect(up).toHaveLength(1); // only the unicast frame on the inactive port
    expect(Array.from(up[0].subarray(0, 6))).toEqual(Array.from(bondMac));
    engine.inject(2, [reflected, bcast]);
    expect(engine.take(0)).toHaveLength(1); // the broadcast, on the active port; the reflection dropped
    expect(dp.dpCounter(2, DpCtr.RxLooped)).toBe(1);
    dp.close();
  });
});
