// broadcast (mode 3): every frame leaves once on every usable slave; every slave delivers.
import type { Port } from '../port/port.js';
import { maskOf, type TxPlan } from '../datapath/plan.js';
import { AllActiveMode } from './all-active.js';

export class Broadcast extends AllActiveMode {
  readonly name = 'broadcast' as const;

  protected txPlan(usable: readonly Port[]): TxPlan {
    return { kind: 'all', mask: maskOf(usable.map((p) => p.index)) };
  }
}
