// Handing running bonds to the next bondd without a gap in what the host sees. The data plane
// needs no help (the kernel path's programs and maps are pinned); what must not fall is each
// TAP's carrier, which goes off when its last fd closes. So a copy of each TAP's fd crosses to
// the next process: over a unix socket (SCM_RIGHTS) for `bondd --takeover`, across execve for a
// reload (SIGHUP: `systemctl reload`), or through systemd's fd store for a restart (daemon.ts).
// The state the next process goes on from (active slave, LACP) is in the journal.
import { readFileSync, rmSync } from 'node:fs';
import { call } from './control/client.js';
import { socketPath } from './control/protocol.js';
import { BondError } from './errors.js';
import { loadBinding } from './native/binding.js';
import type { Logger } from './util/logger.js';

/** TAP fds kept open across a reload's execve, as "bond0=7,bond1=8". */
export const TAP_FDS_ENV = 'TAPBOND_TAP_FDS';

/** The TAP fds a reload left this process (the variable is removed). */
export function inheritedTapFds(env: NodeJS.ProcessEnv = process.env): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (env[TAP_FDS_ENV] ?? '').split(',')) {
    const m = /^([^=]+)=(\d+)$/.exec(part.trim());
    if (m) out.set(m[1], Number(m[2]));
  }
  delete env[TAP_FDS_ENV];
  return out;
}

/** This program again, from disk, in this process (the same pid, the same arguments). */
export function reexec(env: NodeJS.ProcessEnv): never {
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const vars = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const b = loadBinding();
  // Node marks its standard streams close-on-exec: the next program must keep them (its log)
  for (const fd of [0, 1, 2]) {
    try {
      b.setCloexec(fd, false);
    } catch {
      /* not open */
    }
  }
  return b.execve(process.execPath, argv, vars);
}

/** Whether `pid` still runs (a zombie, exited but not yet reaped by its parent, does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * `bondd --takeover`: asks the bondd that runs each of `bonds` (its control socket in `runDir`)
 * for a copy of the TAP's fd, then waits until it has let go and exited, so that its journal
 * (with the state it wrote on the way out) is this process's to adopt. Returns the fds by bond.
 */
export async function takeOver(bonds: string[], runDir: string, log: Logger, waitMs = 10_000): Promise<Map<string, number>> {
  const binding = loadBinding();
  const fds = new Map<string, number>();
  const pids = new Set<number>();
  for (const bond of bonds) {
    const path = `${runDir.replace(/\/+$/, '')}/${bond}.takeover-${process.pid}.sock`;
    rmSync(path, { force: true });
    const sock = binding.bindDatagram(path);
    try {
      const r = (await call(socketPath(runDir, bond), 'bond.handover', { path })) as { pid: number };
      const got = binding.recvFds(sock, 5000);
      if (!got || got.fds.length === 0) throw new BondError('ECONTROL', `${bond}: bondd (pid ${r.pid}) sent no TAP fd`);
      for (const extra of got.fds.slice(1)) binding.closeFd(extra);
      fds.set(bond, got.fds[0]);
      pids.add(r.pid);
      log.info(`taking ${bond} over from bondd pid ${r.pid}`, { bond, event: 'takeover' });
    } finally {
      binding.closeFd(sock);
      rmSync(path, { force: true });
    }
  }
  // it lets go of the last bond it hands over, then exits
  const end = Date.now() + waitMs;
  for (const pid of pids) {
    while (alive(pid)) {
      if (Date.now() > end) throw new BondError('EBUSY', `bondd pid ${pid} handed its bonds over but did not exit within ${waitMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return fds;
}
