import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  BPF_FILTER_NAME,
  isStackDrop,
  messages,
  netlinkError,
  parseLink,
  parseRoute,
  routeBody,
  RTM_NEWLINK,
  RTPROT_DHCP,
  RTPROT_STATIC,
  type Route,
} from '../../../src/net/rtnl.js';

function newlink(ifindex: number, flags: number, name: string, carrier: number): Uint8Array {
  const nameAttr = Buffer.alloc(4 + ((name.length + 1 + 3) & ~3));
  nameAttr.writeUInt16LE(4 + name.length + 1, 0);
  nameAttr.writeUInt16LE(3, 2);
  nameAttr.write(name, 4, 'latin1');
  const carrierAttr = Buffer.from([5, 0, 33, 0, carrier, 0, 0, 0]);
  const ifi = Buffer.alloc(16);
  ifi.writeInt32LE(ifindex, 4);
  ifi.writeUInt32LE(flags, 8);
  const body = Buffer.concat([ifi, nameAttr, carrierAttr]);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE(RTM_NEWLINK, 4);
  return Uint8Array.from(Buffer.concat([hdr, body]));
}

describe('routes: what we send is what a dump gives back', () => {
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  it('a default route via a gateway, metric and main table, in struct rtmsg and attributes', () => {
    const r: Route = {
      family: AF_INET,
      dst: new Uint8Array(4),
      dstLen: 0,
      gateway: Uint8Array.of(198, 18, 0, 254),
      oif: 5,
      metric: 100,
      protocol: RTPROT_DHCP,
    };
    const b = routeBody(r);
    expect([...b.subarray(0, 8)]).toEqual([AF_INET, 0, 0, 0, 254, RTPROT_DHCP, 0 /* universe */, 1 /* unicast */]);
    expect(parseRoute(dv(b))).toEqual({ ...r, table: 254 });
  });
  it('a prefix on the link (scope link), an IPv6 route in a table above 255, onlink', () => {
    const link: Route = { family: AF_INET, dst: Uint8Array.of(198, 19, 7, 0), dstLen: 24, oif: 3, protocol: RTPROT_STATIC };
    const b = routeBody(link);
    expect(b[6]).toBe(253);
    expect(parseRoute(dv(b))).toEqual({ ...link, table: 254 });
    const six: Route = {
      family: AF_INET6,
      dst: new Uint8Array(16).fill(0x20, 0, 1),
      dstLen: 8,
      gateway: new Uint8Array(16).fill(0xfe, 0, 1),
      oif: 3,
      table: 1000,
      onlink: true,
      protocol: RTPROT_STATIC,
    };
    const b6 = routeBody(six);
    expect(b6[4]).toBe(0); // RT_TABLE_UNSPEC: RTA_TABLE carries it
    expect(parseRoute(dv(b6))).toEqual(six);
  });
});

describe('rtnetlink parsing', () => {
  it('parses RTM_NEWLINK with name and carrier', () => {
    const d = newlink(7, 0x11043, 's0', 0);
    const [m] = [...messages(d)];
    const ev = parseLink(m.type, m.body)!;
    expect(ev).toMatchObject({ type: 'new', ifindex: 7, flags: 0x11043, name: 's0', carrier: false });
  });

  it('stops at a truncated message instead of throwing', () => {
    const d = newlink(7, 1, 's0', 1).subarray(0, 20);
    expect([...messages(d)]).toHaveLength(0);
  });

  it('turns a netlink errno into a SystemError-shaped error', () => {
    const e = netlinkError(17, 'RTM_NEWQDISC');
    expect(e.code).toBe('EEXIST');
    expect(e.errno).toBe(-17);
    expect(e.syscall).toBe('RTM_NEWQDISC');
  });
});

describe("our tc filters, told apart from anyone else's", () => {
  const slot = { kind: 'bpf', handle: 0x7b01, pref: 1 };
  it("recognises the drop filter and the fast path's receive program by name, in our slot only", () => {
    const drop = Uint8Array.from([0, 0, 0, 0, 0x62, 0x70, 0x61, 0x74, 6, 0, 0, 0, 2, 0, 0, 0]);
    expect(isStackDrop({ ...slot, ops: drop })).toBe(true);
    expect(isStackDrop({ ...slot, name: BPF_FILTER_NAME })).toBe(true);
    expect(isStackDrop({ ...slot, name: 'cilium' })).toBe(false);
    expect(isStackDrop({ ...slot, handle: 0x7b02, name: BPF_FILTER_NAME })).toBe(false);
    expect(isStackDrop({ ...slot, kind: 'u32', name: BPF_FILTER_NAME })).toBe(false);
    expect(isStackDrop({ ...slot, ops: drop.map((b, i) => (i === 12 ? 0 : b)) })).toBe(false);
  });
});
