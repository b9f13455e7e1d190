import type { ChildProcess } from 'node:child_process';

/** See proc.mjs. */
export function exited(proc: ChildProcess): Promise<number | null>;
