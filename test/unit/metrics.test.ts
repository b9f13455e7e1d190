// Prometheus metrics read from the bonds at scrape time, and where they listen.
import { capture } from '../helpers/capture.js';
import { describe, expect, it } from 'vitest';
import { metricsRegistry, parseMetricsAddress } from '../../src/metrics.js';
import { pinoLogger } from '../../src/util/logger.js';
import { fakeBond } from '../helpers/fake-bond.js';
import { metricSample as metric } from '../helpers/prom.js';
import { ipv4 } from '../helpers/frames.js';

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
