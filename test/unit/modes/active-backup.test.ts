// active-backup against a fake mode context: which slave is active, what the plans say, and
// what the mode asks of the bond (peer notification, active changes).
import { describe, expect, it } from 'vitest';
import { DELIVER_ALL, DELIVER_NONE } from '../../../src/datapath/plan.js';
import { ActiveBackup } from '../../../src/modes/active-backup.js';
import { modeContext } from '../../helpers/mode-context.js';

function setup(opts: Record<string, string | number> = {}) {
  const m = modeContext({ mode: 'active-backup', miimon: 100, ...opts });
  const mode = new ActiveBackup(m.ctx);
  for (const p of m.ports) mode.portAdded(p);
  mode.update('start');
  return { ...m, mode };
}

describe('active-backup', () => {
  it('makes the first usable slave active, sends through it and passes only its frames up', () => {
    const m = setup();
    expect(m.mode.active()?.name).toBe('s0');
    const { tx, rx } = m.last();
    expect(tx).toEqual({ kind: 'single', mask: 1 << 1 });
    expect(Array.from(rx.deliver.subarray(1, 4))).toEqual([DELIVER_ALL, DELIVER_NONE, DELIVER_NONE]);
    expect(m.mode.carrier()).toBe(true);
    expect(m.activeChanges).toEqual([[null, 's0']]);
    expect(m.notified.map((p) => p.name)).toEqual(['s0']);
  });

  it('publishes the plan through the new active slave before it tells peers and resends IGMP', () => {
    const m = setup();
    m.calls.length = 0;
    m.link('s0', false);
    m.mode.update('s0 link failure');
    // the MAC moves and the monitor follow before the plan; the announcements' system calls after
    expect(m.calls).toEqual(['active s0->s1', 'publish', 'notify s1', 'igmp s1']);
    m.calls.length = 0;
    m.mode.setActive(m.ports[2]);
    expect(m.calls).toEqual(['active s1->s2', 'publish', 'notify s2', 'igmp s2']);
    m.calls.length = 0;
    m.mode.update('nothing changed');
    expect(m.calls).toEqual(['publish']);
  });

  it('fails over in enslave order, and has neither carrier nor a plan with no slave left', () => {
    const m = setup();
    m.link('s0', false);
    m.mode.update('s0 link failure');
    expect(m.mode.active()?.name).toBe('s1');
    expect(m.last().tx).toEqual({ kind: 'single', mask: 1 << 2 });
    expect(m.log.lines).toContain('info s1: active s0 -> s1 (s0 link failure)');
    m.link('s1', false);
    m.link('s2', false);
    m.mode.update('all down');
    expect(m.mode.active()).toBeNull();
    expect(m.mode.carrier()).toBe(false);
    expect(m.last().tx).toEqual({ kind: 'none' });
    expect(m.log.lines.some((l) => l.includes('now running without any active interface!'))).toBe(true);
  });

  it('prefers the primary, and primary_reselect decides whether it takes over again', () => {
    const back = (reselect: string, primarySpeed = 1000) => {
      const m = setup({ primary: 's1', primary_reselect: reselect });
      expect(m.mode.active()?.name).toBe('s1');
      m.link('s1', false);
      m.mode.update('s1 down');
      expect(m.mode.active()?.name).toBe('s0');
      m.port('s1').speed = primarySpeed;
      m.link('s1', true);
      m.mode.update('s1 up');
      return m.mode.active()?.name;
    };
    expect(back('always')).toBe('s1');
    expect(back('failure')).toBe('s0');
    expect(back('better')).toBe('s0'); // same speed and duplex: not better
    expect(back('better', 10000)).toBe('s1');
  });

  it('per-slave prio without a primary: failover goes to the highest prio, which then reselects as a primary would', () => {
    const run = (reselect: string) => {
      const m = setup({ primary_reselect: reselect });
      m.port('s1').prio = 5;
      m.port('s2').prio = 10;
      m.mode.update('s1, s2 prio changed');
      const first = m.mode.active()?.name;
      m.link('s2', false);
      m.mode.update('s2 down');
      const afterFailure = m.mode.active()?.name;
      m.link('s2', true);
      m.mode.update('s2 up');
      return [first, afterFailure, m.mode.active()?.name];
    };
    // s0 stays at first (it is up): prio reselects like a primary with primary_reselect
    expect(run('always')).toEqual(['s2', 's1', 's2']);
    expect(run('failure')).toEqual(['s0', 's0', 's0']);
    const f = setup({ primary_reselect: 'failure' });
    f.port('s1').prio = 5;
    f.port('s2').prio = 10;
    f.link('s0', false);
    f.mode.update('s0 down');
    expect(f.mode.active()?.name).toBe('s2'); // failover: the highest prio, not the next in order
    // equal prios (the default) never move a working active slave
    const m = setup();
    m.link('s0', false);
    m.mode.update('s0 down');
    m.link('s0', true);
    m.mode.update('s0 up');
    expect(m.mode.active()?.name).toBe('s1');
    // a primary overrides prio
    const p = setup({ primary: 's0' });
    p.port('s2').prio = 10;
    p.mode.update('s2 prio');
    expect(p.mode.active()?.name).toBe('s0');
    // ... while it is usable: when it fails, prio picks among the others
    p.link('s0', false);
    p.mode.update('s0 down');
    expect(p.mode.active()?.name).toBe('s2');
  });

  it('all_slaves_active passes frames up from every usable slave, sending through one', () => {
    const m = setup({ all_slaves_active: 'on' });
    m.link('s2', false);
    m.mode.update('s2 down');
    const { tx, rx } = m.last();
    expect(tx).toEqual({ kind: 'single', mask: 1 << 1 });
    expect(Array.from(rx.deliver.subarray(1, 4))).toEqual([DELIVER_ALL, DELIVER_ALL, DELIVER_NONE]);
    expect(m.ports.map((p) => m.mode.isActive(p))).toEqual([true, true, false]);
  });

  it('takes a manual active slave at once and returns to automatic selection on null', () => {
    const m = setup();
    m.mode.setActive(m.port('s2'));
    expect(m.mode.active()?.name).toBe('s2');
    m.mode.update('anything');
    expect(m.mode.active()?.name).toBe('s2'); // kept: s2 is still up
    m.mode.setActive(null);
    m.mode.update('automatic');
    expect(m.activeChanges.map(([, next]) => next)).toEqual(['s0', 's2']);
  });
});
