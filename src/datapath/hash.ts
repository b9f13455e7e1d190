// HOT PATH. xmit_hash_policy, computed exactly as the kernel does (bond_main.c
// __bond_xmit_hash, bond_flow_dissect, bond_ip_hash; flow_dissector.c for encap*): wire bytes
// are read as host-order (little-endian) u32 where the kernel memcpy's or casts them, shifts
// are unsigned 32-bit. A VLAN tag inline in a frame from the TAP is treated as the skb metadata
// it would be on a kernel bond (hashing uses the inner EtherType; vlan+srcmac uses the TCI).
// No allocation: the dissection state lives in module variables.
//
// Deviations (documented): encap3+4 never takes the kernel's skb->hash shortcut (a TAP frame
// carries none); the encap dissector follows VLAN, IPv4/IPv6 (with IPv6 extension headers),
// IP-in-IP, IPv6-in-IP and GRE (IPv4, IPv6, transparent Ethernet), not MPLS, PPPoE or TIPC.

export const HASH_POLICIES = ['layer2', 'layer3+4', 'layer2+3', 'encap2+3', 'encap3+4', 'vlan+srcmac'] as const;

const L2 = 0;
const L34 = 1;
const L23 = 2;
const E23 = 3;
const E34 = 4;
const VLAN_SRCMAC = 5;

export function policyId(name: string): number {
  const i = (HASH_POLICIES as readonly string[]).indexOf(name);
  if (i < 0) throw new Error(`unknown xmit_hash_policy '${name}'`);
  return i;
}

// dissection state (kernel struct flow_keys, the parts the bond hash reads)
let src = 0;
let dst = 0;
let ports = 0;
let icmpWord = 0; // type | code << 8 | id << 16, as memcpy'd from struct flow_dissector_key_icmp
let icmpId = 0;
let proto = -1;
let nh = 0;
let buf: Uint8Array = new Uint8Array(0);
let end = 0;

const be16 = (o: number) => (buf[o] << 8) | buf[o + 1];
const le32 = (o: number) => (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24)) >>> 0;
/** ipv6_addr_hash: XOR of the four 32-bit words of the address. */
const v6fold = (o: number) => (le32(o) ^ le32(o + 4) ^ le32(o + 8) ^ le32(o + 12)) >>> 0;

/** proto_ports_offset(): where the 32-bit "ports" word sits in the L4 header, or -1. */
function portsOffset(p: number): number {
  switch (p) {
    case 6: // TCP
    case 17: // UDP
    case 33: // DCCP
    case 50: // ESP (SPI)
    case 132: // SCTP
    case 136: // UDP-Lite
      return 0;
    case 51: // AH (SPI)
      return 4;
    default:
      return -1;
  }
}

function getPorts(thoff: number, p: number): number {
  const po = portsOffset(p);
  return po >= 0 && thoff + po + 4 <= end ? le32(thoff + po) : 0;
}

/** skb_flow_get_icmp_tci(): type, code and (for echo/timestamp) the identifier, host order. */
function icmpTci(thoff: number): void {
  if (thoff + 8 > end) return;
  const type = buf[thoff];
  const code = buf[thoff + 1];
  const hasId = type === 8 || type === 0 || type === 13 || type === 14 || type === 128 || type === 129;
  icmpId = hasId ? be16(thoff + 4) || 1 : 0;
  icmpWord = (type | (code << 8) | (icmpId << 16)) >>> 0;
}

/** bond_flow_ip(): addresses, L4 offset and protocol; ports for layer3+4. */
function flowIp(et: number, l34: boolean): boolean {
  if (et === 0x0800) {
    if (nh + 20 > end) return false;
    src = le32(nh + 12);
    dst = le32(nh + 16);
    const frag = be16(nh + 6) & 0x3fff; // MF | fragment offset
    const p = buf[nh + 9];
    nh += (buf[nh] & 0x0f) << 2;
    if (!frag) proto = p;
  } else if (et === 0x86dd) {
    if (nh + 40 > end) return false;
    src = v6fold(nh + 8);
    dst = v6fold(nh + 24);
    proto = buf[nh + 6];
    nh += 40;
  } else {
    return false;
  }
  if (l34 && proto >= 0) ports = getPorts(nh, proto);
  return true;
}

/** bond_flow_dissect() for layer2+3 / layer3+4: ICMP errors hash on the embedded header. */
function dissectPlain(et: number, l34: boolean): boolean {
  if (!flowIp(et, l34)) return false;
  if (proto === 1 || proto === 58) {
    icmpTci(nh);
    const type = nh < end ? buf[nh] : 0;
    const isErr = proto === 1 ? type === 3 || type === 4 || type === 5 || type === 11 || type === 12 : type < 128;
    if (!isErr) return true;
    nh += 8;
    return flowIp(et, l34);
  }
  return true;
}

/** The kernel flow dissector as the bond's encap policies use it (flow_keys_bonding). */
function dissectEncap(et0: number): boolean {
  let et = et0;
  for (let depth = 0; depth < 8; depth++) {
    let p: number;
    let v6 = false;
    if (et === 0x8100 || et === 0x88a8) {
      if (nh + 4 > end) return false;
      et = be16(nh + 2);
      nh += 4;
      continue;
    } else if (et === 0x0800) {
      if (nh + 20 > end || (buf[nh] & 0x0f) < 5) return false;
      src = le32(nh + 12);
      dst = le32(nh + 16);
      p = buf[nh + 9];
      if (be16(nh + 6) & 0x3fff) return true; // fragment: no L4 (no PARSE_1ST_FRAG)
      nh += (buf[nh] & 0x0f) << 2;
    } else if (et === 0x86dd) {
      if (nh + 40 > end) return false;
      src = v6fold(nh + 8);
      dst = v6fold(nh + 24);
      p = buf[nh + 6];
      nh += 40;
      v6 = true;
    } else if (et === 0x0806 || et === 0x8035 || et === 0x8906) {
      src = 0; // ARP, RARP, FCoE: dissected "good" with no addresses
      dst = 0;
      return true;
    } else {
      return false;
    }
    // L4 / next header
    for (;;) {
      if (v6 && (p === 0 || p === 43 || p === 60)) {
        if (nh + 2 > end) return false;
        const next = buf[nh];
        nh += (buf[nh + 1] + 1) << 3;
        p = next;
        continue;
      }
      if (v6 && p === 44) return nh + 8 <= end; // fragment header: stop, no ports
      break;
    }
    if (p === 4 || p === 41) {
      et = p === 4 ? 0x0800 : 0x86dd; // IP-in-IP: the inner header's addresses win
      continue;
    }
    if (p === 47) {
      if (nh + 4 > end) return false;
      const flags = be16(nh);
      if (flags & 0x4007) return true; // routing present or version != 0: not looked into
      const gp = be16(nh + 2);
      nh += 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
      if (gp === 0x6558) {
        if (nh + 14 > end) return false;
        et = be16(nh + 12);
        nh += 14;
      } else {
        et = gp;
      }
      continue;
    }
    if (p === 1 || p === 58) {
      icmpTci(nh);
      return true;
    }
    ports = getPorts(nh, p);
    return true;
  }
  return false;
}

/**
 * The kernel's bond_xmit_hash() for one Ethernet frame at bytes[off, off+len).
 * `policy` is the xmit_hash_policy number (HASH_POLICIES index).
 */
export function xmitHash(bytes: Uint8Array, off: number, len: number, policy: number): number {
  if (len < 14) return 0;
  buf = bytes;
  end = off + len;
  let et = (bytes[off + 12] << 8) | bytes[off + 13];
  nh = off + 14;
  let vlan = 0;
  if ((et === 0x8100 || et === 0x88a8) && len >= 18) {
    vlan = (bytes[off + 14] << 8) | bytes[off + 15];
    et = (bytes[off + 16] << 8) | bytes[off + 17];
    nh = off + 18;
  }
  if (policy === VLAN_SRCMAC) {
    const vendor = (bytes[off + 6] << 16) | (bytes[off + 7] << 8) | bytes[off + 8];
    const dev = (bytes[off + 9] << 16) | (bytes[off + 10] << 8) | bytes[off + 11];
    return (vlan ^ vendor ^ dev) >>> 0;
  }
  const l2 = (bytes[off + 5] ^ bytes[off + 11] ^ et) >>> 0;
  if (policy === L2) return l2;
  src = 0;
  dst = 0;
  ports = 0;
  icmpWord = 0;
  icmpId = 0;
  proto = -1;
  const ok = policy === E23 || policy === E34 ? dissectEncap(et) : dissectPlain(et, policy === L34);
  if (!ok) return l2;
  let h = policy === L23 || policy === E23 ? l2 : icmpId !== 0 ? icmpWord : ports;
  h = (h ^ dst ^ src) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = (h ^ (h >>> 8)) >>> 0;
  if (policy === L34 || policy === E34) h >>>= 1; // "discard lowest hash bit to deal with the common even ports pattern"
  return h >>> 0;
}
