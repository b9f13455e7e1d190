// balance-rr (mode 0): frames leave round robin over the usable slaves, packets_per_slave at a
// time (0 = a random slave); IGMP always through the first usable slave (kernel: curr_active).
// Every slave delivers. Deviation: the kernel counts over all slaves and skips the ones that
// cannot transmit; we count over the usable ones, so a down slave does not double its neighbour.
import { TX_NONE, rxPlan } from '../datapath/plan.js';
import type { Port } from '../bond/port.js';
import { usablePorts, type Mode, type ModeContext } from './mode.js';

export class BalanceRr implements Mode {
  readonly name = 'balance-rr' as const;
  constructor(private readonly ctx: ModeContext) {}

  active(): Port | null {
    return usablePorts(this.ctx)[0] ?? null;
  }

  carrier(): boolean {
    return usablePorts(this.ctx).length > 0;
  }

  isActive(): boolean {
    return true;
  }

  update(): void {
    const usable = usablePorts(this.ctx);
    const masks = Uint32Array.from(usable, (p) => (1 << p.index) >>> 0);
    const tx = usable.length
      ? { kind: 'round-robin' as const, masks, perPort: this.ctx.options().packets_per_slave, igmpMask: masks[0] }
      : TX_NONE;
    this.ctx.publish(tx, rxPlan(this.ctx.ports().map((p) => p.index)));
  }

  describe(): Record<string, unknown> {
    return { packets_per_slave: this.ctx.options().packets_per_slave };
  }
}
