#!/usr/bin/env node
// Sequence-numbered UDP probe for failover outage measurement, bounded in time.
//   udp-probe.mjs send HOST PORT RATE_PPS SECONDS
//   udp-probe.mjs recv PORT SECONDS RATE_PPS     -> prints JSON {received, lost, max_gap_ms, lost_ranges, ...}
// The outage is the longest run of sequence numbers that never arrived, times the send
// interval (reordering does not count); the longest silence between arrivals is also reported.
import dgram from 'node:dgram';

const [mode, ...a] = process.argv.slice(2);

if (mode === 'send') {
  const [host, port, rate, seconds] = [a[0], Number(a[1]), Number(a[2]), Number(a[3])];
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const start = performance.now();
  let seq = 0;
  let pending = 0;
  let errors = 0;
  // dgram.send is asynchronous: a datagram counts as sent once the kernel has taken it, and the
  // socket closes only after the last one (closing earlier would cancel the queued ones)
  const done = (/** @type {Error | null} */ err) => {
    pending--;
    if (err) errors++;
  };
  const finish = () => {
    if (pending > 0) return void setTimeout(finish, 10);
    sock.close();
    process.stdout.write(JSON.stringify({ sent: seq, errors }) + '\n');
  };
  const tick = () => {
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= seconds) return finish();
    const due = Math.min(Math.floor(elapsed * rate), seq + 2000);
    while (seq < due) {
      // every datagram needs its own buffer
      const buf = Buffer.alloc(64);
      buf.writeUInt32BE(seq++, 0);
      pending++;
      sock.send(buf, port, host, done);
    }
    setImmediate(tick);
  };
  tick();
} else if (mode === 'recv') {
  const [port, seconds, rate] = [Number(a[0]), Number(a[1]), Number(a[2])];
  const sock = dgram.createSocket('udp4');
  const seen = new Uint8Array(Math.ceil(rate * seconds * 2) + 1);
  let received = 0;
  let maxSeq = -1;
  let lastAt = 0;
  let maxSilence = 0;
  sock.on('message', (m) => {
    const s = m.readUInt32BE(0);
    const now = performance.now();
    if (s >= seen.length || seen[s]) return;
    seen[s] = 1;
    received++;
    if (lastAt) maxSilence = Math.max(maxSilence, now - lastAt);
    lastAt = now;
    maxSeq = Math.max(maxSeq, s);
  });
  // Stop once `seconds` have passed and the socket has been quiet for 300 ms (everything queued
  // is counted), or at seconds + 5 at the latest.
  const started = performance.now();
  sock.bind(port, () => {
    const check = setInterval(() => {
      const now = performance.now();
      const quiet = lastAt ? now - lastAt : now - started;
      if (!(now - started >= seconds * 1000 && quiet >= 300) && now - started < (seconds + 5) * 1000) return;
      clearInterval(check);
      sock.close();
      let run = 0;
      let maxRun = 0;
      const ranges = []; // [first, last] sequence numbers of each run that never arrived (at most 1000)
      for (let i = 0; i <= maxSeq; i++) {
        run = seen[i] ? 0 : run + 1;
        if (run > maxRun) maxRun = run;
        if (run === 1 && ranges.length < 1000) ranges.push([i, i]);
        else if (run > 1 && ranges.length && ranges[ranges.length - 1][1] === i - 1) ranges[ranges.length - 1][1] = i;
      }
      const lost = maxSeq + 1 - received;
      const out = { received, last_seq: maxSeq, lost, outage_ms: (maxRun * 1000) / rate, max_silence_ms: maxSilence, lost_ranges: ranges };
      process.stdout.write(JSON.stringify(out) + '\n');
    }, 50);
  });
} else {
  process.stderr.write('usage: udp-probe.mjs send HOST PORT RATE SECONDS | recv PORT SECONDS RATE\n');
  process.exit(2);
}
