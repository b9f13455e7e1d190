// The shape shared by the modes in which every slave is active (balance-rr, balance-xor,
// broadcast): each delivers from every slave, has carrier while one slave is usable, and only
// differs in the TxPlan it builds over the usable slaves (kernel usable_slaves, in enslave order).
import type { Port } from '../port/port.js';
import { TX_NONE, rxPlan, type TxPlan } from '../datapath/plan.js';
import type { ModeName } from '../options/modes.js';
import { usablePorts, type Mode, type ModeContext } from './mode.js';

export abstract class AllActiveMode implements Mode {
  abstract readonly name: ModeName;

  constructor(protected readonly ctx: ModeContext) {}

  /** The transmit plan over a non-empty list of usable ports. */
  protected abstract txPlan(usable: readonly Port[]): TxPlan;

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
    this.ctx.publish(
      usable.length ? this.txPlan(usable) : TX_NONE,
      rxPlan(
        this.ctx.maxPorts,
        this.ctx.ports().map((p) => p.index),
      ),
    );
  }

  describe(): Record<string, unknown> {
    return { usable: usablePorts(this.ctx).map((p) => p.name) };
  }
}

export function portMasks(ports: readonly Port[]): Uint32Array {
  return Uint32Array.from(ports, (p) => (1 << p.index) >>> 0);
}
