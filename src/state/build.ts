// Builds the state tree from a bond's parts: read-only, nothing is changed (the kernel's
// PACKET_STATISTICS are read into the counters first). The schema is in ./schema.ts.
import { DpCtr, type Datapath } from '../datapath/datapath.js';
import type { FastPathLedger } from '../fastpath/ledger.js';
import { xmitHash } from '../datapath/hash.js';
import type { Mode } from '../modes/mode.js';
import { Ctr, IFF_PROMISC, IFF_UP } from '../native/types.js';
import { MODE_INFO } from '../options/modes.js';
import type { BondOptions } from '../options/parse.js';
import { MII_STATUS_TEXT } from '../port/link.js';
import type { Port } from '../port/port.js';
import { formatMac } from '../util/mac.js';
import type { BondState, Placement } from './schema.js';

export interface StateSource {
  name: string;
  mac: Uint8Array | undefined;
  mtu: number;
  master: { readonly ifindex: number; readonly carrier: boolean; flags(name: string): number; queueDrops(): number };
  options: Readonly<BondOptions>;
  mode: Mode;
  ports: readonly Port[];
  datapath: Datapath;
  /** The counters and learnt MACs of both paths together. */
  ledger: Pick<FastPathLedger, 'counter' | 'dpCounter' | 'localMacs'>;
  /** BondFastPath.status. */
  path: BondState['bond']['datapath'];
  now: number;
  announcer: { readonly peerNotifications: number; readonly igmpResends: number; readonly learnedAnnouncements: number };
  failovers: number;
}

export function buildState(s: StateSource): BondState {
  for (const p of s.ports) s.datapath.engine.readKernelStats(p.index);
  const dp = s.ledger;
  const counters = (idx: number) => ({
    rx_frames: dp.counter(idx, Ctr.RxFrames),
    rx_bytes: dp.counter(idx, Ctr.RxBytes),
    tx_frames: dp.counter(idx, Ctr.TxFrames),
    tx_bytes: dp.counter(idx, Ctr.TxBytes),
    tx_errors: dp.counter(idx, Ctr.TxErrors),
    rx_truncated: dp.counter(idx, Ctr.RxTruncated),
    rx_kernel_drops: dp.counter(idx, Ctr.RxKernelDrops),
    rx_errors: dp.counter(idx, Ctr.RxErrors),
    rx_malformed: dp.dpCounter(idx, DpCtr.Malformed),
    rx_inactive_dropped: dp.dpCounter(idx, DpCtr.RxInactive),
    rx_trapped: dp.dpCounter(idx, DpCtr.RxTrapped),
  });
  const mode = s.mode;
  const info = MODE_INFO[s.options.mode];
  const tapFlags = s.master.flags(s.name);
  return {
    bond: {
      name: s.name,
      ifindex: s.master.ifindex,
      mac: s.mac ? formatMac(s.mac) : null,
      mtu: s.mtu,
      up: (tapFlags & IFF_UP) !== 0,
      promisc: (tapFlags & IFF_PROMISC) !== 0,
      carrier: s.master.carrier,
      mode: s.options.mode,
      mode_id: info.id,
      active_slave: info.usesPrimary ? (mode.active()?.name ?? null) : null,
      peer_notifications: s.announcer.peerNotifications,
      igmp_resends: s.announcer.igmpResends,
      learned_macs: dp.localMacs(s.now).length,
      learned_mac_announcements: s.announcer.learnedAnnouncements,
      failovers: s.failovers,
      datapath: s.path,
      counters: { ...counters(0), tx_no_slave_dropped: dp.dpCounter(0, DpCtr.TxNoPort), tap_queue_drops: s.master.queueDrops() },
    },
    options: { ...s.options },
    mode: mode.describe(),
    ports: s.ports.map((p) => ({
      name: p.name,
      ifindex: p.ifindex,
      engine_port: p.index,
      perm_hwaddr: formatMac(p.permMac),
      mii_status: MII_STATUS_TEXT[p.link.state],
      carrier: p.carrier,
      link_failure_count: p.link.failureCount,
      actor_port_prio: p.actorPortPrio,
      prio: p.prio,
      speed: p.speed,
      duplex: p.duplex,
      state: mode.isActive(p) ? 'active' : 'backup',
      queue_id: p.queueId,
      promisc: p.promisc,
      multicast: [...p.multicast],
      counters: counters(p.index),
      ...(mode.describePort ? { lacp: mode.describePort(p) } : {}),
    })),
  };
}

/**
 * Where the datapath would send `frame` now, from the published plan and the datapath's own
 * decision (Datapath.peek), changing nothing: the hash and its slot for hashing plans, the
 * fixed port(s) otherwise.
 */
export function placement(dp: Datapath, ports: readonly Port[], frame: Uint8Array): Placement {
  const plan = dp.txPlan;
  const byMask = (m: number) => ports.filter((p) => (m >>> p.index) & 1).map((p) => p.name);
  const each = (masks: Uint32Array) => Array.from(masks, (m) => byMask(m)[0]);
  switch (plan.kind) {
    case 'none':
      return { plan: plan.kind, usable: [], port: null };
    case 'single':
    case 'all':
      return { plan: plan.kind, usable: byMask(plan.mask), port: byMask(plan.mask).join(',') };
    case 'round-robin':
      return { plan: plan.kind, usable: each(plan.masks), port: null };
    case 'hash': {
      const verdict = dp.peek(frame);
      const hash = xmitHash(frame, 0, frame.length, plan.policy);
      const index = hash % plan.masks.length;
      if (plan.neighborMask && verdict === plan.neighborMask && verdict !== plan.masks[index]) {
        return { plan: plan.kind, hash, neighbor: true, usable: each(plan.masks), port: byMask(verdict).join(',') };
      }
      return { plan: plan.kind, hash, index, usable: each(plan.masks), port: byMask(verdict)[0] ?? null };
    }
    case 'tlb':
      return { plan: plan.kind, usable: ports.filter((p) => p.isUp).map((p) => p.name), port: byMask(dp.peek(frame))[0] ?? null };
  }
}
