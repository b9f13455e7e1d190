#!/usr/bin/env python3
"""Sends COUNT random and malformed Ethernet frames out of IFNAME through a packet socket:
random bytes, truncated headers, stacked VLAN tags, IPv4 and IPv6 with bogus lengths and
extension chains, tunnels, ARP and slow-protocol (LACP/Marker) PDUs with every field random.
Source MACs are random unicast ones. COUNT frames are sent from a pool of 65,536 distinct ones. Frames the kernel refuses to send (shorter than a header)
count as failed, not sent. Prints {"sent": n, "failed": n} as JSON. Bounded in time.

    blast.py IFNAME COUNT SEED [SECONDS]
"""
import json, random, socket, sys, time

ifname, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
r = random.Random(seed)

def rb(n):
    return r.randbytes(n)

def mac():
    return rb(6)

def ipv4():
    ihl = r.choice([5, 5, 5, 4, 15, 0])
    hdr = bytes([0x40 | ihl, 0]) + r.randrange(65536).to_bytes(2, 'big') + rb(4) + bytes([r.randrange(256), r.choice([1, 2, 4, 6, 17, 41, 47, 58, r.randrange(256)])]) + rb(10)
    return hdr + rb(r.randrange(0, 64))

def ipv6():
    nh = r.choice([0, 43, 44, 60, 6, 17, 58, 41, 4, r.randrange(256)])
    hdr = bytes([0x60, 0, 0, 0]) + r.randrange(65536).to_bytes(2, 'big') + bytes([nh, 64]) + rb(32)
    chain = b''.join(bytes([r.choice([0, 43, 60, 6, 58]), r.randrange(8)]) + rb(6) for _ in range(r.randrange(0, 5)))
    return hdr + chain + rb(r.randrange(0, 40))

def arp():
    return bytes([0, 1, 8, 0, r.choice([6, 0, 255]), r.choice([4, 16, 0])]) + r.choice([1, 2, 3, 8]).to_bytes(2, 'big') + rb(r.choice([20, 8, 40]))

def slow():
    subtype = r.choice([1, 1, 2, 0, 10, r.randrange(256)])
    return bytes([subtype, r.choice([1, 1, 0, 2, 255])]) + rb(r.choice([108, 10, 0, 200]))

def frame():
    kind = r.randrange(10)
    dst = r.choice([mac(), b'\xff' * 6, b'\x01\x80\xc2\x00\x00\x02', b'\x33\x33\xff' + rb(3)])
    src = mac()
    src = bytes([src[0] & 0xfe]) + src[1:]
    if kind == 0:
        return rb(r.randrange(1, 14))  # shorter than an Ethernet header
    tags = b''.join(r.choice([b'\x81\x00', b'\x88\xa8']) + rb(2) for _ in range(r.choice([0, 0, 1, 2, 5])))
    body = [ipv4, ipv4, ipv6, ipv6, arp, slow, lambda: rb(r.randrange(0, 1500)), ipv4, lambda: b''][kind - 1]()
    et = {ipv4: 0x0800, ipv6: 0x86dd, arp: 0x0806, slow: 0x8809}.get([ipv4, ipv4, ipv6, ipv6, arp, slow, None, ipv4, None][kind - 1], r.randrange(65536))
    return (dst + src + tags + et.to_bytes(2, 'big') + body)[: r.choice([9999, 9999, 9999, 14, 18, 20, 34, 54])]

POOL = 65536  # distinct frames, sent in turn
pool = [frame() for _ in range(POOL)]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
sent = failed = 0
end = time.monotonic() + limit
for i in range(count):
    if i % 4096 == 0 and time.monotonic() > end:
        break
    f = pool[i % POOL]
    try:
        s.send(f)
        sent += 1
    except OSError:
        failed += 1
print(json.dumps({"sent": sent, "failed": failed}))
