// The LACP engine (IEEE 802.1AX-2014 §6.4; the kernel's bond_3ad.c behaviour). Sans-I/O: no
// sockets, no timers, no Port objects. Ports are small integers (the port number, 1-based);
// time is a tick() every 100 ms; received PDUs come in through receive(); what to send comes out
// of tick() as PDUs for the adapter (src/modes/8023ad.ts) to frame and transmit.
//
// Per tick and port, in the kernel's order: receive (timers) -> periodic -> selection -> mux ->
// transmit -> churn; then aggregator selection. §6.4.12 Receive machine, §6.4.13 Periodic
// Transmission machine, §6.4.14 Selection Logic, §6.4.15 Mux machine (coupled control),
// §6.4.16 Transmit machine, §6.4.17 Churn Detection machines.
import type { LacpInfo, Lacpdu, MarkerPdu } from './pdu.js';

export const ST_ACTIVITY = 0x01;
export const ST_TIMEOUT = 0x02;
export const ST_AGGREGATION = 0x04;
export const ST_SYNC = 0x08;
export const ST_COLLECTING = 0x10;
export const ST_DISTRIBUTING = 0x20;
export const ST_DEFAULTED = 0x40;
export const ST_EXPIRED = 0x80;

export const TICKS_PER_SEC = 10;
const FAST_PERIODIC = 1 * TICKS_PER_SEC;
const SLOW_PERIODIC = 30 * TICKS_PER_SEC;
const SHORT_TIMEOUT = 3 * TICKS_PER_SEC;
const LONG_TIMEOUT = 90 * TICKS_PER_SEC;
const CHURN_DETECTION = 60 * TICKS_PER_SEC;
const AGGREGATE_WAIT = 2 * TICKS_PER_SEC;
const TX_SPACING = Math.floor(TICKS_PER_SEC / 3); // at most 3 LACPDUs a second per port
/** Aggregator selection waits this long after a port joins a running bond (kernel: 8 s). */
export const AGG_SELECTION_WAIT = 8 * TICKS_PER_SEC;

export type AdSelect = 'stable' | 'bandwidth' | 'count' | 'actor_port_prio';
export type RxState = 'initialize' | 'port_disabled' | 'expired' | 'lacp_disabled' | 'defaulted' | 'current';
export type MuxState = 'detached' | 'waiting' | 'attached' | 'collecting_distributing' | 'collecting' | 'distributing';
export type PeriodicState = 'no_periodic' | 'fast_periodic' | 'slow_periodic';
export type Selected = 'unselected' | 'selected' | 'standby';
export type ChurnState = 'monitoring' | 'churned' | 'none';

export interface ActorSettings {
  system: Uint8Array;
  systemPriority: number;
  /** lacp_active: send LACPDUs unprompted. */
  active: boolean;
  /** lacp_rate fast: ask the partner for LACPDUs every second (our short timeout). */
  fast: boolean;
  adSelect: AdSelect;
  minLinks: number;
  /** coupled_control off: collecting and distributing enabled separately (§6.4.15, independent). */
  uncoupled?: boolean;
  /** lacp_strict: no distribution (and no carrier) without an LACP partner. */
  strict?: boolean;
}

export interface PortSettings {
  /** Mbit/s; <= 0 = unknown (LACP disabled on the port: the kernel cannot build a key). */
  speed: number;
  fullDuplex: boolean;
  userKey: number;
  portPriority: number;
}

export interface PortStats {
  lacpduRx: number;
  lacpduTx: number;
  markerRx: number;
  markerResponseTx: number;
  illegalRx: number;
  unknownRx: number;
  loopbackRx: number;
  /** Times the partner's information expired (no LACPDU within the timeout). */
  expired: number;
}

interface PortSm {
  id: number;
  s: PortSettings;
  enabled: boolean;
  lacpEnabled: boolean;
  key: number;
  actorState: number;
  partner: LacpInfo;
  rx: RxState;
  currentWhile: number;
  periodic: PeriodicState;
  periodicTimer: number;
  selected: Selected;
  agg: Agg | null;
  mux: MuxState;
  waitWhile: number;
  ntt: boolean;
  txCooldown: number;
  begin: boolean;
  actorChurn: ChurnState;
  partnerChurn: ChurnState;
  actorChurnTimer: number;
  partnerChurnTimer: number;
  actorChurnCount: number;
  partnerChurnCount: number;
  stats: PortStats;
}

interface Agg {
  id: number;
  ports: PortSm[];
  actorKey: number;
  partnerSystem: Uint8Array;
  partnerSystemPriority: number;
  partnerKey: number;
  individual: boolean;
  active: boolean;
}

const ZERO_MAC = new Uint8Array(6);

/** Partner administrative defaults (kernel: system 0, priority 0xffff, key 1, port 1, priority 0xff). */
function defaultPartner(): LacpInfo {
  return { systemPriority: 0xffff, system: new Uint8Array(6), key: 1, portPriority: 0xff, port: 1, state: 0 };
}

function macEq(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

function infoEq(a: LacpInfo, b: LacpInfo, stateMask: number): boolean {
  return (
    a.port === b.port &&
    a.portPriority === b.portPriority &&
    a.systemPriority === b.systemPriority &&
    a.key === b.key &&
    macEq(a.system, b.system) &&
    (a.state & stateMask) === (b.state & stateMask)
  );
}

const SPEED_CODES: [number, number][] = [
  [1, 1],
  [10, 2],
  [100, 3],
  [1000, 4],
  [2500, 5],
  [5000, 6],
  [10000, 7],
  [14000, 8],
  [20000, 9],
  [25000, 10],
  [40000, 11],
  [50000, 12],
  [56000, 13],
  [100000, 14],
  [200000, 15],
  [400000, 16],
  [800000, 17],
];

/** The port key: user key << 6 | speed code << 1 | full duplex (kernel __get_duplex/__get_link_speed). */
export function portKey(s: PortSettings): number {
  const code = SPEED_CODES.find(([mbps]) => mbps === s.speed)?.[1] ?? 0;
  return ((s.userKey & 0x3ff) << 6) | (code << 1) | (s.fullDuplex ? 1 : 0);
}

export interface TickResult {
  sends: { port: number; pdu: Lacpdu }[];
  /** The distributing set or the carrier changed: the adapter rebuilds its TxPlan. */
  changed: boolean;
}

/** LacpInfo as JSON (the system as an array of bytes). */
export type LacpInfoJson = Omit<LacpInfo, 'system'> & { system: number[] };

/**
 * What the engine knows of its ports and aggregators, as plain JSON: what a bondd hands the
 * next one (its journal, a hand-over) so that LACP goes on where it was. Counters go along;
 * timers do not (restore() restarts them as if a LACPDU had just been heard).
 */
export interface LacpSnapshot {
  v: 1;
  aggSelectTimer: number;
  ports: {
    id: number;
    actorState: number;
    partner: LacpInfoJson;
    rx: RxState;
    periodic: PeriodicState;
    selected: Selected;
    agg: number | null;
    mux: MuxState;
    actorChurn: ChurnState;
    partnerChurn: ChurnState;
    stats: PortStats;
  }[];
  aggs: {
    id: number;
    ports: number[];
    actorKey: number;
    partnerSystem: number[];
    partnerSystemPriority: number;
    partnerKey: number;
    individual: boolean;
    active: boolean;
  }[];
}

export class LacpEngine {
  private readonly ports = new Map<number, PortSm>();
  private readonly aggs = new Map<number, Agg>();
  private aggSelectTimer = 1; // kernel: 1 tick on bond open
  private lastDistributing = '';
  private lastCarrier = false;
  private sends: { port: number; pdu: Lacpdu }[] = [];

  constructor(private actor: ActorSettings) {}

  /** New actor settings; when what a LACPDU carries changed (system, priority, activity,
   * timeout) every port resends. Settings that did not change cost nothing. */
  setActor(actor: ActorSettings): void {
    const old = this.actor;
    this.actor = actor;
    if (
      macEq(old.system, actor.system) &&
      old.systemPriority === actor.systemPriority &&
      old.active === actor.active &&
      old.fast === actor.fast
    )
      return;
    for (const p of this.ports.values()) {
      this.refreshActorState(p);
      p.ntt = true;
    }
  }

  addPort(id: number, s: PortSettings, enabled: boolean, running = true): void {
    const p: PortSm = {
      id,
      s,
      enabled,
      lacpEnabled: false,
      key: 0,
      actorState: 0,
      partner: defaultPartner(),
      rx: 'initialize',
      currentWhile: 0,
      periodic: 'no_periodic',
      periodicTimer: 0,
      selected: 'unselected',
      agg: null,
      mux: 'detached',
      waitWhile: 0,
      ntt: false,
      txCooldown: 0,
      begin: true,
      actorChurn: 'monitoring',
      partnerChurn: 'monitoring',
      actorChurnTimer: CHURN_DETECTION,
      partnerChurnTimer: CHURN_DETECTION,
      actorChurnCount: 0,
      partnerChurnCount: 0,
      stats: { lacpduRx: 0, lacpduTx: 0, markerRx: 0, markerResponseTx: 0, illegalRx: 0, unknownRx: 0, loopbackRx: 0, expired: 0 },
    };
    this.applySettings(p, s);
    this.ports.set(id, p);
    this.aggs.set(id, {
      id,
      ports: [],
      actorKey: 0,
      partnerSystem: new Uint8Array(6),
      partnerSystemPriority: 0,
      partnerKey: 0,
      individual: false,
      active: false,
    });
    if (running) this.aggSelectTimer = Math.max(this.aggSelectTimer, AGG_SELECTION_WAIT);
  }

  snapshot(): LacpSnapshot {
    return {
      v: 1,
      aggSelectTimer: this.aggSelectTimer,
      ports: [...this.ports.values()].map((p) => ({
        id: p.id,
        actorState: p.actorState,
        partner: { ...p.partner, system: [...p.partner.system] },
        rx: p.rx,
        periodic: p.periodic,
        selected: p.selected,
        agg: p.agg?.id ?? null,
        mux: p.mux,
        actorChurn: p.actorChurn,
        partnerChurn: p.partnerChurn,
        stats: { ...p.stats },
      })),
      aggs: [...this.aggs.values()].map((a) => ({
        id: a.id,
        ports: a.ports.map((p) => p.id),
        actorKey: a.actorKey,
        partnerSystem: [...a.partnerSystem],
        partnerSystemPriority: a.partnerSystemPriority,
        partnerKey: a.partnerKey,
        individual: a.individual,
        active: a.active,
      })),
    };
  }

  /**
   * Goes on from an earlier process's snapshot, for the ports both know (by id, after
   * addPort()): the same states, partner, selection and aggregators, so the partner sees no
   * change. Timers restart as if the partner had just been heard, the aggregator wait is not
   * run again, and every port sends a LACPDU at the next tick. A port whose settings or link
   * changed in between starts over (BEGIN) on its own as usual.
   */
  restore(snap: LacpSnapshot): void {
    if (snap?.v !== 1) return;
    const known = new Map(snap.ports.map((x) => [x.id, x]));
    for (const a of snap.aggs) {
      const agg = this.aggs.get(a.id);
      if (!agg) continue;
      agg.actorKey = a.actorKey;
      agg.partnerSystem = Uint8Array.from(a.partnerSystem);
      agg.partnerSystemPriority = a.partnerSystemPriority;
      agg.partnerKey = a.partnerKey;
      agg.individual = a.individual;
      agg.active = a.active;
      agg.ports = a.ports.flatMap((id) => (this.ports.has(id) && known.has(id) ? [this.ports.get(id)!] : []));
    }
    for (const p of this.ports.values()) {
      const x = known.get(p.id);
      if (!x) continue;
      p.actorState = x.actorState;
      this.refreshActorState(p);
      p.partner = { ...x.partner, system: Uint8Array.from(x.partner.system) };
      p.rx = x.rx;
      p.currentWhile = x.rx === 'current' ? (this.actor.fast ? SHORT_TIMEOUT : LONG_TIMEOUT) : x.rx === 'expired' ? SHORT_TIMEOUT : 0;
      p.periodic = x.periodic;
      p.periodicTimer = 0;
      p.selected = x.selected;
      p.agg = x.agg !== null ? (this.aggs.get(x.agg) ?? null) : null;
      p.mux = x.mux;
      p.waitWhile = 0;
      p.begin = false;
      p.ntt = true;
      p.actorChurn = x.actorChurn;
      p.partnerChurn = x.partnerChurn;
      p.actorChurnTimer = x.actorChurn === 'monitoring' ? CHURN_DETECTION : 0;
      p.partnerChurnTimer = x.partnerChurn === 'monitoring' ? CHURN_DETECTION : 0;
      p.stats = { ...x.stats };
    }
    this.aggSelectTimer = snap.aggSelectTimer;
    this.lastDistributing = `${this.distributing().join(',')}/${this.collecting().join(',')}`;
    this.lastCarrier = this.carrier();
  }

  /** Removes a port; returns the last LACPDU to send on it (sync, collecting, distributing cleared). */
  removePort(id: number): Lacpdu | null {
    const p = this.ports.get(id);
    if (!p) return null;
    this.leaveAgg(p);
    this.ports.delete(id);
    this.aggs.delete(id);
    if (!p.lacpEnabled) return null;
    p.actorState &= ~(ST_SYNC | ST_COLLECTING | ST_DISTRIBUTING | ST_AGGREGATION);
    this.selectAggregator();
    return this.pdu(p);
  }

  private applySettings(p: PortSm, s: PortSettings): void {
    p.s = s;
    p.lacpEnabled = s.speed > 0 && s.fullDuplex;
    p.key = portKey(s);
    this.refreshActorState(p);
  }

  private refreshActorState(p: PortSm): void {
    const keep = p.actorState & (ST_SYNC | ST_COLLECTING | ST_DISTRIBUTING | ST_DEFAULTED | ST_EXPIRED);
    p.actorState = keep | (this.actor.active ? ST_ACTIVITY : 0) | (this.actor.fast ? ST_TIMEOUT : 0) | (p.lacpEnabled ? ST_AGGREGATION : 0);
  }

  /** The port's link and settings, as they are now; only a change of carrier, speed, duplex or
   * user key restarts its machines (kernel: BEGIN on change). */
  setLink(id: number, enabled: boolean, s?: PortSettings): void {
    const p = this.ports.get(id);
    if (!p) return;
    const keyChanged = s !== undefined && (s.speed !== p.s.speed || s.fullDuplex !== p.s.fullDuplex || s.userKey !== p.s.userKey);
    const prioChanged = s !== undefined && s.portPriority !== p.s.portPriority;
    if (s) this.applySettings(p, s);
    if (prioChanged) {
      // the partner learns the new priority at once; with ad_select=actor_port_prio it may
      // change which aggregator is active
      p.ntt = true;
      this.selectAggregator();
    }
    if (p.enabled === enabled && !keyChanged) return;
    const linkChanged = p.enabled !== enabled;
    p.enabled = enabled;
    p.begin = true;
    // kernel compat (bond_3ad_handle_link_change): every link change runs aggregator selection
    // (bandwidth, count and actor_port_prio move to the better aggregator; stable keeps its own)
    if (linkChanged) this.selectAggregator();
  }

  /** A LACPDU arrived on a port: the receive machine runs at once (kernel bond_3ad_rx_indication). */
  receive(id: number, pdu: Lacpdu): void {
    const p = this.ports.get(id);
    if (!p) return;
    p.stats.lacpduRx++;
    if (macEq(pdu.actor.system, this.actor.system)) {
      p.stats.loopbackRx++; // our own PDU came back: two ports cabled to each other
      return;
    }
    if (!p.enabled || p.rx === 'lacp_disabled' || p.rx === 'initialize' || p.rx === 'port_disabled') return;
    // update_Selected: a different partner (or aggregation ability) makes the port reselect
    if (!infoEq(pdu.actor, p.partner, ST_AGGREGATION)) p.selected = 'unselected';
    // update_NTT: the partner's view of us is out of date
    const mine = this.actorInfo(p);
    if (!infoEq(pdu.partner, mine, ST_ACTIVITY | ST_TIMEOUT | ST_SYNC | ST_AGGREGATION)) p.ntt = true;
    // recordPDU
    const matched = infoEq(pdu.partner, mine, ST_AGGREGATION) || !(pdu.actor.state & ST_AGGREGATION);
    p.partner = { ...pdu.actor, system: Uint8Array.from(pdu.actor.system) };
    if (!(matched && pdu.actor.state & ST_SYNC)) p.partner.state &= ~ST_SYNC;
    p.actorState &= ~(ST_DEFAULTED | ST_EXPIRED);
    p.rx = 'current';
    p.currentWhile = this.actor.fast ? SHORT_TIMEOUT : LONG_TIMEOUT;
  }

  /** Marker responder (§6.5.4): the answer to a Marker Information PDU, or null. */
  marker(id: number, m: MarkerPdu): MarkerPdu | null {
    const p = this.ports.get(id);
    if (!p) return null;
    p.stats.markerRx++;
    if (m.response) return null;
    p.stats.markerResponseTx++;
    return { ...m, response: true };
  }

  countIllegal(id: number, unknown: boolean): void {
    const p = this.ports.get(id);
    if (p) p.stats[unknown ? 'unknownRx' : 'illegalRx']++;
  }

  tick(): TickResult {
    this.sends = [];
    if (this.aggSelectTimer > 0 && --this.aggSelectTimer === 0) this.selectAggregator();
    for (const p of this.ports.values()) {
      this.rxMachine(p);
      this.periodicMachine(p);
      this.selectionLogic(p);
      this.muxMachine(p);
      this.txMachine(p);
      this.churnMachine(p);
      p.begin = false;
    }
    const dist = `${this.distributing().join(',')}/${this.collecting().join(',')}`;
    const carrier = this.carrier();
    const changed = dist !== this.lastDistributing || carrier !== this.lastCarrier;
    this.lastDistributing = dist;
    this.lastCarrier = carrier;
    return { sends: this.sends, changed };
  }

  // ---- §6.4.12 receive machine (the timer side; PDUs are handled in receive()) -------------

  private rxMachine(p: PortSm): void {
    if (p.begin) {
      p.selected = 'unselected';
      this.recordDefault(p);
      p.actorState &= ~ST_EXPIRED;
      p.rx = 'port_disabled';
      p.partner.state &= ~ST_SYNC;
    }
    if (!p.enabled) {
      if (p.rx !== 'port_disabled') {
        p.rx = 'port_disabled';
        p.partner.state &= ~ST_SYNC;
      }
      return;
    }
    switch (p.rx) {
      case 'port_disabled':
        if (!p.lacpEnabled) {
          p.rx = 'lacp_disabled';
          p.selected = 'unselected';
          this.recordDefault(p);
          p.partner.state &= ~ST_AGGREGATION;
          p.actorState &= ~ST_EXPIRED;
        } else this.enterExpired(p);
        return;
      case 'current':
        if (--p.currentWhile <= 0) {
          p.stats.expired++;
          this.enterExpired(p);
        }
        return;
      case 'expired':
        if (--p.currentWhile <= 0) {
          // update_Default_Selected, then recordDefault
          if (!infoEq(defaultPartner(), p.partner, ST_AGGREGATION)) p.selected = 'unselected';
          this.recordDefault(p);
          p.actorState &= ~ST_EXPIRED;
          p.rx = 'defaulted';
        }
        return;
      default:
        return;
    }
  }

  private enterExpired(p: PortSm): void {
    p.partner.state &= ~ST_SYNC;
    p.partner.state |= ST_TIMEOUT; // short timeout, so we ask fast while waiting
    p.currentWhile = SHORT_TIMEOUT;
    p.actorState |= ST_EXPIRED;
    p.rx = 'expired';
  }

  private recordDefault(p: PortSm): void {
    p.partner = defaultPartner();
    p.actorState |= ST_DEFAULTED;
  }

  // ---- §6.4.13 periodic transmission ------------------------------------------------------

  private periodicMachine(p: PortSm): void {
    const silent = p.begin || !p.enabled || !p.lacpEnabled || (!this.actor.active && !(p.partner.state & ST_ACTIVITY));
    if (silent) {
      p.periodic = 'no_periodic';
      return;
    }
    const want: PeriodicState = p.partner.state & ST_TIMEOUT ? 'fast_periodic' : 'slow_periodic';
    if (p.periodic === 'no_periodic' || (want === 'fast_periodic' && p.periodic === 'slow_periodic')) {
      p.periodic = want;
      p.periodicTimer = 0; // transmit now, then every period
    } else p.periodic = want;
    if (--p.periodicTimer <= 0) {
      p.ntt = true;
      p.periodicTimer = want === 'fast_periodic' ? FAST_PERIODIC : SLOW_PERIODIC;
    }
  }

  // ---- §6.4.14 selection logic ------------------------------------------------------------

  private isIndividual(p: PortSm): boolean {
    return !p.lacpEnabled || !(p.partner.state & ST_AGGREGATION) || !!(p.actorState & ST_DEFAULTED);
  }

  private leaveAgg(p: PortSm): void {
    const a = p.agg;
    if (!a) return;
    a.ports = a.ports.filter((x) => x !== p);
    p.agg = null;
    if (a.ports.length === 0) {
      a.partnerSystem = new Uint8Array(6);
      a.individual = false;
      a.actorKey = 0;
      a.partnerKey = 0;
      if (a.active) {
        a.active = false;
        this.selectAggregator();
      }
    }
  }

  private selectionLogic(p: PortSm): void {
    if (p.selected !== 'unselected' || !p.enabled) return;
    if (p.mux !== 'detached' && p.agg) return; // the mux machine detaches first
    this.leaveAgg(p);
    const individual = this.isIndividual(p);
    let agg: Agg | undefined;
    if (!individual) {
      agg = [...this.aggs.values()].find(
        (a) =>
          a.ports.length > 0 &&
          !a.individual &&
          a.actorKey === p.key &&
          macEq(a.partnerSystem, p.partner.system) &&
          a.partnerSystemPriority === p.partner.systemPriority &&
          a.partnerKey === p.partner.key &&
          !macEq(a.partnerSystem, ZERO_MAC),
      );
    }
    if (!agg) {
      agg = [...this.aggs.values()].find((a) => a.ports.length === 0);
      if (!agg) return;
      agg.actorKey = p.key;
      agg.partnerSystem = Uint8Array.from(p.partner.system);
      agg.partnerSystemPriority = p.partner.systemPriority;
      agg.partnerKey = p.partner.key;
      agg.individual = individual;
    }
    agg.ports.push(p);
    p.agg = agg;
    p.selected = 'selected';
    this.selectAggregator();
  }

  private bandwidth(a: Agg): number {
    return a.ports.filter((p) => p.enabled).reduce((n, p) => n + Math.max(0, p.s.speed), 0);
  }

  private portPrioritySum(a: Agg): number {
    return a.ports.filter((p) => p.enabled).reduce((n, p) => n + p.s.portPriority, 0);
  }

  private hasPartner(a: Agg): boolean {
    return !macEq(a.partnerSystem, ZERO_MAC);
  }

  /** Is `c` a better active aggregator than `b` (kernel ad_agg_selection_test)? */
  private better(c: Agg, b: Agg): boolean {
    if (c.individual !== b.individual) return !c.individual;
    if (this.hasPartner(c) !== this.hasPartner(b)) return this.hasPartner(c);
    const cn = c.ports.filter((p) => p.enabled).length;
    const bn = b.ports.filter((p) => p.enabled).length;
    // kernel compat (ad_agg_selection_test): actor_port_prio compares the sum of the enabled
    // ports' priorities (higher wins), then falls through to count, then bandwidth
    if (this.actor.adSelect === 'actor_port_prio') {
      const cp = this.portPrioritySum(c);
      const bp = this.portPrioritySum(b);
      if (cp !== bp) return cp > bp;
    }
    if ((this.actor.adSelect === 'count' || this.actor.adSelect === 'actor_port_prio') && cn !== bn) return cn > bn;
    return this.bandwidth(c) > this.bandwidth(b);
  }

  /** Aggregator selection: chooses the active aggregator (ad_select). */
  private selectAggregator(): void {
    if (this.aggSelectTimer > 0) return;
    const candidates = [...this.aggs.values()].filter((a) => a.ports.some((p) => p.enabled && p.selected !== 'unselected'));
    let best: Agg | null = null;
    for (const a of candidates) if (!best || this.better(a, best)) best = a;
    const current = [...this.aggs.values()].find((a) => a.active) ?? null;
    // stable: keep the current active aggregator while it is still usable and no worse in kind
    if (
      this.actor.adSelect === 'stable' &&
      current &&
      best &&
      candidates.includes(current) &&
      (this.hasPartner(current) || !this.hasPartner(best)) &&
      current.individual === best.individual
    )
      best = current;
    for (const a of this.aggs.values()) a.active = a === best;
  }

  // ---- §6.4.15 mux machine (coupled control) ----------------------------------------------

  /**
   * In ATTACHED, Synchronization follows whether the port's aggregator is the active one (kernel
   * ad_mux_machine): a port of an aggregator that lost the selection (ad_select) tells its
   * partner it is out of sync, so the partner stops distributing onto a link we do not use.
   */
  private syncWithAggregator(p: PortSm): void {
    const want = p.agg?.active ? ST_SYNC : 0;
    if ((p.actorState & ST_SYNC) === want) return;
    p.actorState = (p.actorState & ~ST_SYNC) | want;
    p.ntt = true;
  }

  private muxMachine(p: PortSm): void {
    if (p.begin && p.mux !== 'detached') this.enterDetached(p);
    const a = p.agg;
    const partnerSync = !!(p.partner.state & ST_SYNC);
    switch (p.mux) {
      case 'detached':
        if (p.selected === 'selected' || p.selected === 'standby') {
          p.mux = 'waiting';
          p.waitWhile = AGGREGATE_WAIT;
        }
        return;
      case 'waiting':
        if (p.selected === 'unselected') return this.enterDetached(p);
        if (p.waitWhile > 0) p.waitWhile--;
        // attach when this port and every port of its aggregator have waited (Ready)
        if (p.selected === 'selected' && a && a.ports.every((x) => x.mux !== 'waiting' || x.waitWhile === 0)) {
          p.mux = 'attached';
          p.actorState &= ~(ST_COLLECTING | ST_DISTRIBUTING);
          this.syncWithAggregator(p);
          p.ntt = true;
        }
        return;
      case 'attached':
        if (p.selected !== 'selected') return this.enterDetached(p);
        this.syncWithAggregator(p);
        if (partnerSync && a?.active) {
          p.mux = this.actor.uncoupled ? 'collecting' : 'collecting_distributing';
          p.actorState |= this.actor.uncoupled ? ST_COLLECTING : ST_COLLECTING | ST_DISTRIBUTING;
          p.ntt = true;
        }
        return;
      case 'collecting': {
        if (p.selected !== 'selected' || !partnerSync || !a?.active) {
          p.mux = 'attached';
          p.actorState &= ~(ST_COLLECTING | ST_DISTRIBUTING);
          p.ntt = true;
          if (p.selected !== 'selected') this.enterDetached(p);
        } else if (p.partner.state & ST_COLLECTING) {
          // independent control: distribute only once the partner collects
          p.mux = 'distributing';
          p.actorState |= ST_DISTRIBUTING;
          p.ntt = true;
        }
        return;
      }
      case 'distributing':
        if (p.selected !== 'selected' || !partnerSync || !a?.active || !(p.partner.state & ST_COLLECTING)) {
          p.mux = 'collecting';
          p.actorState &= ~ST_DISTRIBUTING;
          p.ntt = true;
        }
        return;
      case 'collecting_distributing':
        if (p.selected !== 'selected' || !partnerSync || !a?.active) {
          p.mux = 'attached';
          p.actorState &= ~(ST_COLLECTING | ST_DISTRIBUTING);
          p.ntt = true;
          if (p.selected !== 'selected') this.enterDetached(p);
        }
        return;
    }
  }

  private enterDetached(p: PortSm): void {
    p.mux = 'detached';
    p.actorState &= ~(ST_SYNC | ST_COLLECTING | ST_DISTRIBUTING);
    p.ntt = true;
    if (p.selected === 'unselected') this.leaveAgg(p);
  }

  // ---- §6.4.16 transmit machine -----------------------------------------------------------

  private txMachine(p: PortSm): void {
    if (p.txCooldown > 0) p.txCooldown--;
    if (!p.ntt || !p.enabled || !p.lacpEnabled || p.txCooldown > 0) return;
    // a passive port speaks only to an active partner it has heard
    if (!this.actor.active && !(p.partner.state & ST_ACTIVITY)) return;
    this.sends.push({ port: p.id, pdu: this.pdu(p) });
    p.stats.lacpduTx++;
    p.ntt = false;
    p.txCooldown = TX_SPACING;
  }

  private actorInfo(p: PortSm): LacpInfo {
    return {
      systemPriority: this.actor.systemPriority,
      system: this.actor.system,
      key: p.key,
      portPriority: p.s.portPriority,
      port: p.id,
      state: p.actorState,
    };
  }

  private pdu(p: PortSm): Lacpdu {
    return { actor: this.actorInfo(p), partner: { ...p.partner }, collectorMaxDelay: 0 };
  }

  // ---- §6.4.17 churn detection ------------------------------------------------------------

  private churnMachine(p: PortSm): void {
    if (p.begin || !p.enabled) {
      p.actorChurn = 'monitoring';
      p.partnerChurn = 'monitoring';
      p.actorChurnTimer = CHURN_DETECTION;
      p.partnerChurnTimer = CHURN_DETECTION;
      return;
    }
    const step = (state: ChurnState, timer: number, sync: boolean): [ChurnState, number, boolean] => {
      if (state === 'monitoring') {
        if (sync) return ['none', timer, false];
        if (timer - 1 <= 0) return ['churned', 0, true];
        return ['monitoring', timer - 1, false];
      }
      if (state === 'none' && !sync) return ['monitoring', CHURN_DETECTION, false];
      if (state === 'churned' && sync) return ['none', timer, false];
      return [state, timer, false];
    };
    const [as, at, ac] = step(p.actorChurn, p.actorChurnTimer, !!(p.actorState & ST_SYNC));
    const [ps, pt, pc] = step(p.partnerChurn, p.partnerChurnTimer, !!(p.partner.state & ST_SYNC));
    p.actorChurn = as;
    p.actorChurnTimer = at;
    p.partnerChurn = ps;
    p.partnerChurnTimer = pt;
    if (ac) p.actorChurnCount++;
    if (pc) p.partnerChurnCount++;
  }

  // ---- results ----------------------------------------------------------------------------

  /** Port ids that distribute now: the active aggregator's collecting+distributing ports; an
   * aggregator without an LACP partner (individual links) distributes directly (kernel). */
  distributing(): number[] {
    return this.portsIn(['collecting_distributing', 'distributing']);
  }

  /** Port ids that collect (deliver received frames): distributing ones, and collecting ones
   * under independent control. */
  collecting(): number[] {
    return this.portsIn(['collecting_distributing', 'distributing', 'collecting']);
  }

  private portsIn(states: MuxState[]): number[] {
    const a = [...this.aggs.values()].find((x) => x.active);
    if (!a) return [];
    const partner = this.hasPartner(a);
    if (!partner && this.actor.strict) return []; // lacp_strict: nothing without a partner
    return a.ports
      .filter((p) => p.enabled && (partner ? states.includes(p.mux) : p.mux !== 'detached'))
      .map((p) => p.id)
      .sort((x, y) => x - y);
  }

  /** Is an LACP partner speaking on any port now (receive machine CURRENT)? */
  partnerHeard(): boolean {
    for (const p of this.ports.values()) if (p.enabled && p.rx === 'current') return true;
    return false;
  }

  /** Bond carrier: an active aggregator with at least max(1, min_links) distributing ports. */
  carrier(): boolean {
    return this.distributing().length >= Math.max(1, this.actor.minLinks);
  }

  /** The receive and mux machines' states of a port (cheap: for change logging every tick). */
  machineStates(id: number): { rx: string; mux: string } | undefined {
    const p = this.ports.get(id);
    return p ? { rx: p.rx, mux: p.mux } : undefined;
  }

  describePort(id: number) {
    const p = this.ports.get(id);
    if (!p) return undefined;
    return {
      aggregator_id: p.agg?.id ?? null,
      actor: { ...this.actorInfo(p) },
      partner: { ...p.partner },
      rx_state: p.rx,
      mux_state: p.mux,
      periodic_state: p.periodic,
      selected: p.selected,
      lacp_enabled: p.lacpEnabled,
      actor_churn_state: p.actorChurn,
      partner_churn_state: p.partnerChurn,
      actor_churned_count: p.actorChurnCount,
      partner_churned_count: p.partnerChurnCount,
      stats: { ...p.stats },
    };
  }

  activeAggregator() {
    const a = [...this.aggs.values()].find((x) => x.active);
    if (!a) return null;
    return {
      id: a.id,
      ports: a.ports.length,
      actor_key: a.actorKey,
      partner_key: a.partnerKey,
      partner_mac: Uint8Array.from(a.partnerSystem),
      individual: a.individual,
    };
  }
}
