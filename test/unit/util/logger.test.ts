// pino logs: one record per state change naming the bond and the slave, JSON or readable.
import { capture } from '../../helpers/capture.js';
import { describe, expect, it } from 'vitest';
import { HoldingLogger, MemoryLogger, pinoLogger } from '../../../src/util/logger.js';
import { fakeBond } from '../../helpers/fake-bond.js';

describe('logs', () => {
  it('JSON: one record per state change, naming the bond and the slave', () => {
    const out = capture();
    const log = pinoLogger({ format: 'json', stream: out.stream });
    // a bond built on the pino logger: fail its active slave
    const b = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1'], log);
    b.net.setCarrier('s0', false);
    b.clock.advance(100);
    const recs = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const down = recs.find((r) => r.event === 'link-down');
    expect(down).toMatchObject({ level: 30, bond: 'bond0', slave: 's0' });
    expect(down.msg).toMatch(/^link down \(miimon, failure count 1\)$/);
    const change = recs.filter((r: { event?: string }) => r.event === 'active-change').pop();
    expect(change).toMatchObject({ bond: 'bond0', slave: 's1', previous: 's0' });
    expect(typeof change.time).toBe('string');
    // every line about a slave names its bond
    for (const r of recs.filter((x) => x.slave)) expect(r.bond).toBe('bond0');
  });

  it("one lacp-state line per change of a port's receive or mux machine", () => {
    const { clock, log } = fakeBond({ mode: '802.3ad', miimon: 100, lacp_rate: 'fast' }, ['s0']);
    clock.advance(5000); // no partner: the receive machine expires, then defaults
    const states = log.records.filter((r) => r.fields.event === 'lacp-state' && r.fields.slave === 's0').map((r) => r.fields.rx_state);
    expect(states).toContain('defaulted');
    const lines = log.lines.filter((l) => l.includes('LACP receive defaulted'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^info bond0 s0: LACP receive defaulted, mux \w+ \(was \w+, mux \w+\)$/);
  });

  it('pretty: the same record as one readable line', () => {
    const out = capture();
    const log = pinoLogger({ format: 'pretty', stream: out.stream }).child({ bond: 'bond0' });
    log.info('link down (miimon, failure count 1)', { slave: 's0', event: 'link-down' });
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*: bond0 s0: link down \(miimon, failure count 1\)$/);
  });

  it("holds lines, its children's too, while a critical section runs and writes them after, in order", () => {
    const mem = new MemoryLogger();
    const log = HoldingLogger.over(mem.child({ bond: 'bond0' }));
    const slave = log.child({ slave: 's0' });
    const seen: number[] = [];
    log.holding(() => {
      slave.info('link down');
      log.holding(() => log.warn('nested'));
      seen.push(mem.lines.length); // nothing written yet, also after the nested section
      log.info('active s0 -> s1');
    });
    expect(seen).toEqual([0]);
    expect(mem.lines).toEqual(['info bond0 s0: link down', 'warn bond0: nested', 'info bond0: active s0 -> s1']);
    // written also when the section throws
    expect(() =>
      log.holding(() => {
        log.error('about to fail');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(mem.lines.at(-1)).toBe('error bond0: about to fail');
    log.info('not held');
    expect(mem.lines.at(-1)).toBe('info bond0: not held');
  });

  it("a link event's lines, held until the failover is done, come out in the kernel's order", () => {
    const b = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1']);
    const l = b.net.link('s0');
    b.net.setCarrier('s0', false);
    b.bond.onLinkEvent({ type: 'new', ifindex: l.ifindex, flags: 0x1003, name: 's0', mtu: l.mtu, mac: l.mac });
    const i = b.log.lines.findIndex((x) => x.includes('link down (event'));
    expect(i).toBeGreaterThanOrEqual(0);
    expect(b.log.lines[i + 1]).toBe('info bond0 s1: active s0 -> s1 (s0 link failure)');
  });
});
