// The TAP master's receive filter mirrored onto every slave, as the kernel bond does with
// dev_set_promiscuity/dev_set_allmulti and dev_mc_sync: promiscuous and allmulti state, and the
// multicast list (plus the groups the mode and the link monitor need). Only differences are
// applied; each port remembers what it joined.
import type { Host } from '../host/host.js';
import { IFF_ALLMULTI, IFF_PROMISC, type NativeEngine } from '../native/types.js';
import type { Port } from '../port/port.js';
import type { Logger } from '../util/logger.js';

export interface FilterMirrorDeps {
  host: Host;
  engine: Pick<NativeEngine, 'setMembership'>;
  log: Logger;
  bondName: string;
  /** Groups every slave must receive for the mode (e.g. the slow-protocols address). */
  modeGroups(): string[];
  /** Groups one slave must receive for the link monitor. */
  monitorGroups(port: Port): string[];
}

export class FilterMirror {
  constructor(private readonly d: FilterMirrorDeps) {}

  /** Brings every port in line with the TAP's flags and multicast list now. */
  sync(ports: readonly Port[]): void {
    if (ports.length === 0) return;
    let flags = 0;
    try {
      flags = this.d.host.binding.linkInfo(this.d.bondName).flags;
    } catch {
      return;
    }
    const promisc = (flags & IFF_PROMISC) !== 0;
    const allmulti = (flags & IFF_ALLMULTI) !== 0;
    const common = [...this.d.host.multicastList(this.d.bondName), ...this.d.modeGroups()];
    const e = this.d.engine;
    for (const p of ports) {
      const wanted = new Set([...common, ...this.d.monitorGroups(p)]);
      try {
        if (p.promisc !== promisc) {
          e.setMembership(p.index, promisc, 'promisc');
          p.promisc = promisc;
          this.d.log.info(`promiscuous mode ${promisc ? 'on' : 'off'} (following ${this.d.bondName})`, { slave: p.name });
        }
        if (p.allmulti !== allmulti) {
          e.setMembership(p.index, allmulti, 'allmulti');
          p.allmulti = allmulti;
        }
        for (const m of wanted) {
          if (p.multicast.has(m)) continue;
          e.setMembership(p.index, true, 'multicast', Buffer.from(m, 'hex'));
          p.multicast.add(m);
        }
        for (const m of p.multicast) {
          if (wanted.has(m)) continue;
          e.setMembership(p.index, false, 'multicast', Buffer.from(m, 'hex'));
          p.multicast.delete(m);
        }
      } catch (err) {
        this.d.log.warn(`filter sync failed: ${(err as Error).message}`, { slave: p.name });
      }
    }
  }
}
