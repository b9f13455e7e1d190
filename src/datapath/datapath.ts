// HOT PATH. One callback per drained batch: frames from the TAP (engine port 0) are
// transmitted by the TxPlan, frames from a slave are delivered by the RxPlan. No allocation,
// closures, Map lookups or async per frame; one switch on plan.kind (kernel __bond_start_xmit).
import { Ctr, type NativeBinding, type NativeEngine } from '../native/types.js';
import { xmitHash } from './hash.js';
import { TLB_ENTRIES, TlbEngine, sourceBucket, xorBytes } from './tlb.js';
import { MacTable } from './mac-table.js';
import {
  DELIVER_NONE,
  DELIVER_UNICAST,
  ETHERTYPE_CONSUME,
  ETHERTYPE_NORMAL,
  TX_NONE,
  rxPlan,
  type RxPlan,
  type TlbPlan,
  type TxPlan,
} from './plan.js';

export const BATCH_MAX = 64;
/** The largest frame a slot holds after the vnet header: a 64 KiB GSO frame plus its headers. */
const MAX_FRAME = 65535 + 14 + 4;
const ETH_MIN = 14;

/** Datapath counters kept on the JS side, per engine port (DpCtr.* slots). */
export const DpCtr = {
  Malformed: 0, // shorter than an Ethernet header: counted and dropped
  RxInactive: 1, // received on a port that does not deliver (backup slave)
  RxTrapped: 2, // handed to the mode (LACPDUs, ARP for RLB...)
  TxNoPort: 3, // no usable slave: dropped
  RxLooped: 4, // source MAC is one of ours (sent from the TAP side): a reflection, dropped
  Count: 5,
} as const;
export type DpCtr = (typeof DpCtr)[keyof typeof DpCtr];

/**
 * Counter slots of a kernel fast path, per engine port (native/bpf/tapbond.bpf.c `struct
 * counters`): what it forwarded itself, so the datapath's counters include it.
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
  /** Frames from the TAP it handed to this datapath. */
  Slow: 8,
  Count: 9,
} as const;

/** The OffloadCtr slot that adds to each DpCtr slot (-1: none). */
const OFFLOADED_DP = [OffloadCtr.Malformed, OffloadCtr.RxInactive, -1, OffloadCtr.TxNoPort, OffloadCtr.RxLooped];

/**
 * A kernel fast path that carries out the published plans itself (src/fastpath/kernel-path.ts).
 * With one, this datapath is the slow path: it transmits only what reaches the TAP's fd (what the
 * fast path left to it) and receives only the frames the mode must see, which the fast path has
 * already delivered or dropped.
 */
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

/** How often (ms) the offload's counters are read at most; readers in between see the last read. */
const OFFLOAD_REFRESH_MS = 10;

export type TrapHandler = (port: number, frame: Uint8Array) => void;
/**
 * A frame from the TAP that the plan hands to the mode (balance-alb: the bond's ARP, for RLB).
 * Returns the verdict; with `commit` it may rewrite the frame in place and update its tables,
 * without it (a query such as `bondctl hash`) it only says where the frame would go.
 */
export type TxTrapHandler = (frame: Uint8Array, commit: boolean) => number;

export class Datapath {
  readonly arena: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly offsets = new Uint32Array(BATCH_MAX);
  readonly lengths = new Uint32Array(BATCH_MAX);
  readonly verdicts = new Uint32Array(BATCH_MAX);
  readonly pkttypes = new Uint8Array(BATCH_MAX);
  readonly counters: Float64Array;
  readonly dpCounters: Float64Array;
  readonly engine: NativeEngine;
  readonly maxPorts: number;
  /** The virtio-net header before every frame in the arena (the binding's VNET_HDR_LEN). */
  private readonly vnet: number;
  /** When each port last delivered a batch (the ARP monitor's "something arrived"). */
  readonly lastRx: Float64Array;
  /** Source MACs seen on frames from the TAP (the host and any guests behind a bridge on it). */
  readonly local = new MacTable();
  /** balance-tlb/alb buckets and their byte counts: changed per frame, so owned here, not by a plan. */
  readonly tlb: TlbEngine;

  private tx: TxPlan = TX_NONE;
  private rx: RxPlan;
  private rrCounter = 0;
  private trap: TrapHandler = () => {};
  private txTrap: TxTrapHandler | null = null;
  /** False while peek() runs: select() then changes nothing (no counters, no rewrite, no trap effect). */
  private commit = true;
  private offload: Offload | null = null;
  /** The offload's counters, MAX_PORTS * OffloadCtr.Count, as last read. */
  private readonly offloaded: Float64Array;
  private offloadReadAt = -Infinity;
  private readonly scratch = new Float64Array(OffloadCtr.Count);
  /** The TlbEngine version the offload's bucket table was last written at. */
  private tlbSynced = -1;
  private readonly tlbSeen = new Float64Array(TLB_ENTRIES + 1);
  private readonly tlbNow = new Float64Array(TLB_ENTRIES + 1);

  constructor(
    binding: NativeBinding,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.maxPorts = binding.MAX_PORTS;
    this.vnet = binding.VNET_HDR_LEN;
    // headroom (for a VLAN tag put back) + vnet header + frame, rounded up to 128 bytes
    const slotSize = (binding.HEADROOM + binding.VNET_HDR_LEN + MAX_FRAME + 127) & ~127;
    this.lastRx = new Float64Array(binding.MAX_PORTS);
    this.tlb = new TlbEngine(binding.MAX_PORTS);
    this.tlb.hooks = { beforeRebalance: () => this.pullTlbBytes(), changed: () => this.syncTlb() };
    this.arena = new ArrayBuffer(slotSize * BATCH_MAX);
    this.bytes = new Uint8Array(this.arena);
    this.counters = new Float64Array(binding.MAX_PORTS * binding.COUNTERS);
    this.dpCounters = new Float64Array(binding.MAX_PORTS * DpCtr.Count);
    this.offloaded = new Float64Array(binding.MAX_PORTS * OffloadCtr.Count);
    this.rx = rxPlan(this.maxPorts, []);
    this.engine = new binding.Engine({
      arena: this.arena,
      offsets: this.offsets,
      lengths: this.lengths,
      verdicts: this.verdicts,
      pkttypes: this.pkttypes,
      counters: this.counters,
      slotSize,
      batchMax: BATCH_MAX,
      onBatch: (port, count) => this.onBatch(port, count),
    });
  }

  /** Called by modes (through the bond) between batches. */
  publish(tx: TxPlan, rx: RxPlan): void {
    this.tx = tx;
    this.rx = rx;
    this.offload?.publish(tx, rx);
    this.syncTlb();
  }

  /** Hands the plans to a kernel fast path (null: this datapath forwards everything again). */
  setOffload(o: Offload | null): void {
    if (this.offload) {
      // what the old one forwarded stays counted: folded into this datapath's own counters
      this.readOffload(this.now(), true);
      const per = this.counters.length / this.maxPorts;
      for (let p = 0; p < this.maxPorts; p++) {
        const at = p * OffloadCtr.Count;
        for (let c = 0; c <= Ctr.TxBytes; c++) this.counters[p * per + c] += this.offloaded[at + c];
        OFFLOADED_DP.forEach((k, c) => k >= 0 && (this.dpCounters[p * DpCtr.Count + c] += this.offloaded[at + k]));
      }
      this.offloaded.fill(0);
    }
    this.offload = o;
    this.offloadReadAt = -Infinity;
    this.tlbSynced = -1;
    this.tlbSeen.fill(0);
    o?.publish(this.tx, this.rx);
    this.syncTlb();
  }

  /** The offload balances by the TlbEngine's buckets: written when they moved on. */
  private syncTlb(): void {
    if (!this.offload || this.tlb.version === this.tlbSynced) return;
    this.offload.tlbTable(this.tlb.txPort);
    this.tlbSynced = this.tlb.version;
  }

  /** Before a rebalance: the bytes the offload sent per bucket since the last one count too. */
  private pullTlbBytes(): void {
    if (!this.offload) return;
    const now = this.tlbNow;
    this.offload.tlbBytes(now);
    for (let i = 0; i < TLB_ENTRIES; i++) this.tlb.txBytes[i] += now[i] - this.tlbSeen[i];
    this.tlb.unbalancedBytes(now[TLB_ENTRIES] - this.tlbSeen[TLB_ENTRIES]);
    this.tlbSeen.set(now);
  }

  /**
   * Reads the offload's counters (at most every OFFLOAD_REFRESH_MS unless `force`); a port the
   * fast path received on counts as having received now (the ARP monitor's "last received").
   */
  private readOffload(now: number, force = false): void {
    const o = this.offload;
    if (!o || (!force && now - this.offloadReadAt < OFFLOAD_REFRESH_MS)) return;
    this.offloadReadAt = now;
    const s = this.scratch;
    const n = OffloadCtr.Count;
    for (const p of o.ports()) {
      o.counters(p, s);
      if (p > 0 && s[OffloadCtr.RxFrames] > this.offloaded[p * n + OffloadCtr.RxFrames]) this.lastRx[p] = now;
      this.offloaded.set(s, p * n);
    }
  }

  /** When each port last received something, fast path included. */
  receivedAt(): Float64Array {
    this.readOffload(this.now());
    return this.lastRx;
  }

  /** Source MACs sent from the TAP side within the ageing time, by either path. */
  localMacs(now: number): Uint8Array[] {
    const mine = this.local.entries(now);
    if (!this.offload) return mine;
    const seen = new Set(mine.map((m) => Buffer.from(m).toString('hex')));
    const ns = process.hrtime.bigint();
    for (const m of this.offload.localMacs(ns, BigInt(this.local.ageMs) * 1_000_000n))
      if (!seen.has(Buffer.from(m).toString('hex'))) mine.push(m);
    return mine;
  }

  get txPlan(): TxPlan {
    return this.tx;
  }

  get rxPlan(): RxPlan {
    return this.rx;
  }

  onTrap(fn: TrapHandler): void {
    this.trap = fn;
  }

  onTxTrap(fn: TxTrapHandler | null): void {
    this.txTrap = fn;
  }

  /**
   * Where select() would send `frame` now, changing nothing: no round-robin step, no TLB bucket
   * assigned or byte counted, no source rewrite, no RLB entry (`bondctl hash`).
   */
  peek(frame: Uint8Array): number {
    this.commit = false;
    try {
      return this.select(Uint8Array.from(frame), 0, frame.length);
    } finally {
      this.commit = true;
    }
  }

  counter(port: number, c: Ctr): number {
    const own = this.counters[port * (this.counters.length / this.maxPorts) + c];
    const k = c <= Ctr.TxBytes ? c : -1; // Ctr and OffloadCtr share their first four slots
    if (!this.offload || k < 0) return own;
    this.readOffload(this.now());
    return own + this.offloaded[port * OffloadCtr.Count + k];
  }

  dpCounter(port: number, c: DpCtr): number {
    const own = this.dpCounters[port * DpCtr.Count + c];
    if (!this.offload) return own;
    const k = OFFLOADED_DP[c];
    if (k < 0) return own;
    this.readOffload(this.now());
    return own + this.offloaded[port * OffloadCtr.Count + k];
  }

  private onBatch(port: number, count: number): void {
    if (port === 0) this.transmit(count);
    else this.receive(port, count);
  }

  private transmit(count: number): void {
    const b = this.bytes;
    const v = this.verdicts;
    const now = this.now();
    for (let i = 0; i < count; i++) {
      const len = this.lengths[i] - this.vnet;
      if (len < ETH_MIN) {
        v[i] = 0;
        this.dpCounters[DpCtr.Malformed]++;
        continue;
      }
      const off = this.offsets[i] + this.vnet;
      this.local.learn(b, off + 6, now);
      const verdict = this.select(b, off, len);
      v[i] = verdict;
      if (verdict === 0) this.dpCounters[DpCtr.TxNoPort]++;
    }
    if (this.rrCounter > 0x3fffffff) this.rrCounter = 0;
    if (this.offload) this.syncTlb(); // buckets the slow path just assigned
  }

  /**
   * The verdict for one frame from the TAP (kernel __bond_start_xmit). May rewrite the Ethernet
   * source (balance-tlb/alb). Also used on the control path for frames we originate (announcements).
   */
  select(b: Uint8Array, off: number, len: number): number {
    const plan = this.tx;
    switch (plan.kind) {
      case 'none':
        return 0;
      case 'single':
      case 'all':
        return plan.mask;
      case 'hash':
        if (plan.neighborMask !== undefined && plan.neighborMask !== 0 && this.isNeighbor(b, off, len)) return plan.neighborMask;
        return plan.masks[xmitHash(b, off, len, plan.policy) % plan.masks.length];
      case 'round-robin': {
        if (this.isIgmp(b, off, len)) return plan.igmpMask; // kernel compat: bond_xmit_roundrobin sends IGMP via curr_active
        const per = plan.perPort;
        let slot: number;
        if (per === 0)
          slot = (Math.random() * 0x7fffffff) | 0; // packets_per_slave=0: random slave
        else slot = per === 1 ? this.rrCounter : Math.floor(this.rrCounter / per);
        if (this.commit) this.rrCounter++;
        return plan.masks[slot % plan.masks.length];
      }
      case 'tlb':
        return this.selectTlb(plan, b, off, len);
    }
  }

  private selectTlb(plan: TlbPlan, b: Uint8Array, off: number, len: number): number {
    const bm = plan.bondMac;
    const engine = this.tlb;
    const commit = this.commit;
    if (
      b[off + 6] !== bm[0] ||
      b[off + 7] !== bm[1] ||
      b[off + 8] !== bm[2] ||
      b[off + 9] !== bm[3] ||
      b[off + 10] !== bm[4] ||
      b[off + 11] !== bm[5]
    ) {
      // a guest behind a bridge on the TAP: balanced by source MAC, never rewritten (SLB)
      const bucket = sourceBucket(b, off + 6);
      const p = commit ? engine.choose(bucket, len) : engine.peek(bucket);
      return p < 0 ? plan.activeMask : (1 << p) >>> 0;
    }
    if ((b[off] & 1) === 0) {
      const et = this.innerEthertype(b, off, len);
      const l3 = this.l3;
      let bucket = -1;
      if (et === 0x0806) {
        if (plan.trapArp && this.txTrap) return this.txTrap(b.subarray(off, off + len), commit);
      } else if (et === 0x0800 && l3 + 20 <= off + len) {
        if (b[l3 + 9] !== 2 && !(b[l3 + 16] === 255 && b[l3 + 17] === 255 && b[l3 + 18] === 255 && b[l3 + 19] === 255)) {
          bucket = plan.alb ? xorBytes(b, l3 + 16, 4) : xmitHash(b, off, len, plan.policy) & 0xff;
        }
      } else if (et === 0x86dd && l3 + 40 <= off + len) {
        // neighbour discovery keeps to the active slave and the bond's MAC
        const nd = b[l3 + 6] === 58 && l3 + 41 <= off + len && b[l3 + 40] >= 133 && b[l3 + 40] <= 137;
        if (!nd) bucket = plan.alb ? xorBytes(b, l3 + 24, 16) : xmitHash(b, off, len, plan.policy) & 0xff;
      }
      if (bucket >= 0) {
        let p: number;
        if (plan.dynamic) p = commit ? engine.choose(bucket, len) : engine.peek(bucket);
        else p = plan.masks.length ? 31 - Math.clz32(plan.masks[xmitHash(b, off, len, plan.policy) % plan.masks.length]) : -1;
        if (p >= 0) {
          if (p !== plan.active && commit) {
            const m = plan.portMacs;
            const at = p * 6;
            for (let k = 0; k < 6; k++) b[off + 6 + k] = m[at + k];
          }
          return (1 << p) >>> 0;
        }
      }
    }
    if (commit) engine.unbalancedBytes(len);
    return plan.activeMask;
  }

  /** Offset of the L3 header found by the last innerEthertype() call. */
  private l3 = 0;

  /**
   * The EtherType after at most one VLAN tag (the kernel sees an offloaded tag as metadata); a
   * tagged frame too short to hold the inner EtherType keeps the tag's. Sets `l3`.
   */
  private innerEthertype(b: Uint8Array, off: number, len: number): number {
    let et = (b[off + 12] << 8) | b[off + 13];
    this.l3 = off + 14;
    if ((et === 0x8100 || et === 0x88a8) && len >= ETH_MIN + 4) {
      et = (b[off + 16] << 8) | b[off + 17];
      this.l3 += 4;
    }
    return et;
  }

  /** ARP, or an IPv6 neighbour solicitation/advertisement. */
  private isNeighbor(b: Uint8Array, off: number, len: number): boolean {
    const et = this.innerEthertype(b, off, len);
    if (et === 0x0806) return true;
    return et === 0x86dd && this.l3 + 41 <= off + len && b[this.l3 + 6] === 58 && (b[this.l3 + 40] === 135 || b[this.l3 + 40] === 136);
  }

  /** IPv4 IGMP (protocol 2). */
  private isIgmp(b: Uint8Array, off: number, len: number): boolean {
    return this.innerEthertype(b, off, len) === 0x0800 && this.l3 + 10 <= off + len && b[this.l3 + 9] === 2;
  }

  private receive(port: number, count: number): void {
    const now = this.now();
    this.lastRx[port] = now; // once per batch
    if (this.offload) return this.receiveTrapped(port, count);
    const rx = this.rx;
    const deliver = rx.deliver[port];
    const rewrite = rx.rewrite;
    const ets = rx.ethertypes;
    const b = this.bytes;
    const v = this.verdicts;
    const base = port * DpCtr.Count;
    for (let i = 0; i < count; i++) {
      const len = this.lengths[i];
      if (len < this.vnet + ETH_MIN) {
        v[i] = 0;
        this.dpCounters[base + DpCtr.Malformed]++;
        continue;
      }
      const off = this.offsets[i] + this.vnet;
      const how = ets[this.innerEthertype(b, off, len - this.vnet)];
      if (how !== ETHERTYPE_NORMAL) {
        this.dpCounters[base + DpCtr.RxTrapped]++;
        this.trap(port, b.subarray(off, this.offsets[i] + len)); // slow path: control frames only
        if (how === ETHERTYPE_CONSUME) {
          v[i] = 0;
          continue;
        }
      }
      const group = (b[off] & 1) !== 0;
      if (deliver === DELIVER_NONE || (deliver === DELIVER_UNICAST && group)) {
        v[i] = 0;
        this.dpCounters[base + DpCtr.RxInactive]++;
        continue;
      }
      if (this.local.has(b, off + 6, now)) {
        // one of our own source MACs coming back (a reflection through the switch)
        v[i] = 0;
        this.dpCounters[base + DpCtr.RxLooped]++;
        continue;
      }
      if (rewrite !== undefined && !group) this.rewriteDestination(rewrite.macs, rewrite.bondMac, b, off);
      v[i] = 1;
    }
  }

  /**
   * With a fast path, a slave's socket copies only the frames the mode must see (its socket
   * filter); the fast path has delivered or dropped them already, so they only go to the mode.
   */
  private receiveTrapped(port: number, count: number): void {
    const ets = this.rx.ethertypes;
    const b = this.bytes;
    const base = port * DpCtr.Count;
    for (let i = 0; i < count; i++) {
      const len = this.lengths[i];
      this.verdicts[i] = 0;
      if (len < this.vnet + ETH_MIN) {
        this.dpCounters[base + DpCtr.Malformed]++;
        continue;
      }
      const off = this.offsets[i] + this.vnet;
      if (ets[this.innerEthertype(b, off, len - this.vnet)] === ETHERTYPE_NORMAL) continue; // copied before a plan change
      this.dpCounters[base + DpCtr.RxTrapped]++;
      this.trap(port, b.subarray(off, this.offsets[i] + len));
    }
  }

  /** A unicast frame to one of the slaves' own MACs goes up addressed to the bond's MAC. */
  private rewriteDestination(macs: Uint8Array, bondMac: Uint8Array, b: Uint8Array, off: number): void {
    for (let m = 0; m < macs.length; m += 6) {
      if (
        b[off] === macs[m] &&
        b[off + 1] === macs[m + 1] &&
        b[off + 2] === macs[m + 2] &&
        b[off + 3] === macs[m + 3] &&
        b[off + 4] === macs[m + 4] &&
        b[off + 5] === macs[m + 5]
      ) {
        b.set(bondMac, off);
        return;
      }
    }
  }

  /** Sends a control frame (no vnet header) on an engine port. */
  sendControl(port: number, frame: Uint8Array): boolean {
    return this.engine.send(port, frame);
  }

  close(): void {
    this.engine.close();
  }
}
