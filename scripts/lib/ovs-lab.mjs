// A bondd <-> Open vSwitch LACP lab for the soak scripts: two back-to-back links (lab.sh pair),
// bondd's side in PREFIX-srv, Open vSwitch's userspace datapath with an LACP bond in PREFIX-cli
// (198.18.0.2 on its br0). Private run directories; cleanup() removes every process, namespace
// and file it made, also after a failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bonddArgv } from './proc.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Gbit/s received in an `iperf3 -J` report; null when iperf3 was cut short. */
export function iperfGbps(json) {
  try {
    return JSON.parse(json).end.sum_received.bits_per_second / 1e9;
  } catch {
    return null;
  }
}

export function ovsLab(prefix) {
  const P = prefix;
  const SRV = `${P}-srv`;
  const CLI = `${P}-cli`;
  const RUN = mkdtempSync(join(tmpdir(), 'tapbond-soak-'));
  const OVS = mkdtempSync(join(tmpdir(), 'tapbond-soak-ovs-'));
  const env = { ...process.env, OVS_RUNDIR: OVS, OVS_LOGDIR: OVS, OVS_DBDIR: OVS, OVS_SYSCONFDIR: OVS };
  const procs = [];
  const sh = (ns, cmd) => execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8', timeout: 30_000, env });
  const vsctl = (...a) => execFileSync('ovs-vsctl', [`--db=unix:${OVS}/db.sock`, '--timeout=10', ...a], { encoding: 'utf8', env });
  const appctl = (...a) => execFileSync('ovs-appctl', ['-t', `${OVS}/ovs-vswitchd.ctl`, ...a], { encoding: 'utf8', env });

  /** A child process in namespace `ns`, killed by cleanup(). */
  const run = (ns, argv, opts = {}) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    procs.push(c);
    return c;
  };

  function up() {
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
  }

  /**
   * bondd in 802.3ad (lacp_rate=fast, layer3+4) on s0,s1, with `extra` options and `nodeFlags`
   * for node itself; resolves once both ports distribute.
   */
  async function startBondd(extra = [], nodeFlags = []) {
    let log = '';
    const bondd = run(SRV, bonddArgv(RUN, 's0,s1', ['mode=802.3ad', 'lacp_rate=fast', 'xmit_hash_policy=layer3+4', ...extra], nodeFlags));
    bondd.stderr.on('data', (d) => (log += d));
    const started = Date.now();
    for (let i = 0; i < 100 && !/distributing on s0, s1/.test(log); i++) await sleep(100);
    const negotiatedAfter = (Date.now() - started) / 1000;
    sh(SRV, 'ip addr add 198.18.0.1/24 dev bond0');
    return { bondd, negotiatedAfter, log: () => log };
  }

  const bondctl = (...a) => sh(SRV, `${process.execPath} ${join(ROOT, 'dist/cli/bondctl.js')} --run-dir ${RUN} ${a.join(' ')}`);

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

  return { SRV, CLI, RUN, sh, vsctl, appctl, run, up, startBondd, bondctl, cleanup };
}
