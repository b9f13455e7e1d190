// Recovery from an unclean stop: a journal whose daemon is gone names every slave that process
// had changed; each is put back as it was before (MAC, MTU, up/down, IPv6), our drop filter
// comes off it (and the clsact qdisc when we had created it), and the journal goes. Used by
// bondd at start, by `bondd --recover` and by `bondctl recover`.
import { rmSync } from 'node:fs';
import { BondError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { Logger } from '../util/logger.js';
import { isLiveBondd, readJournal, toSaved, type JournalSlave } from './journal.js';
import { restoreSlave } from './slave-setup.js';

export interface Recovery {
  bond: string;
  /** The dead daemon's pid. */
  pid: number;
  slaves: { name: string; restored: string[] }[];
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
  const slaves = [...j.slaves].reverse().map((s) => ({ name: s.name, restored: restoreSlave(host, log, toSaved(s), qdiscOf(s)) }));
  rmSync(path, { force: true });
  const what = slaves.map((s) => `${s.name} (${s.restored.join(', ') || 'nothing left to restore'})`).join('; ');
  log.warn(`recovered from an unclean stop of pid ${j.pid}: ${what || 'no slave had been touched'}`, {
    event: 'recovered',
    pid: j.pid,
    slaves: slaves.map((s) => s.name),
  });
  return { bond: j.bond, pid: j.pid, slaves };
}
