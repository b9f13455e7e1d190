#!/usr/bin/env node
// bondctl: talks to a running bondd over its control socket.
import { Command } from 'commander';
import type { BondState } from '../state/schema.js';
import { call } from '../control/client.js';
import { DEFAULT_RUN_DIR, socketPath } from '../control/protocol.js';
import { parseOptionWords } from '../options/parse.js';
import { ipDetailsLine, sysfsValue, SYSFS_FILES } from '../report/kernel-text.js';
import { renderWatch } from '../report/watch.js';
import { VERSION } from '../version.js';

const program = new Command('bondctl')
  .description('control a running tapbond daemon')
  .version(VERSION)
  .option('--run-dir <dir>', 'directory of the control sockets', DEFAULT_RUN_DIR);

const path = (bond: string) => socketPath(program.opts<{ runDir: string }>().runDir, bond);
const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');

program
  .command('show')
  .description('status in the /proc/net/bonding/<bond> layout')
  .argument('<bond>')
  .option('--stats', 'append per-port frame counters and drops')
  .option('--details', 'the bond line of `ip -d link show <bond>` instead (same keywords and order)')
  .action(async (bond: string, o: { stats?: boolean; details?: boolean }) => {
    if (o.details) return out(ipDetailsLine((await call(path(bond), 'state.dump')) as BondState));
    out((await call(path(bond), 'show', { stats: !!o.stats })) as string);
  });

program
  .command('get')
  .description('one value as /sys/class/net/<bond>/bonding/<name> prints it (mode reads "active-backup 1")')
  .argument('<bond>')
  .argument('<name>', `one of: ${SYSFS_FILES.join(', ')}`)
  .action(async (bond: string, name: string) => out(sysfsValue((await call(path(bond), 'state.dump')) as BondState, name)));

program
  .command('state')
  .description('the state tree')
  .argument('<bond>')
  .option('--json', 'as JSON')
  .action(async (bond: string, o: { json?: boolean }) => {
    const s = (await call(path(bond), 'state.dump')) as BondState;
    if (o.json) {
      out(JSON.stringify(s, null, 2));
      return;
    }
    out(
      `${s.bond.name}: mode ${s.bond.mode}, carrier ${s.bond.carrier ? 'up' : 'down'}${s.bond.active_slave ? `, active ${s.bond.active_slave}` : ''}`,
    );
    for (const p of s.ports)
      out(
        `  ${p.name}: ${p.state}, link ${p.mii_status}, failures ${p.link_failure_count}, rx ${p.counters.rx_frames} tx ${p.counters.tx_frames}`,
      );
  });

program
  .command('watch')
  .description('live view of the slaves, link states, active slave and rates (Ctrl-C to leave)')
  .argument('<bond>')
  .option('--interval <seconds>', 'refresh interval', '1')
  .option('--count <n>', 'stop after n screens (default: until interrupted)')
  .action(async (bond: string, o: { interval: string; count?: string }) => {
    const interval = Number(o.interval);
    if (!(interval >= 0.1 && interval <= 3600))
      throw new Error(`--interval: invalid value '${o.interval}'; allowed: seconds from 0.1 to 3600`);
    const count = o.count === undefined ? Infinity : Number(o.count);
    if (!Number.isInteger(count) || count < 1) throw new Error(`--count: invalid value '${o.count}'; allowed: a positive integer`);
    const tty = process.stdout.isTTY === true;
    let prev: { s: BondState; t: number } | null = null;
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, interval * 1000));
      const s = (await call(path(bond), 'state.dump')) as BondState;
      const t = performance.now();
      const screen = renderWatch(s, prev?.s ?? null, prev ? t - prev.t : 0);
      process.stdout.write(tty ? `\x1b[H\x1b[2J${screen}` : `${screen}\n`);
      prev = { s, t };
    }
  });

program
  .command('set')
  .description('change options at runtime: bondctl set bond0 active_slave=s2')
  .argument('<bond>')
  .argument('<option=value...>')
  .action(async (bond: string, words: string[]) => {
    for (const [name, value] of Object.entries(parseOptionWords(words))) {
      const r = (await call(path(bond), 'option.set', { name, value })) as { notes: string[] };
      for (const n of r.notes) out(`note: ${n}`);
    }
  });

program
  .command('set-slave')
  .description('change per-slave options: bondctl set-slave bond0 eth1 actor_port_prio=100')
  .argument('<bond>')
  .argument('<slave>')
  .argument('<option=value...>')
  .action(async (bond: string, slave: string, words: string[]) => {
    for (const [name, value] of Object.entries(parseOptionWords(words))) await call(path(bond), 'port.set', { port: slave, name, value });
  });

program
  .command('hash')
  .description('which slave a frame would take: bondctl hash bond0 sip=198.18.0.1 dip=198.18.0.2 proto=udp sport=53 dport=5353 (or --hex)')
  .argument('<bond>')
  .argument('[spec...]', 'smac= dmac= vlan= type= sip= dip= proto= sport= dport= icmp_type= icmp_code= icmp_id=')
  .option('--hex <frame>', 'an Ethernet frame in hex')
  .option('--json', 'as JSON')
  .action(async (bond: string, spec: string[], o: { hex?: string; json?: boolean }) => {
    const r = (await call(path(bond), 'debug.hash', o.hex ? { hex: o.hex } : { spec })) as {
      plan: string;
      hash?: number;
      index?: number;
      usable: string[];
      port: string | null;
    };
    if (o.json) {
      out(JSON.stringify(r, null, 2));
      return;
    }
    if (r.hash !== undefined)
      out(
        `hash 0x${r.hash.toString(16).padStart(8, '0')} (${r.hash}) % ${r.usable.length} = ${r.index}: ${r.port}  [usable: ${r.usable.join(', ')}]`,
      );
    else out(`${r.plan}: ${r.port ?? (r.usable.length ? `any of ${r.usable.join(', ')}` : 'no usable slave')}`);
  });

program
  .command('enslave')
  .description('add slaves')
  .argument('<bond>')
  .argument('<ifname...>')
  .action(async (bond: string, ifs: string[]) => {
    for (const port of ifs) await call(path(bond), 'port.add', { port });
  });

program
  .command('release')
  .description('remove slaves (their MAC, MTU and flags are restored)')
  .argument('<bond>')
  .argument('<ifname...>')
  .action(async (bond: string, ifs: string[]) => {
    for (const port of ifs) await call(path(bond), 'port.remove', { port });
  });

program
  .command('delete')
  .description(
    'take a bond down: every slave restored exactly (MAC, MTU, flags, IPv6, filters), the TAP and the pinned programs removed; ' +
      'through its bondd, or from the journal when no bondd runs it',
  )
  .argument('<bond>')
  .action(async (bond: string) => {
    const { existsSync } = await import('node:fs');
    const sock = path(bond);
    let viaDaemon = true;
    try {
      await call(sock, 'bond.delete');
    } catch (e) {
      if (!/no daemon is serving this bond/.test((e as Error).message)) throw e;
      viaDaemon = false;
    }
    if (viaDaemon) {
      // the daemon takes it down after replying, and removes its socket when done
      const end = Date.now() + 10_000;
      while (existsSync(sock) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      if (existsSync(sock))
        throw Object.assign(new Error(`${bond}: the daemon did not finish deleting it within 10 s`), { code: 'ETIMEDOUT' });
      return out(`${bond} deleted`);
    }
    const { recoverOnly } = await import('../daemon.js');
    const { pinoLogger } = await import('../util/logger.js');
    const runDir = program.opts<{ runDir: string }>().runDir;
    const done = recoverOnly([bond], runDir, pinoLogger({ format: 'pretty' }));
    if (!done.length) throw Object.assign(new Error(`${bond}: no bondd runs it and no journal of it is in ${runDir}`), { code: 'ENOENT' });
    for (const r of done) for (const sl of r.slaves) out(`${r.bond} ${sl.name}: ${sl.restored.join(', ') || 'nothing left to restore'}`);
    out(`${bond} deleted`);
  });

program
  .command('recover')
  .description(
    'take down what a bondd that is gone left (a bond still forwarding on its pinned programs included): slaves put back ' +
      '(MAC, MTU, flags, IPv6, tc filter), pins and TAP removed, from its journal in --run-dir',
  )
  .argument('[bond...]', 'the bonds (default: every bond with a journal)')
  .action(async (bonds: string[]) => {
    // only this command touches interfaces itself: load the addon and the daemon code for it alone
    const { recoverOnly } = await import('../daemon.js');
    const { pinoLogger } = await import('../util/logger.js');
    const runDir = program.opts<{ runDir: string }>().runDir;
    const done = recoverOnly(bonds.length ? bonds : null, runDir, pinoLogger({ format: 'pretty' }));
    for (const r of done) for (const sl of r.slaves) out(`${r.bond} ${sl.name}: ${sl.restored.join(', ') || 'nothing left to restore'}`);
    if (!done.length) out(`nothing to recover in ${runDir}`);
  });

try {
  await program.parseAsync();
} catch (e) {
  const err = e as Error & { code?: string };
  process.stderr.write(`bondctl: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
  process.exit(err.code === 'ECONTROL' ? 3 : 2);
}
