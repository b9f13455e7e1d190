import { describe, expect, it } from 'vitest';
import { RlbEngine, RLB_UPDATE_DELAY_MS, type RlbPort } from '../../../src/alb/rlb.js';
import { SLB_BASE, TLB_REBALANCE_MS, TlbEngine, sourceBucket, xorBytes } from '../../../src/datapath/tlb.js';
import { MacTable } from '../../../src/datapath/mac-table.js';

const mac = (last: number) => Uint8Array.from([0x02, 0, 0, 0, 0, last]);

describe('MacTable', () => {
  it('learns, ages out and lists source MACs', () => {
    const t = new MacTable(64, 1000);
    const frame = new Uint8Array(14);
    frame.set(mac(7), 6);
    expect(t.has(frame, 6, 0)).toBe(false);
    t.learn(frame, 6, 0);
    expect(t.has(frame, 6, 500)).toBe(true);
    expect(t.entries(500).map((m) => m[5])).toEqual([7]);
    expect(t.has(frame, 6, 1500)).toBe(false);
    expect(t.entries(1500)).toEqual([]);
  });

  it('keeps many distinct MACs apart and reuses expired slots', () => {
    const t = new MacTable(256, 1000);
    const f = new Uint8Array(6);
    for (let i = 0; i < 150; i++) {
      f.set([0x52, 0x54, 0, 0, i >> 8, i & 0xff]);
      t.learn(f, 0, 0);
    }
    for (let i = 0; i < 150; i++) {
      f.set([0x52, 0x54, 0, 0, i >> 8, i & 0xff]);
      expect(t.has(f, 0, 10)).toBe(true);
    }
    f.set([0x52, 0x54, 0, 1, 0, 0]);
    expect(t.has(f, 0, 10)).toBe(false);
    for (let i = 0; i < 150; i++) {
      f.set([0x52, 0x55, 0, 0, i >> 8, i & 0xff]);
      t.learn(f, 0, 5000);
    }
    expect(t.entries(5000)).toHaveLength(150);
  });
});

describe('TlbEngine', () => {
  const ports = (up: boolean[], speed = 1000) => up.map((usable, i) => ({ index: i + 1, speed, usable }));

  it("a later process goes on from the table: buckets keep their usable ports (a guest's MAC does not move)", () => {
    const a = new TlbEngine(32);
    a.setPorts(ports([true, true]), 1, 0);
    a.choose(SLB_BASE + 7, 1500); // a guest's source bucket
    a.txPort[SLB_BASE + 9] = 2;
    a.txPort[3] = 2;
    const table = JSON.parse(JSON.stringify(Array.from(a.txPort))) as number[];
    const b = new TlbEngine(32);
    b.setPorts(ports([true, false]), 1, 50_000); // port 2 is down in the new process
    const v = b.version;
    b.restoreTable(table);
    expect(b.txPort[SLB_BASE + 7]).toBe(a.txPort[SLB_BASE + 7]);
    expect([b.txPort[SLB_BASE + 9], b.txPort[3]]).toEqual([-1, -1]); // not on a port that is down
    expect(b.version).toBeGreaterThan(v); // the fast path writes its copy
  });

  it('assigns new buckets to the least loaded port and charges their history', () => {
    const e = new TlbEngine(32);
    e.setPorts(ports([true, true]), 1, 0);
    // first interval: every bucket goes to the emptiest port (loads are 0, ties: enslave order)
    expect(e.choose(1, 1000)).toBe(1);
    expect(e.choose(2, 1000)).toBe(1);
    e.choose(1, 10_000_000);
    // the rebalance keeps each bucket's load as history and unassigns it
    e.rebalance(TLB_REBALANCE_MS);
    expect(e.choose(1, 100)).toBe(1); // heavy bucket charged to port 1 (1 MB/s)
    expect(e.choose(2, 100)).toBe(2); // the next one goes where the gap is largest
    expect(e.choose(3, 100)).toBe(2);
  });

  it('follows speed: a 10x faster port takes buckets until its load closes the gap', () => {
    const e = new TlbEngine(32);
    e.setPorts(
      [
        { index: 1, speed: 100, usable: true },
        { index: 2, speed: 1000, usable: true },
      ],
      1,
      0,
    );
    for (let b = 0; b < 20; b++) e.choose(b, 1_000_000);
    e.rebalance(TLB_REBALANCE_MS); // each bucket: 100 kB/s history
    const counts = [0, 0, 0];
    for (let b = 0; b < 20; b++) counts[e.choose(b, 1)]++;
    expect(counts[2]).toBe(20); // 20 x 100 kB/s x 8 = 16 Mbit/s: never exceeds the 1 Gbit port's gap
  });

  it('clears a failed port, reshuffles on a new port, and keeps source buckets sticky', () => {
    const e = new TlbEngine(32);
    e.setPorts(ports([true, true]), 1, 0);
    const guest = sourceBucket(mac(9), 0);
    expect(guest).toBeGreaterThanOrEqual(SLB_BASE);
    const gp = e.choose(guest, 1000);
    e.rebalance(TLB_REBALANCE_MS);
    expect(e.choose(guest, 1)).toBe(gp); // sticky across the rebalance
    e.setPorts(ports([gp !== 1, gp !== 2]), gp === 1 ? 2 : 1, 11_000);
    expect(e.choose(guest, 1)).not.toBe(gp);
    expect(e.choose(200, 1)).not.toBe(gp);
  });

  it('rebalances on its 10 s tick only', () => {
    const e = new TlbEngine(32);
    e.setPorts(ports([true]), 1, 0);
    expect(e.tick(TLB_REBALANCE_MS - 100)).toBe(false);
    expect(e.tick(TLB_REBALANCE_MS)).toBe(true);
    expect(e.tick(TLB_REBALANCE_MS + 100)).toBe(false);
  });

  it('returns -1 with no usable port; xorBytes is the kernel _simple_hash', () => {
    const e = new TlbEngine(32);
    e.setPorts(ports([false]), null, 0);
    expect(e.choose(3, 1)).toBe(-1);
    expect(xorBytes(Uint8Array.from([198, 18, 0, 11]), 0, 4)).toBe(198 ^ 18 ^ 11);
  });
});

describe('RlbEngine', () => {
  const P = (index: number, usable = true, speed = 1000): RlbPort => ({ index, mac: mac(index), speed, usable });

  it("a later process goes on from the snapshot: the same ports, nobody taught again; a gone port's clients move", () => {
    const a = new RlbEngine();
    a.setPorts([P(1), P(2)], 1, 0);
    for (const c of [11, 12, 13]) a.txReply('198.18.0.1', `198.18.0.${c}`, mac(0x10 + c));
    a.tick(RLB_UPDATE_DELAY_MS); // the first teaching goes out
    const snap = JSON.parse(JSON.stringify(a.snapshot())); // through the journal
    const b = new RlbEngine();
    b.setPorts([P(1), P(2)], 1, 10_000);
    b.restore(snap, 10_000);
    for (const c of [11, 12, 13])
      expect(b.peekReply('198.18.0.1', `198.18.0.${c}`)!.index).toBe(a.peekReply('198.18.0.1', `198.18.0.${c}`)!.index);
    expect(b.tick(10_000 + 3 * RLB_UPDATE_DELAY_MS)).toEqual([]);
    expect(b.txReply('198.18.0.1', '198.18.0.14', mac(0x1e))!.index).toBe(a.txReply('198.18.0.1', '198.18.0.14', mac(0x1e))!.index);
    // port 2 did not come back: its client moves to port 1 and is taught so
    const c2 = new RlbEngine();
    c2.setPorts([P(1)], 1, 10_000);
    c2.restore(snap, 10_000);
    const moved = c2.tick(10_000);
    expect(moved.map((u) => [u.clientIp, u.port])).toEqual([['198.18.0.12', 1]]);
  });

  it('spreads clients round robin over the fastest ports and teaches each its port', () => {
    const r = new RlbEngine();
    r.setPorts([P(1), P(2), P(3, true, 100)], 1, 0);
    const got = [11, 12, 13, 14].map((c) => r.txReply('198.18.0.1', `198.18.0.${c}`, mac(0x10 + c))!.index);
    expect(got).toEqual([1, 2, 1, 2]); // port 3 is slower: not used
    // a second reply to the same client keeps its port
    expect(r.txReply('198.18.0.1', '198.18.0.11', mac(0x1b))!.index).toBe(1);
    // new entries with known MACs are sent updates on the next tick
    const u = r.tick(0);
    expect(u.map((x) => [x.clientIp, x.port])).toEqual([
      ['198.18.0.11', 1],
      ['198.18.0.12', 2],
      ['198.18.0.13', 1],
      ['198.18.0.14', 2],
    ]);
    expect(r.tick(100)).toEqual([]);
  });

  it('a failed port hands its clients to the others, with retries 2 s apart', () => {
    const r = new RlbEngine();
    r.setPorts([P(1), P(2)], 1, 0);
    r.txReply('198.18.0.1', '198.18.0.11', mac(11));
    r.txReply('198.18.0.1', '198.18.0.12', mac(12));
    r.tick(0);
    r.setPorts([P(1), P(2, false)], 1, 5000);
    const sent: number[] = [];
    for (let t = 5000; t <= 14_000; t += 100) if (r.tick(t).length) sent.push(t);
    expect(sent).toEqual([5000, 7000, 9000, 11_000]);
    expect(r.list().every((c) => c.port === 1)).toBe(true);
    // the port comes back: rebalance
    r.setPorts([P(1), P(2)], 1, 20_000);
    expect(new Set(r.list().map((c) => c.port))).toEqual(new Set([1, 2]));
    expect(r.tick(20_000).length).toBe(1);
  });

  it('our broadcast request pulls clients onto the active port: updates after the delay', () => {
    const r = new RlbEngine();
    r.setPorts([P(1), P(2)], 1, 0);
    r.txReply('198.18.0.1', '198.18.0.11', mac(11));
    r.txReply('198.18.0.1', '198.18.0.12', mac(12));
    r.tick(0);
    r.txRequest('198.18.0.1', '198.18.0.13', 1000);
    expect(r.tick(1100)).toEqual([]);
    const u = r.tick(1000 + RLB_UPDATE_DELAY_MS);
    expect(u.map((x) => x.clientIp)).toEqual(['198.18.0.12']); // the one not on the active port
    // the requested client answers: its MAC is learnt and it is taught its port
    r.rx(2, '198.18.0.13', mac(13), '198.18.0.1', () => false);
    expect(r.tick(1000 + 2 * RLB_UPDATE_DELAY_MS).map((x) => x.clientIp)).toEqual(['198.18.0.13']);
  });

  it('a MAC swap re-teaches the clients of the port; a moved client IP is purged', () => {
    const r = new RlbEngine();
    r.setPorts([P(1), P(2)], 1, 0);
    r.txReply('198.18.0.1', '198.18.0.11', mac(11));
    r.txReply('198.18.0.1', '198.18.0.12', mac(12));
    r.tick(0);
    r.setPorts(
      [
        { ...P(1), mac: mac(2) },
        { ...P(2), mac: mac(1) },
      ],
      2,
      3000,
    );
    expect(r.tick(3000).length).toBe(2);
    r.rx(1, '198.18.0.12', mac(99), '198.18.0.1', () => false);
    expect(r.list().map((c) => c.clientIp)).toEqual(['198.18.0.11']);
    // our own frames seen again change nothing
    r.rx(1, '198.18.0.11', mac(1), '198.18.0.1', (m) => m[5] === 1);
    expect(r.list()).toHaveLength(1);
    // someone else claims our server address: its entries go
    r.rx(1, '198.18.0.1', mac(77), '198.18.0.11', () => false);
    expect(r.list()).toHaveLength(0);
  });
});
