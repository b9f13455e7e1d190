// bondd's wiring: native binding + host + bonds + one rtnetlink watcher + a control socket per
// bond + signals. Several bonds may run in one process (max_bonds, several ifcfg bonds).
import { readdirSync } from 'node:fs';
import { Bond } from './bond/bond.js';
import { statfsSync, statSync } from 'node:fs';
import { isLiveBondd, Journal, JOURNAL_VERSION, journalPath, readJournal, toSaved, type JournalFile } from './bond/journal.js';
import { masterTag } from './bond/master.js';
import { recoverJournal, restoreJournaled, type Recovery } from './bond/recover.js';
import type { Adoption, BondDeps } from './bond/types.js';
import { pinDirOf } from './fastpath/kernel-path.js';
import { nativeHost, type Host } from './host/host.js';
import { emptyL3, type NetOps } from './host/l3.js';
import { dhcpDirOf, HostNet, nativeNetOps, nodeProcs } from './host/netconf.js';
import type { DaemonConfig } from './config/index.js';
import { ControlServer, DEFAULT_LIMITS } from './control/server.js';
import { BondError } from './errors.js';
import { loadBinding } from './native/binding.js';
import { ARPHRD_ETHER, type NativeBinding } from './native/types.js';
import { Rtnl, watchLinks } from './net/rtnl.js';
import { systemClock, wallMicros } from './util/clock.js';
import type { Logger } from './util/logger.js';
import { metricsRegistry, serveMetrics, type MetricsListen } from './metrics.js';
import { sdNotifier } from './util/sd-notify.js';
import { formatMac } from './util/mac.js';
import { limitMallocArenas } from './util/malloc-arenas.js';
import { ProcessStats } from './util/process-stats.js';

export interface RunningDaemon {
  bonds: Bond[];
  /** Ends the process's part: `detach` (default) leaves every bond running, `delete` takes them down. */
  stop(how?: 'detach' | 'delete'): void;
  /**
   * For a reload: every bond left running (detached) with a copy of its TAP's fd kept open
   * across execve, so the TAP keeps its carrier while the new program starts. Returns them by bond.
   */
  handOver(): Map<string, number>;
}

/** Where bpffs is mounted on most hosts (systemd mounts it). */
export const DEFAULT_BPFFS = '/sys/fs/bpf';

/**
 * ifcfg HWADDR: the slave is the interface that has that MAC, whatever its name now. Returns
 * the configs with slave names resolved; an unmatched MAC is an error that names the file's device.
 */
export function resolveSlaveNames(
  cfgs: DaemonConfig[],
  binding: NativeBinding,
  /** Slaves an earlier bondd left with the bond's MAC: their own MACs, from its journal. */
  journaled: { name: string; mac: Uint8Array }[] = [],
): DaemonConfig[] {
  if (!cfgs.some((c) => c.slaveMacs)) return cfgs;
  const rtnl = new Rtnl(binding);
  const links = [...journaled, ...rtnl.links().filter((l) => !journaled.some((j) => j.name === l.name))];
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

/**
 * Checks what can be checked without changing anything: the slaves exist and are Ethernet, and
 * the bond's name is free (or is the bond an earlier bondd left, in `adopted`).
 */
export function preflight(cfgs: DaemonConfig[], binding: NativeBinding, adopted: ReadonlySet<string> = new Set()): void {
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
    if (adopted.has(cfg.name)) continue;
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

/** What a start found of its bond: the bond an earlier bondd left, to adopt. */
export interface Found {
  adopt: Adoption;
  journal: JournalFile;
}

/**
 * What a start does with what an earlier bondd left of bond `name`. Its journal names a TAP that
 * is still there and persistent: adopt it (slaves it had only begun to prepare are restored
 * first). A journal whose TAP is gone (deleted while no daemon ran): recover it (restore the
 * slaves, remove the pins) and start afresh. No journal, but our tagged persistent TAP (a
 * bondd killed between making it and journaling it): adopt it with no slaves. A journal of a
 * bondd that still runs is an error.
 */
export function findBond(host: Host, runDir: string, name: string, log: Logger): Found | null {
  const path = journalPath(runDir, name);
  const j = readJournal(path);
  const blog = log.child({ bond: name });
  const tap = host.tapState(name);
  const mine = (ifindex?: number) =>
    tap?.persistent === true && (ifindex === undefined ? tap.alias === masterTag(name) : host.binding.ifName(ifindex) === name);
  if (j && isLiveBondd(j.pid)) throw new BondError('EBUSY', `${name}: bondd (pid ${j.pid}) runs this bond; stop it first`);
  if (j && j.tap && mine(j.tap.ifindex)) {
    for (const s of j.slaves.filter((x) => x.phase !== 'enslaved')) {
      restoreJournaled(host, blog, s);
      blog.warn('had only begun to be enslaved when the earlier bondd stopped: restored', { slave: s.name });
    }
    const slaves = j.slaves.filter((x) => x.phase === 'enslaved');
    const journal = { ...j, slaves };
    return {
      journal,
      adopt: {
        mac: host.binding.linkInfo(name, false).mac,
        slaves: slaves.map((x) => ({ ...toSaved(x), ...(x.port !== undefined ? { port: x.port } : {}) })),
        active: j.detached?.active ?? null,
        ...(j.mode ? { mode: j.mode } : {}),
      },
    };
  }
  if (j) {
    recoverJournal(host, blog, path);
    return null;
  }
  if (mine()) {
    blog.warn(`${name} is a TAP a bondd left before it journaled anything: adopted, with no slave to take over`);
    return {
      journal: { version: JOURNAL_VERSION, bond: name, pid: 0, started: '', slaves: [] },
      adopt: { mac: host.binding.linkInfo(name, false).mac, slaves: [] },
    };
  }
  return null;
}

/** Where the pins of a bond go (pinDirOf), or null when `bpffs` is not a bpffs. */
export function pinsFor(bpffs: string | null, bond: string): string | null {
  if (!bpffs) return null;
  try {
    if (statfsSync(bpffs).type === BPF_FS_MAGIC) return pinDirOf(bpffs, bond, statSync('/proc/self/ns/net').ino);
  } catch {
    /* not there */
  }
  return null;
}

const BPF_FS_MAGIC = 0xcafe4a11;

function startOne(
  cfg: DaemonConfig,
  host: Host,
  log: Logger,
  runDir: string,
  fatal: (e: BondError) => void,
  found: Found | null,
  pins: string | null,
  tapFd: number | undefined,
  tapHolder: BondDeps['tapHolder'],
  netOps: NetOps,
): { bond: Bond; takeDown(): void; detach(): void } {
  const journal = new Journal(journalPath(runDir, cfg.name), cfg.name, found?.journal);
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
      pins,
      ...(found ? { adopt: found.adopt } : {}),
      ...(found && tapFd !== undefined ? { tapFd } : {}),
    },
    { host, clock: systemClock, log, journal, fatal, ...(tapHolder ? { tapHolder } : {}) },
  );
  if (!found && tapFd !== undefined) host.binding.closeFd(tapFd); // nothing of it to adopt
  const blog = log.child({ bond: cfg.name });
  for (const n of cfg.notes) blog.warn(n);
  bond.start();
  try {
    if (found) bond.adopt(cfg.slaves);
    else for (const s of cfg.slaves) bond.enslave(s);
    for (const o of cfg.slaveOptions ?? []) bond.setSlaveOption(o.slave, o.name, o.value);
    // addresses, routes, DHCP, DNS and a bridge over the bond: what an adopted bond has already
    // stays as it is (the DHCP clients of the earlier bondd go on)
    const hostnet = new HostNet(netOps, nodeProcs, blog, dhcpDirOf(runDir), (r) => journal.hostnet(r));
    const rec = hostnet.apply(cfg.name, cfg.net ?? { bond: emptyL3() }, cfg.addresses ?? [], found?.journal.hostnet);
    if (rec.bridge || rec.routes.length || rec.dhcp.length || rec.dns.length || rec.addresses.length || found?.journal.hostnet)
      journal.hostnet(rec);
    return { bond, takeDown: () => hostnet.remove(rec), detach: () => hostnet.cancel() };
  } catch (e) {
    // a bond made here goes; an adopted one is left as it was found, for the next try
    if (found) bond.detach();
    else bond.delete();
    throw e;
  }
}

export interface DaemonSettings {
  runDir: string;
  /** A bond could not go on: the process must exit (the others are left running). */
  onFatal?(err: BondError): void;
  /** Every bond was taken down (`bondctl delete`, `ip link del`): the process is done and exits 0. */
  onEmpty?(why: string): void;
  /** Pin the datapath (main) thread; one setting for the whole process. */
  cpus?: number[];
  /** TAP fds this process was given (a reload's execve, a --takeover), by bond. */
  tapFds?: Map<string, number>;
  /** The bpffs under which the kernel path pins what must outlive the process (null: nothing). */
  bpffs?: string | null;
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
  const found = new Map<string, Found>();
  try {
    // what an earlier bondd left is adopted, or else taken down (its slaves get their own MACs
    // back before the HWADDR lookup, which also knows the adopted slaves' own MACs)
    for (const c of cfgsIn) {
      const f = findBond(host, runDir, c.name, log);
      if (f) found.set(c.name, f);
    }
    const journaled = [...found.values()].flatMap((f) =>
      f.adopt.slaves.map((s) => ({ name: binding.ifName(s.ifindex) ?? s.name, mac: s.mac })),
    );
    cfgs = resolveSlaveNames(cfgsIn, binding, journaled);
    preflight(cfgs, binding, new Set(found.keys()));
    if (settings.cpus) binding.setAffinity(settings.cpus);
  } catch (e) {
    host.close();
    throw e;
  }
  const bpffs = settings.bpffs === undefined ? DEFAULT_BPFFS : settings.bpffs;
  const pins = new Map(cfgs.map((c) => [c.name, pinsFor(bpffs, c.name)]));
  if (bpffs && cfgs.some((c) => c.datapath !== 'user' && !pins.get(c.name)))
    log.warn(
      `${bpffs} is not a bpffs here: the kernel fast path cannot pin its programs, so it stops forwarding when bondd stops (mount one, or give --bpffs)`,
    );
  const bonds: Bond[] = [];
  const servers: ControlServer[] = [];
  /** Per bond: takes down what was done around it (a bridge, routes, DHCP clients). */
  const around = new Map<Bond, { takeDown(): void; detach(): void }>();
  const netOps = nativeNetOps(binding);
  const takeDownAround = (b: Bond) => {
    try {
      around.get(b)?.takeDown();
    } catch (e) {
      log.error(`${b.name}: taking down what was around it: ${(e as Error).message}`);
    }
  };
  /** The bond goes, and what its files put around it. */
  const deleteBond = (b: Bond) => {
    b.delete();
    takeDownAround(b);
  };
  const watcher = watchLinks(
    binding,
    (ev) => {
      // at_us: when it arrived, to set beside a capture (the bench's failover timeline)
      log.debug('link event', { ifindex: ev.ifindex, type: ev.type, at_us: wallMicros() });
      for (const b of bonds) b.onLinkEvent(ev);
    },
    (a, added) => {
      for (const b of bonds) if (added && a.ifindex === b.ifindex) b.onAddressAdded(a);
    },
  );
  const stats = new ProcessStats();
  const notifier = sdNotifier(
    (path, data) => binding.sendUnixDatagram(path, data),
    process.env,
    (path, data, fds) => binding.sendFds(path, data, fds),
  );
  // systemd's fd store holds each TAP's fd across a restart, so its carrier never falls
  const tapHolder = notifier.enabled ? { keep: notifier.storeFd, drop: notifier.removeFd } : undefined;
  const tapFds = settings.tapFds ?? new Map<string, number>();
  let metrics: { close(): void } | null = null;
  let statusTimer: NodeJS.Timeout | null = null;
  // detach: the bonds stay for the next bondd; delete: they are taken down
  const stop = (how: 'detach' | 'delete' | 'reload' = 'detach') => {
    if (statusTimer) clearInterval(statusTimer);
    // a reload is not a stop: systemd waits for READY=1 from the program that follows
    if (how === 'reload') notifier.notify({ RELOADING: 1, STATUS: 'reloading: the bonds keep running' });
    else notifier.notify({ STOPPING: 1, STATUS: how === 'delete' ? 'deleting the bonds' : 'leaving the bonds to the next bondd' });
    metrics?.close();
    for (const s of servers) s.close();
    watcher.close();
    for (const b of [...bonds].reverse()) {
      if (how === 'delete') deleteBond(b);
      else {
        around.get(b)?.detach();
        b.detach();
      }
    }
    netOps.close();
    host.close();
    stats.stop();
  };
  /** A bond was taken down (it is no longer running): its socket goes; the last one ends the process. */
  const gone = (bond: Bond, why: string) => {
    const i = bonds.indexOf(bond);
    if (i < 0) return;
    bonds.splice(i, 1);
    servers.splice(i, 1)[0]?.close();
    if (bonds.length) return;
    stop();
    settings.onEmpty?.(why);
  };
  try {
    const fatal = (err: BondError) => {
      const b = bonds.find((x) => !x.running);
      if (err.code === 'ETAP_GONE' && b) {
        takeDownAround(b); // deleted with ip link del: what its files put around it goes too
        return gone(b, err.message);
      }
      stop();
      settings.onFatal?.(err);
    };
    for (const cfg of cfgs) {
      const started = startOne(
        cfg,
        host,
        log,
        runDir,
        fatal,
        found.get(cfg.name) ?? null,
        pins.get(cfg.name) ?? null,
        tapFds.get(cfg.name),
        tapHolder,
        netOps,
      );
      const { bond } = started;
      tapFds.delete(cfg.name);
      bonds.push(bond);
      around.set(bond, started);
      const server = new ControlServer(
        bond,
        runDir,
        log.child({ bond: cfg.name }),
        {
          process: () => stats.read(),
          // after the reply is written
          delete: () =>
            setTimeout(() => {
              deleteBond(bond);
              gone(bond, `${cfg.name} deleted (bondctl delete)`);
            }, 20),
          // bondd --takeover: a copy of the TAP's fd to the next bondd, then this one lets go
          handover: (path: string) => {
            const fd = bond.tapFd();
            try {
              binding.sendFds(path, Buffer.from(JSON.stringify({ bond: cfg.name, pid: process.pid })), [fd]);
            } finally {
              binding.closeFd(fd);
            }
            setTimeout(() => {
              started.detach();
              bond.detach();
              gone(bond, `${cfg.name} handed over to the next bondd`);
            }, 20);
          },
        },
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
    stop: (how = 'detach') => {
      if (stopped) return;
      stopped = true;
      stop(how);
    },
    handOver: () => {
      const fds = new Map<string, number>();
      for (const b of bonds) {
        const fd = b.tapFd();
        binding.setCloexec(fd, false);
        fds.set(b.name, fd);
      }
      if (!stopped) {
        stopped = true;
        stop('reload');
      }
      return fds;
    },
  };
}
