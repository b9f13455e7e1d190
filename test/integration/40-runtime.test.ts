// Runtime control (enslave, release, active_slave, options), exact restoration of every slave
// on SIGTERM, bad input that exits non-zero without touching any interface, and who may use
// the control socket.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, Lab, pingSummary, ROOT, skipReason, mustSkip, waitFor } from '../helpers/lab.js';

const reason = skipReason();

describe.skipIf(mustSkip(reason))('runtime control and restoration', () => {
  const lab = new Lab('r');
  beforeAll(() => lab.up(3));
  afterAll(() => lab.down());

  const snapshot = (s: string) => {
    const l = lab.link(lab.srv, s);
    return {
      address: l.address,
      mtu: l.mtu,
      up: l.flags.includes('UP'),
      ipv6: lab.sh(lab.srv, `cat /proc/sys/net/ipv6/conf/${s}/disable_ipv6`).trim(),
      qdisc: lab.sh(lab.srv, `tc qdisc show dev ${s}`).includes('clsact'),
    };
  };

  it('enslaves and releases at runtime, switches active_slave, and changes options live', async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=active-backup', 'miimon=100']);
    try {
      await lab.addressBond();
      lab.bondctl(['enslave', 'bond0', 's2']);
      expect(lab.state().ports.map((p: { name: string }) => p.name)).toEqual(['s0', 's1', 's2']);
      lab.bondctl(['set', 'bond0', 'active_slave=s2']);
      expect(lab.state().bond.active_slave).toBe('s2');
      expect(pingSummary(lab.sh(lab.srv, 'ping -c 5 -i 0.05 198.18.0.2')).received).toBe(5);
      // traffic really left through s2: the partner's p2 counters moved
      const before = lab.stats(lab.sw, 'p2').rx_packets;
      lab.sh(lab.srv, 'ping -c 20 -i 0.01 198.18.0.2');
      expect(lab.stats(lab.sw, 'p2').rx_packets - before).toBeGreaterThanOrEqual(20);
      // releasing the active slave fails over and restores it
      lab.bondctl(['release', 'bond0', 's2']);
      expect(lab.state().bond.active_slave).not.toBe('s2');
      expect(snapshot('s2').qdisc).toBe(false);
      expect(pingSummary(lab.sh(lab.srv, 'ping -c 5 -i 0.05 198.18.0.2')).received).toBe(5);
      // live option change and the errors a user sees
      lab.bondctl(['set', 'bond0', 'num_grat_arp=4', 'miimon=50']);
      expect(lab.state().options).toMatchObject({ num_grat_arp: 4, num_unsol_na: 4, miimon: 50 });
      expect(typeof lab.state().bond.counters.tap_queue_drops).toBe('number');
      const bad = lab.bondctl(['set', 'bond0', 'miimon=fast'], true);
      expect(bad.code).not.toBe(0);
      expect(bad.out).toContain("miimon: invalid value 'fast'");
      const busy = lab.bondctl(['set', 'bond0', 'mode=balance-rr'], true);
      expect(busy.out).toMatch(/mode: may only change while the bond has no slaves/);
      const down = lab.bondctl(['set', 'bond0', 'active_slave=nosuch'], true);
      expect(down.out).toContain("active_slave: invalid value 'nosuch'");
      expect(lab.bondctl(['show', 'nobond'], true).out).toMatch(/no daemon is serving this bond/);
    } finally {
      await lab.stopBondd();
    }
  });

  it('SIGTERM leaves the bond as it is; bondctl delete restores MAC, MTU, flags and IPv6 of every slave and removes the TAP', async () => {
    lab.sh(lab.srv, 'ip link set s1 down; ip link set s1 mtu 1400; ip link set s0 up');
    const before = { s0: snapshot('s0'), s1: snapshot('s1') };
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=balance-rr', 'miimon=100', '--mtu', '1450']);
    const during = { s0: snapshot('s0'), s1: snapshot('s1') };
    expect(during.s1.mtu).toBe(1450);
    expect(during.s1.address).toBe(before.s0.address); // slaves carry the bond's MAC
    expect(during.s1.up).toBe(true);
    expect(during.s1.ipv6).toBe('1');
    // the user path's drop filter needs a clsact qdisc; the kernel path attaches with TCX instead
    expect(during.s0.qdisc).toBe(lab.state().bond.datapath.path === 'user');
    const ifindex = lab.link(lab.srv, 'bond0') as unknown as { ifindex: number };
    expect(await lab.stopBondd('SIGTERM')).toBe(0);
    // the TAP (the same interface) and the slaves stay as they were under the bond
    expect((lab.link(lab.srv, 'bond0') as unknown as { ifindex: number }).ifindex).toBe(ifindex.ifindex);
    expect({ s0: snapshot('s0'), s1: snapshot('s1') }).toEqual(during);
    // no daemon runs it: bondctl delete takes it down from the journal
    expect(lab.bondctl(['delete', 'bond0']).out).toContain('bond0 deleted');
    expect({ s0: snapshot('s0'), s1: snapshot('s1') }).toEqual(before);
    expect(lab.sh(lab.srv, 'ip link show bond0', { allowFail: true })).toMatch(/does not exist/);
    expect(lab.pins()).toEqual([]);
  });

  it('bad input exits non-zero, names the option, and changes no interface', async () => {
    const before = lab.sh(lab.srv, 'ip -j link show');
    const cases: [string[], RegExp][] = [
      [
        ['--name', 'bond0', '--slaves', 's0,s1', 'mode=fastest'],
        /mode: invalid value 'fastest'; allowed: balance-rr \(0\), active-backup \(1\)/,
      ],
      [['--name', 'bond0', '--slaves', 's0,s1', 'mode=balance-rr', 'primary=s0'], /primary: not valid in mode balance-rr/],
      [
        ['--name', 'bond0', '--slaves', 's0,s1', 'miimon=100', 'arp_interval=100', 'arp_ip_target=198.18.0.2'],
        /miimon and arp_interval are mutually exclusive/,
      ],
      [
        ['--name', 'bond0', '--slaves', 's0,s1', 'mode=balance-rr', 'tx_queues=0'],
        /tx_queues: invalid value '0' \(out of range\); allowed: an integer from 1 to 255/,
      ],
      [['--name', 'bond0', '--slaves', 's0,s1', 'bogus=1'], /unknown option 'bogus'/],
      [
        ['--name', 'bond0', '--slaves', 's0,s1', 'mode=802.3ad', 'arp_interval=100', 'arp_ip_target=198.18.0.2'],
        /arp_interval: not valid in mode 802.3ad/,
      ],
      [['--name', 'bond0', '--slaves', 's0,nosuch0'], /slaves: no interface named 'nosuch0'/],
      [['--name', 'bond0', '--slaves', 's0', 'updelay'], /'updelay': expected option=value/],
      [['--name', 'bond0', '--slaves', 's0', '--mtu', '9'], /mtu: invalid value '9'/],
    ];
    for (const [args, msg] of cases) {
      const r = lab.sh(lab.srv, `${process.execPath} ${ROOT}/dist/cli/bondd.js --run-dir ${lab.runDir} ${args.join(' ')}; echo "exit=$?"`, {
        allowFail: true,
      });
      expect(r).toMatch(msg);
      expect(r).toContain('exit=2');
    }
    expect(lab.sh(lab.srv, 'ip -j link show')).toBe(before);
  });

  it('control sockets: root only by default; --control-group lets that group in; SO_PEERCRED decides, not the file mode', async () => {
    const runDir = `${lab.runDir}-grp`;
    const ctl = (who: string, args: string) =>
      lab.sh(lab.srv, `${who} ${process.execPath} ${ROOT}/dist/cli/bondctl.js --run-dir ${runDir} ${args}; echo "exit=$?"`, {
        allowFail: true,
      });
    const nobody = 'setpriv --reuid 65534 --regid 65534 --clear-groups';
    const member = 'setpriv --reuid 65534 --regid 65534 --groups 4242';
    const proc = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.srv,
        process.execPath,
        `${ROOT}/dist/cli/bondd.js`,
        '--run-dir',
        runDir,
        '--control-group',
        '4242',
        '--name',
        'bond0',
        '--slaves',
        's0',
        'mode=active-backup',
        'miimon=100',
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitFor(() => ctl('', 'get bond0 mode').includes('active-backup 1'), 10_000, 'bondd up');
      expect(lab.sh(lab.srv, `stat -c '%a %g' ${runDir}/bond0.sock ${runDir}`).split('\n').filter(Boolean)).toEqual([
        '660 4242',
        '750 4242',
      ]);
      expect(ctl(member, 'get bond0 mode')).toMatch(/^active-backup 1\nexit=0/);
      expect(ctl(nobody, 'get bond0 mode')).toMatch(/EACCES|permission denied/i); // the file mode already stops it
      // an operator opens the file to everyone by mistake: the peer check still refuses
      lab.sh(lab.srv, `chmod 0777 ${runDir}; chmod 0666 ${runDir}/bond0.sock`);
      const r = ctl(nobody, 'get bond0 mode');
      expect(r).toMatch(/permission denied: uid 65534 is not root and not in group 4242/);
      expect(r).not.toContain('exit=0');
    } finally {
      // taken down with its journal (a SIGTERM would leave the bond for a next bondd)
      ctl('', 'delete bond0');
      proc.kill('SIGKILL');
      await exited(proc);
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
