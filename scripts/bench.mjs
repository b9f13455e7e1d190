#!/usr/bin/env node
// tapbond benchmark: builds its own namespaces and measures, in ONE run so ratios compare:
//   bare veth pair | veth + bridge (no bond) | bondd on the kernel fast path (eBPF) and on the
//   user-space datapath, in several modes (2 slaves through a bridge "switch")
// TCP 1 and 4 streams (iperf3), 64-byte UDP frames/s, ping RTT, failover outage on carrier
// loss (UDP probe at 20 kpps, 5 runs, median), the CPU cost (CPU seconds of every process and
// of the kernel's softirqs per Gbit sent, from /proc/stat over the TCP 1-stream run), bondd's
// own CPU over that run, bondd RSS. Prints a table and writes JSON.
// BENCH_SECTIONS picks the sections (default basic,lacp,alb): basic (the above), lacp (802.3ad
// against Open vSwitch), alb (balance-tlb/alb on shaped links), scale (bench-scale.mjs: slaves,
// bonds, learnt MACs, alb clients) and timeline (bench-timeline.mjs: one cut taken apart).
// Every traffic generator is bounded in time; the lab is removed also on failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaleLab } from './bench-scale.mjs';
import { timelineLab } from './bench-timeline.mjs';
import { Ovs } from './lib/ovs.mjs';
import { busySeconds, markdownTable, median, procSeconds, rssMb, sh, sleep, waitUntil } from './lib/measure.mjs';
import { exited, spawnBondd } from './lib/proc.mjs';
import { writeResult } from './lib/results.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAB = join(ROOT, 'scripts/netns/lab.sh');
const PROBE = join(ROOT, 'scripts/lib/udp-probe.mjs');
const node = process.execPath;
const SECS = Number(process.env.BENCH_SECONDS ?? 4);
const P = `bench${process.pid % 100000}`;
const [SRV, SW, CLI] = [`${P}-srv`, `${P}-sw`, `${P}-cli`];
const RUN = mkdtempSync(join(tmpdir(), 'tapbond-bench-'));
/** @typedef {Record<string, any>} Row a result row: figures by name */
/** Carrier losses per failover row: the first of a fresh daemon runs colder, and this 2-core
 * machine's scheduling spreads the rest over milliseconds, so a median of 3 moves with one run. */
const FAILOVER_RUNS = Number(process.env.BENCH_FAILOVERS ?? 5);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
/** @type {import('node:child_process').ChildProcess | undefined} */
let bondd;

function labDown() {
  if (bondd && bondd.exitCode === null) bondd.kill('SIGKILL');
  for (const p of lacpBondds) if (p.exitCode === null) p.kill('SIGKILL');
  stopOvs();
  spawnSync('bash', [LAB, 'down', P]);
}
/** @type {ReturnType<typeof scaleLab> | undefined} */
let scale;
/** @type {ReturnType<typeof timelineLab> | undefined} */
let timeline;
function cleanup() {
  labDown();
  scale?.cleanup();
  timeline?.cleanup();
  rmSync(RUN, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/**
 * @param {number} streams
 * @param {boolean} [reverse]
 */
function iperf(streams, reverse = false) {
  sh(CLI, 'timeout 30 iperf3 -s -1 -D -p 5201');
  execFileSync('sleep', ['0.3']);
  const j = JSON.parse(sh(SRV, `timeout 30 iperf3 -c 198.18.0.2 -p 5201 -t ${SECS} -P ${streams} ${reverse ? '-R' : ''} -J`));
  return j.end.sum_received.bits_per_second / 1e9;
}

function smallFrames() {
  // 18-byte payload: 14 + 20 + 8 + 18 = 60 bytes + FCS = a 64-byte frame on the wire
  sh(CLI, 'timeout 30 iperf3 -s -1 -D -p 5202');
  execFileSync('sleep', ['0.3']);
  const j = JSON.parse(sh(SRV, `timeout 30 iperf3 -c 198.18.0.2 -p 5202 -u -l 18 -b 0 -t ${SECS} -J`));
  const s = j.end.sum;
  return (s.packets - s.lost_packets) / s.seconds / 1000;
}

function rtt() {
  const out = sh(SRV, 'ping -c 300 -i 0.005 -q 198.18.0.2');
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  if (!m) throw new Error(`ping: no summary in ${out}`);
  return Number(m[1]) * 1000;
}

/**
 * One carrier loss under a 20 kpps UDP probe: `to` the bond (the client sends, the bond's host
 * receives) or `from` it (the bond's host sends to the client). The switch port `failIf` goes
 * down 1.2 s in; `restoreIf` comes back up after the probe.
 * @param {string} failIf
 * @param {string} restoreIf
 * @param {'to' | 'from'} [direction]
 * @returns {Promise<{ outage_ms: number, lost: number, sent: number }>}
 */
async function outage(failIf, restoreIf, direction = 'to') {
  const [rxNs, txNs, target] = direction === 'to' ? [SRV, CLI, '198.18.0.1'] : [CLI, SRV, '198.18.0.2'];
  const recv = spawn('ip', ['netns', 'exec', rxNs, node, PROBE, 'recv', '9000', '4', '20000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  recv.stdout?.on('data', (d) => (out += d));
  await sleep(300);
  const send = spawn('ip', ['netns', 'exec', txNs, node, PROBE, 'send', target, '9000', '20000', '3'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let sent = '';
  send.stdout?.on('data', (d) => (sent += d));
  await sleep(1200);
  sh(SW, `ip link set ${failIf} down`);
  await exited(send);
  await exited(recv);
  sh(SW, `ip link set ${restoreIf} up`);
  const r = JSON.parse(out);
  return { ...r, sent: JSON.parse(sent).sent };
}

/**
 * @param {string} mode
 * @param {string[]} [extra]
 */
async function startBondd(mode, extra = []) {
  const hash = mode === 'balance-xor' ? ['xmit_hash_policy=layer3+4'] : [];
  const b = spawnBondd(SRV, RUN, 's0,s1', [...extra, `mode=${mode}`, 'miimon=100', ...hash]);
  bondd = b.proc;
  await b.ready();
  sh(SRV, 'ip addr add 198.18.0.1/24 dev bond0');
  await sleep(500);
  return b.log;
}

function activeSlave() {
  const s = JSON.parse(sh(SRV, `${node} ${join(ROOT, 'dist/cli/bondctl.js')} --run-dir ${RUN} state bond0 --json`));
  return s.bond.active_slave ?? 's0';
}

// ---- 802.3ad section ---------------------------------------------------------------------

/** @type {Ovs[]} */
const ovses = [];
/**
 * Open vSwitch with an LACP bond (fast rate, balance-tcp) over `ports` in `ns`.
 * @param {string} ns
 * @param {string[]} ports
 * @param {number | undefined} cpu
 */
function startOvs(ns, ports, cpu) {
  const o = new Ovs(ns);
  ovses.push(o);
  o.start({ cpu });
  o.lacpBond(ports, { time: 'fast' });
  return o;
}

function stopOvs() {
  for (const o of ovses.splice(0)) o.stop();
}

/** @type {import('node:child_process').ChildProcess[]} */
const lacpBondds = [];
/**
 * bondd in 802.3ad (fast rate, layer3+4) in `ns`; the function returned resolves at its ready
 * line: its bond is up and its ports send LACPDUs.
 * @param {string} ns
 * @param {string} slaves
 * @param {string} runDir
 * @param {number | undefined} cpu
 * @param {string[]} [extra]
 */
async function startLacpBondd(ns, slaves, runDir, cpu, extra = []) {
  mkdirSync(runDir, { recursive: true });
  const pin = cpu === undefined ? [] : ['--cpu', String(cpu)];
  const b = spawnBondd(ns, runDir, slaves, [...pin, ...extra, 'mode=802.3ad', 'lacp_rate=fast', 'xmit_hash_policy=layer3+4']);
  lacpBondds.push(b.proc);
  return () => b.ready(3000);
}

/** Ports distributing, asked over the control socket directly (a bondctl process per poll
 * would cost more than the polling interval on two cores). */
/** @param {string} runDir */
async function distributingOn(runDir) {
  try {
    const { call } = await import(join(ROOT, 'dist/control/client.js'));
    return (await call(join(runDir, 'bond0.sock'), 'state.dump')).mode.distributing.length;
  } catch {
    return -1;
  }
}

/** Client ports for `streams` iperf3 streams that the bond's hash spreads evenly over 2 links. */
/**
 * @param {string} runDir
 * @param {number} streams
 */
function evenClientPorts(runDir, streams) {
  for (let base = 40000; base < 41000; base += streams) {
    const out = sh(
      SRV,
      Array.from(
        { length: streams },
        (_, i) =>
          `${node} ${join(ROOT, 'dist/cli/bondctl.js')} --run-dir ${runDir} hash bond0 --json sip=198.18.0.1 dip=198.18.0.2 proto=tcp sport=${base + i} dport=5201`,
      ).join(' && '),
    );
    const ports = [...out.matchAll(/"port": "(\w+)"/g)].map((m) => m[1]);
    if (ports.filter((p) => p === ports[0]).length === streams / 2) return base;
  }
  return 40000;
}

/**
 * @param {number} streams
 * @param {number} [cport]
 */
function iperfTo(streams, cport) {
  sh(CLI, 'timeout 30 iperf3 -s -1 -D -p 5201');
  execFileSync('sleep', ['0.3']);
  const j = JSON.parse(sh(SRV, `timeout 30 iperf3 -c 198.18.0.2 -p 5201 -t ${SECS} -P ${streams} ${cport ? `--cport ${cport}` : ''} -J`));
  return j.end.sum_received.bits_per_second / 1e9;
}

/**
 * CPU placement of the two forwarders (the apps, iperf3 client and server, are never pinned):
 * 'float' leaves both to the scheduler; 'per-core' puts the server side's forwarder on the last
 * core and the client side's on core 0 (each shares its core with one iperf3 endpoint);
 * 'one-core' puts both forwarders on the last core, the applications get the rest.
 * Open vSwitch and bondd are always compared under the same placement.
 */
const PLACEMENTS = ['float', 'per-core', 'one-core'];
/** @param {string} placement */
function placementCpus(placement) {
  const last = cpus().length - 1;
  if (placement === 'per-core') return { srv: last, cli: 0 };
  if (placement === 'one-core') return { srv: last, cli: last };
  return { srv: undefined, cli: undefined };
}

/**
 * @param {string} name
 * @param {{ srv: string, cli: string, placement: string, shaped?: boolean }} side
 */
async function lacpRow(name, side) {
  process.stderr.write(`-- ${name}\n`);
  execFileSync('bash', [LAB, 'pair', P, '2']);
  sh(SRV, 'sysctl -qw net.ipv4.conf.all.arp_ignore=1');
  /** @type {Row} */
  const r = { name, placement: side.placement };
  const t0 = Date.now();
  const srvRun = join(RUN, 'srv');
  const cliRun = join(RUN, 'cli');
  /** @type {(() => boolean | Promise<boolean>)[]} */
  const ready = [];
  const started = [];
  const cpu = placementCpus(side.placement);
  // two bondd busy-polling one core would only take turns spinning
  const extra = side.placement === 'one-core' ? ['--busy-poll', '0'] : [];
  if (side.srv === 'ovs') {
    const o = startOvs(SRV, ['s0', 's1'], cpu.srv);
    sh(SRV, 'ip addr add 198.18.0.1/24 dev br0 && ip link set br0 up');
    ready.push(() => /status: active negotiated/.test(o.appctl('lacp/show', 'bond0')));
  } else {
    started.push(await startLacpBondd(SRV, 's0,s1', srvRun, cpu.srv, extra));
    ready.push(async () => (await distributingOn(srvRun)) === 2);
  }
  if (side.cli === 'ovs') {
    const o = startOvs(CLI, ['q0', 'q1'], cpu.cli);
    sh(CLI, 'ip addr add 198.18.0.2/24 dev br0 && ip link set br0 up');
    ready.push(() => /status: active negotiated/.test(o.appctl('lacp/show', 'bond0')));
  } else {
    started.push(await startLacpBondd(CLI, 'q0,q1', cliRun, cpu.cli, extra));
    ready.push(async () => (await distributingOn(cliRun)) === 2);
  }
  // LACP starts once both ends run (the later daemon's ready line, or OVS configured): the
  // figure is from there to both ports distributing on both sides; start_s includes the
  // processes' own start-up
  await Promise.all(started.map((f) => f()));
  const tLacp = Date.now();
  const took = await waitUntil(async () => (await Promise.all(ready.map((f) => f()))).every(Boolean), 15_000);
  r.lacp_s = took === null ? null : (Date.now() - tLacp) / 1000;
  r.start_s = took === null ? null : (Date.now() - t0) / 1000;
  if (side.srv !== 'ovs') sh(SRV, 'ip addr add 198.18.0.1/24 dev bond0');
  if (side.cli !== 'ovs') sh(CLI, 'ip addr add 198.18.0.2/24 dev bond0');
  await sleep(800);
  sh(SRV, 'ping -c 3 -i 0.1 -W 1 198.18.0.2 >/dev/null');
  r.tcp1 = iperfTo(1);
  r.tcp4 = iperfTo(4);
  if (side.shaped) {
    for (const d of ['s0', 's1']) sh(SRV, `tc qdisc add dev ${d} root tbf rate 1gbit burst 512kb latency 20ms`);
    r.shaped_cport = evenClientPorts(srvRun, 4);
    r.shaped_tcp4 = iperfTo(4, r.shaped_cport);
  }
  for (const p of lacpBondds.splice(0)) {
    p.kill('SIGTERM');
    await exited(p);
  }
  stopOvs();
  labDown();
  return r;
}

/**
 * The 802.3ad comparison: Open vSwitch <-> Open vSwitch and bondd <-> bondd under each placement,
 * interleaved and repeated (BENCH_LACP_REPEAT, default 3) so that a slow minute of this shared
 * machine hits both; medians per pair and placement. bondd <-> OVS and the shaped links once.
 */
async function lacpSection() {
  const reps = Number(process.env.BENCH_LACP_REPEAT ?? 3);
  /** @type {Row[]} */
  const runs = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const placement of PLACEMENTS) {
      for (const pair of ['ovs', 'bondd']) {
        const r = await lacpRow(
          `${pair === 'ovs' ? 'OVS <-> OVS balance-tcp (TSO on)' : 'bondd <-> bondd'}, ${placement} (run ${rep + 1})`,
          { srv: pair, cli: pair, placement },
        );
        runs.push({ pair, rep, ...r });
      }
    }
  }
  const summary = [];
  for (const placement of PLACEMENTS) {
    const of = (/** @type {string} */ pair) => runs.filter((r) => r.pair === pair && r.placement === placement);
    const row = (/** @type {string} */ pair) => ({
      tcp1: median(of(pair).map((r) => r.tcp1)),
      tcp4: median(of(pair).map((r) => r.tcp4)),
      lacp_s: median(of(pair).map((r) => r.lacp_s ?? Infinity)),
      tcp4_runs: of(pair).map((r) => r.tcp4),
    });
    const ovs = row('ovs');
    const bondd = row('bondd');
    summary.push({
      placement,
      ovs,
      bondd,
      ratio_tcp1: bondd.tcp1 / ovs.tcp1,
      ratio_tcp4: bondd.tcp4 / ovs.tcp4,
      ratio_tcp4_runs: bondd.tcp4_runs.map((x, i) => x / ovs.tcp4_runs[i]),
    });
  }
  const once = [
    await lacpRow('bondd <-> OVS, per-core', { srv: 'bondd', cli: 'ovs', placement: 'per-core' }),
    await lacpRow('bondd <-> bondd, 2 x 1 Gbit/s tbf, per-core', { srv: 'bondd', cli: 'bondd', shaped: true, placement: 'per-core' }),
  ];
  return { repeat: reps, runs, summary, once };
}

/**
 * @param {string} name
 * @param {() => Promise<unknown>} setup
 */
async function measure(name, setup) {
  process.stderr.write(`-- ${name}\n`);
  /** @type {Row} */
  const r = { name };
  const ctx = /** @type {{ failover?: boolean, mode?: string } | undefined} */ (await setup());
  const busy0 = busySeconds();
  const own0 = bondd?.pid ? procSeconds(bondd.pid) : 0;
  const t0 = performance.now();
  r.tcp1 = iperf(1);
  const wall = (performance.now() - t0) / 1000;
  r.cpu_s_per_gbit = (busySeconds() - busy0) / (r.tcp1 * SECS);
  if (bondd?.pid) r.bondd_cpu_pct = ((procSeconds(bondd.pid) - own0) / wall) * 100;
  r.tcp1_rev = iperf(1, true);
  r.tcp4 = iperf(4);
  r.kpps64 = smallFrames();
  r.rtt_us = rtt();
  if (ctx?.failover) {
    // both directions, alternating, FAILOVER_RUNS cuts each
    for (const direction of /** @type {const} */ (['to', 'from'])) {
      r[`failover_${direction}_ms`] = [];
      r[`failover_${direction}_lost`] = [];
    }
    for (let i = 0; i < FAILOVER_RUNS * 2; i++) {
      const direction = i % 2 === 0 ? 'to' : 'from';
      const act = ctx.mode === 'active-backup' ? activeSlave() : 's0';
      const port = act.replace('s', 'p');
      const x = await outage(port, port, direction);
      r[`failover_${direction}_ms`].push(x.outage_ms);
      r[`failover_${direction}_lost`].push(x.lost);
      await sleep(1500); // the link returns and settles before the next run
    }
    summarizeFailovers(r);
  }
  if (bondd?.pid) r.rss_mb = rssMb(bondd.pid);
  if (bondd) {
    bondd.kill('SIGTERM');
    await exited(bondd);
    bondd = undefined;
  }
  labDown();
  return r;
}

// ---- balance-tlb / balance-alb section ----------------------------------------------------------
// Two slaves shaped to 1 Gbit/s each way (tbf on the slaves for transmit, on the switch ports
// for receive), four clients behind the switch (the client namespace and three more).
const CLIENTS = [2, 3, 4, 5];
/** @param {number} i */
const clientNs = (i) => (i === 0 ? CLI : `${P}-c${i}`);

function albLab() {
  execFileSync('bash', [LAB, 'up', P, '2']);
  for (let i = 1; i < CLIENTS.length; i++) {
    const ns = clientNs(i);
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', SW, 'link', 'add', `x${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    execFileSync('ip', ['-n', SW, 'link', 'set', `x${i}`, 'master', 'br0', 'up']);
    sh(ns, `ip link set lo up && ip addr add 198.18.0.${CLIENTS[i]}/24 dev eth0 && ip link set eth0 up`);
  }
  for (const d of ['s0', 's1']) sh(SRV, `tc qdisc add dev ${d} root tbf rate 1gbit burst 512kb latency 20ms`);
  for (const d of ['p0', 'p1']) sh(SW, `tc qdisc add dev ${d} root tbf rate 1gbit burst 512kb latency 20ms`);
}

function albLabDown() {
  for (let i = 1; i < CLIENTS.length; i++) spawnSync('ip', ['netns', 'del', clientNs(i)]);
  labDown();
}

/** Four parallel iperf3 runs; `toBond` = the clients send (the bond receives). Gbit/s summed. */
/**
 * @param {boolean} toBond
 * @param {number} seconds
 */
async function fourWay(toBond, seconds) {
  const runs = CLIENTS.map((c, i) => {
    const port = 5301 + i;
    const [serverNs, clientSide, target] = toBond ? [SRV, clientNs(i), '198.18.0.1'] : [clientNs(i), SRV, `198.18.0.${c}`];
    sh(serverNs, `timeout ${seconds + 20} iperf3 -s -1 -D -p ${port}`);
    return { clientSide, target, port };
  });
  await sleep(300);
  const outs = await Promise.all(
    runs.map(
      (r) =>
        new Promise((resolve) => {
          const p = spawn(
            'ip',
            [
              'netns',
              'exec',
              r.clientSide,
              'timeout',
              String(seconds + 15),
              'iperf3',
              '-c',
              r.target,
              '-p',
              String(r.port),
              '-t',
              String(seconds),
              '-J',
            ],
            { stdio: ['ignore', 'pipe', 'ignore'] },
          );
          let out = '';
          p.stdout.on('data', (d) => (out += d));
          p.on('close', () => resolve(out));
        }),
    ),
  );
  return outs.reduce((sum, o) => sum + JSON.parse(o).end.sum_received.bits_per_second / 1e9, 0);
}

/** @param {string} mode */
async function albRow(mode) {
  albLab();
  try {
    const b = spawnBondd(SRV, RUN, 's0,s1', [`mode=${mode}`, 'miimon=100', 'xmit_hash_policy=layer2+3']);
    bondd = b.proc;
    await b.ready();
    sh(SRV, 'ip addr add 198.18.0.1/24 dev bond0');
    await sleep(500);
    for (let i = 0; i < CLIENTS.length; i++) sh(clientNs(i), 'ping -c 2 -i 0.2 -W 1 198.18.0.1 >/dev/null');
    // kernel compat: TLB buckets carry no load history during the first 10 s; warm up past it
    await fourWay(false, 11);
    const tx = await fourWay(false, SECS + 2);
    const rx = await fourWay(true, SECS + 2);
    return { name: `bondd ${mode}, 2 x 1 Gbit/s tbf, 4 clients`, tx, rx };
  } finally {
    albLabDown();
  }
}

/**
 * Median and worst of the carrier losses in each direction.
 * @param {Row} r
 */
function summarizeFailovers(r) {
  for (const d of ['to', 'from']) {
    r[`failover_${d}_median_ms`] = median(r[`failover_${d}_ms`]);
    r[`failover_${d}_worst_ms`] = Math.max(...r[`failover_${d}_ms`]);
  }
}

/**
 * "median / worst" of one direction's carrier losses, in ms.
 * @param {Row} r
 * @param {'to' | 'from'} d
 */
function failoverCell(r, d) {
  return `${r[`failover_${d}_median_ms`].toFixed(2)} / ${r[`failover_${d}_worst_ms`].toFixed(2)}`;
}

/**
 * One row from several runs of it: the median of each figure, every failover of every run.
 * @param {Row[]} runs
 */
function medianRow(runs) {
  /** @type {Row} */
  const r = { name: runs[0].name, runs: runs.length };
  for (const k of Object.keys(runs[0])) {
    if (typeof runs[0][k] === 'number' && k !== 'rep') r[k] = median(runs.map((x) => x[k]));
  }
  if (runs[0].failover_to_ms) {
    for (const d of ['to', 'from']) {
      r[`failover_${d}_ms`] = runs.flatMap((x) => x[`failover_${d}_ms`]);
      r[`failover_${d}_lost`] = runs.flatMap((x) => x[`failover_${d}_lost`]);
    }
    summarizeFailovers(r);
  }
  return r;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark builds network namespaces');
  for (const c of ['iperf3', 'ping'])
    if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) throw new Error(`needs ${c} (apt-get install iperf3 iputils-ping)`);
  if (!existsSync(join(ROOT, 'dist/cli/bondd.js'))) throw new Error('not built: run `npm run build`');
  const sections = (process.env.BENCH_SECTIONS ?? 'basic,lacp,alb').split(',');
  const results = [];
  // BENCH_REPEAT runs the whole basic section that many times, interleaved (every row once, then
  // again), so a slow minute of this shared machine hits every row; each figure is the median
  // over the runs, the failover median over all carrier losses of all runs
  /** @type {Row[]} */
  const basicRuns = [];
  if (sections.includes('basic')) {
    // the kernel fast path unpinned (bondd's own thread is idle while it forwards); the user
    // path pinned to the last CPU (--cpu), as a deployment would place it, and unpinned
    const last = String(cpus().length - 1);
    const user = ['--datapath', 'user'];
    const kernel = ['--datapath', 'kernel'];
    /** @type {[string, () => Promise<unknown>][]} */
    const rows = [
      ['bare veth', async () => execFileSync('bash', [LAB, 'bare', P])],
      [
        'veth+bridge',
        async () => {
          execFileSync('bash', [LAB, 'up', P, '1']);
          sh(SRV, 'ip addr add 198.18.0.1/24 dev s0');
          await sleep(300);
        },
      ],
    ];
    // "direct": the bond's two links straight to the client (lab.sh direct), no bridge between,
    // the bond's counterpart of the bare pair; the other rows cross the switch namespace's bridge
    /** @type {[string, string[], string, boolean, string?][]} */
    const bondRows = [
      ['active-backup', kernel, 'bondd active-backup, kernel path, direct', false, 'direct'],
      ['balance-xor', kernel, 'bondd balance-xor l3+4, kernel path, direct', false, 'direct'],
      ['active-backup', kernel, 'bondd active-backup, kernel path', true],
      ['balance-xor', kernel, 'bondd balance-xor l3+4, kernel path', false],
      ['balance-rr', kernel, 'bondd balance-rr, kernel path', false],
      ['active-backup', [...user, '--cpu', last], `bondd active-backup, user path --cpu ${last}`, true],
      ['balance-rr', [...user, '--cpu', last], `bondd balance-rr, user path --cpu ${last}`, false],
      ['balance-xor', [...user, '--cpu', last], `bondd balance-xor l3+4, user path --cpu ${last}`, false],
      ['active-backup', user, 'bondd active-backup, user path unpinned', false],
    ];
    for (const [mode, extra, label, failover, topology = 'up'] of bondRows) {
      rows.push([
        label,
        async () => {
          execFileSync('bash', [LAB, topology, P, '2']);
          await startBondd(mode, extra);
          if (topology === 'direct') {
            // the client routes through q0, but the bond's answer to its ARP may arrive on q1
            // (balance-xor hashes it there) and so be learnt on q1: the bond's MAC on q0, fixed
            const mac = /link\/ether ([0-9a-f:]+)/.exec(sh(SRV, 'ip -o link show bond0'))?.[1];
            sh(CLI, `ip neigh replace 198.18.0.1 lladdr ${mac} dev q0 nud permanent`);
          }
          return { failover, mode };
        },
      ]);
    }
    // BENCH_ROWS="label;label": only these rows (the first one is the ratios' reference)
    const only = process.env.BENCH_ROWS?.split(';');
    const chosen = only ? rows.filter(([label]) => only.includes(label)) : rows;
    if (!chosen.length) throw new Error(`BENCH_ROWS names none of: ${rows.map(([l]) => l).join('; ')}`);
    for (let rep = 0; rep < REPEAT; rep++) for (const [label, setup] of chosen) basicRuns.push({ rep, ...(await measure(label, setup)) });
    for (const [label] of chosen) results.push(medianRow(basicRuns.filter((r) => r.name === label)));
  }
  let lacp = null;
  if (sections.includes('lacp')) {
    if (!existsSync('/usr/sbin/ovs-vswitchd')) throw new Error('the 802.3ad section needs openvswitch-switch (or BENCH_SECTIONS=basic)');
    lacp = await lacpSection();
  }
  let scaled = null;
  if (sections.includes('scale')) {
    scale = scaleLab({ prefix: P, seconds: SECS });
    scaled = await scale.run();
  }
  let timed = null;
  if (sections.includes('timeline')) {
    timeline = timelineLab({ prefix: P });
    timed = await timeline.run();
  }
  const alb = [];
  if (sections.includes('alb')) for (const mode of ['balance-tlb', 'balance-alb']) alb.push(await albRow(mode));
  const bare = results[0];
  const rows = !results.length
    ? []
    : [
        [
          'path',
          'TCP1 Gb/s',
          'x bare',
          'TCP1 rev',
          'TCP4 Gb/s',
          'x bare',
          '64B kpps',
          'x bare',
          'RTT us',
          '+RTT us',
          'failover to bond ms (median / worst)',
          'failover from bond ms',
          'CPU s/Gbit',
          'bondd CPU %',
          'RSS MB',
        ],
      ];
  for (const r of results) {
    rows.push([
      r.name,
      r.tcp1.toFixed(2),
      (r.tcp1 / bare.tcp1).toFixed(2),
      r.tcp1_rev.toFixed(2),
      r.tcp4.toFixed(2),
      (r.tcp4 / bare.tcp4).toFixed(2),
      r.kpps64.toFixed(0),
      (r.kpps64 / bare.kpps64).toFixed(2),
      r.rtt_us.toFixed(0),
      (r.rtt_us - bare.rtt_us).toFixed(0),
      r.failover_to_ms ? failoverCell(r, 'to') : '-',
      r.failover_from_ms ? failoverCell(r, 'from') : '-',
      r.cpu_s_per_gbit.toFixed(3),
      r.bondd_cpu_pct === undefined ? '-' : r.bondd_cpu_pct.toFixed(1),
      r.rss_mb ? r.rss_mb.toFixed(0) : '-',
    ]);
  }
  if (rows.length) {
    process.stdout.write(markdownTable(rows));
  }
  if (lacp) {
    const f = (/** @type {number} */ x) => x.toFixed(2);
    const lrows = [
      [
        '802.3ad, 2 links, lacp_rate fast: placement',
        'OVS<->OVS TCP1',
        'bondd<->bondd TCP1',
        'x',
        'OVS<->OVS TCP4',
        'bondd<->bondd TCP4',
        'x',
        'x per run (TCP4)',
        'LACP up s (OVS, bondd)',
      ],
    ];
    for (const s of lacp.summary) {
      lrows.push([
        `${s.placement} (median of ${lacp.repeat})`,
        f(s.ovs.tcp1),
        f(s.bondd.tcp1),
        f(s.ratio_tcp1),
        f(s.ovs.tcp4),
        f(s.bondd.tcp4),
        f(s.ratio_tcp4),
        s.ratio_tcp4_runs.map(f).join(' '),
        `${s.ovs.lacp_s.toFixed(1)}, ${s.bondd.lacp_s.toFixed(1)}`,
      ]);
    }
    for (const r of lacp.once) {
      lrows.push([
        r.name,
        '-',
        f(r.tcp1),
        '-',
        '-',
        f(r.tcp4),
        '-',
        r.shaped_tcp4 ? `shaped ${f(r.shaped_tcp4)} (${f(r.shaped_tcp4 / 2)} x 2 Gb/s)` : '-',
        r.lacp_s === null ? 'no' : r.lacp_s.toFixed(1),
      ]);
    }
    process.stdout.write('\n' + markdownTable(lrows));
  }
  for (const r of alb)
    process.stdout.write(
      `\n| ${r.name} | transmit ${r.tx.toFixed(2)} Gb/s (${(r.tx / 2).toFixed(2)} x 2) | receive ${r.rx.toFixed(2)} Gb/s (${(r.rx / 2).toFixed(2)} x 2) |`,
    );
  if (alb.length) process.stdout.write('\n');
  if (scaled && scale) process.stdout.write('\n' + scale.format(scaled));
  if (timed && timeline) process.stdout.write('\n' + timeline.format(timed));
  const file = writeResult(
    'bench',
    'npm run bench',
    {
      seconds: SECS,
      repeat: REPEAT,
      failover_runs: FAILOVER_RUNS,
      results,
      basicRuns,
      lacp,
      alb,
      scale: scaled && { rate_mbit: scale?.rate, ...scaled },
      timeline: timed,
    },
    'bench-results',
  );
  process.stdout.write(`\nJSON: ${file}\n`);
}

main()
  .catch((e) => {
    process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
