// The L3 a host's files declare around a bond (addresses, routes, DHCP, DNS, a bridge), the
// record of what bondd did about it, and the operations that do it: shared by the applier
// (netconf.ts), the DHCP hook (dhcp.ts) and the DNS hand-off (dns.ts). Pure.
import { AF_INET, AF_INET6, RTPROT_STATIC, type AddrLifetime, type Route } from '../net/rtnl.js';
import { ipBytes } from '../util/mac.js';

export interface Cidr {
  address: string;
  prefixlen: number;
}

/** A static route a file declares, checked by the reader (addresses are valid, family agrees). */
export interface RouteDecl {
  /** "default" or a prefix "198.18.9.0/24". */
  to: string;
  family: 4 | 6;
  via?: string;
  metric?: number;
  onlink?: boolean;
  table?: number;
  /** The file and line (for the log when the kernel refuses it). */
  where?: string;
}

/** How DNS servers were handed to the host: resolvconf, systemd-resolved, or nobody (logged). */
export type DnsHandoff = 'resolvconf' | 'resolved';

export interface DnsDecl {
  servers: string[];
  search: string[];
}

/** The L3 of one interface (the bond, or the bridge over it). */
export interface L3Decl {
  addresses: Cidr[];
  routes: RouteDecl[];
  dhcp4: boolean;
  dhcp6: boolean;
  /** IPv6 router advertisements: accepted (true), refused (false), the kernel's default (absent). */
  acceptRa?: boolean;
  /** The metric of the default route a DHCP lease brings (absent: the kernel's). */
  dhcpMetric?: number;
  dns: DnsDecl;
}

export interface BridgeDecl {
  name: string;
  stp?: boolean;
  /** Seconds. */
  forwardDelay?: number;
  mtu?: number;
  /** Other interfaces the files make ports of the bridge (guests' taps, a second NIC). */
  ports: string[];
  l3: L3Decl;
  where?: string;
}

/** An 802.1Q VLAN a file declares over the bond. */
export interface VlanDecl {
  name: string;
  id: number;
  where?: string;
}

/** Everything a bond's files declare around it, beyond the bond itself. */
export interface HostNetDecl {
  /** The bond's own L3; its addresses are the bond's `addresses`. */
  bond: L3Decl;
  /** A bridge over the bond. */
  bridge?: BridgeDecl;
  /** VLANs over the bond: made where the kernel has 8021q (their L3 is the host's tools'). */
  vlans?: VlanDecl[];
}

export function emptyL3(): L3Decl {
  return { addresses: [], routes: [], dhcp4: false, dhcp6: false, dns: { servers: [], search: [] } };
}

export function hasL3(l: L3Decl): boolean {
  return !!(
    l.addresses.length ||
    l.routes.length ||
    l.dhcp4 ||
    l.dhcp6 ||
    l.acceptRa !== undefined ||
    l.dns.servers.length ||
    l.dns.search.length
  );
}

/** Whether anything at all is declared around the bond. */
export function declaresNet(n: HostNetDecl): boolean {
  return hasL3(n.bond) || !!n.bridge || !!n.vlans?.length;
}

/** What bondd did around a bond: what taking it down undoes (kept in the journal). */
export interface HostNetRecord {
  /** The bridge over the bond; `made`: bondd created it (and deletes it with the bond). */
  bridge?: { name: string; made: boolean };
  /** Ports bondd joined to a bridge it did not make (released again). */
  ports: string[];
  addresses: { ifname: string; address: string; prefixlen: number }[];
  routes: (RouteDecl & { ifname: string })[];
  dhcp: { ifname: string; family: 4 | 6; pid: number; client: string }[];
  dns: { ifname: string; via: DnsHandoff }[];
}

export function emptyRecord(): HostNetRecord {
  return { ports: [], addresses: [], routes: [], dhcp: [], dns: [] };
}

/** The link and address operations the applier needs (netlink and sysfs; a fake in tests). */
export interface NetOps {
  ifindex(name: string): number | null;
  /** The bridge (or bond) `name` is a port of, or null. */
  masterOf(name: string): string | null;
  addresses(ifindex: number): Cidr[];
  addAddress(ifindex: number, a: Cidr, lifetime?: AddrLifetime): void;
  deleteAddress(ifindex: number, a: Cidr): void;
  replaceRoute(r: Route): void;
  deleteRoute(r: Route): void;
  newBridge(name: string, o: { stp?: boolean; forwardDelay?: number; mtu?: number }): void;
  newVlan(name: string, parent: string, id: number): void;
  setMaster(name: string, master: string | null): void;
  setUp(name: string): void;
  /** Whether `name` is running (carrier, IFF_RUNNING): a DHCP client starts once it is. */
  carrier(name: string): boolean;
  deleteLink(name: string): void;
  writeSysctl(path: string, value: string): void;
}

/** Processes: DHCP clients (detached, they outlive bondd like the bond does) and helpers. */
export interface Procs {
  /** A program's path, or null (PATH, then /usr/sbin and /sbin). */
  which(cmd: string): string | null;
  /** Runs a helper to its end (a few seconds at most): its exit status and stderr. */
  run(cmd: string, args: string[], input?: string): { status: number | null; stderr: string };
  /** Starts a long-running client in its own session, output to `logFile`; its pid. */
  start(cmd: string, args: string[], logFile: string): number;
  /** Whether `pid` runs and its command line contains `needle`. */
  alive(pid: number, needle: string): boolean;
  kill(pid: number): void;
}

/** A declared route as the kernel takes it, through `oif`. */
export function kernelRoute(r: RouteDecl, oif: number, protocol = RTPROT_STATIC): Route {
  const family = r.family === 4 ? AF_INET : AF_INET6;
  const [addr, len] = r.to === 'default' ? [r.family === 4 ? '0.0.0.0' : '::', 0] : [r.to.split('/')[0], Number(r.to.split('/')[1])];
  return {
    family,
    dst: ipBytes(addr),
    dstLen: len,
    oif,
    protocol,
    ...(r.via ? { gateway: ipBytes(r.via) } : {}),
    ...(r.metric !== undefined ? { metric: r.metric } : {}),
    ...(r.table !== undefined ? { table: r.table } : {}),
    ...(r.onlink ? { onlink: true } : {}),
  };
}

export function routeText(r: RouteDecl): string {
  return `${r.to}${r.via ? ` via ${r.via}` : ''}${r.metric !== undefined ? ` metric ${r.metric}` : ''}${r.onlink ? ' onlink' : ''}${r.table !== undefined ? ` table ${r.table}` : ''}`;
}
