// The daemon as systemd and a monitoring system see it, with real traffic in namespaces:
// the unit's ExecStart (--instance, JSON logs) with a NOTIFY_SOCKET read by a python3 listener
// (READY=1, STATUS=, WATCHDOG=1, STOPPING=1), Prometheus metrics scraped by python3 and checked
// against the switch's kernel counters, one JSON log line per state change, `bondctl watch`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { have, Lab, pingSummary, ROOT, skipReason, sleep, unitRestartMs, waitFor, mustSkip } from '../helpers/lab.js';
import { metricSample as metric } from '../helpers/prom.js';

const reason = skipReason() || (have('python3') ? '' : 'needs python3');

// a unix datagram listener standing in for systemd's notify socket: one line per datagram
const LISTENER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    s.settimeout(max(0.1, end - time.time()))
    try:
        print(s.recv(4096).decode().replace("\\n", " | "), flush=True)
    except socket.timeout:
        break
`;

const SCRAPE = `import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())`;

describe.skipIf(mustSkip(reason))('deployment: systemd contract, metrics, logs, watch', () => {
  const lab = new Lab('d');
  const dir = mkdtempSync(join(tmpdir(), 'tapbond-deploy-'));
  let listener: ChildProcess | undefined;
  beforeAll(() => lab.up(2));
  afterAll(() => {
    listener?.kill('SIGKILL');
    lab.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs as bondd@bond0.service would, and is observable from outside', async () => {
    // the unit file's command line, with the instance name filled in
    const unitPath = join(ROOT, 'packaging', 'systemd', 'bondd@.service');
    const unit = readFileSync(unitPath, 'utf8');
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_PERFMON$/m);
    if (have('systemd-analyze')) {
      // systemd's own parser: unknown keys, bad values and a missing executable are errors
      const v = spawnSync('systemd-analyze', ['verify', '--man=no', unitPath], { encoding: 'utf8', timeout: 30_000 });
      expect(v.status, v.stdout + v.stderr).toBe(0);
    }
    const exec = /^ExecStart=\/usr\/bin\/env bondd (.*) \$BONDD_ARGS$/m.exec(unit)?.[1];
    expect(exec).toBe('--instance %i --log-format json');
    const args = exec!.replace('%i', 'bond0').split(' ');
    // /etc/tapbond/bond0.json, under a private root
    mkdirSync(join(dir, 'etc', 'tapbond'), { recursive: true });
    writeFileSync(
      join(dir, 'etc', 'tapbond', 'bond0.json'),
      JSON.stringify({ slaves: ['s0', 's1'], mode: 'active-backup', miimon: 100, addresses: ['198.18.0.1/24'] }),
    );
    const notifySock = join(dir, 'notify.sock');
    let notes = '';
    listener = spawn('python3', ['-c', LISTENER, notifySock, '60'], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener.stdout!.on('data', (d) => (notes += d));
    await waitFor(() => notes.includes('listening'), 5000, 'the notify listener');
    const macBefore = lab.link(lab.srv, 's0').address;

    const b = await lab.startBondd([...args, '--sysconf-root', join(dir, 'etc'), '--metrics', '127.0.0.1:9549'], 'bond0', undefined, {
      NOTIFY_SOCKET: notifySock,
      WATCHDOG_USEC: '2000000',
    });
    try {
      await waitFor(() => notes.includes('READY=1'), 5000, 'READY=1');
      expect(notes).toMatch(/READY=1 \| STATUS=bond0 active-backup 2\/2 up, active s0/);
      // the address came from the JSON file
      await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
      expect(pingSummary(lab.sh(lab.cli, 'ping -c 5 -i 0.05 -W 1 198.18.0.1')).received).toBe(5);

      // metrics against the switch's own counters for the active slave's port
      const scrape = () => lab.sh(lab.srv, `python3 -c '${SCRAPE}' http://127.0.0.1:9549/metrics`);
      const m1 = scrape();
      expect(metric(m1, 'node_bonding_slaves', { master: 'bond0' })).toBe(2);
      expect(metric(m1, 'node_bonding_active', { master: 'bond0' })).toBe(2);
      expect(metric(m1, 'tapbond_active_slave', { master: 'bond0', slave: 's0' })).toBe(1);
      const k1 = lab.stats(lab.sw, 'p0').rx_packets;
      expect(pingSummary(lab.sh(lab.cli, 'ping -c 50 -i 0.01 -W 1 198.18.0.1')).received).toBe(50);
      await sleep(300); // past the scrape snapshot
      const m2 = scrape();
      const k2 = lab.stats(lab.sw, 'p0').rx_packets;
      const dm =
        metric(m2, 'tapbond_slave_tx_frames_total', { slave: 's0' })! - metric(m1, 'tapbond_slave_tx_frames_total', { slave: 's0' })!;
      expect(dm).toBeGreaterThanOrEqual(50);
      expect(Math.abs(dm - (k2 - k1))).toBeLessThanOrEqual(3);
      expect(
        metric(m2, 'tapbond_slave_rx_frames_total', { slave: 's0' })! - metric(m1, 'tapbond_slave_rx_frames_total', { slave: 's0' })!,
      ).toBeGreaterThanOrEqual(50);

      // the active slave's switch port fails: log lines, metrics, STATUS=
      const logLen = b.log().length;
      lab.sh(lab.sw, 'ip link set p0 down');
      await waitFor(() => lab.state().bond.active_slave === 's1', 3000, 'failover to s1');
      await waitFor(() => b.log().slice(logLen).includes('"event":"active-change"'), 3000, 'the log line of the failover');
      const recs = b
        .log()
        .slice(logLen)
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(recs.find((r) => r.event === 'link-down')).toMatchObject({ bond: 'bond0', slave: 's0' });
      expect(recs.find((r) => r.event === 'active-change')).toMatchObject({
        bond: 'bond0',
        slave: 's1',
        previous: 's0',
        msg: 'active s0 -> s1 (s0 link failure)',
      });
      for (const r of recs) expect(r.bond, JSON.stringify(r)).toBe('bond0');
      await sleep(300);
      const m3 = scrape();
      expect(metric(m3, 'tapbond_failovers_total', { master: 'bond0' })).toBe(1);
      expect(metric(m3, 'node_bonding_active', { master: 'bond0' })).toBe(1);
      expect(metric(m3, 'tapbond_slave_mii_up', { slave: 's0' })).toBe(0);
      expect(metric(m3, 'tapbond_active_slave', { slave: 's1' })).toBe(1);
      await waitFor(() => /WATCHDOG=1 \| STATUS=bond0 active-backup 1\/2 up, active s1/.test(notes), 3000, 'STATUS= after the failure');

      // bondctl watch while the client pings at 100/s: s1 carries it, s0 is down
      const ping = lab.shAsync(lab.cli, 'ping -c 300 -i 0.01 -W 1 198.18.0.1', 10_000);
      await sleep(500);
      const w = lab.bondctl(['watch', 'bond0', '--count', '3', '--interval', '0.5']).out;
      await ping;
      const screens = w.trim().split(/\n\n/);
      expect(screens).toHaveLength(3);
      const last = screens[2].split('\n');
      expect(last[0]).toMatch(/^bond0 {2}mode active-backup {2}carrier up {2}active s1 {2}failovers 1 /);
      const s0 = last.find((l) => l.startsWith('s0'))!.split(/\s+/);
      const s1 = last.find((l) => l.startsWith('s1'))!.split(/\s+/);
      expect(s0.slice(1, 3)).toEqual(['down', 'backup']);
      expect(s1.slice(1, 3)).toEqual(['up', 'active']);
      // RX and TX pps of s1: about 100 each way
      expect(Number(s1[4])).toBeGreaterThan(50);
      expect(Number(s1[6])).toBeGreaterThan(50);
      expect(Number(s0[6])).toBe(0);
    } finally {
      expect(await lab.stopBondd()).toBe(0);
    }
    await waitFor(() => notes.includes('STOPPING=1'), 3000, 'STOPPING=1');
    expect(lab.link(lab.srv, 's0').address).toBe(macBefore);
    expect(lab.sh(lab.srv, 'ip link show bond0', { allowFail: true })).toMatch(/does not exist/);
  });

  it('Restart=on-failure: SIGKILLed under traffic, started again as the unit says, the bond adopted and traffic back', async () => {
    const unit = readFileSync(join(ROOT, 'packaging', 'systemd', 'bondd@.service'), 'utf8');
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^RuntimeDirectoryPreserve=yes$/m); // the journal outlives the process
    const restartMs = unitRestartMs();
    const exec = /^ExecStart=\/usr\/bin\/env bondd (.*) \$BONDD_ARGS$/m.exec(unit)![1].replace('%i', 'bond0').split(' ');
    const etc = join(dir, 'etc-restart');
    mkdirSync(join(etc, 'tapbond'), { recursive: true });
    writeFileSync(
      join(etc, 'tapbond', 'bond0.json'),
      JSON.stringify({ slaves: ['s0', 's1'], mode: 'active-backup', miimon: 100, addresses: ['198.18.0.1/24'] }),
    );
    const slaves = () =>
      ['s0', 's1'].map((s) => ({ ...lab.link(lab.srv, s), filters: lab.sh(lab.srv, `tc filter show dev ${s} ingress`) }));
    const pick = (l: ReturnType<typeof slaves>) => l.map((x) => [x.address, x.mtu, x.flags.includes('UP'), x.filters]);
    const before = pick(slaves());
    const up = () => waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'bond0 carrier');
    await lab.startBondd([...exec, '--sysconf-root', etc]);
    await up();
    const path = lab.state().bond.datapath.path;
    const ifindex = (lab.link(lab.srv, 'bond0') as unknown as { ifindex: number }).ifindex;
    lab.sh(lab.cli, 'ip neigh flush all');
    const traffic = lab.shAsync(lab.cli, 'ping -c 300 -i 0.02 -W 1 198.18.0.1 || true', 20_000);
    await sleep(1000);
    await lab.stopBondd('SIGKILL'); // a failure: systemd restarts the unit RestartSec later
    await sleep(restartMs);
    const again = await lab.startBondd([...exec, '--sysconf-root', etc]);
    // the bond the killed process left is taken over: the same TAP, each slave in place
    expect(again.log()).toMatch(/adopted \(ifindex \d+\)/);
    expect(again.log()).toContain('"slave":"s1","event":"adopted"');
    expect((lab.link(lab.srv, 'bond0') as unknown as { ifindex: number }).ifindex).toBe(ifindex);
    await up();
    const p = pingSummary(await traffic);
    console.log(
      `supervisor restart (${path} path): ${p.sent - p.received} of ${p.sent} pings (20 ms apart) lost, RestartSec=${restartMs} ms`,
    );
    if (path === 'kernel') {
      // the pinned programs forward through the whole gap: nothing lost
      expect(p.sent - p.received, `${p.received}/${p.sent}`).toBe(0);
    } else {
      // replies before the kill and again after the restart; the gap is the kill and RestartSec
      expect(p.received, `${p.received}/${p.sent}`).toBeGreaterThan(100);
      expect(p.sent - p.received).toBeLessThan((restartMs + 2500) / 20);
    }
    expect(pingSummary(lab.sh(lab.cli, 'ping -c 5 -i 0.05 -W 1 198.18.0.1')).received).toBe(5);
    expect(await lab.stopBondd()).toBe(0);
    expect(pick(slaves())).toEqual(before);
  }, 60_000);

  it("the unit's capabilities load the kernel fast path; NET_ADMIN and NET_RAW alone run the user path, saying why", async () => {
    const unit = readFileSync(join(ROOT, 'packaging', 'systemd', 'bondd@.service'), 'utf8');
    const caps = /^CapabilityBoundingSet=(.*)$/m.exec(unit)![1].split(' ');
    expect(/^AmbientCapabilities=(.*)$/m.exec(unit)![1].split(' ')).toEqual(caps);
    // root with only these capabilities, as the unit's bounding set leaves them
    const only = (c: string[]) => ['setpriv', '--bounding-set', ['-all', ...c.map((x) => `+${x.slice(4).toLowerCase()}`)].join(','), '--'];
    const args = ['--name', 'bond0', '--slaves', 's0,s1', 'mode=balance-xor', 'miimon=100', '--log-format', 'json'];
    const auto = { TAPBOND_DATAPATH: '' }; // what the unit runs: auto
    // where this process itself lacks CAP_BPF/CAP_PERFMON (a container without them), no child
    // can have them: then the unit's set also runs the user path, and says why
    const bounding = BigInt('0x' + /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    const canBpf = ((bounding >> 38n) & 3n) === 3n;
    if (process.env.TAPBOND_DATAPATH === 'kernel') expect(canBpf, 'the kernel path was asked for').toBe(true);
    await lab.startBondd(args, 'bond0', undefined, auto, only(caps));
    if (canBpf) {
      expect(lab.state().bond.datapath).toEqual({ path: 'kernel', attach: 'tcx', requested: 'auto' });
      expect(lab.tcx(lab.srv, ['s0', 's1'])).toEqual({ s0: [1, 0], s1: [1, 0] });
    } else {
      console.log('no CAP_BPF/CAP_PERFMON in this process: the kernel-path half of this test cannot run here');
      expect(lab.state().bond.datapath).toMatchObject({ path: 'user', reason: expect.stringContaining('CAP_BPF') });
    }
    expect(await lab.stopBondd()).toBe(0);
    const b = await lab.startBondd(args, 'bond0', undefined, auto, only(['CAP_NET_ADMIN', 'CAP_NET_RAW']));
    expect(lab.state().bond.datapath.path).toBe('user');
    expect(lab.bondctl(['show', 'bond0']).out).toMatch(/, datapath user space \(not permitted \(loading eBPF needs CAP_BPF/m);
    await waitFor(() => b.log().includes('"event":"datapath-user"'), 3000, 'the log line saying why');
    expect(lab.tcx(lab.srv, ['s0', 's1'])).toEqual({ s0: [0, 0], s1: [0, 0] });
    expect(lab.slave('s0').filters).toContain('bytecode'); // the user path's drop filter instead
    expect(await lab.stopBondd()).toBe(0);
  });

  it('refuses metrics on a non-loopback address before touching any interface', () => {
    const r = lab.sh(
      lab.srv,
      `${process.execPath} ${ROOT}/dist/cli/bondd.js --run-dir ${lab.runDir} --name bond0 --slaves s0,s1 --metrics 0.0.0.0:9549 mode=active-backup; echo "exit=$?"`,
      { allowFail: true },
    );
    expect(r).toContain(
      "--metrics '0.0.0.0:9549': 0.0.0.0 is not a loopback address; metrics listen on loopback or a unix socket unless --metrics-allow-remote is given",
    );
    expect(r).toContain('exit=2');
    expect(lab.sh(lab.srv, 'ip link show bond0', { allowFail: true })).toMatch(/does not exist/);
  });
});
