// The MII link monitor (kernel bond_mii_monitor, bond_miimon_inspect/commit): every miimon ms,
// and on each rtnetlink carrier event between polls, each port's carrier is read and fed to its
// PortLink state machine (updelay/downdelay); committed changes go to the bond.
import { IFF_RUNNING, IFF_UP, type LinkInfo, type NativeBinding } from '../native/types.js';
import type { BondOptions } from '../options/parse.js';
import type { Port } from '../port/port.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { LinkMonitor, LinkVerdicts } from './link-monitor.js';
import type { MiiState } from '../port/link.js';

export interface MiiDeps extends LinkVerdicts {
  binding: Pick<NativeBinding, 'linkInfo'>;
  clock: Clock;
  log: Logger;
  options(): Readonly<BondOptions>;
  ports(): readonly Port[];
  /** kernel compat (bond_miimon_inspect): updelay is skipped only when nothing is usable. */
  noneUsable(): boolean;
}

/** A new slave's first MII state: with miimon and updelay, a live link first waits its updelay. */
export function initialState(carrier: boolean, o: Readonly<BondOptions>): MiiState {
  if (!carrier) return 'down';
  return o.miimon > 0 && o.updelay > 0 ? 'back' : 'up';
}

/**
 * Carrier as the MII monitor sees it: down when the interface is, else use_carrier decides.
 * With use_carrier on, the flags alone answer (no ethtool ioctl, so no wait for the RTNL lock
 * the kernel holds while it processes the very carrier loss being read).
 */
export function readCarrier(binding: Pick<NativeBinding, 'linkInfo'>, name: string, useCarrier: 'on' | 'off', info?: LinkInfo): boolean {
  const li = info ?? binding.linkInfo(name, useCarrier === 'off');
  if (!(li.flags & IFF_UP)) return false;
  if (useCarrier === 'off' && li.link !== null) return li.link;
  return (li.flags & IFF_RUNNING) !== 0;
}

export class MiiMonitor implements LinkMonitor {
  readonly kind = 'mii';
  private stopTimer: (() => void) | null = null;

  constructor(private readonly d: MiiDeps) {
    this.reconfigure();
  }

  reconfigure(): void {
    this.stopTimer?.();
    this.stopTimer = this.d.clock.every(this.d.options().miimon, () => this.poll());
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = null;
  }

  addPort(): void {}
  removePort(): void {}
  setActive(): void {}

  ethertypes(): number[] {
    return [];
  }

  onFrame(): boolean {
    return false;
  }

  multicast(): string[] {
    return [];
  }

  onCarrierEvent(port: Port): void {
    this.inspect(port, 'event');
    this.d.settled();
  }

  private poll(): void {
    for (const p of this.d.ports()) this.inspect(p, 'miimon');
    this.d.settled();
  }

  private inspect(port: Port, why: 'miimon' | 'event'): void {
    const o = this.d.options();
    let carrier: boolean;
    try {
      carrier = readCarrier(this.d.binding, port.name, o.use_carrier);
    } catch {
      carrier = false;
    }
    const before = port.link.state;
    port.carrier = carrier;
    const now = this.d.clock.now();
    const commit = port.link.inspect(carrier, now, o.updelay, o.downdelay, this.d.noneUsable());
    const after = port.link.state;
    const log = this.d.log;
    if (before !== after && !commit) {
      if (after === 'fail')
        log.info(`link status down for interface, disabling it in ${o.downdelay} ms`, { slave: port.name, event: 'link-fail' });
      else if (after === 'back') log.info(`link status up, enabling it in ${o.updelay} ms`, { slave: port.name, event: 'link-back' });
      else if (before === 'fail' && after === 'up')
        log.info(`link status up again after ${Math.round(now - port.link.since)} ms`, { slave: port.name });
      else if (before === 'back' && after === 'down')
        log.info(`link status down again after ${Math.round(now - port.link.since)} ms`, { slave: port.name });
    }
    if (commit === 'down') {
      this.d.committed(port, false);
      log.info(`link down (${why}, failure count ${port.link.failureCount})`, { slave: port.name, event: 'link-down' });
      this.d.update(`${port.name} link failure`);
    } else if (commit === 'up') {
      try {
        const li = this.d.binding.linkInfo(port.name);
        port.speed = li.speed;
        port.duplex = li.duplex;
      } catch {
        /* keep the last known speed */
      }
      this.d.committed(port, true);
      const speed = port.speed > 0 ? port.speed + ' Mbps' : 'speed unknown';
      log.info(`link up (${why}, ${speed} ${port.duplex} duplex)`, { slave: port.name, event: 'link-up' });
      this.d.update(`${port.name} link up`);
    }
  }
}
