#!/usr/bin/env node
// The soak (`npm run soak`, SOAK_SECONDS, default 600): bondd in 802.3ad against Open vSwitch
// with iperf3 saturating the bond and a sequence-numbered UDP probe beside it, a failover every
// 10 s (a link cut on the partner's side, back 5 s later), a runtime option change every 7 s and
// `bondctl state` polled every second. It reports bondd's RSS growth after warm-up, its open
// descriptors, its event-loop delay, the LACP expiries on both sides, and the probe datagrams
// the bond lost outside the failover windows: a capture of the probe alone on each of the
// partner's links (tcpdump, before Open vSwitch's sockets read them) is the observer. What
// reached the receiving socket behind Open vSwitch is reported too, with the drops counted on
// the way (Open vSwitch's userspace receive overflows under iperf3's saturation). Prints JSON;
// exit 1 when a bound is broken. Bounded in time; the lab is removed also on failure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { iperfGbps, ovsLab, ROOT, sleep } from './lib/ovs-lab.mjs';
import { lacpduTimes, probeSeqsInPcap } from './lib/pcap.mjs';
import { writeResult } from './lib/results.mjs';

const SECS = Number(process.env.SOAK_SECONDS ?? 600);
const PROBE_PPS = 2000;
const FAILOVER_EVERY_S = 10;
/** A failover's window: from just before its cut (or restore) until this many seconds later. */
const WINDOW_S = 1.5;
/** Open vSwitch renegotiates a member whose link came back: not counted against us meanwhile. */
const OVS_SETTLE_S = FAILOVER_EVERY_S / 2; // until the next cut: the member never cut is checked throughout
const WARMUP_S = Math.min(60, SECS * 0.2);
const lab = ovsLab(`sk${process.pid % 100000}`);
const { SRV, CLI } = lab;
process.on('SIGINT', () => {
  lab.cleanup();
  process.exit(130);
});

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/**
 * The median of a sample field over each fifth of the samples, in MB.
 * @param {Record<string, number>[]} xs
 * @param {string} key
 */
const byFifth = (xs, key) =>
  [0, 1, 2, 3, 4].map((k) => {
    const part = xs.slice(Math.floor((k * xs.length) / 5), Math.floor(((k + 1) * xs.length) / 5));
    return part.length ? Math.round(median(part.map((x) => x[key])) / 1e5) / 10 : null;
  });

/**
 * Where frames can be dropped on the probe's way, each as the kernel or Open vSwitch counts it
 * (never bondd's view of itself): the slaves and the partner's links (`ip -s link`), the
 * per-CPU backlog (/proc/net/softnet_stat, machine-wide), Open vSwitch's own interface
 * statistics, the bridge's internal port, and the receiving UDP socket (/proc/net/snmp).
 */
function dropCounters() {
  /** @type {(ns: string, names: string[]) => Record<string, { rx: number, tx: number }>} */
  const links = (ns, names) =>
    Object.fromEntries(
      JSON.parse(lab.sh(ns, 'ip -j -s link show'))
        .filter((/** @type {any} */ l) => names.includes(l.ifname))
        .map((/** @type {any} */ l) => [l.ifname, { rx: l.stats64.rx.dropped, tx: l.stats64.tx.dropped }]),
    );
  const softnet = readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((n, line) => n + parseInt(line.split(/\s+/)[1], 16), 0);
  /** @type {Record<string, Record<string, number>>} */
  const ovs = {};
  for (const q of ['q0', 'q1']) {
    const st = lab.vsctl('get', 'Interface', q, 'statistics');
    ovs[q] = Object.fromEntries([...st.matchAll(/(\w+)=(\d+)/g)].filter((m) => /drop|error/.test(m[1])).map((m) => [m[1], Number(m[2])]));
  }
  // Open vSwitch reads its ports through packet sockets: what overflowed their buffers
  const sockDrops = (/** @type {string} */ ns) =>
    [...lab.sh(ns, 'ss -0 -m -n -a').matchAll(/skmem:\([^)]*\bd(\d+)\)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const coverage = Object.fromEntries(
    [...lab.appctl('coverage/show').matchAll(/^(\S*drop\S*)\s+.*total: (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
  const snmp = lab
    .sh(CLI, 'cat /proc/net/snmp')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const udp = Object.fromEntries(
    snmp[0]
      .split(/\s+/)
      .slice(1)
      .map((k, i) => [k, Number(snmp[1].split(/\s+/)[i + 1])]),
  );
  return {
    bond_side: links(SRV, ['s0', 's1', 'bond0']),
    partner_side: links(CLI, ['q0', 'q1', 'br0']),
    ovs,
    ovs_packet_socket_drops: sockDrops(CLI),
    ovs_drop_coverage: coverage,
    backlog_softnet: softnet,
    receiver_udp: { RcvbufErrors: udp.RcvbufErrors, InErrors: udp.InErrors },
  };
}

/**
 * b - a, leaf by leaf.
 * @param {any} a
 * @param {any} b
 * @returns {any}
 */
const delta = (a, b) => (typeof a === 'number' ? b - a : Object.fromEntries(Object.keys(b).map((k) => [k, delta(a?.[k] ?? 0, b[k])])));
/** @param {any} st */
const expiredOf = (st) => st.ports.reduce((/** @type {number} */ n, /** @type {any} */ p) => n + (p.lacp?.stats?.expired ?? 0), 0);

async function main() {
  lab.up();
  const { bondd, negotiatedAfter } = await lab.startBondd();
  await sleep(500);
  const node = process.execPath;
  const probe = join(ROOT, 'scripts/lib/udp-probe.mjs');
  lab.sh(CLI, `timeout ${SECS + 30} iperf3 -s -1 -D -p 5201`);
  const recv = lab.run(CLI, [node, probe, 'recv', '9000', String(SECS), String(PROBE_PPS)]);
  let recvOut = '';
  recv.stdout?.on('data', (d) => (recvOut += d));
  // the independent observer of what the bond put on the wire: a capture of the probe and the
  // LACPDUs arriving on each of the partner's links, before Open vSwitch's own sockets read them
  const captures = ['q0', 'q1'].map((q) => {
    const file = join(lab.RUN, `${q}.pcap`);
    const c = lab.run(CLI, [
      'timeout',
      String(SECS + 30),
      'tcpdump',
      '-i',
      q,
      '-n',
      '-Q',
      'in',
      '-s',
      '64',
      '-B',
      '8192',
      '--immediate-mode',
      '-Z',
      'root',
      '-U',
      '-w',
      file,
      'udp dst port 9000 or ether proto 0x8809',
    ]);
    let err = '';
    c.stderr?.on('data', (d) => (err += d));
    return { link: q, file, proc: c, closed: new Promise((r) => c.on('close', r)), err: () => err };
  });
  await sleep(300);
  const t0 = Date.now() / 1000;
  const sender = lab.run(SRV, [node, probe, 'send', '198.18.0.2', '9000', String(PROBE_PPS), String(SECS)]);
  let sendOut = '';
  sender.stdout?.on('data', (d) => (sendOut += d));
  const iperf = lab.run(SRV, [
    'timeout',
    String(SECS + 15),
    'iperf3',
    '-c',
    '198.18.0.2',
    '-p',
    '5201',
    '-t',
    String(SECS),
    '-P',
    '4',
    '-J',
  ]);
  let iperfOut = '';
  iperf.stdout?.on('data', (d) => (iperfOut += d));

  /** @type {number[]} */
  const windows = []; // seconds since t0 at which a link was cut or restored
  /** @type {string[]} */
  const kinds = []; // what happened then
  const samples = []; // { t, rss, heap, ext, fds, p99 }
  const optionChanges = [];
  const notCurrent = []; // { s, at (epoch seconds), member, state }
  const firstState = JSON.parse(lab.bondctl('state', 'bond0', '--json'));
  const firstDrops = dropCounters();
  const options = [
    ['num_grat_arp', ['1', '3']],
    ['broadcast_neighbor', ['on', 'off']],
    ['min_links', ['1', '0']],
  ];
  let cut = null;
  const settling = new Map(); // member -> until when (seconds since t0) it may be not current
  for (let s = 1; s <= SECS; s++) {
    await sleep(Math.max(0, (t0 + s - Date.now() / 1000) * 1000));
    if (bondd.exitCode !== null) throw new Error(`bondd exited ${bondd.exitCode}`);
    const st = JSON.parse(lab.bondctl('state', 'bond0', '--json'));
    samples.push({
      t: s,
      rss: st.process.rss_bytes,
      heap: st.process.heap_used_bytes,
      ext: st.process.external_bytes,
      fds: st.process.open_fds,
      p99: st.process.event_loop_delay_ms.p99,
    });
    if (s % FAILOVER_EVERY_S === 0 && s + 6 < SECS) {
      cut = s % (2 * FAILOVER_EVERY_S) ? 'q1' : 'q0';
      lab.sh(CLI, `ip link set ${cut} down`);
      windows.push(Date.now() / 1000 - t0);
      kinds.push(`cut ${cut}`);
    } else if (cut && s % FAILOVER_EVERY_S === 5) {
      lab.sh(CLI, `ip link set ${cut} up`);
      windows.push(Date.now() / 1000 - t0);
      kinds.push(`restore ${cut}`);
      settling.set(cut, s + OVS_SETTLE_S);
      cut = null;
    }
    if (s % 7 === 0) {
      const [name, values] = options[(s / 7) % options.length];
      const value = values[Math.floor(s / 7 / options.length) % 2];
      lab.bondctl('set', 'bond0', `${name}=${value}`);
      optionChanges.push(`${name}=${value}`);
    }
    // Open vSwitch's view of each member whose link is up
    for (const m of lab.appctl('lacp/show', 'bond0').matchAll(/^member: (\S+): (.*)$/gm)) {
      if (m[1] !== cut && !(s <= (settling.get(m[1]) ?? 0)) && !/current/.test(m[2])) {
        notCurrent.push({ s, at: Date.now() / 1000, member: m[1], state: m[2] });
      }
    }
  }
  const lastState = JSON.parse(lab.bondctl('state', 'bond0', '--json'));
  const drops = delta(firstDrops, dropCounters());
  for (let i = 0; i < 100 && recv.exitCode === null; i++) await sleep(100);
  const probeResult = JSON.parse(recvOut.trim().split('\n').pop() || '{}');
  for (let i = 0; i < 50 && sender.exitCode === null; i++) await sleep(100);
  const sent = JSON.parse(sendOut.trim() || '{}').sent ?? 0;
  await sleep(1500); // a capture hands over what its ring still holds
  for (const c of captures) c.proc.kill('SIGINT');
  await Promise.all(captures.map((c) => c.closed));
  const onWire = new Uint8Array(sent);
  const onWireAt = new Float64Array(sent); // when the capture saw it (seconds since the epoch)
  const wire = { frames: 0, capture_drops: 0 };
  for (const c of captures) {
    wire.frames += probeSeqsInPcap(c.file, 9000, onWire, onWireAt);
    wire.capture_drops += Number(/(\d+) packets? dropped by kernel/.exec(c.err())?.[1] ?? NaN);
  }
  // the longest silence between bondd's LACPDUs on each link, not counting a gap across a cut
  // of that link (from the cut until a second after the link came back)
  /** @type {{ link: string, from: number, to: number }[]} */
  const downs = [];
  kinds.forEach((k, i) => {
    const [what, link] = k.split(' ');
    if (what !== 'cut') return;
    const back = kinds.findIndex((x, j) => j > i && x === `restore ${link}`);
    downs.push({ link, from: t0 + windows[i], to: t0 + (back < 0 ? SECS + 30 : windows[back] + 1) });
  });
  /** @type {Record<string, { lacpdus: number, max_gap_s: number }>} */
  const lacpduGap = {};
  for (const c of captures) {
    const ts = lacpduTimes(c.file);
    let max = 0;
    for (let i = 1; i < ts.length; i++)
      if (!downs.some((d) => d.link === c.link && ts[i - 1] <= d.to && ts[i] >= d.from)) max = Math.max(max, ts[i] - ts[i - 1]);
    lacpduGap[c.link] = { lacpdus: ts.length, max_gap_s: Number(max.toFixed(3)) };
  }
  // Who let a member expire: Open vSwitch calls a member expired after 3 s without processing
  // a LACPDU on it. When the capture on that link saw bondd's LACPDUs arrive throughout those
  // 3 s (at least three, none more than 1.5 s apart), the partner lost them in its own receive
  // (drops_seen); only a sample without them on the wire is charged to the bond.
  const wireTimes = Object.fromEntries(captures.map((c) => [c.link, lacpduTimes(c.file)]));
  const ovsNotCurrent = notCurrent.map((n) => {
    const ts = (wireTimes[n.member] ?? []).filter((t) => t >= n.at - 3.5 && t <= n.at);
    const edges = [n.at - 3.5, ...ts, n.at];
    const onWire = ts.length >= 3 && edges.slice(1).every((t, i) => t - edges[i] <= 1.5);
    return { ...n, lacpdus_on_the_wire_in_3s: ts.length, on_wire: onWire };
  });
  const chargedToBond = ovsNotCurrent.filter((n) => !n.on_wire);
  // A run of lost datagrams was due between the capture times of the probe frames on either
  // side of it (the sender paces from its own start, which can be late by a second under
  // load). It is a failover's when it lies within that failover's window: from just before its
  // cut (or restore) until WINDOW_S after it.
  /** @type {(from: number, to: number) => number} */
  const windowOf = (from, to) => windows.findIndex((w) => from - t0 >= w - 0.5 && to - t0 <= w + WINDOW_S);
  const perWindow = windows.map(() => 0);
  let lostOutside = 0;
  const outsideRuns = []; // [first, last] sequence numbers of the first runs lost outside the windows
  for (let q = 0; q < sent; q++) {
    if (onWire[q]) continue;
    let last = q;
    while (last + 1 < sent && !onWire[last + 1]) last++;
    const from = q > 0 ? onWireAt[q - 1] : t0;
    const to = last + 1 < sent ? onWireAt[last + 1] : t0 + SECS + 30;
    const w = windowOf(from, to);
    if (w >= 0) perWindow[w] += last - q + 1;
    else {
      lostOutside += last - q + 1;
      if (outsideRuns.length < 20) outsideRuns.push([q, last]);
    }
    q = last;
  }
  const warm = samples.filter((x) => x.t > WARMUP_S);
  const head = warm.slice(0, Math.max(1, Math.floor(warm.length / 5)));
  const tail = warm.slice(-Math.max(1, Math.floor(warm.length / 5)));
  const rssGrowth = median(tail.map((x) => x.rss)) / median(head.map((x) => x.rss)) - 1;
  const fds = warm.map((x) => x.fds);
  const gbps = iperfGbps(iperfOut);
  const result = {
    seconds: SECS,
    negotiated_after_s: negotiatedAfter,
    iperf3_gbps: gbps && Number(gbps.toFixed(2)),
    failovers: windows.length,
    option_changes: optionChanges.length,
    rss_mb: { after_warmup: Math.round(median(head.map((x) => x.rss)) / 1e6), end: Math.round(median(tail.map((x) => x.rss)) / 1e6) },
    rss_growth_pct: Number((rssGrowth * 100).toFixed(2)),
    // the median RSS of each fifth of the run after warm-up
    rss_mb_by_fifth: byFifth(warm, 'rss'),
    // where it grows: the JavaScript heap in use, and what is held outside it (Buffers, the addon)
    heap_used_mb_by_fifth: byFifth(warm, 'heap'),
    external_mb_by_fifth: byFifth(warm, 'ext'),
    open_fds: { min: Math.min(...fds), max: Math.max(...fds) },
    event_loop_delay_ms: lastState.process.event_loop_delay_ms,
    bondd_lacp_expired: expiredOf(lastState) - expiredOf(firstState),
    // bondd's LACPDUs as they arrived on the partner's links (fast rate: one a second; a partner
    // expires a port after 3 s without one)
    lacpdus_on_the_wire: lacpduGap,
    // Open vSwitch's own view: a member not current while its link was up (its packet sockets
    // drop frames of every kind under this load, LACPDUs included: drops_seen)
    ovs_member_not_current: notCurrent.length,
    // of those, the samples where bondd's LACPDUs were not on that link's wire in the 3 s before
    ovs_member_not_current_charged_to_the_bond: chargedToBond.length,
    ovs_member_not_current_samples: ovsNotCurrent
      .slice(0, 10)
      .map((n) => `${n.s} s: ${n.member} ${n.state} (bondd's LACPDUs on its wire in the 3 s before: ${n.lacpdus_on_the_wire_in_3s})`),
    probe: {
      rate_pps: PROBE_PPS,
      sent,
      // what the bond put on the partner's links, seen there by a capture
      on_the_wire: onWire.reduce((n, x) => n + x, 0),
      capture_drops: wire.capture_drops,
      lost_by_the_bond_outside_failovers: lostOutside,
      lost_by_the_bond_outside_runs: outsideRuns,
      lost_by_the_bond_in_windows: {
        total: perWindow.reduce((a, b) => a + b, 0),
        max: Math.max(0, ...perWindow),
        // the windows that lost any
        lossy: windows.flatMap((w, i) => (perWindow[i] ? [`${kinds[i]} at ${w.toFixed(1)} s: ${perWindow[i]}`] : [])).slice(0, 30),
      },
      // what reached the receiving socket behind Open vSwitch (its receive path is the bottleneck)
      received_end_to_end: probeResult.received,
    },
    // frames the kernel dropped at the TAP's queue because bondd lagged (congestion, not failover)
    tap_queue_drops: lastState.bond.counters.tap_queue_drops - firstState.bond.counters.tap_queue_drops,
    // every frame of any flow dropped on the way, where it was dropped, failovers included
    drops_seen: drops,
  };
  const ok =
    rssGrowth < 0.05 &&
    result.open_fds.max - result.open_fds.min <= 2 &&
    result.bondd_lacp_expired === 0 &&
    Object.values(lacpduGap).every((g) => g.lacpdus > 0 && g.max_gap_s < 3) &&
    chargedToBond.length === 0 &&
    lostOutside === 0 &&
    wire.capture_drops === 0 &&
    probeResult.received > 0;
  process.stdout.write(JSON.stringify({ ...result, ok }, null, 2) + '\n');
  const file = writeResult('soak', 'npm run soak', { ...result, ok });
  if (file) process.stderr.write(`results: ${file}\n`);
  if (!ok) process.exitCode = 1;
}

main()
  .catch((e) => {
    process.stderr.write(`soak failed: ${e.stack ?? e.message}\n`);
    process.exitCode = 2;
  })
  .finally(lab.cleanup);
