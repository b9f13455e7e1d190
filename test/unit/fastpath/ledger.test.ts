// The user-space datapath and a kernel fast path reconciled (FastPathLedger): counters added and
// kept when the fast path goes, balance-tlb/alb's table mirrored on every change and charged with
// the bytes the fast path sent. Over the in-memory binding, with a recording stand-in offload.
import { describe, expect, it } from 'vitest';
import { Datapath, DpCtr } from '../../../src/datapath/datapath.js';
import { rxPlan, TX_NONE, type RxPlan, type TxPlan } from '../../../src/datapath/plan.js';
import { TLB_ENTRIES, TLB_REBALANCE_MS } from '../../../src/datapath/tlb.js';
import { FastPathLedger, OffloadCtr, type Offload } from '../../../src/fastpath/ledger.js';
import { Ctr } from '../../../src/native/types.js';
import { FakeNet } from '../../helpers/fake-binding.js';

function setup() {
  const net = new FakeNet();
  const a = net.addLink('a');
  const b = net.addLink('b');
  let t = 0;
  const dp = new Datapath(net.binding(), () => t);
  dp.engine.openTap('bond0');
  dp.engine.openPacket(1, a.ifindex, 0);
  dp.engine.openPacket(2, b.ifindex, 0);
  const ledger = new FastPathLedger(dp, () => t);
  const k = new Float64Array(OffloadCtr.Count);
  const sent = new Float64Array(TLB_ENTRIES + 1);
  const tables: number[][] = [];
  const plans: [TxPlan, RxPlan][] = [];
  const offload: Offload = {
    publish: (tx, rx) => plans.push([tx, rx]),
    ports: () => [0, 1],
    counters: (port, out) => out.set(port === 1 ? k : new Float64Array(OffloadCtr.Count)),
    localMacs: () => [],
    tlbTable: (ports) => tables.push(Array.from(ports)),
    tlbBytes: (out) => out.set(sent),
  };
  return { dp, ledger, offload, k, sent, tables, plans, advance: (ms: number) => (t += ms) };
}

describe('FastPathLedger', () => {
  it("adds the fast path's counters and receive times, and keeps them when it goes", () => {
    const { dp, ledger, offload, k, advance } = setup();
    ledger.setOffload(offload);
    k[OffloadCtr.RxFrames] = 7;
    k[OffloadCtr.RxInactive] = 3;
    advance(20); // past the read's rate limit
    expect(ledger.counter(1, Ctr.RxFrames)).toBe(7);
    expect(ledger.dpCounter(1, DpCtr.RxInactive)).toBe(3);
    expect(ledger.receivedAt()[1]).toBe(20); // the fast path received on port 1
    expect(dp.counter(1, Ctr.RxFrames)).toBe(0); // the datapath's own count stays its own
    ledger.setOffload(null);
    expect(ledger.counter(1, Ctr.RxFrames)).toBe(7);
    expect(ledger.dpCounter(1, DpCtr.RxInactive)).toBe(3);
    dp.close();
  });

  it('a fast path taken over before any plan keeps its own (an adopted one forwards on) until the first plan', () => {
    const { dp, ledger, offload, tables, plans } = setup();
    ledger.setOffload(offload);
    ledger.tlb.restoreTable([1, 2]);
    expect(plans).toHaveLength(0);
    expect(tables).toHaveLength(0);
    const single: TxPlan = { kind: 'single', mask: 2 };
    ledger.publish(single, rxPlan(32, [1]));
    expect(plans.map(([tx]) => tx)).toEqual([single]);
    expect(tables).toHaveLength(1); // the restored table goes with the first plan
    // a fast path taken over later (a fallback and back) gets the plan there is at once
    ledger.setOffload(null);
    ledger.setOffload(offload);
    expect(plans.at(-1)![0]).toBe(single);
    dp.close();
  });

  it('mirrors the TLB table on every change, and charges a rebalance with the bytes the fast path sent', () => {
    const { dp, ledger, offload, sent, tables, advance } = setup();
    ledger.setOffload(offload);
    ledger.publish(TX_NONE, rxPlan(32, []));
    const ports = [
      { index: 1, speed: 1000, usable: true },
      { index: 2, speed: 1000, usable: true },
    ];
    ledger.tlb.reset();
    ledger.tlb.setPorts(ports, 1, 0);
    const before = tables.length;
    ledger.tlb.restoreTable([1, 2, 2]);
    expect(tables.length).toBe(before + 1);
    expect(tables.at(-1)!.slice(0, 3)).toEqual([1, 2, 2]);
    // the fast path sent 10 MB in bucket 0 over the interval: the rebalance's history carries it
    sent[0] = 10_000_000;
    expect(ledger.tlb.tick(TLB_REBALANCE_MS - 1)).toBe(false);
    advance(TLB_REBALANCE_MS);
    expect(ledger.tlb.tick(TLB_REBALANCE_MS)).toBe(true);
    expect(dp.tlb.loadHistory[0]).toBeCloseTo(1 + 10_000_000 / (TLB_REBALANCE_MS / 1000));
    dp.close();
  });

  it("adds the queue-id helper's counters beside a fast path's, never its plans, and keeps them when it goes", () => {
    const { dp, ledger, offload, k, plans, advance } = setup();
    const q = new Float64Array(OffloadCtr.Count);
    const assistPlans: TxPlan[] = [];
    const assist: Offload = {
      ...offload,
      publish: (tx) => assistPlans.push(tx),
      counters: (port, out) => out.set(port === 1 ? q : new Float64Array(OffloadCtr.Count)),
    };
    ledger.setAssist(assist);
    ledger.publish({ kind: 'single', mask: 2 }, rxPlan(32, [1]));
    expect(assistPlans).toHaveLength(0); // BondFastPath hands the helper its plans itself
    expect(plans).toHaveLength(0);
    q[OffloadCtr.TxFrames] = 60;
    q[OffloadCtr.TxBytes] = 6000;
    advance(20);
    expect(ledger.counter(1, Ctr.TxFrames)).toBe(60);
    ledger.setOffload(offload);
    k[OffloadCtr.TxFrames] = 5;
    advance(20);
    expect(ledger.counter(1, Ctr.TxFrames)).toBe(65);
    ledger.setAssist(null);
    expect(ledger.counter(1, Ctr.TxFrames)).toBe(65);
    expect(dp.counter(1, Ctr.TxBytes)).toBe(6000); // folded into the datapath's own
    dp.close();
  });

  it('with no fast path, the table changes and nothing is mirrored', () => {
    const { dp, ledger, tables } = setup();
    ledger.tlb.setPorts([{ index: 1, speed: 1000, usable: true }], 1, 0);
    ledger.tlb.restoreTable([1]);
    expect(tables).toHaveLength(0);
    expect(ledger.tlb.table()[0]).toBe(1);
    dp.close();
  });
});
