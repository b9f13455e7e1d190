// Taking down a bond whose daemon is gone: its journal names every slave that process had
// changed; each is put back as it was before (MAC, MTU, up/down, IPv6), our drop filter comes
// off it (and the clsact qdisc when we had created it), the pinned programs and maps go (so a
// data plane still forwarding without a daemon stops), the persistent TAP is deleted, and the
// journal goes. Used by `bondctl recover`/`bondd --recover`, `bondctl delete` of a bond no
// bondd runs, and at start when what the journal names cannot be adopted.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { unpinAll } from '../fastpath/kernel-path.js';
import { BondError } from '../errors.js';
import type { Host } from '../host/host.js';
import { dhcpDirOf, HostNet, nativeNetOps, nodeProcs } from '../host/netconf.js';
import type { Logger } from '../util/logger.js';
import { isLiveBondd, readJournal, toSaved, type JournalSlave } from './journal.js';
import { restoreSlave } from './slave-setup.js';

export interface Recovery {
  bond: string;
  /** The dead daemon's pid. */
  pid: number;
  slaves: { name: string; restored: string[] }[];
  /** The persistent TAP was deleted. */
  tapRemoved: boolean;
}

/** Restores one journaled slave as a dead daemon left it. */
export function restoreJournaled(host: Host, log: Logger, s: JournalSlave): string[] {
  return restoreSlave(host, log, toSaved(s), qdiscOf(s));
}

function qdiscOf(s: JournalSlave): 'ours' | 'theirs' | 'unknown' {
  if (s.stackBlock) return s.stackBlock.createdQdisc ? 'ours' : 'theirs';
  // killed while preparing: a clsact there now that was not there before is ours (created just
  // before the process died, its filter not added yet)
  if (s.phase === 'preparing' && s.hadClsact !== undefined) return s.hadClsact ? 'theirs' : 'ours';
  // enslaved with nothing to undo (the kernel path's TCX links): we created no qdisc
  return s.phase === 'enslaved' ? 'theirs' : 'unknown';
}

/**
 * Replays the journal at `path`, if there is one and its daemon is dead: null when there was
 * nothing to recover. A live daemon's journal is an error (it still runs the bond).
 */
export function recoverJournal(host: Host, log: Logger, path: string): Recovery | null {
  const j = readJournal(path);
  if (!j) return null;
  if (isLiveBondd(j.pid)) throw new BondError('EBUSY', `${j.bond}: bondd (pid ${j.pid}) runs this bond; stop it first`);
  // the pins first: the programs stop forwarding before the slaves get their own stack back
  if (j.pins) unpinAll(j.pins);
  const slaves = [...j.slaves].reverse().map((s) => ({ name: s.name, restored: restoreJournaled(host, log, s) }));
  const tapRemoved = j.tap !== undefined && host.binding.ifName(j.tap.ifindex) === j.bond && host.tapState(j.bond)?.persistent === true;
  if (tapRemoved) host.deleteLink(j.tap!.ifindex);
  // the bridge bondd made over it, the routes, the DHCP clients and DNS go with the bond
  if (j.hostnet) {
    const ops = nativeNetOps(host.binding);
    try {
      new HostNet(ops, nodeProcs, log, dhcpDirOf(dirname(path))).remove(j.hostnet);
    } finally {
      ops.close();
    }
  }
  rmSync(path, { force: true });
  const what = slaves.map((s) => `${s.name} (${s.restored.join(', ') || 'nothing left to restore'})`).join('; ');
  const how = j.detached ? `the bond pid ${j.pid} left running` : `an unclean stop of pid ${j.pid}`;
  log.warn(`recovered from ${how}: ${what || 'no slave had been touched'}${tapRemoved ? `; ${j.bond} deleted` : ''}`, {
    event: 'recovered',
    pid: j.pid,
    slaves: slaves.map((s) => s.name),
  });
  return { bond: j.bond, pid: j.pid, slaves, tapRemoved };
}
