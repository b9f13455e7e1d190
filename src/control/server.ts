// Control socket server: NDJSON over a unix socket (mode 0600). Transport only.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import type { Bond } from '../bond/bond.js';
import { BondError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { METHOD_BY_NAME } from './methods.js';
import { socketPath, type Reply, type Request } from './protocol.js';

const MAX_LINE = 1 << 20;

async function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export class ControlServer {
  private server: Server | undefined;
  readonly path: string;

  constructor(
    private readonly bond: Bond,
    runDir: string,
    private readonly log: Logger,
  ) {
    this.path = socketPath(runDir, bond.name);
  }

  async listen(): Promise<void> {
    const dir = this.path.slice(0, this.path.lastIndexOf('/'));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.path)) {
      if (await isLive(this.path)) throw new BondError('ECONTROL', `${this.path}: a daemon already serves ${this.bond.name} there`);
      unlinkSync(this.path);
    }
    const server = createServer((sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > MAX_LINE) {
          sock.destroy();
          return;
        }
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) sock.write(JSON.stringify(this.handle(line)) + '\n');
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const old = process.umask(0o177);
      server.listen(this.path, () => {
        process.umask(old);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private handle(line: string): Reply {
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      return { id: 0, ok: false, error: { code: 'ECONTROL', message: 'request is not JSON' } };
    }
    const m = METHOD_BY_NAME.get(req.method);
    if (!m) return { id: req.id, ok: false, error: { code: 'ECONTROL', message: `unknown method '${req.method}'` } };
    try {
      return { id: req.id, ok: true, result: m.handler(this.bond, req.params ?? {}) };
    } catch (e) {
      const err = e as Error & { code?: string };
      if (!(e instanceof BondError)) this.log.warn(`${req.method} failed: ${err.message}`);
      return { id: req.id, ok: false, error: { code: err.code ?? 'EFAIL', message: err.message } };
    }
  }

  close(): void {
    this.server?.close();
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
