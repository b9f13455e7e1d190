// balance-tlb and balance-alb as whole bonds over the in-memory binding under a manual clock.
import { describe, expect, it } from 'vitest';
import { arpReply, parseArp } from '../../src/net/frames.js';
import { formatMac, parseMac } from '../../src/util/mac.js';
import { ipv4, toHost } from '../helpers/frames.js';
import { fakeBond } from '../helpers/fake-bond.js';

const ip = (last: number) => Uint8Array.of(198, 18, 0, last);

describe('balance-alb', () => {
  function setup() {
    const b = fakeBond({ mode: 'balance-alb', miimon: 100 });
    const bondMac = parseMac(b.bond.state().bond.mac!)!;
    const macOf = (name: string) => b.net.binding().linkInfo(name).mac;
    return { ...b, bondMac, macOf };
  }

  it("keeps one MAC per slave, the active one the bond's, and swaps on failover", () => {
    const { net, clock, bond, bondMac, macOf } = setup();
    const st = bond.state();
    expect(st.bond.active_slave).toBe('s0');
    expect(formatMac(macOf('s0'))).toBe(st.bond.mac);
    const s1 = formatMac(macOf('s1'));
    expect(new Set(['s0', 's1', 's2'].map((n) => formatMac(macOf(n)))).size).toBe(3);
    net.setCarrier('s0', false);
    clock.advance(100);
    expect(bond.state().bond.active_slave).toBe('s1');
    expect(formatMac(macOf('s1'))).toBe(formatMac(bondMac));
    expect(formatMac(macOf('s0'))).toBe(s1);
  });

  it("answers clients from different slaves and moves a failed slave's clients with updates", () => {
    const { net, clock, bond, engine, portOf, bondMac, macOf } = setup();
    const clients = [11, 12, 13].map((n) => ({ n, mac: Uint8Array.of(2, 0xcc, 0, 0, 0, n) }));
    engine.inject(
      0,
      clients.map((c) => arpReply(bondMac, ip(1), c.mac, ip(c.n))),
    );
    const sentOn = new Map<string, Uint8Array[]>();
    for (const s of ['s0', 's1', 's2'])
      sentOn.set(
        s,
        engine.take(portOf(s)).filter((f) => f[13] === 0x06),
      );
    // one reply per slave, each naming that slave's MAC as the server's
    for (const s of ['s0', 's1', 's2']) {
      expect(sentOn.get(s)).toHaveLength(1);
      expect(formatMac(parseArp(sentOn.get(s)![0])!.sha)).toBe(formatMac(macOf(s)));
    }
    const onS1 = parseArp(sentOn.get('s1')![0])!.tip[3];
    clock.advance(200);
    for (const s of ['s0', 's1', 's2']) engine.take(portOf(s));
    net.setCarrier('s1', false);
    clock.advance(300);
    const s1Mac = formatMac(macOf('s1'));
    const frames = ['s0', 's2'].map((s) => ({ s, fs: engine.take(portOf(s)) }));
    // the active slave teaches the switch the failed slave's MAC (kernel rlb_teach_disabled_mac_on_primary)
    expect(frames[0].fs.some((f) => f[12] === 0x90 && formatMac(f.subarray(6, 12)) === s1Mac)).toBe(true);
    const updates = frames.flatMap(({ s, fs }) => fs.filter((f) => f[13] === 0x06 && f[21] === 2).map((f) => ({ s, a: parseArp(f)! })));
    const forClient = updates.filter((u) => u.a.tip[3] === onS1);
    expect(forClient.length).toBe(2); // RLB_ARP_BURST unicast replies
    expect(formatMac(forClient[0].a.sha)).toBe(formatMac(macOf(forClient[0].s)));
    const rlb = bond.state().mode.rlb_clients as { client: string; slave: string }[];
    expect(rlb.find((c) => c.client === `198.18.0.${onS1}`)!.slave).not.toBe('s1');
  });

  it("delivers unicast from every slave with the slave MAC rewritten to the bond's; broadcasts only from the active one", () => {
    const { engine, portOf, bondMac, macOf } = setup();
    const toS2 = ipv4(17, '02:00:00:00:07:01', formatMac(macOf('s2')));
    const bcast = ipv4(17, '02:00:00:00:07:01', 'ff:ff:ff:ff:ff:ff');
    engine.inject(portOf('s2'), [toS2, bcast]);
    const up = engine.take(0);
    expect(up).toHaveLength(1);
    expect(formatMac(up[0].subarray(0, 6))).toBe(formatMac(bondMac));
    engine.inject(portOf('s0'), [bcast]);
    expect(engine.take(0)).toHaveLength(1);
  });
});

describe('balance-tlb', () => {
  it('spreads destinations over the slaves with their own MACs; guests by source MAC, untouched', () => {
    const { bond, engine, portOf, net, clock } = fakeBond({ mode: 'balance-tlb', miimon: 100, xmit_hash_policy: 'layer2+3' });
    const bondMac = bond.state().bond.mac!;
    // kernel compat: buckets carry no load history in the first 10 s, so all go to the first
    // slave; the rebalance then spreads them by the load each carried
    engine.inject(
      0,
      Array.from({ length: 24 }, (_, i) => toHost(bondMac, 10 + i)),
    );
    expect(engine.take(portOf('s0')).filter((f) => f[12] === 0x08)).toHaveLength(24);
    clock.advance(10_000);
    for (const s of ['s0', 's1', 's2']) engine.take(portOf(s));
    engine.inject(
      0,
      Array.from({ length: 24 }, (_, i) => toHost(bondMac, 10 + i)),
    );
    const used = ['s0', 's1', 's2'].map((s) => ({ s, frames: engine.take(portOf(s)) }));
    expect(used.filter((u) => u.frames.length > 0).length).toBe(3);
    for (const u of used) {
      const own = formatMac(net.binding().linkInfo(u.s).mac);
      for (const f of u.frames) expect(formatMac(f.subarray(6, 12))).toBe(own);
    }
    // a guest's frames keep their source MAC and stay on one slave
    engine.inject(
      0,
      Array.from({ length: 6 }, (_, i) => toHost('52:54:00:00:00:09', 40 + i)),
    );
    const g = ['s0', 's1', 's2'].map((s) => engine.take(portOf(s)));
    expect(g.filter((x) => x.length > 0)).toHaveLength(1);
    expect(g.flat().every((f) => formatMac(f.subarray(6, 12)) === '52:54:00:00:00:09')).toBe(true);
  });

  it('sends a learning packet per slave every lp_interval', () => {
    const { clock, engine, portOf } = fakeBond({ mode: 'balance-tlb', miimon: 100, lp_interval: 2 });
    for (const s of ['s0', 's1', 's2']) engine.take(portOf(s));
    clock.advance(4000);
    for (const s of ['s0', 's1', 's2']) {
      const lp = engine.take(portOf(s)).filter((f) => f[12] === 0x90 && f[13] === 0);
      expect(lp.length).toBe(2);
      expect(formatMac(lp[0].subarray(0, 6))).toBe(formatMac(lp[0].subarray(6, 12)));
    }
  });
});
