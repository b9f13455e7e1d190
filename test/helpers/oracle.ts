// The kernel-oracle guest: Debian's kernel with the real bonding driver in a QEMU guest (TCG)
// whose NICs are TAPs kt0.. in the lab's server namespace, so that bondd can enslave them and
// the two bonds face each other link for link. Commands go to the guest's second serial port
// (scripts/qemu/build-oracle.sh's /init), link state through QMP. The guest is a process of the
// lab's namespace: Lab.down() ends it with everything else.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { pcapFrames } from '../../scripts/lib/pcap.mjs';
import { have, Lab, ROOT, sleep, waitFor } from './lab.js';

export const ORACLE_DIR = process.env.TB_ORACLE_DIR ?? '/tmp/tapbond-oracle';

/** Why the oracle cannot run here ('' when it can): qemu, busybox-static and a compiler. */
export function oracleSkipReason(): string {
  for (const [cmd, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['busybox', 'busybox-static'],
    ['gcc', 'gcc'],
  ])
    if (!have(cmd)) return `the kernel oracle needs ${pkg}`;
  return '';
}

/** Builds (or reuses) the guest's kernel and initramfs; throws with the builder's words. */
export function buildOracle(): void {
  const r = spawnSync('bash', [join(ROOT, 'scripts/qemu/build-oracle.sh')], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`kernel-oracle build failed: ${r.stdout}${r.stderr}`);
}

/** Shell functions every guest script can call. */
const GUEST_LIB = readFileSync(join(ROOT, 'scripts/qemu/oracle-lib.sh'), 'utf8');

export interface BondDump {
  proc: string;
  sysfs: Record<string, string>;
}

/** dumpbond's output -> /proc/net/bonding text and each sysfs file's value. */
export function parseDump(text: string): BondDump {
  const proc: string[] = [];
  const sysfs: Record<string, string[]> = {};
  let file: string | null = null;
  for (const line of text.split('\n').slice(text.startsWith('@@PROC\n') ? 1 : 0)) {
    if (line.startsWith('@@F ')) sysfs[(file = line.slice(4))] = [];
    else if (file) sysfs[file].push(line);
    else proc.push(line);
  }
  const value = (l: string[]) => l.join('\n').replace(/\n+$/, '');
  return { proc: proc.join('\n'), sysfs: Object.fromEntries(Object.entries(sysfs).map(([k, v]) => [k, value(v)])) };
}

export class KernelGuest {
  readonly taps: string[];
  readonly macs: string[];
  version = '';
  private qemu: ChildProcess | null = null;
  private agent: Socket | null = null;
  private buf = '';
  private seq = 0;
  private readonly dir: string;

  /** `nics` virtio NICs, eth0.. in the guest, on TAPs kt0.. in the lab's server namespace. */
  constructor(
    private readonly lab: Lab,
    readonly nics = 2,
  ) {
    this.taps = Array.from({ length: nics }, (_, i) => `kt${i}`);
    this.macs = Array.from({ length: nics }, (_, i) => `52:54:00:6b:00:0${i + 1}`);
    this.dir = lab.runDir;
  }

  get console(): string {
    const f = join(this.dir, 'oracle-console.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  async boot(): Promise<void> {
    for (const t of this.taps) this.lab.sh(this.lab.srv, `ip tuntap add dev ${t} mode tap && ip link set ${t} up`);
    const agentPath = join(this.dir, 'oracle-agent.sock');
    const argv = ['-accel', 'tcg', '-m', '256', '-smp', '1', '-nodefaults', '-display', 'none', '-no-reboot'];
    argv.push('-kernel', `${ORACLE_DIR}/vmlinuz`, '-initrd', `${ORACLE_DIR}/initrd.gz`);
    argv.push('-append', `console=ttyS0 quiet panic=-1 tb.nics=${this.nics}`);
    argv.push('-serial', `file:${join(this.dir, 'oracle-console.log')}`);
    argv.push('-chardev', `socket,id=ag,path=${agentPath},server=on,wait=off`, '-serial', 'chardev:ag');
    argv.push('-qmp', `unix:${join(this.dir, 'oracle-qmp.sock')},server=on,wait=off`);
    this.taps.forEach((t, i) => {
      argv.push('-netdev', `tap,id=n${i},ifname=${t},script=no,downscript=no`);
      // a speed and duplex, so that the guest's 802.3ad has keys to aggregate by
      argv.push('-device', `virtio-net-pci,netdev=n${i},mac=${this.macs[i]},speed=10000,duplex=full`);
    });
    // bounded in time like every process of a test
    this.qemu = spawn('ip', ['netns', 'exec', this.lab.srv, 'timeout', '-s', 'KILL', '900', 'qemu-system-x86_64', ...argv], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 120_000;
    while (!this.agent) {
      if (Date.now() > deadline || this.qemu.exitCode !== null) throw new Error(`the guest did not start:\n${this.console}`);
      this.agent = await new Promise<Socket | null>((resolve) => {
        const s = connect(agentPath);
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(null));
      });
      if (!this.agent) await sleep(100);
    }
    this.agent.setEncoding('utf8');
    this.agent.on('data', (d: string) => (this.buf += d));
    const ready = await this.until(/@@READY (\S+)\r?\n/, 120_000);
    this.version = ready[1];
  }

  private async until(re: RegExp, ms: number): Promise<RegExpExecArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m.index + m[0].length);
        return m;
      }
      if (Date.now() > end || this.qemu?.exitCode !== null)
        throw new Error(`guest: no ${re} within ${ms} ms; console:\n${this.console.slice(-2000)}`);
      await sleep(20);
    }
  }

  /** Runs a script in the guest (with GUEST_LIB's functions); its output, or throws on rc != 0. */
  async sh(script: string, opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<string> {
    const id = ++this.seq;
    this.agent!.write(`TBX ${id} ${Buffer.from(GUEST_LIB + script).toString('base64')}\n`);
    await this.until(new RegExp(`@@${id}\\r?\\n`), opts.timeoutMs ?? 60_000);
    const end = await this.until(new RegExp(`@@${id} rc (\\d+)\\r?\\n`), opts.timeoutMs ?? 60_000);
    const out = this.lastOut(end);
    if (end[1] !== '0' && !opts.allowFail) throw new Error(`guest script failed (rc ${end[1]}):\n${script}\n---\n${out}`);
    return out;
  }

  // `until` consumed the text up to the end marker; what lay before it is the script's output
  private lastOut(m: RegExpExecArray): string {
    return m.input.slice(0, m.index).replace(/\r/g, '');
  }

  /** The kernel bond's /proc/net/bonding file and every sysfs file. */
  async dump(bond: string): Promise<BondDump> {
    return parseDump(await this.sh(`dumpbond ${bond}`));
  }

  /** Sets the carrier of the guest's NIC `i` (QMP set_link: both ends see it). */
  async setLink(i: number, up: boolean): Promise<void> {
    await this.qmp('set_link', { name: `n${i}`, up });
  }

  private qmp(execute: string, args: object): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect(join(this.dir, 'oracle-qmp.sock'));
      let got = '';
      let step = 0;
      s.setEncoding('utf8');
      s.on('error', reject);
      s.on('data', (d: string) => {
        got += d;
        const lines = got.split('\n');
        got = lines.pop()!;
        for (const l of lines) {
          if (!l.trim()) continue;
          const j = JSON.parse(l);
          if (step === 0 && j.QMP) {
            s.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
            step = 1;
          } else if (step === 1 && 'return' in j) {
            s.write(JSON.stringify({ execute, arguments: args }) + '\n');
            step = 2;
          } else if (step === 2 && ('return' in j || 'error' in j)) {
            s.end();
            if (j.error) reject(new Error(`qmp ${execute}: ${j.error.desc}`));
            else resolve();
          }
        }
      });
    });
  }

  kill(): void {
    this.agent?.destroy();
    // `timeout` hands SIGTERM on to qemu (a SIGKILL would orphan it; Lab.down kills it anyway)
    this.qemu?.kill('SIGTERM');
  }
}

/**
 * A lab with the oracle guest (`nics` NICs) booted in its server namespace, for the enclosing
 * describe block: made before its tests (then `ready`), gone after them.
 */
export function oracleLab(
  tag: string,
  nics = 2,
  ready?: (lab: Lab, guest: KernelGuest) => void | Promise<void>,
): { lab: Lab; guest: KernelGuest } {
  const lab = new Lab(tag);
  const guest = new KernelGuest(lab, nics);
  beforeAll(async () => {
    buildOracle();
    lab.alone();
    await guest.boot();
    await ready?.(lab, guest);
  }, 300_000);
  afterAll(() => {
    guest.kill();
    lab.down();
  });
  return { lab, guest };
}

/**
 * tcpdump on `iface` in the lab's server namespace, into `file` (`filter`: direction and
 * expression). Resolves once the capture is on; the returned function ends it and gives its
 * frames. --immediate-mode: a short capture would otherwise lose its last ring block.
 */
export async function capture(lab: Lab, iface: string, file: string, filter: string): Promise<() => Promise<{ t: number; f: Buffer }[]>> {
  const done = lab.shAsync(lab.srv, `tcpdump --immediate-mode -U -s 0 -i ${iface} -w ${file} ${filter} 2>&1`, 60_000);
  await waitFor(() => existsSync(file) && statSync(file).size >= 24, 15_000, `tcpdump on ${iface}`);
  return async () => {
    // a regular expression ([-]w: it matches tcpdump's command line, not the shell running pkill)
    const re = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    lab.sh(lab.srv, `pkill -INT -f -- '[-]w ${re} ' || true`);
    await done;
    return [...pcapFrames(file)];
  };
}
