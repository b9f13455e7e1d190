// What runs on the clock while a bond is up: the link monitor its options ask for (MII with
// miimon, ARP/NS with arp_interval, or none), the mode's 100 ms tick (the 802.3ad and ALB
// machines, as in the kernel) and a once-a-second chore (filter sync, journal). Started and
// stopped with the bond; option changes restart only the part they touch.
import type { Mode } from '../modes/index.js';
import { createLinkMonitor, monitorKind, type LinkMonitor } from '../monitors/index.js';
import { MODE_INFO } from '../options/modes.js';
import type { Port } from '../port/port.js';

const MODE_TICK_MS = 100;
const CHORE_MS = 1000;

type MonitorDeps = Parameters<typeof createLinkMonitor>[1];

/** What the bond lends its timers: the view every part has, and the mode as it is now. */
export interface TimerSite extends Omit<MonitorDeps, 'activePort' | 'usesPrimary' | 'noneUsable' | 'committed' | 'update' | 'settled'> {
  mode(): Mode;
  /** A slave that was carrying traffic failed (counted before the mode reacts). */
  failed(port: Port): void;
  updateCarrier(): void;
  /** The once-a-second chore. */
  chore(): void;
}

export class BondTimers {
  private current: LinkMonitor | null = null;
  private stopTick: (() => void) | null = null;
  private stopChore: (() => void) | null = null;

  constructor(private readonly s: TimerSite) {}

  get monitor(): LinkMonitor | null {
    return this.current;
  }

  start(): void {
    this.restartMonitor();
    this.restartModeTick();
    this.stopChore = this.s.clock.every(CHORE_MS, () => this.s.chore());
  }

  stop(): void {
    this.current?.stop();
    this.stopTick?.();
    this.stopChore?.();
  }

  /** The mode's tick, for the mode there is now (a new one after a mode change). */
  restartModeTick(): void {
    this.stopTick?.();
    this.stopTick = null;
    const mode = this.s.mode();
    if (mode.tick) this.stopTick = this.s.clock.every(MODE_TICK_MS, () => mode.tick!());
  }

  /** The link monitor the options ask for now; the mode republishes when ARP/ND comes or goes. */
  restartMonitor(): void {
    const want = monitorKind(this.s.options());
    const had = this.current?.kind ?? null;
    if (this.current && had === want) this.current.reconfigure();
    else {
      this.current?.stop();
      this.current = want && createLinkMonitor(want, this.monitorDeps());
    }
    if (want === 'arp')
      this.s.mode().update('arp monitor on'); // republish with ARP/ND observed
    else if (had === 'arp') this.s.mode().update('arp monitor off');
  }

  private monitorDeps(): MonitorDeps {
    const s = this.s;
    const usesPrimary = () => MODE_INFO[s.options().mode].usesPrimary;
    return {
      ...s,
      activePort: () => s.mode().active(),
      usesPrimary,
      // kernel compat (bond_miimon_inspect): updelay is skipped only when nothing is usable
      noneUsable: () => (usesPrimary() ? s.mode().active() === null : !s.ports().some((p) => p.isUp)),
      committed: (port, up) => !up && s.failed(port),
      update: (reason) => s.mode().update(reason),
      settled: () => s.updateCarrier(),
    };
  }
}
