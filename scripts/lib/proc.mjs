// Child-process helpers shared by the scripts.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BONDD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'bondd.js');

/**
 * What follows `ip netns exec NS` to run this checkout's bondd as the scripts do: bond0 over
 * `slaves` (comma-separated), log lines as text, its own run directory; `args` adds flags and
 * options, `nodeFlags` go to node itself.
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
    ...args,
  ];
}

/**
 * Resolves with the exit code once `proc` has exited, also when it already had: an 'exit'
 * listener added after the fact never fires, which would hang the caller.
 */
export function exited(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}
