// Control protocol: NDJSON over a unix socket, one request per line, one reply per line.
export interface Request {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: string; message: string } };

export function socketPath(runDir: string, bond: string): string {
  return `${runDir.replace(/\/+$/, '')}/${bond}.sock`;
}

export const DEFAULT_RUN_DIR = '/run/tapbond';
