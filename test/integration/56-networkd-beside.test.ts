// Debian's real systemd-networkd running beside bondd on the same files, in the bond's
// namespace (its own /etc/systemd/network and /run/systemd by bind mounts, /sys read-only so it
// does not wait for udev). With the documented 00-tapbond.network ([Link] Unmanaged=yes for the
// bond and its slaves) networkd leaves them alone while bondd reads the same directory: the
// address, the gateway and the static route stay bondd's, and traffic goes on across a failover.
//   srv: networkd + bondd, bond0 over s0 s1  <-- veth -->  sw: br0  <-->  cli 198.18.0.2 (.254 the router)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, mustSkip, pingSummary, sleep, skipReason, waitFor } from '../helpers/lab.js';

const NETWORKD = '/lib/systemd/systemd-networkd';
const reason = skipReason() || (!existsSync(NETWORKD) ? `${NETWORKD} is not installed (Debian: systemd)` : '');

describe.skipIf(mustSkip(reason))('systemd-networkd beside bondd on the same files', () => {
  const lab = new Lab('nd');
  const conf = join(lab.runDir, 'network');
  const run = join(lab.runDir, 'networkd-run');
  let networkd: ChildProcess | null = null;
  let out = '';

  beforeAll(async () => {
    lab.up(2);
    lab.sh(lab.cli, 'ip addr add 198.18.0.254/24 dev eth0 && ip addr add 198.19.5.1/32 dev lo && ip addr add 198.19.7.1/32 dev lo');
    mkdirSync(conf, { recursive: true });
    mkdirSync(run, { recursive: true });
    const w = (f: string, t: string) => writeFileSync(join(conf, f), t);
    w('00-tapbond.network', '[Match]\nName=bond0 s0 s1\n\n[Link]\nUnmanaged=yes\n');
    w('25-bond0.netdev', '[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\nMIIMonitorSec=50ms\n');
    w('30-s0.network', '[Match]\nName=s0\n\n[Network]\nBond=bond0\n');
    w('30-s1.network', '[Match]\nName=s1\n\n[Network]\nBond=bond0\n');
    w(
      '40-bond0.network',
      '[Match]\nName=bond0\n\n[Network]\nAddress=198.18.0.1/24\nGateway=198.18.0.254\n\n[Route]\nDestination=198.19.7.0/24\nGateway=198.18.0.254\nMetric=50\n',
    );
    // networkd's own view of /etc/systemd/network and /run/systemd, in a mount namespace of its own
    const setup = [
      'mount --make-rprivate /',
      `mount --bind ${conf} /etc/systemd/network`,
      `mount --bind ${run} /run/systemd`,
      'mkdir -p /run/systemd/netif && chown systemd-network:systemd-network /run/systemd/netif',
      'umount /sys && mount -t sysfs -o ro sysfs /sys',
      `exec timeout -s KILL 120 ${NETWORKD}`,
    ].join(' && ');
    networkd = spawn('ip', ['netns', 'exec', lab.srv, 'unshare', '-m', 'sh', '-c', setup], {
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug', SYSTEMD_LOG_TARGET: 'console' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    networkd.stdout!.on('data', (d) => (out += d));
    networkd.stderr!.on('data', (d) => (out += d));
    await waitFor(() => out.includes('Enumeration completed'), 10_000, `systemd-networkd to start\n${out}`);
  });
  afterAll(async () => {
    await lab.stopBondd();
    if (networkd?.pid) process.kill(-networkd.pid, 'SIGTERM');
    lab.down();
  });

  it('networkd leaves the bond and its slaves to bondd, which applies the same files', async () => {
    await lab.startBondd(['--networkd-dir', conf]);
    await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
    await sleep(2000); // time for networkd to act on the new link, if it were to
    for (const i of ['s0', 's1']) expect(out).toContain(`${i}: State changed: initialized -> unmanaged`);
    // its own bond0 it cannot make (no bonding module here); bondd's TAP of that name it never takes up
    expect(out).toContain('bond0: netdev could not be created: Operation not supported');
    expect(out).not.toMatch(/bond0: (Saved new link|found matching network|Configuring)/);
    expect(out).not.toMatch(/s[01]: (Configuring|Enslaving)/);
    expect(JSON.parse(lab.sh(lab.srv, 'ip -j -4 addr show dev bond0'))[0].addr_info.map((a: { local: string }) => a.local)).toEqual([
      '198.18.0.1',
    ]);
    const routes = JSON.parse(lab.sh(lab.srv, 'ip -j -4 route show')) as { dst: string; gateway?: string; metric?: number }[];
    expect(routes.find((r) => r.dst === 'default')?.gateway).toBe('198.18.0.254');
    expect(routes.find((r) => r.dst === '198.19.7.0/24')).toMatchObject({ gateway: '198.18.0.254', metric: 50 });
    const port = `p${lab.state().bond.active_slave.slice(1)}`;
    const pinger = lab.shAsync(lab.srv, 'ping -c 200 -i 0.01 -W 1 198.19.5.1');
    await sleep(500);
    lab.sh(lab.sw, `ip link set ${port} down`);
    const p = pingSummary(await pinger);
    lab.sh(lab.sw, `ip link set ${port} up`);
    expect(p.received).toBeGreaterThanOrEqual(190);
    expect(out).not.toMatch(/bond0: (Saved new link|found matching network|Configuring)|s[01]: (Configuring|Enslaving)/);
  });
});
