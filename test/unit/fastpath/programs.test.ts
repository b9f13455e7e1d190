// The eBPF programs against the JavaScript datapath, frame by frame, with BPF_PROG_TEST_RUN
// (no namespace, nothing attached): the hash golden vectors under all six policies, and the
// transmit and receive verdicts of every plan kind over a corpus of well-formed, tagged,
// tunnelled, truncated and randomly corrupted frames. The programs report their decision in
// skb->cb[0] (the verdict mask, or PUNT for "the JavaScript datapath decides") and cb[1] (the
// hash), which the test run hands back.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Datapath } from '../../../src/datapath/datapath.js';
import { HASH_POLICIES, policyId } from '../../../src/datapath/hash.js';
import { ETHERTYPE_CONSUME, ETHERTYPE_OBSERVE, rxPlan, type RxPlan, type TxPlan } from '../../../src/datapath/plan.js';
import { KCtr, KernelPath } from '../../../src/fastpath/kernel-path.js';
import { loadBinding } from '../../../src/native/binding.js';
import { gratuitousArp, neighbourSolicitation } from '../../../src/net/frames.js';
import { FakeNet, type FakeEngine } from '../../helpers/fake-binding.js';
import { ipv4 } from '../../helpers/frames.js';
import { mustSkip } from '../../helpers/lab.js';
import { randomBytes, rng } from '../../helpers/rng.js';

const TC_ACT_UNSPEC = -1;
const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const PUNT = 0xffffffff;
/** Engine ports 1..3 map to ifindexes that do not exist: a broadcast's clones go nowhere. */
const FAKE_IFINDEX = [0, 100001, 100002, 100003];

const vectors = JSON.parse(readFileSync(new URL('../../fixtures/hash-vectors.json', import.meta.url), 'utf8')) as {
  name: string;
  hex: string;
  expected: Record<string, number>;
}[];

function reason(): string {
  if (process.getuid?.() !== 0) return 'needs root (CAP_BPF) to load eBPF programs';
  try {
    KernelPath.load(loadBinding()).close();
    return '';
  } catch (e) {
    return `the eBPF programs do not load here: ${(e as Error).message}`;
  }
}

const skip = mustSkip(reason());

/** A struct __sk_buff prefix: ifindex at 40, cb[0..4] at 48. */
function ctx(ifindex = 0): Uint8Array {
  const c = new Uint8Array(68);
  new DataView(c.buffer).setUint32(40, ifindex, true);
  return c;
}
/**
 * The kernel's test runner refuses (EINVAL) an IPv4 or IPv6 frame too short for its IP header
 * before any program runs; such frames are left out of the comparison, and only they may be.
 */
function run(k: KernelPath, prog: 'tx' | 'rx' | 'slow', frame: Uint8Array, c: Uint8Array | null) {
  try {
    return k.testRun(prog, frame, c);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EINVAL') throw e;
    const et = (frame[12] << 8) | frame[13];
    expect(
      (et === 0x0800 && frame.length < 34) || (et === 0x86dd && frame.length < 54),
      `test runner refused ${prog} ${Buffer.from(frame).toString('hex')}`,
    ).toBe(true);
    return null;
  }
}

/** A socket filter's test run sees the frame after its Ethernet header: give it one in front. */
const behindHeader = (f: Uint8Array) => Uint8Array.from([...new Uint8Array(12), 0x88, 0xb5, ...f]);

const cb = (out: Uint8Array, i: number) => new DataView(out.buffer, out.byteOffset).getUint32(48 + 4 * i, true);

function corpus(): { name: string; frame: Uint8Array }[] {
  const out: { name: string; frame: Uint8Array }[] = vectors.map((v) => ({
    name: v.name,
    frame: Uint8Array.from(Buffer.from(v.hex, 'hex')),
  }));
  const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
  out.push({ name: 'arp-garp', frame: gratuitousArp(mac, Uint8Array.of(198, 18, 0, 1)) });
  out.push({
    name: 'nd-ns',
    frame: neighbourSolicitation(mac, new Uint8Array(16), Uint8Array.from(Buffer.from('20010db8000000000000000000000002', 'hex'))),
  });
  out.push({ name: 'igmp', frame: ipv4(2) });
  const base = out.slice();
  // truncated at every length from the Ethernet header on
  for (const { name, frame } of base.slice(0, 8))
    for (let len = 14; len < Math.min(frame.length, 80); len += 3) out.push({ name: `${name}/len${len}`, frame: frame.slice(0, len) });
  // random corruption after the MAC addresses (seeded: a failure names the frame)
  const r = rng(0x7ab0);
  for (let i = 0; i < 400; i++) {
    const { name, frame } = base[i % base.length];
    const f = Uint8Array.from(frame);
    const n = 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) f[12 + Math.floor(r() * (f.length - 12))] = randomBytes(r, 1)[0];
    out.push({ name: `${name}/corrupt${i}`, frame: f });
  }
  return out;
}

describe.skipIf(skip)('eBPF fast path programs against the JavaScript datapath', () => {
  let k: KernelPath;
  let kr: KernelPath;
  let dp: Datapath;
  let engine: FakeEngine;
  const frames = corpus();

  beforeAll(() => {
    k = KernelPath.load(loadBinding());
    for (let p = 1; p < FAKE_IFINDEX.length; p++) k.describePort(p, FAKE_IFINDEX[p]);
    k.describePort(0, 1);
    kr = KernelPath.load(loadBinding());
    kr.describePort(0, 1);
    const net = new FakeNet();
    dp = new Datapath(net.binding());
    engine = net.engine as FakeEngine;
    dp.engine.openTap('bond0');
    for (let p = 1; p <= 3; p++) dp.engine.openPacket(p, net.addLink(`s${p}`).ifindex, 0);
  });
  afterAll(() => {
    k?.close();
    kr?.close();
    dp?.close();
  });

  function both(tx: TxPlan, rx: RxPlan = rxPlan(32, [1, 2, 3])) {
    k.publish(tx, rx);
    dp.publish(tx, rx);
  }

  it('computes every golden vector under all six policies bit for bit', () => {
    for (const policy of HASH_POLICIES) {
      both({ kind: 'hash', masks: Uint32Array.of(2, 4, 8), policy: policyId(policy) });
      for (const v of vectors) {
        const r = k.testRun('tx', Uint8Array.from(Buffer.from(v.hex, 'hex')), ctx());
        expect(r.retval, `${v.name} ${policy}`).toBe(TC_ACT_REDIRECT);
        expect(cb(r.ctx, 1), `${v.name} ${policy}`).toBe(v.expected[policy]);
        expect(cb(r.ctx, 0), `${v.name} ${policy}`).toBe([2, 4, 8][v.expected[policy] % 3]);
      }
    }
  });

  const txPlans: [string, TxPlan][] = [
    ['none', { kind: 'none' }],
    ['single', { kind: 'single', mask: 4 }],
    ['all', { kind: 'all', mask: 14 }],
    ...HASH_POLICIES.map((p): [string, TxPlan] => [`hash ${p}`, { kind: 'hash', masks: Uint32Array.of(2, 8, 4), policy: policyId(p) }]),
    ['hash broadcast_neighbor', { kind: 'hash', masks: Uint32Array.of(2, 4), policy: 1, neighborMask: 6 }],
  ];

  for (const [name, plan] of txPlans) {
    it(`transmit verdicts agree frame by frame: ${name}`, () => {
      both(plan);
      let punted = 0;
      for (const { name: fname, frame } of frames) {
        const r = run(k, 'tx', frame, ctx());
        if (!r) continue;
        const mask = cb(r.ctx, 0);
        if (mask === PUNT) {
          expect(r.retval, fname).toBe(TC_ACT_OK); // the JS datapath decides: nothing to compare
          punted++;
          continue;
        }
        const js = dp.select(Uint8Array.from(frame), 0, frame.length);
        expect(mask, `${name}: ${fname}`).toBe(js);
        expect(r.retval, `${name}: ${fname}`).toBe(js === 0 ? TC_ACT_SHOT : TC_ACT_REDIRECT);
      }
      // only frames nested deeper than the program's bounds go to the slow path
      expect(punted, 'frames punted').toBeLessThan(frames.length / 50);
    });
  }

  it('round-robin: IGMP through its port, the rest spread over every usable port', () => {
    both({ kind: 'round-robin', masks: Uint32Array.of(2, 4, 8), perPort: 1, igmpMask: 8 });
    expect(cb(k.testRun('tx', ipv4(2), ctx()).ctx, 0)).toBe(8);
    const used = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const m = cb(k.testRun('tx', ipv4(17), ctx()).ctx, 0);
      used.set(m, (used.get(m) ?? 0) + 1);
    }
    expect([...used.keys()].sort()).toEqual([2, 4, 8]);
    for (const n of used.values()) expect(n).toBeGreaterThan(80);
    // packets_per_slave=5: runs of five (one CPU runs the test)
    both({ kind: 'round-robin', masks: Uint32Array.of(2, 4), perPort: 5, igmpMask: 2 });
    const seq = Array.from({ length: 40 }, () => cb(k.testRun('tx', ipv4(17), ctx()).ctx, 0));
    let changes = 0;
    for (let i = 1; i < seq.length; i++) if (seq[i] !== seq[i - 1]) changes++;
    expect(changes).toBeLessThanOrEqual(9);
    expect(changes).toBeGreaterThanOrEqual(6);
  });

  it('queue ids: tx hands every frame to the classifiers once tx_after is there, which decides', () => {
    const q = KernelPath.load(loadBinding());
    try {
      const attached: string[] = [];
      // tc attachment with a recording stand-in: nothing is attached anywhere
      q.attachTap(
        1,
        { egress: (_i, _fd, slot) => void attached.push(slot ?? 'tx'), ingress: () => ({ ifindex: 0, createdQdisc: false }) },
        'tc',
      );
      for (let p = 1; p < FAKE_IFINDEX.length; p++) q.describePort(p, FAKE_IFINDEX[p]);
      const rx = rxPlan(32, [1]);
      const ids = new Uint8Array(32);
      ids[2] = 3;
      q.publish({ kind: 'single', mask: 2 }, rx);
      expect(attached).toEqual(['tx']);
      expect(q.testRun('tx', ipv4(17), ctx()).retval).toBe(TC_ACT_REDIRECT);
      q.publish({ kind: 'single', mask: 2, queues: { txQueues: 16, ids, upMask: 4 } }, rx);
      expect(attached).toEqual(['tx', 'after']);
      expect(q.testRun('tx', ipv4(17), ctx()).retval).toBe(TC_ACT_UNSPEC);
      // no queue mapping (the test runner's is 0): the mode's verdict, the active port
      const r = q.testRun('tx_after', ipv4(17), ctx());
      expect([r.retval, cb(r.ctx, 0)]).toEqual([TC_ACT_REDIRECT, 2]);
      // in user-space-datapath form everything but a queue id's frame goes to JavaScript
      q.queuesOnly = true;
      q.publish({ kind: 'single', mask: 2, queues: { txQueues: 16, ids, upMask: 4 } }, rx);
      const u = q.testRun('tx_after', ipv4(17), ctx());
      expect([u.retval, cb(u.ctx, 0)]).toEqual([TC_ACT_OK, PUNT]);
    } finally {
      q.close();
    }
  });

  // balance-tlb/alb: the kernel balances by the TlbEngine's table; an unassigned bucket goes to
  // the JavaScript datapath, which assigns it (the table is then written back, as Datapath does)
  const bondMac = Uint8Array.of(2, 0, 0, 0, 0, 1);
  const portMacs = new Uint8Array(32 * 6);
  for (let p = 1; p <= 3; p++) portMacs.set(Uint8Array.of(2, 0, 0, 0, 0x10, p), p * 6);
  const tlbPlan = (alb: boolean, dynamic: boolean): TxPlan => ({
    kind: 'tlb',
    activeMask: 4,
    active: 2,
    bondMac,
    portMacs,
    alb,
    dynamic,
    masks: Uint32Array.of(2, 4, 8),
    policy: policyId('layer3+4'),
    trapArp: alb,
  });
  const fromBond = (f: Uint8Array, i: number) => {
    const c = Uint8Array.from(f);
    if (i % 4 !== 3) c.set(bondMac, 6); // most from the bond itself, some from "guests"
    return c;
  };
  for (const [alb, dynamic] of [
    [false, true],
    [true, true],
    [false, false],
  ]) {
    it(`balance-${alb ? 'alb' : 'tlb'}${dynamic ? '' : ' tlb_dynamic_lb=0'}: verdicts and source rewrites agree, unassigned buckets go to JS`, () => {
      dp.tlb.reset();
      dp.tlb.setPorts(
        [1, 2, 3].map((index) => ({ index, speed: 1000, usable: true })),
        2,
        0,
      );
      both(tlbPlan(alb, dynamic));
      k.tlbTable(dp.tlb.txPort);
      let punted = 0;
      frames.forEach(({ name: fname, frame: raw }, i) => {
        const frame = fromBond(raw, i);
        let r = run(k, 'tx', frame, ctx());
        if (!r) return;
        const js = Uint8Array.from(frame);
        const verdict = dp.select(js, 0, js.length);
        if (cb(r.ctx, 0) === PUNT) {
          punted++;
          const arp = ((frame[12] << 8) | frame[13]) === 0x0806;
          if (alb && arp) return; // balance-alb's ARP: the JS path's RLB decides
          k.tlbTable(dp.tlb.txPort); // the bucket JS just assigned
          r = run(k, 'tx', frame, ctx())!;
        }
        expect(cb(r.ctx, 0), `${fname}`).toBe(verdict);
        expect(Buffer.from(r.data).toString('hex'), `${fname} as sent`).toBe(Buffer.from(js).toString('hex'));
      });
      expect(punted).toBeGreaterThan(0); // buckets were assigned by the slow path
      const bytes = new Float64Array(513);
      k.tlbBytes(bytes);
      expect(bytes.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    });
  }

  // Receive, on a path of its own (the transmit tests above taught the first one their source
  // MACs): the slave is lo (ifindex 1) as engine port 1 in these plans.
  const own = Uint8Array.of(2, 0, 0, 0, 0, 2); // frames from helpers/frames.ts are addressed to this
  const rxPlans: [string, RxPlan][] = [
    ['deliver', rxPlan(32, [1])],
    ['inactive', rxPlan(32, [])],
    ['unicast only', rxPlan(32, [], [], [1])],
    ['LACP consumed', rxPlan(32, [1], [[0x8809, ETHERTYPE_CONSUME]])],
    ['ARP observed', rxPlan(32, [1], [[0x0806, ETHERTYPE_OBSERVE]])],
    ['alb rewrite', { ...rxPlan(32, [1], [], []), rewrite: { macs: own, bondMac } }],
  ];

  for (const [name, rx] of rxPlans) {
    it(`receive verdicts and rewrites agree frame by frame: ${name}`, () => {
      kr.describePort(1, 1);
      kr.publish({ kind: 'single', mask: 2 }, rx);
      dp.publish({ kind: 'single', mask: 2 }, rx);
      for (const { name: fname, frame } of frames) {
        const r = run(kr, 'rx', frame, ctx(1));
        if (!r) continue;
        engine.inject(1, [frame]);
        const up = engine.take(0);
        const trapped = rx.ethertypes[ethertypeOf(frame)] !== 0;
        const toJs = kr.testRun('slow', behindHeader(frame), null).retval !== 0;
        expect(toJs, `${name}: ${fname} copied to the slow path`).toBe(trapped);
        expect(r.retval === TC_ACT_REDIRECT, `${name}: ${fname} delivered`).toBe(up.length === 1);
        if (up.length === 1) expect(Buffer.from(r.data).equals(Buffer.from(up[0])), `${name}: ${fname} as delivered`).toBe(true);
        else expect(r.retval).toBe(TC_ACT_SHOT);
      }
    });
  }

  it('drops reflections of MACs sent from the TAP, and counts them', () => {
    k.describePort(1, 1);
    k.describePort(0, 1);
    both({ kind: 'single', mask: 2 }, rxPlan(32, [1]));
    const f = ipv4(17, '02:00:00:00:00:77', '02:00:00:00:00:02');
    expect(k.testRun('rx', f, ctx(1)).retval).toBe(TC_ACT_REDIRECT);
    const before = new Float64Array(KCtr.Count);
    k.counters(1, before);
    k.testRun('tx', f, ctx()); // sent by the host: learned
    expect(k.testRun('rx', f, ctx(1)).retval).toBe(TC_ACT_SHOT);
    const after = new Float64Array(KCtr.Count);
    k.counters(1, after);
    expect(after[KCtr.RxLooped] - before[KCtr.RxLooped]).toBe(1);
    expect(k.localMacs(process.hrtime.bigint(), 60_000_000_000n).map((m) => Buffer.from(m).toString('hex'))).toContain('020000000077');
    k.describePort(1, FAKE_IFINDEX[1]);
  });

  it('drops what arrives on an interface that is no slave', () => {
    both({ kind: 'single', mask: 2 }, rxPlan(32, [1]));
    expect(k.testRun('rx', ipv4(17), ctx(1)).retval).toBe(TC_ACT_SHOT);
  });
});

function ethertypeOf(f: Uint8Array): number {
  const et = (f[12] << 8) | f[13];
  return (et === 0x8100 || et === 0x88a8) && f.length >= 18 ? (f[16] << 8) | f[17] : et;
}
