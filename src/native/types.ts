// The whole C++ boundary, typed. Everything the addon exports is declared here; nothing else
// in src/ may assume more of it. src/native/binding.ts is the only loader.
// The addon's errors are shaped like Node's SystemError: code ('EPERM'), errno, syscall, message.

/** Counter slots per engine port, in the shared Float64Array (native/src/engine.h `Counter`). */
export const Ctr = {
  RxFrames: 0,
  RxBytes: 1,
  TxFrames: 2,
  TxBytes: 3,
  TxErrors: 4,
  RxTruncated: 5,
  RxKernelDrops: 6,
  RxErrors: 7,
} as const;
export type Ctr = (typeof Ctr)[keyof typeof Ctr];

export interface EngineOptions {
  /** batchMax slots of slotSize bytes; a frame (vnet header first) sits at offsets[i]. */
  arena: ArrayBuffer;
  offsets: Uint32Array;
  lengths: Uint32Array;
  /** Written by JS in onBatch: bit p set = send frame i to engine port p (port 0 = TAP). */
  verdicts: Uint32Array;
  /** sockaddr_ll pkttype of each received frame (PACKET_HOST, BROADCAST, ...; TAP: OUTGOING). */
  pkttypes: Uint8Array;
  /** MAX_PORTS * COUNTERS slots, see Ctr. */
  counters: Float64Array;
  slotSize: number;
  batchMax: number;
  /** One call per drained batch from engine port `port`, `count` frames. Synchronous. */
  onBatch(port: number, count: number): void;
}

export interface NativeEngine {
  /** Creates TAP `name`, or attaches to a persistent one nobody holds, as engine port 0. */
  openTap(name: string): { ifindex: number; name: string };
  /** AF_PACKET socket on `ifindex` as engine port `index` (1..MAX_PORTS-1). */
  openPacket(index: number, ifindex: number, bufBytes: number): void;
  closePort(index: number): void;
  /** A control frame (no vnet header: the native side prepends a zero one). */
  send(index: number, frame: Uint8Array): boolean;
  setTapCarrier(on: boolean): void;
  /** TUNSETPERSIST: a persistent TAP outlives the process (without carrier while no fd holds it). */
  setTapPersist(on: boolean): void;
  /** Engine port 0 from a TAP fd this process was given (fd store, hand-over, execve); the engine owns it then. */
  adoptTap(fd: number): { ifindex: number; name: string };
  /** A new close-on-exec fd of the TAP, to hand to whoever holds it across this process's end. */
  dupTap(): number;
  setMembership(index: number, add: boolean, type: 'promisc' | 'allmulti' | 'multicast', mac?: Uint8Array): void;
  readKernelStats(index: number): void;
  /** After each batch keep polling every fd for `us` microseconds (0 = off). */
  setBusyPoll(us: number): void;
  /** An eBPF socket filter on slave port `index`'s packet socket (SO_ATTACH_BPF); -1 removes it. */
  attachFilter(index: number, progFd: number): void;
  close(): void;
}

export interface LinkInfo {
  ifindex: number;
  flags: number;
  mtu: number;
  mac: Uint8Array;
  /** ARPHRD_* (1 = Ethernet). */
  type: number;
  /** Mbit/s, -1 when unknown. */
  speed: number;
  duplex: 'full' | 'half' | 'unknown';
  /** ethtool link state, null when the driver does not say. */
  link: boolean | null;
}

export interface NativeNetlinkSocket {
  /** Sends one message and returns every reply datagram up to DONE/ACK. Blocking (2 s timeout). */
  request(msg: Uint8Array): Uint8Array[];
  close(): void;
}

export interface BpfTestRun {
  retval: number;
  /** Nanoseconds per run, as the kernel measured. */
  duration: number;
  /** The frame after the program (rewrites included). */
  data: Uint8Array;
  /** The struct __sk_buff after the program (cb[] included), when a ctx was given. */
  ctx: Uint8Array;
}

/** What BPF_OBJ_GET_INFO_BY_FD tells of a map. */
export interface BpfMapInfo {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** The bpf() syscall, one command per function (native/src/bpf.cc). Fds are the caller's to close. */
export interface NativeBpf {
  bpfMapCreate(type: number, keySize: number, valueSize: number, maxEntries: number, flags: number, name: string): number;
  bpfMapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags: number): void;
  /** False when the key is not in the map. */
  bpfMapLookup(fd: number, key: Uint8Array, value: Uint8Array): boolean;
  /** The key after `key` (the first with null); false at the end. */
  bpfMapNextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean;
  /** A refusal's error carries the verifier's log as `log`. */
  bpfProgLoad(type: number, insns: Uint8Array, license: string, name: string, expectedAttachType: number): number;
  /** BPF_LINK_CREATE on a device (TCX): attached while the returned fd is open. */
  bpfLinkCreate(progFd: number, ifindex: number, attachType: number): number;
  bpfProgTestRun(progFd: number, data: Uint8Array, ctx: Uint8Array | null, repeat: number): BpfTestRun;
  /** How many programs are attached to a device at this attach type (BPF_PROG_QUERY). */
  bpfProgQuery(ifindex: number, attachType: number): number;
  /** BPF_OBJ_PIN: the object stays (a link stays attached) while the file in a bpffs exists. */
  bpfObjPin(fd: number, path: string): void;
  /** BPF_OBJ_GET: a new fd of the object pinned at `path`, or -1 when there is none. */
  bpfObjGet(path: string): number;
  /** BPF_LINK_UPDATE: the link runs `progFd` from the next packet on. */
  bpfLinkUpdate(linkFd: number, progFd: number): void;
  bpfMapInfo(fd: number): BpfMapInfo;
  closeFd(fd: number): void;
}

export interface NativeBinding extends NativeBpf {
  Engine: new (o: EngineOptions) => NativeEngine;
  NetlinkSocket: new (groups?: number, onMessage?: (datagram: Uint8Array) => void) => NativeNetlinkSocket;
  /**
   * With `ethtool` false, only what the kernel answers without the RTNL lock (speed -1, duplex
   * unknown, link null): the kernel holds that lock while it processes a link change.
   */
  linkInfo(name: string, ethtool?: boolean): LinkInfo;
  setMac(name: string, mac: Uint8Array): void;
  setMtu(name: string, mtu: number): void;
  setFlags(name: string, flags: number): void;
  ifName(ifindex: number): string | null;
  /** Pins the main (datapath) thread to these CPUs. */
  setAffinity(cpus: number[]): void;
  /** One datagram to a unix socket ('@name' is abstract): sd_notify. */
  sendUnixDatagram(path: string, data: Uint8Array): void;
  /** Effective capabilities := permitted; returns both (low 32 bits). */
  raiseCaps(): { effective: number; permitted: number };
  /** SO_PEERCRED of a connected unix socket: who is at the other end. */
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  /** One datagram with fds attached (SCM_RIGHTS); '@name' is abstract. The caller keeps its fds. */
  sendFds(path: string, data: Uint8Array, fds: number[]): void;
  /** A unix datagram socket bound at `path`. */
  bindDatagram(path: string): number;
  /** One datagram and the fds it carries, waiting at most `timeoutMs` (blocking); null when none came. */
  recvFds(fd: number, timeoutMs: number): { data: Uint8Array; fds: number[]; truncated: boolean } | null;
  /** Whether `fd` closes on execve. */
  setCloexec(fd: number, on: boolean): void;
  /** Replaces this process (same pid) with `path`; throws only when it cannot. */
  execve(path: string, argv: string[], env: string[]): never;
  /** glibc's mallopt(M_ARENA_MAX, n): threads that first allocate after it share at most n arenas. */
  mallocArenaMax(n: number): boolean;
  readonly COUNTERS: number;
  readonly MAX_PORTS: number;
  readonly VNET_HDR_LEN: number;
  readonly HEADROOM: number;
}

export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_PROMISC = 0x100;
export const IFF_ALLMULTI = 0x200;
export const IFF_LOWER_UP = 0x10000;
export const ARPHRD_ETHER = 1;
