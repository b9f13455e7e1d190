// The benchmark's scale section (BENCH_SECTIONS=scale): how the cost grows with the work, each
// figure beside the 2-slave, 1-bond, 1-MAC or 16-client row of the same run.
//   slaves   2, 4, 8 slaves in balance-xor (straight to one host) and in 802.3ad (Open vSwitch as
//            partner): N TCP streams, one per slave (the client port chosen by `debug.hash`),
//            unshaped (what the CPUs carry) and with every slave shaped to BENCH_SCALE_RATE
//            Mbit/s (what each link carries); CPU per Gbit; the failover outage of the slave
//            that carries a 20 kpps UDP probe from the bond's host.
//   bonds    1, 16, 64 bonds of 2 slaves in one bondd (netplan files), on each datapath: start
//            to all ready, RSS, idle CPU over 20 s from 15 s after ready.
//   macs     1, 256, 4,096 MACs learnt behind a bridge on bond0 (active-backup): the failover
//            outage both ways, and the time from the cut until the client has seen the RARP of
//            every MAC (tcpdump at the client, an independent observer).
//   alb      16, 256, 1,024 balance-alb clients: the MACs their ARP answers teach, the frames
//            each slave receives (its own counters), bondd's CPU while it teaches them.
// Every namespace is the section's own and goes on failure too; nothing is pinned (--bpffs none).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busySeconds, counters, markdownTable, median, procSeconds, rssMb, sh, sleep, waitUntil } from './lib/measure.mjs';
import { Ovs } from './lib/ovs.mjs';
import { exited, spawnBondd, spawnBonddWith } from './lib/proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAB = join(ROOT, 'scripts/netns/lab.sh');
const PROBE = join(ROOT, 'scripts/lib/udp-probe.mjs');
const FRAMES = join(ROOT, 'scripts/lib/scale-frames.py');
const node = process.execPath;

/** @typedef {Record<string, any>} Row */

/**
 * @param {{ prefix: string, seconds: number }} o
 */
export function scaleLab(o) {
  const P = `${o.prefix}x`;
  const [SRV, SW, CLI, GST] = [`${P}-srv`, `${P}-sw`, `${P}-cli`, `${P}-g`];
  const RUN = mkdtempSync(join(tmpdir(), 'tapbond-scale-'));
  const SECS = o.seconds;
  const RATE = Number(process.env.BENCH_SCALE_RATE ?? 250);
  const CUTS = Number(process.env.BENCH_SCALE_CUTS ?? 3);
  /** @type {import('node:child_process').ChildProcess[]} */
  const procs = [];
  /** @type {Ovs[]} */
  const ovses = [];

  function down() {
    for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const x of ovses.splice(0)) x.stop();
    spawnSync('bash', [LAB, 'down', P]);
    spawnSync('ip', ['netns', 'del', GST], { stdio: 'ignore' });
  }

  /** @param {import('node:child_process').ChildProcess} p */
  async function stop(p) {
    p.kill('SIGTERM');
    await exited(p);
  }

  /** @param {string} runDir @param {string} method */
  async function ask(runDir, method, bond = 'bond0') {
    const { call } = await import(join(ROOT, 'dist/control/client.js'));
    return call(join(runDir, `${bond}.sock`), method);
  }

  /** @param {string} runDir */
  async function distributing(runDir) {
    try {
      return /** @type {any} */ (await ask(runDir, 'state.dump')).mode.distributing.length;
    } catch {
      return -1;
    }
  }

  /**
   * The slave a frame takes, as the bond itself says.
   * @param {string} runDir
   * @param {string[]} spec
   */
  async function slaveOf(runDir, spec) {
    const { call } = await import(join(ROOT, 'dist/control/client.js'));
    return /** @type {{ port: string }} */ (await call(join(runDir, 'bond0.sock'), 'debug.hash', { spec })).port;
  }

  /**
   * One iperf3 stream per slave, all at once from the bond's host: each stream's client port is
   * one the bond hashes onto that slave. Gbit/s summed over the streams' receivers.
   * @param {string} runDir
   * @param {number} n
   */
  async function streamPerSlave(runDir, n) {
    /** @type {Map<string, number>} */
    const cport = new Map();
    for (let p = 42000; cport.size < n && p < 44000; p++) {
      const dport = 5201 + cport.size;
      const s = await slaveOf(runDir, ['sip=198.18.0.1', 'dip=198.18.0.2', 'proto=tcp', `sport=${p}`, `dport=${dport}`]);
      if (!cport.has(s)) cport.set(s, p);
    }
    if (cport.size < n) throw new Error(`no client port found for every one of ${n} slaves: ${[...cport.keys()]}`);
    const streams = [...cport.values()].map((p, i) => ({ cport: p, port: 5201 + i }));
    for (const s of streams) sh(CLI, `timeout ${SECS + 20} iperf3 -s -1 -D -p ${s.port}`);
    await sleep(300);
    const outs = await Promise.all(
      streams.map(
        (s) =>
          new Promise((resolve) => {
            const p = spawn(
              'ip',
              [
                'netns',
                'exec',
                SRV,
                'timeout',
                String(SECS + 15),
                'iperf3',
                '-c',
                '198.18.0.2',
                '-p',
                String(s.port),
                '--cport',
                String(s.cport),
                '-t',
                String(SECS),
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
    return outs.reduce((sum, o) => sum + JSON.parse(/** @type {string} */ (o)).end.sum_received.bits_per_second / 1e9, 0);
  }

  /**
   * A UDP probe at 20 kpps for 3 s; 1.2 s in, `cut()` runs. The outage is the longest run of
   * probes lost, in ms.
   * @param {string} txNs
   * @param {string} rxNs
   * @param {string} target
   * @param {() => void | Promise<void>} cut
   */
  async function probe(txNs, rxNs, target, cut) {
    const recv = spawn('ip', ['netns', 'exec', rxNs, node, PROBE, 'recv', '9000', '4', '20000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    recv.stdout?.on('data', (d) => (out += d));
    await sleep(300);
    const send = spawn('ip', ['netns', 'exec', txNs, node, PROBE, 'send', target, '9000', '20000', '3'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await sleep(600);
    await cut();
    await exited(send);
    await exited(recv);
    return /** @type {{ outage_ms: number, lost: number }} */ (JSON.parse(out)).outage_ms;
  }

  /** @param {number[]} xs */
  const spread = (xs) => ({ median: median(xs), worst: Math.max(...xs), all: xs });

  // ---- slaves ----------------------------------------------------------------------------
  /**
   * @param {'balance-xor' | '802.3ad'} mode
   * @param {number} n
   */
  async function slavesRow(mode, n) {
    process.stderr.write(`-- scale: ${n} slaves, ${mode}\n`);
    const lacp = mode === '802.3ad';
    execFileSync('bash', [LAB, lacp ? 'pair' : 'direct', P, String(n)]);
    const runDir = join(RUN, `slaves-${mode}-${n}`);
    mkdirSync(runDir, { recursive: true });
    const slaves = Array.from({ length: n }, (_, i) => `s${i}`);
    /** @type {Ovs | undefined} */
    let ovs;
    if (lacp) {
      ovs = new Ovs(CLI);
      ovses.push(ovs);
      ovs.start({});
      ovs.lacpBond(
        slaves.map((_, i) => `q${i}`),
        { time: 'fast' },
      );
      sh(CLI, 'ip addr add 198.18.0.2/24 dev br0 && ip link set br0 up');
    }
    const opts = [`mode=${mode}`, 'miimon=100', 'xmit_hash_policy=layer3+4', ...(lacp ? ['lacp_rate=fast'] : [])];
    const b = spawnBondd(SRV, runDir, slaves.join(','), opts);
    procs.push(b.proc);
    await b.ready(20_000);
    sh(SRV, 'ip addr add 198.18.0.1/24 dev bond0');
    const whole = async () =>
      !lacp ||
      ((await distributing(runDir)) === n && /status: active negotiated/.test(/** @type {Ovs} */ (ovs).appctl('lacp/show', 'bond0')));
    /** @type {Row} */
    const r = { mode, slaves: n, lacp_s: await waitUntil(whole, 20_000) };
    // the host takes the bond's frames on every link (lab.sh direct) and answers by q0: the
    // bond's MAC on q0 is fixed (an ARP answer hashed onto q1 would be learnt on q1), and again
    // after each cut, since a link going down takes its neighbours with it
    const mac = /link\/ether ([0-9a-f:]+)/.exec(sh(SRV, 'ip -o link show bond0'))?.[1];
    const fixNeigh = () => lacp || sh(CLI, `ip neigh replace 198.18.0.1 lladdr ${mac} dev q0 nud permanent`);
    fixNeigh();
    await sleep(500);
    sh(SRV, 'ping -c 3 -i 0.1 -W 1 198.18.0.2 >/dev/null');
    const busy0 = busySeconds();
    const own0 = procSeconds(/** @type {number} */ (b.proc.pid));
    const tx0 = counters(SRV, /^s\d+$/, 'tx_bytes');
    const t0 = performance.now();
    r.gbps = await streamPerSlave(runDir, n);
    const wall = (performance.now() - t0) / 1000;
    r.cpu_s_per_gbit = (busySeconds() - busy0) / (r.gbps * SECS);
    r.bondd_cpu_pct = ((procSeconds(/** @type {number} */ (b.proc.pid)) - own0) / wall) * 100;
    const tx1 = counters(SRV, /^s\d+$/, 'tx_bytes');
    // the share of the bytes sent that the busiest slave carried (1/n is an even spread)
    const per = slaves.map((s) => tx1[s] - tx0[s]);
    r.busiest_share = Math.max(...per) / per.reduce((a, x) => a + x, 0);
    // the carrier loss of the slave that carries the probe (found by its counters)
    const cuts = [];
    for (let c = 0; c < CUTS; c++) {
      cuts.push(
        await probe(SRV, CLI, '198.18.0.2', async () => {
          const a = counters(SRV, /^s\d+$/, 'tx_packets');
          await sleep(300);
          const z = counters(SRV, /^s\d+$/, 'tx_packets');
          const busiest = slaves.reduce((m, s) => (z[s] - a[s] > z[m] - a[m] ? s : m), slaves[0]);
          execFileSync('ip', ['-n', CLI, 'link', 'set', busiest.replace('s', 'q'), 'down']);
        }),
      );
      for (let i = 0; i < n; i++) execFileSync('ip', ['-n', CLI, 'link', 'set', `q${i}`, 'up']);
      fixNeigh();
      await waitUntil(whole, 10_000);
      await sleep(1000);
    }
    r.failover_ms = spread(cuts);
    for (const s of slaves) sh(SRV, `tc qdisc add dev ${s} root tbf rate ${RATE}mbit burst 256kb latency 20ms`);
    r.shaped_gbps = await streamPerSlave(runDir, n);
    r.shaped_per_slave_mbps = (r.shaped_gbps * 1000) / n;
    r.rss_mb = rssMb(/** @type {number} */ (b.proc.pid));
    await stop(b.proc);
    down();
    return r;
  }

  // ---- bonds -----------------------------------------------------------------------------
  /**
   * @param {number} count
   * @param {'kernel' | 'user'} datapath
   */
  async function bondsRow(count, datapath) {
    process.stderr.write(`-- scale: ${count} bonds, ${datapath} path\n`);
    for (const ns of [SRV, CLI]) execFileSync('ip', ['netns', 'add', ns]);
    const dir = join(RUN, `bonds-${count}-${datapath}`);
    const runDir = join(dir, 'run');
    mkdirSync(join(dir, 'netplan'), { recursive: true });
    mkdirSync(runDir, { recursive: true });
    const batch = [];
    const up = [];
    const yaml = ['network:', '  version: 2', '  ethernets:'];
    const bonds = ['  bonds:'];
    for (let k = 0; k < count; k++) {
      for (const i of [0, 1]) {
        batch.push(`link add b${k}s${i} type veth peer name b${k}q${i} netns ${CLI}`, `link set b${k}s${i} up`);
        up.push(`link set b${k}q${i} up`);
        yaml.push(`    b${k}s${i}: {}`);
      }
      bonds.push(
        `    bond${k}:`,
        `      interfaces: [b${k}s0, b${k}s1]`,
        '      parameters: {mode: active-backup, mii-monitor-interval: 100}',
      );
    }
    writeFileSync(join(dir, 'batch-srv'), batch.join('\n') + '\n');
    writeFileSync(join(dir, 'batch-cli'), up.join('\n') + '\n');
    writeFileSync(join(dir, 'netplan', '10-bonds.yaml'), [...yaml, ...bonds].join('\n') + '\n');
    execFileSync('ip', ['-n', SRV, '-batch', join(dir, 'batch-srv')]);
    execFileSync('ip', ['-n', CLI, '-batch', join(dir, 'batch-cli')]);
    const names = Array.from({ length: count }, (_, k) => `bond${k}`);
    const t0 = Date.now();
    const b = spawnBonddWith(SRV, ['--run-dir', runDir, '--netplan-dir', join(dir, 'netplan'), '--datapath', datapath], names);
    procs.push(b.proc);
    await b.ready(300_000);
    /** @type {Row} */
    const r = { bonds: count, datapath, start_s: (Date.now() - t0) / 1000 };
    // idle as a daemon runs for days: past the garbage collections V8 makes while a process
    // settles after its start (they cost as much as the rest of the first 15 s)
    await sleep(15_000);
    const pid = /** @type {number} */ (b.proc.pid);
    const c0 = procSeconds(pid);
    const w0 = performance.now();
    await sleep(20_000);
    r.idle_cpu_pct = ((procSeconds(pid) - c0) / ((performance.now() - w0) / 1000)) * 100;
    r.rss_mb = rssMb(pid);
    r.ready_bonds = (await Promise.all(names.map(async (n) => (await ask(runDir, 'state.dump', n).catch(() => null)) !== null))).filter(
      Boolean,
    ).length;
    await stop(b.proc);
    down();
    return r;
  }

  // ---- MACs behind a bridge --------------------------------------------------------------
  /**
   * RARPs seen by a tcpdump at the client since it started: distinct MACs and the last one's time.
   * @param {string} out tcpdump -tt -e -n lines
   */
  function rarps(out) {
    const macs = new Set();
    let last = 0;
    for (const line of out.split('\n')) {
      const m = /^(\d+\.\d+) ([0-9a-f:]{17}) >/.exec(line);
      if (!m) continue;
      macs.add(m[2]);
      last = Math.max(last, Number(m[1]));
    }
    return { macs: macs.size, last };
  }

  /** @param {number} count */
  async function macsRow(count) {
    process.stderr.write(`-- scale: ${count} MACs behind a bridge on bond0\n`);
    execFileSync('bash', [LAB, 'up', P, '2']);
    execFileSync('ip', ['netns', 'add', GST]);
    const runDir = join(RUN, `macs-${count}`);
    mkdirSync(runDir, { recursive: true });
    const b = spawnBondd(SRV, runDir, 's0,s1', ['mode=active-backup', 'miimon=100']);
    procs.push(b.proc);
    await b.ready(20_000);
    sh(
      SRV,
      [
        'ip link add brh type bridge stp_state 0 forward_delay 0',
        'ip link set bond0 master brh',
        `ip link add g0 type veth peer name eth0 netns ${GST}`,
        'ip link set g0 master brh up',
        'ip addr add 198.18.0.1/24 dev brh',
        'ip link set brh up',
      ].join(' && '),
    );
    sh(GST, 'ip link set lo up && ip link set eth0 up');
    await sleep(800);
    sh(CLI, 'ping -c 3 -i 0.1 -W 1 198.18.0.1 >/dev/null');
    const pid = /** @type {number} */ (b.proc.pid);
    /** @type {Row} */
    const r = { macs: count, failover_to_ms: [], failover_from_ms: [], announced_macs: [], announced_s: [] };
    for (let c = 0; c < 2 * CUTS; c++) {
      const direction = c % 2 === 0 ? 'to' : 'from';
      sh(GST, `timeout 20 python3 ${FRAMES} macs eth0 ${count}`);
      await sleep(300);
      const active = /** @type {any} */ (await ask(runDir, 'state.dump')).bond.active_slave ?? 's0';
      const port = active.replace('s', 'p');
      const dump = spawn(
        'ip',
        ['netns', 'exec', CLI, 'timeout', '10', 'tcpdump', '-i', 'eth0', '-tt', '-e', '-n', '-l', '-Q', 'in', 'ether proto 0x8035'],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let out = '';
      dump.stdout?.on('data', (d) => (out += d));
      await sleep(700);
      let cutAt = 0;
      const [txNs, rxNs, target] = direction === 'to' ? [CLI, SRV, '198.18.0.1'] : [SRV, CLI, '198.18.0.2'];
      const ms = await probe(txNs, rxNs, target, () => {
        cutAt = Date.now() / 1000;
        execFileSync('ip', ['-n', SW, 'link', 'set', port, 'down']);
      });
      await sleep(500);
      dump.kill('SIGINT');
      await exited(dump);
      execFileSync('ip', ['-n', SW, 'link', 'set', port, 'up']);
      r[`failover_${direction}_ms`].push(ms);
      const seen = rarps(out);
      r.announced_macs.push(seen.macs);
      r.announced_s.push(seen.macs ? seen.last - cutAt : null);
      await sleep(1500);
    }
    r.failover_to = spread(r.failover_to_ms);
    r.failover_from = spread(r.failover_from_ms);
    r.announced_s_median = median(r.announced_s.map((/** @type {number | null} */ x) => x ?? Infinity));
    r.learned_announcements = /** @type {any} */ (await ask(runDir, 'state.dump')).bond.learned_mac_announcements ?? null;
    r.rss_mb = rssMb(pid);
    await stop(b.proc);
    down();
    return r;
  }

  // ---- balance-alb clients ---------------------------------------------------------------
  /** @param {number} count */
  async function albRow(count) {
    process.stderr.write(`-- scale: ${count} balance-alb clients\n`);
    execFileSync('bash', [LAB, 'up', P, '2']);
    const runDir = join(RUN, `alb-${count}`);
    mkdirSync(runDir, { recursive: true });
    const b = spawnBondd(SRV, runDir, 's0,s1', ['mode=balance-alb', 'miimon=100']);
    procs.push(b.proc);
    await b.ready(20_000);
    sh(SRV, 'ip addr add 198.18.0.1/15 dev bond0');
    sh(CLI, 'ip addr flush dev eth0 && ip addr add 198.18.0.2/15 dev eth0');
    await sleep(1500); // the slaves' learning frames teach the switch where each slave MAC is
    sh(CLI, 'ping -c 3 -i 0.1 -W 1 198.18.0.1 >/dev/null');
    const pid = /** @type {number} */ (b.proc.pid);
    const slaveMac = Object.fromEntries(
      ['s0', 's1'].map((s) => [/link\/ether ([0-9a-f:]+)/.exec(sh(SRV, `ip -o link show ${s}`))?.[1], s]),
    );
    const rx0 = counters(SRV, /^s\d$/, 'rx_packets');
    const c0 = procSeconds(pid);
    const frames = 50;
    // 120 clients a second at most: the host's neighbour table (gc_thresh3 = 1024, one for all
    // namespaces) frees an entry only once it is 5 s old
    const res = JSON.parse(sh(CLI, `timeout 60 python3 ${FRAMES} alb eth0 ${count} 198.18.0.1 ${frames} 120`, 90_000));
    await sleep(500);
    const cpu = procSeconds(pid) - c0;
    const rx1 = counters(SRV, /^s\d$/, 'rx_packets');
    /** @type {Row} */
    const r = { clients: count, answered: res.answered, learn_s: res.learn_s };
    r.taught = Object.fromEntries(Object.entries(res.taught).map(([mac, n]) => [slaveMac[mac] ?? mac, n]));
    r.rx = { s0: rx1.s0 - rx0.s0, s1: rx1.s1 - rx0.s1 };
    r.rx_share_s0 = r.rx.s0 / (r.rx.s0 + r.rx.s1);
    r.bondd_cpu_s = cpu;
    r.bondd_cpu_us_per_client = (cpu / count) * 1e6;
    const state = /** @type {any} */ (await ask(runDir, 'state.dump'));
    r.datapath = state.bond.datapath?.path ?? null;
    const w0 = performance.now();
    const i0 = procSeconds(pid);
    await sleep(5000);
    r.idle_cpu_pct = ((procSeconds(pid) - i0) / ((performance.now() - w0) / 1000)) * 100;
    r.rss_mb = rssMb(pid);
    await stop(b.proc);
    down();
    return r;
  }

  /**
   * Markdown tables of a run, each row beside the section's first (smallest) row.
   * @param {Row} out
   */
  function format(out) {
    const f = (/** @type {number} */ x, d = 2) => (x === null || x === undefined ? '-' : x.toFixed(d));
    let text = '';
    if (out.slaves) {
      const rows = [
        [
          'mode, slaves',
          'TCP Gb/s',
          'x 2',
          'CPU s/Gbit',
          'x 2',
          'bondd CPU %',
          'busiest share',
          `shaped ${RATE} Mb/s: per slave`,
          'x 2',
          'failover ms (median / worst)',
        ],
      ];
      for (const r of out.slaves) {
        const base = out.slaves.find((/** @type {Row} */ x) => x.mode === r.mode && x.slaves === 2);
        rows.push([
          `${r.mode}, ${r.slaves}`,
          f(r.gbps),
          f(r.gbps / base.gbps),
          f(r.cpu_s_per_gbit, 3),
          f(r.cpu_s_per_gbit / base.cpu_s_per_gbit),
          f(r.bondd_cpu_pct, 1),
          f(r.busiest_share),
          f(r.shaped_per_slave_mbps, 0),
          f(r.shaped_per_slave_mbps / base.shaped_per_slave_mbps),
          `${f(r.failover_ms.median)} / ${f(r.failover_ms.worst)}`,
        ]);
      }
      text += markdownTable(rows);
    }
    if (out.bonds) {
      const rows = [['bonds, datapath', 'start to all ready s', 'RSS MB', 'RSS - 1 bond, per bond MB', 'idle CPU %']];
      for (const r of out.bonds) {
        const base = out.bonds.find((/** @type {Row} */ x) => x.datapath === r.datapath && x.bonds === 1);
        rows.push([
          `${r.bonds}, ${r.datapath}`,
          f(r.start_s),
          f(r.rss_mb, 0),
          r.bonds > 1 ? f((r.rss_mb - base.rss_mb) / (r.bonds - 1)) : '-',
          f(r.idle_cpu_pct),
        ]);
      }
      text += '\n' + markdownTable(rows);
    }
    if (out.macs) {
      const rows = [
        [
          'MACs behind bond0',
          'failover to bond ms (median / worst)',
          'from bond ms',
          'RARPs seen (per cut)',
          'last RARP after the cut s (median)',
        ],
      ];
      for (const r of out.macs)
        rows.push([
          String(r.macs),
          `${f(r.failover_to.median)} / ${f(r.failover_to.worst)}`,
          `${f(r.failover_from.median)} / ${f(r.failover_from.worst)}`,
          r.announced_macs.join(' '),
          f(r.announced_s_median, 3),
        ]);
      text += '\n' + markdownTable(rows);
    }
    if (out.alb) {
      const rows = [
        [
          'balance-alb clients',
          'answered',
          'taught s0 / s1',
          'frames received s0 share',
          'bondd CPU us per client',
          'idle CPU %',
          'RSS MB',
        ],
      ];
      for (const r of out.alb)
        rows.push([
          String(r.clients),
          String(r.answered),
          `${r.taught.s0 ?? 0} / ${r.taught.s1 ?? 0}`,
          f(r.rx_share_s0),
          f(r.bondd_cpu_us_per_client, 0),
          f(r.idle_cpu_pct),
          f(r.rss_mb, 0),
        ]);
      text += '\n' + markdownTable(rows);
    }
    return text;
  }

  async function run() {
    const parts = (process.env.BENCH_SCALE ?? 'slaves,bonds,macs,alb').split(',');
    /** @type {Row} */
    const out = {};
    try {
      if (parts.includes('slaves')) {
        out.slaves = [];
        for (const mode of /** @type {const} */ (['balance-xor', '802.3ad']))
          for (const n of [2, 4, 8]) out.slaves.push(await slavesRow(mode, n));
      }
      if (parts.includes('bonds')) {
        out.bonds = [];
        for (const dp of /** @type {const} */ (['kernel', 'user'])) for (const n of [1, 16, 64]) out.bonds.push(await bondsRow(n, dp));
      }
      if (parts.includes('macs')) {
        out.macs = [];
        for (const n of [1, 256, 4096]) out.macs.push(await macsRow(n));
      }
      if (parts.includes('alb')) {
        out.alb = [];
        for (const n of [16, 256, 1024]) out.alb.push(await albRow(n));
      }
    } finally {
      down();
    }
    return out;
  }

  return {
    run,
    format,
    cleanup() {
      down();
      rmSync(RUN, { recursive: true, force: true });
    },
    rate: RATE,
  };
}
