import type { ChildProcess } from 'node:child_process';

/** See proc.mjs. */
export function exited(proc: ChildProcess): Promise<number | null>;

/** See proc.mjs. */
export function bonddArgv(runDir: string, slaves: string, args?: string[], nodeFlags?: string[]): string[];
