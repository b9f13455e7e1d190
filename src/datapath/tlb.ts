// Transmit load balancing (kernel bond_alb.c, TLB part), owned by the datapath because its
// buckets and byte counts change per frame. No sockets, no timers: the mode tells it which ports
// exist and the time (and rebalances), the datapath asks it for a port per frame.
//
// The table has 256 destination buckets (balance-tlb: xmit_hash & 0xff; balance-alb: XOR of the
// destination IP's bytes), each assigned on first use to the port with the largest gap between
// its speed and its current load, and unassigned every 10 s so that flows reshuffle by the load
// they carried (the kernel's "load history"). Beyond the kernel: 256 more buckets for frames whose
// source MAC is not the bond's (guests on a bridge over the TAP, Open vSwitch's SLB idea). Those
// stay where they are at a rebalance, so a guest's MAC moves between switch ports only when its
// port fails: a learning switch follows one move at once, not one every 10 s.

export const TLB_BUCKETS = 256;
export const SLB_BASE = TLB_BUCKETS;
/** Destination and source buckets together. */
export const TLB_ENTRIES = TLB_BUCKETS * 2;
const ENTRIES = TLB_ENTRIES;
export const TLB_REBALANCE_MS = 10_000;

export interface TlbPort {
  index: number;
  /** Mbps; unknown (<= 0) counts as no capacity. */
  speed: number;
  usable: boolean;
}

/**
 * What balance-tlb/alb may do with the table (a narrow request: the datapath owns the table, and
 * whoever mirrors it into a kernel fast path sees every change go by).
 */
export interface TlbControl {
  /** A new mode starts from an empty table. */
  reset(): void;
  /** The ports in enslave order and the active one. */
  setPorts(ports: readonly TlbPort[], active: number | null, now: number): void;
  /** The 100 ms cadence: rebalances when one is due; true when it did. */
  tick(now: number): boolean;
  /** Per bucket the engine port, -1 unassigned (a copy). */
  table(): number[];
  /** Goes on from an earlier process's table. */
  restoreTable(ports: readonly number[]): void;
  describe(): { port: number; load: number; buckets: number; sourceBuckets: number }[];
}

export class TlbEngine implements TlbControl {
  /** Per bucket: engine port, or -1 when unassigned. */
  readonly txPort = new Int8Array(ENTRIES).fill(-1);
  /** Bytes sent through the bucket since the last rebalance. */
  readonly txBytes = new Float64Array(ENTRIES);
  /** Bytes per second the bucket carried in the last interval (+1, as the kernel counts). */
  readonly loadHistory = new Float64Array(ENTRIES);
  private readonly load: Float64Array;
  private readonly speed: Float64Array;
  private readonly usable: Uint8Array;
  private readonly order: number[] = [];
  private active = -1;
  /** Bytes that went out of the active port without a bucket (multicast, non-IP...). */
  private unbalanced = 0;
  private nextRebalance = -1;
  /** Bumped whenever txPort changes (a kernel fast path mirrors the table when it moves on). */
  version = 0;

  /** `maxPorts`: the engine's port count (a verdict bit per port). */
  constructor(private readonly maxPorts: number) {
    this.load = new Float64Array(maxPorts);
    this.speed = new Float64Array(maxPorts);
    this.usable = new Uint8Array(maxPorts);
  }

  /**
   * The ports in enslave order and the active one. A port that stopped being usable loses its
   * buckets; a port that became usable triggers an immediate rebalance (kernel: link up or new
   * slave).
   */
  setPorts(ports: readonly TlbPort[], active: number | null, now: number): void {
    let added = false;
    const next = new Set(ports.filter((p) => p.usable).map((p) => p.index));
    for (let p = 0; p < this.maxPorts; p++) {
      if (this.usable[p] && !next.has(p)) this.clearPort(p);
      if (!this.usable[p] && next.has(p)) added = true;
    }
    this.usable.fill(0);
    this.order.length = 0;
    for (const p of ports) {
      this.speed[p.index] = p.speed > 0 ? p.speed : 0;
      if (p.usable) {
        this.usable[p.index] = 1;
        this.order.push(p.index);
      }
    }
    this.active = active ?? -1;
    if (this.nextRebalance < 0) this.nextRebalance = now + TLB_REBALANCE_MS;
    if (added) this.rebalance(now);
    this.version++;
  }

  /** HOT PATH. The port for a frame of `len` bytes in bucket `index`; -1 when none is usable. */
  choose(index: number, len: number): number {
    let p = this.txPort[index];
    if (p < 0 || this.usable[p] === 0) {
      p = this.leastLoaded();
      if (p < 0) return -1;
      this.txPort[index] = p;
      this.version++;
      this.load[p] += this.loadHistory[index];
    }
    this.txBytes[index] += len;
    return p;
  }

  /** The port choose() would give bucket `index` now, changing nothing (a query). */
  peek(index: number): number {
    const p = this.txPort[index];
    return p < 0 || this.usable[p] === 0 ? this.leastLoaded() : p;
  }

  /** A new mode starts from an empty table (kernel: tlb_init_slave on a mode change). */
  reset(): void {
    this.txPort.fill(-1);
    this.txBytes.fill(0);
    this.loadHistory.fill(0);
    this.load.fill(0);
    this.usable.fill(0);
    this.order.length = 0;
    this.active = -1;
    this.unbalanced = 0;
    this.nextRebalance = -1;
    this.version++;
  }

  /**
   * Goes on from an earlier process's table (after the ports were set): each bucket keeps its
   * port where that port is usable, so a guest's MAC leaves by the same slave as before.
   */
  restoreTable(ports: readonly number[]): void {
    for (let i = 0; i < ENTRIES && i < ports.length; i++) {
      const p = ports[i];
      if (Number.isInteger(p) && p >= 0 && p < this.maxPorts && this.usable[p]) this.txPort[i] = p;
    }
    this.version++;
  }

  /** HOT PATH. A frame that left through the active port without a bucket. */
  unbalancedBytes(len: number): void {
    this.unbalanced += len;
  }

  /** kernel tlb_get_least_loaded_slave: the largest speed·2^20 − load·8, first in enslave order on ties. */
  private leastLoaded(): number {
    let best = -1;
    let bestGap = -Infinity;
    for (let i = 0; i < this.order.length; i++) {
      const p = this.order[i];
      const gap = this.speed[p] * 1048576 - this.load[p] * 8;
      if (gap > bestGap) {
        bestGap = gap;
        best = p;
      }
    }
    return best;
  }

  private clearPort(p: number): void {
    for (let i = 0; i < ENTRIES; i++) {
      if (this.txPort[i] !== p) continue;
      this.txPort[i] = -1;
      this.txBytes[i] = 0;
    }
    this.load[p] = 0;
    this.version++;
  }

  /** A rebalance is due (every 10 s). */
  due(now: number): boolean {
    return this.nextRebalance >= 0 && now >= this.nextRebalance;
  }

  /** The 100 ms cadence: rebalances every 10 s. Returns true when it did. */
  tick(now: number): boolean {
    if (!this.due(now)) return false;
    this.rebalance(now);
    return true;
  }

  /**
   * kernel tlb_clear_slave(save_load) for every slave: each destination bucket keeps the load it
   * carried as its history and is unassigned; source buckets stay put with their new history.
   */
  rebalance(now: number): void {
    const seconds = TLB_REBALANCE_MS / 1000;
    this.load.fill(0);
    for (let i = 0; i < ENTRIES; i++) {
      const carried = this.txBytes[i];
      if (this.txPort[i] < 0 && carried === 0) continue;
      this.loadHistory[i] = 1 + carried / seconds;
      this.txBytes[i] = 0;
      if (i < SLB_BASE) this.txPort[i] = -1;
      else if (this.txPort[i] >= 0) this.load[this.txPort[i]] += this.loadHistory[i];
    }
    if (this.active >= 0) this.load[this.active] += this.unbalanced / seconds;
    this.unbalanced = 0;
    this.nextRebalance = now + TLB_REBALANCE_MS;
    this.version++;
  }

  table(): number[] {
    return Array.from(this.txPort);
  }

  /** For `state`: per port the load in bytes/s it is charged with, and its buckets. */
  describe(): { port: number; load: number; buckets: number; sourceBuckets: number }[] {
    return this.order.map((p) => {
      let buckets = 0;
      let sourceBuckets = 0;
      for (let i = 0; i < ENTRIES; i++) {
        if (this.txPort[i] !== p) continue;
        if (i < SLB_BASE) buckets++;
        else sourceBuckets++;
      }
      return { port: p, load: Math.round(this.load[p]), buckets, sourceBuckets };
    });
  }
}

/** balance-alb's bucket: XOR of the destination address bytes (kernel _simple_hash). */
export function xorBytes(b: Uint8Array, off: number, n: number): number {
  let h = 0;
  for (let i = 0; i < n; i++) h ^= b[off + i];
  return h;
}

/** The source bucket of a guest MAC at `off`. */
export function sourceBucket(b: Uint8Array, off: number): number {
  return SLB_BASE + (b[off] ^ b[off + 1] ^ b[off + 2] ^ b[off + 3] ^ b[off + 4] ^ b[off + 5]);
}
