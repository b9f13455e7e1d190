// The user-space datapath and a kernel fast path forwarding beside it, reconciled: the plans go
// to both, the fast path's counters, receive times and learnt MACs are added to the datapath's
// own, and balance-tlb/alb's bucket table (which the datapath owns because it changes per frame)
// is mirrored into the fast path and charged with the bytes the fast path sent. None of this is
// on the hot path: the datapath only hears "slow path only" and "tell me after a transmit batch".
import { DpCtr, type Datapath } from '../datapath/datapath.js';
import type { RxPlan, TxPlan } from '../datapath/plan.js';
import { TLB_ENTRIES, type TlbControl, type TlbPort } from '../datapath/tlb.js';
import { Ctr } from '../native/types.js';

/**
 * Counter slots of a kernel fast path, per engine port (native/bpf/tapbond.bpf.c `struct
 * counters`): what it forwarded itself.
 */
export const OffloadCtr = {
  RxFrames: 0,
  RxBytes: 1,
  TxFrames: 2,
  TxBytes: 3,
  Malformed: 4,
  RxInactive: 5,
  TxNoPort: 6,
  RxLooped: 7,
  /** Frames from the TAP it handed to the user-space datapath. */
  Slow: 8,
  Count: 9,
} as const;

/** The OffloadCtr slot that adds to each DpCtr slot (-1: none). */
const OFFLOADED_DP = [OffloadCtr.Malformed, OffloadCtr.RxInactive, -1, OffloadCtr.TxNoPort, OffloadCtr.RxLooped];

/** How often (ms) the fast path's counters are read at most; readers in between see the last read. */
const REFRESH_MS = 10;

/** A kernel fast path that carries out the published plans itself (kernel-path.ts). */
export interface Offload {
  publish(tx: TxPlan, rx: RxPlan): void;
  /** The engine ports it forwards for (the TAP and the attached slaves). */
  ports(): readonly number[];
  /** One port's OffloadCtr slots. */
  counters(port: number, out: Float64Array): void;
  /** Source MACs it saw from the TAP within `ageNs` (CLOCK_MONOTONIC nanoseconds). */
  localMacs(nowNs: bigint, ageNs: bigint): Uint8Array[];
  /** balance-tlb/alb: the bucket table it balances by (engine port per bucket, -1 unassigned). */
  tlbTable(ports: Int8Array): void;
  /** balance-tlb/alb: bytes it sent per bucket so far, TLB_ENTRIES + 1 (the last: no bucket). */
  tlbBytes(out: Float64Array): void;
}

export class FastPathLedger {
  private offload: Offload | null = null;
  /** A plan was published: until then a fast path taken over keeps the one it has. */
  private planned = false;
  /** The offload's counters, MAX_PORTS * OffloadCtr.Count, as last read. */
  private readonly offloaded: Float64Array;
  private readAt = -Infinity;
  /**
   * The user-space datapath's queue-id helper (BondFastPath): transmit programs that send only
   * the frames a queue id names. Plans do not reach it through here; its counters do.
   */
  private assist: Offload | null = null;
  /** Its counters, like `offloaded`. */
  private readonly assisted: Float64Array;
  private readonly scratch = new Float64Array(OffloadCtr.Count);
  /** The TlbEngine version the offload's bucket table was last written at. */
  private tlbSynced = -1;
  private readonly tlbSeen = new Float64Array(TLB_ENTRIES + 1);
  private readonly tlbNow = new Float64Array(TLB_ENTRIES + 1);
  /** balance-tlb/alb's way to the bucket table: each request is mirrored into the fast path. */
  readonly tlb: TlbControl;

  constructor(
    private readonly dp: Datapath,
    private readonly now: () => number,
  ) {
    this.offloaded = new Float64Array(dp.maxPorts * OffloadCtr.Count);
    this.assisted = new Float64Array(dp.maxPorts * OffloadCtr.Count);
    const e = dp.tlb;
    this.tlb = {
      reset: () => {
        e.reset();
        this.syncTlb();
      },
      setPorts: (ports: readonly TlbPort[], active: number | null, now: number) => {
        this.pullTlbBytes(); // a port that came up rebalances at once
        e.setPorts(ports, active, now);
        this.syncTlb();
      },
      tick: (now: number) => {
        if (!e.due(now)) return false;
        this.pullTlbBytes();
        e.tick(now);
        this.syncTlb();
        return true;
      },
      table: () => e.table(),
      restoreTable: (ports: readonly number[]) => {
        e.restoreTable(ports);
        this.syncTlb();
      },
      describe: () => e.describe(),
    };
  }

  /** The plans, to the datapath and the fast path. */
  publish(tx: TxPlan, rx: RxPlan): void {
    this.planned = true;
    this.dp.publish(tx, rx);
    this.offload?.publish(tx, rx);
    this.syncTlb();
  }

  /** What a fast path that goes forwarded stays counted: folded into the datapath's own counters. */
  private fold(from: Float64Array): void {
    const dp = this.dp;
    this.read(this.now(), true);
    const per = dp.counters.length / dp.maxPorts;
    for (let p = 0; p < dp.maxPorts; p++) {
      const at = p * OffloadCtr.Count;
      for (let c = 0; c <= Ctr.TxBytes; c++) dp.counters[p * per + c] += from[at + c];
      OFFLOADED_DP.forEach((k, c) => k >= 0 && (dp.dpCounters[p * DpCtr.Count + c] += from[at + k]));
    }
    from.fill(0);
  }

  /** The queue-id helper of the user-space datapath comes or goes (see `assist`). */
  setAssist(o: Offload | null): void {
    if (this.assist) this.fold(this.assisted);
    this.assist = o;
    this.readAt = -Infinity;
  }

  /** A fast path takes over (null: the datapath forwards everything again). */
  setOffload(o: Offload | null): void {
    const dp = this.dp;
    if (this.offload) this.fold(this.offloaded);
    this.offload = o;
    this.readAt = -Infinity;
    this.tlbSynced = -1;
    this.tlbSeen.fill(0);
    dp.slowPathOnly(o !== null, o ? () => this.syncTlb() : null);
    // before any plan (a start): nothing to hand over. An earlier bondd's pinned maps, adopted,
    // go on with the plan and buckets they have until this process publishes its first plan;
    // an empty one now would stop them forwarding for the whole adoption
    if (!this.planned) return;
    o?.publish(dp.txPlan, dp.rxPlan);
    this.syncTlb();
  }

  counter(port: number, c: Ctr): number {
    return this.withOffloaded(this.dp.counter(port, c), port, c <= Ctr.TxBytes ? c : -1); // Ctr and OffloadCtr share their first four slots
  }

  dpCounter(port: number, c: DpCtr): number {
    return this.withOffloaded(this.dp.dpCounter(port, c), port, OFFLOADED_DP[c]);
  }

  /** `own` plus OffloadCtr slot `k` of `port` from the fast path and the assist (k < 0: none). */
  private withOffloaded(own: number, port: number, k: number): number {
    if ((!this.offload && !this.assist) || k < 0) return own;
    this.read(this.now());
    const at = port * OffloadCtr.Count + k;
    return own + this.offloaded[at] + this.assisted[at];
  }

  /** When each port last received something, fast path included (the ARP monitor's "last received"). */
  receivedAt(): Float64Array {
    this.read(this.now());
    return this.dp.lastRx;
  }

  /** Source MACs sent from the TAP side within the ageing time, by either path. */
  localMacs(now: number): Uint8Array[] {
    const local = this.dp.local;
    const mine = local.entries(now);
    if (!this.offload) return mine;
    const seen = new Set(mine.map((m) => Buffer.from(m).toString('hex')));
    for (const m of this.offload.localMacs(process.hrtime.bigint(), BigInt(local.ageMs) * 1_000_000n))
      if (!seen.has(Buffer.from(m).toString('hex'))) mine.push(m);
    return mine;
  }

  /**
   * Reads the fast path's counters (at most every REFRESH_MS unless `force`); a port it received
   * on counts as having received now.
   */
  private read(now: number, force = false): void {
    if ((!this.offload && !this.assist) || (!force && now - this.readAt < REFRESH_MS)) return;
    this.readAt = now;
    const s = this.scratch;
    const n = OffloadCtr.Count;
    for (const [o, into] of [
      [this.offload, this.offloaded],
      [this.assist, this.assisted],
    ] as const) {
      if (!o) continue;
      for (const p of o.ports()) {
        o.counters(p, s);
        if (p > 0 && s[OffloadCtr.RxFrames] > into[p * n + OffloadCtr.RxFrames]) this.dp.lastRx[p] = now;
        into.set(s, p * n);
      }
    }
  }

  /** The fast path balances by the datapath's buckets: written when they moved on. */
  private syncTlb(): void {
    const e = this.dp.tlb;
    if (!this.offload || !this.planned || e.version === this.tlbSynced) return;
    this.offload.tlbTable(e.txPort);
    this.tlbSynced = e.version;
  }

  /** Before a rebalance: the bytes the fast path sent per bucket since the last one count too. */
  private pullTlbBytes(): void {
    if (!this.offload) return;
    const e = this.dp.tlb;
    const now = this.tlbNow;
    this.offload.tlbBytes(now);
    for (let i = 0; i < TLB_ENTRIES; i++) e.txBytes[i] += now[i] - this.tlbSeen[i];
    e.unbalancedBytes(now[TLB_ENTRIES] - this.tlbSeen[TLB_ENTRIES]);
    this.tlbSeen.set(now);
  }
}
