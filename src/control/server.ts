// Control socket server: NDJSON over a unix socket (mode 0600). Transport only.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Bond } from '../bond/bond.js';
import { BondError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { METHOD_BY_NAME, type MethodContext } from './methods.js';
import { socketPath, type Reply, type Request } from './protocol.js';

/** Limits that keep one client from holding up the daemon (and so the datapath). */
export interface ControlLimits {
  /** A request line longer than this is answered with an error and the connection closed. */
  maxLine: number;
  /** Clients at once; one more is answered with an error and closed. */
  maxClients: number;
  /** A client silent this long is disconnected. */
  idleMs: number;
  /** Replies a client leaves unread beyond this many bytes: it is disconnected. */
  maxUnread: number;
}

export const DEFAULT_LIMITS: ControlLimits = { maxLine: 64 << 10, maxClients: 32, idleMs: 30_000, maxUnread: 4 << 20 };

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

  private clients = 0;

  constructor(
    private readonly bond: Bond,
    runDir: string,
    private readonly log: Logger,
    private readonly ctx: MethodContext = {},
    private readonly limits: ControlLimits = DEFAULT_LIMITS,
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
    const lim = this.limits;
    const refuse = (sock: Socket, message: string) => {
      sock.removeAllListeners('data');
      sock.end(JSON.stringify({ id: 0, ok: false, error: { code: 'ECONTROL', message } }) + '\n');
      setTimeout(() => sock.destroy(), 1000).unref(); // whether or not it reads the answer
    };
    const server = createServer((sock) => {
      sock.on('error', () => {});
      if (this.clients >= lim.maxClients) return refuse(sock, `too many control clients (at most ${lim.maxClients} at once)`);
      this.clients++;
      sock.once('close', () => this.clients--);
      sock.setTimeout(lim.idleMs, () => sock.destroy());
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.length > lim.maxLine) return refuse(sock, `request line longer than ${lim.maxLine} bytes`);
          if (line.trim()) sock.write(JSON.stringify(this.handle(line)) + '\n');
          if (sock.writableLength > lim.maxUnread) return sock.destroy(); // it does not read its replies
        }
        if (buf.length > lim.maxLine) refuse(sock, `request line longer than ${lim.maxLine} bytes`);
      });
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
      return { id: req.id, ok: true, result: m.handler(this.bond, req.params ?? {}, this.ctx) };
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
