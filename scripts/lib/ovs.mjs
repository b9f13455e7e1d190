// Open vSwitch's userspace datapath as an independent LACP partner, for the tests and the
// scripts alike: ovsdb-server and ovs-vswitchd started by hand with a private run directory,
// ovs-vswitchd inside the partner namespace, a netdev bridge with an LACP bond over the given
// ports. stop() ends both daemons and removes the directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether Open vSwitch (Debian's openvswitch-switch) is installed. */
export function haveOvs() {
  return (
    existsSync('/usr/sbin/ovs-vswitchd') && existsSync('/usr/sbin/ovsdb-server') && existsSync('/usr/share/openvswitch/vswitch.ovsschema')
  );
}

/**
 * @typedef {{ negotiated: boolean, members: Record<string, { status: string, partnerState: string }> }} LacpShow
 */

export class Ovs {
  /** @param {string} ns the namespace ovs-vswitchd runs in (where the bond's ports are) */
  constructor(ns) {
    this.ns = ns;
    this.dir = mkdtempSync(join(tmpdir(), 'tapbond-ovs-'));
    /** @type {NodeJS.ProcessEnv} */
    this.env = { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir, OVS_SYSCONFDIR: this.dir };
  }

  /**
   * @param {string} cmd
   * @param {string[]} args
   * @param {string} [ns]
   * @returns {string}
   */
  run(cmd, args, ns) {
    const [file, argv] = ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, args];
    return execFileSync(file, argv, { env: this.env, encoding: 'utf8', timeout: 20_000 });
  }

  /** @param {{ cpu?: number }} [o] `cpu`: ovs-vswitchd pinned to it (taskset) */
  start(o = {}) {
    const d = this.dir;
    this.run('ovsdb-tool', ['create', `${d}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema']);
    this.run('ovsdb-server', [
      `${d}/conf.db`,
      `--remote=punix:${d}/db.sock`,
      `--pidfile=${d}/ovsdb-server.pid`,
      `--unixctl=${d}/ovsdb-server.ctl`,
      '--detach',
      '-vconsole:off',
      `--log-file=${d}/ovsdb-server.log`,
    ]);
    this.vsctl('--no-wait', 'init');
    // vnet headers on OVS's netdevs: partial checksums and GSO frames are handled
    this.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true');
    const pin = o.cpu === undefined ? [] : ['taskset', '-c', String(o.cpu)];
    this.run(
      pin.length ? 'taskset' : 'ovs-vswitchd',
      [
        ...pin.slice(1),
        ...(pin.length ? ['ovs-vswitchd'] : []),
        `unix:${d}/db.sock`,
        `--pidfile=${d}/ovs-vswitchd.pid`,
        `--unixctl=${d}/ovs-vswitchd.ctl`,
        '--detach',
        '-vconsole:off',
        `--log-file=${d}/ovs-vswitchd.log`,
      ],
      this.ns,
    );
  }

  /** @param {string[]} args */
  vsctl(...args) {
    return this.run('ovs-vsctl', [`--db=unix:${this.dir}/db.sock`, '--timeout=10', ...args]);
  }

  /** @param {string[]} args */
  appctl(...args) {
    return this.run('ovs-appctl', ['-t', `${this.dir}/ovs-vswitchd.ctl`, ...args]);
  }

  /**
   * An LACP bond named bond0 on a netdev bridge br0 over `ports`.
   * @param {string[]} ports
   * @param {{ time: 'fast' | 'slow', mode?: string }} opts
   */
  lacpBond(ports, opts) {
    this.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev');
    this.vsctl(
      'add-bond',
      'br0',
      'bond0',
      ...ports,
      'lacp=active',
      `bond_mode=${opts.mode ?? 'balance-tcp'}`,
      `other_config:lacp-time=${opts.time}`,
    );
  }

  /**
   * `ovs-appctl lacp/show bond0` as member -> { status line, partner state words }.
   * @returns {LacpShow}
   */
  lacpShow() {
    const out = this.appctl('lacp/show', 'bond0');
    /** @type {LacpShow['members']} */
    const members = {};
    for (const block of out.split(/\n(?=member: )/).slice(1)) {
      const m = /^member: (\S+): (.*)$/m.exec(block);
      if (m) members[m[1]] = { status: m[2], partnerState: /partner state: (.*)$/m.exec(block)?.[1] ?? '' };
    }
    return { negotiated: /status: active negotiated/.test(out), members };
  }

  stop() {
    for (const p of ['ovs-vswitchd', 'ovsdb-server']) {
      const f = join(this.dir, `${p}.pid`);
      if (existsSync(f)) spawnSync('kill', [readFileSync(f, 'utf8').trim()]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
