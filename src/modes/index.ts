// Mode registry: the only place that maps a mode name to its implementation.
import { Mode8023ad } from './8023ad.js';
import { ActiveBackup } from './active-backup.js';
import { BalanceRr } from './balance-rr.js';
import { BalanceAlb, BalanceTlb } from './balance-tlb.js';
import { BalanceXor } from './balance-xor.js';
import { Broadcast } from './broadcast.js';
import type { ModeName } from '../options/modes.js';
import type { Mode, ModeContext } from './mode.js';

export { MODE_INFO, MODE_NAMES, type ModeName } from '../options/modes.js';
export type { Mode, ModeContext } from './mode.js';

const FACTORIES: Record<ModeName, (ctx: ModeContext) => Mode> = {
  'balance-rr': (ctx) => new BalanceRr(ctx),
  'active-backup': (ctx) => new ActiveBackup(ctx),
  'balance-xor': (ctx) => new BalanceXor(ctx),
  broadcast: (ctx) => new Broadcast(ctx),
  '802.3ad': (ctx) => new Mode8023ad(ctx),
  'balance-tlb': (ctx) => new BalanceTlb(ctx),
  'balance-alb': (ctx) => new BalanceAlb(ctx),
};

export function createMode(name: ModeName, ctx: ModeContext): Mode {
  return FACTORIES[name](ctx);
}
