#!/usr/bin/env node
// The soak (`npm run soak`, SOAK_SECONDS, default 600): bondd in 802.3ad against Open vSwitch
// with iperf3 saturating the bond and a sequence-numbered UDP probe beside it, a failover every
// 10 s (a link cut on the partner's side, back 5 s later), a runtime option change every 7 s and
// `bondctl state` polled every second. It reports bondd's RSS growth after warm-up, its open
// descriptors, its event-loop delay, the LACP expiries on both sides, and the probe datagrams
// lost outside the failover windows. Prints JSON; exit 1 when a bound is broken. Bounded in
// time; the lab is removed also on failure.
import { join } from 'node:path';
import { iperfGbps, ovsLab, ROOT, sleep } from './lib/ovs-lab.mjs';

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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const expiredOf = (st) => st.ports.reduce((n, p) => n + (p.lacp?.stats?.expired ?? 0), 0);

async function main() {
  lab.up();
  const { bondd, negotiatedAfter } = await lab.startBondd();
  await sleep(500);
  const node = process.execPath;
  const probe = join(ROOT, 'scripts/lib/udp-probe.mjs');
  lab.sh(CLI, `timeout ${SECS + 30} iperf3 -s -1 -D -p 5201`);
  const recv = lab.run(CLI, [node, probe, 'recv', '9000', String(SECS), String(PROBE_PPS)]);
  let recvOut = '';
  recv.stdout.on('data', (d) => (recvOut += d));
  await sleep(300);
  const t0 = Date.now() / 1000;
  lab.run(SRV, [node, probe, 'send', '198.18.0.2', '9000', String(PROBE_PPS), String(SECS)]);
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
  iperf.stdout.on('data', (d) => (iperfOut += d));

  const windows = []; // seconds since t0 at which a link was cut or restored
  const samples = []; // { t, rss, fds, p99 }
  const optionChanges = [];
  let notCurrent = 0;
  const firstState = JSON.parse(lab.bondctl('state', 'bond0', '--json'));
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
    samples.push({ t: s, rss: st.process.rss_bytes, fds: st.process.open_fds, p99: st.process.event_loop_delay_ms.p99 });
    if (s % FAILOVER_EVERY_S === 0 && s + 6 < SECS) {
      cut = s % (2 * FAILOVER_EVERY_S) ? 'q1' : 'q0';
      lab.sh(CLI, `ip link set ${cut} down`);
      windows.push(Date.now() / 1000 - t0);
    } else if (cut && s % FAILOVER_EVERY_S === 5) {
      lab.sh(CLI, `ip link set ${cut} up`);
      windows.push(Date.now() / 1000 - t0);
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
      if (m[1] !== cut && !(s <= (settling.get(m[1]) ?? 0)) && !/current/.test(m[2])) notCurrent++;
    }
  }
  const lastState = JSON.parse(lab.bondctl('state', 'bond0', '--json'));
  for (let i = 0; i < 100 && recv.exitCode === null; i++) await sleep(100);
  const probeResult = JSON.parse(recvOut.trim().split('\n').pop() || '{}');
  const inWindow = (seq) => windows.some((w) => seq / PROBE_PPS >= w - 0.5 && seq / PROBE_PPS <= w + WINDOW_S);
  let lostOutside = 0;
  for (const [a, b] of probeResult.lost_ranges ?? []) for (let q = a; q <= b; q++) if (!inWindow(q)) lostOutside++;
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
    open_fds: { min: Math.min(...fds), max: Math.max(...fds) },
    event_loop_delay_ms: lastState.process.event_loop_delay_ms,
    bondd_lacp_expired: expiredOf(lastState) - expiredOf(firstState),
    ovs_member_not_current: notCurrent,
    probe: { sent_rate_pps: PROBE_PPS, received: probeResult.received, lost: probeResult.lost, lost_outside_failovers: lostOutside },
    // frames the kernel dropped at the TAP's queue because bondd lagged (congestion, not failover)
    tap_queue_drops: lastState.bond.counters.tap_queue_drops - firstState.bond.counters.tap_queue_drops,
  };
  result.ok =
    rssGrowth < 0.05 &&
    result.open_fds.max - result.open_fds.min <= 2 &&
    result.bondd_lacp_expired === 0 &&
    notCurrent === 0 &&
    lostOutside === 0 &&
    probeResult.received > 0;
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  if (!result.ok) process.exitCode = 1;
}

main()
  .catch((e) => {
    process.stderr.write(`soak failed: ${e.stack ?? e.message}\n`);
    process.exitCode = 2;
  })
  .finally(lab.cleanup);
