#!/usr/bin/env python3
"""Frames from many hosts at once, for the benchmark's scale section (AF_PACKET, so one
namespace stands for a crowd). Bounded in time; prints one JSON line.

  scale-frames.py macs IFACE N
      N broadcast frames (ethertype 0x88b5, IEEE local experimental), each from its own source
      MAC 02:6d:00:00:hh:ll: a bridge floods them onto the bond, which learns N guest MACs.
  scale-frames.py alb IFACE N BOND_IP FRAMES RATE
      N clients, MAC 02:5c:00:00:hh:ll and IPv4 198.18.(4 + hh).ll, each ARPs for BOND_IP
      (RATE requests per second) and takes the MAC the answer teaches it (balance-alb's receive
      balancing hands each client a slave's MAC); then each sends FRAMES frames (ethertype
      0x88b5) to that MAC. Prints how many were answered, the MACs taught with counts, and the
      one each client was taught, in client order.
"""
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
EXP = 0x88B5


def mac_of(prefix, i):
    return bytes([0x02, prefix, 0, 0, (i >> 8) & 0xFF, i & 0xFF])


def fmt(mac):
    return ":".join(f"{b:02x}" for b in mac)


def open_sock(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    return s


def macs(iface, n):
    s = open_sock(iface)
    payload = b"tapbond-scale".ljust(46, b"\0")
    for i in range(n):
        s.send(b"\xff" * 6 + mac_of(0x6D, i) + struct.pack("!H", EXP) + payload)
    print(json.dumps({"sent": n}))


def alb(iface, n, bond_ip, frames, rate):
    s = open_sock(iface)
    s.setblocking(False)
    target = socket.inet_aton(bond_ip)
    clients = [(mac_of(0x5C, i), bytes([198, 18, 4 + (i >> 8), i & 0xFF])) for i in range(n)]
    by_ip = {ip: i for i, (_, ip) in enumerate(clients)}
    taught = [None] * n

    def drain():
        while True:
            try:
                f = s.recv(2048)
            except BlockingIOError:
                return
            if len(f) < 42 or f[12:14] != b"\x08\x06" or f[20:22] != b"\x00\x02":
                continue
            i = by_ip.get(f[38:42])
            if i is not None and f[28:32] == target and f[32:38] == clients[i][0]:
                taught[i] = f[22:28]  # the sender hardware address: the MAC taught

    start = time.monotonic()
    for i, (mac, ip) in enumerate(clients):
        while time.monotonic() - start < i / rate:
            drain()
            time.sleep(0.001)
        arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\0" * 6 + target
        s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp.ljust(46, b"\0"))
        drain()
    end = time.monotonic() + 2
    while time.monotonic() < end and None in taught:
        drain()
        time.sleep(0.005)
    learn_s = time.monotonic() - start
    payload = b"tapbond-alb".ljust(46, b"\0")
    for _ in range(frames):
        for i, (mac, _) in enumerate(clients):
            if taught[i] is not None:
                s.send(taught[i] + mac + struct.pack("!H", EXP) + payload)
    counts = {}
    for t in taught:
        if t is not None:
            counts[fmt(t)] = counts.get(fmt(t), 0) + 1
    order = [fmt(t) if t is not None else None for t in taught]
    print(json.dumps({"clients": n, "answered": sum(t is not None for t in taught), "taught": counts, "order": order, "learn_s": learn_s}))


def main():
    cmd = sys.argv[1]
    if cmd == "macs":
        macs(sys.argv[2], int(sys.argv[3]))
    elif cmd == "alb":
        alb(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    else:
        sys.exit(f"scale-frames.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
