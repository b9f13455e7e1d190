#!/usr/bin/env python3
"""Golden vectors for xmit_hash_policy, worked out from the documented kernel formulas
(the kernel's bond_main.c bond_xmit_hash and flow_dissector.c), independently of src/datapath/hash.ts.
Writes test/fixtures/hash-vectors.json: frames (hex) with the expected hash per policy.
x86 semantics: 4 wire bytes reinterpreted as a little-endian u32 where the kernel casts them."""
import json, struct, sys

def u32le(b): return struct.unpack('<I', b)[0]
def mac(s): return bytes(int(x, 16) for x in s.split(':'))
def ip4(s): return bytes(int(x) for x in s.split('.'))
def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed

def eth(dst, src, et, payload, vlan=None):
    tag = b'' if vlan is None else struct.pack('>HH', 0x8100, vlan)
    return mac(dst) + mac(src) + tag + struct.pack('>H', et) + payload

def ipv4(s, d, proto, l4, frag=0, ihl=5):
    opts = b'\x00' * ((ihl - 5) * 4)
    hdr = struct.pack('>BBHHHBBH4s4s', 0x40 | ihl, 0, 20 + len(opts) + len(l4), 1, frag, 64, proto, 0, ip4(s), ip4(d))
    return hdr + opts + l4

def ipv6(s, d, nh, l4):
    return struct.pack('>IHBB', 0x60000000, len(l4), nh, 64) + ip6(s) + ip6(d) + l4

def tcp(sp, dp): return struct.pack('>HHIIBBHHH', sp, dp, 1, 0, 0x50, 0x10, 1000, 0, 0)
def udp(sp, dp): return struct.pack('>HHHH', sp, dp, 8, 0) + b'\x00' * 10
def icmp(t, c, ident=0, seq=0, rest=b''): return struct.pack('>BBHHH', t, c, 0, ident, seq) + rest

# ---- the documented formulas ----------------------------------------------------------
def l2hash(f, et):
    return (f[5] ^ f[11] ^ et) & 0xffffffff

def fold6(a):
    w = struct.unpack('<IIII', a)
    return w[0] ^ w[1] ^ w[2] ^ w[3]

PORT_OFF = {6: 0, 17: 0, 33: 0, 50: 0, 132: 0, 136: 0, 51: 4}
ICMP_ERR = {3, 4, 5, 11, 12}
ICMP_ID = {0, 8, 13, 14, 128, 129}

def ip_keys(et, p, l34, proto_in):
    """addresses, next offset into p, protocol, ports (bond_flow_ip)."""
    proto = proto_in
    if et == 0x0800:
        if len(p) < 20: return None
        s, d = u32le(p[12:16]), u32le(p[16:20])
        frag = struct.unpack('>H', p[6:8])[0] & 0x3fff
        off = (p[0] & 15) * 4
        if not frag: proto = p[9]
    elif et == 0x86dd:
        if len(p) < 40: return None
        s, d = fold6(p[8:24]), fold6(p[24:40])
        proto, off = p[6], 40
    else:
        return None
    ports = 0
    if l34 and proto >= 0 and proto in PORT_OFF and len(p) >= off + PORT_OFF[proto] + 4:
        o = off + PORT_OFF[proto]
        ports = u32le(p[o:o + 4])
    return s, d, off, proto, ports

def finish(h, s, d, shift):
    h = (h ^ d ^ s) & 0xffffffff
    h ^= h >> 16
    h ^= h >> 8
    return (h >> 1) if shift else h

def plain(f, et, p, policy):
    l34 = policy == 'layer3+4'
    k = ip_keys(et, p, l34, -1)
    if k is None: return l2hash(f, et)
    s, d, off, proto, ports = k
    icmp_word = 0; icmp_id = 0
    if proto in (1, 58):
        if len(p) >= off + 8:
            t, c = p[off], p[off + 1]
            icmp_id = (struct.unpack('>H', p[off + 4:off + 6])[0] or 1) if t in ICMP_ID else 0
            icmp_word = t | (c << 8) | (icmp_id << 16)
        t = p[off] if len(p) > off else 0
        err = (t in ICMP_ERR) if proto == 1 else (t < 128)
        if err:
            k2 = ip_keys(et, p[off + 8:], l34, proto)
            if k2 is None: return l2hash(f, et)
            s, d, _, _, ports = k2
    if policy == 'layer2+3':
        return finish(l2hash(f, et), s, d, False)
    return finish(icmp_word if icmp_id else ports, s, d, True)

def encap(f, et, p, policy):
    s = d = ports = icmp_word = icmp_id = 0
    good = False
    while True:
        if et in (0x8100, 0x88a8):
            et = struct.unpack('>H', p[2:4])[0]; p = p[4:]; continue
        if et == 0x0800:
            if len(p) < 20 or (p[0] & 15) < 5: break
            s, d, proto = u32le(p[12:16]), u32le(p[16:20]), p[9]
            if struct.unpack('>H', p[6:8])[0] & 0x3fff: good = True; break
            p = p[(p[0] & 15) * 4:]; v6 = False
        elif et == 0x86dd:
            if len(p) < 40: break
            s, d, proto = fold6(p[8:24]), fold6(p[24:40]), p[6]
            p = p[40:]; v6 = True
        elif et in (0x0806, 0x8035, 0x8906):
            s = d = 0; good = True; break
        else:
            break
        while v6 and proto in (0, 43, 60):
            proto, p = p[0], p[(p[1] + 1) * 8:]
        if v6 and proto == 44: good = True; break
        if proto in (4, 41):
            et = 0x0800 if proto == 4 else 0x86dd; continue
        if proto == 47:
            flags, gp = struct.unpack('>HH', p[:4])
            if flags & 0x4007: good = True; break
            p = p[4 + (4 if flags & 0x8000 else 0) + (4 if flags & 0x2000 else 0) + (4 if flags & 0x1000 else 0):]
            if gp == 0x6558: et = struct.unpack('>H', p[12:14])[0]; p = p[14:]
            else: et = gp
            continue
        if proto in (1, 58):
            if len(p) >= 8:
                t, c = p[0], p[1]
                icmp_id = (struct.unpack('>H', p[4:6])[0] or 1) if t in ICMP_ID else 0
                icmp_word = t | (c << 8) | (icmp_id << 16)
            good = True; break
        if proto in PORT_OFF and len(p) >= PORT_OFF[proto] + 4:
            ports = u32le(p[PORT_OFF[proto]:PORT_OFF[proto] + 4])
        good = True; break
    if not good: return l2hash(f, et0(f))
    if policy == 'encap2+3':
        return finish(l2hash(f, et0(f)), s, d, False)
    return finish(icmp_word if icmp_id else ports, s, d, True)

def et0(f):
    et = struct.unpack('>H', f[12:14])[0]
    return struct.unpack('>H', f[16:18])[0] if et in (0x8100, 0x88a8) else et

def expected(f, policy):
    et = struct.unpack('>H', f[12:14])[0]
    vlan, p = 0, f[14:]
    if et in (0x8100, 0x88a8):
        vlan = struct.unpack('>H', f[14:16])[0]; et = struct.unpack('>H', f[16:18])[0]; p = f[18:]
    if policy == 'vlan+srcmac':
        return vlan ^ int.from_bytes(f[6:9], 'big') ^ int.from_bytes(f[9:12], 'big')
    if policy == 'layer2': return l2hash(f, et)
    if policy in ('layer2+3', 'layer3+4'): return plain(f, et, p, policy)
    return encap(f, et, p, policy)

A, B = '02:11:22:33:44:55', '52:54:00:aa:bb:c6'
cases = {
    'tcp4': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 6, tcp(40000, 5201))),
    'udp4': eth(A, B, 0x0800, ipv4('198.18.1.7', '198.19.200.3', 17, udp(53, 33333))),
    'tcp4-ip-options': eth(A, B, 0x0800, ipv4('198.18.0.9', '198.18.0.10', 6, tcp(1, 65535), ihl=7)),
    'icmp4-echo': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 1, icmp(8, 0, 0x1234, 1, b'x' * 8))),
    'icmp4-echo-id0': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 1, icmp(0, 0, 0, 7))),
    'icmp4-unreach': eth(A, B, 0x0800, ipv4('198.18.0.254', '198.18.0.1', 1,
                         icmp(3, 3, 0, 0, ipv4('198.18.0.1', '198.18.5.5', 17, udp(40001, 53))))),
    'icmp4-other': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 1, icmp(9, 0))),
    'frag4-first': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 17, udp(1000, 2000), frag=0x2000)),
    'frag4-later': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 17, b'\x00' * 16, frag=0x00b9)),
    'tcp6': eth(A, B, 0x86dd, ipv6('2001:db8::1', '2001:db8:1::2', 6, tcp(443, 50000))),
    'udp6': eth(A, B, 0x86dd, ipv6('2001:db8:ffff::10', 'fe80::1', 17, udp(5353, 5353))),
    'icmp6-echo': eth(A, B, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 58, icmp(128, 0, 0xbeef, 3))),
    'icmp6-too-big': eth(A, B, 0x86dd, ipv6('2001:db8::fe', '2001:db8::1', 58,
                         icmp(2, 0, 0, 1400, ipv6('2001:db8::1', '2001:db8:9::9', 6, tcp(2222, 22))))),
    'ipv6-hopopts-tcp': eth(A, B, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 0, bytes([6, 0, 1, 4, 0, 0, 0, 0]) + tcp(7, 8))),
    'tcp4-vlan5': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 6, tcp(40000, 5201)), vlan=5),
    'tcp4-vlan-pcp': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 6, tcp(40000, 5201)), vlan=0xa00c),
    'arp': eth('ff:ff:ff:ff:ff:ff', B, 0x0806, struct.pack('>HHBBH', 1, 0x0800, 6, 4, 1) + mac(B) + ip4('198.18.0.1') + b'\x00' * 6 + ip4('198.18.0.2')),
    'lldp': eth('01:80:c2:00:00:0e', B, 0x88cc, b'\x02\x07\x04' + mac(B) + b'\x00' * 30),
    'ipip': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 4, ipv4('198.19.0.1', '198.19.0.2', 6, tcp(1111, 2222)))),
    'gre-ip': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 47, struct.pack('>HH', 0, 0x0800) + ipv4('198.19.1.1', '198.19.2.2', 17, udp(4789, 9)))),
    'gre-key-teb': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 47, struct.pack('>HHI', 0x2000, 0x6558, 42)
                       + eth(A, B, 0x0800, ipv4('198.19.3.3', '198.19.4.4', 6, tcp(5, 6))))),
    'ipv6-in-ipv4': eth(A, B, 0x0800, ipv4('198.18.0.1', '198.18.0.2', 41, ipv6('2001:db8::a', '2001:db8::b', 17, udp(1, 2)))),
}
POLICIES = ['layer2', 'layer3+4', 'layer2+3', 'encap2+3', 'encap3+4', 'vlan+srcmac']
if len(sys.argv) == 4 and sys.argv[1] == '--oracle':  # --oracle POLICY HEX: one frame's expected hash
    print(expected(bytes.fromhex(sys.argv[3]), sys.argv[2]))
    sys.exit(0)
out = [{'name': n, 'hex': f.hex(), 'expected': {p: expected(f, p) for p in POLICIES}} for n, f in cases.items()]
json.dump(out, open(sys.argv[1] if len(sys.argv) > 1 else 'test/fixtures/hash-vectors.json', 'w'), indent=1)
print(f'{len(out)} vectors')
