// `bondctl watch bond0`: a live view of the slaves, their links, the active slave and rates,
// computed from two successive state dumps. Rendering is a pure function (tested as such).
import type { BondState, PortState } from '../state/schema.js';
import { MODE_INFO, type ModeName } from '../options/modes.js';

const RX_DROP_KEYS = ['rx_kernel_drops', 'rx_truncated', 'rx_malformed', 'rx_inactive_dropped'] as const;

function drops(p: PortState): number {
  let n = p.counters.tx_errors ?? 0;
  for (const k of RX_DROP_KEYS) n += p.counters[k] ?? 0;
  return n;
}

function rate(cur: number, prev: number | undefined, dtMs: number): number {
  if (prev === undefined || dtMs <= 0 || cur < prev) return 0;
  return ((cur - prev) * 1000) / dtMs;
}

const fmtPps = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
const fmtBits = (bytesPerSec: number) => {
  const b = bytesPerSec * 8;
  return b >= 1e9
    ? `${(b / 1e9).toFixed(2)}G`
    : b >= 1e6
      ? `${(b / 1e6).toFixed(1)}M`
      : b >= 1e3
        ? `${(b / 1e3).toFixed(1)}k`
        : b.toFixed(0);
};

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** One screen: the bond line, then one line per slave with rates since `prev` (dtMs earlier). */
export function renderWatch(cur: BondState, prev: BondState | null, dtMs: number, now = new Date()): string {
  const b = cur.bond;
  const head = [
    `${b.name}`,
    `mode ${b.mode}`,
    `carrier ${b.carrier ? 'up' : 'down'}`,
    ...(MODE_INFO[b.mode as ModeName]?.usesPrimary ? [`active ${b.active_slave ?? 'none'}`] : []),
    `failovers ${b.failovers}`,
  ].join('  ');
  const lacp = cur.ports.some((p) => p.lacp);
  const rows: string[][] = [
    ['SLAVE', 'LINK', 'STATE', 'SPEED', 'RX pps', 'RX bit/s', 'TX pps', 'TX bit/s', 'DROPS', 'FAILURES', ...(lacp ? ['LACP'] : [])],
  ];
  for (const p of cur.ports) {
    const q = prev?.ports.find((x) => x.name === p.name);
    const c = p.counters;
    rows.push([
      p.name,
      p.mii_status,
      p.state,
      p.speed > 0 ? `${p.speed}Mb` : '?',
      fmtPps(rate(c.rx_frames, q?.counters.rx_frames, dtMs)),
      fmtBits(rate(c.rx_bytes, q?.counters.rx_bytes, dtMs)),
      fmtPps(rate(c.tx_frames, q?.counters.tx_frames, dtMs)),
      fmtBits(rate(c.tx_bytes, q?.counters.tx_bytes, dtMs)),
      String(drops(p)),
      String(p.link_failure_count),
      ...(lacp
        ? [p.lacp ? `${String(p.lacp.mux_state)}${p.lacp.rx_state !== 'current' ? ` (${String(p.lacp.rx_state)})` : ''}` : '-']
        : []),
    ]);
  }
  return `${head}    ${now.toISOString().replace('T', ' ').slice(0, 19)}\n${table(rows)}\n`;
}
