// The kernel fast path: loads native/bpf/tapbond.bpf.o, attaches its programs with TCX links
// (the TAP's egress, every slave's ingress) and a socket filter on each slave's packet socket,
// and turns each published plan into map contents. Plans are written to the generation the
// programs are not reading, then the generation index is flipped: a frame sees one whole plan.
// With a pin directory (a folder in a bpffs) every link and map is pinned there too, so the
// programs stay attached with the last plan when the process ends, and the next bondd adopts
// them: it reuses the maps whose layout has not changed and swaps its own programs into the
// links (BPF_LINK_UPDATE) once its first plan is written. Without one, every link is an fd of
// this process only, and a crash (or close()) detaches every program at once.
// Where TCX is missing (Linux < 6.6), or TAPBOND_BPF_ATTACH=tc asks for it, the programs are tc
// `bpf` filters on clsact instead, attached through the Host: the TAP's goes with the TAP, a
// slave's sits in the drop filter's tagged slot, journalled and removed on recovery like it.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { OffloadCtr, type Offload } from './ledger.js';
import type { RxPlan, TxPlan } from '../datapath/plan.js';
import type { NativeBpf } from '../native/types.js';
import { parseBpfObject, relocate, type BpfObject, type MapDef } from './elf.js';
import { PLAN_MAX_PORTS, PLAN_SIZE, encodePlan } from './plan-encode.js';
import type { StackBlock } from '../net/rtnl.js';

export const BPF_PROG_TYPE_SOCKET_FILTER = 1;
export const BPF_PROG_TYPE_SCHED_CLS = 3;
export const BPF_TCX_INGRESS = 46;
export const BPF_TCX_EGRESS = 47;

/** Slots of `struct counters` (native/bpf/tapbond.bpf.c), per engine port. */
export const KCtr = OffloadCtr;

export const OBJECT_URL = new URL('../../native/bpf/tapbond.bpf.o', import.meta.url);

export class FastPathError extends Error {
  constructor(
    message: string,
    readonly log?: string,
  ) {
    super(message);
  }
}

/** The CPUs a per-CPU map has a value for (/sys/devices/system/cpu/possible). */
export function possibleCpus(text = readFileSync('/sys/devices/system/cpu/possible', 'utf8')): number {
  let n = 0;
  for (const part of text.trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    n = Math.max(n, (b ?? a) + 1);
  }
  return n;
}

function why(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'EPERM') return 'not permitted (loading eBPF needs CAP_BPF and CAP_NET_ADMIN, or root)';
  return (e as Error).message;
}

/** How the programs hang on the devices. */
export type AttachMode = 'tcx' | 'tc';

/** The tc way (the Host's clsact filters), for kernels without TCX links. */
export interface TcAttach {
  /** `after`: tx_after, the last filter on the TAP's egress (queue ids, whatever the attach mode). */
  egress(ifindex: number, progFd: number, slot?: 'tx' | 'after'): void;
  /** A slave's receive program in the stack-block slot; returns what to journal and undo. */
  ingress(ifindex: number, progFd: number): StackBlock;
}

/**
 * Where the pins go: `<bpffs>/tapbond/<netns>/<bond>`. A bpffs is shared by every network
 * namespace that sees the mount, and bond names repeat across namespaces: the namespace's inode
 * number (`stat -L -c %i /proc/self/ns/net`) keeps them apart.
 */
export function pinDirOf(bpffs: string, bond: string, netns: number): string {
  return `${bpffs.replace(/\/+$/, '')}/tapbond/${netns}/${bond}`;
}

/** Removes every pin of a bond (its links detach, its maps go, once nothing else holds them). */
export function unpinAll(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export class KernelPath implements Offload {
  private readonly maps = new Map<string, { fd: number; def: MapDef }>();
  /** Maps taken over from the pins of an earlier process (their contents go on). */
  readonly reused: string[] = [];
  /** Pinned links of an earlier process that get this process's program at the first plan. */
  private readonly swaps: { link: number; prog: 'tx' | 'rx'; what: string; ifindex: number; type: number }[] = [];
  readonly progs = new Map<string, number>();
  /** Programs loaded at their first use (prog()). */
  private readonly lazy = new Map<string, () => number>();
  private tapLink = -1;
  /** TCX links, or tc filters (TcAttach) where TCX is missing or not wanted. */
  attach: AttachMode = 'tcx';
  private readonly slaveLinks = new Map<number, number>();
  /** tx_after is on the TAP's egress (attached at the first plan with queue ids). */
  private after = false;
  /** Why tx_after could not be attached, when it could not (queue ids then do nothing). */
  afterError = '';
  private egress: TcAttach['egress'] | null = null;
  /**
   * The user-space datapath decides every frame: this path only carries out queue ids (a frame's
   * queue mapping is visible to eBPF alone). No receive programs; plans say K_SLOW.
   */
  queuesOnly = false;
  private readonly ifindex = new Uint32Array(PLAN_MAX_PORTS);
  private tapIfindex = 0;
  private gen = 0;
  private tx: TxPlan = { kind: 'none' };
  private rx: RxPlan | null = null;
  private readonly cpus: number;

  private constructor(
    private readonly bpf: NativeBpf,
    obj: BpfObject,
    cpus: number,
    /** The pin directory, or null: nothing outlives the process. */
    readonly pins: string | null,
  ) {
    this.cpus = cpus;
    try {
      if (pins) mkdirSync(pins, { recursive: true, mode: 0o700 });
      for (const def of obj.maps) this.maps.set(def.name, { fd: this.mapFor(def), def });
      const plans = this.maps.get('plans');
      if (!plans || plans.def.valueSize !== PLAN_SIZE)
        throw new FastPathError(`the object's plan is ${plans?.def.valueSize} bytes, src/fastpath/plan-encode.ts writes ${PLAN_SIZE}`);
      const fds = new Map([...this.maps].map(([k, m]) => [k, m.fd]));
      for (const p of obj.programs) {
        const type = p.section.startsWith('socket') ? BPF_PROG_TYPE_SOCKET_FILTER : BPF_PROG_TYPE_SCHED_CLS;
        const load = () => {
          try {
            return bpf.bpfProgLoad(type, relocate(p, fds), obj.license, p.name, 0);
          } catch (e) {
            const log = (e as { log?: string }).log ?? '';
            // the verifier's reason is the last line before its statistics
            const reason = log
              .split('\n')
              .filter((l) => l && !/^(processed|verification time|stack depth)/.test(l))
              .pop();
            const hint = (e as { code?: string }).code === 'EACCES' ? ' (with CAP_BPF, CAP_PERFMON is needed too)' : '';
            throw new FastPathError(`program ${p.name} refused by the verifier${hint}: ${reason ?? why(e)}`, log);
          }
        };
        // tx_after only where a slave has a queue id: its verification costs as much as tx's
        if (p.name === 'tx_after') this.lazy.set(p.name, load);
        else this.progs.set(p.name, load());
      }
      for (const name of ['tx', 'rx', 'slow']) if (!this.progs.has(name)) throw new FastPathError(`the object has no program ${name}`);
      if (!this.lazy.has('tx_after')) throw new FastPathError('the object has no program tx_after');
    } catch (e) {
      this.close();
      throw e instanceof FastPathError ? e : new FastPathError(why(e));
    }
  }

  /**
   * Loads the programs (not yet attached anywhere). With `pins`, maps pinned there by an earlier
   * process are reused when their layout is the same. Throws a FastPathError saying why not.
   */
  static load(
    bpf: NativeBpf,
    object: Uint8Array = readFileSync(OBJECT_URL),
    cpus = possibleCpus(),
    pins: string | null = null,
  ): KernelPath {
    let obj: BpfObject;
    try {
      obj = parseBpfObject(object);
    } catch (e) {
      throw new FastPathError(`${OBJECT_URL.pathname}: ${(e as Error).message}`);
    }
    return new KernelPath(bpf, obj, cpus, pins);
  }

  /** The pinned map of this name when its layout is `def`'s, else a new one (pinned in its place). */
  private mapFor(def: MapDef): number {
    const path = this.pins && `${this.pins}/map-${def.name}`;
    if (path) {
      const old = this.bpf.bpfObjGet(path);
      if (old >= 0) {
        const i = this.bpf.bpfMapInfo(old);
        if (i.type === def.type && i.keySize === def.keySize && i.valueSize === def.valueSize && i.maxEntries === def.maxEntries) {
          this.reused.push(def.name);
          if (def.name === 'gen') this.gen = this.liveGen(old);
          return old;
        }
        this.bpf.closeFd(old);
        rmSync(path, { force: true }); // a new layout: the old programs keep the old map until swapped
      }
    }
    const fd = this.bpf.bpfMapCreate(def.type, def.keySize, def.valueSize, def.maxEntries, def.flags, def.name);
    if (path) this.pin(fd, path);
    return fd;
  }

  /** The plan generation the programs read now (from a reused `gen` map). */
  private liveGen(fd: number): number {
    const v = new Uint8Array(4);
    return this.bpf.bpfMapLookup(fd, new Uint8Array(4), v) ? new DataView(v.buffer).getUint32(0, true) & 1 : 0;
  }

  private pin(fd: number, path: string): void {
    rmSync(path, { force: true });
    this.bpf.bpfObjPin(fd, path);
  }

  /**
   * A TCX link for `prog` on `ifindex`: the one pinned as `name` by an earlier process (its
   * program swapped at the first plan), or a new one, pinned when there is a pin directory.
   */
  private link(name: string, prog: 'tx' | 'rx', ifindex: number, type: number): number {
    const path = this.pins && `${this.pins}/${name}`;
    if (path) {
      const old = this.bpf.bpfObjGet(path);
      if (old >= 0) {
        this.swaps.push({ link: old, prog, what: name, ifindex, type });
        return old;
      }
    }
    const fd = this.bpf.bpfLinkCreate(this.prog(prog), ifindex, type);
    if (path) this.pin(fd, path);
    return fd;
  }

  /**
   * Puts this process's programs into the adopted links (after its first plan is written). A
   * link that cannot take it (its device was deleted and made again: the link is defunct) is
   * replaced by a new one.
   */
  private swapAdopted(): void {
    for (const s of this.swaps.splice(0)) {
      try {
        this.bpf.bpfLinkUpdate(s.link, this.prog(s.prog));
        continue;
      } catch {
        this.bpf.closeFd(s.link);
      }
      const fd = this.bpf.bpfLinkCreate(this.prog(s.prog), s.ifindex, s.type);
      this.pin(fd, `${this.pins}/${s.what}`);
      if (s.what === 'tap') this.tapLink = fd;
      else for (const [port, l] of this.slaveLinks) if (l === s.link) this.slaveLinks.set(port, fd);
    }
  }

  prog(name: 'tx' | 'tx_after' | 'rx' | 'slow'): number {
    let fd = this.progs.get(name);
    if (fd === undefined) {
      fd = this.lazy.get(name)!();
      this.progs.set(name, fd);
    }
    return fd;
  }

  /**
   * Names the ifindex of an engine port (0 = the TAP) in the plans, attaching nothing (what
   * attachTap/attachSlave do first; alone, for BPF_PROG_TEST_RUN).
   */
  describePort(port: number, ifindex: number): void {
    if (port === 0) this.tapIfindex = ifindex;
    else this.ifindex[port] = ifindex;
    this.flush();
  }

  /** Runs a program once on `frame` (BPF_PROG_TEST_RUN); ctx = a struct __sk_buff prefix. */
  testRun(name: 'tx' | 'tx_after' | 'rx' | 'slow', frame: Uint8Array, ctx: Uint8Array | null = null) {
    return this.bpf.bpfProgTestRun(this.prog(name), frame, ctx, 1);
  }

  /**
   * The transmit program on the TAP's egress: a TCX link, or where the kernel has none (EINVAL)
   * or `prefer` says so, a tc filter through `tc`.
   */
  attachTap(ifindex: number, tc?: TcAttach, prefer: AttachMode = 'tcx'): void {
    this.describePort(0, ifindex);
    this.egress = tc ? tc.egress : null;
    if (prefer === 'tcx') {
      try {
        this.tapLink = this.link('tap', 'tx', ifindex, BPF_TCX_EGRESS);
        return;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code !== 'EINVAL' || !tc)
          throw new FastPathError(code === 'EINVAL' ? 'TCX links are not available (Linux 6.6 or later)' : why(e));
      }
    }
    if (!tc) throw new FastPathError('tc attachment asked for, but no way to attach tc filters was given');
    try {
      tc.egress(ifindex, this.prog('tx'));
    } catch (e) {
      throw new FastPathError(`tc bpf filter on the TAP: ${why(e)}`);
    }
    this.attach = 'tc';
    this.tc = tc;
  }

  private tc: TcAttach | null = null;

  /**
   * The receive program on the slave's ingress and the slow-path filter on its packet socket
   * (`filter` attaches it: the engine owns the socket). From here on the slave's own stack sees
   * nothing; closing the link (detachSlave, or the process ending) gives it back. With tc
   * filters, returns the StackBlock to journal and undo (the filter outlives a crash).
   */
  attachSlave(port: number, ifindex: number, filter: (progFd: number) => void): StackBlock | undefined {
    this.describePort(port, ifindex);
    filter(this.prog('slow'));
    if (this.tc) {
      const block = this.tc.ingress(ifindex, this.prog('rx'));
      this.slaveLinks.set(port, -1);
      return block;
    }
    const link = this.link(`rx-${ifindex}`, 'rx', ifindex, BPF_TCX_INGRESS);
    this.slaveLinks.set(port, link);
    return undefined;
  }

  detachSlave(port: number): void {
    const link = this.slaveLinks.get(port);
    if (link !== undefined && link >= 0) this.bpf.closeFd(link); // a tc filter goes with the slave's restore
    if (this.pins && this.ifindex[port]) rmSync(`${this.pins}/rx-${this.ifindex[port]}`, { force: true });
    this.slaveLinks.delete(port);
    this.ifindex[port] = 0;
    this.flush();
  }

  hasSlave(port: number): boolean {
    return this.slaveLinks.has(port);
  }

  ports(): readonly number[] {
    // queue-only: no receive programs, but tx sends to the ports it was told of
    if (this.queuesOnly) return [0, ...[...this.ifindex.keys()].filter((p) => p > 0 && this.ifindex[p])];
    return [0, ...this.slaveLinks.keys()];
  }

  publish(tx: TxPlan, rx: RxPlan): void {
    this.tx = tx;
    this.rx = rx;
    this.flush();
  }

  /**
   * tx_after as the TAP's last egress filter, once a plan has queue ids: from then on tx hands
   * every frame to the clsact filters (the user's classifiers set its queue mapping), and
   * tx_after decides. Replaces an earlier bondd's in place. Stays until the TAP goes.
   */
  private attachAfter(): void {
    if (this.after || this.afterError || !this.tapIfindex) return;
    try {
      if (!this.egress) throw new Error('no way to attach tc filters was given');
      this.egress(this.tapIfindex, this.prog('tx_after'), 'after');
      this.after = true;
    } catch (e) {
      this.afterError = `tc bpf filter tx_after on the TAP's egress: ${why(e)}`;
    }
  }

  /** Writes the current plan into the idle generation, then makes it the live one. */
  private flush(): void {
    if (!this.rx) return;
    if (this.tx.queues) this.attachAfter();
    const next = this.gen ^ 1;
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, next, true);
    const ports = { tapIfindex: this.tapIfindex, ifindex: this.ifindex, after: this.after, queuesOnly: this.queuesOnly };
    this.bpf.bpfMapUpdate(this.fd('plans'), key, encodePlan(this.tx, this.rx, ports), 0);
    this.bpf.bpfMapUpdate(this.fd('gen'), new Uint8Array(4), key, 0);
    this.gen = next;
    if (this.swaps.length) this.swapAdopted();
  }

  private fd(map: string): number {
    return this.maps.get(map)!.fd;
  }

  /** One port's counters (KCtr slots), summed over the CPUs. */
  counters(port: number, out: Float64Array): void {
    this.sumPerCpu('stats', port, out);
  }

  /** Entry `key` of a per-CPU map of u64s, summed over the CPUs into `out` (as many as fit). */
  private sumPerCpu(map: string, key: number, out: Float64Array): void {
    const m = this.maps.get(map)!;
    const stride = (m.def.valueSize + 7) & ~7;
    const buf = new Uint8Array(stride * this.cpus);
    const k = new Uint8Array(4);
    new DataView(k.buffer).setUint32(0, key, true);
    out.fill(0);
    if (!this.bpf.bpfMapLookup(m.fd, k, buf)) return;
    const v = new DataView(buf.buffer);
    const n = Math.min(out.length, m.def.valueSize / 8);
    for (let c = 0; c < this.cpus; c++) for (let i = 0; i < n; i++) out[i] += Number(v.getBigUint64(c * stride + i * 8, true));
  }

  /** Source MACs the transmit program saw within `ageNs` of `nowNs` (CLOCK_MONOTONIC). */
  localMacs(nowNs: bigint, ageNs: bigint): Uint8Array[] {
    // thousands of entries after a failover: plain numbers, no BigInt per entry (a double holds
    // nanoseconds since boot to within a few ns, far finer than the age of a minute compared)
    const fd = this.fd('local');
    const out: Uint8Array[] = [];
    const oldest = Number(nowNs - ageNs);
    let key: Uint8Array | null = null;
    const next = new Uint8Array(8);
    const prev = new Uint8Array(8);
    const seen = new Uint8Array(8);
    const seenAt = new DataView(seen.buffer);
    for (let n = 0; n < 65536 && this.bpf.bpfMapNextKey(fd, key, next); n++) {
      if (this.bpf.bpfMapLookup(fd, next, seen) && seenAt.getUint32(4, true) * 4294967296 + seenAt.getUint32(0, true) >= oldest) {
        // the key is the MAC as a little-endian u64: its first byte is the key's sixth
        out.push(Uint8Array.of(next[5], next[4], next[3], next[2], next[1], next[0]));
      }
      prev.set(next);
      key = prev;
    }
    return out;
  }

  tlbTable(ports: Int8Array): void {
    this.bpf.bpfMapUpdate(this.fd('tlb'), new Uint8Array(4), new Uint8Array(ports.buffer, ports.byteOffset, ports.byteLength), 0);
  }

  tlbBytes(out: Float64Array): void {
    this.sumPerCpu('tlb_bytes', 0, out);
  }

  /**
   * Closes this process's fds. Without pins that detaches every program and frees the maps;
   * with pins the data plane goes on with the last plan (destroy() takes it down).
   */
  close(): void {
    this.swaps.length = 0; // their fds are the tap's and the slaves' links, closed below
    for (const link of this.slaveLinks.values()) if (link >= 0) this.bpf.closeFd(link);
    this.slaveLinks.clear();
    if (this.tapLink >= 0) this.bpf.closeFd(this.tapLink);
    this.tapLink = -1;
    for (const fd of this.progs.values()) this.bpf.closeFd(fd);
    this.progs.clear();
    for (const m of this.maps.values()) this.bpf.closeFd(m.fd);
    this.maps.clear();
  }

  /** Takes the data plane down: the pins go, then the fds (the links detach). */
  destroy(): void {
    if (this.pins) unpinAll(this.pins);
    this.close();
  }
}
