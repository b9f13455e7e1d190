// Which datapath forwards the bond's frames: the kernel fast path (eBPF on the TAP's egress and
// every slave's ingress, src/fastpath/) with the JavaScript datapath as its slow path, or the
// JavaScript datapath alone. `auto` takes the kernel path when its programs load and attach, and
// otherwise says once why not; `kernel` makes that an error; `user` never tries.
import type { Datapath } from '../datapath/datapath.js';
import { BondError } from '../errors.js';
import { KernelPath } from '../fastpath/kernel-path.js';
import type { NativeBpf } from '../native/types.js';
import type { Logger } from '../util/logger.js';

export const DATAPATH_CHOICES = ['auto', 'kernel', 'user'] as const;
export type DatapathChoice = (typeof DATAPATH_CHOICES)[number];

export interface DatapathStatus {
  /** What forwards frames now. */
  path: 'kernel' | 'user';
  /** What was asked for. */
  requested: DatapathChoice;
  /** Why the user-space path runs, when it does. */
  reason?: string;
}

export class BondFastPath {
  private kernel: KernelPath | null = null;
  private reason = '';

  constructor(
    private readonly d: { bpf: NativeBpf; datapath: Datapath; log: Logger; choice: DatapathChoice },
    private readonly load: (bpf: NativeBpf) => KernelPath = (bpf) => KernelPath.load(bpf),
  ) {}

  /** Loads and attaches the transmit program to the TAP (`ifindex`), as the choice says. */
  start(tapIfindex: number): void {
    if (this.d.choice === 'user') {
      this.reason = 'the user-space datapath was asked for (--datapath user)';
      return;
    }
    let k: KernelPath | null = null;
    try {
      k = this.load(this.d.bpf);
      k.attachTap(tapIfindex);
    } catch (e) {
      k?.close();
      this.reason = (e as Error).message;
      if (this.d.choice === 'kernel') throw new BondError('EDATAPATH', `datapath kernel: ${this.reason}`, { cause: e });
      this.d.log.warn(`kernel fast path unavailable (${this.reason}): the user-space datapath forwards every frame`, {
        event: 'datapath-user',
      });
      return;
    }
    this.kernel = k;
    this.d.datapath.setOffload(k);
    this.d.log.info('kernel fast path: eBPF programs attached with TCX links (transmit on the TAP, receive on each slave)', {
      event: 'datapath-kernel',
    });
  }

  /**
   * For a new slave: what attaches the receive program and the slow-path socket filter (instead
   * of the user path's drop filter), or undefined when the user-space path runs.
   */
  slaveAttach(index: number, ifindex: number): (() => void) | undefined {
    const k = this.kernel;
    if (!k) return undefined;
    return () => k.attachSlave(index, ifindex, (fd) => this.d.datapath.engine.attachFilter(index, fd));
  }

  /** The slave's receive program goes (its stack sees frames again once it is restored). */
  detachSlave(index: number): void {
    this.kernel?.detachSlave(index);
  }

  stop(): void {
    if (!this.kernel) return;
    this.d.datapath.setOffload(null);
    this.kernel.close();
    this.kernel = null;
  }

  get status(): DatapathStatus {
    return this.kernel
      ? { path: 'kernel', requested: this.d.choice }
      : { path: 'user', requested: this.d.choice, reason: this.reason || undefined };
  }
}
