// Child-process helpers shared by the scripts.

/**
 * Resolves with the exit code once `proc` has exited, also when it already had: an 'exit'
 * listener added after the fact never fires, which would hang the caller.
 */
export function exited(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}
