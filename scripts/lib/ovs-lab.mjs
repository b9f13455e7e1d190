// A bondd <-> Open vSwitch LACP lab for the soak scripts: two back-to-back links (lab.sh pair),
// bondd's side in PREFIX-srv, Open vSwitch's userspace datapath with an LACP bond in PREFIX-cli
// (198.18.0.2 on its br0). Private run directories; cleanup() removes every process, namespace
// and file it made, also after a failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ovs } from './ovs.mjs';
import { spawnBondd } from './proc.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Gbit/s received in an `iperf3 -J` report; null when iperf3 was cut short.
 * @param {string} json
 * @returns {number | null}
 */
export function iperfGbps(json) {
  try {
    return JSON.parse(json).end.sum_received.bits_per_second / 1e9;
  } catch {
    return null;
  }
}

/** @param {string} prefix the namespaces' prefix */
export function ovsLab(prefix) {
  const P = prefix;
  const SRV = `${P}-srv`;
  const CLI = `${P}-cli`;
  const RUN = mkdtempSync(join(tmpdir(), 'tapbond-soak-'));
  const ovs = new Ovs(CLI);
  /** @type {import('node:child_process').ChildProcess[]} */
  const procs = [];
  /** @type {(ns: string, cmd: string) => string} */
  const sh = (ns, cmd) => execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8', timeout: 30_000 });

  /**
   * A child process in namespace `ns`, killed by cleanup().
   * @param {string} ns
   * @param {string[]} argv
   * @param {import('node:child_process').SpawnOptions} [opts]
   */
  const run = (ns, argv, opts = {}) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    procs.push(c);
    return c;
  };

  function up() {
    execFileSync('bash', [join(ROOT, 'scripts/netns/lab.sh'), 'pair', P, '2']);
    ovs.start();
    ovs.lacpBond(['q0', 'q1'], { time: 'fast' });
    sh(CLI, 'ip addr add 198.18.0.2/24 dev br0 && ip link set br0 up');
  }

  /**
   * bondd in 802.3ad (lacp_rate=fast, layer3+4) on s0,s1, with `extra` options and `nodeFlags`
   * for node itself; resolves once both ports distribute.
   * @param {string[]} [extra]
   * @param {string[]} [nodeFlags]
   */
  async function startBondd(extra = [], nodeFlags = []) {
    const b = spawnBondd(SRV, RUN, 's0,s1', ['mode=802.3ad', 'lacp_rate=fast', 'xmit_hash_policy=layer3+4', ...extra], nodeFlags);
    procs.push(b.proc);
    const started = Date.now();
    for (let i = 0; i < 100 && !/distributing on s0, s1/.test(b.log()); i++) await sleep(100);
    const negotiatedAfter = (Date.now() - started) / 1000;
    sh(SRV, 'ip addr add 198.18.0.1/24 dev bond0');
    return { bondd: b.proc, negotiatedAfter, log: b.log };
  }

  /** @param {string[]} a */
  const bondctl = (...a) => sh(SRV, `${process.execPath} ${join(ROOT, 'dist/cli/bondctl.js')} --run-dir ${RUN} ${a.join(' ')}`);

  function cleanup() {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    ovs.stop();
    spawnSync('bash', [join(ROOT, 'scripts/netns/lab.sh'), 'down', P]);
    rmSync(RUN, { recursive: true, force: true });
  }

  /** @param {string[]} a */
  const vsctl = (...a) => ovs.vsctl(...a);
  /** @param {string[]} a */
  const appctl = (...a) => ovs.appctl(...a);
  return { SRV, CLI, RUN, sh, vsctl, appctl, run, up, startBondd, bondctl, cleanup };
}
