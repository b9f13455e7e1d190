// What a bond is built from (the kernel's bonding.h role): its configuration and what it is
// given to run with.
import type { BondError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { BondOptions } from '../options/parse.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { AttachMode } from '../fastpath/kernel-path.js';
import type { DatapathChoice } from './fast-path.js';
import type { Journal } from './journal.js';
import type { SavedLink } from '../port/port.js';

export interface BondConfig {
  name: string;
  options: BondOptions;
  /** Bond MTU, applied to the TAP and every slave. */
  mtu?: number;
  /** Bond MAC; default: the first slave's MAC (kernel behaviour). */
  mac?: Uint8Array;
  /** Bring the TAP up when it is created (default true). */
  up?: boolean;
  /** Busy-poll window after each batch, microseconds (default DEFAULT_BUSY_POLL_US; 0 = off). */
  busyPollUs?: number;
  /** Which datapath forwards frames (default auto: the kernel fast path when it loads). */
  datapath?: DatapathChoice;
  /** How the kernel path attaches: tcx (default, tc where TCX is missing) or tc always. */
  bpfAttach?: AttachMode;
  /** Where the kernel path pins its links and maps so that they outlive the process (a bpffs folder). */
  pins?: string | null;
  /** The bond an earlier bondd left running, to be taken over rather than created. */
  adopt?: Adoption;
  /** An fd of the adopted TAP this process was given (fd store, hand-over, reload). */
  tapFd?: number;
}

/** A slave as an earlier bondd journaled it: its state before the bond, and its engine port. */
export type AdoptedSlave = SavedLink & { port?: number };

/** What an earlier bondd left: its TAP (persistent) and slaves, from its journal. */
export interface Adoption {
  /** The TAP's MAC now (the bond keeps it). */
  mac: Uint8Array;
  slaves: AdoptedSlave[];
  /** The active slave when it let go (a clean stop), to keep. */
  active?: string | null;
  /** The mode's protocol state it journaled (802.3ad: LACP), to go on from when the mode is the same. */
  mode?: { name: string; state: unknown };
}

export const DEFAULT_BUSY_POLL_US = 50; // measured with `npm run bench`: saves a wake-up per round trip

export interface BondDeps {
  host: Host;
  clock: Clock;
  log: Logger;
  /** The crash journal (/run/tapbond/<bond>.state); none in tests over the in-memory binding. */
  journal?: Journal;
  /** The bond cannot go on (its TAP was deleted): the slaves are restored, the daemon must exit. */
  fatal?(err: BondError): void;
  /**
   * Whoever holds the TAP's fd across this process's end (systemd's fd store), so that its
   * carrier never falls: `keep` gets a copy under a name, `drop` lets go of it (the bond is
   * deleted). Absent: nothing holds it.
   */
  tapHolder?: { keep(name: string, fd: number): boolean; drop(name: string): void };
}
