// MAC and IP address helpers (formatting, parsing). Pure.
export type Mac = Uint8Array;

export function formatMac(m: Uint8Array): string {
  return Array.from(m.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(s: string): Mac | undefined {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s.trim());
  return m ? Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16))) : undefined;
}

/** A random locally administered unicast MAC (kernel eth_random_addr). */
export function randomMac(): Mac {
  const m = Uint8Array.from({ length: 6 }, () => Math.floor(Math.random() * 256));
  m[0] = (m[0] & 0xfe) | 0x02;
  return m;
}

/** Same length, same bytes (IP addresses of either family). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isZeroMac(m: Uint8Array): boolean {
  return m.every((b) => b === 0);
}

export function formatIp(a: Uint8Array): string {
  if (a.length === 4) return Array.from(a).join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((a[i] << 8) | a[i + 1]).toString(16));
  // compress the longest run of zero words, as inet_ntop does
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/** A dotted IPv4 netmask as a prefix length (255.255.255.0 -> 24), or undefined. */
export function maskToPrefix(mask: string): number | undefined {
  const o = mask.split('.');
  if (o.length !== 4 || o.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return undefined;
  const bits = o.map((x) => Number(x).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) ? bits.replace(/0+$/, '').length : undefined;
}

/** An IPv4 or IPv6 address in text form to its 4 or 16 bytes. */
export function ipBytes(s: string): Uint8Array {
  if (!s.includes(':')) return Uint8Array.from(s.split('.').map(Number));
  const [head, tail] = s.includes('::') ? s.split('::') : [s, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((w) => parseInt(w || '0', 16));
  return Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
}

/** Are two IPv4 addresses in the same prefix? */
export function sameSubnet(a: Uint8Array, b: Uint8Array, prefixlen: number): boolean {
  const n = (x: Uint8Array) => ((x[0] << 24) | (x[1] << 16) | (x[2] << 8) | x[3]) >>> 0;
  const mask = prefixlen === 0 ? 0 : (0xffffffff << (32 - prefixlen)) >>> 0;
  return (n(a) & mask) >>> 0 === (n(b) & mask) >>> 0;
}

/** Is an IPv6 address link-local (fe80::/10)? */
export function isLinkLocal6(ip: Uint8Array): boolean {
  return ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80;
}

/** Are two IPv6 addresses in the same prefix? */
export function sameSubnet6(a: Uint8Array, b: Uint8Array, prefixlen: number): boolean {
  for (let bit = 0; bit < prefixlen; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a[bit >> 3] & m) !== (b[bit >> 3] & m)) return false;
  }
  return true;
}
