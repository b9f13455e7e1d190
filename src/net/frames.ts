// Builders for the control frames the bond originates itself: gratuitous ARP and unsolicited
// neighbour advertisements (peer notification after a failover). Pure functions.
const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** Gratuitous ARP as Linux sends it for NETDEV_NOTIFY_PEERS: request, sip = tip = addr. */
export function gratuitousArp(mac: Uint8Array, ip: Uint8Array): Uint8Array {
  const f = new Uint8Array(60); // padded to the Ethernet minimum
  f.set(BROADCAST, 0);
  f.set(mac, 6);
  f[12] = 0x08; f[13] = 0x06;
  f[14] = 0x00; f[15] = 0x01; // htype Ethernet
  f[16] = 0x08; f[17] = 0x00; // ptype IPv4
  f[18] = 6; f[19] = 4;
  f[20] = 0x00; f[21] = 0x01; // request
  f.set(mac, 22);
  f.set(ip, 28);
  // target hardware address stays zero
  f.set(ip, 38);
  return f;
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

/** Unsolicited NA to ff02::1 with the override flag and a target link-layer address option. */
export function unsolicitedNa(mac: Uint8Array, ip6: Uint8Array): Uint8Array {
  const icmpLen = 32; // type..reserved (8) + target (16) + option (8)
  const f = new Uint8Array(14 + 40 + icmpLen);
  f.set(Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), 0);
  f.set(mac, 6);
  f[12] = 0x86; f[13] = 0xdd;
  const ip = 14;
  f[ip] = 0x60;
  f[ip + 4] = 0; f[ip + 5] = icmpLen;
  f[ip + 6] = 58; // ICMPv6
  f[ip + 7] = 255; // hop limit
  f.set(ip6, ip + 8);
  f.set(ALL_NODES, ip + 24);
  const ic = ip + 40;
  f[ic] = 136; // neighbour advertisement
  f[ic + 4] = 0x20; // override
  f.set(ip6, ic + 8);
  f[ic + 24] = 2; // target link-layer address
  f[ic + 25] = 1;
  f.set(mac, ic + 26);
  const pseudo = new Uint8Array(40);
  pseudo.set(ip6, 0);
  pseudo.set(ALL_NODES, 16);
  pseudo[35] = icmpLen;
  pseudo[39] = 58;
  const c = checksum16([pseudo, f.subarray(ic)]);
  f[ic + 2] = c >> 8;
  f[ic + 3] = c & 0xff;
  return f;
}
