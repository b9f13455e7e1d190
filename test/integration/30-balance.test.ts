// balance-rr spreading and broadcast duplication, counted on the switch side (the kernel's
// own interface counters of p0/p1), not from bondd's view of itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, pingSummary, skipReason, mustSkip } from '../helpers/lab.js';

const reason = skipReason();

describe.skipIf(mustSkip(reason))('load spreading seen by the partner', () => {
  const lab = new Lab('b');
  beforeAll(() => lab.up(2));
  afterAll(() => lab.down());

  const rx = () => [lab.stats(lab.sw, 'p0').rx_packets, lab.stats(lab.sw, 'p1').rx_packets];

  it('balance-rr alternates frames over both links', async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=balance-rr', 'miimon=100']);
    try {
      await lab.addressBond();
      lab.sh(lab.srv, 'ping -c 3 -i 0.05 198.18.0.2');
      const before = rx();
      const p = pingSummary(lab.sh(lab.srv, 'ping -c 400 -i 0.002 -W 1 198.18.0.2'));
      expect(p.received).toBe(400);
      const after = rx();
      const d = [after[0] - before[0], after[1] - before[1]];
      expect(d[0] + d[1]).toBeGreaterThanOrEqual(400);
      expect(Math.min(...d)).toBeGreaterThanOrEqual(180); // about half each
    } finally {
      await lab.stopBondd();
    }
  });

  it('broadcast sends every frame on both links', async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=broadcast', 'miimon=100']);
    try {
      await lab.addressBond();
      lab.sh(lab.srv, 'ping -c 3 -i 0.05 198.18.0.2');
      const before = rx();
      const p = pingSummary(lab.sh(lab.srv, 'ping -c 200 -i 0.002 -W 1 198.18.0.2'));
      expect(p.received).toBe(200);
      const after = rx();
      expect(after[0] - before[0]).toBeGreaterThanOrEqual(200);
      expect(after[1] - before[1]).toBeGreaterThanOrEqual(200);
    } finally {
      await lab.stopBondd();
    }
  });
});
