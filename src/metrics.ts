// Prometheus metrics (prom-client), read from each bond's state at scrape time: nothing is
// counted twice and the datapath does no extra work. Names follow node_exporter's bonding
// collector where they overlap (node_bonding_slaves, node_bonding_active, label `master`);
// the rest are tapbond_*, per slave with labels master and slave.
import { createServer, type Server } from 'node:http';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { BondState } from './state/schema.js';

type Source = () => BondState[];

/** Port counters exported as counters: [metric suffix, help, state key]. */
const PORT_COUNTERS: [string, string, string][] = [
  ['rx_frames_total', 'Frames received on the slave and handled by the bond', 'rx_frames'],
  ['rx_bytes_total', 'Bytes received on the slave', 'rx_bytes'],
  ['tx_frames_total', 'Frames sent on the slave', 'tx_frames'],
  ['tx_bytes_total', 'Bytes sent on the slave', 'tx_bytes'],
  ['tx_errors_total', 'Frames the slave refused to send', 'tx_errors'],
];
/** Receive drops by reason: [reason label, state key]. */
const RX_DROPS: [string, string][] = [
  ['kernel', 'rx_kernel_drops'],
  ['truncated', 'rx_truncated'],
  ['malformed', 'rx_malformed'],
  ['inactive', 'rx_inactive_dropped'],
];

const LACP_MUX_DISTRIBUTING = 'collecting_distributing';

export function metricsRegistry(read: Source): Registry {
  // one state read per scrape, shared by every metric's collect()
  let snapshot: BondState[] | null = null;
  let takenAt = 0;
  const source: Source = () => {
    const now = Date.now();
    if (!snapshot || now - takenAt > 250) {
      snapshot = read();
      takenAt = now;
    }
    return snapshot;
  };
  const reg = new Registry();
  collectDefaultMetrics({ register: reg, prefix: 'tapbond_process_' });
  const bondGauge = (name: string, help: string, value: (s: BondState) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['master'],
      registers: [reg],
      collect() {
        this.reset();
        for (const s of source()) this.set({ master: s.bond.name }, value(s));
      },
    });
  bondGauge('node_bonding_slaves', 'Number of configured slaves per bonding interface', (s) => s.ports.length);
  bondGauge(
    'node_bonding_active',
    'Number of active (MII status up) slaves per bonding interface',
    (s) => s.ports.filter((p) => p.mii_status === 'up').length,
  );
  bondGauge('tapbond_bond_carrier', 'Carrier of the bond (TAP) interface: 1 on, 0 off', (s) => +s.bond.carrier);
  bondGauge('tapbond_bond_up', 'Administrative state of the bond interface: 1 up', (s) => +s.bond.up);
  new Gauge({
    name: 'tapbond_bond_info',
    help: 'Bond mode and transmit hash policy (value 1)',
    labelNames: ['master', 'mode', 'xmit_hash_policy'],
    registers: [reg],
    collect() {
      this.reset();
      for (const s of source())
        this.set({ master: s.bond.name, mode: s.bond.mode, xmit_hash_policy: String(s.options.xmit_hash_policy) }, 1);
    },
  });
  new Counter({
    name: 'tapbond_failovers_total',
    help: 'Link failures of slaves that were carrying traffic',
    labelNames: ['master'],
    registers: [reg],
    collect() {
      this.reset();
      for (const s of source()) this.inc({ master: s.bond.name }, s.bond.failovers);
    },
  });
  new Counter({
    name: 'tapbond_bond_tx_dropped_total',
    help: 'Frames from the bond that no slave could take, by reason',
    labelNames: ['master', 'reason'],
    registers: [reg],
    collect() {
      this.reset();
      for (const s of source()) {
        this.inc({ master: s.bond.name, reason: 'no_slave' }, s.bond.counters.tx_no_slave_dropped ?? 0);
        this.inc({ master: s.bond.name, reason: 'tap_queue' }, s.bond.counters.tap_queue_drops ?? 0);
      }
    },
  });

  const slaveLabels = ['master', 'slave'];
  const eachPort = (s: BondState[], f: (labels: { master: string; slave: string }, p: BondState['ports'][number]) => void) => {
    for (const b of s) for (const p of b.ports) f({ master: b.bond.name, slave: p.name }, p);
  };
  const slaveGauge = (name: string, help: string, value: (p: BondState['ports'][number], b: BondState) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: slaveLabels,
      registers: [reg],
      collect() {
        this.reset();
        for (const b of source())
          for (const p of b.ports) {
            const v = value(p, b);
            if (v !== undefined) this.set({ master: b.bond.name, slave: p.name }, v);
          }
      },
    });
  slaveGauge('tapbond_slave_mii_up', 'MII status of the slave as the bond sees it: 1 up, 0 down/going', (p) => +(p.mii_status === 'up'));
  slaveGauge('tapbond_slave_carrier', 'Carrier of the slave interface: 1 on', (p) => +p.carrier);
  slaveGauge('tapbond_slave_active', 'Slave state: 1 active (carries traffic), 0 backup', (p) => +(p.state === 'active'));
  slaveGauge('tapbond_active_slave', 'The active slave of active-backup, balance-tlb and balance-alb (value 1)', (p, b) =>
    b.bond.active_slave === p.name ? 1 : undefined,
  );
  slaveGauge('tapbond_slave_speed_bits_per_second', 'Slave speed (0 when unknown)', (p) => Math.max(0, p.speed) * 1e6);
  slaveGauge('tapbond_lacp_collecting_distributing', '802.3ad: 1 when the port is collecting and distributing', (p) =>
    p.lacp ? +(p.lacp.mux_state === LACP_MUX_DISTRIBUTING) : undefined,
  );
  slaveGauge(
    'tapbond_lacp_actor_state',
    '802.3ad: actor state bits (activity 1, timeout 2, aggregation 4, sync 8, collecting 16, distributing 32, defaulted 64, expired 128)',
    (p) => lacpNum(p.lacp, 'actor', 'state'),
  );
  slaveGauge('tapbond_lacp_partner_state', '802.3ad: partner state bits, as for the actor', (p) => lacpNum(p.lacp, 'partner', 'state'));
  slaveGauge('tapbond_lacp_aggregator_id', '802.3ad: aggregator the port is attached to (0 none)', (p) =>
    p.lacp ? Number(p.lacp.aggregator_id ?? 0) : undefined,
  );

  const portCounter = (name: string, help: string, key: string) =>
    new Counter({
      name: `tapbond_slave_${name}`,
      help,
      labelNames: slaveLabels,
      registers: [reg],
      collect() {
        this.reset();
        eachPort(source(), (l, p) => this.inc(l, p.counters[key] ?? 0));
      },
    });
  for (const [suffix, help, key] of PORT_COUNTERS) portCounter(suffix, help, key);
  new Counter({
    name: 'tapbond_slave_rx_dropped_total',
    help: 'Frames received on the slave and dropped, by reason',
    labelNames: [...slaveLabels, 'reason'],
    registers: [reg],
    collect() {
      this.reset();
      eachPort(source(), (l, p) => {
        for (const [reason, key] of RX_DROPS) this.inc({ ...l, reason }, p.counters[key] ?? 0);
      });
    },
  });
  const lacpCounter = (name: string, help: string, key: string) =>
    new Counter({
      name,
      help,
      labelNames: slaveLabels,
      registers: [reg],
      collect() {
        this.reset();
        eachPort(source(), (l, p) => {
          const st = p.lacp?.stats as Record<string, number> | undefined;
          if (st) this.inc(l, st[key] ?? 0);
        });
      },
    });
  lacpCounter('tapbond_lacp_rx_lacpdus_total', '802.3ad: LACPDUs received', 'lacpduRx');
  lacpCounter('tapbond_lacp_tx_lacpdus_total', '802.3ad: LACPDUs sent', 'lacpduTx');
  lacpCounter('tapbond_lacp_expired_total', '802.3ad: times the partner information expired', 'expired');
  lacpCounter('tapbond_lacp_illegal_rx_total', '802.3ad: malformed slow-protocols frames dropped', 'illegalRx');
  return reg;
}

function lacpNum(lacp: Record<string, unknown> | undefined, who: 'actor' | 'partner', key: string): number | undefined {
  if (!lacp) return undefined;
  const v = (lacp[who] as Record<string, unknown> | undefined)?.[key];
  return typeof v === 'number' ? v : undefined;
}

export interface MetricsListen {
  /** host:port (TCP) or unix:/path */
  address: string;
  /** Listening on a non-loopback address must be asked for. */
  allowRemote?: boolean;
}

/** Parses and checks a --metrics address; throws a message naming the value and what is allowed. */
export function parseMetricsAddress(
  address: string,
  allowRemote = false,
): { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number } {
  const what = `--metrics '${address}'`;
  if (address.startsWith('unix:')) {
    const path = address.slice(5);
    if (!path.startsWith('/')) throw new Error(`${what}: a unix socket needs an absolute path (unix:/run/tapbond/metrics.sock)`);
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  if (!m) throw new Error(`${what}: expected host:port, [ipv6]:port or unix:/path`);
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`${what}: port ${port} is not in 1-65535`);
  const loopback = host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
  if (!isIP(host) && host !== 'localhost') throw new Error(`${what}: '${host}' is not an IP address`);
  if (!loopback && !allowRemote) {
    throw new Error(
      `${what}: ${host} is not a loopback address; metrics listen on loopback or a unix socket unless --metrics-allow-remote is given`,
    );
  }
  return { kind: 'tcp', host, port };
}

/** Serves GET /metrics; resolves once listening. */
export async function serveMetrics(reg: Registry, listen: MetricsListen): Promise<{ server: Server; where: string; close(): void }> {
  const addr = parseMetricsAddress(listen.address, listen.allowRemote);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end('only GET /metrics here\n');
      return;
    }
    reg.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': reg.contentType }).end(body),
      (e: Error) => res.writeHead(500).end(`${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (addr.kind === 'unix') {
      mkdirSync(dirname(addr.path), { recursive: true });
      rmSync(addr.path, { force: true });
      server.listen(addr.path, () => resolve());
    } else server.listen(addr.port, addr.host, () => resolve());
  });
  if (addr.kind === 'unix') chmodSync(addr.path, 0o660);
  const where =
    addr.kind === 'unix' ? `unix:${addr.path}` : `http://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}/metrics`;
  return {
    server,
    where,
    close: () => {
      server.close();
      if (addr.kind === 'unix') rmSync(addr.path, { force: true });
    },
  };
}
