// Which datapath forwards the bond's frames: the kernel fast path (eBPF on the TAP's egress and
// every slave's ingress, src/fastpath/) with the JavaScript datapath as its slow path, or the
// JavaScript datapath alone. `auto` takes the kernel path when its programs load and attach, and
// otherwise says once why not; `kernel` makes that an error; `user` never tries.
import type { Datapath } from '../datapath/datapath.js';
import type { RxPlan, TxPlan } from '../datapath/plan.js';
import type { FastPathLedger } from '../fastpath/ledger.js';
import { BondError } from '../errors.js';
import { existsSync, rmSync } from 'node:fs';
import { KernelPath, unpinAll, type AttachMode } from '../fastpath/kernel-path.js';
import type { Host } from '../host/host.js';
import type { StackBlock } from '../net/rtnl.js';
import type { NativeBpf } from '../native/types.js';
import type { Logger } from '../util/logger.js';

export const DATAPATH_CHOICES = ['auto', 'kernel', 'user'] as const;
export type DatapathChoice = (typeof DATAPATH_CHOICES)[number];

export interface DatapathStatus {
  /** What forwards frames now. */
  path: 'kernel' | 'user';
  /** The kernel path's programs: TCX links, or tc filters where TCX is missing. */
  attach?: AttachMode;
  /** What was asked for. */
  requested: DatapathChoice;
  /** Why the user-space path runs, when it does. */
  reason?: string;
}

export class BondFastPath {
  private kernel: KernelPath | null = null;
  private reason = '';
  private tapIfindex = 0;
  /**
   * The user-space datapath with queue ids: the transmit programs in their queue-only form (see
   * KernelPath.queuesOnly), loaded at the first plan with queue ids; null before, or when they
   * cannot be (assistError says why, once).
   */
  private assist: KernelPath | null = null;
  private assistError = '';
  /** The slaves' ifindexes by engine port (the assist redirects to them). */
  private readonly slaves = new Map<number, number>();

  constructor(
    private readonly d: {
      host: Pick<Host, 'binding' | 'blockStack' | 'attachEgress' | 'detachEgress'>;
      datapath: Datapath;
      ledger: FastPathLedger;
      log: Logger;
      choice: DatapathChoice;
      /** tc: tc filters even where TCX links exist (how the fallback is tested); default tcx,
       * with tc as the fallback. */
      attach?: AttachMode | undefined;
      /** Where the links and maps are pinned (a folder in a bpffs), or null: they go with the process. */
      pins?: string | null | undefined;
    },
    private readonly load: (bpf: NativeBpf, pins: string | null) => KernelPath = (bpf, pins) =>
      KernelPath.load(bpf, undefined, undefined, pins),
  ) {}

  /** Loads and attaches the transmit program to the TAP (`ifindex`), as the choice says. */
  start(tapIfindex: number): void {
    this.tapIfindex = tapIfindex;
    if (this.d.choice === 'user') {
      this.reason = 'the user-space datapath was asked for (--datapath user)';
      this.dropPins();
      return;
    }
    let k: KernelPath | null = null;
    try {
      k = this.load(this.d.host.binding, this.d.pins ?? null);
      k.attachTap(tapIfindex, this.tcAttach(), this.d.attach ?? 'tcx');
    } catch (e) {
      k?.close();
      this.reason = (e as Error).message;
      if (this.d.choice === 'kernel') throw new BondError('EDATAPATH', `datapath kernel: ${this.reason}`, { cause: e });
      this.d.log.warn(`kernel fast path unavailable (${this.reason}): the user-space datapath forwards every frame`, {
        event: 'datapath-user',
      });
      this.dropPins();
      return;
    }
    this.kernel = k;
    this.d.ledger.setOffload(k);
    const how = k.attach === 'tcx' ? 'TCX links' : 'tc bpf filters on clsact (no TCX links here)';
    this.d.log.info(`kernel fast path: eBPF programs attached with ${how} (transmit on the TAP, receive on each slave)`, {
      event: 'datapath-kernel',
    });
    if (k.reused.length) this.d.log.info(`adopted the pinned data plane of an earlier bondd (maps ${k.reused.join(', ')})`);
  }

  /**
   * An earlier bondd's pinned programs would go on forwarding beside the user-space datapath:
   * they go when this process does not run the kernel path.
   */
  private dropPins(): void {
    if (this.d.pins && existsSync(this.d.pins)) unpinAll(this.d.pins);
    // and the tc filters an earlier bondd put on the TAP's egress (they would go on with its plan)
    try {
      const gone = this.d.host.detachEgress(this.tapIfindex);
      if (gone.length) this.d.log.info(`removed an earlier bondd's eBPF filters from the TAP's egress (${gone.join(', ')})`);
    } catch (e) {
      this.d.log.warn(`could not check the TAP's egress filters: ${(e as Error).message}`);
    }
  }

  private tcAttach() {
    const host = this.d.host;
    return {
      egress: (i: number, fd: number, slot?: 'tx' | 'after') => host.attachEgress(i, fd, slot),
      ingress: (i: number, fd: number) => host.blockStack(i, fd),
    };
  }

  /**
   * A plan, for the user-space datapath's queue ids: a TAP reader never sees a frame's queue
   * mapping, so where a slave has a queue id the transmit programs carry out that part (no pins:
   * they go with the process). The first plan with queue ids loads them.
   */
  publishQueues(tx: TxPlan, rx: RxPlan): void {
    if (this.kernel) {
      if (tx.queues && this.kernel.afterError) this.warnQueues(this.kernel.afterError);
      return;
    }
    if (this.assist && !tx.queues) {
      // no queue id left (or a mode without them): every frame is JavaScript's again
      this.dropAssist();
      this.d.log.info('queue_id: no slave has one now; the user-space datapath sends every frame', { event: 'queue-assist' });
      return;
    }
    if (!this.assist && tx.queues && !this.assistError) {
      let k: KernelPath | null = null;
      try {
        k = this.load(this.d.host.binding, null);
        k.queuesOnly = true;
        for (const [index, ifindex] of this.slaves) k.describePort(index, ifindex);
        k.attachTap(this.tapIfindex, this.tcAttach(), this.d.attach ?? 'tcx');
        this.assist = k;
        this.d.ledger.setAssist(k);
        this.d.log.info('queue_id on the user-space datapath: the eBPF transmit programs send the frames a queue id names', {
          event: 'queue-assist',
        });
      } catch (e) {
        k?.close();
        this.warnQueues((e as Error).message);
      }
    }
    this.assist?.publish(tx, rx);
    if (tx.queues && this.assist?.afterError) this.warnQueues(this.assist.afterError);
  }

  private warnQueues(why: string): void {
    if (this.assistError) return;
    this.assistError = why;
    this.d.log.warn(`queue_id has no effect: only eBPF sees a frame's queue mapping, and ${why}`, { event: 'queue-unavailable' });
  }

  /** A slave an earlier bondd had pinned a receive program on, and this one does not take: it goes. */
  unpinSlave(ifindex: number): void {
    if (this.d.pins) rmSync(`${this.d.pins}/rx-${ifindex}`, { force: true });
  }

  /**
   * For a new slave: what attaches the receive program and the slow-path socket filter (instead
   * of the user path's drop filter), or undefined when the user-space path runs.
   */
  slaveAttach(index: number, ifindex: number): (() => StackBlock | undefined) | undefined {
    this.slaves.set(index, ifindex);
    this.assist?.describePort(index, ifindex);
    const k = this.kernel;
    if (!k) return undefined;
    return () => k.attachSlave(index, ifindex, (fd) => this.d.datapath.engine.attachFilter(index, fd));
  }

  /** The slave's receive program goes (its stack sees frames again once it is restored). */
  detachSlave(index: number): void {
    this.slaves.delete(index);
    this.assist?.describePort(index, 0);
    this.kernel?.detachSlave(index);
  }

  /** The queue-id helper goes, and its filters with it (the user-space path does not outlive the process). */
  private dropAssist(): void {
    if (!this.assist) return;
    this.d.ledger.setAssist(null);
    this.assist.close();
    this.assist = null;
    this.dropPins();
  }

  /**
   * This process lets go. With pins the programs stay attached and forward with the last plan
   * until a new bondd adopts them; without, they go with the fds.
   */
  stop(): void {
    this.dropAssist();
    if (!this.kernel) return;
    this.d.ledger.setOffload(null);
    this.kernel.close();
    this.kernel = null;
  }

  /** The bond is deleted: every program detaches and every pin goes. */
  destroy(): void {
    this.dropAssist();
    this.d.ledger.setOffload(null);
    this.kernel?.destroy();
    this.kernel = null;
    this.dropPins();
  }

  /** Whether the data plane outlives this process (pinned links). */
  get persists(): boolean {
    return !!this.kernel?.pins && this.kernel.attach === 'tcx';
  }

  get status(): DatapathStatus {
    return this.kernel
      ? { path: 'kernel', attach: this.kernel.attach, requested: this.d.choice }
      : { path: 'user', requested: this.d.choice, reason: this.reason || undefined };
  }
}
