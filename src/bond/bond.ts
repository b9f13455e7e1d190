// The bond: orchestration only. It owns the TAP master, the ports, the mode and the link
// monitor, and decides the order of things: start/stop, enslave/release, link events, option
// changes and the carrier. Slave preparation, MAC policy, filter mirroring, announcements and the
// state tree each live in a module of their own.
import { Datapath } from '../datapath/datapath.js';
import { observing, type RxPlan, type TxPlan } from '../datapath/plan.js';
import { BondError } from '../errors.js';
import type { Host } from '../host/host.js';
import { createMode, type Mode, type ModeContext } from '../modes/index.js';
import { createLinkMonitor, initialState, monitorKind, readCarrier, type LinkMonitor } from '../monitors/index.js';
import { IFF_UP } from '../native/types.js';
import type { IfAddr, LinkEvent } from '../net/rtnl.js';
import { MODE_INFO } from '../options/modes.js';
import { changeOption, changedEffects, type BondFacts, type BondOptions } from '../options/parse.js';
import { MII_STATUS_TEXT } from '../port/link.js';
import { Port } from '../port/port.js';
import { buildState, placement } from '../state/build.js';
import type { BondState, Placement } from '../state/schema.js';
import type { Clock } from '../util/clock.js';
import { HoldingLogger } from '../util/logger.js';
import { Announcer } from './announcer.js';
import { adoptSlaves } from './adoption.js';
import { Continuity } from './continuity.js';
import { FilterMirror } from './filter-mirror.js';
import { MacPolicy } from './mac-policy.js';
import { activeSlaveTarget, applySlaveOption } from './option-set.js';
import { TapMaster } from './master.js';
import { DEFAULT_BUSY_POLL_US, type AdoptedSlave, type BondConfig, type BondDeps } from './types.js';

import { BondFastPath } from './fast-path.js';
import { adoptSlave, inspectSlave, keepSlave, prepareSlave, restoreSlave } from './slave-setup.js';
import type { SavedLink } from '../port/port.js';
export { DEFAULT_BUSY_POLL_US, type BondConfig, type BondDeps } from './types.js';

const SOCKET_BUFFER_BYTES = 8 << 20; // packet sockets: 64 KiB GSO frames overflow the ~208 KiB default
const FILTER_SYNC_MS = 1000;
const MODE_TICK_MS = 100; // kernel: the 802.3ad and ALB machines run every 100 ms
const DEFAULT_MTU = 1500;

export class Bond {
  readonly name: string;
  private options: BondOptions;
  private readonly host: Host;
  private readonly clock: Clock;
  private readonly log: HoldingLogger;
  private readonly datapath: Datapath;
  private readonly master: TapMaster;
  private readonly fast: BondFastPath;
  private readonly ports: Port[] = [];
  private mode: Mode;
  private monitor: LinkMonitor | null = null;
  private readonly mtu: number;
  private stopModeTick: (() => void) | null = null;
  private stopFilterSync: (() => void) | null = null;
  private readonly macs: MacPolicy;
  private readonly announcer: Announcer;
  private readonly filters: FilterMirror;
  private readonly continuity: Continuity;
  private started = false;
  /** Adopting an earlier bondd's slaves: no plan published, no peer told (see adopt()). */
  private adopting = false;
  /** Failures of slaves that were carrying traffic (metrics, state). */
  private failovers = 0;
  /** What every part of the bond may see of it. */
  private readonly view;

  constructor(
    private readonly config: BondConfig,
    private readonly deps: BondDeps,
  ) {
    this.name = config.name;
    this.options = structuredClone(config.options);
    this.host = deps.host;
    this.clock = deps.clock;
    this.log = HoldingLogger.over(deps.log.child({ bond: config.name }));
    this.mtu = config.mtu ?? DEFAULT_MTU;
    this.datapath = new Datapath(deps.host.binding, () => deps.clock.now());
    this.master = new TapMaster(deps.host, this.datapath.engine, this.log);
    this.fast = new BondFastPath({
      host: deps.host,
      datapath: this.datapath,
      log: this.log,
      choice: config.datapath ?? 'auto',
      ...(config.bpfAttach ? { attach: config.bpfAttach } : {}),
      pins: config.pins ?? null,
    });
    this.view = {
      host: deps.host,
      binding: deps.host.binding,
      clock: deps.clock,
      log: this.log,
      bondName: this.name,
      options: () => this.options,
      ports: () => this.ports,
      tapIfindex: () => this.master.ifindex,
      send: (p: Port, f: Uint8Array) => void this.datapath.sendControl(p.index, f),
    };
    // an adopted bond keeps the MAC its TAP has
    this.macs = new MacPolicy(this.view, config.mac ?? config.adopt?.mac);
    this.announcer = new Announcer({
      ...this.view,
      mac: () => this.macs.mac,
      usable: (p) => this.ports.includes(p) && p.isUp,
      learned: (now) => this.datapath.localMacs(now),
      select: (f) => this.datapath.select(f, 0, f.length),
    });
    this.filters = new FilterMirror({
      ...this.view,
      engine: this.datapath.engine,
      modeGroups: () => this.mode.multicast?.() ?? [],
      monitorGroups: (p) => this.monitor?.multicast(p) ?? [],
    });
    this.mode = this.createMode();
    this.continuity = new Continuity(this.name, deps.host, this.log, deps.journal, deps.tapHolder);
  }

  private createMode(): Mode {
    const ctx: ModeContext = {
      ...this.view,
      maxPorts: this.datapath.maxPorts,
      tlb: this.datapath.tlb,
      publish: (tx, rx) => this.publish(tx, rx),
      notifyPeers: (port) => !this.adopting && this.announcer.notifyPeers(port),
      activeChanged: (prev, next) => {
        this.monitor?.setActive(next);
        this.macs.activeChanged(prev, next);
      },
      resendIgmp: (port) => !this.adopting && this.announcer.resendIgmp(port),
      sendControl: this.view.send,
      updateCarrier: () => this.updateCarrier(),
      bondMac: () => this.macs.mac ?? new Uint8Array(6),
    };
    return createMode(this.options.mode, ctx);
  }

  /**
   * The mode's plans, with the link monitor's EtherTypes observed, to the datapath. Held while
   * an earlier bondd's slaves are adopted: the plan it left goes on until all are in.
   */
  private publish(tx: TxPlan, rx: RxPlan): void {
    if (this.adopting) return;
    this.datapath.publish(tx, observing(rx, this.monitor?.ethertypes() ?? []));
    this.announcer.planChanged(tx);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Creates the TAP master. Nothing else is touched until enslave(). */
  start(): void {
    const c = this.config;
    this.master.open({
      name: this.name,
      mtu: this.mtu,
      mac: this.macs.mac,
      up: c.up !== false,
      busyPollUs: c.busyPollUs ?? DEFAULT_BUSY_POLL_US,
      adopt: !!c.adopt,
      ...(c.tapFd !== undefined ? { fd: c.tapFd } : {}),
    });
    this.continuity.started(this.master, c.pins ?? null);
    this.fast.start(this.master.ifindex);
    this.started = true;
    if (this.options.miimon === 0 && this.options.arp_interval === 0) {
      this.log.warn('miimon and arp_interval are both 0: link failures will not be detected');
    }
    this.restartMonitor();
    this.restartModeTick();
    this.stopFilterSync = this.clock.every(FILTER_SYNC_MS, () => {
      this.syncFilters();
      this.journalMode();
    });
    this.datapath.onTrap((index, frame) => {
      const port = this.ports.find((p) => p.index === index);
      if (!port || this.monitor?.onFrame(port, frame)) return;
      this.mode.trapped?.(port, frame);
    });
    this.datapath.onTxTrap((frame, commit) => this.mode.transmitTrapped?.(frame, commit) ?? 0);
    if (c.adopt)
      this.log.info(`adopted (ifindex ${this.master.ifindex}), mode ${this.options.mode}, mtu ${this.mtu}`, { event: 'adopted' });
    else this.log.info(`created, mode ${this.options.mode}, mtu ${this.mtu}`, { event: 'created' });
  }

  /**
   * This process lets go and the bond stays: the TAP (persistent) with everything on it, the
   * slaves as they are, and on the kernel path the pinned programs forwarding with the last
   * plan. The journal stays for the next bondd, which adopts all of it.
   */
  detach(): void {
    if (!this.started) return;
    this.endTimers();
    this.journalMode(true);
    this.continuity.detached(this.mode.active()?.name ?? null);
    const how = this.fast.persists
      ? 'the kernel fast path forwards with the last plan'
      : 'no frame is forwarded until then: the user-space datapath (or an unpinned fast path) stops with the process';
    this.fast.stop();
    this.master.release();
    this.datapath.close();
    this.started = false;
    this.log.info(`left as it is for the next bondd: ${how}`, { event: 'detached' });
  }

  /**
   * Takes the bond down: every slave released (restored), the TAP and every pin removed.
   * `tapGone`: someone deleted the TAP already.
   */
  delete(tapGone = false): void {
    if (!this.started) return;
    for (const p of [...this.ports].reverse()) {
      try {
        this.release(p.name);
      } catch (e) {
        this.log.error(`release failed: ${(e as Error).message}`, { slave: p.name });
      }
    }
    this.endTimers();
    this.fast.destroy();
    this.continuity.dropTap();
    if (tapGone) this.master.release();
    else this.master.remove();
    this.datapath.close();
    this.continuity.ended();
    this.started = false;
    this.log.info('deleted: every slave restored, the TAP removed', { event: 'removed' });
  }

  /** A copy of the TAP's fd for a next bondd (a hand-over, a reload); the caller closes it. */
  tapFd(): number {
    return this.master.dup();
  }

  private endTimers(): void {
    this.monitor?.stop();
    this.stopModeTick?.();
    this.stopFilterSync?.();
    this.announcer.stop();
  }

  get ifindex(): number {
    return this.master.ifindex;
  }

  /** Between start() and detach()/delete(). */
  get running(): boolean {
    return this.started;
  }

  private restartModeTick(): void {
    this.stopModeTick?.();
    this.stopModeTick = null;
    if (this.mode.tick) this.stopModeTick = this.clock.every(MODE_TICK_MS, () => this.mode.tick!());
  }

  /** The link monitor the options ask for: MII (miimon), ARP/NS (arp_interval), or none. */
  private restartMonitor(): void {
    const want = monitorKind(this.options);
    const had = this.monitor?.kind ?? null;
    if (this.monitor && had === want) this.monitor.reconfigure();
    else {
      this.monitor?.stop();
      this.monitor = want && createLinkMonitor(want, this.monitorDeps());
    }
    if (want === 'arp')
      this.mode.update('arp monitor on'); // republish with ARP/ND observed
    else if (had === 'arp') this.mode.update('arp monitor off');
  }

  private monitorDeps(): Parameters<typeof createLinkMonitor>[1] {
    const usesPrimary = () => MODE_INFO[this.options.mode].usesPrimary;
    return {
      ...this.view,
      activePort: () => this.mode.active(),
      usesPrimary,
      lastRx: () => this.datapath.receivedAt(),
      // kernel compat (bond_miimon_inspect): updelay is skipped only when nothing is usable
      noneUsable: () => (usesPrimary() ? this.mode.active() === null : !this.ports.some((p) => p.isUp)),
      committed: (port, up) => !up && this.countFailover(port),
      update: (reason) => this.mode.update(reason),
      settled: () => this.updateCarrier(),
    };
  }

  // ---- enslave / release --------------------------------------------------------------------

  /**
   * Takes over what an earlier bondd left (config.adopt; see adoption.ts). The plan is published
   * once, when all are in: the switch and a partner see no change.
   */
  adopt(names: string[]): void {
    const a = this.config.adopt;
    if (!a) throw new BondError('EPORT_INVALID', `${this.name}: nothing to adopt`);
    this.adopting = true;
    try {
      adoptSlaves(
        {
          host: this.host,
          log: this.log,
          journal: this.deps.journal,
          fast: this.fast,
          mode: this.mode,
          modeName: this.options.mode,
          ports: () => this.ports,
          enslave: (n, adopted) => this.enslave(n, adopted),
        },
        a,
        names,
      );
    } finally {
      this.adopting = false;
    }
    this.mode.update('adopted');
    this.updateCarrier();
  }

  /** `adopted`: the slave as an earlier bondd journaled it, to be taken over in place. */
  enslave(name: string, adopted?: AdoptedSlave): void {
    if (!this.started) throw new BondError('EPORT_INVALID', `${name}: bond ${this.name} is not running`);
    const b = this.host.binding;
    const info = inspectSlave(b, this.name, name, this.ports);
    if (MODE_INFO[this.options.mode].needsSpeed && info.speed < 0)
      this.log.warn(`speed unknown; mode ${this.options.mode} needs it`, { slave: name });
    const index = adopted?.port !== undefined && !this.ports.some((p) => p.index === adopted.port) ? adopted.port : this.freeIndex();
    // an adopted slave has the bond's MAC now; its own is the one journaled
    this.macs.adoptFirstSlave(adopted ? adopted.mac : info.mac);
    const engine = this.datapath.engine;
    let saved;
    try {
      const setup = {
        mtu: this.mtu,
        mac: this.macs.forNewSlave(adopted ? adopted.mac : info.mac),
        openSocket: () => engine.openPacket(index, info.ifindex, SOCKET_BUFFER_BYTES),
        attachFastPath: this.fast.slaveAttach(index, info.ifindex),
        record: (saved: SavedLink, phase: 'preparing' | 'enslaved') => this.deps.journal?.record(saved, phase, index),
      };
      saved = adopted
        ? adoptSlave(this.host, this.log, { ...info, name }, adopted, setup)
        : prepareSlave(this.host, this.log, { ...info, name }, setup);
    } catch (e) {
      this.fast.detachSlave(index);
      engine.closePort(index);
      this.deps.journal?.forget(info.ifindex);
      throw e;
    }
    const now = b.linkInfo(name);
    const carrier = readCarrier(b, name, this.options.use_carrier, now);
    const initial = initialState(carrier, this.options);
    const port = Port.enslaved(index, name, saved, now, carrier, initial, this.clock.now());
    this.ports.push(port);
    this.monitor?.addPort(port, carrier);
    this.syncFilters();
    const speed = now.speed > 0 ? now.speed + ' Mbps' : 'speed unknown';
    this.log.info(
      `${adopted ? 'adopted in place' : 'enslaved to ' + this.name} (engine port ${index}, link ${MII_STATUS_TEXT[initial]}, ${speed})`,
      {
        slave: name,
        event: adopted ? 'adopted' : 'enslaved',
      },
    );
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
    this.monitor?.removePort(port);
    this.mode.update(wasActive ? `${name} released` : 'release');
    this.updateCarrier();
    this.fast.detachSlave(port.index);
    this.datapath.engine.closePort(port.index);
    restoreSlave(this.host, this.log, port.saved);
    this.deps.journal?.forget(port.ifindex);
    this.macs.released(port);
    this.log.info(`released from ${this.name}`, { slave: name, event: 'released' });
  }

  private freeIndex(): number {
    const max = this.datapath.maxPorts;
    for (let i = 1; i < max; i++) if (!this.ports.some((p) => p.index === i)) return i;
    throw new BondError('EPORT_INVALID', `${this.name}: no room for another slave (at most ${max - 1})`);
  }

  // ---- link events and carrier --------------------------------------------------------------

  /** rtnetlink said something about an interface: a slave's carrier, or the TAP's flags. */
  onLinkEvent(ev: LinkEvent): void {
    if (ev.ifindex === this.master.ifindex) return ev.type === 'del' ? this.masterGone() : this.syncFilters();
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
    // the lines logged on the way are written when it is done, after a failover's new plan
    this.log.holding(() => {
      // what the event says may already be stale (a poll may have read newer state): the port's
      // name, MTU, MAC and carrier are read afresh, never taken from the message
      keepSlave(this.host, this.log, port, this.mtu);
      // kernel compat: with miimon=0 the kernel never looks at carrier; nor do we
      this.monitor?.onCarrierEvent(port);
    });
  }

  /**
   * The TAP was deleted (`ip link del bond0`): an operator took the bond down. Every slave is
   * restored, the pins and the journal go, and the daemon ends without a failure, so a
   * supervisor's Restart=on-failure does not make it again.
   */
  private masterGone(): void {
    if (!this.started) return;
    const why = `${this.name} was deleted (ip link del): the bond is taken down, slaves restored`;
    const err = new BondError('ETAP_GONE', why);
    this.log.warn(err.message, { event: 'master-gone' });
    this.delete(true);
    this.deps.fatal?.(err);
  }

  /** A slave that was carrying traffic failed (counted before the mode reacts). */
  private countFailover(port: Port): void {
    if (this.mode.isActive(port)) this.failovers++;
  }

  private updateCarrier(): void {
    this.master.setCarrier(this.mode.carrier());
  }

  /** The mode's protocol state to the journal (when it changed, unless `force`). */
  private journalMode(force = false): void {
    this.continuity.modeState(this.options.mode, this.mode.snapshot?.(), force);
  }

  private syncFilters(): void {
    if (this.started) this.filters.sync(this.ports);
  }

  /** An address was added to the bond: announced once from the active slave. */
  onAddressAdded(a: IfAddr): void {
    const port = this.mode.active();
    if (port && port.isUp && this.master.carrier) this.announcer.announceAddress(port, a);
  }

  // ---- options ------------------------------------------------------------------------------

  facts(): BondFacts {
    return { hasPorts: this.ports.length > 0, isUp: (this.master.flags(this.name) & IFF_UP) !== 0, running: true };
  }

  /** A per-slave option (kernel `ip link set DEV type bond_slave NAME VALUE`). */
  setSlaveOption(slave: string, name: string, raw: unknown): void {
    const value = applySlaveOption(this.name, this.ports, this.options, slave, name, raw);
    this.log.info(`${name} set to ${value}`, { slave, event: 'slave-option-set', option: name });
    if (name === 'prio' && this.options.primary && this.ports.some((p) => p.name === this.options.primary)) {
      // kernel compat (bond_option_prio_set)
      this.log.warn(`prio updated, but it does not affect failover reselection while primary ${this.options.primary} is set`, { slave });
    }
    this.mode.update(`${slave} ${name} changed`);
  }

  /**
   * `bondctl set`: validated against the live bond, then applied without a restart; what else
   * it takes (a new mode, a restarted link monitor) comes from the option table's effects.
   */
  setOption(name: string, value: unknown): string[] {
    if (name === 'active_slave') return this.setActiveSlave(String(value ?? ''));
    const { options, notes } = changeOption(this.options, name, value, this.facts());
    const effects = changedEffects(this.options, options);
    this.options = options;
    if (effects.has('mode')) {
      this.mode = this.createMode();
      this.restartModeTick();
      this.mode.update('mode change');
    }
    if (effects.has('monitor')) this.restartMonitor();
    this.mode.update(`${name} changed`);
    this.updateCarrier();
    this.log.info(`${name} set to ${String(this.options[name as keyof BondOptions])}`, { event: 'option-set', option: name });
    for (const n of notes) this.log.warn(n);
    return notes;
  }

  private setActiveSlave(name: string): string[] {
    // validate like any option (mode check), then the kernel's own checks
    changeOption(this.options, 'active_slave', name, this.facts());
    const port = activeSlaveTarget(name, this.name, this.ports, this.mode, this.options.mode);
    this.mode.setActive!(port);
    if (port) this.updateCarrier();
    else this.mode.update('active_slave cleared');
    return [];
  }

  // ---- queries ------------------------------------------------------------------------------

  /** The state tree: `bondctl state --json` and the input of `bondctl show`. */
  state(): BondState {
    return buildState({
      name: this.name,
      mtu: this.mtu,
      master: this.master,
      mac: this.macs.mac,
      options: this.options,
      mode: this.mode,
      ports: this.ports,
      datapath: this.datapath,
      path: this.fast.status,
      now: this.clock.now(),
      announcer: this.announcer,
      failovers: this.failovers,
    });
  }

  /** `bondctl hash`: where the datapath would send `frame` now; changes nothing. */
  placement(frame: Uint8Array): Placement {
    return placement(this.datapath, this.ports, frame);
  }
}
