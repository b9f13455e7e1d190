// 802.3ad (mode 4): the adapter between the sans-I/O LacpEngine and the bond. The only code
// that turns engine output into frames (LACPDUs from each port's own MAC, marker responses) and
// engine state into plans: frames leave through distributing[xmit_hash % count] and only
// distributing ports deliver (kernel: ports enabled by the mux machine); slow-protocol frames
// (0x8809) are consumed here and never reach the TAP.
import type { Port } from '../port/port.js';
import { policyId } from '../datapath/hash.js';
import { ETHERTYPE_CONSUME, TX_NONE, rxPlan } from '../datapath/plan.js';
import { LacpEngine, type ActorSettings, type AdSelect, type LacpSnapshot, type PortSettings } from '../lacp/engine.js';
import { encodeLacpdu, encodeMarker, ETHERTYPE_SLOW, parseSlowPdu } from '../lacp/pdu.js';
import { formatMac, isZeroMac, parseMac } from '../util/mac.js';
import { portMasks } from './all-active.js';
import type { Mode, ModeContext } from './mode.js';

/** Ports enslaved this long after the mode started count as present at "bond open" (kernel:
 * aggregator selection after 1 tick, instead of the 8 s wait for a port joining later). */
const OPEN_GRACE_MS = 1000;

export class Mode8023ad implements Mode {
  readonly name = '802.3ad' as const;
  private readonly engine: LacpEngine;
  private readonly started: number;
  private readonly warnedSpeed = new Set<Port>();

  constructor(private readonly ctx: ModeContext) {
    this.started = ctx.clock.now();
    this.engine = new LacpEngine(this.actorSettings());
  }

  private actorSettings(): ActorSettings {
    const o = this.ctx.options();
    const configured = parseMac(o.ad_actor_system);
    return {
      system: configured && !isZeroMac(configured) ? configured : Uint8Array.from(this.ctx.bondMac()),
      systemPriority: o.ad_actor_sys_prio,
      active: o.lacp_active === 'on',
      fast: o.lacp_rate === 'fast',
      adSelect: o.ad_select as AdSelect,
      minLinks: o.min_links,
      uncoupled: o.coupled_control === 'off',
      strict: o.lacp_strict === 'on',
    };
  }

  private portSettings(p: Port): PortSettings {
    const o = this.ctx.options();
    // ad_speed_override (tapbond): a driver that reports no speed (virtio-net, some TAPs)
    // would leave LACP disabled on the port, silently; assume the configured speed instead
    const unknown = p.speed <= 0;
    const speed = unknown && o.ad_speed_override > 0 ? o.ad_speed_override : p.speed;
    const fullDuplex = p.duplex === 'full' || (unknown && o.ad_speed_override > 0 && p.duplex === 'unknown');
    return { speed, fullDuplex, userKey: o.ad_user_port_key, portPriority: p.actorPortPrio };
  }

  portAdded(port: Port): void {
    this.engine.addPort(port.index, this.portSettings(port), port.isUp, this.ctx.clock.now() - this.started > OPEN_GRACE_MS);
  }

  portRemoved(port: Port): void {
    const last = this.engine.removePort(port.index);
    if (last) this.ctx.sendControl(port, encodeLacpdu(port.permMac, last));
    this.warnedSpeed.delete(port);
  }

  /** Hands the engine the settings and links as they are now; it acts on what changed. */
  update(): void {
    this.engine.setActor(this.actorSettings());
    for (const p of this.ctx.ports()) {
      const s = this.portSettings(p);
      if (p.isUp && (s.speed <= 0 || !s.fullDuplex) && !this.warnedSpeed.has(p)) {
        this.warnedSpeed.add(p);
        this.ctx.log.warn(
          `${s.speed <= 0 ? 'speed unknown' : 'half duplex'}: LACP is disabled on this port (802.3ad needs speed and full duplex)${s.speed <= 0 ? '; set ad_speed_override=<Mbit/s> to assume one' : ''}`,
          { slave: p.name },
        );
      }
      this.engine.setLink(p.index, p.isUp, s);
    }
    this.refreshFallback();
    this.publish();
  }

  snapshot(): LacpSnapshot {
    return this.engine.snapshot();
  }

  restore(state: unknown): void {
    this.engine.restore(state as LacpSnapshot);
    this.refreshFallback();
    this.publish();
  }

  tick(): void {
    const r = this.engine.tick();
    for (const s of r.sends) {
      const port = this.ctx.ports().find((p) => p.index === s.port);
      if (port) this.ctx.sendControl(port, encodeLacpdu(port.permMac, s.pdu));
    }
    this.logPortStates();
    const fbChanged = this.refreshFallback();
    if (r.changed || fbChanged) {
      const names = this.distributingPorts().map((p) => p.name);
      this.ctx.log.info(`distributing on ${names.length ? names.join(', ') : 'no port'}`, { event: 'distributing', slaves: names });
      this.publish();
      this.ctx.updateCarrier();
    }
  }

  private readonly lastPortState = new WeakMap<Port, string>();

  /** One line per port whose receive or mux machine changed state (current, expired, defaulted;
   * attached, collecting_distributing, ...). */
  private logPortStates(): void {
    for (const p of this.ctx.ports()) {
      const m = this.engine.machineStates(p.index);
      if (!m) continue;
      const now = `${m.rx}/${m.mux}`;
      const before = this.lastPortState.get(p);
      if (before === now) continue;
      this.lastPortState.set(p, now);
      if (before !== undefined) {
        this.ctx.log.info(`LACP receive ${m.rx}, mux ${m.mux} (was ${before.replace('/', ', mux ')})`, {
          slave: p.name,
          event: 'lacp-state',
          rx_state: m.rx,
          mux_state: m.mux,
        });
      }
    }
  }

  trapped(port: Port, frame: Uint8Array): void {
    let off = 14;
    if (((frame[12] << 8) | frame[13]) !== ETHERTYPE_SLOW) off = 18; // tagged slow-protocols frame
    const r = parseSlowPdu(frame.subarray(off));
    switch (r.kind) {
      case 'lacp':
        this.engine.receive(port.index, r.pdu);
        return;
      case 'marker': {
        const answer = this.engine.marker(port.index, r.pdu);
        if (answer) this.ctx.sendControl(port, encodeMarker(port.permMac, answer));
        return;
      }
      case 'unknown':
        this.engine.countIllegal(port.index, true);
        return;
      case 'illegal':
        this.engine.countIllegal(port.index, false);
        this.ctx.log.debug(`malformed slow-protocols frame dropped: ${r.reason}`, { slave: port.name });
        return;
    }
  }

  private inFallback = false;
  private fallbackPort: Port | null = null;

  /**
   * lacp_fallback (tapbond): while no port hears an LACP partner, one up port carries everything
   * (active-backup, with peer notification when it changes). Decided here only, on tick and
   * update; returns whether the decision changed.
   */
  private refreshFallback(): boolean {
    const on = this.ctx.options().lacp_fallback === 'on' && !this.engine.partnerHeard();
    let port: Port | null = null;
    if (on) {
      const cur = this.fallbackPort;
      port = cur && cur.isUp && this.ctx.ports().includes(cur) ? cur : (this.ctx.ports().find((p) => p.isUp) ?? null);
    }
    const changed = on !== this.inFallback || port !== this.fallbackPort;
    if (changed) {
      if (on)
        this.ctx.log.info(`no LACP partner, active-backup fallback on ${port?.name ?? 'no port'}`, {
          slave: port?.name,
          event: 'lacp-fallback-on',
        });
      else this.ctx.log.info('LACP partner heard, leaving the active-backup fallback', { event: 'lacp-fallback-off' });
      if (port && port !== this.fallbackPort) this.ctx.notifyPeers(port);
    }
    this.inFallback = on;
    this.fallbackPort = port;
    return changed;
  }

  private distributingPorts(): Port[] {
    if (this.inFallback) return this.fallbackPort ? [this.fallbackPort] : [];
    const ids = new Set(this.engine.distributing());
    return this.ctx.ports().filter((p) => ids.has(p.index));
  }

  /** Ports whose received frames are delivered (collecting; with coupled control the same). */
  private collectingPorts(): Port[] {
    if (this.inFallback) return this.fallbackPort ? [this.fallbackPort] : [];
    const ids = new Set(this.engine.collecting());
    return this.ctx.ports().filter((p) => ids.has(p.index));
  }

  private lastDistributing = new Set<Port>();

  private publish(): void {
    const dist = this.distributingPorts();
    const o = this.ctx.options();
    const masks = portMasks(dist);
    const neighborMask = o.broadcast_neighbor === 'on' ? masks.reduce((m, x) => (m | x) >>> 0, 0) : 0;
    const tx = dist.length ? { kind: 'hash' as const, masks, policy: policyId(o.xmit_hash_policy), neighborMask } : TX_NONE;
    this.ctx.publish(
      tx,
      rxPlan(
        this.ctx.maxPorts,
        this.collectingPorts().map((p) => p.index),
        [[ETHERTYPE_SLOW, ETHERTYPE_CONSUME]],
      ),
    );
    // broadcast_neighbor: a port that starts distributing announces the bond's addresses again
    const now = new Set(dist);
    if (o.broadcast_neighbor === 'on') for (const p of now) if (!this.lastDistributing.has(p)) this.ctx.notifyPeers(p);
    this.lastDistributing = now;
  }

  active(): Port | null {
    return null;
  }

  carrier(): boolean {
    return this.inFallback ? this.fallbackPort !== null : this.engine.carrier();
  }

  isActive(port: Port): boolean {
    return this.collectingPorts().includes(port);
  }

  multicast(): string[] {
    return ['0180c2000002'];
  }

  describe(): Record<string, unknown> {
    const a = this.engine.activeAggregator();
    const actor = this.actorSettings();
    return {
      lacp_active: actor.active ? 'on' : 'off',
      lacp_rate: actor.fast ? 'fast' : 'slow',
      system_priority: actor.systemPriority,
      system_mac: formatMac(actor.system),
      active_aggregator: a
        ? { id: a.id, ports: a.ports, actor_key: a.actor_key, partner_key: a.partner_key, partner_mac: formatMac(a.partner_mac) }
        : null,
      distributing: this.distributingPorts().map((p) => p.name),
    };
  }

  describePort(port: Port): Record<string, unknown> | undefined {
    const d = this.engine.describePort(port.index);
    if (!d) return undefined;
    return {
      ...d,
      actor: { ...d.actor, system: formatMac(d.actor.system) },
      partner: { ...d.partner, system: formatMac(d.partner.system) },
    };
  }
}
