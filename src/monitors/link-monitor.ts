// What the bond asks of a link monitor, MII or ARP/NS (libteam's link watchers are the model):
// ports come and go, the active port changes, options change; a monitor may need to see some
// received frames and have the ports join multicast groups. Verdicts go back through the
// callbacks each monitor is built with.
import type { Port } from '../port/port.js';

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
