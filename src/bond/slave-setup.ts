// Preparing an interface to be a slave the kernel's way, and putting it back exactly: IPv6
// off, IPv4 addresses flushed, the bond's MTU and MAC, up, and a tc ingress drop that keeps the
// slave's own IP stack blind (the daemon's packet socket still sees every frame). Everything
// changed is recorded in the SavedLink first, so release (and SIGTERM) can undo it step by step.
import { BondError } from '../errors.js';
import type { Host } from '../host/host.js';
import { AF_INET } from '../net/rtnl.js';
import { ARPHRD_ETHER, IFF_UP, type LinkInfo, type NativeBinding } from '../native/types.js';
import type { StackBlock } from '../net/rtnl.js';
import type { Port, SavedLink } from '../port/port.js';
import type { Logger } from '../util/logger.js';
import { formatMac } from '../util/mac.js';

export interface SlaveSetup {
  /** The bond's MTU. */
  mtu: number;
  /** The MAC to set, or null to keep the slave's (see MacPolicy.forNewSlave). */
  mac: Uint8Array | null;
  /** Opens the daemon's packet socket on the slave once it is up. */
  openSocket(): void;
  /**
   * Attaches the kernel fast path's receive program, which keeps the slave's stack blind in place
   * of the drop filter (and goes with the process); absent on the user-space path.
   */
  attachFastPath?(): StackBlock | undefined;
  /** The crash journal: called before the first change and once everything is attached. */
  record?(saved: SavedLink, phase: 'preparing' | 'enslaved'): void;
}

const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);

function ipv6Sysctl(name: string): string {
  return `net/ipv6/conf/${name}/disable_ipv6`;
}

/** kernel bond_enslave's checks: what `name` is now, or a clear error. Nothing is changed. */
export function inspectSlave(
  binding: Pick<NativeBinding, 'linkInfo'>,
  bondName: string,
  name: string,
  enslaved: readonly Port[],
): LinkInfo {
  if (name === bondName) throw new BondError('EPORT_INVALID', `${name}: cannot enslave the bond to itself`);
  if (enslaved.some((p) => p.name === name)) throw new BondError('EPORT_EXISTS', `${name}: already a slave of ${bondName}`);
  let info: LinkInfo;
  try {
    info = binding.linkInfo(name);
  } catch (e) {
    throw new BondError('EPORT_UNKNOWN', `${name}: no such interface (${(e as Error).message})`, { cause: e });
  }
  if (info.type !== ARPHRD_ETHER) throw new BondError('EPORT_INVALID', `${name}: not an Ethernet interface (link type ${info.type})`);
  return info;
}

/**
 * Enslaves `info` (read just before): returns what it changed. On a failure every step done so
 * far is undone and the error is thrown.
 */
export function prepareSlave(host: Host, log: Logger, info: LinkInfo & { name: string }, setup: SlaveSetup): SavedLink {
  const b = host.binding;
  const name = info.name;
  const saved: SavedLink = {
    name,
    ifindex: info.ifindex,
    mac: Uint8Array.from(info.mac),
    mtu: info.mtu,
    flags: info.flags,
    disableIpv6: host.readSysctl(ipv6Sysctl(name)),
    hadClsact: host.hasClsact(info.ifindex),
  };
  setup.record?.(saved, 'preparing');
  try {
    if (saved.disableIpv6 !== null) {
      try {
        host.writeSysctl(ipv6Sysctl(name), '1');
      } catch (e) {
        if (!READ_ONLY.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
        // a container's /proc/sys is read-only: carry on, the ingress filter still keeps
        // frames away from the slave's own stack; nothing to restore afterwards
        saved.disableIpv6 = null;
        log.warn(
          `cannot turn IPv6 off (${ipv6Sysctl(name)} is read-only here, as in a container): the slave's own IPv6 stack may still send router solicitations and MLD reports`,
          { slave: name },
        );
      }
    }
    for (const a of host.addresses(info.ifindex)) if (a.family === AF_INET) host.deleteAddress(a);
    if (info.flags & IFF_UP) b.setFlags(name, info.flags & ~IFF_UP);
    if (info.mtu !== setup.mtu) b.setMtu(name, setup.mtu);
    if (setup.mac) b.setMac(name, setup.mac);
    b.setFlags(name, b.linkInfo(name).flags | IFF_UP);
    setup.openSocket();
    saved.stackBlock = setup.attachFastPath ? setup.attachFastPath() : host.blockStack(info.ifindex);
    if (saved.stackBlock?.adopted) log.warn('took over the ingress filter a tapbond that died had left on this slave', { slave: name });
    setup.record?.(saved, 'enslaved');
  } catch (e) {
    restoreSlave(host, log, saved);
    throw e;
  }
  return saved;
}

/**
 * Takes over a slave an earlier bondd prepared and left enslaved (`saved`: its state before the
 * bond, from the journal). It keeps its MAC, MTU and up state unless the bond now wants others;
 * the socket is opened, and what keeps its stack blind is taken over: the pinned receive
 * program (kernel path, swapped at the first plan) or the drop filter. Where the path changed,
 * the new blocker is in place before the old one goes. Nothing is announced.
 */
export function adoptSlave(host: Host, log: Logger, info: LinkInfo & { name: string }, saved: SavedLink, setup: SlaveSetup): SavedLink {
  const b = host.binding;
  const name = info.name;
  const kept: SavedLink = { ...saved, name };
  setup.record?.(kept, 'enslaved');
  if (info.mtu !== setup.mtu) b.setMtu(name, setup.mtu);
  if (setup.mac && formatMac(info.mac) !== formatMac(setup.mac)) {
    log.info(`MAC ${formatMac(info.mac)} -> ${formatMac(setup.mac)} (the adopting configuration's)`, { slave: name });
    b.setMac(name, setup.mac);
  }
  if (!(b.linkInfo(name, false).flags & IFF_UP)) b.setFlags(name, b.linkInfo(name, false).flags | IFF_UP);
  setup.openSocket();
  const before = saved.stackBlock;
  const block = setup.attachFastPath ? setup.attachFastPath() : host.blockStack(info.ifindex);
  // the qdisc is ours to remove when the first bondd made it, whatever this one found
  kept.stackBlock = block ? { ifindex: block.ifindex, createdQdisc: before ? before.createdQdisc : block.createdQdisc } : undefined;
  if (before && !block) host.unblockStack(before); // was the user path's drop filter, now a TCX link
  setup.record?.(kept, 'enslaved');
  return kept;
}

const GONE = new Set(['ENODEV', 'ENXIO']);

/**
 * rtnetlink said something changed on an enslaved port. A rename is followed (the port keeps
 * its place under the new name); an MTU or MAC that someone else changed is put back, with a
 * warning, since frames would otherwise be dropped by the NIC or its MAC filter.
 */
export function keepSlave(host: Host, log: Logger, port: Port, mtu: number): void {
  const b = host.binding;
  const name = b.ifName(port.ifindex);
  if (name === null) return; // gone: the RTM_DELLINK that follows releases it
  if (name !== port.name) {
    log.warn(`renamed to ${name} under the daemon: still a slave, now as ${name}`, { slave: name, was: port.name, event: 'slave-renamed' });
    port.name = name;
  }
  try {
    const now = b.linkInfo(name, false); // MTU and MAC: nothing that waits for the RTNL lock
    if (now.mtu !== mtu) {
      log.warn(`MTU changed to ${now.mtu} behind the bond: set back to ${mtu}`, { slave: name, event: 'slave-mtu-restored' });
      b.setMtu(name, mtu);
    }
    if (formatMac(now.mac) !== formatMac(port.mac)) {
      log.warn(`MAC changed to ${formatMac(now.mac)} behind the bond: set back to ${formatMac(port.mac)}`, {
        slave: name,
        event: 'slave-mac-restored',
      });
      b.setMac(name, port.mac);
    }
  } catch (e) {
    if (!GONE.has((e as { code?: string }).code ?? ''))
      log.error(`could not keep the slave's MTU and MAC: ${(e as Error).message}`, { slave: name });
  }
}

/**
 * Puts back MAC, MTU, up/down state and the IPv6 setting, and removes the ingress filter; each
 * step is attempted. The slave is found by ifindex, so a rename under the daemon changes
 * nothing; a slave that is gone (deleted, or moved to another network namespace) has nothing
 * left to restore. `stale` (recovery after a crash): remove our drop filter wherever it is,
 * and the clsact qdisc as the journal says. Returns the steps done.
 */
export function restoreSlave(host: Host, log: Logger, s: SavedLink, stale?: 'ours' | 'theirs' | 'unknown'): string[] {
  const b = host.binding;
  const name = b.ifName(s.ifindex);
  if (name === null) {
    log.warn('gone (deleted, or moved to another network namespace): nothing to restore', { slave: s.name, event: 'slave-gone' });
    return [];
  }
  const fields = { slave: name, ...(name !== s.name ? { was: s.name } : {}) };
  const done: string[] = [];
  const steps: [string, () => unknown][] = [
    [
      'ingress filter',
      () => (stale ? done.push(...host.removeStaleBlock(s.ifindex, stale)) : s.stackBlock && host.unblockStack(s.stackBlock)),
    ],
    ['down', () => b.setFlags(name, b.linkInfo(name).flags & ~IFF_UP)],
    ['mac', () => b.setMac(name, s.mac)],
    ['mtu', () => b.setMtu(name, s.mtu)],
    ['ipv6', () => s.disableIpv6 !== null && host.writeSysctl(ipv6Sysctl(name), s.disableIpv6)],
    ['flags', () => b.setFlags(name, (b.linkInfo(name).flags & ~IFF_UP) | (s.flags & IFF_UP))],
  ];
  for (const [what, fn] of steps) {
    try {
      fn();
      if (what !== 'ingress filter' && what !== 'down') done.push(what);
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (GONE.has(code)) {
        log.warn(`gone while being restored (${what}): nothing more to restore`, { ...fields, event: 'slave-gone' });
        return done;
      }
      log.error(`could not restore ${what}: ${(e as Error).message}`, fields);
    }
  }
  if (!stale && s.stackBlock) done.unshift('ingress filter');
  return done;
}
