// The bond: owns the TAP master, the ports, the MII monitor and the mode; applies options;
// enslaves and releases the kernel's way and restores every slave exactly. Control path only:
// the datapath reads the plans the mode publishes through this object.
import { Datapath, DpCtr } from '../datapath/datapath.js';
import { xmitHash } from '../datapath/hash.js';
import type { RxPlan, TxPlan } from '../datapath/plan.js';
import { BondError } from '../errors.js';
import { createMode, MODE_INFO, type Mode, type ModeContext } from '../modes/index.js';
import { ARPHRD_ETHER, Ctr, IFF_ALLMULTI, IFF_PROMISC, IFF_RUNNING, IFF_UP, type LinkInfo } from '../native/types.js';
import { ArpLink } from '../monitors/arp-link.js';
import { ETHERTYPE_OBSERVE } from '../datapath/plan.js';
import { rarpAnnounce } from '../net/frames.js';
import { AF_INET, type IfAddr, type LinkEvent } from '../net/rtnl.js';
import { changeOption, parseSlaveOption, type BondFacts, type BondOptions } from '../options/parse.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { formatMac, macEquals, randomMac } from '../util/mac.js';
import type { Host } from './host.js';
import { MII_STATUS_TEXT, type MiiState } from './port-link.js';
import { Announcer } from './announcer.js';
import { isOurMac, Port, type SavedLink } from './port.js';

const SOCKET_BUFFER_BYTES = 8 << 20; // lab note 12: 64 KiB GSO frames overflow the default
const FILTER_SYNC_MS = 1000;
const MODE_TICK_MS = 100; // kernel: the 802.3ad and ALB machines run every 100 ms
const DEFAULT_MTU = 1500;

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
}

/** Measured with `npm run bench`: saves one wake-up per request/response round trip. */
export const DEFAULT_BUSY_POLL_US = 50;

export interface BondDeps {
  host: Host;
  clock: Clock;
  log: Logger;
}

export class Bond {
  readonly name: string;
  private options: BondOptions;
  private readonly host: Host;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly datapath: Datapath;
  private readonly ports: Port[] = [];
  private mode: Mode;
  private tapIfindex = 0;
  private mac: Uint8Array | undefined;
  private macFromSlave = false;
  private readonly mtu: number;
  private carrierOn: boolean | null = null;
  private stopMiimon: (() => void) | null = null;
  private stopModeTick: (() => void) | null = null;
  private stopFilterSync: (() => void) | null = null;
  private readonly announcer: Announcer;
  private arp: ArpLink | null = null;
  private started = false;
  private planSig = '';
  private learnedAnnouncements = 0;
  /** Failures of slaves that were carrying traffic (metrics, state). */
  private failovers = 0;

  constructor(private readonly config: BondConfig, deps: BondDeps) {
    this.name = config.name;
    this.options = structuredClone(config.options);
    this.host = deps.host;
    this.clock = deps.clock;
    this.log = deps.log.child({ bond: config.name });
    this.mtu = config.mtu ?? DEFAULT_MTU;
    this.mac = config.mac;
    this.datapath = new Datapath(deps.host.binding, () => deps.clock.now());
    this.announcer = new Announcer({
      host: deps.host,
      clock: deps.clock,
      log: this.log,
      bondName: config.name,
      tapIfindex: () => this.tapIfindex,
      mac: () => this.mac,
      options: () => this.options,
      usable: (p) => this.ports.includes(p) && p.isUp,
      send: (p, f) => void this.datapath.sendControl(p.index, f),
    });
    this.mode = createMode(this.options.mode, this.modeContext());
  }

  private modeContext(): ModeContext {
    return {
      bondName: this.name,
      clock: this.clock,
      log: this.log,
      ports: () => this.ports,
      options: () => this.options,
      publish: (tx: TxPlan, rx: RxPlan) => {
        // the ARP/NS monitor sees every ARP (and, with NS targets, every IPv6 frame, for ND)
        for (const et of this.arp?.ethertypes() ?? []) rx.ethertypes[et] = rx.ethertypes[et] || ETHERTYPE_OBSERVE;
        this.datapath.publish(tx, rx);
        const sig = planSignature(tx);
        if (sig !== this.planSig && this.planSig !== '' && tx.kind !== 'none') this.announceLearned();
        this.planSig = sig;
      },
      notifyPeers: (port: Port) => this.announcer.notifyPeers(port),
      activeChanged: (prev: Port | null, next: Port | null) => {
        this.arp?.setActive(next);
        this.failOverMac(prev, next);
        if (next) this.announcer.resendIgmp(next);
      },
      sendControl: (port: Port, frame: Uint8Array) => void this.datapath.sendControl(port.index, frame),
      updateCarrier: () => this.updateCarrier(),
      bondMac: () => this.mac ?? new Uint8Array(6),
    };
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Creates the TAP master. Nothing else is touched until enslave(). */
  start(): void {
    const b = this.host.binding;
    const tap = this.datapath.engine.openTap(this.name);
    this.tapIfindex = tap.ifindex;
    this.started = true;
    try {
      b.setMtu(this.name, this.mtu);
      if (this.mac) b.setMac(this.name, this.mac);
      this.datapath.engine.setTapCarrier(false);
      this.datapath.engine.setBusyPoll(this.config.busyPollUs ?? DEFAULT_BUSY_POLL_US);
      this.carrierOn = false;
      if (this.config.up !== false) b.setFlags(this.name, b.linkInfo(this.name).flags | IFF_UP);
    } catch (e) {
      this.datapath.close();
      this.started = false;
      throw e;
    }
    if (this.options.miimon === 0 && this.options.arp_interval === 0) {
      this.log.warn('miimon and arp_interval are both 0: link failures will not be detected');
    }
    this.restartMiimon();
    this.restartModeTick();
    this.stopFilterSync = this.clock.every(FILTER_SYNC_MS, () => this.syncFilters());
    this.datapath.onTrap((index, frame) => {
      const port = this.ports.find((p) => p.index === index);
      if (!port) return;
      if (this.arp?.onFrame(port, frame)) return;
      this.mode.trapped?.(port, frame);
    });
    this.log.info(`created, mode ${this.options.mode}, mtu ${this.mtu}`, { event: 'created' });
  }

  /** Releases every slave (restoring it) and removes the TAP. */
  stop(): void {
    if (!this.started) return;
    for (const p of [...this.ports].reverse()) {
      try {
        this.release(p.name);
      } catch (e) {
        this.log.error(`release failed: ${(e as Error).message}`, { slave: p.name });
      }
    }
    this.stopMiimon?.();
    this.stopModeTick?.();
    this.stopFilterSync?.();
    this.announcer.stop();
    this.arp?.stop();
    this.datapath.close();
    this.started = false;
    this.log.info('removed', { event: 'removed' });
  }

  get ifindex(): number {
    return this.tapIfindex;
  }

  private restartModeTick(): void {
    this.stopModeTick?.();
    this.stopModeTick = null;
    if (this.mode.tick) this.stopModeTick = this.clock.every(MODE_TICK_MS, () => this.mode.tick!());
  }

  private restartMiimon(): void {
    this.stopMiimon?.();
    this.stopMiimon = null;
    if (this.options.miimon > 0) this.stopMiimon = this.clock.every(this.options.miimon, () => this.miimonTick());
    this.restartArpMonitor();
  }

  // ---- ARP / NS monitor ------------------------------------------------------------------

  private restartArpMonitor(): void {
    if (this.options.arp_interval === 0) {
      if (this.arp) {
        this.arp.stop();
        this.arp = null;
        this.mode.update('arp monitor off');
      }
      return;
    }
    if (!this.arp) {
      this.arp = new ArpLink({
        host: this.host,
        clock: this.clock,
        tapIfindex: () => this.tapIfindex,
        options: () => this.options,
        ports: () => this.ports,
        activePort: () => this.mode.active(),
        lastRx: this.datapath.lastRx,
        send: (p, f) => void this.datapath.sendControl(p.index, f),
        linkChanged: (changes) => this.arpLinkChanged(changes),
      });
    } else this.arp.reconfigure();
    this.mode.update('arp monitor on'); // republish with ARP/ND observed
  }

  private arpLinkChanged(changes: { port: Port; up: boolean }[]): void {
    for (const { port, up } of changes) {
      if (!up) this.countFailover(port);
      port.link.set(up);
      this.log.info(`link ${up ? 'up' : 'down'} (arp monitor${up ? '' : `, failure count ${port.link.failureCount}`})`, { slave: port.name, event: up ? 'link-up' : 'link-down' });
    }
    this.mode.update('arp monitor');
    this.updateCarrier();
  }

  // ---- enslave / release --------------------------------------------------------------------

  enslave(name: string): void {
    const b = this.host.binding;
    if (!this.started) throw new BondError('EPORT_INVALID', `${name}: bond ${this.name} is not running`);
    if (name === this.name) throw new BondError('EPORT_INVALID', `${name}: cannot enslave the bond to itself`);
    if (this.ports.some((p) => p.name === name)) throw new BondError('EPORT_EXISTS', `${name}: already a slave of ${this.name}`);
    let info: LinkInfo;
    try {
      info = b.linkInfo(name);
    } catch (e) {
      throw new BondError('EPORT_UNKNOWN', `${name}: no such interface (${(e as Error).message})`, { cause: e });
    }
    if (info.type !== ARPHRD_ETHER) throw new BondError('EPORT_INVALID', `${name}: not an Ethernet interface (link type ${info.type})`);
    if (MODE_INFO[this.options.mode].needsSpeed && info.speed < 0) {
      this.log.warn(`speed unknown; mode ${this.options.mode} needs it`, { slave: name });
    }
    const index = this.freeIndex();
    const ipv6Path = `net/ipv6/conf/${name}/disable_ipv6`;
    const saved: SavedLink = { mac: Uint8Array.from(info.mac), mtu: info.mtu, flags: info.flags, disableIpv6: this.host.readSysctl(ipv6Path) };
    if (!this.mac || (this.macFromSlave && this.ports.length === 0)) {
      // kernel compat: the bond takes its first slave's MAC unless one was given
      this.mac = Uint8Array.from(info.mac);
      this.macFromSlave = true;
      b.setMac(this.name, this.mac);
    }
    try {
      if (saved.disableIpv6 !== null) {
        try {
          this.host.writeSysctl(ipv6Path, '1');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') throw e;
          // a container's /proc/sys is read-only: carry on, the ingress filter still keeps
          // frames away from the slave's own stack; nothing to restore afterwards
          saved.disableIpv6 = null;
          this.log.warn(`cannot turn IPv6 off (${ipv6Path} is read-only here, as in a container): the slave's own IPv6 stack may still send router solicitations and MLD reports`, { slave: name });
        }
      }
      for (const a of this.host.addresses(info.ifindex)) if (a.family === AF_INET) this.host.deleteAddress(a);
      if (info.flags & IFF_UP) b.setFlags(name, info.flags & ~IFF_UP);
      if (info.mtu !== this.mtu) b.setMtu(name, this.mtu);
      if (this.keepsOwnMac()) {
        // kernel compat (bond_enslave): with fail_over_mac follow, a new slave that already has
        // the bond's MAC gets a random one so two slaves never share it
        if (this.macPolicy() === 'follow' && this.ports.length > 0 && macEquals(info.mac, this.mac)) b.setMac(name, randomMac());
      } else if (!macEquals(info.mac, this.mac)) b.setMac(name, this.mac);
      b.setFlags(name, b.linkInfo(name).flags | IFF_UP);
      this.datapath.engine.openPacket(index, info.ifindex, SOCKET_BUFFER_BYTES);
      saved.stackBlock = this.host.blockStack(info.ifindex);
    } catch (e) {
      this.restore(name, saved);
      this.datapath.engine.closePort(index);
      throw e;
    }
    const fresh = b.linkInfo(name);
    const carrier = this.readCarrier(name, fresh);
    let initial: MiiState = carrier ? 'up' : 'down';
    if (carrier && this.options.miimon > 0 && this.options.updelay > 0) initial = 'back';
    const port = new Port(index, name, info.ifindex, saved.mac, saved, initial);
    port.mac = Uint8Array.from(fresh.mac);
    port.carrier = carrier;
    port.speed = fresh.speed;
    port.duplex = fresh.duplex;
    if (initial === 'back') port.link.since = this.clock.now();
    this.ports.push(port);
    this.arp?.addPort(port, carrier);
    this.syncFilters();
    this.log.info(`enslaved to ${this.name} (engine port ${index}, link ${MII_STATUS_TEXT[initial]}, ${fresh.speed > 0 ? fresh.speed + ' Mbps' : 'speed unknown'})`, { slave: name, event: 'enslaved' });
    this.mode.portAdded?.(port);
    this.mode.update(`${name} enslaved`);
    this.updateCarrier();
  }

  release(name: string): void {
    const port = this.ports.find((p) => p.name === name);
    if (!port) throw new BondError('EPORT_UNKNOWN', `${name}: not a slave of ${this.name}`);
    const wasActive = this.mode.active() === port;
    this.mode.portRemoved?.(port);
    this.ports.splice(this.ports.indexOf(port), 1);
    this.arp?.removePort(port);
    this.mode.update(wasActive ? `${name} released` : 'release');
    this.updateCarrier();
    this.datapath.engine.closePort(port.index);
    this.restore(name, port.saved);
    if (this.mac && macEquals(port.permMac, this.mac) && this.ports.length > 0) {
      this.log.warn(`the permanent HWaddr of ${name} - ${formatMac(port.permMac)} - is still in use by ${this.name}; set the HWaddr of ${name} to a different address to avoid conflicts`, { slave: name });
    }
    this.log.info(`released from ${this.name}`, { slave: name, event: 'released' });
  }

  /** Puts back MAC, MTU, up/down state and the IPv6 setting; each step is attempted. */
  private restore(name: string, s: SavedLink): void {
    const b = this.host.binding;
    const steps: [string, () => void][] = [
      ['ingress filter', () => s.stackBlock && this.host.unblockStack(s.stackBlock)],
      ['down', () => b.setFlags(name, b.linkInfo(name).flags & ~IFF_UP)],
      ['mac', () => b.setMac(name, s.mac)],
      ['mtu', () => b.setMtu(name, s.mtu)],
      ['ipv6', () => s.disableIpv6 !== null && this.host.writeSysctl(`net/ipv6/conf/${name}/disable_ipv6`, s.disableIpv6)],
      ['flags', () => b.setFlags(name, (b.linkInfo(name).flags & ~IFF_UP) | (s.flags & IFF_UP))],
    ];
    for (const [what, fn] of steps) {
      try {
        fn();
      } catch (e) {
        this.log.error(`could not restore ${what}: ${(e as Error).message}`, { slave: name });
      }
    }
  }

  private freeIndex(): number {
    const max = this.host.binding.MAX_PORTS;
    for (let i = 1; i < max; i++) if (!this.ports.some((p) => p.index === i)) return i;
    throw new BondError('EPORT_INVALID', `${this.name}: no room for another slave (at most ${max - 1})`);
  }

  /** fail_over_mac active/follow in active-backup: slaves keep their own MACs when enslaved. */
  private keepsOwnMac(): boolean {
    return this.macPolicy() !== 'none';
  }

  /** balance-tlb/alb: each slave has its own MAC and the active one the bond's (kernel alb_swap_mac_addr). */
  private macPolicy(): 'none' | 'active' | 'follow' {
    const info = MODE_INFO[this.options.mode];
    if (info.ownMacs) return 'follow';
    return info.failOverMac ? this.options.fail_over_mac : 'none';
  }

  /** Sets a slave's MAC, taking the link down for it if the driver cannot change it live. */
  private setPortMac(port: Port, mac: Uint8Array): void {
    const b = this.host.binding;
    try {
      b.setMac(port.name, mac);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EBUSY') throw e;
      const flags = b.linkInfo(port.name).flags;
      b.setFlags(port.name, flags & ~IFF_UP);
      b.setMac(port.name, mac);
      b.setFlags(port.name, flags);
    }
    port.mac = Uint8Array.from(mac);
  }

  /** kernel compat (bond_do_fail_over_mac): the MAC moves of fail_over_mac on an active change. */
  private failOverMac(prev: Port | null, next: Port | null): void {
    if (!this.keepsOwnMac() || !next || !this.mac) return;
    try {
      if (this.macPolicy() === 'active') {
        if (macEquals(this.mac, next.mac)) return;
        this.mac = Uint8Array.from(next.mac); // the bond takes the new active slave's MAC
        this.host.binding.setMac(this.name, this.mac);
        this.log.info(`MAC ${formatMac(this.mac)} from ${next.name} (fail_over_mac active)`, { slave: next.name, event: 'mac-change' });
        return;
      }
      // follow: the new active slave takes the bond's MAC; the old one gets the new one's
      const old = prev ?? this.ports.find((p) => p !== next && macEquals(p.mac, this.mac!)) ?? null;
      if (!old) {
        if (!macEquals(next.mac, this.mac)) this.setPortMac(next, this.mac);
        return;
      }
      const theirs = macEquals(old.mac, next.mac) ? next.permMac : next.mac;
      const bondMac = Uint8Array.from(old.mac);
      this.setPortMac(next, bondMac);
      this.setPortMac(old, theirs);
      this.log.info(`takes ${formatMac(bondMac)} from ${old.name}, which gets ${formatMac(theirs)} (${MODE_INFO[this.options.mode].ownMacs ? this.options.mode : 'fail_over_mac follow'})`, { slave: next.name, event: 'mac-swap' });
    } catch (e) {
      this.log.error(`fail_over_mac ${this.options.fail_over_mac}: ${(e as Error).message}`);
    }
  }

  /**
   * Beyond the kernel: after the ports changed, one RARP per MAC learned behind the TAP (guests
   * on a bridge over it), sent where that MAC's traffic now leaves, so the switch moves it at once
   * instead of black-holing a quiet guest until it speaks (OVS and QEMU announce the same way).
   */
  private announceLearned(): void {
    const now = this.clock.now();
    let n = 0;
    for (const mac of this.datapath.local.entries(now)) {
      if (isOurMac(mac, this.mac, this.ports) || mac[0] & 1) continue;
      const frame = rarpAnnounce(mac);
      const mask = this.datapath.select(frame, 0, frame.length);
      for (const p of this.ports) if ((mask >>> p.index) & 1 && p.isUp) this.datapath.sendControl(p.index, frame);
      n++;
    }
    if (n === 0) return;
    this.learnedAnnouncements += n;
    this.log.info(`announced ${n} MAC${n === 1 ? '' : 's'} learned behind ${this.name} (RARP)`);
  }

  // ---- link monitoring ----------------------------------------------------------------------

  private readCarrier(name: string, info?: LinkInfo): boolean {
    const li = info ?? this.host.binding.linkInfo(name);
    if (!(li.flags & IFF_UP)) return false;
    if (this.options.use_carrier === 'off' && li.link !== null) return li.link;
    return (li.flags & IFF_RUNNING) !== 0;
  }

  private miimonTick(): void {
    for (const p of this.ports) this.inspect(p, 'miimon');
    this.updateCarrier();
  }

  /** rtnetlink said something about an interface: a slave's carrier, or the TAP's flags. */
  onLinkEvent(ev: LinkEvent): void {
    if (ev.ifindex === this.tapIfindex) {
      this.syncFilters();
      return;
    }
    const port = this.ports.find((p) => p.ifindex === ev.ifindex);
    if (!port) return;
    if (ev.type === 'del') {
      this.log.warn('interface removed', { slave: port.name, event: 'removed' });
      try {
        this.release(port.name);
      } catch (e) {
        this.log.error((e as Error).message, { slave: port.name });
      }
      return;
    }
    // kernel compat: with miimon=0 the kernel never looks at carrier; nor do we
    if (this.options.miimon === 0) return;
    this.inspect(port, 'event');
    this.updateCarrier();
  }

  private inspect(port: Port, why: 'miimon' | 'event'): void {
    let carrier: boolean;
    try {
      carrier = this.readCarrier(port.name);
    } catch {
      carrier = false;
    }
    const before = port.link.state;
    port.carrier = carrier;
    const o = this.options;
    // kernel compat (bond_miimon_inspect): updelay is skipped only when nothing is usable: no
    // active slave at all in the primary-using modes, an empty usable array in the others
    const noneUsable = MODE_INFO[o.mode].usesPrimary ? this.mode.active() === null : !this.ports.some((p) => p.isUp);
    const commit = port.link.inspect(carrier, this.clock.now(), o.updelay, o.downdelay, noneUsable);
    const after = port.link.state;
    if (before !== after && !commit) {
      if (after === 'fail') this.log.info(`link status down for interface, disabling it in ${o.downdelay} ms`, { slave: port.name, event: 'link-fail' });
      else if (after === 'back') this.log.info(`link status up, enabling it in ${o.updelay} ms`, { slave: port.name, event: 'link-back' });
      else if (before === 'fail' && after === 'up') this.log.info(`link status up again after ${Math.round(this.clock.now() - port.link.since)} ms`, { slave: port.name });
      else if (before === 'back' && after === 'down') this.log.info(`link status down again after ${Math.round(this.clock.now() - port.link.since)} ms`, { slave: port.name });
    }
    if (commit === 'down') {
      this.countFailover(port);
      this.log.info(`link down (${why}, failure count ${port.link.failureCount})`, { slave: port.name, event: 'link-down' });
      this.mode.update(`${port.name} link failure`);
    } else if (commit === 'up') {
      try {
        const li = this.host.binding.linkInfo(port.name);
        port.speed = li.speed;
        port.duplex = li.duplex;
      } catch {
        /* keep the last known speed */
      }
      this.log.info(`link up (${why}, ${port.speed > 0 ? port.speed + ' Mbps' : 'speed unknown'} ${port.duplex} duplex)`, { slave: port.name, event: 'link-up' });
      this.mode.update(`${port.name} link up`);
    }
  }

  /** A slave that was carrying traffic failed (counted before the mode reacts). */
  private countFailover(port: Port): void {
    if (this.mode.isActive(port)) this.failovers++;
  }

  private updateCarrier(): void {
    const on = this.mode.carrier();
    if (on === this.carrierOn) return;
    this.carrierOn = on;
    try {
      this.datapath.engine.setTapCarrier(on);
    } catch (e) {
      this.log.error(`could not set carrier: ${(e as Error).message}`);
    }
    this.log.info(`carrier ${on ? 'on' : 'off'}`, { event: on ? 'carrier-on' : 'carrier-off' });
  }

  // ---- multicast / promiscuous mirroring ----------------------------------------------------

  /** Mirrors the TAP's promiscuous/allmulti state and multicast list onto every slave. */
  private syncFilters(): void {
    if (!this.started || this.ports.length === 0) return;
    let flags = 0;
    try {
      flags = this.host.binding.linkInfo(this.name).flags;
    } catch {
      return;
    }
    const promisc = (flags & IFF_PROMISC) !== 0;
    const allmulti = (flags & IFF_ALLMULTI) !== 0;
    const common = [...this.host.multicastList(this.name), ...(this.mode.multicast?.() ?? [])];

    const e = this.datapath.engine;
    for (const p of this.ports) {
      const wanted = new Set([...common, ...(this.arp?.solicitedNodeGroups(p) ?? [])]);
      try {
        if (p.promisc !== promisc) {
          e.setMembership(p.index, promisc, 'promisc');
          p.promisc = promisc;
          this.log.info(`promiscuous mode ${promisc ? 'on' : 'off'} (following ${this.name})`, { slave: p.name });
        }
        if (p.allmulti !== allmulti) {
          e.setMembership(p.index, allmulti, 'allmulti');
          p.allmulti = allmulti;
        }
        for (const m of wanted) {
          if (p.multicast.has(m)) continue;
          e.setMembership(p.index, true, 'multicast', Buffer.from(m, 'hex'));
          p.multicast.add(m);
        }
        for (const m of p.multicast) {
          if (wanted.has(m)) continue;
          e.setMembership(p.index, false, 'multicast', Buffer.from(m, 'hex'));
          p.multicast.delete(m);
        }
      } catch (err) {
        this.log.warn(`filter sync failed: ${(err as Error).message}`, { slave: p.name });
      }
    }
  }

  /** An address was added to the bond: announced once from the active slave. */
  onAddressAdded(a: IfAddr): void {
    const port = this.mode.active();
    if (port && port.isUp && this.carrierOn) this.announcer.announceAddress(port, a);
  }

  // ---- options ------------------------------------------------------------------------------

  facts(): BondFacts {
    let isUp = false;
    try {
      isUp = (this.host.binding.linkInfo(this.name).flags & IFF_UP) !== 0;
    } catch {
      /* TAP gone */
    }
    return { hasPorts: this.ports.length > 0, isUp, running: true };
  }

  /** `bondctl set`: validated against the live bond, then applied without a restart. */
  /** A per-slave option (kernel `ip link set DEV type bond_slave NAME VALUE`). */
  setSlaveOption(slave: string, name: string, raw: unknown): void {
    const port = this.ports.find((p) => p.name === slave);
    if (!port) throw new BondError('EPORT_UNKNOWN', `${slave} is not a slave of ${this.name}`);
    const { value } = parseSlaveOption(name, raw, this.options.mode);
    if (name === 'actor_port_prio') port.actorPortPrio = value;
    this.log.info(`${name} set to ${value}`, { slave, event: 'slave-option-set', option: name });
    this.mode.update(`${slave} ${name} changed`);
  }

  setOption(name: string, value: unknown): string[] {
    if (name === 'active_slave') return this.setActiveSlave(String(value ?? ''));
    const { options, notes } = changeOption(this.options, name, value, this.facts());
    const prev = this.options;
    this.options = options;
    if (options.mode !== prev.mode) {
      this.mode = createMode(options.mode, this.modeContext());
      this.restartModeTick();
      this.mode.update('mode change');
    }
    if (options.miimon !== prev.miimon || options.arp_interval !== prev.arp_interval || String(options.arp_ip_target) !== String(prev.arp_ip_target) ||
      options.arp_validate !== prev.arp_validate || options.arp_all_targets !== prev.arp_all_targets || options.arp_missed_max !== prev.arp_missed_max) this.restartMiimon();
    this.mode.update(`${name} changed`);
    this.updateCarrier();
    this.log.info(`${name} set to ${String(this.options[name as keyof BondOptions])}`, { event: 'option-set', option: name });
    for (const n of notes) this.log.warn(n);
    return notes;
  }

  private setActiveSlave(name: string): string[] {
    // validate like any option (mode check), then the kernel's own checks
    changeOption(this.options, 'active_slave', name, this.facts());
    if (!this.mode.setActive) throw new BondError('EOPT_MODE', `active_slave: not valid in mode ${this.options.mode}`);
    if (name === '') {
      this.mode.setActive(null);
      this.mode.update('active_slave cleared');
      return [];
    }
    const port = this.ports.find((p) => p.name === name);
    if (!port) throw new BondError('EOPT_VALUE', `active_slave: invalid value '${name}' (not a slave of ${this.name}); allowed: ${this.ports.map((p) => p.name).join(', ') || 'no slaves'}`);
    if (!port.isUp) throw new BondError('EOPT_VALUE', `active_slave: invalid value '${name}' (link is ${MII_STATUS_TEXT[port.link.state]}); the new active slave must be up`);
    this.mode.setActive(port);
    this.updateCarrier();
    return [];
  }

  // ---- state --------------------------------------------------------------------------------

  /** The state tree: `bondctl state --json` and the input of `bondctl show`. */
  state(): BondState {
    const dp = this.datapath;
    let tapFlags = 0;
    try {
      tapFlags = this.host.binding.linkInfo(this.name).flags;
    } catch {
      /* gone */
    }
    for (const p of this.ports) dp.engine.readKernelStats(p.index);
    const counters = (idx: number) => ({
      rx_frames: dp.counter(idx, Ctr.RxFrames),
      rx_bytes: dp.counter(idx, Ctr.RxBytes),
      tx_frames: dp.counter(idx, Ctr.TxFrames),
      tx_bytes: dp.counter(idx, Ctr.TxBytes),
      tx_errors: dp.counter(idx, Ctr.TxErrors),
      rx_truncated: dp.counter(idx, Ctr.RxTruncated),
      rx_kernel_drops: dp.counter(idx, Ctr.RxKernelDrops),
      rx_errors: dp.counter(idx, Ctr.RxErrors),
      rx_malformed: dp.dpCounter(idx, DpCtr.Malformed),
      rx_inactive_dropped: dp.dpCounter(idx, DpCtr.RxInactive),
      rx_trapped: dp.dpCounter(idx, DpCtr.RxTrapped),
    });
    const active = this.mode.active();
    return {
      bond: {
        name: this.name,
        ifindex: this.tapIfindex,
        mac: this.mac ? formatMac(this.mac) : null,
        mtu: this.mtu,
        up: (tapFlags & IFF_UP) !== 0,
        promisc: (tapFlags & IFF_PROMISC) !== 0,
        carrier: this.carrierOn === true,
        mode: this.options.mode,
        mode_id: MODE_INFO[this.options.mode].id,
        active_slave: MODE_INFO[this.options.mode].usesPrimary ? active?.name ?? null : null,
        peer_notifications: this.announcer.peerNotifications,
        igmp_resends: this.announcer.igmpResends,
        learned_macs: this.datapath.local.entries(this.clock.now()).length,
        learned_mac_announcements: this.learnedAnnouncements,
        failovers: this.failovers,
        counters: { ...counters(0), tx_no_slave_dropped: dp.dpCounter(0, DpCtr.TxNoPort), tap_queue_drops: this.tapQueueDrops() },
      },
      options: { ...this.options },
      mode: this.mode.describe(),
      ports: this.ports.map((p) => ({
        name: p.name,
        ifindex: p.ifindex,
        engine_port: p.index,
        perm_hwaddr: formatMac(p.permMac),
        mii_status: MII_STATUS_TEXT[p.link.state],
        carrier: p.carrier,
        link_failure_count: p.link.failureCount,
        actor_port_prio: p.actorPortPrio,
        speed: p.speed,
        duplex: p.duplex,
        state: this.mode.isActive(p) ? 'active' : 'backup',
        queue_id: 0,
        promisc: p.promisc,
        multicast: [...p.multicast],
        counters: counters(p.index),
        ...(this.mode.describePort ? { lacp: this.mode.describePort(p) } : {}),
      })),
    };
  }

  private tapQueueDrops(): number {
    try {
      return this.host.tapDrops(this.tapIfindex);
    } catch {
      return 0;
    }
  }

  /**
   * Where the datapath would send `frame` now (`bondctl hash`, like OVS bond/hash): the hash
   * and the port for hashing plans, the fixed port(s) otherwise.
   */
  placement(frame: Uint8Array): { plan: string; hash?: number; index?: number; usable: string[]; port: string | null } {
    const plan = this.datapath.txPlan;
    const byMask = (m: number) => this.ports.filter((p) => (m >>> p.index) & 1).map((p) => p.name);
    switch (plan.kind) {
      case 'none':
        return { plan: plan.kind, usable: [], port: null };
      case 'single':
      case 'all':
        return { plan: plan.kind, usable: byMask(plan.mask), port: byMask(plan.mask).join(',') };
      case 'round-robin':
        return { plan: plan.kind, usable: Array.from(plan.masks, (m) => byMask(m)[0]), port: null };
      case 'hash': {
        const hash = xmitHash(frame, 0, frame.length, plan.policy);
        const index = hash % plan.masks.length;
        return { plan: plan.kind, hash, index, usable: Array.from(plan.masks, (m) => byMask(m)[0]), port: byMask(plan.masks[index])[0] ?? null };
      }
      case 'tlb': {
        const verdict = this.datapath.select(Uint8Array.from(frame), 0, frame.length);
        return { plan: plan.kind, usable: this.ports.filter((p) => p.isUp).map((p) => p.name), port: byMask(verdict)[0] ?? null };
      }
    }
  }

  get effectiveOptions(): Readonly<BondOptions> {
    return this.options;
  }

}

/** What makes two transmit plans send a given MAC's frames to different ports. */
function planSignature(tx: TxPlan): string {
  switch (tx.kind) {
    case 'none':
      return 'none';
    case 'single':
    case 'all':
      return `${tx.kind}:${tx.mask}`;
    case 'hash':
    case 'round-robin':
      return `${tx.kind}:${tx.masks.join(',')}`;
    case 'tlb':
      return `tlb:${tx.activeMask}:${tx.masks.join(',')}`;
  }
}

export interface PortState {
  name: string;
  ifindex: number;
  engine_port: number;
  perm_hwaddr: string;
  mii_status: string;
  carrier: boolean;
  link_failure_count: number;
  actor_port_prio: number;
  speed: number;
  duplex: string;
  state: 'active' | 'backup';
  queue_id: number;
  promisc: boolean;
  multicast: string[];
  counters: Record<string, number>;
  lacp?: Record<string, unknown>;
}

export interface BondState {
  bond: {
    name: string;
    ifindex: number;
    mac: string | null;
    mtu: number;
    up: boolean;
    promisc: boolean;
    carrier: boolean;
    mode: string;
    mode_id: number;
    active_slave: string | null;
    peer_notifications: number;
    igmp_resends: number;
    learned_macs: number;
    learned_mac_announcements: number;
    failovers: number;
    counters: Record<string, number>;
  };
  options: BondOptions;
  mode: Record<string, unknown>;
  ports: PortState[];
}
