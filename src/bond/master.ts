// The bond master: the TAP device the host's stack sees as `bond0`. Created on start with the
// bond's MTU (and MAC when one was given), its carrier off until the mode says a slave is usable,
// and removed with the engine. Its flags and queue drops are read here for the state tree.
import type { Host } from '../host/host.js';
import { IFF_UP, type NativeEngine } from '../native/types.js';
import type { Logger } from '../util/logger.js';

export interface MasterConfig {
  name: string;
  mtu: number;
  mac: Uint8Array | undefined;
  /** Bring the TAP up at once. */
  up: boolean;
  busyPollUs: number;
}

export class TapMaster {
  ifindex = 0;
  private carrierOn: boolean | null = null;

  constructor(
    private readonly host: Host,
    private readonly engine: NativeEngine,
    private readonly log: Logger,
  ) {}

  /** Creates the TAP; on a failure nothing is left behind. */
  open(c: MasterConfig): void {
    const b = this.host.binding;
    this.ifindex = this.engine.openTap(c.name).ifindex;
    try {
      b.setMtu(c.name, c.mtu);
      if (c.mac) b.setMac(c.name, c.mac);
      this.engine.setTapCarrier(false);
      this.engine.setBusyPoll(c.busyPollUs);
      this.carrierOn = false;
      if (c.up) b.setFlags(c.name, b.linkInfo(c.name).flags | IFF_UP);
    } catch (e) {
      this.engine.close();
      throw e;
    }
  }

  get carrier(): boolean {
    return this.carrierOn === true;
  }

  /** kernel netif_carrier_on/off on the master: logged once per change. */
  setCarrier(on: boolean): void {
    if (on === this.carrierOn) return;
    this.carrierOn = on;
    try {
      this.engine.setTapCarrier(on);
    } catch (e) {
      this.log.error(`could not set carrier: ${(e as Error).message}`);
    }
    this.log.info(`carrier ${on ? 'on' : 'off'}`, { event: on ? 'carrier-on' : 'carrier-off' });
  }

  /** The TAP's flags now; 0 when it is gone. */
  flags(name: string): number {
    try {
      return this.host.binding.linkInfo(name).flags;
    } catch {
      return 0;
    }
  }

  /** Frames the kernel dropped on the TAP because the daemon lagged. */
  queueDrops(): number {
    try {
      return this.host.tapDrops(this.ifindex);
    } catch {
      return 0;
    }
  }
}
