// The link monitor a bond's options ask for: MII when miimon is set, ARP/NS when arp_interval
// is (the two exclude each other), else none.
import type { BondOptions } from '../options/parse.js';
import { ArpLink, type ArpLinkDeps } from './arp-link.js';
import type { LinkMonitor } from './link-monitor.js';
import { MiiMonitor, type MiiDeps } from './mii.js';

export type { LinkMonitor } from './link-monitor.js';
export { initialState, readCarrier } from './mii.js';

export type LinkMonitorKind = LinkMonitor['kind'];

export function monitorKind(o: Readonly<BondOptions>): LinkMonitorKind | null {
  return o.miimon > 0 ? 'mii' : o.arp_interval > 0 ? 'arp' : null;
}

export function createLinkMonitor(kind: LinkMonitorKind, deps: MiiDeps & ArpLinkDeps): LinkMonitor {
  return kind === 'mii' ? new MiiMonitor(deps) : new ArpLink(deps);
}
