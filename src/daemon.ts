// bondd's wiring: native binding + host + bond + rtnetlink watcher + control socket + signals.
import { Bond } from './bond/bond.js';
import { nativeHost } from './bond/host.js';
import type { DaemonConfig } from './config.js';
import { ControlServer } from './control/server.js';
import { BondError } from './errors.js';
import { loadBinding } from './native/binding.js';
import { ARPHRD_ETHER } from './native/types.js';
import { watchLinks } from './net/rtnl.js';
import { systemClock } from './util/clock.js';
import type { Logger } from './util/logger.js';

export interface RunningDaemon {
  bond: Bond;
  stop(): void;
}

/** Checks what can be checked without changing anything: the slaves exist and are Ethernet. */
export function preflight(cfg: DaemonConfig): void {
  const b = loadBinding();
  for (const s of cfg.slaves) {
    let info;
    try {
      info = b.linkInfo(s);
    } catch (e) {
      throw new BondError('EPORT_UNKNOWN', `slaves: no interface named '${s}' in this network namespace (${(e as Error).message})`);
    }
    if (info.type !== ARPHRD_ETHER) throw new BondError('EPORT_INVALID', `slaves: '${s}' is not an Ethernet interface (link type ${info.type})`);
  }
  try {
    b.linkInfo(cfg.name);
    throw new BondError('EPORT_EXISTS', `name: an interface named '${cfg.name}' already exists in this network namespace`);
  } catch (e) {
    if (e instanceof BondError) throw e;
  }
}

export async function startDaemon(cfg: DaemonConfig, runDir: string, log: Logger): Promise<RunningDaemon> {
  preflight(cfg);
  const binding = loadBinding();
  if (cfg.cpus) binding.setAffinity(cfg.cpus);
  const host = nativeHost(binding);
  const bond = new Bond({ name: cfg.name, options: cfg.options, mtu: cfg.mtu, mac: cfg.mac, up: cfg.up, busyPollUs: cfg.busyPollUs }, { host, clock: systemClock, log });
  for (const n of cfg.notes) log.warn(`${cfg.name}: ${n}`);
  bond.start();
  const watcher = watchLinks(binding, (ev) => bond.onLinkEvent(ev));
  const server = new ControlServer(bond, runDir, log);
  try {
    for (const s of cfg.slaves) bond.enslave(s);
    await server.listen();
  } catch (e) {
    watcher.close();
    bond.stop();
    host.close();
    throw e;
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    server.close();
    watcher.close();
    bond.stop();
    host.close();
  };
  log.info(`${cfg.name}: ready, control socket ${server.path}`);
  return { bond, stop };
}
