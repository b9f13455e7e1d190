// Frames in a capture file (tcpdump -w: classic pcap, Ethernet), for the soak's observers: the
// UDP probe's sequence numbers (its payload starts with a 32-bit big-endian sequence number,
// scripts/lib/udp-probe.mjs) and the times LACPDUs crossed a link.
import { readFileSync } from 'node:fs';

const ETH_P_IP = 0x0800;
const ETH_P_SLOW = 0x8809;
const SLOW_SUBTYPE_LACP = 1;

/**
 * Every frame of a pcap file (little- or big-endian, µs or ns stamps): `t` in seconds since the
 * epoch, `f` the captured bytes (a view into the file's buffer).
 * @param {string} file
 * @returns {Generator<{ t: number, f: Buffer }>}
 */
export function* pcapFrames(file) {
  const b = readFileSync(file);
  if (b.length < 24) return;
  const be = b.readUInt32BE(0);
  const le = b.readUInt32LE(0);
  const little = le === 0xa1b2c3d4 || le === 0xa1b23c4d;
  if (!little && be !== 0xa1b2c3d4 && be !== 0xa1b23c4d) throw new Error(`${file}: not a pcap file`);
  const u32 = (/** @type {number} */ o) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const fraction = (little ? le : be) === 0xa1b23c4d ? 1e9 : 1e6;
  if (u32(20) !== 1) throw new Error(`${file}: link type ${u32(20)}, not Ethernet`);
  for (let o = 24; o + 16 <= b.length;) {
    const t = u32(o) + u32(o + 4) / fraction;
    const caplen = u32(o + 8);
    const f = o + 16;
    o = f + caplen;
    if (o > b.length) return; // a record cut off by the capture's end
    yield { t, f: b.subarray(f, f + caplen) };
  }
}

/**
 * Marks in `seen` every sequence number of the probe (UDP to `port`) in `file`, and puts its
 * capture time (seconds since the epoch) in `at` when given; returns how many probe frames it
 * held. Numbers beyond `seen` are ignored.
 * @param {string} file
 * @param {number} port
 * @param {Uint8Array} seen
 * @param {Float64Array} [at]
 */
export function probeSeqsInPcap(file, port, seen, at) {
  let frames = 0;
  for (const { t, f } of pcapFrames(file)) {
    if (f.length < 14 + 20 + 8 + 4 || f.readUInt16BE(12) !== ETH_P_IP) continue;
    const ihl = (f[14] & 0x0f) * 4;
    if (f[14 + 9] !== 17 || f.length < 14 + ihl + 8 + 4 || f.readUInt16BE(14 + ihl + 2) !== port) continue;
    const seq = f.readUInt32BE(14 + ihl + 8);
    frames++;
    if (seq >= seen.length) continue;
    seen[seq] = 1;
    if (at) at[seq] = t;
  }
  return frames;
}

/**
 * The capture times (seconds since the epoch) of the LACPDUs in `file`.
 * @param {string} file
 */
export function lacpduTimes(file) {
  const out = [];
  for (const { t, f } of pcapFrames(file))
    if (f.length >= 15 && f.readUInt16BE(12) === ETH_P_SLOW && f[14] === SLOW_SUBTYPE_LACP) out.push(t);
  return out;
}
