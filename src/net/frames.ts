// Builders for the control frames the bond originates itself: gratuitous ARP and unsolicited
// neighbour advertisements (peer notification after a failover). Pure functions.
const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** Gratuitous ARP as Linux sends it for NETDEV_NOTIFY_PEERS: request, sip = tip = addr. */
export function gratuitousArp(mac: Uint8Array, ip: Uint8Array): Uint8Array {
  const f = new Uint8Array(60); // padded to the Ethernet minimum
  f.set(BROADCAST, 0);
  f.set(mac, 6);
  f[12] = 0x08;
  f[13] = 0x06;
  f[14] = 0x00;
  f[15] = 0x01; // htype Ethernet
  f[16] = 0x08;
  f[17] = 0x00; // ptype IPv4
  f[18] = 6;
  f[19] = 4;
  f[20] = 0x00;
  f[21] = 0x01; // request
  f.set(mac, 22);
  f.set(ip, 28);
  // target hardware address stays zero
  f.set(ip, 38);
  return f;
}

/** An ARP request (ARP monitor probe): who-has `tip` tell `sip`, from `mac`. */
export function arpRequest(mac: Uint8Array, sip: Uint8Array, tip: Uint8Array): Uint8Array {
  const f = gratuitousArp(mac, sip);
  f.set(tip, 38);
  return f;
}

/** A unicast ARP reply (balance-alb client update): `sip` is at `mac`, told to (tip, tmac). */
export function arpReply(mac: Uint8Array, sip: Uint8Array, tmac: Uint8Array, tip: Uint8Array): Uint8Array {
  const f = gratuitousArp(mac, sip);
  f.set(tmac, 0);
  f[21] = 0x02;
  f.set(tmac, 32);
  f.set(tip, 38);
  return f;
}

/** balance-tlb/alb learning packet: dst = src = `mac`, EtherType 0x9000 (loopback), 60 bytes. */
export function learningPacket(mac: Uint8Array): Uint8Array {
  const f = new Uint8Array(60);
  f.set(mac, 0);
  f.set(mac, 6);
  f[12] = 0x90;
  return f;
}

/** A RARP "reverse request" announcing `mac` (what QEMU and Open vSwitch send after a move). */
export function rarpAnnounce(mac: Uint8Array): Uint8Array {
  const f = new Uint8Array(60);
  f.set(BROADCAST, 0);
  f.set(mac, 6);
  f[12] = 0x80;
  f[13] = 0x35;
  f[15] = 0x01;
  f[16] = 0x08;
  f[18] = 6;
  f[19] = 4;
  f[21] = 0x03; // reverse request
  f.set(mac, 22);
  f.set(mac, 32);
  return f;
}

/** Parses an ARP frame (Ethernet/IPv4, with or without one VLAN tag); undefined when it is not one. */
export function parseArp(
  frame: Uint8Array,
): { op: number; sha: Uint8Array; sip: Uint8Array; tha: Uint8Array; tip: Uint8Array; at: number } | undefined {
  let o = 12;
  if (frame.length >= 18 && ((frame[12] << 8) | frame[13]) === 0x8100) o = 16;
  if (frame.length < o + 2 + 28 || ((frame[o] << 8) | frame[o + 1]) !== 0x0806) return undefined;
  const a = o + 2;
  if (((frame[a] << 8) | frame[a + 1]) !== 1 || ((frame[a + 2] << 8) | frame[a + 3]) !== 0x0800 || frame[a + 4] !== 6 || frame[a + 5] !== 4)
    return undefined;
  return {
    op: (frame[a + 6] << 8) | frame[a + 7],
    sha: frame.slice(a + 8, a + 14),
    sip: frame.slice(a + 14, a + 18),
    tha: frame.slice(a + 18, a + 24),
    tip: frame.slice(a + 24, a + 28),
    at: a,
  };
}

function checksum16(parts: Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i + 1 < p.length; i += 2) sum += (p[i] << 8) | p[i + 1];
    if (p.length & 1) sum += p[p.length - 1] << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const ALL_NODES = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

/** An Ethernet + IPv6 (hop limit 255) frame around an ICMPv6 message; fills in its checksum. */
function icmp6Frame(dstMac: Uint8Array, srcMac: Uint8Array, src: Uint8Array, dst: Uint8Array, icmp: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + 40 + icmp.length);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  const ip = 14;
  f[ip] = 0x60;
  f[ip + 4] = icmp.length >> 8;
  f[ip + 5] = icmp.length & 0xff;
  f[ip + 6] = 58; // ICMPv6
  f[ip + 7] = 255; // neighbour discovery requires it
  f.set(src, ip + 8);
  f.set(dst, ip + 24);
  f.set(icmp, ip + 40);
  icmp6Checksum(f.subarray(ip + 40), src, dst);
  return f;
}

/** Fills in an ICMPv6 message's checksum (over the IPv6 pseudo-header and the message). */
function icmp6Checksum(icmp: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  pseudo[34] = icmp.length >> 8;
  pseudo[35] = icmp.length & 0xff;
  pseudo[39] = 58;
  const c = checksum16([pseudo, icmp]);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
}

/** Unsolicited NA to ff02::1 with the override flag and a target link-layer address option. */
export function unsolicitedNa(mac: Uint8Array, ip6: Uint8Array): Uint8Array {
  const icmp = new Uint8Array(32); // type..reserved (8) + target (16) + option (8)
  icmp[0] = 136; // neighbour advertisement
  icmp[4] = 0x20; // override
  icmp.set(ip6, 8);
  icmp[24] = 2; // target link-layer address
  icmp[25] = 1;
  icmp.set(mac, 26);
  return icmp6Frame(Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), mac, ip6, ALL_NODES, icmp);
}

function ipChecksum(b: Uint8Array): number {
  return checksum16([b]);
}

/**
 * An IGMP membership report for `groups` (4-byte addresses) from `mac`/`src` (src may be 0.0.0.0):
 * IGMPv3 (one report, MODE_IS_EXCLUDE with no sources per group, to 224.0.0.22) or IGMPv2 (one
 * report per group, to the group). IPv4 with the Router Alert option, TTL 1 (RFC 2236, 3376).
 */
export function igmpReports(mac: Uint8Array, src: Uint8Array, groups: Uint8Array[], version: 2 | 3): Uint8Array[] {
  const frame = (dstIp: Uint8Array, igmp: Uint8Array) => {
    const f = new Uint8Array(14 + 24 + igmp.length);
    f.set(Uint8Array.of(0x01, 0x00, 0x5e, dstIp[1] & 0x7f, dstIp[2], dstIp[3]), 0);
    f.set(mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    const ip = f.subarray(14, 38);
    ip[0] = 0x46; // IHL 6: 4 bytes of options
    ip[1] = 0xc0; // DSCP CS6, as Linux sends IGMP
    ip[2] = (24 + igmp.length) >> 8;
    ip[3] = (24 + igmp.length) & 0xff;
    ip[6] = 0x40; // don't fragment
    ip[8] = 1; // TTL
    ip[9] = 2; // IGMP
    ip.set(src, 12);
    ip.set(dstIp, 16);
    ip.set([0x94, 0x04, 0x00, 0x00], 20); // Router Alert
    const c = ipChecksum(ip);
    ip[10] = c >> 8;
    ip[11] = c & 0xff;
    f.set(igmp, 38);
    return f;
  };
  const sum = (b: Uint8Array) => {
    const c = ipChecksum(b);
    b[2] = c >> 8;
    b[3] = c & 0xff;
    return b;
  };
  if (version === 2) {
    return groups.map((g) => frame(g, sum(Uint8Array.of(0x16, 0, 0, 0, g[0], g[1], g[2], g[3]))));
  }
  const igmp = new Uint8Array(8 + 8 * groups.length);
  igmp[0] = 0x22;
  igmp[6] = groups.length >> 8;
  igmp[7] = groups.length & 0xff;
  groups.forEach((g, i) => {
    igmp[8 + 8 * i] = 2; // MODE_IS_EXCLUDE, no sources: "I am a member"
    igmp.set(g, 8 + 8 * i + 4);
  });
  return [frame(Uint8Array.of(224, 0, 0, 22), sum(igmp))];
}

/**
 * MLD reports for `groups` (16-byte addresses) from `mac`/`src` (a link-local address, or ::):
 * MLDv2 (one report, MODE_IS_EXCLUDE with no sources per group, to ff02::16) or MLDv1 (one
 * report per group, to the group). Hop limit 1 and a Hop-by-Hop Router Alert (RFC 2710, 3810),
 * as Linux sends them.
 */
export function mldReports(mac: Uint8Array, src: Uint8Array, groups: Uint8Array[], version: 1 | 2): Uint8Array[] {
  const frame = (dst: Uint8Array, icmp: Uint8Array) => {
    const f = new Uint8Array(14 + 40 + 8 + icmp.length);
    f.set(Uint8Array.of(0x33, 0x33, dst[12], dst[13], dst[14], dst[15]), 0);
    f.set(mac, 6);
    f[12] = 0x86;
    f[13] = 0xdd;
    const ip = 14;
    f[ip] = 0x60;
    f[ip + 4] = (8 + icmp.length) >> 8;
    f[ip + 5] = (8 + icmp.length) & 0xff;
    f[ip + 6] = 0; // Hop-by-Hop options
    f[ip + 7] = 1;
    f.set(src, ip + 8);
    f.set(dst, ip + 24);
    f.set([58, 0, 5, 2, 0, 0, 1, 0], ip + 40); // next ICMPv6; Router Alert (MLD); PadN
    f.set(icmp, ip + 48);
    icmp6Checksum(f.subarray(ip + 48), src, dst);
    return f;
  };
  if (version === 1) {
    return groups.map((g) => {
      const icmp = new Uint8Array(24);
      icmp[0] = 131; // MLDv1 report
      icmp.set(g, 8);
      return frame(g, icmp);
    });
  }
  const icmp = new Uint8Array(8 + 20 * groups.length);
  icmp[0] = 143; // MLDv2 report
  icmp[6] = groups.length >> 8;
  icmp[7] = groups.length & 0xff;
  groups.forEach((g, i) => {
    icmp[8 + 20 * i] = 2; // MODE_IS_EXCLUDE, no sources: "I am a listener"
    icmp.set(g, 8 + 20 * i + 4);
  });
  return [frame(Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16), icmp)];
}

/** The solicited-node multicast address of an IPv6 address (ff02::1:ffXX:XXXX), and its MAC. */
export function solicitedNode(ip6: Uint8Array): { ip: Uint8Array; mac: Uint8Array } {
  const ip = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, ip6[13], ip6[14], ip6[15]);
  return { ip, mac: Uint8Array.of(0x33, 0x33, 0xff, ip6[13], ip6[14], ip6[15]) };
}

/** A neighbour solicitation for `target` (NS monitor probe), from `src` (:: when we have none). */
export function neighbourSolicitation(mac: Uint8Array, src: Uint8Array, target: Uint8Array): Uint8Array {
  const unspecified = src.every((b) => b === 0);
  const icmp = new Uint8Array(24 + (unspecified ? 0 : 8));
  icmp[0] = 135;
  icmp.set(target, 8);
  if (!unspecified) {
    icmp[24] = 1; // source link-layer address (not allowed from ::)
    icmp[25] = 1;
    icmp.set(mac, 26);
  }
  const sn = solicitedNode(target);
  return icmp6Frame(sn.mac, mac, src, sn.ip, icmp);
}

/**
 * Neighbour discovery as the NS monitor sees it: an advertisement is a reply "from" its target
 * address to the IPv6 destination; a solicitation is a request from its source for its target.
 */
export function parseNd(frame: Uint8Array): { op: number; sip: Uint8Array; tip: Uint8Array } | undefined {
  let o = 12;
  if (frame.length >= 18 && ((frame[12] << 8) | frame[13]) === 0x8100) o = 16;
  if (frame.length < o + 2 + 40 + 24 || ((frame[o] << 8) | frame[o + 1]) !== 0x86dd) return undefined;
  const ip = o + 2;
  if (frame[ip + 6] !== 58 || frame[ip + 7] !== 255) return undefined; // ND requires hop limit 255
  const ic = ip + 40;
  const type = frame[ic];
  if (type === 136) return { op: 2, sip: frame.slice(ic + 8, ic + 24), tip: frame.slice(ip + 24, ip + 40) };
  if (type === 135) return { op: 1, sip: frame.slice(ip + 8, ip + 24), tip: frame.slice(ic + 8, ic + 24) };
  return undefined;
}
