// HOT PATH. One callback per drained batch: frames from the TAP (engine port 0) are
// transmitted by the TxPlan, frames from a slave are delivered by the RxPlan. No allocation,
// closures, Map lookups or async per frame; one switch on plan.kind (kernel __bond_start_xmit).
import { type Ctr, type NativeBinding, type NativeEngine } from '../native/types.js';
import { xmitHash } from './hash.js';
import { TlbEngine, sourceBucket, xorBytes } from './tlb.js';
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
  readonly local = new MacTable(16_384);
  /** balance-tlb/alb buckets and their byte counts: changed per frame, so owned here, not by a plan. */
  readonly tlb: TlbEngine;

  private tx: TxPlan = TX_NONE;
  private rx: RxPlan;
  private rrCounter = 0;
  private trap: TrapHandler = () => {};
  private txTrap: TxTrapHandler | null = null;
  /** False while peek() runs: select() then changes nothing (no counters, no rewrite, no trap effect). */
  private commit = true;
  /** A kernel fast path forwards: this is its slow path (see slowPathOnly). */
  private slow = false;
  /** Called after each transmit batch while slow (the buckets it assigned go to the fast path). */
  private afterTx: (() => void) | null = null;

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
    this.arena = new ArrayBuffer(slotSize * BATCH_MAX);
    this.bytes = new Uint8Array(this.arena);
    this.counters = new Float64Array(binding.MAX_PORTS * binding.COUNTERS);
    this.dpCounters = new Float64Array(binding.MAX_PORTS * DpCtr.Count);
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
  }

  /**
   * A kernel fast path forwards (src/fastpath/ledger.ts): this datapath transmits only what
   * reaches the TAP's fd (what the fast path left to it) and receives only the frames the mode
   * must see, which the fast path has already delivered or dropped. `afterTx` runs after each
   * transmit batch.
   */
  slowPathOnly(on: boolean, afterTx: (() => void) | null = null): void {
    this.slow = on;
    this.afterTx = on ? afterTx : null;
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

  /** This datapath's own count (a kernel fast path's: FastPathLedger.counter). */
  counter(port: number, c: Ctr): number {
    return this.counters[port * (this.counters.length / this.maxPorts) + c];
  }

  dpCounter(port: number, c: DpCtr): number {
    return this.dpCounters[port * DpCtr.Count + c];
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
    this.afterTx?.(); // the buckets the slow path just assigned, to the fast path
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
    if (this.slow) return this.receiveTrapped(port, count);
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
