// The benchmark's failover timeline (BENCH_SECTIONS=timeline): what happens, and when, in one
// carrier loss under traffic both ways, so an outage can be taken apart. active-backup on the
// kernel path through the switch namespace; a UDP probe each way at 10 kpps; the active slave's
// switch port goes down 1.2 s in. Independent clocks agree (all CLOCK_REALTIME, microseconds):
//   cut        the `ip link set pX down` call (before it, and when it returned)
//   bondd      its debug lines: the link event read from rtnetlink, the new plan in the maps
//   wire       tcpdump on both switch ports (frames the bond sent: the probe from it, the GARP)
//              and on bond0 (frames the bond delivered to its host: the probe to it, the last
//              before bondd heard of the cut and the first after)
// Each cut is a row; the summary is the median of each event over BENCH_TIMELINE_CUTS cuts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, median, sh, sleep } from './lib/measure.mjs';
import { exited, spawnBondd } from './lib/proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAB = join(ROOT, 'scripts/netns/lab.sh');
const PROBE = join(ROOT, 'scripts/lib/udp-probe.mjs');
const node = process.execPath;
const RATE = 10_000;

/** @typedef {Record<string, any>} Row */

/** Wall-clock microseconds now. */
const wallUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

/**
 * tcpdump -tt lines as [time in us, line].
 * @param {string} text
 * @returns {[number, string][]}
 */
function lines(text) {
  /** @type {[number, string][]} */
  const out = [];
  for (const l of text.split('\n')) {
    const m = /^(\d+)\.(\d{6}) /.exec(l);
    if (m) out.push([Number(m[1]) * 1e6 + Number(m[2]), l]);
  }
  return out;
}

/**
 * @param {{ prefix: string }} o
 */
export function timelineLab(o) {
  const P = `${o.prefix}t`;
  const [SRV, SW, CLI] = [`${P}-srv`, `${P}-sw`, `${P}-cli`];
  const RUN = mkdtempSync(join(tmpdir(), 'tapbond-timeline-'));
  const CUTS = Number(process.env.BENCH_TIMELINE_CUTS ?? 5);
  /** @type {import('node:child_process').ChildProcess[]} */
  const procs = [];

  function down() {
    for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    spawnSync('bash', [LAB, 'down', P]);
  }

  /**
   * @param {string} ns
   * @param {string[]} argv
   */
  function background(ns, argv) {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'ignore'] });
    procs.push(p);
    let out = '';
    p.stdout?.on('data', (d) => (out += d));
    return { p, out: () => out };
  }

  /** @param {number} n the cut's number */
  async function cut(n) {
    process.stderr.write(`-- timeline: cut ${n + 1} of ${CUTS}\n`);
    execFileSync('bash', [LAB, 'up', P, '2']);
    const b = spawnBondd(SRV, RUN, 's0,s1', [
      '--log-format',
      'json',
      '--debug',
      '--datapath',
      'kernel',
      'mode=active-backup',
      'miimon=100',
    ]);
    procs.push(b.proc);
    await b.ready(20_000);
    sh(SRV, 'ip addr add 198.18.0.1/24 dev bond0');
    await sleep(500);
    sh(CLI, 'ping -c 3 -i 0.1 -W 1 198.18.0.1 >/dev/null');
    const dumps = [
      background(SW, ['timeout', '8', 'tcpdump', '-i', 'p0', '-Q', 'in', '-tt', '-n', '-l', 'udp or arp']),
      background(SW, ['timeout', '8', 'tcpdump', '-i', 'p1', '-Q', 'in', '-tt', '-n', '-l', 'udp or arp']),
      background(SRV, ['timeout', '8', 'tcpdump', '-i', 'bond0', '-tt', '-n', '-l', 'udp dst port 9000']),
    ];
    const recvTo = background(SRV, [node, PROBE, 'recv', '9000', '4', String(RATE)]);
    const recvFrom = background(CLI, [node, PROBE, 'recv', '9001', '4', String(RATE)]);
    await sleep(500);
    const senders = [
      background(CLI, [node, PROBE, 'send', '198.18.0.1', '9000', String(RATE), '3']),
      background(SRV, [node, PROBE, 'send', '198.18.0.2', '9001', String(RATE), '3']),
    ];
    await sleep(1200);
    const t0 = wallUs();
    execFileSync('ip', ['-n', SW, 'link', 'set', 'p0', 'down']);
    const t1 = wallUs();
    for (const s of senders) await exited(s.p);
    await exited(recvTo.p);
    await exited(recvFrom.p);
    await sleep(300);
    for (const d of dumps) d.p.kill('SIGINT');
    for (const d of dumps) await exited(d.p);
    const log = b
      .log()
      .split('\n')
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      });
    const after = (/** @type {string} */ msg) => log.find((r) => r.msg === msg && r.at_us >= t0)?.at_us ?? NaN;
    const [p0, p1, tap] = dumps.map((d) => lines(d.out()));
    const ms = (/** @type {number} */ t) => (t - t0) / 1000;
    // the probe to the bond as its host got it: the last frame before bondd heard of the cut,
    // the first after
    const event = after('link event');
    const toHost = tap.filter(([, l]) => /\.9000: UDP/.test(l)).map(([t]) => t);
    const toStart = toHost.filter((t) => t <= event).at(-1) ?? NaN;
    const toEnd = toHost.find((t) => t > event) ?? NaN;
    const fromStart = p0.filter(([, l]) => /\.9001: UDP/.test(l)).at(-1)?.[0] ?? NaN;
    const fromFirstNew = p1.find(([t, l]) => t >= t0 && /\.9001: UDP/.test(l))?.[0] ?? NaN;
    /** @type {Row} */
    const r = {
      cut_returned_ms: ms(t1),
      link_event_ms: ms(event),
      plan_published_ms: ms(after('plan published')),
      from_last_on_old_ms: ms(fromStart),
      from_first_on_new_ms: ms(fromFirstNew),
      garp_on_new_ms: ms(
        p1.find(([t, l]) => t >= t0 && /ARP, (Request who-has 198\.18\.0\.1 tell 198\.18\.0\.1|Reply 198\.18\.0\.1 is-at)/.test(l))?.[0] ??
          NaN,
      ),
      to_last_delivered_ms: ms(toStart),
      to_first_delivered_ms: ms(toEnd),
      outage_to_ms: JSON.parse(recvTo.out()).outage_ms,
      outage_from_ms: JSON.parse(recvFrom.out()).outage_ms,
    };
    b.proc.kill('SIGTERM');
    await exited(b.proc);
    down();
    return r;
  }

  async function run() {
    /** @type {Row[]} */
    const cuts = [];
    try {
      for (let n = 0; n < CUTS; n++) cuts.push(await cut(n));
    } finally {
      down();
    }
    /** @type {Row} */
    const summary = {};
    for (const k of Object.keys(cuts[0])) summary[k] = median(cuts.map((c) => c[k]));
    return { rate_pps: RATE, cuts, summary };
  }

  /**
   * @param {{ cuts: Row[], summary: Row }} out
   */
  function format(out) {
    const keys = Object.keys(out.summary);
    const rows = [['ms after the cut', ...out.cuts.map((_, i) => `cut ${i + 1}`), 'median']];
    for (const k of keys) rows.push([k.replace(/_ms$/, ''), ...out.cuts.map((c) => c[k].toFixed(2)), out.summary[k].toFixed(2)]);
    return markdownTable(rows);
  }

  return {
    run,
    format,
    cleanup() {
      down();
      rmSync(RUN, { recursive: true, force: true });
    },
  };
}
