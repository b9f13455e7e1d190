// The adapter between the sans-I/O ArpMonitor and the bond: reads the per-port receive marks of
// the datapath, feeds it observed ARP/ND frames, applies its verdicts through a callback, and
// frames the probes (ARP requests and neighbour solicitations) it asks for.
import type { Host } from '../host/host.js';
import type { Port } from '../port/port.js';
import { arpRequest, neighbourSolicitation, parseArp, parseNd, solicitedNode } from '../net/frames.js';
import { AF_INET, AF_INET6, IFA_F_TENTATIVE, type IfAddr } from '../net/rtnl.js';
import type { BondOptions } from '../options/parse.js';
import type { Clock } from '../util/clock.js';
import { bytesEqual, ipBytes, isLinkLocal6, sameSubnet, sameSubnet6 } from '../util/mac.js';
import { ArpMonitor, type ArpMonitorConfig, type ArpValidate } from './arp.js';
import type { LinkMonitor, LinkVerdicts } from './link-monitor.js';
import type { Logger } from '../util/logger.js';

export interface ArpLinkDeps extends LinkVerdicts {
  host: Host;
  clock: Clock;
  log: Logger;
  tapIfindex(): number;
  options(): Readonly<BondOptions>;
  ports(): readonly Port[];
  activePort(): Port | null;
  /** The mode has an active slave (active-backup, tlb, alb): backups are judged apart. */
  usesPrimary(): boolean;
  /** When each engine port last received anything (the kernel fast path's frames included). */
  lastRx(): Float64Array;
  send(port: Port, frame: Uint8Array): void;
}

const ALL_NODES = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

export class ArpLink implements LinkMonitor {
  readonly kind = 'arp';
  private readonly monitor: ArpMonitor;
  private stopTimer: (() => void) | null = null;
  private own: { at: number; list: Uint8Array[] } = { at: -1, list: [] };

  constructor(private readonly d: ArpLinkDeps) {
    this.monitor = new ArpMonitor(this.config());
    const now = d.clock.now();
    for (const p of d.ports()) this.monitor.addPort(p.index, now, p.isUp);
    this.reconfigure();
  }

  private config(): ArpMonitorConfig {
    const o = this.d.options();
    return {
      intervalMs: o.arp_interval,
      targets: [...o.arp_ip_target, ...o.ns_ip6_target].map((t) => ipBytes(t)),
      validate: o.arp_validate as ArpValidate,
      allTargets: o.arp_all_targets,
      missedMax: o.arp_missed_max,
      activeBackup: this.d.usesPrimary(),
    };
  }

  /** Options changed: new targets, validation or interval. */
  reconfigure(): void {
    this.monitor.configure(this.config());
    this.setActive(this.d.activePort());
    this.stopTimer?.();
    this.stopTimer = this.d.clock.every(this.d.options().arp_interval, () => this.tick());
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = null;
  }

  addPort(port: Port, carrier: boolean): void {
    this.monitor.addPort(port.index, this.d.clock.now(), carrier);
  }

  removePort(port: Port): void {
    this.monitor.removePort(port.index);
  }

  /** Carrier does not bring a link up or down (replies do); the rotation probes only slaves with it. */
  onCarrierEvent(port: Port): void {
    this.monitor.setCarrier(port.index, port.carrier);
  }

  setActive(port: Port | null): void {
    this.monitor.setActive(port?.index ?? null, this.d.clock.now());
  }

  /** EtherTypes the monitor must observe: ARP for IPv4 targets; IPv6 (for ND) for NS targets. */
  ethertypes(): number[] {
    const o = this.d.options();
    return [...(o.arp_ip_target.length ? [0x0806] : []), ...(o.ns_ip6_target.length ? [0x86dd] : [])];
  }

  /** A frame of an observed EtherType; true when it was for the monitor (ARP, ND, or other IPv6). */
  onFrame(port: Port, frame: Uint8Array): boolean {
    const et = (frame[12] << 8) | frame[13];
    const a = parseArp(frame) ?? parseNd(frame);
    if (a) this.monitor.onArp(port.index, a, (ip) => this.isOwn(ip), this.d.clock.now());
    return !!a || et === 0x0806 || et === 0x86dd;
  }

  /** kernel compat (arp_validate_mcast): solicited-node groups (hex MACs) a validating backup joins. */
  multicast(port: Port): string[] {
    const o = this.d.options();
    const validatesBackups = ['backup', 'all', 'filter_backup'].includes(o.arp_validate);
    if (!validatesBackups || !this.d.usesPrimary() || this.d.activePort() === port) return [];
    return o.ns_ip6_target.map((t) => Buffer.from(solicitedNode(ipBytes(t)).mac).toString('hex'));
  }

  /** The bond's addresses (cached for one interval); ff02::1 counts as ours for NAs. */
  private isOwn(ip: Uint8Array): boolean {
    const now = this.d.clock.now();
    if (now - this.own.at > Math.max(100, this.d.options().arp_interval)) {
      let list: Uint8Array[] = [];
      try {
        list = this.d.host.addresses(this.d.tapIfindex()).map((a) => a.address);
      } catch {
        /* keep none */
      }
      this.own = { at: now, list };
    }
    return bytesEqual(ip, ALL_NODES) || this.own.list.some((x) => bytesEqual(x, ip));
  }

  private tick(): void {
    const now = this.d.clock.now();
    const ports = this.d.ports();
    const lastRx = this.d.lastRx();
    for (const p of ports) if (lastRx[p.index] > 0) this.monitor.onReceive(p.index, lastRx[p.index]);
    this.setActive(this.d.activePort());
    const { probe, changes } = this.monitor.tick(now);
    let changed = false;
    for (const c of changes) {
      const port = ports.find((p) => p.index === c.port);
      if (!port) continue;
      this.d.committed(port, c.up);
      port.link.set(c.up);
      const detail = c.up ? '' : `, failure count ${port.link.failureCount}`;
      this.d.log.info(`link ${c.up ? 'up' : 'down'} (arp monitor${detail})`, { slave: port.name, event: c.up ? 'link-up' : 'link-down' });
      changed = true;
    }
    // what /proc shows of the slaves that are not up: down, or the rotation's going back/down
    for (const p of ports) {
      const shown = this.monitor.shown(p.index);
      if (shown !== 'up') p.link.showNotUp(shown);
    }
    if (changed) {
      this.d.update('arp monitor');
      this.d.settled();
    }
    this.sendProbes(probe);
  }

  /**
   * An ARP request per IPv4 target, from the bond's address on the target's subnet (0.0.0.0 when
   * it has none there); a neighbour solicitation per IPv6 target, from our link-local address for
   * a link-local target, else one in its prefix (:: when none); all from the slave's own MAC.
   */
  private sendProbes(indexes: number[]): void {
    const o = this.d.options();
    let addrs: IfAddr[] = [];
    try {
      addrs = this.d.host.addresses(this.d.tapIfindex());
    } catch {
      /* no addresses: probe from 0.0.0.0 / :: */
    }
    const own4 = addrs.filter((a) => a.family === AF_INET);
    const own6 = addrs.filter((a) => a.family === AF_INET6 && !(a.flags & IFA_F_TENTATIVE));
    for (const idx of indexes) {
      const port = this.d.ports().find((p) => p.index === idx);
      if (!port) continue;
      for (const t of o.arp_ip_target) {
        const tip = ipBytes(t);
        const sip = own4.find((a) => sameSubnet(a.address, tip, a.prefixlen))?.address ?? new Uint8Array(4);
        this.d.send(port, arpRequest(port.mac, sip, tip));
      }
      for (const t of o.ns_ip6_target) {
        const tip = ipBytes(t);
        const linkLocal = isLinkLocal6(tip);
        const src =
          own6.find((a) => (linkLocal ? isLinkLocal6(a.address) : sameSubnet6(a.address, tip, a.prefixlen)))?.address ?? new Uint8Array(16);
        this.d.send(port, neighbourSolicitation(port.mac, src, tip));
      }
    }
  }
}
