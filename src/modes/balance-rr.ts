// balance-rr (mode 0): frames leave round robin over the usable slaves, packets_per_slave at a
// time (0 = a random slave); IGMP always through the first usable slave (kernel: curr_active).
// Every slave delivers. Deviation: the kernel counts over all slaves and skips the ones that
// cannot transmit; we count over the usable ones, so a down slave does not double its neighbour.
import type { Port } from '../port/port.js';
import type { TxPlan } from '../datapath/plan.js';
import { AllActiveMode, portMasks } from './all-active.js';

export class BalanceRr extends AllActiveMode {
  readonly name = 'balance-rr' as const;
  private igmpPort: Port | null = null;

  override update(): void {
    super.update();
    // kernel compat: mode 0 keeps a curr_active slave for IGMP; when it changes, memberships
    // are reported again through the new one (resend_igmp)
    const first = this.active();
    if (first !== this.igmpPort) {
      const prev = this.igmpPort;
      this.igmpPort = first;
      if (first) {
        this.ctx.activeChanged(prev, first);
        this.ctx.resendIgmp(first);
      }
    }
  }

  protected txPlan(usable: readonly Port[]): TxPlan {
    const masks = portMasks(usable);
    return { kind: 'round-robin', masks, perPort: this.ctx.options().packets_per_slave, igmpMask: masks[0] };
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), packets_per_slave: this.ctx.options().packets_per_slave };
  }
}
