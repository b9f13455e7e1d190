// bond0 outlives bondd: a stop (SIGTERM, as systemctl restart and every upgrade do it) or a
// crash (SIGKILL) leaves the bond running, and the same command started again adopts it: the
// same TAP (ifindex), the bridge over it, its addresses and routes untouched, every slave taken
// over in place. On the kernel path the pinned programs forward through the gap. Observed from
// the client (a ping every 10 ms) and with ip, bridge and tc, never through bondd itself.
//
//   ns srv: bondd, bond0 over s0 s1 [, br0 over bond0]  <-- veth -->  ns sw: br0  <-->  ns cli 198.18.0.2
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Lab, mustSkip, pingSummary, ROOT, skipReason, sleep, unitRestartMs, waitFor } from '../helpers/lab.js';

const reason = skipReason();
const BONDD = join(ROOT, 'dist', 'cli', 'bondd.js');

describe.skipIf(mustSkip(reason))('bond0 outlives bondd', () => {
  const lab = new Lab('r');
  beforeAll(() => lab.up(2));
  afterAll(() => lab.down());
  afterEach(async () => {
    await lab.stopBondd('SIGKILL');
    lab.sh(lab.srv, `${process.execPath} ${BONDD} --run-dir ${lab.runDir} --recover`, { allowFail: true });
    lab.sh(lab.srv, 'ip link del br0; ip link del bond0', { allowFail: true });
  });

  const slave = (s: string) => lab.slave(s);
  const slaves = () => ({ s0: slave('s0'), s1: slave('s1') });
  const ifindex = (dev: string) => (lab.link(lab.srv, dev) as unknown as { ifindex: number }).ifindex;
  const pins = () => lab.pins();
  /** What sits on and around the bond, as the host's tools show it. */
  const around = () => ({
    ifindex: ifindex('bond0'),
    master: lab.sh(lab.srv, 'ip -o link show bond0').match(/master (\S+)/)?.[1] ?? null,
    addrs: lab.sh(lab.srv, "ip -o addr show | awk '{print $2, $4}'").trim(),
    // while no bondd holds the TAP its carrier is off, and the kernel marks its routes linkdown
    routes: lab
      .sh(lab.srv, 'ip route show table main')
      .replace(/ linkdown/g, '')
      .trim(),
  });

  /** The KVM host's layout: br0 over bond0, the host's address on br0; answered from the client. */
  const bridgeOverBond = async () => {
    lab.sh(lab.cli, 'ip neigh flush all');
    lab.sh(
      lab.srv,
      'ip link add br0 type bridge stp_state 0 forward_delay 0 && ip link set bond0 master br0 && ip link set br0 up && ip addr add 198.18.0.1/24 dev br0',
    );
    await waitFor(() => lab.link(lab.srv, 'br0').operstate === 'UP', 5000, 'br0 up');
    expect(pingSummary(lab.sh(lab.cli, 'ping -c 5 -i 0.05 -W 1 198.18.0.1')).received).toBe(5);
  };

  for (const mode of ['active-backup', 'balance-xor']) {
    const args = ['--name', 'bond0', '--slaves', 's0,s1', `mode=${mode}`, 'miimon=100', '--log-format', 'json'];

    it(`${mode}: SIGTERM, then SIGKILL, each followed by the same command: the bond, its address and route kept, traffic through`, async () => {
      const before = slaves();
      await lab.startBondd(args);
      await lab.addressBond();
      lab.sh(lab.srv, 'ip route add 198.19.0.0/24 via 198.18.0.2 dev bond0');
      const path = lab.state().bond.datapath.path;
      const was = around();
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        // 600 pings 10 ms apart span the stop, the gap and the new start
        const probe = lab.shAsync(lab.cli, 'ping -c 600 -i 0.01 -W 1 198.18.0.1', 20_000);
        await sleep(1000);
        expect(await lab.stopBondd(signal)).toBe(signal === 'SIGTERM' ? 0 : null);
        // no daemon runs for half a second: longer than systemctl restart leaves, and than the
        // unit's RestartSec after a crash (Restart=on-failure)
        await sleep(Math.max(500, unitRestartMs()));
        expect(around()).toEqual(was);
        const b = await lab.startBondd(args);
        const ready = Date.now();
        expect(b.log()).toContain('"event":"adopted"');
        expect(around()).toEqual(was);
        // a slave adopted in place: its MAC and MTU were never touched (no flap)
        expect(b.log()).not.toMatch(/"msg":"[^"]*MAC [0-9a-f:]+ -> /);
        const p = pingSummary(await probe);
        const lost = p.sent - p.received;
        console.log(`${mode} ${signal} (${path} path): ${lost} of ${p.sent} pings lost`);
        if (path === 'kernel') {
          // the pinned programs forward with the last plan while no bondd runs, and the new one
          // publishes nothing before its full plan: not one ping lost
          expect(lost, `${signal}: ${p.received}/${p.sent}\n${b.log()}`).toBe(0);
        } else {
          // the user-space datapath stops with the process: the gap only
          expect(lost).toBeLessThan(250);
          expect(pingSummary(lab.sh(lab.cli, 'ping -c 5 -i 0.05 -W 1 198.18.0.1')).received).toBe(5);
        }
        expect(Date.now() - ready).toBeLessThan(15_000);
      }
      // bondctl delete: every slave exactly as before the first start, no pin, no journal
      expect(await lab.stopBondd()).toBe(0);
      expect(slaves()).toEqual(before);
      expect(pins()).toEqual([]);
      expect(existsSync(join(lab.runDir, 'bond0.state'))).toBe(false);
      expect(lab.sh(lab.srv, 'ip link show bond0', { allowFail: true })).toMatch(/does not exist/);
    }, 90_000);
  }

  it('a bridge over bond0 with the host address: kept across a restart, and traffic back within 1 s of the new start', async () => {
    const args = ['--name', 'bond0', '--slaves', 's0,s1', 'mode=active-backup', 'miimon=100', '--log-format', 'json'];
    await lab.startBondd(args);
    await bridgeOverBond();
    const was = around();
    const br0 = ifindex('br0');
    expect(was.master).toBe('br0');
    await lab.stopBondd('SIGTERM');
    expect(around()).toEqual(was);
    await lab.startBondd(args);
    const t0 = Date.now();
    // the bridge port forwards again once the adopted TAP has its carrier
    await waitFor(
      () => pingSummary(lab.sh(lab.cli, 'ping -c 1 -W 0.2 198.18.0.1', { allowFail: true })).received === 1,
      1000,
      'a reply within 1 s of the new start',
    );
    console.log(`bridge over bond0: first reply ${Date.now() - t0} ms after the new bondd was ready`);
    expect(around()).toEqual(was);
    expect(ifindex('br0')).toBe(br0);
    expect(lab.sh(lab.srv, 'bridge link show dev bond0')).toMatch(/master br0 state forwarding/);
    expect(await lab.stopBondd()).toBe(0);
    // deleting the bond takes it out of the bridge, which stays (someone else made it)
    expect(lab.sh(lab.srv, 'ip -o link show br0')).toContain('br0');
  }, 60_000);

  for (const mode of ['active-backup', 'balance-xor']) {
    it(`${mode}: a reload (SIGHUP) and a --takeover hand the TAP over: the bridge port over bond0 never stops forwarding`, async () => {
      const args = ['--name', 'bond0', '--slaves', 's0,s1', `mode=${mode}`, 'miimon=100', '--log-format', 'json'];
      let b = await lab.startBondd(args);
      await bridgeOverBond();
      const path = lab.state().bond.datapath.path;
      const was = around();
      const pid = b.proc.pid;
      for (const how of ['reload', 'takeover'] as const) {
        const probe = lab.shAsync(lab.cli, 'ping -c 400 -i 0.01 -W 1 198.18.0.1', 20_000);
        // the bridge's view of its port, sampled through the hand-over
        const states = lab.shAsync(lab.srv, 'for i in $(seq 60); do bridge link show dev bond0; sleep 0.05; done', 20_000);
        await sleep(500);
        if (how === 'reload') {
          const readyBefore = b.log().split('"event":"ready"').length;
          b.proc.kill('SIGHUP'); // what ExecReload does: the same process runs the program again
          await waitFor(() => b.log().split('"event":"ready"').length > readyBefore, 10_000, 'ready again after the reload');
          expect(b.proc.pid).toBe(pid);
          expect(b.proc.exitCode).toBeNull();
        } else {
          const old = b;
          b = await lab.startBondd(['--takeover', ...args]);
          expect(await Promise.race([old.exited, sleep(5000).then(() => 'running')])).toBe(0);
          expect(b.log()).toContain('"event":"takeover"');
        }
        expect(b.log()).toContain('"event":"adopted"');
        const p = pingSummary(await probe);
        const seen = await states;
        console.log(`${mode} ${how} with a bridge over bond0 (${path} path): ${p.sent - p.received} of ${p.sent} pings lost`);
        expect(seen).not.toMatch(/disabled|NO-CARRIER/);
        expect(around()).toEqual(was);
        if (path === 'kernel') expect(p.sent - p.received, `${how}: ${p.received}/${p.sent}`).toBe(0);
        else expect(p.received).toBeGreaterThan(200);
      }
      expect(await lab.stopBondd()).toBe(0);
    }, 90_000);
  }

  it('a slave no longer in the configuration is released at the adoption; bondctl recover takes down a bond left forwarding', async () => {
    const before = slaves();
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=active-backup', 'miimon=100']);
    await lab.stopBondd('SIGTERM');
    const b = await lab.startBondd(['--name', 'bond0', '--slaves', 's0', 'mode=active-backup', 'miimon=100', '--log-format', 'json']);
    expect(b.log()).toMatch(/"slave":"s1".*no longer in the configuration: released/);
    expect(slave('s1')).toEqual(before.s1);
    expect(lab.state().ports.map((p: { name: string }) => p.name)).toEqual(['s0']);
    await lab.stopBondd('SIGKILL');
    // no daemon: recovery takes the bond down, the data plane that still forwards included
    const out = lab.sh(lab.srv, `${process.execPath} ${BONDD} --run-dir ${lab.runDir} --recover`);
    expect(out).toMatch(/bond0 s0: /);
    expect(slaves()).toEqual(before);
    expect(pins()).toEqual([]);
    expect(lab.sh(lab.srv, 'ip link show bond0', { allowFail: true })).toMatch(/does not exist/);
  }, 60_000);
});
