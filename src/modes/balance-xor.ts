// balance-xor (mode 2): each frame leaves through usable[xmit_hash % count], the usable ports
// in enslave order (kernel bond_update_slave_arr / bond_3ad_xor_xmit); every slave delivers.
// Adding or removing a usable slave remaps flows by the new count, as in the kernel.
import type { Port } from '../bond/port.js';
import { policyId } from '../datapath/hash.js';
import { TX_NONE, rxPlan } from '../datapath/plan.js';
import { usablePorts, type Mode, type ModeContext } from './mode.js';

export class BalanceXor implements Mode {
  readonly name = 'balance-xor' as const;
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
    const tx = usable.length ? { kind: 'hash' as const, masks, policy: policyId(this.ctx.options().xmit_hash_policy) } : TX_NONE;
    this.ctx.publish(tx, rxPlan(this.ctx.ports().map((p) => p.index)));
  }

  /** The usable ports in hash order: `bondctl hash` reports which one a frame takes. */
  usable(): Port[] {
    return usablePorts(this.ctx);
  }

  describe(): Record<string, unknown> {
    return { xmit_hash_policy: this.ctx.options().xmit_hash_policy, usable: usablePorts(this.ctx).map((p) => p.name) };
  }
}
