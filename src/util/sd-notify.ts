// systemd readiness protocol (sd_notify(3)): datagrams "READY=1", "STATUS=...", "STOPPING=1",
// "WATCHDOG=1" to $NOTIFY_SOCKET, and the file descriptor store ("FDSTORE=1" with the fds
// attached, "FDSTOREREMOVE=1"), which systemd hands back to the next start of the service as
// $LISTEN_FDS (listenFds). Without NOTIFY_SOCKET (not under systemd) nothing is sent.

export interface Notifier {
  readonly enabled: boolean;
  notify(fields: Record<string, string | number>): void;
  /** Half the watchdog interval systemd asked for (WATCHDOG_USEC), or null. */
  readonly watchdogMs: number | null;
  /** Gives systemd a copy of `fd` to keep under `name` across restarts (FDSTORE=1); false when not under systemd. */
  storeFd(name: string, fd: number): boolean;
  /** systemd lets go of every fd kept under `name` (FDSTOREREMOVE=1). */
  removeFd(name: string): void;
}

/** Node has no unix datagram sockets: `send` is the addon's sendUnixDatagram, `sendFds` its sendFds. */
export type DatagramSender = (path: string, data: Uint8Array) => void;
export type FdSender = (path: string, data: Uint8Array, fds: number[]) => void;

/**
 * The fds systemd passed to this process ($LISTEN_FDS from 3 on, named by $LISTEN_FDNAMES),
 * by name; empty when $LISTEN_PID is not this process. The variables are removed, so that
 * nothing this process starts takes them for its own.
 */
export function listenFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const n = Number(env.LISTEN_FDS);
  if (Number(env.LISTEN_PID) === pid && Number.isInteger(n) && n > 0) {
    const names = (env.LISTEN_FDNAMES ?? '').split(':');
    for (let i = 0; i < n; i++) {
      const name = names[i] || 'unknown';
      out.set(name, [...(out.get(name) ?? []), 3 + i]);
    }
  }
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  return out;
}

export function sdNotifier(send: DatagramSender, env: NodeJS.ProcessEnv = process.env, sendFds?: FdSender): Notifier {
  const path = env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  // WATCHDOG_PID, when set, must be us
  const watchdogForUs = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  return {
    enabled: !!path,
    watchdogMs: path && usec > 0 && watchdogForUs ? Math.max(1, Math.floor(usec / 2000)) : null,
    notify(fields) {
      if (!path) return;
      const text = Object.entries(fields)
        .map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`)
        .join('\n');
      send(path, Buffer.from(text));
    },
    storeFd(name, fd) {
      if (!path || !sendFds) return false;
      sendFds(path, Buffer.from(`FDSTORE=1\nFDNAME=${name}`), [fd]);
      return true;
    },
    removeFd(name) {
      if (path) send(path, Buffer.from(`FDSTOREREMOVE=1\nFDNAME=${name}`));
    },
  };
}
