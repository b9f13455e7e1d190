// The crash journal and recovery over the in-memory binding: a bond that "dies" (is dropped
// without stop) leaves a journal that recovery replays to put every slave back exactly; a clean
// stop leaves none; a live daemon's journal and a file that is not a journal are refused.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Bond } from '../../../src/bond/bond.js';
import { Journal, readJournal, type JournalFile } from '../../../src/bond/journal.js';
import { recoverJournal } from '../../../src/bond/recover.js';
import { resolveOptions } from '../../../src/options/parse.js';
import { ManualClock } from '../../../src/util/clock.js';
import { MemoryLogger } from '../../../src/util/logger.js';
import { formatMac } from '../../../src/util/mac.js';
import { FakeNet } from '../../helpers/fake-binding.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tb-journal-'));
  dirs.push(dir);
  const net = new FakeNet();
  for (const s of ['s0', 's1']) net.addLink(s, { flags: 0x1003, mtu: 9000 });
  const path = join(dir, 'bond0.state');
  const snapshot = () =>
    ['s0', 's1'].map((s) => {
      const l = net.link(s);
      return {
        s,
        mac: formatMac(l.mac),
        mtu: l.mtu,
        flags: l.flags,
        ipv6: net.sysctls.get(`net/ipv6/conf/${s}/disable_ipv6`),
        blocked: net.blocked.has(l.ifindex),
      };
    });
  const start = () => {
    const bond = new Bond(
      { name: 'bond0', options: resolveOptions({ mode: 'active-backup', miimon: 100 }).options, mtu: 1500 },
      {
        host: net.host(),
        clock: new ManualClock(),
        log: new MemoryLogger(),
        journal: new Journal(path, 'bond0'),
      },
    );
    bond.start();
    for (const s of ['s0', 's1']) bond.enslave(s);
    return bond;
  };
  return { net, path, snapshot, start };
}

describe('crash journal', () => {
  it('records each slave as it was before the first change, and is removed by a clean stop', () => {
    const t = setup();
    const before = t.snapshot();
    const bond = t.start();
    const j = readJournal(t.path)!;
    expect(j).toMatchObject({ version: 1, bond: 'bond0', pid: process.pid });
    expect(j.slaves.map((s) => [s.name, s.mac, s.mtu, s.phase, s.disableIpv6])).toEqual(
      before.map((b) => [b.s, b.mac, 9000, 'enslaved', '0']),
    );
    expect(j.slaves.every((s) => s.stackBlock)).toBe(true);
    bond.delete();
    expect(readJournal(t.path)).toBeNull();
    expect(t.snapshot()).toEqual(before);
  });

  it('recovery after a crash puts every slave back and removes the journal', () => {
    const t = setup();
    const before = t.snapshot();
    t.start(); // and then the process "dies": no stop()
    expect(t.snapshot()).not.toEqual(before);
    const log = new MemoryLogger();
    const r = recoverJournal(t.net.host(), log, t.path)!;
    expect(r.slaves.map((s) => s.name)).toEqual(['s1', 's0']);
    expect(r.slaves[0].restored).toEqual(['drop filter', 'mac', 'mtu', 'ipv6', 'flags']);
    expect(t.snapshot()).toEqual(before);
    expect(readJournal(t.path)).toBeNull();
    expect(log.records.find((x) => x.fields.event === 'recovered')?.msg).toMatch(/^recovered from an unclean stop of pid \d+: s1 \(/);
    expect(recoverJournal(t.net.host(), log, t.path)).toBeNull(); // nothing left
  });

  it('a kill between creating the clsact qdisc and adding the filter: the qdisc is ours to remove', () => {
    const t = setup();
    const j = new Journal(t.path, 'bond0');
    const l = t.net.link('s0');
    const saved = { name: 's0', ifindex: l.ifindex, mac: l.mac, mtu: 9000, flags: 0x1003, disableIpv6: null };
    const asked: string[] = [];
    const host = { ...t.net.host(), removeStaleBlock: (_i: number, q: 'ours' | 'theirs' | 'unknown') => (asked.push(q), []) };
    j.record({ ...saved, hadClsact: false }, 'preparing');
    writeFileSync(t.path, readFileSync(t.path, 'utf8').replace(/"pid":\d+/, '"pid":999999999'));
    recoverJournal(host, new MemoryLogger(), t.path);
    j.record({ ...saved, hadClsact: true }, 'preparing');
    writeFileSync(t.path, readFileSync(t.path, 'utf8').replace(/"pid":\d+/, '"pid":999999999'));
    recoverJournal(host, new MemoryLogger(), t.path);
    j.record(saved, 'preparing'); // a journal of an older version: not known
    writeFileSync(t.path, readFileSync(t.path, 'utf8').replace(/"pid":\d+/, '"pid":999999999'));
    recoverJournal(host, new MemoryLogger(), t.path);
    expect(asked).toEqual(['ours', 'theirs', 'unknown']);
  });

  it('a slave that vanished meanwhile is skipped with a warning; the others are restored', () => {
    const t = setup();
    const before = t.snapshot();
    t.start();
    t.net.links.delete('s1');
    const log = new MemoryLogger();
    const r = recoverJournal(t.net.host(), log, t.path)!;
    expect(r.slaves.find((s) => s.name === 's1')!.restored).toEqual([]);
    const s0 = t.net.link('s0');
    expect({ mac: formatMac(s0.mac), mtu: s0.mtu, flags: s0.flags, blocked: t.net.blocked.has(s0.ifindex) }).toEqual({
      mac: before[0].mac,
      mtu: 9000,
      flags: before[0].flags,
      blocked: false,
    });
    expect(log.records.filter((x) => x.level === 'error')).toEqual([]);
    expect(log.records.find((x) => x.fields.event === 'slave-gone')?.fields.slave).toBe('s1');
  });

  it('refuses the journal of a live bondd, and a file that is not a journal', async () => {
    const t = setup();
    const other = spawn('bash', ['-c', 'exec -a bondd sleep 30'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(t.path, JSON.stringify({ version: 1, bond: 'bond0', pid: other.pid, started: '', slaves: [] }));
    expect(() => recoverJournal(t.net.host(), new MemoryLogger(), t.path)).toThrow(
      `bond0: bondd (pid ${other.pid}) runs this bond; stop it first`,
    );
    other.kill('SIGKILL');
    const live: JournalFile = { version: 1, bond: 'bond0', pid: 1, started: '', slaves: [] };
    // pid 1 is alive but not a bondd: that journal is a dead daemon's
    writeFileSync(t.path, JSON.stringify(live));
    expect(recoverJournal(t.net.host(), new MemoryLogger(), t.path)).toMatchObject({ pid: 1, slaves: [] });
    writeFileSync(t.path, 'hello');
    expect(() => recoverJournal(t.net.host(), new MemoryLogger(), t.path)).toThrow(/not a tapbond state journal/);
    expect(readFileSync(t.path, 'utf8')).toBe('hello'); // left for the operator to look at
  });
});
