// Open vSwitch's userspace datapath as an independent LACP partner: ovsdb-server and
// ovs-vswitchd started by hand with a private run directory, ovs-vswitchd inside the partner
// namespace, a netdev bridge with an LACP bond over the given ports. Always stopped.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function haveOvs(): boolean {
  return (
    existsSync('/usr/sbin/ovs-vswitchd') && existsSync('/usr/sbin/ovsdb-server') && existsSync('/usr/share/openvswitch/vswitch.ovsschema')
  );
}

export class Ovs {
  readonly dir = mkdtempSync(join(tmpdir(), 'tapbond-ovs-'));
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly ns: string) {
    this.env = { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir, OVS_SYSCONFDIR: this.dir };
  }

  private run(cmd: string, args: string[], ns?: string): string {
    const full = ns ? (['ip', ['netns', 'exec', ns, cmd, ...args]] as const) : ([cmd, args] as const);
    return execFileSync(full[0], full[1] as string[], { env: this.env, encoding: 'utf8', timeout: 20_000 });
  }

  start(): void {
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
    this.run(
      'ovs-vswitchd',
      [
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

  vsctl(...args: string[]): string {
    return this.run('ovs-vsctl', [`--db=unix:${this.dir}/db.sock`, '--timeout=10', ...args]);
  }

  appctl(...args: string[]): string {
    return this.run('ovs-appctl', ['-t', `${this.dir}/ovs-vswitchd.ctl`, ...args]);
  }

  /** An LACP bond named bond0 on a netdev bridge br0 over `ports`. */
  lacpBond(ports: string[], opts: { time: 'fast' | 'slow'; mode?: string }): void {
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

  /** `ovs-appctl lacp/show bond0` as member -> { status line, actor/partner state words }. */
  lacpShow(): { negotiated: boolean; members: Record<string, { status: string; partnerState: string }> } {
    const out = this.appctl('lacp/show', 'bond0');
    const members: Record<string, { status: string; partnerState: string }> = {};
    for (const block of out.split(/\n(?=member: )/).slice(1)) {
      const m = /^member: (\S+): (.*)$/m.exec(block)!;
      members[m[1]] = { status: m[2], partnerState: /partner state: (.*)$/m.exec(block)?.[1] ?? '' };
    }
    return { negotiated: /status: active negotiated/.test(out), members };
  }

  stop(): void {
    for (const p of ['ovs-vswitchd', 'ovsdb-server']) {
      const f = join(this.dir, `${p}.pid`);
      if (existsSync(f)) spawnSync('kill', [readFileSync(f, 'utf8').trim()]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
