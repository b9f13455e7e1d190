// The datapath's hash plan with broadcast_neighbor: ARP and IPv6 ND leave on every distributing
// port, everything else by the hash. Over the in-memory binding.
import { describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { rxPlan } from '../../src/datapath/plan.js';
import { FakeNet, type FakeEngine } from '../../src/native/fake.js';
import { gratuitousArp, neighbourSolicitation } from '../../src/net/frames.js';
import { ipv4 } from '../helpers/frames.js';

describe('datapath hash plan', () => {
  it('sends ARP and ND on every port of the neighbour mask, other frames on one', () => {
    const net = new FakeNet();
    const a = net.addLink('a');
    const b = net.addLink('b');
    const dp = new Datapath(net.binding());
    const engine = net.engine as FakeEngine;
    dp.engine.openTap('bond0');
    dp.engine.openPacket(1, a.ifindex, 0);
    dp.engine.openPacket(2, b.ifindex, 0);
    dp.publish({ kind: 'hash', masks: Uint32Array.of(2, 4), policy: 1, neighborMask: 6 }, rxPlan([1, 2]));
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
    const ns = neighbourSolicitation(mac, new Uint8Array(16), Uint8Array.from(Buffer.from('20010db8000000000000000000000002', 'hex')));
    engine.inject(0, [gratuitousArp(mac, Uint8Array.of(198, 18, 0, 1)), ns, ipv4(17)]);
    const onA = engine.take(1);
    const onB = engine.take(2);
    expect(onA.length + onB.length).toBe(5); // 2 + 2 neighbour frames, 1 hashed frame
    expect(onA.filter((f) => f[12] === 0x08 && f[13] === 0x06)).toHaveLength(1);
    expect(onB.filter((f) => f[12] === 0x86 && f[13] === 0xdd)).toHaveLength(1);
    dp.publish({ kind: 'hash', masks: Uint32Array.of(2, 4), policy: 1 }, rxPlan([1, 2]));
    engine.inject(0, [gratuitousArp(mac, Uint8Array.of(198, 18, 0, 1))]);
    expect(engine.take(1).length + engine.take(2).length).toBe(1);
    dp.close();
  });
});
