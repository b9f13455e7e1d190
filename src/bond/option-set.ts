// The set handlers that need more than the option table (kernel bond_options.c
// bond_option_active_slave_set, and the per-slave options of bond_netlink.c): they check the
// value against the live ports and name what is wrong and what is allowed.
import { BondError } from '../errors.js';
import type { Mode } from '../modes/mode.js';
import { parseSlaveOption, type BondOptions } from '../options/parse.js';
import { MII_STATUS_TEXT } from '../port/link.js';
import type { Port } from '../port/port.js';

/** The port `active_slave=name` makes active (null: automatic selection again), or a clear error. */
export function activeSlaveTarget(name: string, bondName: string, ports: readonly Port[], mode: Mode, modeName: string): Port | null {
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
export function applySlaveOption(
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
