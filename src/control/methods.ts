// The control method table (teamd ctl / OVS unixctl style): name, parameter check, handler.
// The transport (server.ts) knows nothing about the methods.
import { statSync } from 'node:fs';
import type { Bond } from '../bond/bond.js';
import { renderShow, renderStats } from '../report/show.js';
import { BondError } from '../errors.js';
import { frameFromHex, frameFromSpec } from '../net/frame-spec.js';
import type { ProcessState } from '../util/process-stats.js';

/** What a method may see besides its bond: the daemon process's own health. */
export interface MethodContext {
  process?(): ProcessState;
  /** Takes the bond down once the reply is sent (slaves restored, TAP and pins removed). */
  delete?(): void;
  /** Sends a copy of the TAP's fd to the unix datagram socket `path`, then lets go of the bond. */
  handover?(path: string): void;
}

export interface Method {
  readonly name: string;
  readonly help: string;
  handler(bond: Bond, params: Record<string, unknown>, ctx: MethodContext): unknown;
}

function str(params: Record<string, unknown>, key: string): string {
  const v = params[key];
  if (typeof v !== 'string' || v === '') throw new BondError('ECONTROL', `parameter '${key}' (string) is required`);
  return v;
}

export const METHODS: readonly Method[] = [
  {
    name: 'state.dump',
    help: 'the whole state tree, with the daemon process',
    handler: (b, _p, ctx) => ({ ...b.state(), ...(ctx.process ? { process: ctx.process() } : {}) }),
  },
  {
    name: 'show',
    help: '/proc/net/bonding layout',
    handler: (b, p) => (p.stats ? renderShow(b.state()) + '\n' + renderStats(b.state()) : renderShow(b.state())),
  },
  {
    name: 'option.set',
    help: 'change an option at runtime',
    handler: (b, p) => ({ notes: b.setOption(str(p, 'name'), p.value ?? '') }),
  },
  {
    name: 'port.set',
    help: 'change a per-slave option',
    handler: (b, p) => (b.setSlaveOption(str(p, 'port'), str(p, 'name'), p.value ?? ''), {}),
  },
  { name: 'port.add', help: 'enslave an interface', handler: (b, p) => (b.enslave(str(p, 'port')), {}) },
  { name: 'port.remove', help: 'release an interface', handler: (b, p) => (b.release(str(p, 'port')), {}) },
  {
    name: 'debug.hash',
    help: 'which slave a frame would take',
    handler: (b, p) =>
      b.placement(typeof p.hex === 'string' ? frameFromHex(p.hex) : frameFromSpec(Array.isArray(p.spec) ? p.spec.map(String) : [])),
  },
  { name: 'config.effective', help: 'effective options', handler: (b) => b.state().options },
  {
    name: 'bond.handover',
    help: "bondd --takeover: the TAP's fd to the caller's socket (SCM_RIGHTS), then this daemon leaves the bond to it",
    handler: (b, p, ctx) => {
      if (!ctx.handover) throw new BondError('ECONTROL', `${b.name}: this daemon cannot hand its bond over`);
      const path = str(p, 'path');
      if (!path.startsWith('/')) throw new BondError('ECONTROL', `path: an absolute socket path expected, got '${path}'`);
      // the TAP's fd reads and writes every frame of the bond: only to a socket of the daemon's
      // own user (root), never to one a --control-group member made
      let owner = -1;
      try {
        owner = statSync(path).uid;
      } catch {
        throw new BondError('ECONTROL', `path: no socket at '${path}'`);
      }
      if (owner !== (process.getuid?.() ?? 0)) throw new BondError('EPERM', `path: '${path}' is not owned by bondd's user`);
      ctx.handover(path);
      return { pid: process.pid };
    },
  },
  {
    name: 'bond.delete',
    help: 'take the bond down: every slave restored, the TAP and the pinned programs removed, the daemon done with it',
    handler: (b, _p, ctx) => {
      if (!ctx.delete) throw new BondError('ECONTROL', `${b.name}: this daemon cannot delete its bond`);
      ctx.delete();
      return { deleting: b.name };
    },
  },
];

export const METHOD_BY_NAME: ReadonlyMap<string, Method> = new Map(METHODS.map((m) => [m.name, m]));
