// Two LACP engines back to back on a memory wire, under simulated time (ticks of 100 ms).
import { describe, expect, it } from 'vitest';
import {
  LacpEngine,
  ST_COLLECTING,
  ST_DEFAULTED,
  ST_DISTRIBUTING,
  ST_EXPIRED,
  TICKS_PER_SEC,
  portKey,
  type ActorSettings,
} from '../../../src/lacp/engine.js';
import type { Lacpdu } from '../../../src/lacp/pdu.js';

const mac = (n: number) => Uint8Array.of(0x02, 0, 0, 0, 0, n);
const port = { speed: 10000, fullDuplex: true, userKey: 0, portPriority: 255 };

function pair(a: Partial<ActorSettings> = {}, b: Partial<ActorSettings> = {}, links = [1, 2]) {
  const base: ActorSettings = { system: mac(1), systemPriority: 65535, active: true, fast: true, adSelect: 'stable', minLinks: 0 };
  const A = new LacpEngine({ ...base, ...a });
  const B = new LacpEngine({ ...base, system: mac(2), ...b });
  for (const l of links) {
    A.addPort(l, port, true, false);
    B.addPort(l, port, true, false);
  }
  const cut = new Set<number>();
  const sent = { A: 0, B: 0 };
  const step = () => {
    const ra = A.tick();
    const rb = B.tick();
    for (const s of ra.sends) if (!cut.has(s.port)) B.receive(s.port, s.pdu);
    for (const s of rb.sends) if (!cut.has(s.port)) A.receive(s.port, s.pdu);
    sent.A += ra.sends.length;
    sent.B += rb.sends.length;
  };
  const run = (secs: number) => {
    for (let i = 0; i < secs * TICKS_PER_SEC; i++) step();
  };
  const until = (pred: () => boolean, maxSecs: number) => {
    for (let i = 0; i < maxSecs * TICKS_PER_SEC; i++) {
      if (pred()) return i / TICKS_PER_SEC;
      step();
    }
    throw new Error('not reached');
  };
  return { A, B, cut, run, until, sent };
}

describe('LACP engine', () => {
  it('computes the kernel port key (user key << 6 | speed code << 1 | full duplex)', () => {
    expect(portKey({ speed: 10000, fullDuplex: true, userKey: 0, portPriority: 255 })).toBe(15);
    expect(portKey({ speed: 1000, fullDuplex: true, userKey: 0, portPriority: 255 })).toBe(9);
    expect(portKey({ speed: 1000, fullDuplex: true, userKey: 5, portPriority: 255 })).toBe((5 << 6) | 9);
  });

  it('negotiates both ports to collecting+distributing within 3 s (fast)', () => {
    const { A, B, until, run } = pair();
    const t = until(() => A.distributing().length === 2 && B.distributing().length === 2, 10);
    expect(t).toBeLessThanOrEqual(3);
    run(1); // the partner's next LACPDU carries its collecting/distributing bits
    const d = A.describePort(1)!;
    expect(d.actor.state).toBe(0x3f); // activity, short timeout, aggregation, sync, collecting, distributing = 63
    expect(d.partner.state).toBe(0x3f);
    expect(A.activeAggregator()).toMatchObject({ ports: 2, actor_key: 15, partner_key: 15 });
    expect(A.carrier()).toBe(true);
  });

  it('slow rate: state 61 and one LACPDU per 30 s per port once settled', () => {
    const { A, until, run, sent } = pair({ fast: false }, { fast: false });
    until(() => A.distributing().length === 2, 10);
    expect(A.describePort(1)!.actor.state).toBe(0x3d);
    run(5);
    const before = sent.A;
    run(60);
    expect(sent.A - before).toBe(4); // 2 ports x 2 periods
  });

  it('expires after 3 s without LACPDUs, defaults 3 s later, and stops distributing', () => {
    const { A, cut, until, run } = pair();
    until(() => A.distributing().length === 2, 10);
    cut.add(1);
    run(3.05);
    expect(A.describePort(1)!.rx_state).toBe('expired');
    expect(A.describePort(1)!.actor.state & ST_EXPIRED).toBe(ST_EXPIRED);
    expect(A.distributing()).toEqual([2]);
    run(3);
    const d = A.describePort(1)!;
    expect(d.rx_state).toBe('defaulted');
    expect(d.actor.state & ST_DEFAULTED).toBe(ST_DEFAULTED);
    expect(d.actor.state & (ST_COLLECTING | ST_DISTRIBUTING)).toBe(0);
    cut.delete(1);
    until(() => A.distributing().length === 2, 10);
  });

  it('takes a port out when its link goes down and back when it returns', () => {
    const { A, B, until } = pair();
    until(() => A.distributing().length === 2, 10);
    A.setLink(2, false);
    B.setLink(2, false);
    until(() => A.distributing().join() === '1', 2);
    A.setLink(2, true);
    B.setLink(2, true);
    until(() => A.distributing().length === 2 && B.distributing().length === 2, 10);
  });

  it('one passive side negotiates; both passive never speak', () => {
    const one = pair({ active: false });
    one.until(() => one.A.distributing().length === 2, 10);
    const both = pair({ active: false }, { active: false });
    both.run(10);
    expect(both.sent.A + both.sent.B).toBe(0);
    expect(both.A.distributing().length).toBe(1); // no partner: one individual link carries traffic (kernel)
  });

  it('ignores its own PDUs coming back (loop) and answers markers', () => {
    const e = new LacpEngine({ system: mac(1), systemPriority: 65535, active: true, fast: true, adSelect: 'stable', minLinks: 0 });
    e.addPort(1, port, true, false);
    e.addPort(2, port, true, false);
    for (let i = 0; i < 50; i++) {
      const r = e.tick();
      for (const s of r.sends) e.receive(s.port === 1 ? 2 : 1, s.pdu as Lacpdu);
    }
    expect(e.describePort(1)!.stats.loopbackRx).toBeGreaterThan(0);
    expect(e.describePort(1)!.partner.system).toEqual(new Uint8Array(6));
    const m = { response: false, requesterPort: 4, requesterSystem: mac(7), transactionId: 42 };
    expect(e.marker(1, m)).toEqual({ ...m, response: true });
    expect(e.marker(1, { ...m, response: true })).toBeNull();
  });

  it('min_links holds carrier down until enough ports distribute', () => {
    const { A, until } = pair({ minLinks: 3 });
    until(() => A.distributing().length === 2, 10);
    expect(A.carrier()).toBe(false);
  });

  it('never sends more than 3 LACPDUs a second per port', () => {
    const { A, run, sent } = pair();
    run(1);
    for (let i = 0; i < 10; i++) {
      A.setActor({ system: mac(1), systemPriority: 100 + i, active: true, fast: true, adSelect: 'stable', minLinks: 0 });
      run(0.1);
    }
    expect(sent.A).toBeLessThanOrEqual(2 * 3 * 2 + 2);
  });
});

describe('aggregator selection (ad_select) with two partners', () => {
  // A has three ports: port 1 to partner B (one 10G link), ports 2-3 to partner C (two 1G links)
  function twoPartners(adSelect: 'stable' | 'bandwidth' | 'count') {
    const base: ActorSettings = { system: mac(1), systemPriority: 65535, active: true, fast: true, adSelect, minLinks: 0 };
    const A = new LacpEngine(base);
    const B = new LacpEngine({ ...base, system: mac(2) });
    const C = new LacpEngine({ ...base, system: mac(3) });
    const g1 = { speed: 1000, fullDuplex: true, userKey: 0, portPriority: 255 };
    A.addPort(1, port, true, false);
    A.addPort(2, g1, true, false);
    A.addPort(3, g1, true, false);
    B.addPort(1, port, true, false);
    C.addPort(2, g1, true, false);
    C.addPort(3, g1, true, false);
    // A's user key must match across partners for a fair choice: keys differ by speed anyway
    const wire = (from: LacpEngine, to: LacpEngine, sends: { port: number; pdu: Lacpdu }[]) =>
      sends.forEach((s) => to.receive(s.port, s.pdu));
    for (let i = 0; i < 100; i++) {
      const a = A.tick();
      wire(
        A,
        B,
        a.sends.filter((s) => s.port === 1),
      );
      wire(
        A,
        C,
        a.sends.filter((s) => s.port !== 1),
      );
      wire(B, A, B.tick().sends);
      wire(C, A, C.tick().sends);
    }
    return A;
  }

  it('bandwidth picks the 10G partner, count picks the two-link partner', () => {
    expect(twoPartners('bandwidth').distributing()).toEqual([1]);
    expect(twoPartners('count').distributing()).toEqual([2, 3]);
    const active = twoPartners('bandwidth').activeAggregator()!;
    expect(active.partner_mac).toEqual(mac(2));
  });
});

describe('ad_select=actor_port_prio (kernel selftest bond_lacp_prio: a switch and a backup switch)', () => {
  // A has four 10G ports: 1-2 to partner B, 3-4 to partner C
  function twoSwitches(prio: Record<number, number>) {
    const base: ActorSettings = {
      system: mac(1),
      systemPriority: 65535,
      active: true,
      fast: true,
      adSelect: 'actor_port_prio',
      minLinks: 0,
    };
    const A = new LacpEngine(base);
    const B = new LacpEngine({ ...base, adSelect: 'stable', system: mac(2) });
    const C = new LacpEngine({ ...base, adSelect: 'stable', system: mac(3) });
    for (const p of [1, 2, 3, 4]) A.addPort(p, { ...port, portPriority: prio[p] }, true, false);
    for (const p of [1, 2]) B.addPort(p, port, true, false);
    for (const p of [3, 4]) C.addPort(p, port, true, false);
    const step = () => {
      const a = A.tick();
      for (const s of a.sends) (s.port <= 2 ? B : C).receive(s.port, s.pdu);
      for (const s of B.tick().sends) A.receive(s.port, s.pdu);
      for (const s of C.tick().sends) A.receive(s.port, s.pdu);
    };
    const run = (secs: number) => {
      for (let i = 0; i < secs * TICKS_PER_SEC; i++) step();
    };
    run(10);
    return { A, run };
  }

  it('the aggregator whose enabled ports have the highest priority sum is active; changing priorities moves it', () => {
    const { A, run } = twoSwitches({ 1: 100, 2: 100, 3: 255, 4: 255 });
    expect(A.distributing()).toEqual([3, 4]);
    expect(A.activeAggregator()!.partner_mac).toEqual(mac(3));
    // the kernel selftest reverses the priorities and bounces a link: the other switch wins
    for (const p of [1, 2]) A.setLink(p, true, { ...port, portPriority: 1000 });
    for (const p of [3, 4]) A.setLink(p, true, { ...port, portPriority: 10 });
    A.setLink(3, false);
    run(1);
    A.setLink(3, true);
    run(10);
    expect(A.distributing()).toEqual([1, 2]);
    expect(A.describePort(1)!.actor.portPriority).toBe(1000);
  });

  it('equal sums fall through to count, then bandwidth', () => {
    const { A } = twoSwitches({ 1: 150, 2: 150, 3: 150, 4: 150 });
    expect(A.distributing().length).toBe(2);
    const { A: A2, run } = twoSwitches({ 1: 150, 2: 150, 3: 300, 4: 300 });
    A2.setLink(4, false); // C: 300 on one enabled port, B: 300 on two: count decides
    run(5);
    expect(A2.distributing()).toEqual([1, 2]);
  });
});

describe('coupled_control off and lacp_strict', () => {
  it('independent control: collecting comes before distributing', () => {
    const { A, B, until, run } = pair({ uncoupled: true }, { uncoupled: true });
    let sawCollectingOnly = false;
    until(() => {
      const st = A.describePort(1)!.actor.state;
      if (st & ST_COLLECTING && !(st & ST_DISTRIBUTING)) sawCollectingOnly = true;
      return A.distributing().length === 2 && B.distributing().length === 2;
    }, 10);
    expect(sawCollectingOnly).toBe(true);
    run(1);
    expect(A.describePort(1)!.mux_state).toBe('distributing');
    expect(A.collecting()).toEqual([1, 2]);
  });

  it('lacp_strict: no partner, no distribution and no carrier', () => {
    const { A, run } = pair({ strict: true, active: false }, { active: false });
    run(5);
    expect(A.distributing()).toEqual([]);
    expect(A.carrier()).toBe(false);
    const loose = pair({ active: false }, { active: false });
    loose.run(5);
    expect(loose.A.distributing().length).toBe(1); // kernel default: an individual link carries traffic
  });
});
