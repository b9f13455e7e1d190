#!/usr/bin/env node
// tapbond demo: builds a namespace lab, runs bondd (active-backup) over two veth slaves, sends
// traffic through it, fails the active link, prints `bondctl show` before and after, measures
// the outage with a UDP probe, takes the bond down with `bondctl delete` (slaves restored, bondd
// exits), and cleans up.
// Everything happens inside namespaces it creates; nothing touches the root namespace.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bonddArgv, exited } from './lib/proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const P = `demo${process.pid % 100000}`;
const [SRV, SW, CLI] = [`${P}-srv`, `${P}-sw`, `${P}-cli`];
const RUN = mkdtempSync(join(tmpdir(), 'tapbond-demo-'));
const node = process.execPath;
/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** @param {string} s */
const say = (s) => process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);
/** @type {(ns: string, cmd: string, args: string[], opts?: import('node:child_process').ExecFileSyncOptions) => string} */
const inNs = (ns, cmd, args, opts = {}) => String(execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', ...opts }));
/** @param {string[]} args */
const bondctl = (...args) => inNs(SRV, node, [join(ROOT, 'dist/cli/bondctl.js'), '--run-dir', RUN, ...args]);
/** @type {import('node:child_process').ChildProcess | undefined} */
let bondd;

function cleanup() {
  if (bondd && bondd.exitCode === null) bondd.kill('SIGKILL');
  spawnSync('bash', [join(ROOT, 'scripts/netns/lab.sh'), 'down', P]);
  rmSync(RUN, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/**
 * @param {number} seconds
 * @param {number} rate
 * @param {() => Promise<void>} [during]
 */
async function probe(seconds, rate, during) {
  const recv = spawn(
    'ip',
    ['netns', 'exec', SRV, node, join(ROOT, 'scripts/lib/udp-probe.mjs'), 'recv', '9000', String(seconds + 1), String(rate)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  recv.stdout.on('data', (d) => (out += d));
  await sleep(300);
  const send = spawn(
    'ip',
    ['netns', 'exec', CLI, node, join(ROOT, 'scripts/lib/udp-probe.mjs'), 'send', '198.18.0.1', '9000', String(rate), String(seconds)],
    { stdio: 'ignore' },
  );
  await during?.();
  await exited(send);
  await exited(recv);
  return JSON.parse(out);
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the demo builds network namespaces: run it as root');
  if (!existsSync(join(ROOT, 'build/Release/tapbond.node')) || !existsSync(join(ROOT, 'dist/cli/bondd.js')))
    throw new Error('not built: run `npm install` (or `npm run build`) first');

  say(`lab: namespaces ${SRV} (bondd), ${SW} (bridge "switch"), ${CLI} (client 198.18.0.2)`);
  execFileSync('bash', [join(ROOT, 'scripts/netns/lab.sh'), 'up', P, '2'], { stdio: 'inherit' });

  say('bondd --name bond0 --slaves s0,s1 mode=active-backup miimon=100 num_grat_arp=2');
  let log = '';
  bondd = spawn('ip', ['netns', 'exec', SRV, ...bonddArgv(RUN, 's0,s1', ['mode=active-backup', 'miimon=100', 'num_grat_arp=2'])], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  bondd.stderr?.on('data', (d) => {
    log += d;
    process.stdout.write(`  bondd| ${d}`.replace(/\n(?=.)/g, '\n  bondd| '));
  });
  for (let i = 0; i < 100 && !log.includes('bond0: ready'); i++) await sleep(50);
  if (!log.includes('bond0: ready')) throw new Error('bondd did not start');
  inNs(SRV, 'ip', ['addr', 'add', '198.18.0.1/24', 'dev', 'bond0']);
  await sleep(300);

  say('bondctl show bond0 (before)');
  process.stdout.write(bondctl('show', 'bond0'));

  say('UDP probe client -> bond at 5000 pps for 3 s; the active link s0 fails after 1 s (its switch port goes down)');
  const r = await probe(3, 5000, async () => {
    await sleep(1000);
    inNs(SW, 'ip', ['link', 'set', 'p0', 'down']);
  });
  process.stdout.write(
    `  received ${r.received} of ${r.last_seq + 1}, lost ${r.lost}; outage ${r.outage_ms.toFixed(1)} ms (longest silence ${r.max_silence_ms.toFixed(1)} ms)\n`,
  );

  say('bondctl show bond0 (after the failure)');
  process.stdout.write(bondctl('show', 'bond0', '--stats'));

  say('bondctl delete bond0: every slave restored, bond0 removed, bondd done (a SIGTERM would leave the bond running)');
  const before = inNs(SRV, 'ip', ['-br', 'link', 'show']);
  process.stdout.write(bondctl('delete', 'bond0'));
  await exited(bondd);
  process.stdout.write(
    `  while bonded:\n${before.replace(/^/gm, '    ')}  after the delete:\n${inNs(SRV, 'ip', ['-br', 'link', 'show']).replace(/^/gm, '    ')}`,
  );
  say('done: the lab is removed');
}

main()
  .catch((e) => {
    process.stderr.write(`demo failed: ${e.message}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
