// The 802.3ad adapter against fake mode contexts: LACPDUs framed from each port's own MAC,
// slow-protocol frames consumed, and two modes wired back to back through their contexts
// (each one's sendControl is the other's trapped) negotiate and distribute on both links.
import { describe, expect, it } from 'vitest';
import { ETHERTYPE_CONSUME, type TxPlan } from '../../../src/datapath/plan.js';
import { Mode8023ad } from '../../../src/modes/8023ad.js';
import type { Mode } from '../../../src/modes/mode.js';
import { formatMac } from '../../../src/util/mac.js';
import { modeContext } from '../../helpers/mode-context.js';

const isSlow = (f: Uint8Array) => f[12] === 0x88 && f[13] === 0x09;
/** The distributing ports' masks of a hash plan, null for any other plan. */
const hashMasks = (tx: TxPlan) => (tx.kind === 'hash' ? Array.from(tx.masks) : null);

function side(bondLast: number, opts: Record<string, string | number> = {}) {
  const m = modeContext(
    { mode: '802.3ad', lacp_rate: 'fast', miimon: 100, ...opts },
    ['p0', 'p1'],
    Uint8Array.of(2, 0xad, 0, 0, 0, bondLast),
  );
  const mode: Mode = new Mode8023ad(m.ctx);
  for (const p of m.ports) mode.portAdded!(p);
  mode.update('start');
  return { ...m, mode };
}

describe('802.3ad adapter', () => {
  it("sends LACPDUs from each port's own MAC to the slow-protocols group and consumes 0x8809", () => {
    const a = side(1);
    for (let i = 0; i < 20; i++) {
      a.clock.advance(100);
      a.mode.tick!();
    }
    for (const p of a.ports) {
      const mine = a.sent.filter((s) => s.port === p && isSlow(s.frame));
      expect(mine.length, p.name).toBeGreaterThanOrEqual(2);
      expect(formatMac(mine[0].frame.subarray(0, 6))).toBe('01:80:c2:00:00:02');
      expect(formatMac(mine[0].frame.subarray(6, 12))).toBe(formatMac(p.permMac));
    }
    expect(a.last().rx.ethertypes[0x8809]).toBe(ETHERTYPE_CONSUME);
    expect(a.mode.multicast!()).toContain('0180c2000002');
    // no partner: one port distributes as an individual link (kernel), with no fallback and
    // so no peer notification
    expect(hashMasks(a.last().tx)).toEqual([1 << 1]);
    expect(a.notified).toEqual([]);
    expect(a.log.records.some((r) => r.fields.event === 'lacp-fallback-on')).toBe(false);
  });

  it('negotiates with a second adapter and distributes on both links within 3 s', () => {
    const a = side(1);
    const b = side(2);
    const wire = (from: typeof a, to: typeof b) => {
      for (const s of from.sent.splice(0)) to.mode.trapped!(to.ports[from.ports.indexOf(s.port)], s.frame);
    };
    let t = 0;
    for (; t < 3000; t += 100) {
      a.clock.advance(100);
      b.clock.advance(100);
      a.mode.tick!();
      b.mode.tick!();
      wire(a, b);
      wire(b, a);
      const both = [a, b].every((x) => hashMasks(x.last().tx)?.length === 2);
      if (both) break;
    }
    expect(t).toBeLessThan(3000);
    for (const x of [a, b]) expect(x.mode.carrier()).toBe(true);
    // a link failure takes that port out of the hash at once
    a.link('p1', false);
    a.mode.update('p1 link failure');
    expect(hashMasks(a.last().tx)).toEqual([1 << 1]);
  });

  it('lacp_fallback: with no partner, one port carries everything, with a peer notification', () => {
    const a = side(1, { lacp_fallback: 'on' });
    a.clock.advance(100);
    a.mode.tick!();
    expect(a.last().tx.kind).toBe('hash');
    expect(hashMasks(a.last().tx)).toEqual([1 << 1]);
    expect(a.notified.map((p) => p.name)).toEqual(['p0']);
    expect(a.log.records.filter((r) => r.fields.event === 'lacp-fallback-on').map((r) => r.fields.slave)).toEqual(['p0']);
  });
});
