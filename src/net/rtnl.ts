// rtnetlink message encoding and parsing (NETLINK_ROUTE), over the addon's raw NetlinkSocket.
// Control path only: link events (carrier), addresses, routes, bridges and tc filters.
import { constants as osConstants } from 'node:os';
import type { NativeBinding, NativeNetlinkSocket } from '../native/types.js';

const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;
const RTM_NEWQDISC = 36;
const RTM_DELQDISC = 37;
const RTM_GETQDISC = 38;
const RTM_NEWTFILTER = 44;
const RTM_DELTFILTER = 45;
const RTM_GETTFILTER = 46;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_BPF_OPS_LEN = 4;
const TCA_BPF_OPS = 5;
const TCA_BPF_FD = 6;
const TCA_BPF_NAME = 7;
const TCA_BPF_FLAGS = 8;
/** The name our eBPF filters carry (the kernel fast path without TCX): how a dump tells them apart. */
export const BPF_FILTER_NAME = 'tapbond';
const TCA_BPF_FLAG_ACT_DIRECT = 1;
const TC_H_CLSACT = 0xfffffff1;
const TC_H_CLSACT_INGRESS = 0xfffffff2;
const TC_H_CLSACT_EGRESS = 0xfffffff3;
/** Filter priority of our drop filter, and its handle. */
const STACK_DROP_PREF = 1;
const STACK_DROP_HANDLE = 0x7b01;
const STACK_DROP_INFO = (STACK_DROP_PREF << 16) | 0x0300; // protocol ETH_P_ALL in network byte order
/**
 * The TAP's egress slots: `tx` first (pref 1, where TCX links are missing), `after` last (pref
 * 65535, the verdict after the user's classifiers, while a slave has a queue_id). A filter added
 * without a pref gets one below the last one there, 65534: between the two.
 */
export const EGRESS_SLOTS = {
  tx: { handle: STACK_DROP_HANDLE, info: STACK_DROP_INFO },
  after: { handle: 0x7b02, info: (0xffff << 16) | 0x0300 },
} as const;
export type EgressSlot = keyof typeof EGRESS_SLOTS;
/** 'tapb': loaded into A before the verdict, so a dump tells our filter from anyone else's. */
const STACK_DROP_TAG = 0x74617062;

/** The drop program, two classic BPF instructions: `ld #STACK_DROP_TAG; ret #TC_ACT_SHOT`. */
function stackDropOps(): Uint8Array {
  const ops = new Uint8Array(16);
  const dv = new DataView(ops.buffer);
  dv.setUint16(0, 0x00, true); // BPF_LD | BPF_W | BPF_IMM
  dv.setUint32(4, STACK_DROP_TAG, true);
  dv.setUint16(8, 0x06, true); // BPF_RET | BPF_K
  dv.setUint32(12, 2, true); // TC_ACT_SHOT
  return ops;
}

/** One tc filter of a clsact hook, as a dump lists it. */
export interface TcFilter {
  handle: number;
  pref: number;
  kind: string;
  /** Classic BPF instructions of a `bpf` filter given as ops. */
  ops?: Uint8Array;
  /** The name of a `bpf` filter given as an eBPF program. */
  name?: string;
}

/**
 * True for the filter blockStack() attaches (whichever tapbond process attached it): the classic
 * drop program, or the fast path's receive program by its name.
 */
export function isStackDrop(f: TcFilter): boolean {
  if (f.kind !== 'bpf' || f.handle !== STACK_DROP_HANDLE || f.pref !== STACK_DROP_PREF) return false;
  return (!!f.ops && Buffer.from(f.ops).equals(stackDropOps())) || f.name === BPF_FILTER_NAME;
}

/** Parses an RTM_NEWTFILTER message of a dump. */
export function parseFilter(body: DataView): TcFilter | undefined {
  if (body.byteLength < 20) return undefined;
  const f: TcFilter = { handle: body.getUint32(8, true), pref: body.getUint32(16, true) >>> 16, kind: '' };
  for (const a of attrs(body, 20)) {
    if (a.type === TCA_KIND) f.kind = Buffer.from(a.data).toString('latin1').replace(/\0.*$/, '');
    else if (a.type === TCA_OPTIONS) {
      const nested = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
      for (const o of attrs(nested, 0)) {
        if (o.type === TCA_BPF_OPS) f.ops = Uint8Array.from(o.data);
        else if (o.type === TCA_BPF_NAME) f.name = Buffer.from(o.data).toString('latin1').replace(/\0.*$/, '');
      }
    }
  }
  return f.kind && f.handle ? f : undefined;
}
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV6_IFADDR = 0x100;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_TXQLEN = 13;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_BR_FORWARD_DELAY = 1;
const IFLA_BR_STP_STATE = 5;
const IFLA_LINK = 5;
const IFLA_VLAN_ID = 1;
const IFLA_OPERSTATE = 16;
const IFLA_STATS64 = 23;
const IFLA_CARRIER = 33;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_CACHEINFO = 6;
const IFA_FLAGS = 8;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_TABLE = 15;
const RT_TABLE_MAIN = 254;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;
const RTNH_F_ONLINK = 4;
/** rtm_protocol of the routes a configuration file declares (iproute2's "static"). */
export const RTPROT_STATIC = 4;
/** rtm_protocol of the routes a DHCP lease brings (iproute2's "dhcp"). */
export const RTPROT_DHCP = 16;
export const AF_INET = 2;
export const AF_INET6 = 10;
/** IFA_F_TENTATIVE: an IPv6 address still doing DAD. */
export const IFA_F_TENTATIVE = 0x40;

export interface LinkEvent {
  type: 'new' | 'del';
  ifindex: number;
  flags: number;
  name?: string;
  mtu?: number;
  mac?: Uint8Array;
  carrier?: boolean;
  operstate?: number;
  /** rtnl_link_stats64.tx_dropped: for a TAP, frames the kernel dropped because we lagged. */
  txDropped?: number;
}

/** A unicast route through one interface, as we add, list and delete them. */
export interface Route {
  family: typeof AF_INET | typeof AF_INET6;
  /** The destination (4 or 16 bytes; zeros with dstLen 0 for a default route). */
  dst: Uint8Array;
  dstLen: number;
  /** The next hop; absent for a route straight onto the link. */
  gateway?: Uint8Array;
  oif: number;
  /** Absent: 0, the kernel's default (IPv6 makes it 1024). */
  metric?: number;
  /** Absent: main (254). */
  table?: number;
  onlink?: boolean;
  protocol: number;
}

/** How long an address stays (seconds; absent: forever), as a DHCP lease gives it. */
export interface AddrLifetime {
  validLft: number;
  preferredLft: number;
}

export interface IfAddr {
  ifindex: number;
  family: typeof AF_INET | typeof AF_INET6;
  prefixlen: number;
  scope: number;
  flags: number;
  /** 4 or 16 bytes. */
  address: Uint8Array;
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

/** An rtnetlink request that the kernel refused, shaped like a SystemError. */
export function netlinkError(errno: number, what: string): Error & { code: string; errno: number; syscall: string } {
  const code = errnoNames.get(errno) ?? 'EUNKNOWN';
  const e = new Error(`${what} failed: ${code}`) as Error & { code: string; errno: number; syscall: string };
  e.code = code;
  e.errno = -errno;
  e.syscall = what;
  return e;
}

let seq = 1;

function message(type: number, flags: number, body: Uint8Array): Uint8Array {
  const buf = new Uint8Array(NLMSG_HDRLEN + body.length);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, buf.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq++, true);
  dv.setUint32(12, 0, true);
  buf.set(body, NLMSG_HDRLEN);
  return buf;
}

function attr(type: number, payload: Uint8Array): Uint8Array {
  const len = 4 + payload.length;
  const out = new Uint8Array((len + 3) & ~3);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, len, true);
  dv.setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

function u16(v: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, true);
  return b;
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function cstr(s: string): Uint8Array {
  return Buffer.from(s + '\0', 'latin1');
}

/** struct tcmsg */
function tcmsg(ifindex: number, handle: number, parent: number, info: number): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  dv.setInt32(4, ifindex, true);
  dv.setUint32(8, handle >>> 0, true);
  dv.setUint32(12, parent >>> 0, true);
  dv.setUint32(16, info >>> 0, true);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

interface RawMsg {
  type: number;
  body: DataView;
}

/** Splits datagrams into messages. */
export function* messages(datagram: Uint8Array): Generator<RawMsg> {
  const dv = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= datagram.length) {
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > datagram.length) return;
    yield {
      type: dv.getUint16(off + 4, true),
      body: new DataView(datagram.buffer, datagram.byteOffset + off + NLMSG_HDRLEN, len - NLMSG_HDRLEN),
    };
    off += (len + 3) & ~3;
  }
}

function* attrs(dv: DataView, start: number): Generator<{ type: number; data: Uint8Array }> {
  let off = start;
  while (off + 4 <= dv.byteLength) {
    const len = dv.getUint16(off, true);
    if (len < 4 || off + len > dv.byteLength) return;
    yield { type: dv.getUint16(off + 2, true) & 0x3fff, data: new Uint8Array(dv.buffer, dv.byteOffset + off + 4, len - 4) };
    off += (len + 3) & ~3;
  }
}

/** Parses an RTM_NEWLINK / RTM_DELLINK message body (struct ifinfomsg + attributes). */
export function parseLink(type: number, body: DataView): LinkEvent | undefined {
  if ((type !== RTM_NEWLINK && type !== RTM_DELLINK) || body.byteLength < 16) return undefined;
  const ev: LinkEvent = { type: type === RTM_NEWLINK ? 'new' : 'del', ifindex: body.getInt32(4, true), flags: body.getUint32(8, true) };
  for (const a of attrs(body, 16)) {
    if (a.type === IFLA_IFNAME) ev.name = Buffer.from(a.data).toString('latin1').replace(/\0.*$/, '');
    else if (a.type === IFLA_MTU && a.data.length >= 4) ev.mtu = new DataView(a.data.buffer, a.data.byteOffset).getUint32(0, true);
    else if (a.type === IFLA_ADDRESS && a.data.length === 6) ev.mac = Uint8Array.from(a.data);
    else if (a.type === IFLA_CARRIER && a.data.length >= 1) ev.carrier = a.data[0] !== 0;
    else if (a.type === IFLA_OPERSTATE && a.data.length >= 1) ev.operstate = a.data[0];
    else if (a.type === IFLA_STATS64 && a.data.length >= 64)
      ev.txDropped = Number(new DataView(a.data.buffer, a.data.byteOffset).getBigUint64(56, true));
  }
  return ev;
}

function parseAddr(body: DataView): IfAddr | undefined {
  if (body.byteLength < 8) return undefined;
  const family = body.getUint8(0);
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  const a: IfAddr = {
    family,
    prefixlen: body.getUint8(1),
    flags: body.getUint8(2),
    scope: body.getUint8(3),
    ifindex: body.getUint32(4, true),
    address: new Uint8Array(0),
  };
  let address: Uint8Array | undefined;
  let local: Uint8Array | undefined;
  for (const at of attrs(body, 8)) {
    if (at.type === IFA_ADDRESS) address = Uint8Array.from(at.data);
    else if (at.type === IFA_LOCAL) local = Uint8Array.from(at.data);
    else if (at.type === IFA_FLAGS && at.data.length >= 4) a.flags = new DataView(at.data.buffer, at.data.byteOffset).getUint32(0, true);
  }
  // IFA_LOCAL is the interface's own address on point-to-point links; prefer it when present.
  a.address = local ?? address ?? new Uint8Array(0);
  return a.address.length ? a : undefined;
}

/** struct rtmsg and attributes of a route (add, replace, delete). */
export function routeBody(r: Route): Uint8Array {
  const hdr = new Uint8Array(12);
  const dv = new DataView(hdr.buffer);
  const table = r.table ?? RT_TABLE_MAIN;
  dv.setUint8(0, r.family);
  dv.setUint8(1, r.dstLen);
  dv.setUint8(4, table < 256 ? table : 0); // RT_TABLE_UNSPEC: RTA_TABLE says
  dv.setUint8(5, r.protocol);
  dv.setUint8(6, r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  dv.setUint8(7, RTN_UNICAST);
  dv.setUint32(8, r.onlink ? RTNH_F_ONLINK : 0, true);
  const parts = [hdr, attr(RTA_TABLE, u32(table)), attr(RTA_OIF, u32(r.oif))];
  if (r.dstLen > 0) parts.push(attr(RTA_DST, r.dst));
  if (r.gateway) parts.push(attr(RTA_GATEWAY, r.gateway));
  if (r.metric !== undefined) parts.push(attr(RTA_PRIORITY, u32(r.metric)));
  return concat(parts);
}

/** An RTM_NEWROUTE body as a Route (unicast routes with one interface only). */
export function parseRoute(body: DataView): Route | undefined {
  if (body.byteLength < 12) return undefined;
  const family = body.getUint8(0);
  if ((family !== AF_INET && family !== AF_INET6) || body.getUint8(7) !== RTN_UNICAST) return undefined;
  const dstLen = body.getUint8(1);
  const r: Route = {
    family,
    dst: new Uint8Array(family === AF_INET ? 4 : 16),
    dstLen,
    oif: 0,
    protocol: body.getUint8(5),
    table: body.getUint8(4),
  };
  if (body.getUint32(8, true) & RTNH_F_ONLINK) r.onlink = true;
  for (const a of attrs(body, 12)) {
    const v = a.data.length >= 4 ? new DataView(a.data.buffer, a.data.byteOffset).getUint32(0, true) : 0;
    if (a.type === RTA_DST) r.dst = Uint8Array.from(a.data);
    else if (a.type === RTA_GATEWAY) r.gateway = Uint8Array.from(a.data);
    else if (a.type === RTA_OIF) r.oif = v;
    else if (a.type === RTA_PRIORITY) r.metric = v;
    else if (a.type === RTA_TABLE) r.table = v;
  }
  return r.oif ? r : undefined;
}

function checkAck(replies: Uint8Array[], what: string): void {
  for (const d of replies) {
    for (const m of messages(d)) {
      if (m.type === NLMSG_ERROR && m.body.byteLength >= 4) {
        const err = -m.body.getInt32(0, true);
        if (err !== 0) throw netlinkError(err, what);
      }
    }
  }
}

/** Request side of rtnetlink: dumps and changes, blocking with a short timeout. */
export class Rtnl {
  private readonly sock: NativeNetlinkSocket;
  constructor(binding: NativeBinding) {
    this.sock = new binding.NetlinkSocket(0);
  }

  /** Every IPv4/IPv6 address of one interface (or of all with ifindex 0). */
  addresses(ifindex = 0): IfAddr[] {
    const body = new Uint8Array(8); // struct ifaddrmsg, family AF_UNSPEC
    const replies = this.sock.request(message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, body));
    checkAck(replies, 'RTM_GETADDR');
    const out: IfAddr[] = [];
    for (const d of replies)
      for (const m of messages(d)) {
        if (m.type !== RTM_NEWADDR) continue;
        const a = parseAddr(m.body);
        if (a && (ifindex === 0 || a.ifindex === ifindex)) out.push(a);
      }
    return out;
  }

  deleteAddress(a: IfAddr): void {
    const hdr = new Uint8Array(8);
    const dv = new DataView(hdr.buffer);
    dv.setUint8(0, a.family);
    dv.setUint8(1, a.prefixlen);
    dv.setUint8(3, a.scope);
    dv.setUint32(4, a.ifindex, true);
    const body = concat([hdr, attr(IFA_LOCAL, a.address), attr(IFA_ADDRESS, a.address)]);
    checkAck(this.sock.request(message(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, body)), 'RTM_DELADDR');
  }

  /** Every link of this network namespace (name, MAC, flags). */
  links(): LinkEvent[] {
    const replies = this.sock.request(message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, new Uint8Array(16)));
    checkAck(replies, 'RTM_GETLINK');
    const out: LinkEvent[] = [];
    for (const d of replies)
      for (const m of messages(d)) {
        const ev = parseLink(m.type, m.body);
        if (ev) out.push(ev);
      }
    return out;
  }

  /**
   * Adds an address; with `lifetime` it replaces one that is there (a DHCP lease renewed) and
   * the kernel removes it when the valid lifetime runs out.
   */
  addAddress(
    ifindex: number,
    family: typeof AF_INET | typeof AF_INET6,
    address: Uint8Array,
    prefixlen: number,
    lifetime?: AddrLifetime,
  ): void {
    const hdr = new Uint8Array(8);
    const dv = new DataView(hdr.buffer);
    dv.setUint8(0, family);
    dv.setUint8(1, prefixlen);
    dv.setUint32(4, ifindex, true);
    const parts = [hdr, attr(IFA_LOCAL, address), attr(IFA_ADDRESS, address)];
    if (lifetime) {
      const ci = new Uint8Array(16);
      const cv = new DataView(ci.buffer);
      cv.setUint32(0, lifetime.preferredLft >>> 0, true);
      cv.setUint32(4, lifetime.validLft >>> 0, true);
      parts.push(attr(IFA_CACHEINFO, ci));
    }
    const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (lifetime ? NLM_F_REPLACE : NLM_F_EXCL);
    checkAck(this.sock.request(message(RTM_NEWADDR, flags, concat(parts))), 'RTM_NEWADDR');
  }

  /** Adds a route, or replaces the one with the same destination, metric and table. */
  replaceRoute(r: Route): void {
    checkAck(
      this.sock.request(message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, routeBody(r))),
      'RTM_NEWROUTE',
    );
  }

  /** Deletes a route; one that is gone already is not an error. */
  deleteRoute(r: Route): void {
    try {
      checkAck(this.sock.request(message(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, routeBody(r))), 'RTM_DELROUTE');
    } catch (e) {
      if ((e as { code?: string }).code !== 'ESRCH') throw e;
    }
  }

  /** The unicast routes through `oif` in every table, both families. */
  routes(oif: number): Route[] {
    const body = new Uint8Array(12); // struct rtmsg, family AF_UNSPEC
    const replies = this.sock.request(message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, body));
    checkAck(replies, 'RTM_GETROUTE');
    const out: Route[] = [];
    for (const d of replies)
      for (const m of messages(d)) {
        const r = m.type === RTM_NEWROUTE ? parseRoute(m.body) : undefined;
        if (r && r.oif === oif) out.push(r);
      }
    return out;
  }

  /** Makes a bridge (down) with STP on or off and a forward delay in seconds, where given. */
  newBridge(name: string, o: { stp?: boolean; forwardDelay?: number; mtu?: number }): void {
    const data: Uint8Array[] = [];
    if (o.forwardDelay !== undefined) data.push(attr(IFLA_BR_FORWARD_DELAY, u32(Math.round(o.forwardDelay * 100)))); // clock_t
    if (o.stp !== undefined) data.push(attr(IFLA_BR_STP_STATE, u32(o.stp ? 1 : 0)));
    const info = concat([attr(IFLA_INFO_KIND, cstr('bridge')), ...(data.length ? [attr(IFLA_INFO_DATA, concat(data))] : [])]);
    const parts = [new Uint8Array(16), attr(IFLA_IFNAME, cstr(name)), attr(IFLA_LINKINFO, info)];
    if (o.mtu !== undefined) parts.push(attr(IFLA_MTU, u32(o.mtu)));
    checkAck(
      this.sock.request(message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, concat(parts))),
      'RTM_NEWLINK bridge',
    );
  }

  /** Makes an 802.1Q VLAN `name` with `id` over `parent` (the kernel needs its 8021q module). */
  newVlan(name: string, parent: number, id: number): void {
    const info = concat([attr(IFLA_INFO_KIND, cstr('vlan')), attr(IFLA_INFO_DATA, attr(IFLA_VLAN_ID, u16(id)))]);
    const parts = [new Uint8Array(16), attr(IFLA_IFNAME, cstr(name)), attr(IFLA_LINK, u32(parent)), attr(IFLA_LINKINFO, info)];
    checkAck(
      this.sock.request(message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, concat(parts))),
      'RTM_NEWLINK vlan',
    );
  }

  /** Makes `ifindex` a port of `master` (0: of none). */
  setMaster(ifindex: number, master: number): void {
    this.setLinkU32(ifindex, IFLA_MASTER, master, 'master');
  }

  /** An interface's transmit queue length (`ip link set DEV txqueuelen N`; a TAP's ring of frames). */
  setTxQueueLen(ifindex: number, len: number): void {
    this.setLinkU32(ifindex, IFLA_TXQLEN, len, 'txqueuelen');
  }

  /** RTM_SETLINK of one u32 attribute on `ifindex`. */
  private setLinkU32(ifindex: number, type: number, value: number, what: string): void {
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setInt32(4, ifindex, true);
    checkAck(
      this.sock.request(message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, concat([hdr, attr(type, u32(value))]))),
      `RTM_SETLINK ${what}`,
    );
  }

  /** Deletes an interface (RTM_DELLINK); one that is gone already is not an error. */
  deleteLink(ifindex: number): void {
    const body = new Uint8Array(16);
    new DataView(body.buffer).setInt32(4, ifindex, true);
    try {
      checkAck(this.sock.request(message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, body)), 'RTM_DELLINK');
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENODEV') throw e;
    }
  }

  /** One link's current state as the kernel reports it (flags incl. IFF_LOWER_UP, carrier). */
  link(ifindex: number): LinkEvent | undefined {
    const body = new Uint8Array(16);
    new DataView(body.buffer).setInt32(4, ifindex, true);
    const replies = this.sock.request(message(RTM_GETLINK, NLM_F_REQUEST, body));
    checkAck(replies, 'RTM_GETLINK');
    for (const d of replies)
      for (const m of messages(d)) {
        const ev = parseLink(m.type, m.body);
        if (ev) return ev;
      }
    return undefined;
  }

  /** The filters on one clsact hook of `ifindex` ([] when it has no clsact qdisc). */
  filters(ifindex: number, hook: 'ingress' | 'egress' = 'ingress'): TcFilter[] {
    const parent = hook === 'ingress' ? TC_H_CLSACT_INGRESS : TC_H_CLSACT_EGRESS;
    let replies: Uint8Array[];
    try {
      replies = this.sock.request(message(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, tcmsg(ifindex, 0, parent, 0)));
      checkAck(replies, 'RTM_GETTFILTER');
    } catch {
      return []; // no clsact there (or no such interface)
    }
    const out: TcFilter[] = [];
    for (const d of replies)
      for (const m of messages(d)) {
        const f = m.type === RTM_NEWTFILTER ? parseFilter(m.body) : undefined;
        if (f) out.push(f);
      }
    return out;
  }

  /**
   * Makes a slave's own IP stack blind, as a kernel bond's rx_handler does: a clsact ingress
   * filter whose classic BPF program returns TC_ACT_SHOT. AF_PACKET taps see frames before tc
   * ingress, so the daemon still gets every frame; the slave's stack (which would otherwise
   * answer for the bond's addresses and duplicate them) gets none. Returns what to undo.
   * A drop filter of ours that a dead tapbond left behind is taken over, never duplicated; a
   * filter of someone else's in our slot is an error that says so. With `progFd` the filter is
   * that eBPF program instead (the kernel fast path where TCX links are missing), named
   * BPF_FILTER_NAME, in the same slot: journal, recovery and release treat it alike.
   */
  blockStack(ifindex: number, progFd?: number): StackBlock {
    // false: someone else's clsact, so add only our filter and remove only our filter
    const createdQdisc = this.addClsact(ifindex);
    try {
      this.addBpfFilter(ifindex, TC_H_CLSACT_INGRESS, progFd);
    } catch (e) {
      if ((e as { code?: string }).code === 'EEXIST') {
        const here = this.filters(ifindex);
        if (here.some(isStackDrop)) {
          // left by a tapbond that died: ours; its clsact too when nothing else uses it
          const ownsQdisc = here.length === 1 && this.filters(ifindex, 'egress').length === 0;
          if (progFd !== undefined || !here.some((f) => isStackDrop(f) && !!f.ops)) {
            // this start attaches a program of its own (or the drop filter over a dead fast path's)
            this.unblockStack({ ifindex, createdQdisc: false });
            return { ...this.blockStack(ifindex, progFd), createdQdisc: ownsQdisc, adopted: true };
          }
          return { ifindex, createdQdisc: ownsQdisc, adopted: true };
        }
        throw Object.assign(
          new Error(
            `tc: another program's ingress filter holds pref ${STACK_DROP_PREF} handle 0x${STACK_DROP_HANDLE.toString(16)} (tc filter show dev ... ingress)`,
          ),
          { code: 'EEXIST' },
        );
      }
      if (createdQdisc) this.unblockStack({ ifindex, createdQdisc });
      throw e;
    }
    return { ifindex, createdQdisc };
  }

  /**
   * The fast path's transmit program on a TAP's egress (where TCX links are missing). The filter
   * lives as long as the TAP (deleting the bond removes both): nothing to journal.
   */
  attachEgress(ifindex: number, progFd: number, slot: EgressSlot = 'tx'): void {
    this.addClsact(ifindex);
    // replaced in place when there (a persistent TAP adopted from an earlier bondd)
    this.addBpfFilter(ifindex, TC_H_CLSACT_EGRESS, progFd, false, EGRESS_SLOTS[slot]);
  }

  /**
   * Removes the fast path's filters from a TAP's egress (a bond that now runs without them: an
   * earlier bondd's would go on with its last plan). Returns the slots it removed.
   */
  detachEgress(ifindex: number): EgressSlot[] {
    const done: EgressSlot[] = [];
    const here = this.filters(ifindex, 'egress');
    for (const slot of Object.keys(EGRESS_SLOTS) as EgressSlot[]) {
      const { handle, info } = EGRESS_SLOTS[slot];
      if (!here.some((f) => f.kind === 'bpf' && f.handle === handle && f.pref === info >>> 16 && f.name === BPF_FILTER_NAME)) continue;
      checkAck(
        this.sock.request(
          message(
            RTM_DELTFILTER,
            NLM_F_REQUEST | NLM_F_ACK,
            concat([tcmsg(ifindex, handle, TC_H_CLSACT_EGRESS, info), attr(TCA_KIND, cstr('bpf'))]),
          ),
        ),
        'RTM_DELTFILTER bpf egress',
      );
      done.push(slot);
    }
    return done;
  }

  /**
   * A direct-action `bpf` filter in a slot of ours (pref 1, handle 0x7b01, unless `slot` says
   * otherwise) of a clsact hook: the classic drop program, or the eBPF program `progFd` named
   * BPF_FILTER_NAME.
   */
  private addBpfFilter(
    ifindex: number,
    parent: number,
    progFd?: number,
    exclusive = true,
    slot: { handle: number; info: number } = EGRESS_SLOTS.tx,
  ): void {
    const program =
      progFd === undefined
        ? [attr(TCA_BPF_OPS_LEN, u16(2)), attr(TCA_BPF_OPS, stackDropOps())]
        : [attr(TCA_BPF_FD, u32(progFd)), attr(TCA_BPF_NAME, cstr(BPF_FILTER_NAME))];
    const options = concat([...program, attr(TCA_BPF_FLAGS, u32(TCA_BPF_FLAG_ACT_DIRECT))]);
    checkAck(
      this.sock.request(
        message(
          RTM_NEWTFILTER,
          NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0),
          concat([tcmsg(ifindex, slot.handle, parent, slot.info), attr(TCA_KIND, cstr('bpf')), attr(TCA_OPTIONS, options)]),
        ),
      ),
      parent === TC_H_CLSACT_EGRESS ? 'RTM_NEWTFILTER bpf egress' : 'RTM_NEWTFILTER bpf',
    );
  }

  /** Adds a clsact qdisc; false when the device has one already. */
  private addClsact(ifindex: number): boolean {
    try {
      checkAck(
        this.sock.request(
          message(
            RTM_NEWQDISC,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            concat([tcmsg(ifindex, 0xffff0000, TC_H_CLSACT, 0), attr(TCA_KIND, cstr('clsact'))]),
          ),
        ),
        'RTM_NEWQDISC clsact',
      );
      return true;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      return false;
    }
  }

  /** Undoes blockStack(); a filter or qdisc that is already gone is not an error. */
  unblockStack(b: StackBlock): void {
    const gone = (e: unknown) => ['ENOENT', 'ENODEV', 'EINVAL'].includes((e as { code?: string }).code ?? '');
    try {
      if (b.createdQdisc) {
        checkAck(
          this.sock.request(
            message(
              RTM_DELQDISC,
              NLM_F_REQUEST | NLM_F_ACK,
              concat([tcmsg(b.ifindex, 0xffff0000, TC_H_CLSACT, 0), attr(TCA_KIND, cstr('clsact'))]),
            ),
          ),
          'RTM_DELQDISC clsact',
        );
      } else {
        checkAck(
          this.sock.request(
            message(
              RTM_DELTFILTER,
              NLM_F_REQUEST | NLM_F_ACK,
              concat([tcmsg(b.ifindex, STACK_DROP_HANDLE, TC_H_CLSACT_INGRESS, STACK_DROP_INFO), attr(TCA_KIND, cstr('bpf'))]),
            ),
          ),
          'RTM_DELTFILTER bpf',
        );
      }
    } catch (e) {
      if (!gone(e)) throw e;
    }
  }

  /**
   * Recovery: removes a drop filter of ours from `ifindex` whatever process attached it, and the
   * clsact qdisc with it when `qdisc` says we created it (or, unknown, when nothing else is left
   * on it). Returns what it removed.
   */
  removeStaleBlock(ifindex: number, qdisc: 'ours' | 'theirs' | 'unknown'): string[] {
    const done: string[] = [];
    const ingress = this.filters(ifindex);
    if (ingress.some(isStackDrop)) {
      this.unblockStack({ ifindex, createdQdisc: false });
      done.push('drop filter');
    }
    const empty = this.filters(ifindex).length === 0 && this.filters(ifindex, 'egress').length === 0;
    if ((qdisc === 'ours' || (qdisc === 'unknown' && empty && done.length > 0)) && this.hasClsact(ifindex)) {
      this.unblockStack({ ifindex, createdQdisc: true });
      done.push('clsact qdisc');
    }
    return done;
  }

  /**
   * Whether the interface has a clsact qdisc, from a qdisc dump (a filter dump cannot tell: the
   * kernel answers it with an empty list when there is no qdisc at all).
   */
  hasClsact(ifindex: number): boolean {
    const replies = this.sock.request(message(RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP, tcmsg(0, 0, 0, 0)));
    checkAck(replies, 'RTM_GETQDISC');
    for (const d of replies)
      for (const m of messages(d)) {
        if (m.type !== RTM_NEWQDISC || m.body.byteLength < 20) continue;
        if (m.body.getInt32(4, true) !== ifindex || m.body.getUint32(12, true) !== TC_H_CLSACT) continue;
        for (const a of attrs(m.body, 20))
          if (a.type === TCA_KIND && Buffer.from(a.data).toString('latin1').replace(/\0.*$/, '') === 'clsact') return true;
      }
    return false;
  }

  close(): void {
    this.sock.close();
  }
}

export interface StackBlock {
  ifindex: number;
  createdQdisc: boolean;
  /** Taken over from a tapbond process that died. */
  adopted?: boolean;
}

/** Subscribes to link (and optionally address) events; each parsed event reaches `onLink`. */
export function watchLinks(
  binding: NativeBinding,
  onLink: (ev: LinkEvent) => void,
  onAddr?: (a: IfAddr, added: boolean) => void,
): { close(): void } {
  const groups = RTMGRP_LINK | (onAddr ? RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR : 0);
  const sock = new binding.NetlinkSocket(groups, (d) => {
    for (const m of messages(d)) {
      const ev = parseLink(m.type, m.body);
      if (ev) onLink(ev);
      else if (onAddr && (m.type === RTM_NEWADDR || m.type === RTM_DELADDR)) {
        const a = parseAddr(m.body);
        if (a) onAddr(a, m.type === RTM_NEWADDR);
      }
    }
  });
  return { close: () => sock.close() };
}
