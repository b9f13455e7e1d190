// What the bond tells its neighbours: peer notifications after an active change (gratuitous
// ARP per IPv4 address, unsolicited NA per IPv6 address; num_grat_arp spaced by
// peer_notif_delay), IGMP membership reports (resend_igmp, 200 ms apart), a new address announced
// once, and after any change of where traffic leaves a RARP for every MAC learnt behind the TAP.
// Control path; frames are built by src/net/frames.ts.
import type { TxPlan } from '../datapath/plan.js';
import { gratuitousArp, igmpReports, mldReports, rarpAnnounce, unsolicitedNa } from '../net/frames.js';
import { AF_INET, AF_INET6, IFA_F_TENTATIVE, type IfAddr } from '../net/rtnl.js';
import type { BondOptions } from '../options/parse.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Host } from '../host/host.js';
import { isOurMac, type Port } from '../port/port.js';
import { isLinkLocal6 } from '../util/mac.js';

const RESEND_IGMP_MS = 200; // kernel: resend_igmp reports 200 ms apart
/** RARPs for learnt MACs sent at once, and then each millisecond (announceLearned). */
const RARP_BURST = 32;

export interface AnnouncerDeps {
  host: Host;
  clock: Clock;
  log: Logger;
  bondName: string;
  tapIfindex(): number;
  mac(): Uint8Array | undefined;
  options(): Readonly<BondOptions>;
  /** Still enslaved and up: a sequence stops when its port is not. */
  usable(port: Port): boolean;
  send(port: Port, frame: Uint8Array): void;
  ports(): readonly Port[];
  /** Source MACs seen on frames from the TAP (the host's, guests' on a bridge over it). */
  learned(now: number): Uint8Array[];
  /** The datapath's verdict for a frame we send as if it came from the TAP. */
  select(frame: Uint8Array): number;
}

export class Announcer {
  peerNotifications = 0;
  igmpResends = 0;
  learnedAnnouncements = 0;
  private planSig = '';
  private stopPeers: (() => void) | null = null;
  private stopIgmp: (() => void) | null = null;
  private stopLearned: (() => void) | null = null;

  constructor(private readonly d: AnnouncerDeps) {}

  /**
   * num_grat_arp notifications from `port`, spaced by peer_notif_delay (or one miimon interval):
   * each is a gratuitous ARP per IPv4 address and an unsolicited NA per IPv6 address of the TAP.
   */
  notifyPeers(port: Port): void {
    const o = this.d.options();
    this.stopPeers?.();
    this.stopPeers = this.repeat(o.num_grat_arp, Math.max(o.peer_notif_delay, o.miimon) || 100, () => {
      if (!this.d.usable(port)) return false;
      this.sendPeerNotification(port);
      return true;
    });
  }

  /**
   * resend_igmp: the TAP's IPv4 and IPv6 group memberships reported again (IGMP, MLD) from `port`, resend_igmp times,
   * the first at once and then every 200 ms (kernel NETDEV_RESEND_IGMP after an active change),
   * so a snooping switch moves the groups to the new port.
   */
  resendIgmp(port: Port): void {
    this.stopIgmp?.();
    this.stopIgmp = this.repeat(this.d.options().resend_igmp, RESEND_IGMP_MS, () => {
      const mac = this.d.mac();
      if (!this.d.usable(port) || !mac) return false;
      const addrs = this.d.host.addresses(this.d.tapIfindex());
      const { version, groups } = this.d.host.igmpGroups(this.d.bondName);
      if (groups.length) {
        const src = addrs.find((a) => a.family === AF_INET)?.address ?? new Uint8Array(4);
        for (const f of igmpReports(mac, src, groups, version)) this.d.send(port, f);
      }
      // kernel compat: NETDEV_RESEND_IGMP makes IPv6 report its groups too (MLD, from the
      // link-local address)
      const mld = this.d.host.mldGroups(this.d.bondName);
      if (mld.groups.length) {
        const src = addrs.find((a) => a.family === AF_INET6 && isLinkLocal6(a.address))?.address;
        for (const f of mldReports(mac, src ?? new Uint8Array(16), mld.groups, mld.version)) this.d.send(port, f);
      }
      // one resend round, whatever it held (the state's igmp_resends)
      if (groups.length || mld.groups.length) this.igmpResends++;
      return true;
    });
  }

  /**
   * An address was added to the bond: announce it once from `port`, so peers whose cache still
   * holds an older MAC for it (a restart, fail_over_mac=active) learn the current one (the
   * arp_notify idea; the kernel bond itself only notifies on failover).
   */
  announceAddress(port: Port, a: IfAddr): void {
    const mac = this.d.mac();
    if (!mac) return;
    if (a.family === AF_INET) this.d.send(port, gratuitousArp(mac, a.address));
    else if (!(a.flags & IFA_F_TENTATIVE)) this.d.send(port, unsolicitedNa(mac, a.address));
  }

  /**
   * A new transmit plan was published: when it sends some MAC's frames to other ports than the
   * last one did, announce every learnt MAC from where it now leaves.
   */
  planChanged(tx: TxPlan): void {
    const sig = planSignature(tx);
    if (sig !== this.planSig && this.planSig !== '' && tx.kind !== 'none') this.announceLearned();
    this.planSig = sig;
  }

  /**
   * Beyond the kernel: one RARP per MAC learnt behind the TAP (guests on a bridge over it), sent
   * where that MAC's traffic now leaves, so the switch moves it at once instead of black-holing a
   * quiet guest until it speaks (OVS and QEMU announce the same way). RARP_BURST at once, then as
   * many each millisecond, the new plan already in place: thousands of guests in one burst
   * would take the host's CPUs and the switch's queues from the traffic the failover just saved.
   */
  private announceLearned(): void {
    this.stopLearned?.();
    const bondMac = this.d.mac();
    const ports = this.d.ports();
    const macs = this.d.learned(this.d.clock.now()).filter((mac) => !(isOurMac(mac, bondMac, ports) || mac[0] & 1));
    if (macs.length === 0) return;
    this.d.log.info(`announcing ${macs.length} MAC${macs.length === 1 ? '' : 's'} learned behind ${this.d.bondName} (RARP)`);
    let i = 0;
    const burst = () => {
      const now = this.d.ports();
      for (const end = Math.min(i + RARP_BURST, macs.length); i < end; i++) {
        const frame = rarpAnnounce(macs[i]);
        const mask = this.d.select(frame);
        for (const p of now) if ((mask >>> p.index) & 1 && p.isUp) this.d.send(p, frame);
        this.learnedAnnouncements++;
      }
      this.stopLearned = i < macs.length ? this.d.clock.after(1, burst) : null;
    };
    burst();
  }

  stop(): void {
    this.stopLearned?.();
    this.stopPeers?.();
    this.stopIgmp?.();
  }

  private sendPeerNotification(port: Port): void {
    const mac = this.d.mac();
    if (!mac) return;
    let addrs;
    try {
      addrs = this.d.host.addresses(this.d.tapIfindex());
    } catch (e) {
      this.d.log.warn(`cannot list addresses for peer notification: ${(e as Error).message}`);
      return;
    }
    for (const a of addrs) this.announceAddress(port, a);
    this.peerNotifications++;
  }

  /**
   * Runs `once` `times` times: at once, then every `every` ms, stopping early when it returns
   * false. Returns the cancel function (null when nothing is left to run).
   */
  private repeat(times: number, every: number, once: () => boolean): (() => void) | null {
    let left = times;
    if (left <= 0 || !once() || --left <= 0) return null;
    let cancel: () => void = () => {};
    cancel = this.d.clock.every(every, () => {
      if (!once() || --left <= 0) cancel();
    });
    return cancel;
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
