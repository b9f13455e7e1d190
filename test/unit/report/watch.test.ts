// `bondctl watch`: the live view rendered from two state dumps.
import { describe, expect, it } from 'vitest';
import { renderWatch } from '../../../src/report/watch.js';
import { fakeBond } from '../../helpers/fake-bond.js';
import { ipv4 } from '../../helpers/frames.js';
describe('bondctl watch', () => {
  it('shows slaves, link, active slave and rates from two dumps', () => {
    const { net, clock, bond, engine, portOf } = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1']);
    const a = bond.state();
    engine.inject(
      0,
      Array.from({ length: 100 }, () => ipv4(17, '02:00:00:00:00:aa', '02:00:00:00:01:01')),
    );
    engine.take(portOf('s0'));
    net.setCarrier('s1', false);
    clock.advance(100);
    const b = bond.state();
    const screen = renderWatch(b, a, 500, new Date('2026-11-23T10:00:00Z'));
    const lines = screen.trim().split('\n');
    expect(lines[0]).toBe('bond0  mode active-backup  carrier up  active s0  failovers 0    2026-11-23 10:00:00');
    expect(lines[1]).toMatch(/^SLAVE\s+LINK\s+STATE\s+SPEED\s+RX pps\s+RX bit\/s\s+TX pps\s+TX bit\/s\s+DROPS\s+FAILURES$/);
    const bytes = b.ports[0].counters.tx_bytes - a.ports[0].counters.tx_bytes;
    expect(lines[2].split(/\s+/)).toEqual([
      's0',
      'up',
      'active',
      '10000Mb',
      '0',
      '0',
      '200',
      `${((bytes * 2 * 8) / 1e3).toFixed(1)}k`,
      '0',
      '0',
    ]);
    expect(lines[3].split(/\s+/).slice(0, 3)).toEqual(['s1', 'down', 'backup']);
    expect(lines[3].split(/\s+/)[9]).toBe('1');
  });
});
