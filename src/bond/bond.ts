// The bond: orchestration only. It owns the TAP master, the ports and the mode, and decides the
// order of things: start/stop, enslave/release, link events, option changes and the carrier.
// A slave's resources (membership.ts), the timers and link monitor (timers.ts), MAC policy,
// filter mirroring, announcements, continuity across restarts and the state tree each live in
// a module of their own.
import { Datapath } from '../datapath/datapath.js';
import { observing, type QueueOverride, type RxPlan, type TxPlan } from '../datapath/plan.js';
import { BondError } from '../errors.js';
import { FastPathLedger } from '../fastpath/ledger.js';
import { createMode, type Mode, type ModeContext } from '../modes/index.js';
import { IFF_UP } from '../native/types.js';
import type { IfAddr, LinkEvent } from '../net/rtnl.js';
import { MODE_INFO } from '../options/modes.js';
import type { BondFacts, BondOptions } from '../options/parse.js';
import type { Port } from '../port/port.js';
import { buildState, placement } from '../state/build.js';
import type { BondState, Placement } from '../state/schema.js';
import { HoldingLogger } from '../util/logger.js';
import { wallMicros } from '../util/clock.js';
import { adoptSlaves } from './adoption.js';
import { Announcer } from './announcer.js';
import { Continuity } from './continuity.js';
import { BondFastPath } from './fast-path.js';
import { FilterMirror } from './filter-mirror.js';
import { MacPolicy } from './mac-policy.js';
import { TapMaster } from './master.js';
import { joinPort, leavePort, type Membership } from './membership.js';
import { setBondOption, setSlaveOption, type OptionSite } from './option-set.js';
import { keepSlave } from './slave-setup.js';
import { BondTimers, type TimerSite } from './timers.js';
import { DEFAULT_BUSY_POLL_US, type AdoptedSlave, type BondConfig, type BondDeps } from './types.js';
export { DEFAULT_BUSY_POLL_US, type BondConfig, type BondDeps } from './types.js';

const DEFAULT_MTU = 1500;

export class Bond {
  readonly name: string;
  private options: BondOptions;
  private readonly log: HoldingLogger;
  private readonly datapath: Datapath;
  private readonly ledger: FastPathLedger;
  private readonly master: TapMaster;
  private readonly fast: BondFastPath;
  private readonly ports: Port[] = [];
  private mode: Mode;
  private readonly mtu: number;
  private readonly timers: BondTimers;
  private readonly macs: MacPolicy;
  private readonly announcer: Announcer;
  private readonly filters: FilterMirror;
  private readonly continuity: Continuity;
  private readonly site: Membership & OptionSite & TimerSite;
  private started = false;
  /**
   * Adopting an earlier bondd's bond: no plan published, no peer told, from construction until
   * adopt() has every slave in (the plan it left goes on forwarding meanwhile).
   */
  private adopting: boolean;
  /** Failures of slaves that were carrying traffic (metrics, state). */
  private failovers = 0;

  constructor(
    private readonly config: BondConfig,
    private readonly deps: BondDeps,
  ) {
    this.name = config.name;
    this.adopting = !!config.adopt;
    this.options = structuredClone(config.options);
    this.log = HoldingLogger.over(deps.log.child({ bond: config.name }));
    this.mtu = config.mtu ?? DEFAULT_MTU;
    this.datapath = new Datapath(deps.host.binding, () => deps.clock.now());
    this.ledger = new FastPathLedger(this.datapath, () => deps.clock.now());
    this.master = new TapMaster(deps.host, this.datapath.engine, this.log);
    const { datapath: choice = 'auto', bpfAttach: attach, pins } = config;
    this.fast = new BondFastPath({ host: deps.host, datapath: this.datapath, ledger: this.ledger, log: this.log, choice, attach, pins });
    // what every part of the bond may see of it
    const view = {
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
    this.macs = new MacPolicy(view, config.mac ?? config.adopt?.mac);
    this.announcer = new Announcer({
      ...view,
      mac: () => this.macs.mac,
      usable: (p) => this.ports.includes(p) && p.isUp,
      learned: (now) => this.ledger.localMacs(now),
      select: (f) => this.datapath.select(f, 0, f.length),
    });
    this.filters = new FilterMirror({
      ...view,
      engine: this.datapath.engine,
      modeGroups: () => this.mode.multicast?.() ?? [],
      monitorGroups: (p) => this.timers.monitor?.multicast(p) ?? [],
    });
    // what the bond's helpers (membership, timers, option changes) may see and do of it
    this.site = {
      ...view,
      mtu: this.mtu,
      datapath: this.datapath,
      fast: this.fast,
      macs: this.macs,
      journal: deps.journal,
      lastRx: () => this.ledger.receivedAt(),
      mode: () => this.mode,
      // a slave that was carrying traffic failed (counted before the mode reacts)
      failed: (port: Port) => void (this.mode.isActive(port) && this.failovers++),
      updateCarrier: () => this.updateCarrier(),
      chore: () => {
        this.syncFilters();
        this.journalMode();
      },
      setOptions: (o: BondOptions) => (this.options = o),
      renewMode: () => {
        this.mode = this.createMode();
        this.timers.restartModeTick();
      },
      restartMonitor: () => this.timers.restartMonitor(),
      facts: () => this.facts(),
    };
    this.timers = new BondTimers(this.site);
    this.mode = this.createMode();
    this.continuity = new Continuity(this.name, deps.host, this.log, deps.journal, deps.tapHolder);
  }

  private createMode(): Mode {
    const ctx: ModeContext = {
      ...this.site,
      maxPorts: this.datapath.maxPorts,
      tlb: this.ledger.tlb,
      publish: (tx, rx) => this.publish(tx, rx),
      notifyPeers: (port) => !this.adopting && this.announcer.notifyPeers(port),
      activeChanged: (prev, next) => {
        this.timers.monitor?.setActive(next);
        this.macs.activeChanged(prev, next);
      },
      resendIgmp: (port) => !this.adopting && this.announcer.resendIgmp(port),
      sendControl: this.site.send,
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
    const queues = this.queueOverride();
    if (queues) tx = { ...tx, queues };
    const observed = observing(rx, this.timers.monitor?.ethertypes() ?? []);
    this.ledger.publish(tx, observed);
    this.fast.publishQueues(tx, observed);
    this.log.debug('plan published', { plan: tx.kind, at_us: wallMicros() });
    this.announcer.planChanged(tx);
  }

  /**
   * The slaves' queue ids, for the modes the kernel overrides the transmit queue in
   * (bond_should_override_tx_queue: balance-rr and active-backup); undefined when none has one.
   * The modes publish on every link change, so the up mask follows the links.
   */
  private queueOverride(): QueueOverride | undefined {
    const { mode, tx_queues } = this.options;
    if (!MODE_INFO[mode].queueOverride || !this.ports.some((p) => p.queueId)) return undefined;
    const ids = new Uint8Array(this.datapath.maxPorts);
    let upMask = 0;
    for (const p of this.ports) {
      if (!p.queueId) continue;
      ids[p.index] = p.queueId;
      if (p.isUp) upMask = (upMask | (1 << p.index)) >>> 0;
    }
    return { txQueues: tx_queues, ids, upMask };
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
    this.timers.start();
    this.datapath.onTrap((index, frame) => {
      const port = this.ports.find((p) => p.index === index);
      if (!port || this.timers.monitor?.onFrame(port, frame)) return;
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
    this.timers.stop();
    this.announcer.stop();
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
    this.timers.stop();
    this.announcer.stop();
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

  get ifindex(): number {
    return this.master.ifindex;
  }

  /** Between start() and detach()/delete(). */
  get running(): boolean {
    return this.started;
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
      const site = { ...this.site, mode: this.mode, enslave: (n: string, s?: AdoptedSlave) => this.enslave(n, s) };
      adoptSlaves(site, a, names);
    } finally {
      this.adopting = false;
    }
    this.mode.update('adopted');
    this.updateCarrier();
  }

  /** `adopted`: the slave as an earlier bondd journaled it, to be taken over in place. */
  enslave(name: string, adopted?: AdoptedSlave): void {
    if (!this.started) throw new BondError('EPORT_INVALID', `${name}: bond ${this.name} is not running`);
    const port = joinPort(this.site, name, adopted);
    this.ports.push(port);
    this.timers.monitor?.addPort(port, port.carrier);
    this.syncFilters();
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
    this.timers.monitor?.removePort(port);
    this.mode.update(wasActive ? `${name} released` : 'release');
    this.updateCarrier();
    leavePort(this.site, port);
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
      keepSlave(this.deps.host, this.log, port, this.mtu);
      // kernel compat: with miimon=0 the kernel never looks at carrier; nor do we
      this.timers.monitor?.onCarrierEvent(port);
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
    setSlaveOption(this.site, slave, name, raw);
  }

  /** `bondctl set`: see option-set.ts. Returns the kernel's notes. */
  setOption(name: string, value: unknown): string[] {
    return setBondOption(this.site, name, value);
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
      ledger: this.ledger,
      path: this.fast.status,
      now: this.deps.clock.now(),
      announcer: this.announcer,
      failovers: this.failovers,
    });
  }

  /** `bondctl hash`: where the datapath would send `frame` now; changes nothing. */
  placement(frame: Uint8Array): Placement {
    return placement(this.datapath, this.ports, frame);
  }
}
