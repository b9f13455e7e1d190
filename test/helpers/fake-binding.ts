// An in-memory NativeBinding (and Host) for tests and non-Linux development: links are plain
// records, the engine copies injected frames into the shared arena, calls onBatch exactly as
// the native engine does, and records where each verdict sent them.
import type { Host } from '../../src/host/host.js';
import type { IfAddr, StackBlock } from '../../src/net/rtnl.js';
import { ipBytes } from '../../src/util/mac.js';
import {
  ARPHRD_ETHER,
  IFF_RUNNING,
  IFF_UP,
  type EngineOptions,
  type LinkInfo,
  type NativeBinding,
  type NativeBpf,
  type NativeEngine,
} from '../../src/native/types.js';

const MAX_PORTS = 32;
const COUNTERS = 8;
const VNET = 10;
const HEADROOM = 4;

export interface FakeLink extends Omit<LinkInfo, 'link'> {
  name: string;
  carrier: boolean;
}

export class FakeEngine implements NativeEngine {
  readonly ports = new Map<number, { ifindex: number; name: string }>();
  /** Frames that left through each engine port (control sends and verdicts), without vnet header. */
  readonly out = new Map<number, Uint8Array[]>();
  readonly memberships: string[] = [];
  tapCarrier = false;
  closed = false;

  constructor(
    private readonly net: FakeNet,
    private readonly o: EngineOptions,
  ) {}

  openTap(name: string): { ifindex: number; name: string } {
    // a persistent TAP nobody holds is attached to, as the kernel does
    const l = this.net.persistent.has(name) ? this.net.links.get(name)! : this.net.addLink(name, { type: ARPHRD_ETHER });
    this.ports.set(0, { ifindex: l.ifindex, name });
    return { ifindex: l.ifindex, name };
  }

  openPacket(index: number, ifindex: number): void {
    const l = [...this.net.links.values()].find((x) => x.ifindex === ifindex);
    if (!l) throw Object.assign(new Error('bind failed: ENODEV'), { code: 'ENODEV' });
    this.ports.set(index, { ifindex, name: l.name });
  }

  closePort(index: number): void {
    this.ports.delete(index);
  }

  send(index: number, frame: Uint8Array): boolean {
    if (!this.ports.has(index)) return false;
    this.record(index, Uint8Array.from(frame));
    return true;
  }

  setTapCarrier(on: boolean): void {
    this.tapCarrier = on;
  }

  adoptTap(fd: number): { ifindex: number; name: string } {
    const name = this.net.fds.get(fd);
    const l = name ? this.net.links.get(name) : undefined;
    if (!l) throw Object.assign(new Error('ioctl failed: TUNGETIFF (not a TAP fd) (EBADFD)'), { code: 'EBADFD' });
    this.net.fds.delete(fd);
    this.ports.set(0, { ifindex: l.ifindex, name: l.name });
    return { ifindex: l.ifindex, name: l.name };
  }

  dupTap(): number {
    const tap = this.ports.get(0);
    if (!tap) throw Object.assign(new Error('dupTap failed: EBADF'), { code: 'EBADF' });
    const fd = 100 + this.net.fds.size + Math.floor(Math.random() * 1e6);
    this.net.fds.set(fd, tap.name);
    return fd;
  }

  setTapPersist(on: boolean): void {
    const tap = this.ports.get(0);
    if (!tap) return;
    if (on) this.net.persistent.add(tap.name);
    else this.net.persistent.delete(tap.name);
  }

  setMembership(index: number, add: boolean, type: string, mac?: Uint8Array): void {
    this.memberships.push(`${index} ${add ? '+' : '-'}${type}${mac ? ' ' + Buffer.from(mac).toString('hex') : ''}`);
  }

  readKernelStats(): void {}

  setBusyPoll(): void {}

  attachFilter(): void {}

  close(): void {
    this.closed = true;
    const tap = this.ports.get(0);
    if (tap && !this.net.persistent.has(tap.name)) this.net.links.delete(tap.name);
    this.ports.clear();
  }

  /** Frames arrive on engine port `port` (0 = written by the kernel to the TAP, i.e. transmit). */
  inject(port: number, frames: readonly Uint8Array[]): void {
    const o = this.o;
    const bytes = new Uint8Array(o.arena);
    for (let start = 0; start < frames.length; start += o.batchMax) {
      const batch = frames.slice(start, start + o.batchMax);
      batch.forEach((f, i) => {
        const off = i * o.slotSize + HEADROOM;
        bytes.fill(0, off, off + VNET);
        bytes.set(f, off + VNET);
        o.offsets[i] = off;
        o.lengths[i] = VNET + f.length;
        o.pkttypes[i] = 0;
        o.counters[port * COUNTERS] += 1;
        o.counters[port * COUNTERS + 1] += VNET + f.length;
      });
      o.onBatch(port, batch.length);
      for (let i = 0; i < batch.length; i++) {
        for (let q = 0; q < MAX_PORTS; q++) {
          if (!((o.verdicts[i] >>> q) & 1) || !this.ports.has(q)) continue;
          this.record(q, bytes.slice(o.offsets[i] + VNET, o.offsets[i] + o.lengths[i]));
        }
      }
    }
  }

  /** Takes (and forgets) what left through a port. */
  take(port: number): Uint8Array[] {
    const f = this.out.get(port) ?? [];
    this.out.set(port, []);
    return f;
  }

  private record(port: number, frame: Uint8Array): void {
    if (!this.out.has(port)) this.out.set(port, []);
    this.out.get(port)!.push(frame);
    this.o.counters[port * COUNTERS + 2] += 1;
    this.o.counters[port * COUNTERS + 3] += frame.length + VNET;
  }
}

/** The in-memory machine has no kernel: every bpf() call fails as on a kernel without eBPF. */
const enosys = (): never => {
  throw Object.assign(new Error('bpf failed: Function not implemented (ENOSYS)'), { code: 'ENOSYS', syscall: 'bpf' });
};
const noBpf: NativeBpf = {
  bpfMapCreate: enosys,
  bpfMapUpdate: enosys,
  bpfMapLookup: enosys,
  bpfMapNextKey: enosys,
  bpfProgLoad: enosys,
  bpfLinkCreate: enosys,
  bpfProgTestRun: enosys,
  bpfProgQuery: enosys,
  bpfObjPin: enosys,
  bpfObjGet: enosys,
  bpfLinkUpdate: enosys,
  bpfMapInfo: enosys,
  closeFd: () => {},
};

/** The fake machine: links, addresses, sysctls. */
export class FakeNet {
  readonly links = new Map<string, FakeLink>();
  readonly addrs: IfAddr[] = [];
  readonly sysctls = new Map<string, string>();
  /** /proc/sys mounted read-only (a container). */
  readOnlySysctls = false;
  readonly multicast = new Map<string, string[]>();
  readonly blocked = new Set<number>();
  /** TAPs made persistent (TUNSETPERSIST): they outlive their engine. */
  readonly persistent = new Set<string>();
  readonly aliases = new Map<string, string>();
  /** TAP fds handed out by dupTap() (fd -> TAP name) and not yet adopted or closed. */
  readonly fds = new Map<number, string>();
  readonly igmp = new Map<string, Uint8Array[]>();
  readonly mld = new Map<string, Uint8Array[]>();
  /** Datagrams sent to unix sockets (sd_notify). */
  readonly datagrams: { path: string; text: string; fds?: number[] }[] = [];
  engine: FakeEngine | undefined;
  private nextIfindex = 2;

  addLink(name: string, p: Partial<FakeLink> = {}): FakeLink {
    const ifindex = this.nextIfindex++;
    const l: FakeLink = {
      ifindex,
      name,
      flags: 0x1002, // BROADCAST|MULTICAST, down
      mtu: 1500,
      mac: Uint8Array.of(0x02, 0, 0, 0, 0, ifindex),
      type: ARPHRD_ETHER,
      speed: 10000,
      duplex: 'full',
      carrier: true,
      ...p,
    };
    this.links.set(name, l);
    this.sysctls.set(`net/ipv6/conf/${name}/disable_ipv6`, '0');
    return l;
  }

  setCarrier(name: string, on: boolean): void {
    this.link(name).carrier = on;
  }

  link(name: string): FakeLink {
    const l = this.links.get(name);
    if (!l)
      throw Object.assign(new Error(`ioctl SIOCGIFINDEX ${name} failed: No such device (ENODEV)`), {
        code: 'ENODEV',
        errno: -19,
        syscall: 'ioctl',
      });
    return l;
  }

  binding(): NativeBinding {
    // the code under test constructs Engine with EngineOptions only: the class closes over its net
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const net = this;
    class Engine extends FakeEngine {
      constructor(o: EngineOptions) {
        super(net, o);
        net.engine = this;
      }
    }
    class NetlinkSocket {
      request(): Uint8Array[] {
        return [];
      }
      close(): void {}
    }
    return {
      Engine,
      NetlinkSocket,
      linkInfo: (name: string): LinkInfo => {
        const l = net.link(name);
        const running = l.flags & IFF_UP && l.carrier ? IFF_RUNNING : 0;
        return {
          ifindex: l.ifindex,
          flags: (l.flags & ~IFF_RUNNING) | running,
          mtu: l.mtu,
          mac: Uint8Array.from(l.mac),
          type: l.type,
          speed: l.speed,
          duplex: l.duplex,
          link: l.carrier,
        };
      },
      setMac: (name: string, mac: Uint8Array) => void (net.link(name).mac = Uint8Array.from(mac)),
      setMtu: (name: string, mtu: number) => void (net.link(name).mtu = mtu),
      setFlags: (name: string, flags: number) => void (net.link(name).flags = flags & 0xffff),
      setAffinity: () => {},
      raiseCaps: () => ({ effective: 0x3000, permitted: 0x3000 }),
      peerCred: () => ({ pid: process.pid, uid: 0, gid: 0 }),
      mallocArenaMax: () => true,
      sendUnixDatagram: (path: string, data: Uint8Array) => void net.datagrams.push({ path, text: Buffer.from(data).toString() }),
      sendFds: (path: string, data: Uint8Array, fds: number[]) =>
        void net.datagrams.push({ path, text: Buffer.from(data).toString(), fds: [...fds] }),
      bindDatagram: enosys,
      recvFds: enosys,
      setCloexec: () => {},
      execve: enosys,
      ifName: (i: number) => [...net.links.values()].find((l) => l.ifindex === i)?.name ?? null,
      ...noBpf,
      COUNTERS,
      MAX_PORTS,
      VNET_HDR_LEN: VNET,
      HEADROOM,
    };
  }

  host(): Host {
    const binding = this.binding();
    return {
      binding,
      addresses: (ifindex) => this.addrs.filter((a) => a.ifindex === ifindex),
      deleteAddress: (a) => {
        const i = this.addrs.indexOf(a);
        if (i >= 0) this.addrs.splice(i, 1);
      },
      addAddress: (ifindex, address, prefixlen) => {
        const bytes = ipBytes(address);
        this.addrs.push({ ifindex, family: bytes.length === 4 ? 2 : 10, prefixlen, scope: 0, flags: 0, address: bytes });
      },
      readSysctl: (p) => this.sysctls.get(p) ?? null,
      writeSysctl: (p, v) => {
        if (this.readOnlySysctls) throw Object.assign(new Error(`EROFS: read-only file system, open '/proc/sys/${p}'`), { code: 'EROFS' });
        this.sysctls.set(p, v);
      },
      multicastList: (n) => this.multicast.get(n) ?? [],
      tapDrops: () => 0,
      setTxQueueLen: () => {},
      igmpGroups: (n) => ({ version: 3 as const, groups: this.igmp.get(n) ?? [] }),
      mldGroups: (n) => ({ version: 2 as const, groups: this.mld.get(n) ?? [] }),
      blockStack: (ifindex): StackBlock => {
        this.blocked.add(ifindex);
        return { ifindex, createdQdisc: true };
      },
      unblockStack: (b) => void this.blocked.delete(b.ifindex),
      attachEgress: () => {},
      detachEgress: () => [],
      deleteLink: (ifindex) => {
        for (const [n, l] of this.links) {
          if (l.ifindex !== ifindex) continue;
          this.links.delete(n);
          this.persistent.delete(n);
        }
      },
      setAlias: (name, alias) => void this.aliases.set(name, alias),
      tapState: (name) =>
        this.links.has(name) && this.engine?.ports.get(0)?.name === name
          ? { persistent: this.persistent.has(name), alias: this.aliases.get(name) ?? '' }
          : this.persistent.has(name)
            ? { persistent: true, alias: this.aliases.get(name) ?? '' }
            : null,
      hasClsact: (ifindex) => this.blocked.has(ifindex),
      removeStaleBlock: (ifindex) => (this.blocked.delete(ifindex) ? ['drop filter'] : []),
      close: () => {},
    };
  }
}
