#!/usr/bin/env node
// LACPDU timing under load: bondd (lacp_rate=fast) against Open vSwitch in namespaces, iperf3
// saturating the bond for SOAK_SECONDS (default 300). tcpdump on the partner's ports records
// every LACPDU bondd sends; the largest gap per port must stay under 1.5 s (the partner's short
// timeout is 3 s), and Open vSwitch's own view of each member (lacp/show, polled every second)
// must never leave "current". Prints JSON; exit 1 when a bound is broken. Bounded in time; the
// lab is removed also on failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECS = Number(process.env.SOAK_SECONDS ?? 300);
const P = `soak${process.pid % 100000}`;
const [SRV, CLI] = [`${P}-srv`, `${P}-cli`];
const RUN = mkdtempSync(join(tmpdir(), 'tapbond-soak-'));
const OVS = mkdtempSync(join(tmpdir(), 'tapbond-soak-ovs-'));
const env = { ...process.env, OVS_RUNDIR: OVS, OVS_LOGDIR: OVS, OVS_DBDIR: OVS, OVS_SYSCONFDIR: OVS };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sh = (ns, cmd) => execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8', timeout: 30_000, env });
const vsctl = (...a) => execFileSync('ovs-vsctl', [`--db=unix:${OVS}/db.sock`, '--timeout=10', ...a], { encoding: 'utf8', env });
const appctl = (...a) => execFileSync('ovs-appctl', ['-t', `${OVS}/ovs-vswitchd.ctl`, ...a], { encoding: 'utf8', env });
const procs = [];

function cleanup() {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const f of ['ovs-vswitchd', 'ovsdb-server']) {
    const pid = join(OVS, `${f}.pid`);
    if (existsSync(pid)) spawnSync('kill', [readFileSync(pid, 'utf8').trim()]);
  }
  spawnSync('bash', [join(ROOT, 'scripts/netns/lab.sh'), 'down', P]);
  rmSync(RUN, { recursive: true, force: true });
  rmSync(OVS, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

async function main() {
  execFileSync('bash', [join(ROOT, 'scripts/netns/lab.sh'), 'pair', P, '2']);
  execFileSync('ovsdb-tool', ['create', `${OVS}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema'], { env });
  execFileSync(
    'ovsdb-server',
    [
      `${OVS}/conf.db`,
      `--remote=punix:${OVS}/db.sock`,
      `--pidfile=${OVS}/ovsdb-server.pid`,
      `--unixctl=${OVS}/ovsdb-server.ctl`,
      '--detach',
      `--log-file=${OVS}/ovsdb-server.log`,
    ],
    { env },
  );
  vsctl('--no-wait', 'init');
  // vnet headers on OVS's netdevs, so partial checksums and GSO frames from bondd are handled
  vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true');
  execFileSync(
    'ip',
    [
      'netns',
      'exec',
      CLI,
      'ovs-vswitchd',
      `unix:${OVS}/db.sock`,
      `--pidfile=${OVS}/ovs-vswitchd.pid`,
      `--unixctl=${OVS}/ovs-vswitchd.ctl`,
      '--detach',
      `--log-file=${OVS}/ovs-vswitchd.log`,
    ],
    { env },
  );
  vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev');
  vsctl('add-bond', 'br0', 'bond0', 'q0', 'q1', 'lacp=active', 'bond_mode=balance-tcp', 'other_config:lacp-time=fast');
  sh(CLI, 'ip addr add 198.18.0.2/24 dev br0 && ip link set br0 up');
  // tcpdump on the partner side: our LACPDUs as they arrive
  const caps = ['q0', 'q1'].map((q) => {
    const c = spawn(
      'ip',
      ['netns', 'exec', CLI, 'timeout', String(SECS + 20), 'tcpdump', '-i', q, '-nn', '-l', '-tt', '-Q', 'in', 'ether proto 0x8809'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    procs.push(c);
    const times = [];
    c.stdout.on('data', (d) => {
      for (const l of String(d).split('\n')) {
        const t = parseFloat(l);
        if (t) times.push(t);
      }
    });
    return times;
  });
  await sleep(500);
  let log = '';
  const bondd = spawn(
    'ip',
    [
      'netns',
      'exec',
      SRV,
      process.execPath,
      join(ROOT, 'dist/cli/bondd.js'),
      '--log-format',
      'pretty',
      '--run-dir',
      RUN,
      '--name',
      'bond0',
      '--slaves',
      's0,s1',
      'mode=802.3ad',
      'lacp_rate=fast',
      'xmit_hash_policy=layer3+4',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  procs.push(bondd);
  bondd.stderr.on('data', (d) => (log += d));
  const started = Date.now();
  for (let i = 0; i < 100 && !/distributing on s0, s1/.test(log); i++) await sleep(100);
  const negotiatedAfter = (Date.now() - started) / 1000;
  sh(SRV, 'ip addr add 198.18.0.1/24 dev bond0');
  await sleep(500);
  sh(CLI, `timeout ${SECS + 30} iperf3 -s -1 -D -p 5201`);
  await sleep(300);
  const iperf = spawn(
    'ip',
    ['netns', 'exec', SRV, 'timeout', String(SECS + 15), 'iperf3', '-c', '198.18.0.2', '-p', '5201', '-t', String(SECS), '-P', '4', '-J'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  procs.push(iperf);
  let iperfOut = '';
  iperf.stdout.on('data', (d) => (iperfOut += d));
  const notCurrent = [];
  const loadStart = Date.now() / 1000;
  while (iperf.exitCode === null) {
    const show = appctl('lacp/show', 'bond0');
    for (const m of show.matchAll(/^member: (\S+): (.*)$/gm)) if (m[2] !== 'current attached') notCurrent.push(`${m[1]}: ${m[2]}`);
    await sleep(1000);
  }
  const loadEnd = Date.now() / 1000;
  const gaps = caps.map((times) => {
    const during = times.filter((t) => t >= loadStart && t <= loadEnd);
    let max = 0;
    for (let i = 1; i < during.length; i++) max = Math.max(max, during[i] - during[i - 1]);
    return { pdus: during.length, max_gap_s: Number(max.toFixed(3)) };
  });
  let gbps = null;
  try {
    gbps = JSON.parse(iperfOut).end.sum_received.bits_per_second / 1e9;
  } catch {
    /* iperf3 cut short */
  }
  const state = JSON.parse(sh(SRV, `${process.execPath} ${join(ROOT, 'dist/cli/bondctl.js')} --run-dir ${RUN} state bond0 --json`));
  const result = {
    seconds: SECS,
    negotiated_after_s: negotiatedAfter,
    iperf3_gbps: gbps && Number(gbps.toFixed(2)),
    lacpdu: { s0: gaps[0], s1: gaps[1] },
    ovs_member_not_current: notCurrent,
    bondd_partner_expired: state.ports.map((p) => p.lacp.stats.expired),
    ok: gaps.every((g) => g.pdus > 0 && g.max_gap_s < 1.5) && notCurrent.length === 0,
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  if (!result.ok) process.exitCode = 1;
}

main()
  .catch((e) => {
    process.stderr.write(`soak failed: ${e.stack ?? e.message}\n`);
    process.exitCode = 2;
  })
  .finally(cleanup);
