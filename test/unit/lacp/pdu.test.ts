import { describe, expect, it } from 'vitest';
import { encodeLacpdu, encodeMarker, parseSlowPdu, type Lacpdu } from '../../../src/lacp/pdu.js';

const sys = (n: number) => Uint8Array.of(0x02, 0, 0, 0, 0, n);
const pdu: Lacpdu = {
  actor: { systemPriority: 65535, system: sys(1), key: 15, portPriority: 255, port: 1, state: 0x3f },
  partner: { systemPriority: 32768, system: sys(2), key: 33, portPriority: 128, port: 7, state: 0x3d },
  collectorMaxDelay: 0,
};

describe('slow protocol PDUs', () => {
  it('encodes a LACPDU in the 802.1AX layout (124-byte frame) and parses it back', () => {
    const f = encodeLacpdu(sys(9), pdu);
    expect(f.length).toBe(124);
    expect(Buffer.from(f.subarray(0, 16)).toString('hex')).toBe('0180c2000002' + '020000000009' + '8809' + '0101');
    expect(Buffer.from(f.subarray(16, 36)).toString('hex')).toBe(
      '0114' + 'ffff' + '020000000001' + '000f' + '00ff' + '0001' + '3f' + '000000',
    );
    expect([f[56], f[57], f[72], f[73]]).toEqual([3, 16, 0, 0]);
    const r = parseSlowPdu(f.subarray(14));
    expect(r.kind).toBe('lacp');
    if (r.kind === 'lacp') expect(r.pdu).toEqual(pdu);
  });

  it('round-trips a Marker PDU', () => {
    const m = { response: false, requesterPort: 3, requesterSystem: sys(5), transactionId: 0xdeadbeef };
    const r = parseSlowPdu(encodeMarker(sys(5), m).subarray(14));
    expect(r).toEqual({ kind: 'marker', pdu: m });
  });

  it('reports malformed and unknown PDUs instead of throwing', () => {
    const f = encodeLacpdu(sys(9), pdu).subarray(14);
    expect(parseSlowPdu(f.subarray(0, 50)).kind).toBe('illegal');
    const bad = Uint8Array.from(f);
    bad[3] = 19;
    expect(parseSlowPdu(bad)).toEqual({ kind: 'illegal', reason: 'actor TLV type 1 length 19' });
    expect(parseSlowPdu(Uint8Array.of(10, 1, 0))).toEqual({ kind: 'unknown', subtype: 10 });
    expect(parseSlowPdu(new Uint8Array(0)).kind).toBe('illegal');
  });
});
