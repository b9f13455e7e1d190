// What carries a bond from one bondd to the next: a copy of the TAP's fd in the holder (systemd's
// fd store) so that its carrier never falls between them, the journal of the TAP, the pins and
// the mode's protocol state (LACP), and the record of a clean stop. A crash leaves the journal as
// it was last written; the next bondd adopts from it (see Bond.adopt()).
import type { Host } from '../host/host.js';
import type { Logger } from '../util/logger.js';
import type { Journal } from './journal.js';
import type { BondDeps } from './types.js';

export class Continuity {
  /** The mode's state as last journaled (counters aside), to write it only when it changes. */
  private modeJournaled = '';

  constructor(
    private readonly name: string,
    private readonly host: Host,
    private readonly log: Logger,
    private readonly journal: Journal | undefined,
    private readonly holder: BondDeps['tapHolder'],
  ) {}

  /** The fd store's name for this bond's TAP. */
  private get tapName(): string {
    return `tap-${this.name}`;
  }

  /** The TAP exists (made or adopted): its fd to the holder, its ifindex and pins to the journal. */
  started(tap: { ifindex: number; dup(): number }, pins: string | null): void {
    if (this.holder) this.holdTap(tap.dup());
    this.journal?.bond({ ifindex: tap.ifindex }, pins);
  }

  /** Hands `fd` (a copy of the TAP's, closed here) to the holder, replacing an older one. */
  private holdTap(fd: number): void {
    const h = this.holder!;
    try {
      h.drop(this.tapName);
      if (h.keep(this.tapName, fd)) this.log.debug(`${this.name}'s TAP fd is in systemd's fd store`);
    } catch (e) {
      this.log.warn(`could not hand the TAP's fd to systemd's fd store: ${(e as Error).message}`);
    } finally {
      this.host.binding.closeFd(fd);
    }
  }

  /**
   * The mode's protocol state into the journal when what it says changed (counters aside), so
   * that a bondd started after a crash goes on from it.
   */
  modeState(mode: string, state: unknown, force = false): void {
    if (state === undefined || !this.journal) return;
    const key = JSON.stringify(state, (k, v: unknown) => (k === 'stats' ? undefined : v));
    if (!force && key === this.modeJournaled) return;
    this.modeJournaled = key;
    this.journal.modeState(mode, state);
  }

  /** A clean stop left the bond running, `active` its active slave. */
  detached(active: string | null): void {
    this.journal?.detached(active);
  }

  /** The bond is being taken down: the holder lets go of the TAP (else its fd would keep it). */
  dropTap(): void {
    this.holder?.drop(this.tapName);
  }

  /** The bond is down and every slave restored: nothing is left to adopt or recover. */
  ended(): void {
    this.journal?.remove();
  }
}
