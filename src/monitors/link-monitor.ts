// What the bond asks of a link monitor, MII or ARP/NS (libteam's link watchers are the model):
// ports come and go, the active port changes, options change; a monitor may need to see some
// received frames and have the ports join multicast groups. Verdicts go back through
// LinkVerdicts; each monitor logs its own verdicts (it knows why).
import type { Port } from '../port/port.js';

/** How a monitor hands its verdicts to the bond. */
export interface LinkVerdicts {
  /** `port`'s link goes up or down; the mode has not reacted yet (the bond counts failovers). */
  committed(port: Port, up: boolean): void;
  /** The mode must re-evaluate the ports, for `reason` (shown in the active-change log line). */
  update(reason: string): void;
  /** A poll or an event has been handled: the bond's carrier may have changed. */
  settled(): void;
}

export interface LinkMonitor {
  readonly kind: 'mii' | 'arp';
  addPort(port: Port, carrier: boolean): void;
  removePort(port: Port): void;
  /** The active port changed (the ARP monitor probes through it). */
  setActive(port: Port | null): void;
  /** Options changed: new interval, targets or validation. */
  reconfigure(): void;
  /** rtnetlink said a port's carrier or flags changed. */
  onCarrierEvent(port: Port): void;
  stop(): void;
  /** EtherTypes it must see on receive (copied to it and delivered as usual). */
  ethertypes(): number[];
  /** A received frame of one of those; true when it was the monitor's. */
  onFrame(port: Port, frame: Uint8Array): boolean;
  /** Multicast groups (hex MACs) `port` must join for the monitor. */
  multicast(port: Port): string[];
}
