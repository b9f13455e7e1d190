// broadcast (mode 3): every frame leaves once on every usable slave; every slave delivers.
import { TX_NONE, maskOf, rxPlan } from '../datapath/plan.js';
import type { Port } from '../bond/port.js';
import { usablePorts, type Mode, type ModeContext } from './mode.js';

export class Broadcast implements Mode {
  readonly name = 'broadcast' as const;
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
    this.ctx.publish(usable.length ? { kind: 'all', mask: maskOf(usable.map((p) => p.index)) } : TX_NONE, rxPlan(this.ctx.ports().map((p) => p.index)));
  }

  describe(): Record<string, unknown> {
    return {};
  }
}
