// Garbage in, no crash out: random and truncated frames through every parser and through a
// whole bond's datapath (counted and dropped, never thrown). Seeded, so failures reproduce.
import { describe, expect, it } from 'vitest';
import { xmitHash } from '../../../src/datapath/hash.js';
import { encodeLacpdu, parseSlowPdu } from '../../../src/lacp/pdu.js';
import { parseArp, parseNd, gratuitousArp, unsolicitedNa } from '../../../src/net/frames.js';
import { messages, parseLink } from '../../../src/net/rtnl.js';
import { fakeBond } from '../../helpers/fake-bond.js';
import { rng } from '../../helpers/rng.js';

function frames(n: number, seed: number): Uint8Array[] {
  const r = rng(seed);
  const templates = [
    gratuitousArp(Uint8Array.of(2, 0, 0, 0, 0, 1), Uint8Array.of(198, 18, 0, 1)),
    unsolicitedNa(Uint8Array.of(2, 0, 0, 0, 0, 1), new Uint8Array(16)),
    encodeLacpdu(Uint8Array.of(2, 0, 0, 0, 0, 1), {
      actor: { systemPriority: 1, system: new Uint8Array(6), key: 1, portPriority: 1, port: 1, state: 0 },
      partner: { systemPriority: 1, system: new Uint8Array(6), key: 1, portPriority: 1, port: 1, state: 0 },
      collectorMaxDelay: 0,
    }),
  ];
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r();
    if (kind < 0.4) {
      out.push(Uint8Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
    } else {
      // a real frame, truncated and with a few bytes flipped; sometimes a VLAN or IPv4/IPv6 EtherType
      const t = templates[Math.floor(r() * templates.length)];
      const f = Uint8Array.from(t.subarray(0, Math.floor(r() * (t.length + 1))));
      for (let k = 0; k < 4 && f.length; k++) f[Math.floor(r() * f.length)] = Math.floor(r() * 256);
      if (f.length > 14 && r() < 0.3)
        [f[12], f[13]] = [
          [0x81, 0x00],
          [0x08, 0x00],
          [0x86, 0xdd],
          [0x88, 0x09],
        ][Math.floor(r() * 4)];
      out.push(f);
    }
  }
  return out;
}

/** Whole ARP frames (and NS/NA) with every field random: opcode, hardware and protocol types and lengths, addresses. */
function arpFuzz(n: number, seed: number): Uint8Array[] {
  const r = rng(seed * 31 + 1);
  const byte = () => Math.floor(r() * 256);
  return Array.from({ length: n }, (_, i) => {
    if (i % 4 === 3) {
      const na = Uint8Array.from(unsolicitedNa(Uint8Array.from({ length: 6 }, byte), Uint8Array.from({ length: 16 }, byte)));
      for (let k = 54; k < na.length; k++) if (r() < 0.3) na[k] = byte();
      return na;
    }
    const f = Uint8Array.from(gratuitousArp(Uint8Array.from({ length: 6 }, byte), Uint8Array.of(198, 18, 0, byte())));
    if (r() < 0.5) f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
    for (let k = 14; k < f.length; k++) if (r() < 0.5) f[k] = byte(); // htype, ptype, hlen, plen, op, sha, spa, tha, tpa
    return f;
  });
}

describe('malformed input', () => {
  it('parsers and hashes never throw', () => {
    for (const f of frames(5000, 7)) {
      for (let p = 0; p < 6; p++) expect(Number.isInteger(xmitHash(f, 0, f.length, p))).toBe(true);
      if (f.length >= 14) parseSlowPdu(f.subarray(14));
      parseArp(f);
      parseNd(f);
      for (const m of messages(f)) parseLink(m.type, m.body);
    }
  });

  it('a bond counts and drops what it cannot use, in every direction and mode', () => {
    const setups: Record<string, string | number>[] = [
      ...['active-backup', 'balance-rr', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'].map((mode) => ({
        mode,
        miimon: 100,
        ...(mode === 'balance-xor' ? { xmit_hash_policy: 'layer3+4' } : {}),
      })),
      // the ARP monitor validating every fuzzed reply, and the NS monitor
      { mode: 'active-backup', arp_interval: 100, arp_ip_target: '198.18.0.1', arp_validate: 'all' },
      { mode: 'balance-rr', arp_interval: 100, ns_ip6_target: '2001:db8::1', arp_validate: 'filter' },
    ];
    for (const opts of setups) {
      const mode = String(opts.mode) + (opts.arp_interval ? '+arp' : '');
      const { engine, portOf, bond, clock } = fakeBond(opts, ['s0', 's1']);
      const junk = [...frames(600, mode.length), ...arpFuzz(200, mode.length)];
      engine.inject(0, junk);
      engine.inject(portOf('s0'), junk);
      engine.inject(portOf('s1'), junk);
      clock.advance(1000);
      const s = bond.state();
      const short = junk.filter((f) => f.length < 14).length;
      expect(s.ports[0].counters.rx_malformed).toBe(short);
      expect(s.ports.every((p) => p.counters.rx_frames === junk.length)).toBe(true);
    }
  });
});
