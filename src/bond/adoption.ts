// Taking over what an earlier bondd left (its journal, through config.adopt): each slave still
// configured is adopted in place at the engine port it had (no MAC or MTU change, its pinned
// receive program kept forwarding), new ones are enslaved, and those no longer configured are
// restored. Then the earlier active slave and the mode's protocol state (LACP) are taken over.
// The bond holds its plan back meanwhile, so the switch and a partner see no change.
import type { Mode } from '../modes/index.js';
import { MODE_INFO } from '../options/modes.js';
import type { Membership } from './membership.js';
import { restoreSlave } from './slave-setup.js';
import type { AdoptedSlave, Adoption } from './types.js';

export interface AdoptionSite extends Pick<Membership, 'host' | 'log' | 'journal' | 'fast' | 'ports' | 'options'> {
  mode: Mode;
  enslave(name: string, adopted?: AdoptedSlave): void;
}

/** Adopts, enslaves and restores as `a` and `names` say; publishing is the caller's. */
export function adoptSlaves(site: AdoptionSite, a: Adoption, names: string[]): void {
  const { host, log, mode } = site;
  for (const name of names) {
    let ifindex = -1;
    try {
      ifindex = host.binding.linkInfo(name, false).ifindex;
    } catch {
      /* enslave() says what is wrong with it */
    }
    site.enslave(
      name,
      a.slaves.find((s) => s.ifindex === ifindex),
    );
  }
  for (const s of a.slaves) {
    if (site.ports().some((p) => p.ifindex === s.ifindex)) continue;
    site.fast.unpinSlave(s.ifindex); // its stack hears again once its receive program is gone
    restoreSlave(host, log, s);
    site.journal?.forget(s.ifindex);
    log.info('no longer in the configuration: released', { slave: s.name, event: 'released' });
  }
  const active = a.active ? site.ports().find((p) => p.name === a.active) : undefined;
  if (active?.isUp && MODE_INFO[site.options().mode].usesPrimary) mode.setActive?.(active);
  if (a.mode?.name === site.options().mode && mode.restore) {
    mode.restore(a.mode.state);
    log.info(`${a.mode.name} state taken over from the earlier bondd`, { event: 'mode-restored' });
  }
}
