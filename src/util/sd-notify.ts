// systemd readiness protocol (sd_notify(3)): datagrams "READY=1", "STATUS=...", "STOPPING=1",
// "WATCHDOG=1" to $NOTIFY_SOCKET. Without NOTIFY_SOCKET (not under systemd) nothing is sent.

export interface Notifier {
  readonly enabled: boolean;
  notify(fields: Record<string, string | number>): void;
  /** Half the watchdog interval systemd asked for (WATCHDOG_USEC), or null. */
  readonly watchdogMs: number | null;
}

/** Node has no unix datagram sockets: `send` is the addon's sendUnixDatagram. */
export type DatagramSender = (path: string, data: Uint8Array) => void;

export function sdNotifier(send: DatagramSender, env: NodeJS.ProcessEnv = process.env): Notifier {
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
  };
}
