#!/usr/bin/env node
// Does bondd retain memory as it runs? RSS and the heap in use grow between V8's major
// collections whatever a process retains, so the soak's RSS figure can not tell garbage from a
// leak. This takes two heap snapshots of bondd (each after a full collection) and compares what
// they hold: bondd in 802.3ad against Open vSwitch, `bondctl state` polled five times a second,
// an option changed every second and a link cut or restored every 5 s (five times the soak's
// control rate), HEAP_SECONDS (default 120) between the snapshots. Prints JSON: the retained
// heap at each snapshot and what grew, by kind of heap object; exit 1 when what grew outside
// compiled code exceeds HEAP_BOUND_KB (default 128). Bounded in time; the lab is removed also
// on failure.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ovsLab, sleep } from './lib/ovs-lab.mjs';
import { writeResult } from './lib/results.mjs';

const SECS = Number(process.env.HEAP_SECONDS ?? 120);
const BOUND_KB = Number(process.env.HEAP_BOUND_KB ?? 128);
const lab = ovsLab(`hg${process.pid % 100000}`);
process.on('SIGINT', () => {
  lab.cleanup();
  process.exit(130);
});

/**
 * A heap snapshot's objects summed by kind ("object Map", "code", ...): count and bytes.
 * @param {string} file
 * @returns {{ total: number, kinds: Map<string, { count: number, bytes: number }> }}
 */
function summarize(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: nodeTypes } = snap.snapshot.meta;
  const n = fields.length;
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const kinds = new Map();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += n) {
    const type = nodeTypes[0][snap.nodes[i + ti]];
    // objects by constructor; the rest (code, strings, arrays, ...) by type alone
    const kind = type === 'object' || type === 'closure' ? `${type} ${snap.strings[snap.nodes[i + ni]].slice(0, 60)}` : type;
    const k = kinds.get(kind) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += snap.nodes[i + si];
    total += snap.nodes[i + si];
    kinds.set(kind, k);
  }
  return { total, kinds };
}

async function main() {
  lab.up();
  const { bondd } = await lab.startBondd([], ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${lab.RUN}`]);
  const snapshots = () => readdirSync(lab.RUN).filter((f) => f.endsWith('.heapsnapshot'));
  const snapshot = async () => {
    const before = snapshots().length;
    bondd.kill('SIGUSR2'); // ip netns exec passes it on to node
    for (let i = 0; i < 300 && snapshots().length === before; i++) await sleep(100);
    await sleep(1000); // written in full
    return join(lab.RUN, snapshots().sort().pop() ?? '');
  };
  const churn = async (/** @type {number} */ secs) => {
    for (let t = 0; t < secs * 5; t++) {
      await sleep(200);
      if (bondd.exitCode !== null) throw new Error(`bondd exited ${bondd.exitCode}`);
      lab.bondctl('state', 'bond0', '--json');
      if (t % 5 === 0) lab.bondctl('set', 'bond0', `num_grat_arp=${1 + ((t / 5) % 2)}`);
      if (t % 25 === 0) lab.sh(lab.CLI, `ip link set q1 ${(t / 25) % 2 ? 'up' : 'down'}`);
    }
  };
  await churn(20); // warm-up: the code paths compiled, the caches filled
  const first = summarize(await snapshot());
  await churn(SECS);
  const last = summarize(await snapshot());
  const grew = [...last.kinds]
    .map(([kind, k]) => {
      const a = first.kinds.get(kind) ?? { count: 0, bytes: 0 };
      return { kind, count: k.count - a.count, bytes: k.bytes - a.bytes };
    })
    .filter((g) => g.bytes !== 0)
    .sort((a, b) => b.bytes - a.bytes);
  const outsideCode = grew.filter((g) => g.kind !== 'code').reduce((n, g) => n + g.bytes, 0);
  const result = {
    seconds: SECS,
    retained_heap_kb: { first: Math.round(first.total / 1024), last: Math.round(last.total / 1024) },
    // compiled code: functions optimised as they run, not data
    grew_code_kb: Math.round((grew.find((g) => g.kind === 'code')?.bytes ?? 0) / 1024),
    grew_outside_code_kb: Math.round(outsideCode / 1024),
    grew_most: grew.slice(0, 10),
  };
  const ok = outsideCode <= BOUND_KB * 1024;
  console.log(JSON.stringify({ ...result, ok }, null, 2));
  const file = writeResult('heap-growth', 'npm run heap-growth', { ...result, ok });
  if (file) process.stderr.write(`results: ${file}\n`);
  return ok ? 0 : 1;
}

main()
  .then((code) => {
    lab.cleanup();
    process.exit(code);
  })
  .catch((e) => {
    console.error(e);
    lab.cleanup();
    process.exit(2);
  });
