// Integration-test lab: one namespace topology per test file (scripts/netns/lab.sh), bondd in
// the server namespace, observers on the switch side. Always torn down, also on failure.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited } from '../../scripts/lib/proc.mjs';

/** Waits for a child's exit, also when it is already gone (shared with the scripts). */
export { exited };

export const ROOT = join(import.meta.dirname, '..', '..');
const LAB = join(ROOT, 'scripts', 'netns', 'lab.sh');
const BONDD = join(ROOT, 'dist', 'cli', 'bondd.js');
const BONDCTL = join(ROOT, 'dist', 'cli', 'bondctl.js');

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Why integration tests cannot run here, or '' when they can. */
export function skipReason(): string {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces): run as root, or in Docker with NET_ADMIN';
  if (!existsSync(join(ROOT, 'build', 'Release', 'tapbond.node'))) return 'native addon not built: run `npm run build`';
  if (!existsSync(BONDD)) return 'dist/ not built: run `npm run build`';
  for (const c of ['ip', 'tc', 'ping']) if (!have(c)) return `needs ${c}`;
  return '';
}

/**
 * Whether a suite that cannot run for `reason` ('' = it can) is skipped. With
 * TAPBOND_REQUIRE_INTEGRATION=1 (as .ci/run sets it, on the host and in Docker) a skip fails the
 * file instead, so a run that lost its privileges or a tool never passes green; only a suite
 * whose `id` TAPBOND_MAY_SKIP names (comma-separated) may skip there, saying why.
 */
export function mustSkip(reason: string, id?: string): boolean {
  if (!reason) return false;
  const may = (process.env.TAPBOND_MAY_SKIP ?? '').split(',').map((s) => s.trim());
  if (process.env.TAPBOND_REQUIRE_INTEGRATION === '1' && !(id && may.includes(id))) {
    throw new Error(`TAPBOND_REQUIRE_INTEGRATION=1, but this integration suite cannot run: ${reason}`);
  }
  console.warn(`integration tests skipped: ${reason}`);
  return true;
}

export interface Bondd {
  proc: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

export class Lab {
  readonly prefix: string;
  readonly srv: string;
  readonly sw: string;
  readonly cli: string;
  readonly runDir: string;
  private bondd: Bondd | undefined;
  private extra: Bondd[] = [];

  /**
   * A bpffs of this lab's own (mounted in the test's mount namespace, so every `ip netns exec`
   * sees it), where bondd pins its fast path: what outlives a bondd here goes with the lab.
   */
  readonly bpffs: string;

  constructor(tag: string) {
    this.prefix = `tb${tag}${process.pid % 100000}`;
    this.srv = `${this.prefix}-srv`;
    this.sw = `${this.prefix}-sw`;
    this.cli = `${this.prefix}-cli`;
    this.runDir = mkdtempSync(join(tmpdir(), 'tapbond-run-'));
    this.bpffs = join(this.runDir, 'bpffs');
  }

  private mountBpffs(): void {
    mkdirSync(this.bpffs, { recursive: true });
    // where it cannot be mounted (a container without the right), bondd says so and pins nothing
    spawnSync('mount', ['-t', 'bpf', 'bpf', this.bpffs], { stdio: 'ignore' });
  }

  up(slaves: number): void {
    this.mountBpffs();
    execFileSync('bash', [LAB, 'up', this.prefix, String(slaves)], { stdio: 'pipe' });
  }

  /** Back-to-back links s0.. (srv) <-> q0.. (cli), for a bond on each side. */
  pair(links: number): void {
    this.mountBpffs();
    execFileSync('bash', [LAB, 'pair', this.prefix, String(links)], { stdio: 'pipe' });
  }

  /** The server namespace alone (the kernel-oracle guest brings its own links). */
  alone(): void {
    this.mountBpffs();
    execFileSync('bash', [LAB, 'alone', this.prefix], { stdio: 'pipe' });
  }

  down(): void {
    this.bondd?.proc.kill('SIGKILL');
    for (const b of this.extra) b.proc.kill('SIGKILL');
    execFileSync('bash', [LAB, 'down', this.prefix], { stdio: 'pipe' });
    // the pins go with the bpffs
    spawnSync('umount', ['-l', this.bpffs], { stdio: 'ignore' });
    rmSync(this.runDir, { recursive: true, force: true });
  }

  /** Runs a shell command in a namespace; returns stdout. */
  sh(ns: string, cmd: string, opts: { allowFail?: boolean; timeoutMs?: number } = {}): string {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
    if (r.status !== 0 && !opts.allowFail) throw new Error(`${ns}: ${cmd}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    return r.stdout + (opts.allowFail ? r.stderr : '');
  }

  /** Runs a bounded shell command in a namespace in the background; resolves with its stdout. */
  shAsync(ns: string, cmd: string, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', ns, 'timeout', '-s', 'KILL', String(Math.ceil(timeoutMs / 1000)), 'sh', '-c', cmd], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => resolve(out));
    });
  }

  /**
   * Starts bondd in the server namespace (or `ns`) and waits until its control socket answers.
   * `prefix` runs before node (e.g. setpriv, to start it with fewer capabilities).
   */
  async startBondd(args: string[], bond = 'bond0', ns?: string, env: Record<string, string> = {}, prefix: string[] = []): Promise<Bondd> {
    let out = '';
    const runDir = ns ? `${this.runDir}/${ns}` : this.runDir;
    const format = args.includes('--log-format') ? [] : ['--log-format', 'pretty'];
    if (!('TAPBOND_BPFFS' in env) && !args.includes('--bpffs')) env = { ...env, TAPBOND_BPFFS: this.bpffs };
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const proc = spawn(
      'ip',
      ['netns', 'exec', ns ?? this.srv, 'env', ...envArgs, ...prefix, process.execPath, BONDD, '--run-dir', runDir, ...format, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const b: Bondd = { proc, log: () => out, exited: exited(proc) };
    if (ns) this.extra.push(b);
    else this.bondd = b;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (out.includes(`${bond}: ready`) || out.includes(`"bond":"${bond}","event":"ready"`)) return b;
      if (proc.exitCode !== null) throw new Error(`bondd exited ${proc.exitCode}:\n${out}`);
      await sleep(50);
    }
    throw new Error(`bondd did not become ready:\n${out}`);
  }

  /** The running bondd's log so far (for an assertion's message). */
  bonddLog(): string {
    return this.bondd?.log() ?? '';
  }

  /**
   * Ends the server namespace's bondd. With a signal, only the process goes (SIGTERM leaves its
   * bonds running for the next bondd, as SIGKILL does); without one, every bond it runs is
   * taken down (`bondctl delete`: slaves restored, TAP and pins removed) and it exits by itself.
   */
  async stopBondd(signal?: NodeJS.Signals): Promise<number | null> {
    const b = this.bondd;
    if (!b) return null;
    if (signal) b.proc.kill(signal);
    else await this.deleteBonds(b);
    const code = await b.exited;
    this.bondd = undefined;
    return code;
  }

  private async deleteBonds(b: Bondd, ns?: string): Promise<void> {
    const dir = ns ? `${this.runDir}/${ns}` : this.runDir;
    const socks = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sock')) : [];
    for (const f of socks) this.bondctl(['delete', f.slice(0, -'.sock'.length)], true, ns);
    // a bondd with nothing (left) to delete is ended the old way
    const code = await Promise.race([b.exited, sleep(10_000).then(() => 'running')]);
    if (code === 'running') b.proc.kill('SIGKILL');
  }

  async stopAll(): Promise<void> {
    for (const b of this.extra.splice(0)) {
      b.proc.kill('SIGTERM');
      await b.exited;
    }
    await this.stopBondd();
  }

  bondctl(args: string[], allowFail = false, ns?: string): { code: number | null; out: string } {
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns ?? this.srv, process.execPath, BONDCTL, '--run-dir', ns ? `${this.runDir}/${ns}` : this.runDir, ...args],
      { encoding: 'utf8', timeout: 10_000 },
    );
    if (r.status !== 0 && !allowFail) throw new Error(`bondctl ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    return { code: r.status, out: r.stdout + r.stderr };
  }

  /** What is pinned in this lab's bpffs: the bonds' folders, in every namespace. */
  pins(): string[] {
    const dir = join(this.bpffs, 'tapbond');
    return existsSync(dir) ? readdirSync(dir).flatMap((ns) => readdirSync(join(dir, ns)).map((b) => `${ns}/${b}`)) : [];
  }

  /** The JSON tree as `bondctl state --json` prints it; tests read the per-mode sections freely. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  state(bond = 'bond0', ns?: string): any {
    return JSON.parse(this.bondctl(['state', bond, '--json'], false, ns).out);
  }

  /** Interface statistics as the kernel counts them (an observer independent of bondd). */
  stats(ns: string, ifname: string): { rx_packets: number; tx_packets: number; rx_bytes: number; tx_bytes: number } {
    const j = JSON.parse(this.sh(ns, `ip -s -j link show ${ifname}`))[0];
    const s = j.stats64 ?? j.stats;
    return { rx_packets: s.rx.packets, tx_packets: s.tx.packets, rx_bytes: s.rx.bytes, tx_bytes: s.tx.bytes };
  }

  link(ns: string, ifname: string): { address: string; mtu: number; flags: string[]; operstate: string } {
    return JSON.parse(this.sh(ns, `ip -j link show ${ifname}`))[0];
  }

  /** eBPF programs attached with TCX (ingress, egress) to each interface, by BPF_PROG_QUERY. */
  tcx(ns: string, ifnames: string[]): Record<string, [number, number]> {
    const out = this.sh(ns, `${process.execPath} ${join(ROOT, 'scripts', 'lib', 'tcx-programs.mjs')} ${ifnames.join(' ')}`);
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([n, i, e]) => [n, [Number(i), Number(e)]]),
    );
  }

  /** Everything bondd may change on a slave, as the kernel reports it (ip, /proc, tc, TCX). */
  slave(s: string, ns = this.srv) {
    const l = this.link(ns, s);
    return {
      address: l.address,
      mtu: l.mtu,
      up: l.flags.includes('UP'),
      ipv6: this.sh(ns, `cat /proc/sys/net/ipv6/conf/${s}/disable_ipv6`).trim(),
      qdiscs: this.sh(ns, `tc qdisc show dev ${s} ingress`).trim(),
      filters: this.sh(ns, `tc filter show dev ${s} ingress`).trim(),
      tcx: this.tcx(ns, [s])[s],
    };
  }

  /** Adds the bond's addresses (kept when an adopted bond has them) and waits for carrier. */
  async addressBond(bond = 'bond0'): Promise<void> {
    this.sh(this.cli, 'ip neigh flush all'); // no stale entry from an earlier bond in this lab
    this.sh(this.srv, `ip addr replace 198.18.0.1/24 dev ${bond} && ip addr replace 2001:db8::1/64 dev ${bond} nodad`);
    await waitFor(() => this.link(this.srv, bond).operstate === 'UP', 5000, `${bond} carrier`);
  }
}

/** The records of a JSON log (bondd --log-format json) at error level or above. */
export function logErrors(log: string): { level: number; msg: string; slave?: string; event?: string }[] {
  return jsonRecords(log).filter((r) => r.level >= 50);
}

export function jsonRecords(log: string): { level: number; msg: string; slave?: string; event?: string }[] {
  return log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** The systemd unit's RestartSec, in ms (a bare number is seconds, as systemd reads it). */
export function unitRestartMs(): number {
  const unit = readFileSync(join(ROOT, 'packaging', 'systemd', 'bondd@.service'), 'utf8');
  const m = /^RestartSec=(\d+(?:\.\d+)?)(ms|s)?$/m.exec(unit);
  if (!m) throw new Error('bondd@.service: no RestartSec');
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Parses `ping` summary: transmitted, received, duplicates. */
export function pingSummary(out: string): { sent: number; received: number; dups: number } {
  const m = /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?/.exec(out);
  if (!m) throw new Error(`no ping summary in:\n${out}`);
  return { sent: Number(m[1]), received: Number(m[2]), dups: Number(m[3] ?? 0) };
}
