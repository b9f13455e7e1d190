// Builds a frame from a description (`bondctl hash`): smac= dmac= vlan= type=ipv4|ipv6|arp|0xNNNN
// sip= dip= proto=tcp|udp|icmp|N sport= dport= icmp_type= icmp_code= icmp_id=, or from hex.
// Only the fields the transmit hashes read are meaningful. Pure.
import { isIPv4, isIPv6 } from 'node:net';
import { BondError } from '../errors.js';
import { ipBytes, parseMac } from '../util/mac.js';

const KEYS = ['smac', 'dmac', 'vlan', 'type', 'sip', 'dip', 'proto', 'sport', 'dport', 'icmp_type', 'icmp_code', 'icmp_id'];

const ip4 = (s: string): number[] => Array.from(ipBytes(s));
const ip6 = ip4;

function num(k: string, v: string, max: number): number {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new BondError('EOPT_VALUE', `${k}: invalid value '${v}'; allowed: 0 to ${max}`);
  return n;
}

export function frameFromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, '');
  if (!/^([0-9a-f]{2})+$/i.test(clean) || clean.length < 28)
    throw new BondError('EOPT_VALUE', 'hex: expected an Ethernet frame in hex (at least 14 bytes)');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function frameFromSpec(words: readonly string[]): Uint8Array {
  const f: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    const k = w.slice(0, i);
    if (i <= 0 || !KEYS.includes(k)) throw new BondError('EOPT_VALUE', `'${w}': expected key=value with key one of ${KEYS.join(', ')}`);
    f[k] = w.slice(i + 1);
  }
  const mac = (k: string, d: string) => {
    const m = parseMac(f[k] ?? d);
    if (!m) throw new BondError('EOPT_VALUE', `${k}: invalid MAC '${f[k]}'`);
    return Array.from(m);
  };
  const sip = f.sip ?? (f.dip && isIPv6(f.dip) ? '2001:db8::1' : '198.18.0.1');
  const dip = f.dip ?? (isIPv6(sip) ? '2001:db8::2' : '198.18.0.2');
  const v6 = isIPv6(sip);
  if (!(v6 ? isIPv6(dip) : isIPv4(sip) && isIPv4(dip)))
    throw new BondError('EOPT_VALUE', `sip/dip: '${sip}' and '${dip}' must both be IPv4 or both IPv6`);
  const type = f.type ?? (v6 ? 'ipv6' : 'ipv4');
  const et = type === 'ipv4' ? 0x0800 : type === 'ipv6' ? 0x86dd : type === 'arp' ? 0x0806 : num('type', type, 0xffff);
  const protoName = f.proto ?? 'tcp';
  const proto = protoName === 'tcp' ? 6 : protoName === 'udp' ? 17 : protoName === 'icmp' ? (v6 ? 58 : 1) : num('proto', protoName, 255);
  let l4: number[];
  if (proto === 1 || proto === 58) {
    const t = num('icmp_type', f.icmp_type ?? (proto === 1 ? '8' : '128'), 255);
    const id = num('icmp_id', f.icmp_id ?? '1', 0xffff);
    l4 = [t, num('icmp_code', f.icmp_code ?? '0', 255), 0, 0, id >> 8, id & 0xff, 0, 1];
  } else {
    const sp = num('sport', f.sport ?? '0', 0xffff);
    const dp = num('dport', f.dport ?? '0', 0xffff);
    l4 = [sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, ...Array(16).fill(0)];
  }
  let l3: number[];
  if (et === 0x0800) {
    const tot = 20 + l4.length;
    l3 = [0x45, 0, tot >> 8, tot & 0xff, 0, 1, 0, 0, 64, proto, 0, 0, ...ip4(sip), ...ip4(dip), ...l4];
  } else if (et === 0x86dd) {
    l3 = [0x60, 0, 0, 0, l4.length >> 8, l4.length & 0xff, proto, 64, ...ip6(sip), ...ip6(dip), ...l4];
  } else {
    l3 = Array(28).fill(0);
  }
  const tag =
    f.vlan !== undefined
      ? (() => {
          const v = num('vlan', f.vlan, 0xffff);
          return [0x81, 0x00, v >> 8, v & 0xff];
        })()
      : [];
  return Uint8Array.from([...mac('dmac', '02:00:00:00:00:02'), ...mac('smac', '02:00:00:00:00:01'), ...tag, et >> 8, et & 0xff, ...l3]);
}
