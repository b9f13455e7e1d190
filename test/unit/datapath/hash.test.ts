// Golden vectors from scripts/gen-hash-vectors.py (an independent implementation of the
// documented kernel formulas) against the datapath's hash.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HASH_POLICIES, policyId, xmitHash } from '../../../src/datapath/hash.js';
import { frameFromHex, frameFromSpec } from '../../../src/net/frame-spec.js';

const vectors = JSON.parse(readFileSync(new URL('../../fixtures/hash-vectors.json', import.meta.url), 'utf8')) as {
  name: string;
  hex: string;
  expected: Record<string, number>;
}[];

describe('xmit_hash_policy golden vectors', () => {
  it('covers every policy and every kind of frame the kernel dissector tells apart', () => {
    const names = vectors.map((v) => v.name);
    for (const n of [
      'tcp4',
      'udp4',
      'icmp4-echo',
      'icmp4-unreach',
      'frag4-first',
      'frag4-later',
      'tcp6',
      'udp6',
      'icmp6-echo',
      'icmp6-too-big',
      'tcp4-vlan5',
      'arp',
      'lldp',
    ])
      expect(names).toContain(n);
    for (const v of vectors) expect(Object.keys(v.expected).sort()).toEqual([...HASH_POLICIES].sort());
  });

  for (const v of vectors) {
    it(v.name, () => {
      const f = Uint8Array.from(Buffer.from(v.hex, 'hex'));
      // at an offset inside a larger arena, as in the datapath
      const arena = new Uint8Array(f.length + 100);
      arena.set(f, 37);
      for (const p of HASH_POLICIES) expect(xmitHash(arena, 37, f.length, policyId(p)), `${v.name} ${p}`).toBe(v.expected[p]);
    });
  }

  it('ICMP errors follow the flow they report (layer3+4)', () => {
    // icmp4-unreach reports a UDP datagram 198.18.0.1:40001 -> 198.18.5.5:53
    const unreach = frameFromHex(vectors.find((v) => v.name === 'icmp4-unreach')!.hex);
    const reported = frameFromSpec(['sip=198.18.0.1', 'dip=198.18.5.5', 'proto=udp', 'sport=40001', 'dport=53']);
    const l34 = policyId('layer3+4');
    expect(xmitHash(unreach, 0, unreach.length, l34)).toBe(xmitHash(reported, 0, reported.length, l34));
    // encap3+4 does not look inside ICMP errors: it hashes the ICMP header itself
    expect(xmitHash(unreach, 0, unreach.length, policyId('encap3+4'))).not.toBe(
      xmitHash(reported, 0, reported.length, policyId('encap3+4')),
    );
  });

  it('never reads past a truncated frame', () => {
    const f = Uint8Array.from(Buffer.from(vectors[0].hex, 'hex'));
    for (let len = 0; len <= f.length; len++) for (let p = 0; p < 6; p++) expect(Number.isInteger(xmitHash(f, 0, len, p))).toBe(true);
  });
});

describe('frame descriptions (bondctl hash)', () => {
  it('builds frames whose hashes match the golden vectors', () => {
    const tcp4 = vectors.find((v) => v.name === 'tcp4')!;
    const f = frameFromSpec([
      'smac=52:54:00:aa:bb:c6',
      'dmac=02:11:22:33:44:55',
      'sip=198.18.0.1',
      'dip=198.18.0.2',
      'proto=tcp',
      'sport=40000',
      'dport=5201',
    ]);
    for (const p of HASH_POLICIES) expect(xmitHash(f, 0, f.length, policyId(p)), p).toBe(tcp4.expected[p]);
    const echo = vectors.find((v) => v.name === 'icmp6-echo')!;
    const g = frameFromSpec([
      'smac=52:54:00:aa:bb:c6',
      'dmac=02:11:22:33:44:55',
      'sip=2001:db8::1',
      'dip=2001:db8::2',
      'proto=icmp',
      'icmp_id=0xbeef',
    ]);
    expect(xmitHash(g, 0, g.length, policyId('layer3+4'))).toBe(echo.expected['layer3+4']);
    const vl = vectors.find((v) => v.name === 'tcp4-vlan5')!;
    const h = frameFromSpec(['smac=52:54:00:aa:bb:c6', 'dmac=02:11:22:33:44:55', 'vlan=5', 'sport=40000', 'dport=5201']);
    expect(xmitHash(h, 0, h.length, policyId('vlan+srcmac'))).toBe(vl.expected['vlan+srcmac']);
    expect(xmitHash(h, 0, h.length, policyId('layer3+4'))).toBe(vl.expected['layer3+4']);
  });

  it('rejects bad descriptions with a clear message', () => {
    expect(() => frameFromSpec(['sport=70000'])).toThrow(/sport: invalid value '70000'/);
    expect(() => frameFromSpec(['color=blue'])).toThrow(/expected key=value/);
    expect(() => frameFromSpec(['sip=198.18.0.1', 'dip=2001:db8::1'])).toThrow(/both be IPv4 or both IPv6/);
    expect(() => frameFromHex('zz')).toThrow(/hex/);
  });
});
