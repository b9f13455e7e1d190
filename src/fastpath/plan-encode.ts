// TxPlan and RxPlan as the bytes of the eBPF programs' `struct plan` (native/bpf/tapbond.bpf.c).
// Pure. balance-tlb/alb buckets live in a map of their own (KernelPath.tlbTable): a frame whose
// bucket is not assigned yet, and balance-alb's ARP, go to the JavaScript datapath.
import { DELIVER_NONE, ETHERTYPE_NORMAL, type RxPlan, type TxPlan } from '../datapath/plan.js';

export const PLAN_MAX_PORTS = 32;
const MAX_ET = 8;

export const K_NONE = 0;
export const K_SINGLE = 1;
export const K_RR = 2;
export const K_ALL = 3;
export const K_HASH = 4;
export const K_SLOW = 5;
export const K_TLB = 6;
const TLB_ALB = 1;
const TLB_DYNAMIC = 2;
const TLB_TRAP_ARP = 4;

// struct plan field offsets
const O = {
  kind: 0,
  mask: 4,
  nmasks: 8,
  policy: 12,
  perPort: 16,
  igmpMask: 20,
  neighborMask: 24,
  tapIfindex: 28,
  masks: 32,
  ifindex: 32 + 4 * PLAN_MAX_PORTS,
  deliver: 32 + 8 * PLAN_MAX_PORTS,
  bondMac: 32 + 9 * PLAN_MAX_PORTS,
  rewriteN: 40 + 9 * PLAN_MAX_PORTS,
  rewriteMacs: 44 + 9 * PLAN_MAX_PORTS,
  nEt: 44 + 15 * PLAN_MAX_PORTS,
  et: 48 + 15 * PLAN_MAX_PORTS,
  etHow: 48 + 15 * PLAN_MAX_PORTS + 2 * MAX_ET,
  tlbFlags: 48 + 15 * PLAN_MAX_PORTS + 3 * MAX_ET,
  tlbActive: 52 + 15 * PLAN_MAX_PORTS + 3 * MAX_ET,
  tlbUsable: 56 + 15 * PLAN_MAX_PORTS + 3 * MAX_ET,
  tlbBondMac: 60 + 15 * PLAN_MAX_PORTS + 3 * MAX_ET,
  portMacs: 68 + 15 * PLAN_MAX_PORTS + 3 * MAX_ET,
  qTxq: 68 + 21 * PLAN_MAX_PORTS + 3 * MAX_ET,
  qUp: 72 + 21 * PLAN_MAX_PORTS + 3 * MAX_ET,
  qAfter: 76 + 21 * PLAN_MAX_PORTS + 3 * MAX_ET,
  qid: 80 + 21 * PLAN_MAX_PORTS + 3 * MAX_ET,
} as const;
/** sizeof(struct plan), checked against the object's map definition at load. */
export const PLAN_SIZE = O.qid + PLAN_MAX_PORTS;

export interface PlanPorts {
  tapIfindex: number;
  /** ifindex by engine port (0 = not attached). */
  ifindex: ArrayLike<number>;
  /** tx_after is attached: with queue ids, tx hands frames on to the user's classifiers. */
  after?: boolean;
  /** The user-space datapath decides every frame but those a queue id sends (K_SLOW). */
  queuesOnly?: boolean;
}

export class PlanEncodeError extends Error {}

export function encodePlan(tx: TxPlan, rx: RxPlan, ports: PlanPorts): Uint8Array {
  const buf = new Uint8Array(PLAN_SIZE);
  const v = new DataView(buf.buffer);
  const u32 = (o: number, x: number) => v.setUint32(o, x >>> 0, true);
  const masks = (m: Uint32Array) => {
    if (m.length > PLAN_MAX_PORTS) throw new PlanEncodeError(`${m.length} usable-port entries: at most ${PLAN_MAX_PORTS}`);
    u32(O.nmasks, m.length);
    m.forEach((x, i) => u32(O.masks + 4 * i, x));
  };
  switch (tx.kind) {
    case 'none':
      u32(O.kind, K_NONE);
      break;
    case 'single':
      u32(O.kind, K_SINGLE);
      u32(O.mask, tx.mask);
      break;
    case 'all':
      u32(O.kind, K_ALL);
      u32(O.mask, tx.mask);
      break;
    case 'hash':
      u32(O.kind, K_HASH);
      masks(tx.masks);
      u32(O.policy, tx.policy);
      u32(O.neighborMask, tx.neighborMask ?? 0);
      break;
    case 'round-robin':
      u32(O.kind, K_RR);
      masks(tx.masks);
      u32(O.perPort, tx.perPort);
      u32(O.igmpMask, tx.igmpMask);
      break;
    case 'tlb': {
      u32(O.kind, K_TLB);
      u32(O.mask, tx.activeMask);
      masks(tx.masks);
      u32(O.policy, tx.policy);
      u32(O.tlbFlags, (tx.alb ? TLB_ALB : 0) | (tx.dynamic ? TLB_DYNAMIC : 0) | (tx.trapArp ? TLB_TRAP_ARP : 0));
      u32(O.tlbActive, tx.active);
      u32(
        O.tlbUsable,
        tx.masks.reduce((m, x) => m | x, 0),
      );
      buf.set(tx.bondMac.subarray(0, 6), O.tlbBondMac);
      buf.set(tx.portMacs.subarray(0, 6 * PLAN_MAX_PORTS), O.portMacs);
      break;
    }
  }
  if (ports.queuesOnly) u32(O.kind, K_SLOW);
  if (tx.queues) {
    u32(O.qTxq, tx.queues.txQueues);
    u32(O.qUp, tx.queues.upMask);
    u32(O.qAfter, ports.after ? 1 : 0);
    buf.set(tx.queues.ids.subarray(0, PLAN_MAX_PORTS), O.qid);
  }
  u32(O.tapIfindex, ports.tapIfindex);
  for (let p = 0; p < Math.min(PLAN_MAX_PORTS, ports.ifindex.length); p++) u32(O.ifindex + 4 * p, ports.ifindex[p]);
  for (let p = 0; p < Math.min(PLAN_MAX_PORTS, rx.deliver.length); p++) buf[O.deliver + p] = rx.deliver[p] ?? DELIVER_NONE;
  if (rx.rewrite) {
    const n = Math.min(PLAN_MAX_PORTS, Math.floor(rx.rewrite.macs.length / 6));
    buf.set(rx.rewrite.bondMac.subarray(0, 6), O.bondMac);
    u32(O.rewriteN, n);
    buf.set(rx.rewrite.macs.subarray(0, n * 6), O.rewriteMacs);
  }
  let n = 0;
  for (let et = 0; et < rx.ethertypes.length; et++) {
    const how = rx.ethertypes[et];
    if (how === ETHERTYPE_NORMAL) continue;
    if (n === MAX_ET) throw new PlanEncodeError(`more than ${MAX_ET} trapped EtherTypes`);
    v.setUint16(O.et + 2 * n, et, true);
    buf[O.etHow + n] = how;
    n++;
  }
  u32(O.nEt, n);
  return buf;
}
