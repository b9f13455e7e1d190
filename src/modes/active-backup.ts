// active-backup (mode 1): one active slave carries everything; backups deliver nothing unless
// all_slaves_active. Selection follows kernel bond_find_best_slave and
// bond_choose_primary_or_current (primary, primary_reselect, updelay-pending fallback).
import type { Port } from '../port/port.js';
import { TX_NONE, maskOf, rxPlan } from '../datapath/plan.js';
import type { ModeName } from '../options/modes.js';
import type { Mode, ModeContext } from './mode.js';

const DUPLEX_RANK = { full: 2, half: 1, unknown: 0 } as const;

export class ActiveBackup implements Mode {
  readonly name: ModeName = 'active-backup';
  protected current: Port | null = null;
  private forcePrimary = false;

  constructor(protected readonly ctx: ModeContext) {}

  active(): Port | null {
    return this.current;
  }

  carrier(): boolean {
    return this.current !== null && this.current.isUp;
  }

  isActive(port: Port): boolean {
    return port === this.current || (this.ctx.options().all_slaves_active === 'on' && port.isUp);
  }

  portAdded(port: Port): void {
    // kernel compat (bond_main.c bond_enslave): enslaving the primary makes it active once
    if (port.name === this.ctx.options().primary) this.forcePrimary = true;
  }

  portRemoved(port: Port): void {
    if (port === this.current) this.current = null;
  }

  setActive(port: Port | null): void {
    this.select(port ?? this.current, 'manual');
  }

  update(reason: string): void {
    this.select(this.findBest(), reason);
  }

  /**
   * Makes `next` the active slave and publishes the plan. Peers and snooping switches are told
   * only after the datapath sends through the new slave: the announcements cost a millisecond
   * of system calls, which would otherwise add to the outage (kernel compat: it queues both as
   * work after the switch, bond_change_active_slave).
   */
  private select(next: Port | null, reason: string): void {
    const changed = next !== this.current;
    if (changed) this.change(next, reason);
    this.publish();
    if (changed && next) {
      this.announce(next);
      this.ctx.resendIgmp(next);
    }
  }

  private primary(): Port | undefined {
    const name = this.ctx.options().primary;
    return name ? this.ctx.ports().find((p) => p.name === name) : undefined;
  }

  private choosePrimaryOrCurrent(): Port | null {
    const curr = this.current && this.ctx.ports().includes(this.current) ? this.current : null;
    const prim = this.primary();
    if (!prim || !prim.isUp) {
      // kernel 6.0+: without a usable primary, the usable slave of the highest prio stands in
      // for one. Its link coming up reselects only when its prio beats the current slave's
      // (bond_miimon_commit), so equal prios (the default) never move a working active slave.
      const top = this.highestPrio();
      if (top && top !== curr && (!curr || !curr.isUp || top.prio > curr.prio))
        return !curr || !curr.isUp ? top : this.reselect(top, curr) ? top : curr;
      return curr && curr.isUp ? curr : null;
    }
    if (this.forcePrimary) {
      this.forcePrimary = false;
      return prim;
    }
    if (!curr || !curr.isUp) return prim;
    return this.reselect(prim, curr) ? prim : curr;
  }

  /** primary_reselect: whether `prim` (up) takes over from `curr` (up). */
  private reselect(prim: Port, curr: Port): boolean {
    switch (this.ctx.options().primary_reselect) {
      case 'always':
        return true;
      case 'better':
        if (prim.speed < curr.speed) return false;
        return !(prim.speed === curr.speed && DUPLEX_RANK[prim.duplex] <= DUPLEX_RANK[curr.duplex]);
      case 'failure':
        return false;
    }
  }

  /** The usable slave with the highest prio, the first of equals (kernel 6.0+ per-slave prio). */
  private highestPrio(): Port | null {
    let best: Port | null = null;
    for (const p of this.ctx.ports()) if (p.isUp && (!best || p.prio > best.prio)) best = p;
    return best;
  }

  private findBest(): Port | null {
    const chosen = this.choosePrimaryOrCurrent();
    if (chosen) return chosen;
    const up = this.highestPrio();
    if (up) return up;
    // nothing is up: take the link whose updelay would end first (kernel: "making interface
    // the new active one N ms earlier"; with no updelay, as under the ARP monitor, none)
    const now = this.ctx.clock.now();
    const updelay = this.ctx.options().updelay;
    let best: Port | null = null;
    for (const p of this.ctx.ports()) {
      if (updelay > 0 && p.link.state === 'back' && (!best || p.link.remaining(now, updelay) < best.link.remaining(now, updelay))) best = p;
    }
    return best;
  }

  private change(next: Port | null, reason: string): void {
    const prev = this.current;
    if (next && next.link.state === 'back') {
      this.ctx.log.info(
        `making interface the new active one ${Math.round(next.link.remaining(this.ctx.clock.now(), this.ctx.options().updelay))} ms earlier`,
        { slave: next.name },
      );
      next.link.forceUp();
    }
    this.current = next;
    this.ctx.activeChanged(prev, next);
    if (next)
      this.ctx.log.info(`active ${prev ? prev.name : 'none'} -> ${next.name} (${reason})`, {
        slave: next.name,
        event: 'active-change',
        previous: prev?.name ?? null,
      });
    else this.ctx.log.warn('now running without any active interface!', { event: 'active-change', previous: prev?.name ?? null });
  }

  /** After an active change: gratuitous ARP / unsolicited NA (balance-tlb/alb teach differently). */
  protected announce(next: Port): void {
    this.ctx.notifyPeers(next);
  }

  protected publish(): void {
    const cur = this.current;
    const asa = this.ctx.options().all_slaves_active === 'on';
    const deliver = asa
      ? this.ctx
          .ports()
          .filter((p) => p.isUp)
          .map((p) => p.index)
      : cur
        ? [cur.index]
        : [];
    this.ctx.publish(cur ? { kind: 'single', mask: maskOf([cur.index]) } : TX_NONE, rxPlan(this.ctx.maxPorts, deliver));
  }

  describe(): Record<string, unknown> {
    return { active_slave: this.current?.name ?? null, primary: this.ctx.options().primary || null };
  }
}
