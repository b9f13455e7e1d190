// A slave joining and leaving the bond, as far as its resources go: the kernel's bond_enslave
// checks, an engine port, its packet socket and fast-path program, its MAC and MTU, the crash
// journal; and on leaving the same undone in reverse. What the bond does about it (the mode, the
// link monitor, the carrier) stays in bond.ts.
import type { Datapath } from '../datapath/datapath.js';
import { BondError } from '../errors.js';
import type { Host } from '../host/host.js';
import { initialState, readCarrier } from '../monitors/index.js';
import { MODE_INFO } from '../options/modes.js';
import type { BondOptions } from '../options/parse.js';
import { MII_STATUS_TEXT } from '../port/link.js';
import { Port, type SavedLink } from '../port/port.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { BondFastPath } from './fast-path.js';
import type { Journal } from './journal.js';
import type { MacPolicy } from './mac-policy.js';
import { adoptSlave, inspectSlave, prepareSlave, restoreSlave } from './slave-setup.js';
import type { AdoptedSlave } from './types.js';

const SOCKET_BUFFER_BYTES = 8 << 20; // packet sockets: 64 KiB GSO frames overflow the ~208 KiB default

export interface Membership {
  host: Host;
  log: Logger;
  clock: Clock;
  bondName: string;
  mtu: number;
  options(): BondOptions;
  ports(): readonly Port[];
  datapath: Datapath;
  fast: BondFastPath;
  macs: MacPolicy;
  journal: Journal | undefined;
}

/**
 * Makes `name` a slave (or, `adopted`, takes it over in place as an earlier bondd journaled it)
 * and returns its port, not yet in the bond's list. On a failure nothing is left behind.
 */
export function joinPort(m: Membership, name: string, adopted?: AdoptedSlave): Port {
  const { host, log } = m;
  const b = host.binding;
  const o = m.options();
  const ports = m.ports();
  const info = inspectSlave(b, m.bondName, name, ports);
  if (MODE_INFO[o.mode].needsSpeed && info.speed < 0) log.warn(`speed unknown; mode ${o.mode} needs it`, { slave: name });
  const index = adopted?.port !== undefined && !ports.some((p) => p.index === adopted.port) ? adopted.port : freeIndex(m);
  // an adopted slave has the bond's MAC now; its own is the one journaled
  m.macs.adoptFirstSlave(adopted ? adopted.mac : info.mac);
  const engine = m.datapath.engine;
  let saved;
  try {
    const setup = {
      mtu: m.mtu,
      mac: m.macs.forNewSlave(adopted ? adopted.mac : info.mac),
      openSocket: () => engine.openPacket(index, info.ifindex, SOCKET_BUFFER_BYTES),
      attachFastPath: m.fast.slaveAttach(index, info.ifindex),
      record: (saved: SavedLink, phase: 'preparing' | 'enslaved') => m.journal?.record(saved, phase, index),
    };
    saved = adopted ? adoptSlave(host, log, { ...info, name }, adopted, setup) : prepareSlave(host, log, { ...info, name }, setup);
  } catch (e) {
    m.fast.detachSlave(index);
    engine.closePort(index);
    m.journal?.forget(info.ifindex);
    throw e;
  }
  const now = b.linkInfo(name);
  const carrier = readCarrier(b, name, o.use_carrier, now);
  const port = Port.enslaved(index, name, saved, now, carrier, initialState(carrier, o), m.clock.now());
  const speed = port.speed > 0 ? port.speed + ' Mbps' : 'speed unknown';
  const what = adopted ? 'adopted in place' : 'enslaved to ' + m.bondName;
  const event = adopted ? 'adopted' : 'enslaved';
  log.info(`${what} (engine port ${index}, link ${MII_STATUS_TEXT[port.link.state]}, ${speed})`, { slave: name, event });
  return port;
}

/** Undoes joinPort for a port already out of the bond's list: the slave is as it was before. */
export function leavePort(m: Membership, port: Port): void {
  m.fast.detachSlave(port.index);
  m.datapath.engine.closePort(port.index);
  restoreSlave(m.host, m.log, port.saved);
  m.journal?.forget(port.ifindex);
  m.macs.released(port);
  m.log.info(`released from ${m.bondName}`, { slave: port.name, event: 'released' });
}

function freeIndex(m: Membership): number {
  const max = m.datapath.maxPorts;
  for (let i = 1; i < max; i++) if (!m.ports().some((p) => p.index === i)) return i;
  throw new BondError('EPORT_INVALID', `${m.bondName}: no room for another slave (at most ${max - 1})`);
}
