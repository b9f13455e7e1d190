// The bond master: the TAP device the host's stack sees as `bond0`. Created once, persistent
// (TUNSETPERSIST), with the bond's MTU (and MAC when one was given) and its carrier off until
// the mode says a slave is usable. It outlives the process, so the addresses, routes, bridge and
// qdiscs on it survive a restart: the next bondd adopts it as it finds it, and only deleting the
// bond removes it. Its flags and queue drops are read here for the state tree.
import type { Host } from '../host/host.js';
import { IFF_UP, type NativeEngine } from '../native/types.js';
import type { Logger } from '../util/logger.js';
import { macEquals } from '../util/mac.js';
import { BondError } from '../errors.js';

/** The TAP's transmit ring, in frames, when bondd makes it (measured: see setQueue). */
export const TAP_TX_QUEUE = 4096;

export interface MasterConfig {
  name: string;
  mtu: number;
  mac: Uint8Array | undefined;
  /** Bring the TAP up at once. */
  up: boolean;
  busyPollUs: number;
  /** The TAP is an earlier bondd's, left persistent: attach to it and leave it as it is. */
  adopt?: boolean;
  /** An fd of that TAP this process was given (systemd's fd store, a hand-over, a reload): its carrier never fell. */
  fd?: number;
}

/** The tag a bondd's TAP carries (its ifalias): `ip link` shows whose it is. */
export function masterTag(bond: string): string {
  return `tapbond ${bond}`;
}

export class TapMaster {
  ifindex = 0;
  private carrierOn: boolean | null = null;

  constructor(
    private readonly host: Host,
    private readonly engine: NativeEngine,
    private readonly log: Logger,
  ) {}

  /**
   * Creates the TAP, or attaches to the one an earlier bondd left (`adopt`): then only what the
   * configuration changed is set (MTU, MAC), its up/down state stays, and the carrier is left
   * to the mode's first word. On a failure a TAP made here is removed, an adopted one kept.
   */
  open(c: MasterConfig): void {
    const b = this.host.binding;
    if (c.fd !== undefined) {
      const got = this.engine.adoptTap(c.fd);
      if (got.name !== c.name) {
        this.engine.close();
        throw new BondError('ETAP_GONE', `${c.name}: the TAP fd handed over is ${got.name}'s`);
      }
      this.ifindex = got.ifindex;
    } else this.ifindex = this.engine.openTap(c.name).ifindex;
    try {
      this.engine.setTapPersist(true);
      this.engine.setBusyPoll(c.busyPollUs);
      if (c.adopt) {
        const now = b.linkInfo(c.name, false);
        if (now.mtu !== c.mtu) b.setMtu(c.name, c.mtu);
        if (c.mac && !macEquals(now.mac, c.mac)) b.setMac(c.name, c.mac);
        return;
      }
      this.host.setAlias(c.name, masterTag(c.name));
      this.setQueue();
      b.setMtu(c.name, c.mtu);
      if (c.mac) b.setMac(c.name, c.mac);
      this.engine.setTapCarrier(false);
      this.carrierOn = false;
      if (c.up) b.setFlags(c.name, b.linkInfo(c.name).flags | IFF_UP);
    } catch (e) {
      if (!c.adopt) this.remove();
      else this.engine.close();
      throw e;
    }
  }

  /**
   * tun's ring of frames waiting for the daemon holds 500 by default: at 200 kpps that is
   * 2.5 ms, and a daemon descheduled for longer (two busy cores are enough) drops the host's own
   * frames with the flood's. TAP_TX_QUEUE frames ride out such gaps. Set when the TAP is made
   * only: `ip link set bond0 txqueuelen N` is the operator's, and an adopted TAP keeps it.
   */
  private setQueue(): void {
    try {
      this.host.setTxQueueLen(this.ifindex, TAP_TX_QUEUE);
    } catch (e) {
      this.log.warn(`txqueuelen ${TAP_TX_QUEUE} not set, the TAP keeps tun's 500: ${(e as Error).message}`);
    }
  }

  /** A new fd of the TAP for whoever holds it across this process's end (the caller closes its copy). */
  dup(): number {
    return this.engine.dupTap();
  }

  /** Lets go of the TAP: it stays, with its carrier off until a new bondd attaches (unless another fd holds it). */
  release(): void {
    this.engine.close();
  }

  /** Deletes the TAP (persistence off, then the last fd closed). */
  remove(): void {
    try {
      this.engine.setTapPersist(false);
    } catch (e) {
      this.log.error(`could not make the TAP non-persistent: ${(e as Error).message}`);
    }
    this.engine.close();
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
