// bondd --modprobe-conf + --ifcfg-dir: two bonds in one process, slaves matched by HWADDR
// although the files call them eth0..eth3, addresses applied to the TAPs, traffic through both,
// and SIGTERM restoring all four slaves.
//   srv: bond0 (s0,s1 active-backup, 198.18.0.1)  bond1 (s2,s3 balance-rr, 198.18.1.1)
//   sw: br0 (p0..p3, c0)      cli: eth0 198.18.0.2 + 198.18.1.2
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, pingSummary, skipReason, waitFor, mustSkip } from '../helpers/lab.js';

const reason = skipReason();

describe.skipIf(mustSkip(reason))('bonds from modprobe.conf and ifcfg files', () => {
  const lab = new Lab('c');
  const dir = mkdtempSync(join(tmpdir(), 'tapbond-ifcfg-'));
  beforeAll(() => {
    lab.up(4);
    lab.sh(lab.cli, 'ip addr add 198.18.1.2/24 dev eth0');
  });
  afterAll(() => {
    lab.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts both bonds, applies addresses, and restores every slave when they are deleted', async () => {
    const macs = [0, 1, 2, 3].map((i) => lab.link(lab.srv, `s${i}`).address);
    const before = [0, 1, 2, 3].map((i) => lab.link(lab.srv, `s${i}`));
    writeFileSync(join(dir, 'modprobe.conf'), 'alias bond0 bonding\nalias bond1 bonding\noptions bonding miimon=100 num_grat_arp=2\n');
    writeFileSync(
      join(dir, 'ifcfg-bond0'),
      'DEVICE=bond0\nONBOOT=yes\nIPADDR=198.18.0.1\nNETMASK=255.255.255.0\nBONDING_OPTS="mode=active-backup"\n',
    );
    writeFileSync(join(dir, 'ifcfg-bond1'), 'DEVICE=bond1\nONBOOT=yes\nIPADDR=198.18.1.1\nPREFIX=24\nBONDING_OPTS="mode=balance-rr"\n');
    macs.forEach((m, i) =>
      writeFileSync(
        join(dir, `ifcfg-eth${i}`),
        `DEVICE=eth${i}\nHWADDR=${m.toUpperCase()}\nMASTER=${i < 2 ? 'bond0' : 'bond1'}\nSLAVE=yes\n`,
      ),
    );
    await lab.startBondd(['--modprobe-conf', join(dir, 'modprobe.conf'), '--ifcfg-dir', dir], 'bond1');
    try {
      await waitFor(
        () => lab.link(lab.srv, 'bond0').operstate === 'UP' && lab.link(lab.srv, 'bond1').operstate === 'UP',
        5000,
        'both bonds up',
      );
      const s0 = lab.state('bond0');
      const s1 = lab.state('bond1');
      expect(s0.ports.map((p: { name: string }) => p.name)).toEqual(['s0', 's1']);
      expect(s1.ports.map((p: { name: string }) => p.name)).toEqual(['s2', 's3']);
      expect(s0.options).toMatchObject({ mode: 'active-backup', miimon: 100, num_grat_arp: 2 });
      expect(s1.options).toMatchObject({ mode: 'balance-rr', miimon: 100 });
      expect(lab.sh(lab.srv, 'ip -4 -br addr show dev bond0')).toContain('198.18.0.1/24');
      expect(lab.sh(lab.srv, 'ip -4 -br addr show dev bond1')).toContain('198.18.1.1/24');
      expect(pingSummary(lab.sh(lab.srv, 'ping -c 5 -i 0.05 -W 1 198.18.0.2')).received).toBe(5);
      expect(pingSummary(lab.sh(lab.srv, 'ping -c 5 -i 0.05 -W 1 198.18.1.2')).received).toBe(5);
      expect(lab.bondctl(['show', 'bond1']).out).toContain('Bonding Mode: load balancing (round-robin)');
    } finally {
      expect(await lab.stopBondd()).toBe(0);
    }
    const after = [0, 1, 2, 3].map((i) => lab.link(lab.srv, `s${i}`));
    expect(after.map((l) => [l.address, l.mtu, l.flags.includes('UP')])).toEqual(
      before.map((l) => [l.address, l.mtu, l.flags.includes('UP')]),
    );
  });

  it('refuses an ifcfg HWADDR that no interface has, changing nothing', () => {
    writeFileSync(join(dir, 'ifcfg-eth3'), 'DEVICE=eth3\nHWADDR=02:00:de:ad:be:ef\nMASTER=bond1\nSLAVE=yes\n');
    const before = lab.sh(lab.srv, 'ip -j link show');
    const r = lab.sh(
      lab.srv,
      `${process.execPath} ${join(import.meta.dirname, '..', '..', 'dist', 'cli', 'bondd.js')} --run-dir ${lab.runDir} --ifcfg-dir ${dir}; echo "exit=$?"`,
      { allowFail: true },
    );
    expect(r).toMatch(/bond1: no interface has HWADDR 02:00:de:ad:be:ef \(slave eth3 in its ifcfg file\)/);
    expect(r).toContain('exit=2');
    // per-bond flags are refused with the files rather than silently dropped
    const f = lab.sh(
      lab.srv,
      `${process.execPath} ${join(import.meta.dirname, '..', '..', 'dist', 'cli', 'bondd.js')} --run-dir ${lab.runDir} --ifcfg-dir ${dir} --mtu 1400 --no-up; echo "exit=$?"`,
      { allowFail: true },
    );
    expect(f).toMatch(/do not combine it with --mtu, --no-up/);
    expect(f).toContain('exit=2');
    expect(lab.sh(lab.srv, 'ip -j link show')).toBe(before);
  });
});
