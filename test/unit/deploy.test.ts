// Deployment pieces without a network: logs (pino JSON and text), Prometheus metrics over a whole
// fake bond, sd_notify datagrams, metrics address checks, --instance configuration lookup.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInstance, parseAddresses } from '../../src/config/index.js';
import { readIfcfgDir } from '../../src/config/ifcfg.js';
import { parseModprobe } from '../../src/config/modprobe.js';
import { renderWatch } from '../../src/report/watch.js';
import { statusLine } from '../../src/daemon.js';
import { metricsRegistry, parseMetricsAddress } from '../../src/metrics.js';
import { pinoLogger } from '../../src/util/logger.js';
import { sdNotifier } from '../../src/util/sd-notify.js';
import { fakeBond } from '../helpers/fake-bond.js';
import { metricSample as metric } from '../helpers/prom.js';
import { ipv4 } from '../helpers/frames.js';

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

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
});

describe('metrics', () => {
  it('exports node_exporter bonding names and per-slave state and counters, read at scrape time', async () => {
    const { net, clock, bond, engine, portOf } = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1']);
    const reg = metricsRegistry(() => [bond.state()]);
    engine.inject(
      0,
      Array.from({ length: 5 }, () => ipv4(17, '02:00:00:00:00:aa', '02:00:00:00:01:01')),
    );
    expect(engine.take(portOf('s0'))).toHaveLength(5);
    let t = await reg.metrics();
    expect(metric(t, 'node_bonding_slaves', { master: 'bond0' })).toBe(2);
    expect(metric(t, 'node_bonding_active', { master: 'bond0' })).toBe(2);
    expect(metric(t, 'tapbond_active_slave', { master: 'bond0', slave: 's0' })).toBe(1);
    expect(metric(t, 'tapbond_active_slave', { slave: 's1' })).toBeUndefined();
    expect(metric(t, 'tapbond_slave_tx_frames_total', { slave: 's0' })).toBe(5);
    expect(metric(t, 'tapbond_slave_tx_frames_total', { slave: 's1' })).toBe(0);
    expect(metric(t, 'tapbond_failovers_total', { master: 'bond0' })).toBe(0);
    expect(t).toMatch(/# TYPE tapbond_slave_rx_dropped_total counter/);
    net.setCarrier('s0', false);
    clock.advance(100);
    await new Promise((r) => setTimeout(r, 300)); // past the per-scrape snapshot
    t = await reg.metrics();
    expect(metric(t, 'node_bonding_active', { master: 'bond0' })).toBe(1);
    expect(metric(t, 'tapbond_slave_mii_up', { slave: 's0' })).toBe(0);
    expect(metric(t, 'tapbond_active_slave', { slave: 's1' })).toBe(1);
    expect(metric(t, 'tapbond_failovers_total', { master: 'bond0' })).toBe(1);
    // a backup failing is not a failover
    net.setCarrier('s0', true);
    clock.advance(100);
    expect(bond.state().bond.failovers).toBe(1);
  });

  it('exports LACP port state in 802.3ad', async () => {
    const { bond } = fakeBond(
      { mode: '802.3ad', miimon: 100, lacp_rate: 'fast' },
      ['s0', 's1'],
      pinoLogger({ format: 'json', stream: capture().stream }),
    );
    const t = await metricsRegistry(() => [bond.state()]).metrics();
    expect(metric(t, 'tapbond_lacp_collecting_distributing', { slave: 's0' })).toBe(0);
    const st = metric(t, 'tapbond_lacp_actor_state', { slave: 's0' })!;
    expect(st & 1).toBe(1); // LACP active
    expect(st & 2).toBe(2); // fast
    expect(metric(t, 'tapbond_lacp_rx_lacpdus_total', { slave: 's1' })).toBe(0);
  });

  it('listens on loopback or a unix socket unless told otherwise', () => {
    expect(parseMetricsAddress('127.0.0.1:9549')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 9549 });
    expect(parseMetricsAddress('[::1]:9549')).toEqual({ kind: 'tcp', host: '::1', port: 9549 });
    expect(parseMetricsAddress('unix:/run/tapbond/metrics.sock')).toEqual({ kind: 'unix', path: '/run/tapbond/metrics.sock' });
    expect(() => parseMetricsAddress('0.0.0.0:9549')).toThrow(/0\.0\.0\.0 is not a loopback address.*--metrics-allow-remote/);
    expect(parseMetricsAddress('0.0.0.0:9549', true)).toMatchObject({ host: '0.0.0.0' });
    expect(() => parseMetricsAddress('127.0.0.1:70000')).toThrow(/port 70000 is not in 1-65535/);
    expect(() => parseMetricsAddress('unix:relative.sock')).toThrow(/absolute path/);
    expect(() => parseMetricsAddress('metrics.example:80')).toThrow(/not an IP address/);
  });
});

describe('sd_notify', () => {
  it('sends READY/STATUS datagrams only under systemd, watchdog at half the interval', () => {
    const sent: { path: string; text: string }[] = [];
    const send = (path: string, d: Uint8Array) => void sent.push({ path, text: Buffer.from(d).toString() });
    const off = sdNotifier(send, {});
    off.notify({ READY: 1 });
    expect(off.enabled).toBe(false);
    expect(sent).toHaveLength(0);
    const on = sdNotifier(send, { NOTIFY_SOCKET: '@/org/test', WATCHDOG_USEC: '10000000' });
    on.notify({ READY: 1, STATUS: 'bond0 active-backup 2/2 up' });
    expect(sent).toEqual([{ path: '@/org/test', text: 'READY=1\nSTATUS=bond0 active-backup 2/2 up' }]);
    expect(on.watchdogMs).toBe(5000);
    expect(sdNotifier(send, { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }).watchdogMs).toBeNull();
  });

  it('status line summarises each bond', () => {
    const { bond } = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1']);
    expect(statusLine([bond])).toBe('bond0 active-backup 2/2 up, active s0');
  });
});

describe('configuration for bondd@BOND (--instance)', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-etc-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const readers = { ifcfg: readIfcfgDir, modprobe: parseModprobe };

  it('prefers /etc/tapbond/BOND.json', () => {
    mkdirSync(join(root, 'tapbond'), { recursive: true });
    writeFileSync(
      join(root, 'tapbond', 'bond7.json'),
      JSON.stringify({ slaves: ['eth1', 'eth2'], mode: 'active-backup', miimon: 100, addresses: ['198.18.7.1/24'] }),
    );
    const r = loadInstance('bond7', root, readers);
    expect(r.source).toBe(join(root, 'tapbond', 'bond7.json'));
    expect(r.configs[0]).toMatchObject({ name: 'bond7', slaves: ['eth1', 'eth2'], addresses: [{ address: '198.18.7.1', prefixlen: 24 }] });
    expect(r.configs[0].options).toMatchObject({ mode: 'active-backup', miimon: 100 });
    writeFileSync(join(root, 'tapbond', 'bond8.json'), JSON.stringify({ name: 'bond9' }));
    expect(() => loadInstance('bond8', root, readers)).toThrow(/name 'bond9' differs from the instance name 'bond8'/);
  });

  it('falls back to ifcfg-BOND and the modprobe files, read as one configuration', () => {
    const dir = join(root, 'sysconfig', 'network-scripts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'ifcfg-bond1'),
      'DEVICE=bond1\nIPADDR=198.18.1.1\nNETMASK=255.255.255.0\nONBOOT=yes\nBONDING_OPTS="miimon=50"\n',
    );
    writeFileSync(join(dir, 'ifcfg-eth3'), 'DEVICE=eth3\nMASTER=bond1\nSLAVE=yes\n');
    writeFileSync(join(dir, 'ifcfg-bond2'), 'DEVICE=bond2\nBONDING_OPTS="mode=1"\n');
    mkdirSync(join(root, 'modprobe.d'), { recursive: true });
    writeFileSync(join(root, 'modprobe.d', 'a-alias.conf'), 'alias bond1 bonding\n');
    writeFileSync(join(root, 'modprobe.d', 'b-opts.conf'), 'options bond1 mode=balance-xor xmit_hash_policy=layer3+4\n');
    const r = loadInstance('bond1', root, readers);
    expect(r.configs).toHaveLength(1);
    expect(r.configs[0]).toMatchObject({ name: 'bond1', slaves: ['eth3'], addresses: [{ address: '198.18.1.1', prefixlen: 24 }] });
    expect(r.configs[0].options).toMatchObject({ mode: 'balance-xor', xmit_hash_policy: 'layer3+4', miimon: 50 });
    expect(() => loadInstance('bond5', root, readers)).toThrow(/instance bond5: no configuration found; looked for .*bond5\.json/);
  });

  it('checks JSON addresses', () => {
    expect(parseAddresses('198.18.0.1/24, 2001:db8::1/64')).toEqual([
      { address: '198.18.0.1', prefixlen: 24 },
      { address: '2001:db8::1', prefixlen: 64 },
    ]);
    expect(() => parseAddresses(['198.18.0.1'])).toThrow(/addresses: invalid value '198.18.0.1'; allowed: .*prefix length/);
    expect(() => parseAddresses(['198.18.0.1/33'])).toThrow(/invalid value '198.18.0.1\/33'/);
  });
});

describe('bondctl watch', () => {
  it('shows slaves, link, active slave and rates from two dumps', () => {
    const { net, clock, bond, engine, portOf } = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1']);
    const a = bond.state();
    engine.inject(
      0,
      Array.from({ length: 100 }, () => ipv4(17, '02:00:00:00:00:aa', '02:00:00:00:01:01')),
    );
    engine.take(portOf('s0'));
    net.setCarrier('s1', false);
    clock.advance(100);
    const b = bond.state();
    const screen = renderWatch(b, a, 500, new Date('2026-11-23T10:00:00Z'));
    const lines = screen.trim().split('\n');
    expect(lines[0]).toBe('bond0  mode active-backup  carrier up  active s0  failovers 0    2026-11-23 10:00:00');
    expect(lines[1]).toMatch(/^SLAVE\s+LINK\s+STATE\s+SPEED\s+RX pps\s+RX bit\/s\s+TX pps\s+TX bit\/s\s+DROPS\s+FAILURES$/);
    const bytes = b.ports[0].counters.tx_bytes - a.ports[0].counters.tx_bytes;
    expect(lines[2].split(/\s+/)).toEqual([
      's0',
      'up',
      'active',
      '10000Mb',
      '0',
      '0',
      '200',
      `${((bytes * 2 * 8) / 1e3).toFixed(1)}k`,
      '0',
      '0',
    ]);
    expect(lines[3].split(/\s+/).slice(0, 3)).toEqual(['s1', 'down', 'backup']);
    expect(lines[3].split(/\s+/)[9]).toBe('1');
  });
});
