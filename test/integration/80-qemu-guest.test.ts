// The KVM use case end to end: a real QEMU guest (TCG) on a bridge whose uplink is the TAP
// master pings a host beyond the bond and keeps pinging across a failure of its slave. The
// guest's own ping (on its serial console) is the observer. Skipped without qemu/busybox.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ROOT, skipReason, waitFor, mustSkip } from '../helpers/lab.js';

const GUEST = process.env.TB_GUEST_DIR ?? '/tmp/tapbond-guest';
const have = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
const reason = skipReason() || (have('qemu-system-x86_64') && have('busybox') ? '' : 'needs qemu-system-x86 and busybox-static');

describe.skipIf(mustSkip(reason))('a QEMU guest on a bridge over the TAP master', () => {
  const lab = new Lab('qm');
  let qemu: ChildProcess | null = null;
  beforeAll(() => {
    const b = spawnSync('bash', [join(ROOT, 'scripts/qemu/build-guest.sh')], { encoding: 'utf8', timeout: 300_000 });
    if (b.status !== 0) throw new Error(`guest build failed: ${b.stderr}`);
    lab.up(2);
    lab.sh(
      lab.srv,
      'ip link add brvm type bridge stp_state 0 forward_delay 0 && ip link set brvm up && ip tuntap add dev tapvm0 mode tap && ip link set tapvm0 master brvm up',
    );
  }, 320_000);
  afterAll(() => {
    qemu?.kill('SIGKILL');
    lab.down();
  });

  const guestPort = () => {
    const fdb = JSON.parse(lab.sh(lab.sw, 'bridge -j fdb show br br0') || '[]') as { mac: string; ifname: string }[];
    return fdb.find((e) => e.mac === '52:54:00:7b:00:01')?.ifname ?? null;
  };

  for (const mode of ['active-backup', 'balance-xor', 'balance-tlb', 'balance-alb']) {
    it(`${mode}: the guest's ping survives the failure of its slave`, async () => {
      await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', `mode=${mode}`, 'miimon=20']);
      const serial = join(lab.runDir, `serial-${mode}.log`);
      try {
        lab.sh(lab.srv, 'ip link set bond0 master brvm');
        lab.sh(lab.cli, 'ip neigh flush all');
        qemu = spawn(
          'ip',
          [
            'netns',
            'exec',
            lab.srv,
            'timeout',
            '-s',
            'KILL',
            '120',
            'qemu-system-x86_64',
            '-accel',
            'tcg',
            '-m',
            '256',
            '-nographic',
            '-no-reboot',
            '-kernel',
            `${GUEST}/vmlinuz`,
            '-initrd',
            `${GUEST}/initrd.gz`,
            '-append',
            'console=ttyS0 quiet panic=-1 tb.ip=198.18.0.60/24 tb.target=198.18.0.2 tb.count=300',
            '-netdev',
            'tap,id=n0,ifname=tapvm0,script=no,downscript=no',
            '-device',
            'virtio-net-pci,netdev=n0,mac=52:54:00:7b:00:01',
            '-serial',
            `file:${serial}`,
            '-monitor',
            'none',
            '-display',
            'none',
          ],
          { stdio: 'ignore' },
        );
        const log = () => (existsSync(serial) ? readFileSync(serial, 'utf8') : '');
        await waitFor(() => log().includes('TB-READY'), 90_000, 'the guest reaching its target');
        const port = guestPort();
        expect(port).toMatch(/^p[01]$/);
        await new Promise((r) => setTimeout(r, 1500));
        lab.sh(lab.sw, `ip link set ${port} down`);
        await waitFor(() => log().includes('TB-DONE'), 60_000, 'the guest finishing its pings');
        lab.sh(lab.sw, `ip link set ${port} up`);
        const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(log());
        expect(m, log()).not.toBeNull();
        expect(Number(m![1])).toBe(300);
        console.info(`${mode}: guest ping ${m![2]}/${m![1]} across the failure of ${port}`);
        // runs here lost none on the kernel path; the user path (the Docker stage) takes a
        // TCG guest's bursts through the JavaScript datapath: 20 of 300 (400 ms) at most
        const user = lab.state().bond.datapath.path === 'user';
        expect(Number(m![2])).toBeGreaterThanOrEqual(user ? 280 : 297);
      } finally {
        qemu?.kill('SIGKILL');
        qemu = null;
        await lab.stopBondd();
      }
    }, 180_000);
  }
});
