// HOT PATH. One callback per drained batch: frames from the TAP (engine port 0) are
// transmitted by the TxPlan, frames from a slave are delivered by the RxPlan. No allocation,
// closures, Map lookups or async per frame; one switch on plan.kind (kernel __bond_start_xmit).
import { type Ctr, type NativeBinding, type NativeEngine } from '../native/types.js';
import { xmitHash } from './hash.js';
import { ETHERTYPE_CONSUME, ETHERTYPE_NORMAL, TX_NONE, rxPlan, type RxPlan, type TxPlan } from './plan.js';

export const SLOT_SIZE = 65664; // 4 headroom + 10 vnet header + 65535 + 14 + 4, rounded up
export const BATCH_MAX = 64;
const VNET = 10;
const ETH_MIN = 14;

/** Datapath counters kept on the JS side, per engine port (DpCtr.* slots). */
export const DpCtr = {
  Malformed: 0, // shorter than an Ethernet header: counted and dropped
  RxInactive: 1, // received on a port that does not deliver (backup slave)
  RxTrapped: 2, // handed to the mode (LACPDUs, ARP for RLB...)
  TxNoPort: 3, // no usable slave: dropped
  Count: 4,
} as const;
export type DpCtr = (typeof DpCtr)[keyof typeof DpCtr];

export type TrapHandler = (port: number, frame: Uint8Array) => void;

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
  /** When each port last delivered a batch (the ARP monitor's "something arrived"). */
  readonly lastRx: Float64Array;

  private tx: TxPlan = TX_NONE;
  private rx: RxPlan;
  private rrCounter = 0;
  private trap: TrapHandler = () => {};

  constructor(binding: NativeBinding, private readonly now: () => number = () => performance.now()) {
    this.maxPorts = binding.MAX_PORTS;
    this.lastRx = new Float64Array(binding.MAX_PORTS);
    this.arena = new ArrayBuffer(SLOT_SIZE * BATCH_MAX);
    this.bytes = new Uint8Array(this.arena);
    this.counters = new Float64Array(binding.MAX_PORTS * binding.COUNTERS);
    this.dpCounters = new Float64Array(binding.MAX_PORTS * DpCtr.Count);
    this.rx = rxPlan([], [], this.maxPorts);
    this.engine = new binding.Engine({
      arena: this.arena,
      offsets: this.offsets,
      lengths: this.lengths,
      verdicts: this.verdicts,
      pkttypes: this.pkttypes,
      counters: this.counters,
      slotSize: SLOT_SIZE,
      batchMax: BATCH_MAX,
      onBatch: (port, count) => this.onBatch(port, count),
    });
  }

  /** Called by modes (through the bond) between batches. */
  publish(tx: TxPlan, rx: RxPlan): void {
    this.tx = tx;
    this.rx = rx;
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
    const plan = this.tx;
    const v = this.verdicts;
    switch (plan.kind) {
      case 'none':
        for (let i = 0; i < count; i++) v[i] = 0;
        this.dpCounters[DpCtr.TxNoPort] += count;
        return;
      case 'single':
      case 'all':
        for (let i = 0; i < count; i++) {
          if (this.lengths[i] >= VNET + ETH_MIN) v[i] = plan.mask;
          else {
            v[i] = 0;
            this.dpCounters[DpCtr.Malformed]++;
          }
        }
        return;
      case 'hash': {
        const n = plan.masks.length;
        const nm = plan.neighborMask ?? 0;
        for (let i = 0; i < count; i++) {
          const len = this.lengths[i];
          if (len < VNET + ETH_MIN) {
            v[i] = 0;
            this.dpCounters[DpCtr.Malformed]++;
            continue;
          }
          if (nm !== 0 && this.isNeighbor(this.offsets[i] + VNET, len - VNET)) {
            v[i] = nm;
            continue;
          }
          v[i] = plan.masks[xmitHash(this.bytes, this.offsets[i] + VNET, len - VNET, plan.policy) % n];
        }
        return;
      }
      case 'round-robin': {
        const n = plan.masks.length;
        const per = plan.perPort;
        for (let i = 0; i < count; i++) {
          if (this.lengths[i] < VNET + ETH_MIN) {
            v[i] = 0;
            this.dpCounters[DpCtr.Malformed]++;
            continue;
          }
          if (this.isIgmp(this.offsets[i] + VNET, this.lengths[i] - VNET)) {
            v[i] = plan.igmpMask; // kernel compat: bond_xmit_roundrobin sends IGMP via curr_active
            continue;
          }
          let slot: number;
          if (per === 1) slot = this.rrCounter++;
          else if (per === 0) slot = (Math.random() * 0x7fffffff) | 0; // packets_per_slave=0: random slave
          else slot = Math.floor(this.rrCounter++ / per);
          v[i] = plan.masks[slot % n];
        }
        if (this.rrCounter > 0x3fffffff) this.rrCounter = 0;
        return;
      }
    }
  }

  /** Offset of the L3 header found by the last innerEthertype() call. */
  private l3 = 0;

  /**
   * The EtherType after at most one VLAN tag (the kernel sees an offloaded tag as metadata); a
   * tagged frame too short to hold the inner EtherType keeps the tag's. Sets `l3`.
   */
  private innerEthertype(off: number, len: number): number {
    const b = this.bytes;
    let et = (b[off + 12] << 8) | b[off + 13];
    this.l3 = off + 14;
    if ((et === 0x8100 || et === 0x88a8) && len >= ETH_MIN + 4) {
      et = (b[off + 16] << 8) | b[off + 17];
      this.l3 += 4;
    }
    return et;
  }

  /** ARP, or an IPv6 neighbour solicitation/advertisement. */
  private isNeighbor(off: number, len: number): boolean {
    const et = this.innerEthertype(off, len);
    const b = this.bytes;
    if (et === 0x0806) return true;
    return et === 0x86dd && this.l3 + 41 <= off + len && b[this.l3 + 6] === 58 && (b[this.l3 + 40] === 135 || b[this.l3 + 40] === 136);
  }

  /** IPv4 IGMP (protocol 2). */
  private isIgmp(off: number, len: number): boolean {
    return this.innerEthertype(off, len) === 0x0800 && this.l3 + 10 <= off + len && this.bytes[this.l3 + 9] === 2;
  }

  private receive(port: number, count: number): void {
    this.lastRx[port] = this.now(); // once per batch
    const rx = this.rx;
    const deliver = rx.deliver[port] === 1;
    const ets = rx.ethertypes;
    const b = this.bytes;
    const v = this.verdicts;
    const base = port * DpCtr.Count;
    for (let i = 0; i < count; i++) {
      const len = this.lengths[i];
      if (len < VNET + ETH_MIN) {
        v[i] = 0;
        this.dpCounters[base + DpCtr.Malformed]++;
        continue;
      }
      const off = this.offsets[i] + VNET;
      const how = ets[this.innerEthertype(off, len - VNET)];
      if (how !== ETHERTYPE_NORMAL) {
        this.dpCounters[base + DpCtr.RxTrapped]++;
        this.trap(port, b.subarray(off, this.offsets[i] + len)); // slow path: control frames only
        if (how === ETHERTYPE_CONSUME) {
          v[i] = 0;
          continue;
        }
      }
      if (deliver) v[i] = 1;
      else {
        v[i] = 0;
        this.dpCounters[base + DpCtr.RxInactive]++;
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
