// bondd's wiring: native binding + host + bonds + one rtnetlink watcher + a control socket per
// bond + signals. Several bonds may run in one process (max_bonds, several ifcfg bonds).
import { Bond } from './bond/bond.js';
import { nativeHost, type Host } from './bond/host.js';
import type { DaemonConfig } from './config/index.js';
import { ControlServer } from './control/server.js';
import { BondError } from './errors.js';
import { loadBinding } from './native/binding.js';
import { ARPHRD_ETHER, type NativeBinding } from './native/types.js';
import { Rtnl, watchLinks } from './net/rtnl.js';
import { systemClock } from './util/clock.js';
import type { Logger } from './util/logger.js';
import { formatMac } from './util/mac.js';

export interface RunningDaemon {
  bonds: Bond[];
  stop(): void;
}

/**
 * ifcfg HWADDR: the slave is the interface that has that MAC, whatever its name now. Returns
 * the configs with slave names resolved; an unmatched MAC is an error that names the file's device.
 */
export function resolveSlaveNames(cfgs: DaemonConfig[], binding: NativeBinding): DaemonConfig[] {
  if (!cfgs.some((c) => c.slaveMacs)) return cfgs;
  const rtnl = new Rtnl(binding);
  const links = rtnl.links();
  rtnl.close();
  return cfgs.map((c) => {
    if (!c.slaveMacs) return c;
    const slaves = c.slaves.map((dev) => {
      const want = c.slaveMacs![dev];
      if (!want) return dev;
      const hit = links.find((l) => l.mac && formatMac(l.mac) === want && l.name);
      if (!hit) throw new BondError('EPORT_UNKNOWN', `${c.name}: no interface has HWADDR ${want} (slave ${dev} in its ifcfg file)`);
      return hit.name!;
    });
    return { ...c, slaves };
  });
}

/** Checks what can be checked without changing anything: the slaves exist and are Ethernet. */
export function preflight(cfgs: DaemonConfig[], binding: NativeBinding): void {
  const seen = new Map<string, string>();
  for (const cfg of cfgs) {
    for (const s of cfg.slaves) {
      if (seen.has(s)) throw new BondError('EPORT_EXISTS', `slaves: '${s}' is given to both ${seen.get(s)} and ${cfg.name}`);
      seen.set(s, cfg.name);
      let info;
      try {
        info = binding.linkInfo(s);
      } catch (e) {
        throw new BondError('EPORT_UNKNOWN', `slaves: no interface named '${s}' in this network namespace (${(e as Error).message})`);
      }
      if (info.type !== ARPHRD_ETHER) throw new BondError('EPORT_INVALID', `slaves: '${s}' is not an Ethernet interface (link type ${info.type})`);
    }
    let exists = false;
    try {
      binding.linkInfo(cfg.name);
      exists = true;
    } catch {
      /* free: good */
    }
    if (exists) throw new BondError('EPORT_EXISTS', `name: an interface named '${cfg.name}' already exists in this network namespace`);
  }
}

function startOne(cfg: DaemonConfig, host: Host, log: Logger): Bond {
  const bond = new Bond({ name: cfg.name, options: cfg.options, mtu: cfg.mtu, mac: cfg.mac, up: cfg.up, busyPollUs: cfg.busyPollUs }, { host, clock: systemClock, log });
  for (const n of cfg.notes) log.warn(`${cfg.name}: ${n}`);
  bond.start();
  try {
    for (const s of cfg.slaves) bond.enslave(s);
    for (const a of cfg.addresses ?? []) {
      host.addAddress(bond.ifindex, a.address, a.prefixlen);
      log.info(`${cfg.name}: address ${a.address}/${a.prefixlen}`);
    }
  } catch (e) {
    bond.stop();
    throw e;
  }
  return bond;
}

export interface DaemonSettings {
  runDir: string;
  /** Pin the datapath (main) thread; one setting for the whole process. */
  cpus?: number[];
}

export async function startDaemon(cfgsIn: DaemonConfig[], settings: DaemonSettings, log: Logger): Promise<RunningDaemon> {
  const binding = loadBinding();
  const cfgs = resolveSlaveNames(cfgsIn, binding);
  preflight(cfgs, binding);
  if (settings.cpus) binding.setAffinity(settings.cpus);
  const { runDir } = settings;
  const host = nativeHost(binding);
  const bonds: Bond[] = [];
  const servers: ControlServer[] = [];
  const watcher = watchLinks(
    binding,
    (ev) => {
      for (const b of bonds) b.onLinkEvent(ev);
    },
    (a, added) => {
      for (const b of bonds) if (added && a.ifindex === b.ifindex) b.onAddressAdded(a);
    },
  );
  const stop = () => {
    for (const s of servers) s.close();
    watcher.close();
    for (const b of [...bonds].reverse()) b.stop();
    host.close();
  };
  try {
    for (const cfg of cfgs) {
      bonds.push(startOne(cfg, host, log));
      const server = new ControlServer(bonds[bonds.length - 1], runDir, log);
      await server.listen();
      servers.push(server);
      log.info(`${cfg.name}: ready, control socket ${server.path}`);
    }
  } catch (e) {
    stop();
    throw e;
  }
  let stopped = false;
  return {
    bonds,
    stop: () => {
      if (stopped) return;
      stopped = true;
      stop();
    },
  };
}
