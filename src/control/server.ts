// Control socket server: NDJSON over a unix socket (mode 0600, or 0660 for --control-group),
// peers checked by SO_PEERCRED. Transport only.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
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

/**
 * Who may use the socket: root, the daemon's own user, and members of `group` (the socket is
 * then mode 0660 and that group's). Checked on every connection with SO_PEERCRED, whatever the
 * file's mode says.
 */
export interface ControlAccess {
  peerCred: (fd: number) => { pid: number; uid: number; gid: number };
  group?: number;
}

/** The groups of a process (primary and supplementary), from /proc. */
function groupsOf(pid: number, gid: number): number[] {
  try {
    const line = /^Groups:(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
    return [gid, ...line.trim().split(/\s+/).filter(Boolean).map(Number)];
  } catch {
    return [gid];
  }
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
    private readonly access?: ControlAccess,
  ) {
    this.path = socketPath(runDir, bond.name);
  }

  /** Why this peer may not use the socket, or null when it may. */
  private denied(sock: Socket): string | null {
    if (!this.access) return null;
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) return 'cannot tell who is connecting';
    let cred: { pid: number; uid: number; gid: number };
    try {
      cred = this.access.peerCred(fd);
    } catch (e) {
      return `cannot tell who is connecting (${(e as Error).message})`;
    }
    if (cred.uid === 0 || cred.uid === process.geteuid?.()) return null;
    const g = this.access.group;
    if (g !== undefined && groupsOf(cred.pid, cred.gid).includes(g)) return null;
    return `permission denied: uid ${cred.uid} is not root${g !== undefined ? ` and not in group ${g}` : ''} (bondd --control-group allows a group)`;
  }

  async listen(): Promise<void> {
    const dir = this.path.slice(0, this.path.lastIndexOf('/'));
    const group = this.access?.group;
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    // the group must reach the socket: a run directory of ours becomes 0750 and the group's
    if (group !== undefined && statSync(dir).uid === process.geteuid?.()) {
      chownSync(dir, -1, group);
      chmodSync(dir, 0o750);
    }
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
      const why = this.denied(sock);
      if (why) {
        this.log.warn(`control client refused: ${why}`, { event: 'control-denied' });
        return refuse(sock, why);
      }
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
    if (group === undefined) chmodSync(this.path, 0o600);
    else {
      chownSync(this.path, -1, group);
      chmodSync(this.path, 0o660);
    }
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
