// balance-xor (mode 2): each frame leaves through usable[xmit_hash % count], the usable ports
// in enslave order (kernel bond_update_slave_arr / bond_3ad_xor_xmit); every slave delivers.
// Adding or removing a usable slave remaps flows by the new count, as in the kernel.
import type { Port } from '../port/port.js';
import { policyId } from '../datapath/hash.js';
import type { TxPlan } from '../datapath/plan.js';
import { AllActiveMode, portMasks } from './all-active.js';

export class BalanceXor extends AllActiveMode {
  readonly name = 'balance-xor' as const;

  protected txPlan(usable: readonly Port[]): TxPlan {
    return { kind: 'hash', masks: portMasks(usable), policy: policyId(this.ctx.options().xmit_hash_policy) };
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), xmit_hash_policy: this.ctx.options().xmit_hash_policy };
  }
}
