import { describe, expect, it } from 'vitest';
import { parseProcIgmp, parseProcIgmp6 } from '../../../src/host/host.js';
import {
  gratuitousArp,
  igmpReports,
  mldReports,
  neighbourSolicitation,
  parseNd,
  solicitedNode,
  unsolicitedNa,
} from '../../../src/net/frames.js';
import { formatIp } from '../../../src/util/mac.js';

const mac = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);

describe('peer notification frames', () => {
  it('builds a gratuitous ARP request with sip = tip', () => {
    const f = gratuitousArp(mac, Uint8Array.of(198, 18, 0, 1));
    expect(f.length).toBe(60);
    expect(Buffer.from(f.subarray(0, 14)).toString('hex')).toBe('ffffffffffff0211223344550806');
    expect(Buffer.from(f.subarray(14, 22)).toString('hex')).toBe('0001080006040001');
    expect(formatIp(f.subarray(28, 32))).toBe('198.18.0.1');
    expect(formatIp(f.subarray(38, 42))).toBe('198.18.0.1');
    expect(f.subarray(32, 38).every((b) => b === 0)).toBe(true);
  });

  it('builds an unsolicited NA whose ICMPv6 checksum verifies', () => {
    const ip6 = Uint8Array.from(Buffer.from('20010db8000000000000000000000001', 'hex'));
    const f = unsolicitedNa(mac, ip6);
    expect(Buffer.from(f.subarray(0, 6)).toString('hex')).toBe('333300000001');
    expect(f[14 + 6]).toBe(58);
    expect(f[14 + 7]).toBe(255);
    expect(f[54]).toBe(136);
    expect(f[58] & 0x20).toBe(0x20); // override
    // independent check: the one's complement sum over pseudo-header + ICMPv6 is 0xffff
    const icmp = f.subarray(54);
    const words: number[] = [];
    const push = (b: Uint8Array) => {
      for (let i = 0; i < b.length; i += 2) words.push((b[i] << 8) | (b[i + 1] ?? 0));
    };
    push(f.subarray(22, 38)); // src
    push(f.subarray(38, 54)); // dst
    words.push(0, icmp.length, 0, 58);
    push(icmp);
    let s = words.reduce((a, b) => a + b, 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    expect(s).toBe(0xffff);
  });

  it('formats IPv6 like inet_ntop', () => {
    expect(formatIp(Uint8Array.from(Buffer.from('20010db8000000000000000000000001', 'hex')))).toBe('2001:db8::1');
    expect(formatIp(Uint8Array.from(Buffer.from('fe800000000000000000000000000000', 'hex')))).toBe('fe80::');
  });
});

describe('IGMP membership reports (resend_igmp)', () => {
  const sum16 = (b: Uint8Array) => {
    let s = 0;
    for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };

  it('reads the groups of one device from /proc/net/igmp, without 224.0.0.1', () => {
    const text =
      'Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n1\tlo        :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n4\tbond0     :     2      V2\n\t\t\t\t010000E0     1 0:00000000\t\t0\n\t\t\t\t010101EF     1 0:00000000\t\t0\n';
    const r = parseProcIgmp(text, 'bond0');
    expect(r.version).toBe(2);
    expect(r.groups.map((g) => Array.from(g).join('.'))).toEqual(['239.1.1.1']);
  });

  it('builds IGMPv3 and IGMPv2 reports with valid IP and IGMP checksums', () => {
    const g = [Uint8Array.of(239, 1, 1, 1), Uint8Array.of(239, 2, 2, 2)];
    const [v3] = igmpReports(mac, Uint8Array.of(198, 18, 0, 1), g, 3);
    expect(Buffer.from(v3.subarray(0, 6)).toString('hex')).toBe('01005e000016');
    expect(sum16(v3.subarray(14, 38))).toBe(0xffff);
    expect(sum16(v3.subarray(38))).toBe(0xffff);
    expect(v3[38]).toBe(0x22);
    expect(v3[45]).toBe(2); // two group records
    const v2 = igmpReports(mac, Uint8Array.of(198, 18, 0, 1), g, 2);
    expect(v2).toHaveLength(2);
    expect(Buffer.from(v2[1].subarray(0, 6)).toString('hex')).toBe('01005e020202');
    expect(v2[1][38]).toBe(0x16);
    expect(sum16(v2[1].subarray(38))).toBe(0xffff);
  });
});

describe('neighbour discovery for the NS monitor', () => {
  const ip6 = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
  it('builds an NS to the solicited-node group that parses back, with a valid checksum', () => {
    const target = ip6('20010db8000000000000000000000002');
    const f = neighbourSolicitation(mac, ip6('20010db8000000000000000000000001'), target);
    expect(Buffer.from(f.subarray(0, 6)).toString('hex')).toBe('3333ff000002');
    expect(Buffer.from(solicitedNode(target).ip).toString('hex')).toBe('ff0200000000000000000001ff000002');
    const nd = parseNd(f)!;
    expect(nd.op).toBe(1);
    expect(Buffer.from(nd.tip).toString('hex')).toBe('20010db8000000000000000000000002');
    const words: number[] = [];
    const push = (b: Uint8Array) => {
      for (let i = 0; i < b.length; i += 2) words.push((b[i] << 8) | (b[i + 1] ?? 0));
    };
    push(f.subarray(22, 54));
    words.push(0, f.length - 54, 0, 58);
    push(f.subarray(54));
    let s = words.reduce((a, b) => a + b, 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    expect(s).toBe(0xffff);
  });
  it('reads an advertisement as a reply from its target to the destination', () => {
    const na = parseNd(unsolicitedNa(mac, ip6('20010db8000000000000000000000002')))!;
    expect(na.op).toBe(2);
    expect(Buffer.from(na.sip).toString('hex')).toBe('20010db8000000000000000000000002');
    expect(Buffer.from(na.tip).toString('hex')).toBe('ff020000000000000000000000000001');
  });
});

describe('MLD reports (resend_igmp, IPv6)', () => {
  const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
  /** one's complement sum over the IPv6 pseudo-header and the ICMPv6 message */
  const icmp6Sum = (f: Uint8Array, at: number) => {
    const icmp = f.subarray(at);
    const w: number[] = [];
    const push = (b: Uint8Array) => {
      for (let i = 0; i < b.length; i += 2) w.push((b[i] << 8) | (b[i + 1] ?? 0));
    };
    push(f.subarray(22, 54));
    w.push(0, icmp.length, 0, 58);
    push(icmp);
    let s = w.reduce((a, b) => a + b, 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };

  it('reads the reportable groups of one device from /proc/net/igmp6', () => {
    const text = [
      '1    lo              ff020000000000000000000000000001     1 0000000C 0',
      '4    bond0           ff020000000000000000000000000001     1 0000000C 0',
      '4    bond0           ff0200000000000000000001ff000001     1 00000004 0',
      '4    bond0           ff010000000000000000000000000002     1 0000000C 0',
      '4    bond0           ff0e0000000000000000000000001234     1 00000004 0',
      '5    bond1           ff0200000000000000000001ff000002     1 00000004 0',
    ].join('\n');
    expect(parseProcIgmp6(text, 'bond0').map((g) => Buffer.from(g).toString('hex'))).toEqual([
      'ff0200000000000000000001ff000001',
      'ff0e0000000000000000000000001234',
    ]);
  });

  it('builds one MLDv2 report to ff02::16 behind a Router Alert, or MLDv1 reports per group', () => {
    const src = hex('fe800000000000000011223344556677');
    const groups = [hex('ff0200000000000000000001ff000001'), hex('ff0e0000000000000000000000001234')];
    const [v2] = mldReports(mac, src, groups, 2);
    expect(Buffer.from(v2.subarray(0, 14)).toString('hex')).toBe('33330000001602112233445586dd');
    expect(v2[14 + 6]).toBe(0); // hop-by-hop header first
    expect(v2[14 + 7]).toBe(1); // hop limit 1
    expect(Buffer.from(v2.subarray(54, 62)).toString('hex')).toBe('3a00050200000100');
    expect(v2[62]).toBe(143);
    expect((v2[68] << 8) | v2[69]).toBe(2);
    expect(Buffer.from(v2.subarray(74, 90))).toEqual(Buffer.from(groups[0]));
    expect(icmp6Sum(v2, 62)).toBe(0xffff);
    const v1 = mldReports(mac, src, groups, 1);
    expect(v1).toHaveLength(2);
    expect(Buffer.from(v1[1].subarray(0, 6)).toString('hex')).toBe('333300001234');
    expect(v1[1][62]).toBe(131);
    expect(icmp6Sum(v1[1], 62)).toBe(0xffff);
  });
});
