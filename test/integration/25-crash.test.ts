// Crash safety: SIGKILL at random moments never strands a slave (a restart or a recovery puts
// every one back exactly), a restart under traffic brings the bond back, and what others do to
// the bond's interfaces behind its back has a defined outcome. Observed with ip, tc and /proc,
// never through bondd itself.
//
//   ns srv: bondd, bond0 over s0 s1 s2  <-- veth -->  ns sw: br0 (p0 p1 p2, c0)  <-->  ns cli 198.18.0.2
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exited, jsonRecords, Lab, mustSkip, pingSummary, ROOT, skipReason, sleep, waitFor } from '../helpers/lab.js';
import { rng } from '../helpers/rng.js';

const reason = skipReason();
const BONDD = join(ROOT, 'dist', 'cli', 'bondd.js');
const BONDCTL = join(ROOT, 'dist', 'cli', 'bondctl.js');
const ARGS = ['--name', 'bond0', '--slaves', 's0,s1', 'mode=active-backup', 'miimon=100'];

describe.skipIf(mustSkip(reason))('crash safety and what happens behind the bond', () => {
  const lab = new Lab('k');
  beforeAll(() => lab.up(3));
  afterAll(() => lab.down());
  // a test that fails half-way must not hand its bondd, journal or qdisc to the next one: stop
  // whatever still runs, replay what it journaled, and put a renamed slave back
  afterEach(async () => {
    await lab.stopBondd('SIGKILL');
    lab.sh(lab.srv, `${process.execPath} ${BONDD} --run-dir ${lab.runDir} --recover`, { allowFail: true });
    lab.sh(lab.srv, 'ip link del bond0', { allowFail: true });
    lab.sh(lab.srv, 'ip link show t2 >/dev/null 2>&1 && ip link set t2 down && ip link set t2 name s2 && ip link set s2 up', {
      allowFail: true,
    });
    for (const s of ['s0', 's1', 's2']) lab.sh(lab.srv, `tc qdisc del dev ${s} clsact`, { allowFail: true });
    lab.sh(lab.sw, 'ip link set p0 up', { allowFail: true });
  });

  const snapshot = (s: string) => lab.slave(s);
  const all = (names = ['s0', 's1', 's2']) => Object.fromEntries(names.map((s) => [s, snapshot(s)]));
  const journal = () => join(lab.runDir, 'bond0.state');

  it('SIGKILL at 50 random moments: a recovery always leaves every slave exactly as it was', async () => {
    const before = all();
    const seed = Date.now() % 100000;
    const random = rng(seed);
    console.log(`crash seed ${seed}`);
    for (let i = 0; i < 50; i++) {
      const proc = spawn(
        'ip',
        ['netns', 'exec', lab.srv, process.execPath, BONDD, '--run-dir', lab.runDir, '--log-format', 'json', ...ARGS],
        {
          stdio: 'ignore',
        },
      );
      // from node's start-up (nothing touched yet) through enslaving to a running bond
      await sleep(Math.floor(random() * 1500));
      proc.kill('SIGKILL');
      await exited(proc);
      const how = i % 2 ? ['bondctl recover', BONDCTL, 'recover'] : ['bondd --recover', BONDD, '--recover'];
      const out = lab.sh(lab.srv, `${process.execPath} ${how[1]} --run-dir ${lab.runDir} ${how[2]}`);
      expect({ i, seed, how: how[0], after: all() }, out).toEqual({ i, seed, how: how[0], after: before });
      expect(existsSync(journal()), `iteration ${i}: journal left`).toBe(false);
      // killed after the TAP was made persistent but before the journal named it: no journal,
      // nothing to recover; the next start adopts that tagged TAP (here it is simply deleted)
      lab.sh(lab.srv, 'ip link del bond0', { allowFail: true });
    }
  }, 240_000);

  it('killed between creating the clsact qdisc and adding its filter: recovery removes the qdisc, never one that was there before', async () => {
    // what a running bondd journals: neither slave had a qdisc before it was touched
    await lab.startBondd(ARGS);
    const recorded = JSON.parse(readFileSync(journal(), 'utf8')) as { slaves: { name: string; hadClsact: boolean }[] };
    expect(recorded.slaves.map((s) => [s.name, s.hadClsact])).toEqual([
      ['s0', false],
      ['s1', false],
    ]);
    await lab.stopBondd();
    // the journal a bondd killed in that window leaves: s1 "preparing", with or without a
    // clsact before it was touched; pid 1 (never a bondd) stands for the dead daemon
    const s1 = JSON.parse(lab.sh(lab.srv, 'ip -j link show s1'))[0] as { ifindex: number; address: string; mtu: number };
    const write = (hadClsact: boolean) =>
      writeFileSync(
        journal(),
        JSON.stringify({
          version: 1,
          bond: 'bond0',
          pid: 1,
          started: new Date().toISOString(),
          slaves: [
            {
              name: 's1',
              ifindex: s1.ifindex,
              mac: s1.address,
              mtu: s1.mtu,
              flags: 0x1003,
              disableIpv6: '0',
              hadClsact,
              phase: 'preparing',
            },
          ],
        }),
      );
    const recover = () => lab.sh(lab.srv, `${process.execPath} ${BONDD} --run-dir ${lab.runDir} --recover`);
    lab.sh(lab.srv, 'tc qdisc add dev s1 clsact');
    write(false);
    recover();
    expect(snapshot('s1').qdiscs).toBe('');
    lab.sh(lab.srv, 'tc qdisc add dev s1 clsact');
    write(true);
    recover();
    expect(snapshot('s1').qdiscs).toContain('clsact');
    lab.sh(lab.srv, 'tc qdisc del dev s1 clsact');
  });

  it('SIGKILL under traffic during a failover and an option change: the same command brings the bond back', async () => {
    const before = all();
    await lab.startBondd(ARGS);
    await lab.addressBond();
    expect(pingSummary(lab.sh(lab.srv, 'ping -c 5 -i 0.05 198.18.0.2')).received).toBe(5);
    const flood = lab.shAsync(lab.cli, 'ping -f -w 4 198.18.0.1 >/dev/null 2>&1 || true', 10_000);
    await sleep(300);
    lab.sh(lab.sw, 'ip link set p0 down'); // failover to s1
    lab.bondctl(['set', 'bond0', 'num_grat_arp=3'], true);
    const path = lab.state().bond.datapath.path;
    const bond0 = lab.link(lab.srv, 'bond0') as unknown as { ifindex: number };
    await lab.stopBondd('SIGKILL');
    // the bond stays: the same TAP, with its address
    expect((lab.link(lab.srv, 'bond0') as unknown as { ifindex: number }).ifindex).toBe(bond0.ifindex);
    expect(lab.sh(lab.srv, 'ip -4 addr show dev bond0')).toContain('198.18.0.1/24');
    if (path === 'user') {
      // the slaves are left changed: blind to their own stack, with the bond's MAC
      expect(snapshot('s1').filters).toContain('bytecode');
    } else {
      // the kernel path's programs are pinned: still attached, and the bond still answers with
      // no daemon (its carrier is off, which a route does not mind; a bridge port would)
      expect(lab.tcx(lab.srv, ['s0', 's1', 'bond0'])).toEqual({ s0: [1, 0], s1: [1, 0], bond0: [0, 1] });
      const gap = lab.sh(lab.cli, 'ping -c 10 -i 0.05 -w 5 198.18.0.1', { allowFail: true });
      expect(pingSummary(gap).received, gap).toBe(10);
    }
    await lab.startBondd(ARGS);
    expect(lab.state().bond.active_slave).toBe('s1');
    await lab.addressBond();
    // -w: under the flood a late reply is waited for (without it ping gives the last one only
    // twice the largest RTT so far), so only a frame really lost counts
    const after = lab.sh(lab.srv, 'ping -c 10 -i 0.05 -w 5 198.18.0.2', { allowFail: true });
    expect(pingSummary(after).received, `${after}\n${lab.bonddLog()}`).toBe(10);
    await flood;
    lab.sh(lab.sw, 'ip link set p0 up');
    expect(await lab.stopBondd()).toBe(0);
    expect(all()).toEqual(before);
  });

  it('kernel path without TCX (tc filters): traffic, then a SIGKILL leaves the filters forwarding until a recovery or restart', async () => {
    const before = all();
    const tc = { TAPBOND_BPF_ATTACH: 'tc', TAPBOND_DATAPATH: 'kernel' };
    await lab.startBondd(ARGS, 'bond0', undefined, tc);
    expect(lab.state().bond.datapath).toMatchObject({ path: 'kernel', attach: 'tc' });
    expect(lab.bondctl(['show', 'bond0']).out).toContain(', datapath kernel (eBPF, tc filters: no TCX links)');
    expect(lab.tcx(lab.srv, ['s0', 's1', 'bond0'])).toEqual({ s0: [0, 0], s1: [0, 0], bond0: [0, 0] });
    for (const s of ['s0', 's1']) expect(snapshot(s).filters).toMatch(/bpf .*tapbond.*direct-action/s);
    expect(lab.sh(lab.srv, 'tc filter show dev bond0 egress')).toMatch(/tapbond.*direct-action/s);
    await lab.addressBond();
    expect(pingSummary(lab.sh(lab.srv, 'ping -c 10 -i 0.05 -W 1 198.18.0.2')).received).toBe(10);
    await lab.stopBondd('SIGKILL');
    // the filters outlive the process, and so does the TAP: they go on forwarding
    expect(snapshot('s0').filters).toContain('tapbond');
    expect(lab.sh(lab.srv, 'tc filter show dev bond0 egress')).toMatch(/tapbond/);
    // a restart takes the slot over with its own program, and a clean stop leaves nothing
    await lab.startBondd(ARGS, 'bond0', undefined, tc);
    await lab.addressBond();
    expect(pingSummary(lab.sh(lab.srv, 'ping -c 5 -i 0.05 -W 1 198.18.0.2')).received).toBe(5);
    await lab.stopBondd('SIGKILL');
    const out = lab.sh(lab.srv, `${process.execPath} ${BONDCTL} --run-dir ${lab.runDir} recover`);
    expect(out).toMatch(/s0: drop filter/);
    expect(all()).toEqual(before);
  });

  it('the TAP deleted under the daemon (ip link del): the bond is taken down, slaves restored, bondd exits 0 (not restarted)', async () => {
    const before = all();
    const b = await lab.startBondd([...ARGS, '--log-format', 'json']);
    lab.sh(lab.srv, 'ip link del bond0');
    const code = await Promise.race([b.exited, sleep(5000).then(() => 'still running')]);
    expect(code, b.log()).toBe(0);
    expect(b.log()).toContain('bond0 was deleted (ip link del)');
    expect(lab.pins()).toEqual([]);
    expect(all()).toEqual(before);
    expect(existsSync(journal())).toBe(false);
  });

  it('a slave renamed, or its MTU or MAC changed, behind the bond: followed, and set back', async () => {
    const before = all();
    const b = await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1,s2', 'mode=active-backup', 'miimon=100', '--log-format', 'json']);
    const bondMac = lab.state().bond.mac;
    lab.sh(lab.srv, 'ip link set s2 down && ip link set s2 name t2 && ip link set t2 up');
    await waitFor(() => lab.state().ports.some((p: { name: string }) => p.name === 't2'), 3000, 'the port to follow its new name');
    lab.sh(lab.srv, 'ip link set t2 mtu 1400');
    await waitFor(() => lab.link(lab.srv, 't2').mtu === 1500, 3000, 'the MTU set back');
    lab.sh(lab.srv, 'ip link set s1 address 02:99:00:00:00:01');
    await waitFor(() => lab.link(lab.srv, 's1').address === bondMac, 3000, 'the MAC set back');
    // the log is written asynchronously: wait for the lines rather than read them at once
    for (const ev of ['slave-renamed', 'slave-mtu-restored', 'slave-mac-restored']) {
      await waitFor(() => b.log().includes(`"event":"${ev}"`), 3000, `the ${ev} log line`);
    }
    expect(await lab.stopBondd()).toBe(0);
    lab.sh(lab.srv, 'ip link set t2 down && ip link set t2 name s2 && ip link set s2 up');
    expect(all()).toEqual(before);
  });

  it('a slave deleted under the daemon is released with a warning, not errors', async () => {
    const b = await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1,s2', 'mode=active-backup', 'miimon=100', '--log-format', 'json']);
    lab.sh(lab.srv, 'ip link del s2'); // its peer p2 goes with it
    await waitFor(() => lab.state().ports.length === 2, 3000, 's2 released');
    await waitFor(() => b.log().includes('"event":"slave-gone"'), 3000, 'the slave-gone log line');
    const aboutS2 = jsonRecords(b.log()).filter((r) => r.slave === 's2');
    expect(aboutS2.filter((r) => r.level >= 50)).toEqual([]);
    expect(aboutS2.map((r) => r.event)).toContain('slave-gone');
    expect(await lab.stopBondd()).toBe(0);
  });
});
