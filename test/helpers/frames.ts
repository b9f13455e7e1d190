// Small frame builders for tests.
export function eth(dst: string, src: string, ethertype: number, payload: Uint8Array = new Uint8Array(46)): Uint8Array {
  const mac = (s: string) => s.split(':').map((h) => parseInt(h, 16));
  const f = new Uint8Array(14 + payload.length);
  f.set(mac(dst), 0);
  f.set(mac(src), 6);
  f[12] = ethertype >> 8;
  f[13] = ethertype & 0xff;
  f.set(payload, 14);
  return f;
}

/** An IPv4 frame with the given protocol number (header only, zero payload). */
export function ipv4(proto: number, src = '02:00:00:00:00:01', dst = '02:00:00:00:00:02'): Uint8Array {
  const p = new Uint8Array(46);
  p[0] = 0x45;
  p[9] = proto;
  return eth(dst, src, 0x0800, p);
}

/** A UDP-protocol IPv4 frame from MAC `src`, 198.18.0.1 -> 198.18.0.<last>. */
export function toHost(src: string, last: number): Uint8Array {
  const f = ipv4(17, src, '02:00:00:00:09:99');
  f.set(Uint8Array.of(198, 18, 0, 1), 14 + 12);
  f.set(Uint8Array.of(198, 18, 0, last), 14 + 16);
  return f;
}
