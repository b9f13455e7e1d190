// The UDP probe's datagrams in a capture file (tcpdump -w, classic pcap, Ethernet): marks each
// sequence number seen in `seen` and returns how many probe frames the file held. The probe's
// payload starts with its 32-bit big-endian sequence number (scripts/lib/udp-probe.mjs).
import { readFileSync } from 'node:fs';

/**
 * @param {string} file a pcap file written by tcpdump (little- or big-endian, µs or ns stamps)
 * @param {number} port the probe's UDP destination port
 * @param {Uint8Array} seen set to 1 at every sequence number found (numbers beyond it are ignored)
 */
export function probeSeqsInPcap(file, port, seen) {
  const b = readFileSync(file);
  if (b.length < 24) return 0;
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file}: not a pcap file`);
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  if (u32(20) !== 1) throw new Error(`${file}: link type ${u32(20)}, not Ethernet`);
  let frames = 0;
  for (let o = 24; o + 16 <= b.length;) {
    const caplen = u32(o + 8);
    const f = o + 16;
    o = f + caplen;
    if (o > b.length) break; // a record cut off by the capture's end
    if (caplen < 14 + 20 + 8 + 4 || b.readUInt16BE(f + 12) !== 0x0800) continue;
    const ip = f + 14;
    const ihl = (b[ip] & 0x0f) * 4;
    if (b[ip + 9] !== 17 || caplen < 14 + ihl + 8 + 4) continue;
    if (b.readUInt16BE(ip + ihl + 2) !== port) continue;
    const seq = b.readUInt32BE(ip + ihl + 8);
    frames++;
    if (seq < seen.length) seen[seq] = 1;
  }
  return frames;
}
