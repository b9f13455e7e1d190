// The MII link state machine of one port (kernel bond_miimon_inspect/commit): UP, FAIL
// ("going down"), DOWN, BACK ("going back"), with updelay/downdelay measured in time. Raw
// carrier comes in (from a miimon poll or an rtnetlink event); committed changes come out.
export type MiiState = 'up' | 'fail' | 'down' | 'back';

export const MII_STATUS_TEXT: Record<MiiState, string> = {
  up: 'up',
  fail: 'going down',
  down: 'down',
  back: 'going back',
};

export type LinkCommit = 'up' | 'down' | null;

export class PortLink {
  state: MiiState;
  failureCount = 0;
  /** When the current FAIL/BACK period started (ms). */
  since = 0;

  constructor(initial: MiiState) {
    this.state = initial;
  }

  /** Remaining updelay of a BACK link, for "use the updelay-pending link when nothing is up". */
  remaining(now: number, updelay: number): number {
    return this.state === 'back' ? Math.max(0, this.since + updelay - now) : Infinity;
  }

  /**
   * One inspection. `skipUpdelay`: no port is usable, so a returning link is taken at once
   * (kernel: mode-1/2 recovery with updelay).
   */
  inspect(carrier: boolean, now: number, updelay: number, downdelay: number, skipUpdelay: boolean): LinkCommit {
    switch (this.state) {
      case 'up':
        if (carrier) return null;
        this.state = 'fail';
        this.since = now;
      // falls through
      case 'fail':
        if (carrier) {
          this.state = 'up';
          return null;
        }
        if (now - this.since >= downdelay) {
          this.state = 'down';
          this.failureCount++;
          return 'down';
        }
        return null;
      case 'down':
        if (!carrier) return null;
        this.state = 'back';
        this.since = now;
      // falls through
      case 'back':
        if (!carrier) {
          this.state = 'down';
          return null;
        }
        if (skipUpdelay || now - this.since >= updelay) {
          this.state = 'up';
          return 'up';
        }
        return null;
    }
  }

  /** A verdict from a monitor that keeps its own timing (ARP/NS): up, or down (counted). */
  set(up: boolean): void {
    if (!up && this.state !== 'down') this.failureCount++;
    this.state = up ? 'up' : 'down';
  }

  /**
   * The ARP monitor's rotation: how a link that is not up shows in /proc, down or its "going
   * back" / "going down" (not a verdict: nothing is counted, and an up link is left alone).
   */
  showNotUp(state: 'down' | 'back' | 'fail'): void {
    if (this.state !== 'up') this.state = state;
  }

  /** Forces a BACK link up (chosen as active while its updelay runs). */
  forceUp(): void {
    this.state = 'up';
  }
}
