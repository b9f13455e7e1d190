#!/usr/bin/env node
// Sequence-numbered UDP probe for failover outage measurement, bounded in time.
//   udp-probe.mjs send HOST PORT RATE_PPS SECONDS
//   udp-probe.mjs recv PORT SECONDS RATE_PPS     -> prints JSON {received, lost, max_gap_ms, ...}
// The outage is the longest run of missing sequence numbers times the send interval, and the
// longest silence between two arrivals; both are reported.
import dgram from 'node:dgram';

const [mode, ...a] = process.argv.slice(2);

if (mode === 'send') {
  const [host, port, rate, seconds] = [a[0], Number(a[1]), Number(a[2]), Number(a[3])];
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const start = performance.now();
  let seq = 0;
  const buf = Buffer.alloc(64);
  const tick = () => {
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= seconds) {
      sock.close();
      process.stdout.write(JSON.stringify({ sent: seq }) + '\n');
      return;
    }
    const due = Math.min(Math.floor(elapsed * rate), seq + 2000);
    while (seq < due) {
      buf.writeUInt32BE(seq++, 0);
      sock.send(buf, port, host);
    }
    setImmediate(tick);
  };
  tick();
} else if (mode === 'recv') {
  const [port, seconds, rate] = [Number(a[0]), Number(a[1]), Number(a[2])];
  const sock = dgram.createSocket('udp4');
  let received = 0;
  let maxSeq = -1;
  let lastSeq = -1;
  let maxSeqGap = 0;
  let lastAt = 0;
  let maxSilence = 0;
  sock.on('message', (m) => {
    const s = m.readUInt32BE(0);
    const now = performance.now();
    received++;
    if (lastSeq >= 0 && s > lastSeq + 1) maxSeqGap = Math.max(maxSeqGap, s - lastSeq - 1);
    if (lastAt) maxSilence = Math.max(maxSilence, now - lastAt);
    lastAt = now;
    lastSeq = Math.max(lastSeq, s);
    maxSeq = Math.max(maxSeq, s);
  });
  sock.bind(port, () => {
    setTimeout(() => {
      sock.close();
      const lost = maxSeq + 1 - received;
      process.stdout.write(JSON.stringify({ received, last_seq: maxSeq, lost: Math.max(0, lost), outage_ms: (maxSeqGap * 1000) / rate, max_silence_ms: maxSilence }) + '\n');
    }, seconds * 1000);
  });
} else {
  process.stderr.write('usage: udp-probe.mjs send HOST PORT RATE SECONDS | recv PORT SECONDS RATE\n');
  process.exit(2);
}
