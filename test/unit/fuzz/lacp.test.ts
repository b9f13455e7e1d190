// The 802.3ad engine under fuzzed LACPDUs and Marker PDUs: every field random (systems, keys,
// ports, priorities, every state bit, collector delay), also through the wire decoder with bytes
// flipped, on a third port while two ports run a real negotiation with a partner engine. Nothing
// throws, the engine's view stays consistent (distributing ports are all in the one active
// aggregator, states are bytes), the real aggregation (ad_select=stable) is never disturbed, and
// after a storm on the real links the bond negotiates back within the protocol's timeouts.
import { describe, expect, it } from 'vitest';
import { LacpEngine, TICKS_PER_SEC, type ActorSettings } from '../../../src/lacp/engine.js';
import { encodeLacpdu, encodeMarker, parseSlowPdu, type LacpInfo, type Lacpdu } from '../../../src/lacp/pdu.js';
import { rng } from '../../helpers/rng.js';

const mac = (n: number) => Uint8Array.of(0x02, 0, 0, 0, 0, n);
const port = { speed: 10000, fullDuplex: true, userKey: 0, portPriority: 255 };

function setup() {
  const base: ActorSettings = { system: mac(1), systemPriority: 65535, active: true, fast: true, adSelect: 'stable', minLinks: 0 };
  const A = new LacpEngine(base);
  const B = new LacpEngine({ ...base, system: mac(2) });
  for (const l of [1, 2]) {
    A.addPort(l, port, true, false);
    B.addPort(l, port, true, false);
  }
  A.addPort(3, port, true, false); // the fuzzed port: nothing real at the other end
  const step = () => {
    const ra = A.tick();
    const rb = B.tick();
    for (const s of ra.sends) if (s.port !== 3) B.receive(s.port, s.pdu);
    for (const s of rb.sends) A.receive(s.port, s.pdu);
  };
  return { A, B, step };
}

function randomInfo(r: () => number, partnerLike: boolean): LacpInfo {
  const byte = () => Math.floor(r() * 256);
  return {
    // sometimes the real partner's identity, so the fuzz reaches the "same partner" branches
    systemPriority: partnerLike && r() < 0.5 ? 65535 : Math.floor(r() * 65536),
    system: partnerLike && r() < 0.5 ? mac(2) : Uint8Array.from({ length: 6 }, byte),
    key: partnerLike && r() < 0.5 ? 15 : Math.floor(r() * 65536),
    portPriority: Math.floor(r() * 65536),
    port: Math.floor(r() * 65536),
    state: byte(),
  };
}

function randomPdu(r: () => number): Lacpdu {
  return { actor: randomInfo(r, true), partner: randomInfo(r, false), collectorMaxDelay: Math.floor(r() * 65536) };
}

/** Feeds one fuzzed slow-protocols frame to the engine as the bond's receive path does. */
function feed(A: LacpEngine, id: number, r: () => number): void {
  let frame =
    r() < 0.8
      ? encodeLacpdu(mac(9), randomPdu(r))
      : encodeMarker(mac(9), {
          response: r() < 0.5,
          requesterPort: Math.floor(r() * 65536),
          requesterSystem: mac(7),
          transactionId: Math.floor(r() * 2 ** 32),
        });
  if (r() < 0.5) {
    frame = Uint8Array.from(frame.subarray(0, 14 + Math.floor(r() * (frame.length - 13))));
    for (let k = 0; k < 3; k++) frame[14 + Math.floor(r() * (frame.length - 14))] = Math.floor(r() * 256);
  }
  const p = parseSlowPdu(frame.subarray(14));
  if (p.kind === 'lacp') A.receive(id, p.pdu);
  else if (p.kind === 'marker') A.marker(id, p.pdu);
  else A.countIllegal(id, p.kind === 'unknown');
}

function consistent(A: LacpEngine): void {
  const agg = A.activeAggregator();
  for (const id of [1, 2, 3]) {
    const d = A.describePort(id)!;
    expect(d.actor.state).toBeGreaterThanOrEqual(0);
    expect(d.actor.state).toBeLessThan(256);
    expect(d.partner.state).toBeLessThan(256);
  }
  if (A.distributing().length) expect(agg).not.toBeNull();
}

describe('LACP engine under fuzzed PDUs', () => {
  it('200,000 fuzzed PDUs on a third port: no throw, consistent, the real aggregation undisturbed', () => {
    const r = rng(4242);
    const { A, B, step } = setup();
    for (let i = 0; i < 5 * TICKS_PER_SEC; i++) step();
    expect(A.distributing()).toEqual([1, 2]);
    const agg = A.activeAggregator();
    for (let t = 0; t < 20 * TICKS_PER_SEC; t++) {
      for (let k = 0; k < 1000; k++) feed(A, 3, r);
      step();
      consistent(A);
      expect(A.distributing().filter((p) => p !== 3)).toEqual([1, 2]);
      expect(B.distributing()).toEqual([1, 2]);
    }
    expect(A.activeAggregator()?.id).toBe(agg?.id);
  });

  it('a storm on the real links moves the ports as the PDUs say; when it stops, LACP comes back within the timeouts', () => {
    const r = rng(99);
    const { A, B, step } = setup();
    for (let i = 0; i < 5 * TICKS_PER_SEC; i++) step();
    for (let t = 0; t < 10 * TICKS_PER_SEC; t++) {
      for (let k = 0; k < 200; k++) feed(A, 1 + Math.floor(r() * 3), r);
      step();
      consistent(A);
    }
    // current_while (3 s fast), then the partner's next PDUs and the mux: well within 10 s
    let back = -1;
    for (let i = 0; i < 10 * TICKS_PER_SEC; i++) {
      step();
      if (A.distributing().filter((p) => p !== 3).length === 2 && B.distributing().length === 2) {
        back = i / TICKS_PER_SEC;
        break;
      }
    }
    expect(back).toBeGreaterThanOrEqual(0);
    expect(back).toBeLessThanOrEqual(10);
    const s = A.describePort(1)!;
    expect(s.partner.system).toEqual(mac(2));
  });
});
