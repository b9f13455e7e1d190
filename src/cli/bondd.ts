#!/usr/bin/env node
// bondd: the bonding daemon. `bondd --name bond0 --slaves s1,s2 mode=active-backup miimon=100`
import { Command } from 'commander';
import {
  buildConfig,
  buildFromSystemFiles,
  loadInstance,
  parseCpuList,
  parseDatapath,
  readConfigFile,
  type DaemonConfig,
  type RawConfig,
} from '../config/index.js';
import { readIfcfgDir } from '../config/ifcfg.js';
import { parseModprobe } from '../config/modprobe.js';
import { describeConfigs, fromDecls, loadSystem, readFormat, type Format } from '../config/system.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_RUN_DIR } from '../control/protocol.js';
import { DEFAULT_BPFFS, recoverOnly, startDaemon } from '../daemon.js';
import { inheritedTapFds, reexec, takeOver, TAP_FDS_ENV } from '../handover.js';
import { listenFds } from '../util/sd-notify.js';
import { parseMetricsAddress } from '../metrics.js';
import { OPTIONS, describeAllowed } from '../options/table.js';
import { parseOptionWords, parseSlaveOptionWord } from '../options/parse.js';
import { LOG_FORMATS, pinoLogger, type LogFormat } from '../util/logger.js';
import { VERSION } from '../version.js';

function optionHelp(): string {
  const w = Math.max(...OPTIONS.map((o) => o.name.length));
  return (
    '\nBonding options (as modprobe bonding takes them: name=value, by name or number, or "default"):\n' +
    OPTIONS.map((o) => {
      const dflt = Array.isArray(o.default) ? o.default.join(',') || 'none' : String(o.default) || 'none';
      const flags = [
        o.supported ? '' : 'not supported yet',
        o.noSlaves ? 'no slaves' : '',
        o.ifDown ? 'bond down' : '',
        o.startOnly ? 'start only' : '',
        o.effective ? `no effect outside ${o.effective.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      return `  ${o.name.padEnd(w)}  ${o.desc}; default ${dflt}${flags ? ` [${flags}]` : ''}\n  ${''.padEnd(w)}  ${describeAllowed(o)}`;
    }).join('\n') +
    '\n'
  );
}

/** `--control-group`: a gid, or a group name from /etc/group. */
function groupId(g: string): number {
  if (/^\d+$/.test(g)) return Number(g);
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    /* no group file: only numbers then */
  }
  const line = text.split('\n').find((l) => l.split(':')[0] === g);
  if (!line) throw new Error(`--control-group: invalid value '${g}'; allowed: a group in /etc/group, or a gid`);
  return Number(line.split(':')[2]);
}

/** Repeatable options: each occurrence adds one value (a variadic option would swallow the bonding options that follow). */
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

const program = new Command('bondd')
  .description("tapbond daemon: a TAP bond master over AF_PACKET slaves, with the kernel bonding driver's modes and options")
  .version(VERSION)
  .option('--name <bond>', 'bond (TAP) interface name', undefined)
  .option('--slaves <list>', 'comma-separated slave interfaces')
  .option('--config <file>', 'JSON configuration (same option names)')
  .option('--modprobe-conf <file>', 'read bonds and options from a modprobe configuration (alias bondN bonding, options ...)')
  .option('--ifcfg-dir <dir>', 'read bonds, slaves, options and addresses from RedHat network-scripts (ifcfg-*)')
  .option('--netplan-dir <dir>', 'read the bonds of netplan files (*.yaml, e.g. /etc/netplan)')
  .option('--networkd-dir <dir>', 'read the bonds of systemd-networkd files (*.netdev, *.network, e.g. /etc/systemd/network)')
  .option('--nm-dir <dir>', 'read the bonds of NetworkManager keyfiles (*.nmconnection, e.g. /etc/NetworkManager/system-connections)')
  .option('--interfaces <file>', 'read the bonds of a Debian ifupdown file (e.g. /etc/network/interfaces, with what it sources)')
  .option('--suse-dir <dir>', "read the bonds of SUSE's ifcfg files (wicked; e.g. /etc/sysconfig/network)")
  .option(
    '--system',
    'run every bond this host declares: netplan, systemd-networkd, NetworkManager, ifupdown, ifcfg and modprobe files under --sysconf-root',
  )
  .option('--print-config', 'print the bonds, options and addresses that would start, as JSON, and exit without touching any interface')
  .option('--instance <bond>', 'one bond from /etc/tapbond/<bond>.json, else from ifcfg-<bond> and /etc/modprobe.d (systemd bondd@<bond>)')
  .option('--sysconf-root <dir>', 'where --instance and --system look instead of /etc', '/etc')
  .option('--address <cidr>', 'an address for the bond, e.g. 198.18.0.1/24 (repeat for more)', collect)
  .option('--slave-option <slave:name=value>', 'a per-slave option, e.g. eth1:actor_port_prio=100 (repeat for more)', collect)
  .option('--mtu <n>', 'bond MTU, applied to every slave')
  .option('--mac <mac>', "bond MAC (default: the first slave's)")
  .option('--no-up', 'leave the bond down after creating it')
  .option('--cpu <list>', 'pin the datapath (main) thread to these CPUs, e.g. 1 or 2,3')
  .option('--busy-poll <us>', 'after each batch keep polling the sockets this many microseconds (0 = off)')
  .option(
    '--datapath <path>',
    'auto (the kernel eBPF fast path when it loads, else user space), kernel, or user; default $TAPBOND_DATAPATH, else auto',
  )
  .option('--run-dir <dir>', 'directory of the control sockets', DEFAULT_RUN_DIR)
  .option(
    '--bpffs <dir>',
    `the bpffs where the kernel fast path pins its programs and maps, so the bond forwards while no bondd runs; "none" pins nothing; default $TAPBOND_BPFFS, else ${DEFAULT_BPFFS}`,
  )
  .option('--control-group <group>', 'let this group (name or gid) use the control sockets too (mode 0660); default: root only')
  .option('--metrics [address]', 'serve Prometheus metrics on host:port (loopback) or unix:/path; default 127.0.0.1:9549')
  .option('--metrics-allow-remote', 'allow --metrics on a non-loopback address')
  .option('--log-format <format>', `log format: ${LOG_FORMATS.join(' or ')} (default: pretty on a terminal, json otherwise)`)
  .option('--debug', 'debug logging')
  .option(
    '--takeover',
    'take the running bonds over from the bondd that runs them (same --run-dir): their TAP fds and state are handed over, it exits, nothing stops forwarding',
  )
  .option(
    '--recover',
    'only put back the slaves a bondd that died left changed (the bond of --name or --instance, else every bond with a journal in --run-dir), then exit',
  )
  .argument('[options...]', 'bonding options as name=value')
  .addHelpText('after', optionHelp())
  .showHelpAfterError(false);

program.parse();
const flags = program.opts<{
  name?: string;
  slaves?: string;
  config?: string;
  modprobeConf?: string;
  ifcfgDir?: string;
  instance?: string;
  netplanDir?: string;
  networkdDir?: string;
  nmDir?: string;
  interfaces?: string;
  suseDir?: string;
  system?: boolean;
  printConfig?: boolean;
  sysconfRoot: string;
  address?: string[];
  slaveOption?: string[];
  mtu?: string;
  mac?: string;
  busyPoll?: string;
  datapath?: string;
  cpu?: string;
  up: boolean;
  runDir: string;
  bpffs?: string;
  controlGroup?: string;
  metrics?: string | true;
  metricsAllowRemote?: boolean;
  logFormat?: string;
  debug?: boolean;
  recover?: boolean;
  takeover?: boolean;
}>();
if (flags.logFormat !== undefined && !LOG_FORMATS.includes(flags.logFormat as LogFormat)) {
  process.stderr.write(`bondd: --log-format: invalid value '${flags.logFormat}'; allowed: ${LOG_FORMATS.join(', ')}\n`);
  process.exit(2);
}
const log = pinoLogger({ debug: flags.debug, format: flags.logFormat as LogFormat | undefined });

try {
  if (flags.recover) {
    const bond = flags.name ?? flags.instance;
    const done = recoverOnly(bond ? [bond] : null, flags.runDir, log);
    for (const r of done) {
      for (const s of r.slaves) process.stdout.write(`${r.bond} ${s.name}: ${s.restored.join(', ') || 'nothing left to restore'}\n`);
    }
    if (!done.length) process.stdout.write(`nothing to recover in ${flags.runDir}${bond ? ` for ${bond}` : ''}\n`);
    process.exit(0);
  }
  const raw: RawConfig = flags.config ? readConfigFile(flags.config) : { options: {} };
  Object.assign(raw.options, parseOptionWords(program.args));
  if (flags.name !== undefined) raw.name = flags.name;
  if (flags.slaves !== undefined) raw.slaves = flags.slaves;
  if (flags.mtu !== undefined) raw.mtu = flags.mtu;
  if (flags.mac !== undefined) raw.mac = flags.mac;
  if (!flags.up) raw.up = false;
  if (flags.busyPoll !== undefined) raw.busy_poll = flags.busyPoll;
  if (flags.datapath !== undefined) raw.datapath = flags.datapath;
  if (flags.cpu !== undefined) raw.cpu = flags.cpu;
  if (flags.address !== undefined) raw.addresses = flags.address;
  if (flags.slaveOption !== undefined) {
    const so = (raw.slave_options ?? {}) as Record<string, Record<string, string>>;
    for (const w of flags.slaveOption) {
      const { slave, name, value } = parseSlaveOptionWord(w);
      (so[slave] ??= {})[name] = value;
    }
    raw.slave_options = so;
  }
  const cpus = raw.cpu !== undefined ? parseCpuList(raw.cpu) : undefined;
  let cfgs: DaemonConfig[];
  const distro = (
    [
      ['netplan', flags.netplanDir],
      ['networkd', flags.networkdDir],
      ['nm', flags.nmDir],
      ['ifupdown', flags.interfaces],
      ['suse', flags.suseDir],
    ] as const
  ).filter(([, v]) => v !== undefined) as [Format, string][];
  const sources = [
    flags.instance !== undefined && '--instance',
    flags.system && '--system',
    (flags.modprobeConf || flags.ifcfgDir) && '--modprobe-conf/--ifcfg-dir',
    distro.length && '--netplan-dir/--networkd-dir/--nm-dir/--interfaces/--suse-dir',
  ].filter(Boolean);
  if (sources.length > 1) throw new Error(`${sources.join(', ')}: choose one source of bonds`);
  const fromFiles = sources.length > 0;
  if (fromFiles) {
    const perBond = (['config', 'name', 'slaves', 'mtu', 'mac', 'address', 'slaveOption'] as const)
      .filter((k) => flags[k] !== undefined)
      .map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    if (!flags.up) perBond.push('--no-up');
    if (perBond.length) {
      throw new Error(
        `${sources[0]} describes the bonds (MTU, MAC and addresses come from the files): do not combine it with ${perBond.join(', ')}`,
      );
    }
    if (Object.keys(raw.options).length)
      throw new Error(`bonding options come from the files with ${sources[0]}; change them at runtime with bondctl set`);
  }
  if (flags.instance !== undefined) {
    if (flags.modprobeConf || flags.ifcfgDir)
      throw new Error('--instance finds its own files: do not combine it with --modprobe-conf or --ifcfg-dir');
    const { configs, notes, source } = loadInstance(flags.instance, flags.sysconfRoot, {
      ifcfg: readIfcfgDir,
      modprobe: parseModprobe,
      system: (root) => loadSystem(root),
    });
    for (const n of notes) log.warn(n);
    if (!configs.length) throw new Error(`instance ${flags.instance}: ${source} describes no bond to start`);
    log.info(`configuration from ${source}`, { bond: flags.instance });
    cfgs = configs;
  } else if (flags.system) {
    const { configs, notes, found } = loadSystem(flags.sysconfRoot);
    for (const n of notes) log.warn(n);
    if (!configs.length)
      throw new Error(
        `--system: no bond to start is declared under ${flags.sysconfRoot} (looked for netplan, systemd-networkd, NetworkManager, ifupdown, ifcfg and modprobe files)`,
      );
    log.info(`configuration from ${found.join('; ')}`);
    cfgs = configs;
  } else if (distro.length) {
    const decls = [];
    const warnings = [];
    for (const [format, path] of distro) {
      const r = readFormat(format, path);
      decls.push(...r.bonds);
      warnings.push(...r.warnings);
    }
    const { configs, notes } = fromDecls(decls, warnings);
    for (const n of notes) log.warn(n);
    if (!configs.length) throw new Error(`${distro.map(([, p]) => p).join(', ')}: no bond to start is declared there`);
    cfgs = configs;
  } else if (flags.modprobeConf || flags.ifcfgDir) {
    let modprobeText = '';
    if (flags.modprobeConf) {
      try {
        modprobeText = readFileSync(flags.modprobeConf, 'utf8');
      } catch (e) {
        throw new Error(`--modprobe-conf ${flags.modprobeConf}: ${(e as Error).message}`);
      }
    }
    const { configs, notes } = buildFromSystemFiles(
      flags.modprobeConf ? parseModprobe(modprobeText, flags.modprobeConf) : [],
      flags.ifcfgDir ? readIfcfgDir(flags.ifcfgDir) : [],
    );
    for (const n of notes) log.warn(n);
    cfgs = configs;
    if (!cfgs.length) throw new Error('the configuration files describe no bond to start');
  } else {
    cfgs = [buildConfig(raw)];
  }
  if (fromFiles) {
    // --busy-poll and --datapath apply to every bond from the files (a tapbond JSON file may set its own)
    const common = buildConfig({ busy_poll: raw.busy_poll, datapath: raw.datapath, options: {} });
    for (const c of cfgs) {
      c.busyPollUs ??= common.busyPollUs;
      if (common.datapath) c.datapath ??= common.datapath;
    }
  }
  if (flags.printConfig) {
    process.stdout.write(`${JSON.stringify(describeConfigs(cfgs), null, 2)}\n`);
    process.exit(0);
  }
  // the environment's choice, where neither the command line nor a file made one
  const envDatapath = process.env.TAPBOND_DATAPATH ? parseDatapath(process.env.TAPBOND_DATAPATH) : undefined;
  if (envDatapath) for (const c of cfgs) c.datapath ??= envDatapath;
  // tc filters even where TCX links exist: how the fallback of older kernels is tested
  const attach = process.env.TAPBOND_BPF_ATTACH;
  if (attach !== undefined && attach !== '' && attach !== 'tc' && attach !== 'tcx')
    throw new Error(`TAPBOND_BPF_ATTACH: invalid value '${attach}'; allowed: tcx, tc`);
  if (attach === 'tc' || attach === 'tcx') for (const c of cfgs) c.bpfAttach = attach;
  const metrics =
    flags.metrics === undefined
      ? undefined
      : { address: flags.metrics === true ? '127.0.0.1:9549' : flags.metrics, allowRemote: flags.metricsAllowRemote };
  if (metrics) parseMetricsAddress(metrics.address, metrics.allowRemote); // refuse before touching interfaces
  const onFatal = (err: Error) => {
    process.stderr.write(`bondd: ${err.message}\n`);
    process.exit(1); // a failure: systemd's Restart=on-failure starts the bond again
  };
  // every bond was taken down on purpose: done, and not a failure to restart from
  const onEmpty = (why: string) => {
    log.info(`${why}: no bond left, exiting`, { event: 'done' });
    setTimeout(() => process.exit(0), 50); // the log line first
  };
  const controlGroup = flags.controlGroup === undefined ? undefined : groupId(flags.controlGroup);
  const bpffsFlag = flags.bpffs ?? process.env.TAPBOND_BPFFS ?? DEFAULT_BPFFS;
  const bpffs = bpffsFlag === 'none' || bpffsFlag === '' ? null : bpffsFlag;
  // TAP fds this process starts with: across a reload's execve, from systemd's fd store, or
  // handed over by the bondd that ran the bonds (--takeover)
  const tapFds = inheritedTapFds(process.env);
  for (const [name, fds] of listenFds(process.env)) {
    const m = /^tap-(.+)$/.exec(name);
    if (m && !tapFds.has(m[1])) tapFds.set(m[1], fds[0]);
  }
  if (flags.takeover)
    for (const [bond, fd] of await takeOver(
      cfgs.map((c) => c.name),
      flags.runDir,
      log,
    ))
      tapFds.set(bond, fd);
  const d = await startDaemon(cfgs, { runDir: flags.runDir, cpus, metrics, onFatal, onEmpty, controlGroup, bpffs, tapFds }, log);
  const names = cfgs.map((c) => c.name).join(', ');
  // a stop (systemctl stop or restart, an upgrade) leaves every bond as it is for the next
  // bondd; taking one down is `bondctl delete`
  const shutdown = (sig: string) => {
    log.info(`${sig}: leaving the bonds running for the next bondd (bondctl delete takes one down)`, { bond: names, event: 'stopping' });
    d.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // systemctl reload: this program again, from disk (an upgrade), in the same process (systemd
  // follows nothing), with the configuration read again; each TAP's fd crosses the execve
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading (the program and its configuration), the bonds keep running', { bond: names, event: 'reloading' });
    const fds = d.handOver();
    const env = { ...process.env, [TAP_FDS_ENV]: [...fds].map(([b, fd]) => `${b}=${fd}`).join(',') };
    try {
      reexec(env);
    } catch (e) {
      log.error(`reload failed, exiting (the bonds keep running): ${(e as Error).message}`);
      process.exit(1);
    }
  });
  process.on('uncaughtException', (e) => {
    log.error(`internal error: ${e.stack ?? e.message}`, { bond: names });
    try {
      d.stop();
    } finally {
      process.exit(70);
    }
  });
} catch (e) {
  const err = e as Error & { code?: string };
  const hint =
    err.code === 'EACCES' && err.message.includes('/dev/net/tun')
      ? `\nbondd: as user ${process.getuid?.()} it needs read and write access to /dev/net/tun (mode 0666 is the usual default; ` +
        'in Docker, --device a tun node with that mode, e.g. `mknod -m 666 /run/tapbond-tun c 10 200` and `--device /run/tapbond-tun:/dev/net/tun`, or run as root with the same two capabilities)'
      : '';
  process.stderr.write(`bondd: ${err.message}${err.code ? ` [${err.code}]` : ''}${hint}\n`);
  process.exit(2);
}
