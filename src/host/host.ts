// What the bond needs from the machine besides the frame engine: link ioctls (through the
// binding), addresses (rtnetlink), sysctls and the TAP's multicast list. Injected, so tests
// can run a whole bond over the in-memory binding (src/native/fake.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import type { NativeBinding } from '../native/types.js';
import { isIPv4 } from 'node:net';
import { AF_INET, AF_INET6, Rtnl, type EgressSlot, type IfAddr, type StackBlock } from '../net/rtnl.js';
import { ipBytes } from '../util/mac.js';

export interface Host {
  readonly binding: NativeBinding;
  addresses(ifindex: number): IfAddr[];
  deleteAddress(a: IfAddr): void;
  addAddress(ifindex: number, address: string, prefixlen: number): void;
  /** null when the file does not exist (no IPv6 on that interface, for instance). */
  readSysctl(path: string): string | null;
  writeSysctl(path: string, value: string): void;
  /** Link-layer multicast addresses joined on `ifname` (hex "01005e000001"). */
  multicastList(ifname: string): string[];
  /** IPv4 multicast groups joined on `ifname` (not 224.0.0.1) and its IGMP version (/proc/net/igmp). */
  igmpGroups(ifname: string): { version: 2 | 3; groups: Uint8Array[] };
  /** IPv6 groups joined on `ifname` that MLD reports (/proc/net/igmp6), and the MLD version. */
  mldGroups(ifname: string): { version: 1 | 2; groups: Uint8Array[] };
  /** The TAP's transmit drops (frames the kernel dropped because the daemon lagged). */
  tapDrops(ifindex: number): number;
  /** An interface's transmit queue length (a TAP's ring of frames waiting for the daemon). */
  setTxQueueLen(ifindex: number, len: number): void;
  /** Stops the slave's own IP stack from receiving (the daemon still does); see Rtnl.blockStack. */
  blockStack(ifindex: number, progFd?: number): StackBlock;
  /** Whether the device has a clsact qdisc. */
  hasClsact(ifindex: number): boolean;
  /**
   * The fast path's transmit program on the TAP's egress as a tc filter: `tx` where TCX is
   * missing, `after` (last) while a slave has a queue_id.
   */
  attachEgress(ifindex: number, progFd: number, slot?: EgressSlot): void;
  /** Removes the fast path's egress filters from the TAP, if there. */
  detachEgress(ifindex: number): EgressSlot[];
  unblockStack(b: StackBlock): void;
  /** Deletes an interface (the bond's persistent TAP, when the bond is taken down without its daemon). */
  deleteLink(ifindex: number): void;
  /** Sets an interface's alias (ifalias); where sysfs is read-only (a container) nothing is set. */
  setAlias(name: string, alias: string): void;
  /** A TAP's persistence (tun_flags) and alias, or null when `name` is not a TAP here. */
  tapState(name: string): { persistent: boolean; alias: string } | null;
  /** Recovery: our drop filter (and the clsact qdisc per `qdisc`) off `ifindex`; what was removed. */
  removeStaleBlock(ifindex: number, qdisc: 'ours' | 'theirs' | 'unknown'): string[];
  close(): void;
}

const IFF_PERSIST = 0x0800; // linux/if_tun.h

export function nativeHost(binding: NativeBinding): Host {
  const rtnl = new Rtnl(binding);
  // /proc/net/dev_mcast ("ifindex ifname users global address", per network namespace) lists
  // every interface: read once for every bond whose chore runs in the same beat (64 bonds, one
  // read, not 64 of a file 64 times as long), and read anew in the next
  let mcast: Map<string, string[]> | null = null;
  const multicast = (): Map<string, string[]> => {
    if (mcast) return mcast;
    const m = new Map<string, string[]>();
    try {
      for (const line of readFileSync('/proc/net/dev_mcast', 'utf8').split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f.length < 5) continue;
        const list = m.get(f[1]);
        if (list) list.push(f[4].toLowerCase());
        else m.set(f[1], [f[4].toLowerCase()]);
      }
    } catch {
      /* no /proc/net: no lists */
    }
    mcast = m;
    queueMicrotask(() => (mcast = null));
    return m;
  };
  return {
    binding,
    addresses: (ifindex) => rtnl.addresses(ifindex),
    deleteAddress: (a) => rtnl.deleteAddress(a),
    addAddress: (ifindex, address, prefixlen) =>
      rtnl.addAddress(ifindex, isIPv4(address) ? AF_INET : AF_INET6, ipBytes(address), prefixlen),
    readSysctl(path) {
      try {
        return readFileSync(`/proc/sys/${path}`, 'utf8').trim();
      } catch {
        return null;
      }
    },
    writeSysctl(path, value) {
      writeFileSync(`/proc/sys/${path}`, value);
    },
    multicastList(ifname) {
      return multicast().get(ifname) ?? [];
    },
    tapDrops: (ifindex) => rtnl.link(ifindex)?.txDropped ?? 0,
    setTxQueueLen: (ifindex, len) => rtnl.setTxQueueLen(ifindex, len),
    igmpGroups(ifname) {
      let text = '';
      try {
        text = readFileSync('/proc/net/igmp', 'utf8');
      } catch {
        return { version: 3, groups: [] };
      }
      return parseProcIgmp(text, ifname);
    },
    mldGroups(ifname) {
      let text = '';
      try {
        text = readFileSync('/proc/net/igmp6', 'utf8');
      } catch {
        return { version: 2, groups: [] };
      }
      let force = '0';
      try {
        force = readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/force_mld_version`, 'utf8').trim();
      } catch {
        /* no IPv6 on it */
      }
      return { version: force === '1' ? 1 : 2, groups: parseProcIgmp6(text, ifname) };
    },
    deleteLink: (ifindex) => rtnl.deleteLink(ifindex),
    setAlias(name, alias) {
      try {
        writeFileSync(`/sys/class/net/${name}/ifalias`, alias);
      } catch {
        /* read-only sysfs: the journal alone tells the TAP is ours */
      }
    },
    tapState(name) {
      try {
        const flags = parseInt(readFileSync(`/sys/class/net/${name}/tun_flags`, 'utf8').trim(), 16);
        let alias = '';
        try {
          alias = readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim();
        } catch {
          /* no alias */
        }
        return { persistent: (flags & IFF_PERSIST) !== 0, alias };
      } catch {
        return null;
      }
    },
    blockStack: (ifindex, progFd) => rtnl.blockStack(ifindex, progFd),
    attachEgress: (ifindex, progFd, slot) => rtnl.attachEgress(ifindex, progFd, slot),
    detachEgress: (ifindex) => rtnl.detachEgress(ifindex),
    hasClsact: (ifindex) => rtnl.hasClsact(ifindex),
    unblockStack: (b) => rtnl.unblockStack(b),
    removeStaleBlock: (ifindex, qdisc) => rtnl.removeStaleBlock(ifindex, qdisc),
    close: () => rtnl.close(),
  };
}

/**
 * /proc/net/igmp: a device line "idx name : count querier" then one line per group with the
 * address as a host-order (little-endian) hex word. 224.0.0.1 (all hosts) is never reported.
 */
export function parseProcIgmp(text: string, ifname: string): { version: 2 | 3; groups: Uint8Array[] } {
  let mine = false;
  let version: 2 | 3 = 3;
  const groups: Uint8Array[] = [];
  for (const line of text.split('\n').slice(1)) {
    const dev = /^\d+\s+(\S+)\s*:\s*\d+\s+V(\d)/.exec(line);
    if (dev) {
      mine = dev[1] === ifname;
      if (mine) version = dev[2] === '2' || dev[2] === '1' ? 2 : 3;
      continue;
    }
    const g = /^\s+([0-9A-Fa-f]{8})\s/.exec(line);
    if (!mine || !g) continue;
    const n = parseInt(g[1], 16);
    const addr = Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
    if (addr[0] === 224 && addr[1] === 0 && addr[2] === 0 && addr[3] === 1) continue;
    groups.push(addr);
  }
  return { version, groups };
}

/**
 * /proc/net/igmp6: "idx name group users flags timer", the group as 32 hex digits. Like the
 * kernel's MLD (MAF_NOREPORT), ff02::1 and groups of a scope below link-local are not reported.
 */
export function parseProcIgmp6(text: string, ifname: string): Uint8Array[] {
  const groups: Uint8Array[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+\s+(\S+)\s+([0-9a-fA-F]{32})\s/.exec(line);
    if (!m || m[1] !== ifname) continue;
    const g = Uint8Array.from(Buffer.from(m[2], 'hex'));
    const allNodes = g[1] === 0x02 && g.subarray(2, 15).every((b) => b === 0) && g[15] === 1;
    if (allNodes || (g[1] & 0x0f) < 2) continue;
    groups.push(g);
  }
  return groups;
}
