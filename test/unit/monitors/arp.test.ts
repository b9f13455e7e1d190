// The ARP monitor's rules, under explicit time (ms).
import { describe, expect, it } from 'vitest';
import { ArpMonitor, type ArpMonitorConfig } from '../../../src/monitors/arp.js';

const T1 = Uint8Array.of(198, 18, 0, 2);
const T2 = Uint8Array.of(198, 18, 0, 3);
const OURS = Uint8Array.of(198, 18, 0, 1);
const ours = (ip: Uint8Array) => ip.every((b, i) => b === OURS[i]);
const reply = (sip: Uint8Array) => ({ op: 2, sip, tip: OURS });
const cfg = (o: Partial<ArpMonitorConfig> = {}): ArpMonitorConfig => ({
  intervalMs: 100,
  targets: [T1],
  validate: 'all',
  allTargets: 'any',
  missedMax: 2,
  activeBackup: true,
  ...o,
});

describe('ARP monitor', () => {
  it('the active slave goes down after missed_max intervals without a validated reply', () => {
    const m = new ArpMonitor(cfg());
    m.addPort(1, 0, true);
    m.setActive(1, 0);
    let t = 0;
    const step = (answer: boolean) => {
      t += 100;
      if (answer) m.onArp(1, reply(T1), ours, t);
      return m.tick(t);
    };
    for (let i = 0; i < 5; i++) expect(step(true).changes).toEqual([]);
    expect(step(false).changes).toEqual([]);
    expect(step(false).changes).toEqual([]);
    expect(step(false).changes).toEqual([{ port: 1, up: false }]); // 3rd interval > 2*100 + 50
    expect(step(true).changes).toEqual([{ port: 1, up: true }]);
  });

  it('a late tick (stalled event loop) does not take a port down; a dead link still goes down', () => {
    const m = new ArpMonitor(cfg());
    m.addPort(1, 0, true);
    m.setActive(1, 0);
    let t = 0;
    for (let i = 0; i < 5; i++) {
      t += 100;
      m.onArp(1, reply(T1), ours, t);
      expect(m.tick(t).changes).toEqual([]);
    }
    // the loop is held up for 400 ms: no probe went out, so no reply could come
    t += 400;
    expect(m.tick(t).changes).toEqual([]);
    m.onArp(1, reply(T1), ours, t + 1); // the probe of the late tick is answered
    t += 100;
    expect(m.tick(t).changes).toEqual([]);
    // every tick 200 ms late from here and the target silent: down all the same
    const downAt: number[] = [];
    for (let i = 0; i < 6 && !downAt.length; i++) {
      t += 300;
      if (m.tick(t).changes.length) downAt.push(t);
    }
    // last reply at 901; the tick at 1300 is judged as of 1100 (<= 901 + 2*100 + 50: up), the
    // one at 1600 as of 1400: down, on the second late tick
    expect(downAt).toEqual([1600]);
  });

  it('validation: a reply from a non-target or to another address does not count', () => {
    const m = new ArpMonitor(cfg());
    m.addPort(1, 0, false);
    m.setActive(1, 0);
    m.onArp(1, { op: 2, sip: Uint8Array.of(198, 18, 0, 50), tip: OURS }, ours, 50);
    m.onArp(1, { op: 2, sip: T1, tip: Uint8Array.of(198, 18, 0, 9) }, ours, 60);
    m.onReceive(1, 70); // plain traffic does not count when validating
    expect(m.tick(100).changes).toEqual([]);
    m.onArp(1, reply(T1), ours, 150);
    expect(m.tick(200).changes).toEqual([{ port: 1, up: true }]);
  });

  it('a backup validates our own request seen through the switch (sip/tip swapped)', () => {
    const m = new ArpMonitor(cfg());
    m.addPort(1, 0, true);
    m.addPort(2, 0, false);
    m.setActive(1, 0);
    m.onArp(1, reply(T1), ours, 40); // the active has received since it became active
    m.onArp(2, { op: 1, sip: OURS, tip: T1 }, ours, 50);
    expect(m.tick(100).changes).toEqual([{ port: 2, up: true }]);
  });

  it('without validation any frame counts; with filter only ARP does', () => {
    const plain = new ArpMonitor(cfg({ validate: 'none' }));
    plain.addPort(1, 0, false);
    plain.onReceive(1, 50);
    expect(plain.tick(100).changes).toEqual([{ port: 1, up: true }]);
    const filter = new ArpMonitor(cfg({ validate: 'filter' }));
    filter.addPort(1, 0, false);
    filter.onReceive(1, 50);
    expect(filter.tick(100).changes).toEqual([]);
    filter.onArp(1, { op: 1, sip: Uint8Array.of(198, 18, 0, 50), tip: Uint8Array.of(198, 18, 0, 51) }, ours, 150);
    expect(filter.tick(200).changes).toEqual([{ port: 1, up: true }]);
  });

  it('arp_all_targets=all takes the oldest target', () => {
    const m = new ArpMonitor(cfg({ targets: [T1, T2], allTargets: 'all' }));
    m.addPort(1, 0, false);
    m.setActive(1, 0);
    m.onArp(1, reply(T1), ours, 50);
    expect(m.tick(100).changes).toEqual([]);
    m.onArp(1, reply(T2), ours, 150);
    expect(m.tick(200).changes).toEqual([{ port: 1, up: true }]);
  });

  it('active-backup with no active slave probes one candidate per interval, rotating (kernel bond_ab_arp_probe)', () => {
    const m = new ArpMonitor(cfg({ validate: 'active' }));
    for (const i of [1, 2, 3, 4]) m.addPort(i, 0, false);
    m.setCarrier(1, true);
    m.setCarrier(2, true);
    m.setCarrier(4, true);
    // from the first slave the next one with carrier: 2, then 4 (3 has none), then 1
    expect(m.tick(100).probe).toEqual([2]);
    expect([1, 2, 3, 4].map((i) => m.shown(i))).toEqual(['down', 'back', 'down', 'down']);
    expect(m.tick(200).probe).toEqual([4]);
    expect([1, 2, 3, 4].map((i) => m.shown(i))).toEqual(['down', 'fail', 'down', 'back']);
    expect(m.tick(300).probe).toEqual([1]);
    // the candidate validates as the active slave would: a reply from the target brings it up
    m.onArp(1, reply(T1), ours, 350);
    const v = m.tick(400);
    expect(v.changes).toEqual([{ port: 1, up: true }]);
    expect(v.probe).toEqual([1]);
    m.setActive(1, 400);
    expect(m.tick(500).probe).toEqual([1]);
    // the ones probed in vain stay "going down", as the kernel's /proc shows them
    expect([1, 2, 3, 4].map((i) => m.shown(i))).toEqual(['up', 'fail', 'down', 'fail']);
  });

  it('probes only on the active slave in active-backup, on every slave otherwise', () => {
    const ab = new ArpMonitor(cfg());
    ab.addPort(1, 0, true);
    ab.addPort(2, 0, true);
    ab.setActive(2, 0);
    expect(ab.tick(100).probe).toEqual([2]);
    const lb = new ArpMonitor(cfg({ activeBackup: false }));
    lb.addPort(1, 0, true);
    lb.addPort(2, 0, true);
    expect(lb.tick(100).probe).toEqual([1, 2]);
  });
});
