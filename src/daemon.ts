// bondd's wiring: native binding + host + bonds + one rtnetlink watcher + a control socket per
// bond + signals. Several bonds may run in one process (max_bonds, several ifcfg bonds).
import { readdirSync } from 'node:fs';
import { Bond } from './bond/bond.js';
import { Journal, journalPath } from './bond/journal.js';
import { recoverJournal, type Recovery } from './bond/recover.js';
import { nativeHost, type Host } from './host/host.js';
import type { DaemonConfig } from './config/index.js';
import { ControlServer, DEFAULT_LIMITS } from './control/server.js';
import { BondError } from './errors.js';
import { loadBinding } from './native/binding.js';
import { ARPHRD_ETHER, type NativeBinding } from './native/types.js';
import { Rtnl, watchLinks } from './net/rtnl.js';
import { systemClock } from './util/clock.js';
import type { Logger } from './util/logger.js';
import { metricsRegistry, serveMetrics, type MetricsListen } from './metrics.js';
import { sdNotifier } from './util/sd-notify.js';
import { formatMac } from './util/mac.js';
import { limitMallocArenas } from './util/malloc-arenas.js';
import { ProcessStats } from './util/process-stats.js';

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
      if (!hit) {
        const where = c.slaveMacWhere?.[dev];
        throw new BondError(
          'EPORT_UNKNOWN',
          where
            ? `${c.name}: no interface has MAC ${want} (slave ${dev}, ${where})`
            : `${c.name}: no interface has HWADDR ${want} (slave ${dev} in its ifcfg file)`,
        );
      }
      return hit.name!;
    });
    // options and per-slave options that named a slave as the file did follow it
    const rename = (n: string) => slaves[c.slaves.indexOf(n)] ?? n;
    const options = c.options.primary ? { ...c.options, primary: rename(c.options.primary) } : c.options;
    const slaveOptions = c.slaveOptions?.map((o) => ({ ...o, slave: rename(o.slave) }));
    return { ...c, slaves, options, ...(slaveOptions ? { slaveOptions } : {}) };
  });
}

const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

/**
 * Makes permitted capabilities effective (a non-root bondd whose node binary has
 * `setcap cap_net_admin,cap_net_raw+p`, as in the Docker image) and says clearly what is
 * missing instead of failing later on the first ioctl.
 */
export function checkCapabilities(binding: Pick<NativeBinding, 'raiseCaps'>): void {
  const { effective } = binding.raiseCaps();
  const missing = [
    [CAP_NET_ADMIN, 'CAP_NET_ADMIN'],
    [CAP_NET_RAW, 'CAP_NET_RAW'],
  ]
    .filter(([bit]) => !((effective >>> (bit as number)) & 1))
    .map(([, name]) => name);
  if (missing.length) {
    throw new BondError(
      'EPERM',
      `bondd needs ${missing.join(' and ')}: run it as root, under systemd with AmbientCapabilities, or in Docker with --cap-add NET_ADMIN --cap-add NET_RAW --device /dev/net/tun`,
    );
  }
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
      if (info.type !== ARPHRD_ETHER)
        throw new BondError('EPORT_INVALID', `slaves: '${s}' is not an Ethernet interface (link type ${info.type})`);
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

function startOne(cfg: DaemonConfig, host: Host, log: Logger, runDir: string, fatal: (e: BondError) => void): Bond {
  const journal = new Journal(journalPath(runDir, cfg.name), cfg.name);
  const bond = new Bond(
    {
      name: cfg.name,
      options: cfg.options,
      mtu: cfg.mtu,
      mac: cfg.mac,
      up: cfg.up,
      busyPollUs: cfg.busyPollUs,
      datapath: cfg.datapath,
      ...(cfg.bpfAttach ? { bpfAttach: cfg.bpfAttach } : {}),
    },
    { host, clock: systemClock, log, journal, fatal },
  );
  const blog = log.child({ bond: cfg.name });
  for (const n of cfg.notes) blog.warn(n);
  bond.start();
  try {
    for (const s of cfg.slaves) bond.enslave(s);
    for (const o of cfg.slaveOptions ?? []) bond.setSlaveOption(o.slave, o.name, o.value);
    for (const a of cfg.addresses ?? []) {
      host.addAddress(bond.ifindex, a.address, a.prefixlen);
      blog.info(`address ${a.address}/${a.prefixlen}`, { event: 'address' });
    }
  } catch (e) {
    bond.stop();
    throw e;
  }
  return bond;
}

export interface DaemonSettings {
  runDir: string;
  /** A bond could not go on (its TAP was deleted): everything is restored, the process must exit. */
  onFatal?(err: BondError): void;
  /** Pin the datapath (main) thread; one setting for the whole process. */
  cpus?: number[];
  /** Prometheus endpoint (off when absent). */
  metrics?: MetricsListen;
  /** A group (gid) whose members may use the control sockets besides root (--control-group). */
  controlGroup?: number;
}

/** One line for systemd's STATUS=: "bond0 active-backup 2/2 up, active s1". */
export function statusLine(bonds: Bond[]): string {
  return bonds
    .map((b) => {
      const s = b.state();
      const up = s.ports.filter((p) => p.mii_status === 'up').length;
      return `${s.bond.name} ${s.bond.mode} ${up}/${s.ports.length} up${s.bond.active_slave ? `, active ${s.bond.active_slave}` : ''}`;
    })
    .join('; ');
}

/**
 * Puts back every slave that a dead bondd left changed, from the journals in `runDir` of the
 * bonds named (all of them when none is): `bondd --recover`, `bondctl recover`, and every start.
 */
export function recoverBonds(host: Host, runDir: string, names: string[] | null, log: Logger): Recovery[] {
  let list = names;
  if (!list) {
    try {
      list = readdirSync(runDir)
        .filter((f) => f.endsWith('.state'))
        .map((f) => f.slice(0, -'.state'.length));
    } catch {
      list = [];
    }
  }
  const out: Recovery[] = [];
  for (const name of list) {
    const r = recoverJournal(host, log.child({ bond: name }), journalPath(runDir, name));
    if (r) out.push(r);
  }
  return out;
}

/** `bondd --recover`: only the recovery, no bond is started. */
export function recoverOnly(names: string[] | null, runDir: string, log: Logger): Recovery[] {
  const binding = loadBinding();
  checkCapabilities(binding);
  const host = nativeHost(binding);
  try {
    return recoverBonds(host, runDir, names, log);
  } finally {
    host.close();
  }
}

export async function startDaemon(cfgsIn: DaemonConfig[], settings: DaemonSettings, log: Logger): Promise<RunningDaemon> {
  const binding = loadBinding();
  // before V8's helper threads first allocate (they compile functions as they get hot)
  const arenas = limitMallocArenas((n) => binding.mallocArenaMax(n));
  if (arenas !== null) log.debug(`malloc arenas limited to ${arenas}`);
  checkCapabilities(binding);
  const { runDir } = settings;
  const host = nativeHost(binding);
  let cfgs: DaemonConfig[];
  try {
    // a dead bondd's changes come off first: its slaves get their own MACs back (HWADDR lookup)
    recoverBonds(
      host,
      runDir,
      cfgsIn.map((c) => c.name),
      log,
    );
    cfgs = resolveSlaveNames(cfgsIn, binding);
    preflight(cfgs, binding);
    if (settings.cpus) binding.setAffinity(settings.cpus);
  } catch (e) {
    host.close();
    throw e;
  }
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
  const stats = new ProcessStats();
  const notifier = sdNotifier((path, data) => binding.sendUnixDatagram(path, data));
  let metrics: { close(): void } | null = null;
  let statusTimer: NodeJS.Timeout | null = null;
  const stop = () => {
    if (statusTimer) clearInterval(statusTimer);
    notifier.notify({ STOPPING: 1, STATUS: 'restoring slaves' });
    metrics?.close();
    for (const s of servers) s.close();
    watcher.close();
    for (const b of [...bonds].reverse()) b.stop();
    host.close();
    stats.stop();
  };
  try {
    const fatal = (err: BondError) => {
      stop();
      settings.onFatal?.(err);
    };
    for (const cfg of cfgs) {
      bonds.push(startOne(cfg, host, log, runDir, fatal));
      const server = new ControlServer(
        bonds[bonds.length - 1],
        runDir,
        log.child({ bond: cfg.name }),
        { process: () => stats.read() },
        DEFAULT_LIMITS,
        { peerCred: (fd) => binding.peerCred(fd), ...(settings.controlGroup !== undefined ? { group: settings.controlGroup } : {}) },
      );
      await server.listen();
      servers.push(server);
      log.info(`ready, control socket ${server.path}`, { bond: cfg.name, event: 'ready' });
    }
    if (settings.metrics) {
      const m = await serveMetrics(
        metricsRegistry(() => bonds.map((b) => b.state())),
        settings.metrics,
      );
      metrics = m;
      log.info(`metrics on ${m.where}`);
    }
    notifier.notify({ READY: 1, STATUS: statusLine(bonds), MAINPID: process.pid });
    // STATUS= follows the bonds; WATCHDOG=1 proves the event loop (and so the datapath) runs
    const every = Math.min(notifier.watchdogMs ?? 5000, 5000);
    if (notifier.enabled) {
      statusTimer = setInterval(() => {
        notifier.notify(notifier.watchdogMs ? { WATCHDOG: 1, STATUS: statusLine(bonds) } : { STATUS: statusLine(bonds) });
      }, every);
      statusTimer.unref();
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
