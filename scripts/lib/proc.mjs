// Child-process helpers shared by the scripts.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BONDD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'bondd.js');

/**
 * What follows `ip netns exec NS` to run this checkout's bondd as the scripts do: bond0 over
 * `slaves` (comma-separated), log lines as text, its own run directory; `args` adds flags and
 * options, `nodeFlags` go to node itself.
 * @param {string} runDir
 * @param {string} slaves
 * @param {string[]} [args]
 * @param {string[]} [nodeFlags]
 * @returns {string[]}
 */
export function bonddArgv(runDir, slaves, args = [], nodeFlags = []) {
  return [
    process.execPath,
    ...nodeFlags,
    BONDD,
    '--log-format',
    'pretty',
    '--run-dir',
    runDir,
    '--name',
    'bond0',
    '--slaves',
    slaves,
    ...unpinned(args),
  ];
}

/**
 * Resolves with the exit code once `proc` has exited, also when it already had: an 'exit'
 * listener added after the fact never fires, which would hang the caller.
 * @param {import('node:child_process').ChildProcess} proc
 * @returns {Promise<number | null>}
 */
export function exited(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

/**
 * @typedef {object} StartedBondd
 * @property {import('node:child_process').ChildProcess} proc
 * @property {() => string} log what it wrote so far (stderr)
 * @property {(timeoutMs?: number) => Promise<void>} ready resolves once every bond it was
 *   started for has logged its "NAME: ready" line; rejects with its log when it exits first or
 *   `timeoutMs` (default 10 s) pass
 */

/**
 * The scripts' one way to start bondd: this checkout's, in namespace `ns`, as bonddArgv builds
 * it (pinning is bondd's own `--cpu` flag, in `args`).
 * @param {string} ns
 * @param {string} runDir
 * @param {string} slaves
 * @param {string[]} [args]
 * @param {string[]} [nodeFlags]
 * @returns {StartedBondd}
 */
export function spawnBondd(ns, runDir, slaves, args = [], nodeFlags = []) {
  return spawnBonddArgv(ns, bonddArgv(runDir, slaves, args, nodeFlags), ['bond0']);
}

/**
 * This checkout's bondd in `ns` with arguments of the caller's own (several bonds from a config
 * directory, say); ready once each of `bonds` is.
 * @param {string} ns
 * @param {string[]} args bondd's arguments (after `bondd.js`)
 * @param {string[]} bonds
 * @returns {StartedBondd}
 */
export function spawnBonddWith(ns, args, bonds) {
  return spawnBonddArgv(ns, [process.execPath, BONDD, '--log-format', 'pretty', ...unpinned(args)], bonds);
}

/**
 * `--bpffs none` unless `args` name a bpffs: a script's lab goes with its namespaces, and
 * nothing the kernel path would pin on a host's /sys/fs/bpf may outlive it.
 * @param {string[]} args
 */
function unpinned(args) {
  return args.includes('--bpffs') ? args : ['--bpffs', 'none', ...args];
}

/**
 * @param {string} ns
 * @param {string[]} argv
 * @param {string[]} bonds
 * @returns {StartedBondd}
 */
function spawnBonddArgv(ns, argv, bonds) {
  let log = '';
  const proc = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr?.on('data', (d) => (log += d));
  const ready = async (timeoutMs = 10_000) => {
    const end = Date.now() + timeoutMs;
    // the pretty line "bond0: ready, ...", or the JSON one with bond and event fields
    const isReady = (/** @type {string} */ b) =>
      log.includes(`${b}: ready`) || log.split('\n').some((l) => l.includes(`"bond":"${b}"`) && l.includes('"event":"ready"'));
    while (!bonds.every(isReady)) {
      if (proc.exitCode !== null || Date.now() > end) throw new Error(`bondd did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { proc, log: () => log, ready };
}
