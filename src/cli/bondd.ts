#!/usr/bin/env node
// bondd: the bonding daemon. `bondd --name bond0 --slaves s1,s2 mode=active-backup miimon=100`
import { Command } from 'commander';
import { buildConfig, buildFromSystemFiles, parseCpuList, readConfigFile, type DaemonConfig, type RawConfig } from '../config/index.js';
import { readIfcfgDir } from '../config/ifcfg.js';
import { parseModprobe } from '../config/modprobe.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_RUN_DIR } from '../control/protocol.js';
import { startDaemon } from '../daemon.js';
import { OPTIONS, describeAllowed } from '../options/table.js';
import { parseOptionWords } from '../options/parse.js';
import { consoleLogger } from '../util/logger.js';
import { VERSION } from '../version.js';

function optionHelp(): string {
  const w = Math.max(...OPTIONS.map((o) => o.name.length));
  return (
    '\nBonding options (as modprobe bonding takes them: name=value, by name or number, or "default"):\n' +
    OPTIONS.map((o) => {
      const dflt = Array.isArray(o.default) ? (o.default.join(',') || 'none') : String(o.default) || 'none';
      const flags = [o.supported ? '' : 'not supported yet', o.noSlaves ? 'no slaves' : '', o.ifDown ? 'bond down' : '', o.startOnly ? 'start only' : ''].filter(Boolean).join(', ');
      return `  ${o.name.padEnd(w)}  ${o.desc}; default ${dflt}${flags ? ` [${flags}]` : ''}\n  ${''.padEnd(w)}  ${describeAllowed(o)}`;
    }).join('\n') + '\n'
  );
}

const program = new Command('bondd')
  .description('tapbond daemon: a TAP bond master over AF_PACKET slaves, with the kernel bonding driver\'s modes and options')
  .version(VERSION)
  .option('--name <bond>', 'bond (TAP) interface name', undefined)
  .option('--slaves <list>', 'comma-separated slave interfaces')
  .option('--config <file>', 'JSON configuration (same option names)')
  .option('--modprobe-conf <file>', 'read bonds and options from a modprobe configuration (alias bondN bonding, options ...)')
  .option('--ifcfg-dir <dir>', 'read bonds, slaves, options and addresses from RedHat network-scripts (ifcfg-*)')
  .option('--mtu <n>', 'bond MTU, applied to every slave')
  .option('--mac <mac>', 'bond MAC (default: the first slave\'s)')
  .option('--no-up', 'leave the bond down after creating it')
  .option('--cpu <list>', 'pin the datapath (main) thread to these CPUs, e.g. 1 or 2,3')
  .option('--busy-poll <us>', 'after each batch keep polling the sockets this many microseconds (0 = off)')
  .option('--run-dir <dir>', 'directory of the control sockets', DEFAULT_RUN_DIR)
  .option('--debug', 'debug logging')
  .argument('[options...]', 'bonding options as name=value')
  .addHelpText('after', optionHelp())
  .showHelpAfterError(false);

program.parse();
const flags = program.opts<{ name?: string; slaves?: string; config?: string; modprobeConf?: string; ifcfgDir?: string; mtu?: string; mac?: string; busyPoll?: string; cpu?: string; up: boolean; runDir: string; debug?: boolean }>();
const log = consoleLogger({ debug: flags.debug });

try {
  const raw: RawConfig = flags.config ? readConfigFile(flags.config) : { options: {} };
  Object.assign(raw.options, parseOptionWords(program.args));
  if (flags.name !== undefined) raw.name = flags.name;
  if (flags.slaves !== undefined) raw.slaves = flags.slaves;
  if (flags.mtu !== undefined) raw.mtu = flags.mtu;
  if (flags.mac !== undefined) raw.mac = flags.mac;
  if (!flags.up) raw.up = false;
  if (flags.busyPoll !== undefined) raw.busy_poll = flags.busyPoll;
  if (flags.cpu !== undefined) raw.cpu = flags.cpu;
  const cpus = raw.cpu !== undefined ? parseCpuList(raw.cpu) : undefined;
  let cfgs: DaemonConfig[];
  if (flags.modprobeConf || flags.ifcfgDir) {
    const perBond = (['config', 'name', 'slaves', 'mtu', 'mac'] as const).filter((k) => flags[k] !== undefined).map((k) => `--${k}`);
    if (!flags.up) perBond.push('--no-up');
    if (perBond.length) {
      throw new Error(`--modprobe-conf/--ifcfg-dir describe the bonds (MTU and MACADDR come from the ifcfg files): do not combine them with ${perBond.join(', ')}`);
    }
    let modprobeText = '';
    if (flags.modprobeConf) {
      try {
        modprobeText = readFileSync(flags.modprobeConf, 'utf8');
      } catch (e) {
        throw new Error(`--modprobe-conf ${flags.modprobeConf}: ${(e as Error).message}`);
      }
    }
    const { configs, notes } = buildFromSystemFiles(flags.modprobeConf ? parseModprobe(modprobeText, flags.modprobeConf) : [], flags.ifcfgDir ? readIfcfgDir(flags.ifcfgDir) : []);
    for (const n of notes) log.warn(n);
    // --busy-poll applies to every bond from the files
    const common = buildConfig({ busy_poll: raw.busy_poll, options: {} });
    for (const c of configs) c.busyPollUs = common.busyPollUs;
    if (Object.keys(raw.options).length) throw new Error('bonding options come from the files with --modprobe-conf/--ifcfg-dir; change them at runtime with bondctl set');
    cfgs = configs;
    if (!cfgs.length) throw new Error('the configuration files describe no bond to start');
  } else {
    cfgs = [buildConfig(raw)];
  }
  const d = await startDaemon(cfgs, { runDir: flags.runDir, cpus }, log);
  const names = cfgs.map((c) => c.name).join(', ');
  const shutdown = (sig: string) => {
    log.info(`${names}: ${sig}, restoring slaves`);
    d.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  process.on('uncaughtException', (e) => {
    log.error(`${names}: internal error: ${e.stack ?? e.message}`);
    try {
      d.stop();
    } finally {
      process.exit(70);
    }
  });
} catch (e) {
  const err = e as Error & { code?: string };
  process.stderr.write(`bondd: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
  process.exit(2);
}
