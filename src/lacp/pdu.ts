// LACPDU and Marker PDU encoding and parsing (IEEE 802.1AX-2014 §6.4.2.3, §6.5.3; slow
// protocols, EtherType 0x8809, to 01:80:c2:00:00:02). Sans-I/O and pure: a malformed PDU gives
// a reason string, never an exception, so the caller can count and drop it.
export const SLOW_PROTOCOLS_MAC = Uint8Array.of(0x01, 0x80, 0xc2, 0x00, 0x00, 0x02);
export const ETHERTYPE_SLOW = 0x8809;
export const SUBTYPE_LACP = 1;
export const SUBTYPE_MARKER = 2;
const PDU_LEN = 110; // body after the Ethernet header, both PDU kinds

/** Actor or partner information as carried in a LACPDU. */
export interface LacpInfo {
  systemPriority: number;
  system: Uint8Array; // 6 bytes
  key: number;
  portPriority: number;
  port: number;
  state: number;
}

export interface Lacpdu {
  actor: LacpInfo;
  partner: LacpInfo;
  collectorMaxDelay: number;
}

export interface MarkerPdu {
  response: boolean;
  requesterPort: number;
  requesterSystem: Uint8Array;
  transactionId: number;
}

export type SlowPdu =
  | { kind: 'lacp'; pdu: Lacpdu }
  | { kind: 'marker'; pdu: MarkerPdu }
  | { kind: 'unknown'; subtype: number }
  | { kind: 'illegal'; reason: string };

function writeInfo(b: Uint8Array, o: number, type: number, i: LacpInfo): void {
  const dv = new DataView(b.buffer, b.byteOffset);
  b[o] = type;
  b[o + 1] = 20;
  dv.setUint16(o + 2, i.systemPriority);
  b.set(i.system.subarray(0, 6), o + 4);
  dv.setUint16(o + 10, i.key);
  dv.setUint16(o + 12, i.portPriority);
  dv.setUint16(o + 14, i.port);
  b[o + 16] = i.state;
}

function readInfo(dv: DataView, o: number): LacpInfo {
  return {
    systemPriority: dv.getUint16(o + 2),
    system: new Uint8Array(dv.buffer.slice(dv.byteOffset + o + 4, dv.byteOffset + o + 10)),
    key: dv.getUint16(o + 10),
    portPriority: dv.getUint16(o + 12),
    port: dv.getUint16(o + 14),
    state: dv.getUint8(o + 16),
  };
}

function header(src: Uint8Array, subtype: number): Uint8Array {
  const f = new Uint8Array(14 + PDU_LEN);
  f.set(SLOW_PROTOCOLS_MAC, 0);
  f.set(src.subarray(0, 6), 6);
  f[12] = ETHERTYPE_SLOW >> 8;
  f[13] = ETHERTYPE_SLOW & 0xff;
  f[14] = subtype;
  f[15] = 1; // version
  return f;
}

/** A whole Ethernet frame carrying a LACPDU from `src` (the port's own MAC). */
export function encodeLacpdu(src: Uint8Array, p: Lacpdu): Uint8Array {
  const f = header(src, SUBTYPE_LACP);
  writeInfo(f, 16, 1, p.actor);
  writeInfo(f, 36, 2, p.partner);
  f[56] = 3; // collector information
  f[57] = 16;
  new DataView(f.buffer).setUint16(58, p.collectorMaxDelay);
  // terminator (0, 0) at 72 and 50 reserved bytes follow, already zero
  return f;
}

export function encodeMarker(src: Uint8Array, m: MarkerPdu): Uint8Array {
  const f = header(src, SUBTYPE_MARKER);
  const dv = new DataView(f.buffer);
  f[16] = m.response ? 2 : 1;
  f[17] = 16;
  dv.setUint16(18, m.requesterPort);
  f.set(m.requesterSystem.subarray(0, 6), 20);
  dv.setUint32(26, m.transactionId);
  return f;
}

/** Parses the payload of a slow-protocols frame (the bytes after the 14-byte Ethernet header). */
export function parseSlowPdu(body: Uint8Array): SlowPdu {
  if (body.length < 2) return { kind: 'illegal', reason: 'shorter than a slow-protocols header' };
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const subtype = body[0];
  if (subtype === SUBTYPE_LACP) {
    if (body.length < PDU_LEN) return { kind: 'illegal', reason: `LACPDU of ${body.length} bytes (< ${PDU_LEN})` };
    if (body[1] < 1) return { kind: 'illegal', reason: `LACPDU version ${body[1]}` };
    if (body[2] !== 1 || body[3] !== 20) return { kind: 'illegal', reason: `actor TLV type ${body[2]} length ${body[3]}` };
    if (body[22] !== 2 || body[23] !== 20) return { kind: 'illegal', reason: `partner TLV type ${body[22]} length ${body[23]}` };
    if (body[42] !== 3 || body[43] !== 16) return { kind: 'illegal', reason: `collector TLV type ${body[42]} length ${body[43]}` };
    return { kind: 'lacp', pdu: { actor: readInfo(dv, 2), partner: readInfo(dv, 22), collectorMaxDelay: dv.getUint16(44) } };
  }
  if (subtype === SUBTYPE_MARKER) {
    if (body.length < PDU_LEN) return { kind: 'illegal', reason: `Marker PDU of ${body.length} bytes (< ${PDU_LEN})` };
    if ((body[2] !== 1 && body[2] !== 2) || body[3] !== 16)
      return { kind: 'illegal', reason: `marker TLV type ${body[2]} length ${body[3]}` };
    return {
      kind: 'marker',
      pdu: {
        response: body[2] === 2,
        requesterPort: dv.getUint16(4),
        requesterSystem: Uint8Array.from(body.subarray(6, 12)),
        transactionId: dv.getUint32(12),
      },
    };
  }
  return { kind: 'unknown', subtype };
}
