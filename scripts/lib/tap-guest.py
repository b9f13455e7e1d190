#!/usr/bin/env python3
"""A guest stand-in on a TAP: creates TAP NAME, puts it in BRIDGE, and writes COUNT IPv4/UDP
frames from SRC_MAC to DST_MAC, as a VM's virtio NIC would hand them to the host (the kernel
records the TAP's receive queue on each, as it does for a vhost-net guest's).

  tap-guest.py NAME BRIDGE SRC_MAC DST_MAC COUNT
"""
import fcntl
import os
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


def checksum(b: bytes) -> int:
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src: bytes, dst: bytes, i: int) -> bytes:
    payload = b"g" * 32
    udp = struct.pack("!HHHH", 40000 + i % 16, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, bytes([198, 18, 0, 60]), bytes([198, 18, 0, 2]))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst + src + b"\x08\x00" + ip + udp


def main() -> None:
    name, bridge, src, dst, count = sys.argv[1:6]
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    subprocess.run(["ip", "link", "set", name, "master", bridge, "up"], check=True)
    time.sleep(0.3)  # the port forwards (no STP) once it is up
    s, d = bytes.fromhex(src.replace(":", "")), bytes.fromhex(dst.replace(":", ""))
    for i in range(int(count)):
        os.write(fd, frame(s, d, i))
    time.sleep(0.2)
    os.close(fd)  # the TAP goes with its only fd


if __name__ == "__main__":
    main()
