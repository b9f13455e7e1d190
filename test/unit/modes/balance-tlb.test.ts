// balance-tlb and balance-alb against a fake mode context: the tlb plan's contents, learning
// packets on the tick, and balance-alb's transmit trap for the bond's ARP (RLB), which as a
// query (commit false) changes nothing.
import { describe, expect, it } from 'vitest';
import { DELIVER_ALL, DELIVER_UNICAST } from '../../../src/datapath/plan.js';
import { BalanceAlb, BalanceTlb } from '../../../src/modes/balance-tlb.js';
import { arpReply } from '../../../src/net/frames.js';
import { formatMac } from '../../../src/util/mac.js';
import { BOND_MAC, modeContext } from '../../helpers/mode-context.js';

const ip = (last: number) => Uint8Array.of(198, 18, 0, last);
const CLIENT = Uint8Array.of(2, 0xc0, 0, 0, 0, 7);

describe('balance-tlb', () => {
  it('publishes the active port, every port MAC, and receive rules for the others', () => {
    const m = modeContext({ mode: 'balance-tlb', miimon: 100, tlb_dynamic_lb: 'off', xmit_hash_policy: 'layer2+3' });
    m.ports[0].mac = Uint8Array.from(BOND_MAC); // the active slave carries the bond's MAC
    const mode = new BalanceTlb(m.ctx);
    mode.update('start');
    const { tx, rx } = m.last();
    if (tx.kind !== 'tlb') throw new Error(`tlb plan expected, got ${tx.kind}`);
    expect(tx).toMatchObject({ active: 1, activeMask: 1 << 1, dynamic: false, alb: false, trapArp: false });
    expect(Array.from(tx.masks)).toEqual([1 << 1, 1 << 2, 1 << 3]);
    expect(formatMac(tx.portMacs.subarray(12, 18))).toBe(formatMac(m.ports[1].mac));
    expect(Array.from(rx.deliver.subarray(1, 4))).toEqual([DELIVER_ALL, DELIVER_UNICAST, DELIVER_UNICAST]);
    expect(rx.rewrite!.macs).toHaveLength(12); // s1 and s2 keep MACs of their own
  });

  it('sends a learning packet from every slave each lp_interval', () => {
    const m = modeContext({ mode: 'balance-tlb', miimon: 100, lp_interval: 2 });
    const mode = new BalanceTlb(m.ctx);
    mode.update('start');
    m.sent.length = 0;
    for (let t = 0; t < 4000; t += 100) {
      m.clock.advance(100);
      mode.tick();
    }
    // at t=100 and t=2100 (the first tick sends at once)
    for (const p of m.ports)
      expect(m.sent.filter((s) => s.port === p).map((s) => formatMac(s.frame.subarray(6, 12)))).toEqual([
        formatMac(p.mac),
        formatMac(p.mac),
      ]);
  });
});

describe('balance-alb transmit trap', () => {
  function setup() {
    const m = modeContext({ mode: 'balance-alb', miimon: 100 });
    m.ports[0].mac = Uint8Array.from(BOND_MAC);
    const mode = new BalanceAlb(m.ctx);
    mode.update('start');
    return { ...m, mode };
  }

  it("traps ARP in its plan and answers a client from the port RLB picks, with that port's MAC", () => {
    const m = setup();
    const tx = m.last().tx;
    expect(tx.kind === 'tlb' && tx.trapArp).toBe(true);
    const reply = arpReply(BOND_MAC, ip(1), CLIENT, ip(7));
    const verdict = m.mode.transmitTrapped(reply, true);
    const port = m.ports.find((p) => verdict === 1 << p.index)!;
    expect(port).toBeDefined();
    expect(formatMac(reply.subarray(6, 12))).toBe(formatMac(port.mac)); // Ethernet source
    expect(formatMac(reply.subarray(22, 28))).toBe(formatMac(port.mac)); // ARP sender
    expect((m.mode.describe().rlb_clients as unknown[]).length).toBe(1);
  });

  it('as a query, names the same port and changes nothing', () => {
    const m = setup();
    const query = arpReply(BOND_MAC, ip(1), CLIENT, ip(7));
    const asked = m.mode.transmitTrapped(query, false);
    expect(formatMac(query.subarray(6, 12))).toBe(formatMac(BOND_MAC)); // not rewritten
    expect(m.mode.describe().rlb_clients).toEqual([]);
    expect(m.mode.transmitTrapped(arpReply(BOND_MAC, ip(1), CLIENT, ip(7)), true)).toBe(asked);
  });
});
