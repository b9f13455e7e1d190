// balance-rr, balance-xor and broadcast against a fake mode context: the plan each builds over
// the usable slaves, in enslave order; every slave passes frames up.
import { describe, expect, it } from 'vitest';
import { policyId } from '../../../src/datapath/hash.js';
import { DELIVER_ALL, type TxPlan } from '../../../src/datapath/plan.js';
import { BalanceRr } from '../../../src/modes/balance-rr.js';
import { BalanceXor } from '../../../src/modes/balance-xor.js';
import { Broadcast } from '../../../src/modes/broadcast.js';
import type { Mode, ModeContext } from '../../../src/modes/mode.js';
import { modeContext } from '../../helpers/mode-context.js';

function setup(make: (ctx: ModeContext) => Mode, opts: Record<string, string | number>) {
  const m = modeContext({ miimon: 100, ...opts });
  const mode = make(m.ctx);
  mode.update('start');
  return { ...m, mode, tx: () => m.last().tx };
}

const masks = (tx: TxPlan) => ('masks' in tx ? Array.from(tx.masks) : []);

describe('balance-rr', () => {
  it('rotates over the usable slaves, packets_per_slave at a time, IGMP through the first', () => {
    const m = setup((c) => new BalanceRr(c), { mode: 'balance-rr', packets_per_slave: 3 });
    expect(m.tx()).toMatchObject({ kind: 'round-robin', perPort: 3, igmpMask: 1 << 1 });
    expect(masks(m.tx())).toEqual([1 << 1, 1 << 2, 1 << 3]);
    m.link('s0', false);
    m.mode.update('s0 down');
    expect(masks(m.tx())).toEqual([1 << 2, 1 << 3]);
    expect(m.tx()).toMatchObject({ igmpMask: 1 << 2 });
    // the IGMP slave moved: memberships are reported again through the new one (resend_igmp)
    expect(m.activeChanges).toEqual([
      [null, 's0'],
      ['s0', 's1'],
    ]);
    expect(m.igmpResends).toEqual(['s0', 's1']);
    expect(Array.from(m.last().rx.deliver.subarray(1, 4))).toEqual([DELIVER_ALL, DELIVER_ALL, DELIVER_ALL]);
  });
});

describe('balance-xor', () => {
  it('hashes with xmit_hash_policy over the usable slaves', () => {
    const m = setup((c) => new BalanceXor(c), { mode: 'balance-xor', xmit_hash_policy: 'layer3+4' });
    expect(m.tx()).toMatchObject({ kind: 'hash', policy: policyId('layer3+4') });
    m.link('s1', false);
    m.mode.update('s1 down');
    expect(masks(m.tx())).toEqual([1 << 1, 1 << 3]);
    expect(m.mode.carrier()).toBe(true);
  });
});

describe('broadcast', () => {
  it('sends one copy on every usable slave, and nothing once none is', () => {
    const m = setup((c) => new Broadcast(c), { mode: 'broadcast' });
    expect(m.tx()).toEqual({ kind: 'all', mask: (1 << 1) | (1 << 2) | (1 << 3) });
    m.link('s1', false);
    m.mode.update('s1 down');
    expect(m.tx()).toEqual({ kind: 'all', mask: (1 << 1) | (1 << 3) });
    for (const s of ['s0', 's2']) m.link(s, false);
    m.mode.update('all down');
    expect(m.tx()).toEqual({ kind: 'none' });
    expect(m.mode.carrier()).toBe(false);
  });
});
