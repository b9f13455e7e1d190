// Counts glibc's malloc arenas in this process before and after three worker threads allocate,
// with the arena limit set through the addon first (argv[3], a number) or not ('none').
// Prints {"set": ..., "before": n, "after": n}. A thread arena is an anonymous 64 MiB-aligned
// read-write mapping, the rest of its 64 MiB reserved without access (HEAP_MAX_SIZE).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const binding = createRequire(import.meta.url)(process.argv[2]);
const limit = process.argv[3];
const set = limit === 'none' ? null : binding.mallocArenaMax(Number(limit));
const HEAP_MAX = 0x4000000n;

function arenas() {
  const maps = readFileSync('/proc/self/maps', 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.trim().split(/\s+/);
      const [a, z] = f[0].split('-').map((x) => BigInt(`0x${x}`));
      return { a, z, perms: f[1], anon: f.length === 5 && f[4] === '0' };
    });
  return maps.filter((m, i) => {
    if (!m.anon || m.perms !== 'rw-p' || m.a % HEAP_MAX !== 0n) return false;
    const rest = maps[i + 1];
    return m.z - m.a === HEAP_MAX || (rest?.perms === '---p' && rest.a === m.z && rest.z === m.a + HEAP_MAX);
  }).length;
}

const before = arenas();
const code =
  'const { parentPort } = require("node:worker_threads"); const keep = []; for (let i = 0; i < 2000; i++) keep.push(Buffer.allocUnsafeSlow(1024)); parentPort.postMessage(keep.length);';
const workers = [0, 1, 2].map(() => new Worker(code, { eval: true }));
Promise.all(workers.map((w) => new Promise((r) => w.once('message', r)))).then(() => {
  process.stdout.write(`${JSON.stringify({ set, before, after: arenas() })}\n`);
  process.exit(0);
});
