// The ARP/NS link monitor (kernel bond_main.c: bond_loadbalance_arp_mon, bond_ab_arp_inspect,
// bond_arp_rcv / bond_validate_arp, bond_na_rcv / bond_validate_na; bonding.rst "ARP Monitor
// Operation"). Targets are IPv4 (ARP) or IPv6 (NS/NA) addresses; a reply is an ARP reply or
// request, or a neighbour advertisement, from a target to one of our addresses. Sans-I/O: time is
// passed in, received ARPs and "something arrived" marks come in, probes to send and link
// verdicts come out; the bond frames and sends the probes.
//
// "Within k intervals" is the kernel's bond_time_in_interval: now <= last + k*interval + interval/2.
// Active-backup with no active slave probes one candidate per interval, rotating through the
// slaves that have carrier (kernel bond_ab_arp_probe's current_arp_slave): the candidate shows
// "going back", one that got no reply in its interval "going down" (BOND_LINK_BACK/FAIL, as
// /proc shows them), until a reply brings a slave up.
// Beyond the kernel: a tick that runs late (event-loop stall) judges "still up" as of when it was
// due, since no probe went out in the meantime (see tick()).

import { bytesEqual } from '../util/mac.js';

export type ArpValidate = 'none' | 'active' | 'backup' | 'all' | 'filter' | 'filter_active' | 'filter_backup';

const VALIDATE_BITS: Record<ArpValidate, number> = { none: 0, active: 1, backup: 2, all: 3, filter: 4, filter_active: 5, filter_backup: 6 };

export interface ArpMonitorConfig {
  intervalMs: number;
  targets: Uint8Array[]; // arp_ip_target (4 bytes) then ns_ip6_target (16 bytes)
  validate: ArpValidate;
  allTargets: 'any' | 'all';
  missedMax: number;
  /** Active-backup (probes only on the active slave, backups judged more leniently). */
  activeBackup: boolean;
}

export interface ArpPacket {
  op: number; // 1 request, 2 reply
  sip: Uint8Array;
  tip: Uint8Array;
}

interface ArpPort {
  lastRx: number; // any accepted receive (validated ARP, or any frame / any ARP when not validating)
  lastTx: number;
  targetRx: number[];
  up: boolean;
  carrier: boolean;
  /** A slave that is not up, as the rotation left it: probed now ('back'), or probed in vain. */
  shown: 'back' | 'fail' | null;
}

export interface ArpVerdicts {
  /** Probes to send: one ARP request per target on each listed port. */
  probe: number[];
  /** Ports whose ARP link state changed. */
  changes: { port: number; up: boolean }[];
}

export class ArpMonitor {
  private readonly ports = new Map<number, ArpPort>();
  /** When the current active slave became active (kernel last_link_up of curr_active). */
  private activeSince = 0;
  private active: number | null = null;
  /** Active-backup with no active slave: the rotation's candidate (kernel current_arp_slave). */
  private candidate: number | null = null;
  /** When tick() last ran (0: not yet). */
  private lastTick = 0;

  constructor(private cfg: ArpMonitorConfig) {}

  configure(cfg: ArpMonitorConfig): void {
    this.cfg = cfg;
    for (const p of this.ports.values()) p.targetRx = cfg.targets.map((_, i) => p.targetRx[i] ?? 0);
  }

  /** A new slave starts up when it has carrier (kernel bond_enslave), with missed_max grace. */
  addPort(port: number, now: number, carrier: boolean): void {
    this.ports.set(port, {
      lastRx: carrier ? now : 0,
      lastTx: now,
      targetRx: this.cfg.targets.map(() => (carrier ? now : 0)),
      up: carrier,
      carrier,
      shown: null,
    });
  }

  removePort(port: number): void {
    this.ports.delete(port);
    if (this.candidate === port) this.candidate = null;
  }

  /** The slave's carrier (only the rotation looks at it: it probes slaves that have one). */
  setCarrier(port: number, carrier: boolean): void {
    const p = this.ports.get(port);
    if (p) p.carrier = carrier;
  }

  /** How /proc shows a slave: up, down, or the rotation's 'back' / 'fail'. */
  shown(port: number): 'up' | 'down' | 'back' | 'fail' {
    const p = this.ports.get(port);
    return !p ? 'down' : p.up ? 'up' : (p.shown ?? 'down');
  }

  setActive(port: number | null, now: number): void {
    if (port !== this.active) this.activeSince = now;
    this.active = port;
  }

  isUp(port: number): boolean {
    return this.ports.get(port)?.up ?? false;
  }

  /** The rotation's candidate is active for the time of its probe (kernel: active flags set). */
  private isActiveState(port: number): boolean {
    return !this.cfg.activeBackup || port === this.active || (this.active === null && port === this.candidate);
  }

  /** Does this port validate ARPs in its current role (kernel slave_do_arp_validate)? */
  private validates(port: number): boolean {
    return (VALIDATE_BITS[this.cfg.validate] & (this.isActiveState(port) ? 1 : 2)) !== 0;
  }

  private filterOnly(): boolean {
    return (VALIDATE_BITS[this.cfg.validate] & 4) !== 0;
  }

  /** Some frame arrived on `port` (per batch; the datapath marks it). */
  onReceive(port: number, now: number): void {
    const p = this.ports.get(port);
    if (p && !this.validates(port) && !this.filterOnly()) p.lastRx = now;
  }

  /** An ARP frame arrived on `port`. `ours` tells whether an address belongs to the bond. */
  onArp(port: number, arp: ArpPacket, ours: (ip: Uint8Array) => boolean, now: number): void {
    const p = this.ports.get(port);
    if (!p) return;
    if (!this.validates(port)) {
      p.lastRx = now; // filter*: only ARP counts; plain: any frame counted already, ARP too
      return;
    }
    const check = (sip: Uint8Array, tip: Uint8Array) => {
      if (sip.every((b) => b === 0) || !ours(tip)) return;
      const i = this.cfg.targets.findIndex((t) => bytesEqual(t, sip));
      if (i < 0) return;
      p.lastRx = now;
      p.targetRx[i] = now;
    };
    if (this.isActiveState(port)) check(arp.sip, arp.tip);
    else if (this.active !== null && this.lastRxOf(this.active) > this.activeSince)
      check(arp.tip, arp.sip); // our own request, seen on a backup
    else if (arp.op === 2) check(arp.sip, arp.tip);
  }

  /** arp_all_targets=all: the oldest per-target receive time counts (validating ports only). */
  private lastRxOf(port: number): number {
    const p = this.ports.get(port);
    if (!p) return 0;
    if (this.cfg.allTargets === 'all' && this.validates(port) && p.targetRx.length) return Math.min(...p.targetRx);
    return p.lastRx;
  }

  private within(last: number, k: number, now: number): boolean {
    const d = this.cfg.intervalMs;
    return last > 0 && now <= last + k * d + d / 2;
  }

  /**
   * One arp_interval: inspect every port, then say where to probe. A tick that comes more than
   * half an interval late (the event loop was held up: a GC pause, CPU contention) sent no probes
   * while it was late, so that silence says nothing about the links: whether an up port stays up
   * is judged as of when the tick was due. The judged time still advances with every tick, so a
   * dead link goes down even when every tick is late, one interval later at most.
   */
  tick(now: number): ArpVerdicts {
    const changes: { port: number; up: boolean }[] = [];
    const m = this.cfg.missedMax;
    const due = this.lastTick > 0 ? this.lastTick + this.cfg.intervalMs : now;
    const at = now - due > this.cfg.intervalMs / 2 ? due : now;
    this.lastTick = now;
    for (const [idx, p] of this.ports) {
      const rx = this.lastRxOf(idx);
      let up = p.up;
      if (!this.cfg.activeBackup) {
        if (!p.up) up = this.within(p.lastTx, 1, now) && this.within(rx, 1, now);
        else up = this.within(p.lastTx, m, at) && this.within(rx, m, at);
      } else if (!p.up) {
        up = this.within(rx, 1, now);
        // kernel bond_ab_arp_inspect: the candidate that heard nothing in its interval fails
        if (!up && p.shown === 'back') p.shown = 'fail';
      } else if (idx === this.active) {
        // kernel compat: two intervals of grace after becoming active, to avoid bouncing
        up = at <= this.activeSince + 2 * this.cfg.intervalMs || (this.within(p.lastTx, m, at) && this.within(rx, m, at));
      } else {
        up = this.within(rx, m + 1, at);
      }
      if (up !== p.up) {
        p.up = up;
        p.shown = null;
        changes.push({ port: idx, up });
        // a slave that comes up ends the rotation (kernel: current_arp_slave = NULL)
        if (up || idx === this.candidate) this.candidate = null;
      }
    }
    let probe: number[];
    if (!this.cfg.activeBackup) probe = [...this.ports.keys()];
    else if (this.active !== null && this.ports.has(this.active)) probe = [this.active];
    // a slave that came up now is the one the bond makes active (kernel: commit selects it
    // before the probe): it is probed, the rotation ends
    else if (changes.some((c) => c.up)) probe = [changes.find((c) => c.up)!.port];
    else probe = this.rotate(changes);
    for (const idx of probe) this.ports.get(idx)!.lastTx = now;
    return { probe, changes };
  }

  /**
   * Active-backup without an active slave (kernel bond_ab_arp_probe): an up slave that lost its
   * carrier goes down; the next slave with carrier after the candidate (from the first, the
   * second; wrapping) becomes the candidate and is probed alone.
   */
  private rotate(changes: { port: number; up: boolean }[]): number[] {
    const order = [...this.ports.keys()];
    for (const idx of order) {
      const p = this.ports.get(idx)!;
      if (p.up && !p.carrier) {
        p.up = false;
        changes.push({ port: idx, up: false });
      }
    }
    const from = this.candidate !== null && this.ports.has(this.candidate) ? this.candidate : order[0];
    if (from === undefined) return [];
    const at = order.indexOf(from);
    const next = [...order.slice(at + 1), ...order.slice(0, at + 1)].find((i) => this.ports.get(i)!.carrier);
    if (next === undefined) return [];
    this.candidate = next;
    const p = this.ports.get(next)!;
    if (!p.up) p.shown = 'back';
    return [next];
  }
}
