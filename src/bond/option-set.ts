// `bondctl set` on a live bond: an option validated against the bond as it is, then applied
// without a restart, with what else it takes (a new mode, a restarted link monitor) from the
// option table's effects. The handlers that need more than the table (kernel bond_options.c
// bond_option_active_slave_set, and the per-slave options of bond_netlink.c) check the value
// against the live ports and name what is wrong and what is allowed.
import { BondError } from '../errors.js';
import type { Mode } from '../modes/mode.js';
import { MODE_INFO, modesWhere } from '../options/modes.js';
import { changeOption, changedEffects, parseSlaveOption, type BondFacts, type BondOptions } from '../options/parse.js';
import { MII_STATUS_TEXT } from '../port/link.js';
import type { Port } from '../port/port.js';
import type { Logger } from '../util/logger.js';

/** What an option change may see and do of the bond. */
export interface OptionSite {
  bondName: string;
  log: Logger;
  options(): BondOptions;
  setOptions(o: BondOptions): void;
  ports(): readonly Port[];
  mode(): Mode;
  /** A new mode from the options as they are now, its tick restarted. */
  renewMode(): void;
  restartMonitor(): void;
  updateCarrier(): void;
  facts(): BondFacts;
}

/** A bond option; returns the notes (warnings) the kernel would print. */
export function setBondOption(s: OptionSite, name: string, value: unknown): string[] {
  if (name === 'active_slave') return setActiveSlave(s, String(value ?? ''));
  const before = s.options();
  const { options, notes } = changeOption(before, name, value, s.facts());
  const effects = changedEffects(before, options);
  s.setOptions(options);
  if (effects.has('mode')) {
    s.renewMode();
    s.mode().update('mode change');
  }
  if (effects.has('monitor')) s.restartMonitor();
  s.mode().update(`${name} changed`);
  s.updateCarrier();
  s.log.info(`${name} set to ${String(options[name as keyof BondOptions])}`, { event: 'option-set', option: name });
  for (const n of notes) s.log.warn(n);
  return notes;
}

/** A per-slave option (kernel `ip link set DEV type bond_slave NAME VALUE`). */
export function setSlaveOption(s: OptionSite, slave: string, name: string, raw: unknown): void {
  const o = s.options();
  const value = applySlaveOption(s.bondName, s.ports(), o, slave, name, raw);
  s.log.info(`${name} set to ${value}`, { slave, event: 'slave-option-set', option: name });
  if (name === 'queue_id' && value !== 0 && !MODE_INFO[o.mode].queueOverride) {
    // the kernel keeps the id silently (bond_should_override_tx_queue)
    const follow = modesWhere((m) => m.queueOverride).join(' and ');
    s.log.warn(`queue_id is kept, but mode ${o.mode} sends by its own policy: only ${follow} follow queue ids`, {
      slave,
    });
  }
  if (name === 'prio' && o.primary && s.ports().some((p) => p.name === o.primary)) {
    // kernel compat (bond_option_prio_set)
    s.log.warn(`prio updated, but it does not affect failover reselection while primary ${o.primary} is set`, { slave });
  }
  s.mode().update(`${slave} ${name} changed`);
}

function setActiveSlave(s: OptionSite, name: string): string[] {
  // validate like any option (mode check), then the kernel's own checks
  changeOption(s.options(), 'active_slave', name, s.facts());
  const mode = s.mode();
  const port = activeSlaveTarget(name, s.bondName, s.ports(), mode, s.options().mode);
  mode.setActive!(port);
  if (port) s.updateCarrier();
  else mode.update('active_slave cleared');
  return [];
}

/** The port `active_slave=name` makes active (null: automatic selection again), or a clear error. */
function activeSlaveTarget(name: string, bondName: string, ports: readonly Port[], mode: Mode, modeName: string): Port | null {
  if (!mode.setActive) throw new BondError('EOPT_MODE', `active_slave: not valid in mode ${modeName}`);
  if (name === '') return null;
  const port = ports.find((p) => p.name === name);
  if (!port) {
    const allowed = ports.map((p) => p.name).join(', ') || 'no slaves';
    throw new BondError('EOPT_VALUE', `active_slave: invalid value '${name}' (not a slave of ${bondName}); allowed: ${allowed}`);
  }
  if (!port.isUp) {
    const link = MII_STATUS_TEXT[port.link.state];
    throw new BondError('EOPT_VALUE', `active_slave: invalid value '${name}' (link is ${link}); the new active slave must be up`);
  }
  return port;
}

/** A per-slave option (kernel `ip link set DEV type bond_slave NAME VALUE`) applied to its port. */
function applySlaveOption(
  bondName: string,
  ports: readonly Port[],
  o: Readonly<BondOptions>,
  slave: string,
  name: string,
  raw: unknown,
): number {
  const port = ports.find((p) => p.name === slave);
  if (!port) throw new BondError('EPORT_UNKNOWN', `${slave} is not a slave of ${bondName}`);
  const { value } = parseSlaveOption(name, raw, o.mode);
  if (name === 'actor_port_prio') port.actorPortPrio = value;
  else if (name === 'prio') port.prio = value;
  else if (name === 'queue_id') {
    // kernel compat (bond_option_queue_id_set): at most real_num_tx_queues, i.e. tx_queues
    if (value > o.tx_queues)
      throw new BondError('EOPT_VALUE', `queue_id: invalid value '${value}' (tx_queues is ${o.tx_queues}); allowed: 0..${o.tx_queues}`);
    const other = value !== 0 && ports.find((p) => p !== port && p.queueId === value);
    // kernel compat (bond_option_queue_id_set): a non-zero id is one slave's
    if (other)
      throw new BondError(
        'EOPT_VALUE',
        `queue_id: invalid value '${value}' (${other.name} has it); allowed: 0, or an id no other slave has`,
      );
    port.queueId = value;
  }
  return value;
}
