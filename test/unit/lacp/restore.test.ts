// A bondd hands its LACP state to the next one (a restart, an upgrade): the new engine, given
// the snapshot after its ports are added, goes on distributing at once and its first LACPDUs
// say what the old engine's said, so the partner sees no change. Simulated time, 100 ms ticks.
import { describe, expect, it } from 'vitest';
import { LacpEngine, ST_DISTRIBUTING, ST_SYNC, TICKS_PER_SEC, type ActorSettings, type LacpSnapshot } from '../../../src/lacp/engine.js';
import type { Lacpdu } from '../../../src/lacp/pdu.js';

const mac = (n: number) => Uint8Array.of(0x02, 0, 0, 0, 0, n);
const port = { speed: 10000, fullDuplex: true, userKey: 0, portPriority: 255 };
const actor: ActorSettings = { system: mac(1), systemPriority: 65535, active: true, fast: true, adSelect: 'stable', minLinks: 0 };

/** A (replaceable) against B on links 1 and 2; B's distributing set is sampled every tick. */
function lab() {
  const B = new LacpEngine({ ...actor, system: mac(2) });
  let A = new LacpEngine(actor);
  for (const l of [1, 2]) {
    A.addPort(l, port, true, false);
    B.addPort(l, port, true, false);
  }
  const fromA: Lacpdu[] = [];
  const bDistributing: number[] = [];
  let aRuns = true;
  const step = () => {
    const ra = aRuns ? A.tick() : { sends: [] };
    const rb = B.tick();
    for (const s of ra.sends) {
      fromA.push(s.pdu);
      B.receive(s.port, s.pdu);
    }
    if (aRuns) for (const s of rb.sends) A.receive(s.port, s.pdu);
    bDistributing.push(B.distributing().length);
  };
  const run = (secs: number) => {
    for (let i = 0; i < secs * TICKS_PER_SEC; i++) step();
  };
  return {
    B,
    get A() {
      return A;
    },
    run,
    fromA,
    bDistributing,
    /** A's process ends (nothing sent, nothing heard) for `gapSecs`, then a new A takes over. */
    restart(gapSecs: number, snap: LacpSnapshot | null) {
      aRuns = false;
      run(gapSecs);
      A = new LacpEngine(actor);
      for (const l of [1, 2]) A.addPort(l, port, true, true); // ports of a running bond: the 8 s wait
      if (snap) A.restore(JSON.parse(JSON.stringify(snap)) as LacpSnapshot);
      aRuns = true;
    },
  };
}

describe('LACP state handed to the next process', () => {
  it('with the snapshot: distributing at once, the same LACPDUs, and the partner never stops distributing', () => {
    const t = lab();
    t.run(5);
    expect(t.A.distributing()).toEqual([1, 2]);
    const lastOn = (n: number) => t.fromA.filter((p) => p.actor.port === n).at(-1)!;
    const last = [lastOn(1), lastOn(2)];
    const snap = t.A.snapshot();
    const before = t.bDistributing.length;
    t.restart(1.5, snap); // within the partner's 3 s fast timeout
    expect(t.A.distributing()).toEqual([1, 2]);
    const sentAt = t.fromA.length;
    t.run(0.1);
    // the first tick sends on both ports, with the actor information the old process sent
    const first = t.fromA.slice(sentAt);
    expect(first).toHaveLength(2);
    for (const pdu of first) {
      expect(pdu.actor).toEqual(last[pdu.actor.port - 1].actor);
      expect(pdu.partner).toEqual(last[pdu.actor.port - 1].partner);
      expect(pdu.actor.state & (ST_SYNC | ST_DISTRIBUTING)).toBe(ST_SYNC | ST_DISTRIBUTING);
      expect(pdu.partner.state & ST_SYNC).toBe(ST_SYNC);
    }
    t.run(10);
    expect(Math.min(...t.bDistributing.slice(before))).toBe(2);
    expect(t.A.distributing()).toEqual([1, 2]);
  });

  it('without it (a cold start), the partner takes the links out of distribution', () => {
    const t = lab();
    t.run(5);
    const before = t.bDistributing.length;
    t.restart(1.5, null);
    t.run(10);
    expect(Math.min(...t.bDistributing.slice(before))).toBeLessThan(2);
  });

  it('a snapshot survives JSON and names only what it must (no timers)', () => {
    const t = lab();
    t.run(5);
    const snap = t.A.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(JSON.stringify(snap)).not.toMatch(/currentWhile|waitWhile|periodicTimer|ChurnTimer/);
    expect(snap.ports.map((p) => [p.id, p.rx, p.mux, p.selected])).toEqual([
      [1, 'current', 'collecting_distributing', 'selected'],
      [2, 'current', 'collecting_distributing', 'selected'],
    ]);
  });
});
