// The built addon against its typed boundary (src/native/types.ts): every export NativeBinding
// declares is there with the right kind and nothing else is; the constants are the ones the
// TypeScript side relies on; wrong arguments are TypeErrors, not garbage reads. The in-memory
// binding of the tests must agree with it too.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ctr, type NativeBinding, type NativeEngine, type NativeNetlinkSocket } from '../../../src/native/types.js';
import { FakeNet } from '../../helpers/fake-binding.js';
import { mustSkip } from '../../helpers/lab.js';

const ADDON = join(import.meta.dirname, '..', '..', '..', 'build', 'Release', 'tapbond.node');

// Record<keyof ...>: the typecheck fails when these lists and the interfaces drift apart
const EXPORTS: Record<keyof NativeBinding, 'function' | 'number'> = {
  Engine: 'function',
  NetlinkSocket: 'function',
  linkInfo: 'function',
  setMac: 'function',
  setMtu: 'function',
  setFlags: 'function',
  ifName: 'function',
  setAffinity: 'function',
  sendUnixDatagram: 'function',
  raiseCaps: 'function',
  peerCred: 'function',
  mallocArenaMax: 'function',
  bpfMapCreate: 'function',
  bpfMapUpdate: 'function',
  bpfMapLookup: 'function',
  bpfMapNextKey: 'function',
  bpfProgLoad: 'function',
  bpfLinkCreate: 'function',
  bpfProgTestRun: 'function',
  bpfProgQuery: 'function',
  sendFds: 'function',
  bindDatagram: 'function',
  recvFds: 'function',
  setCloexec: 'function',
  execve: 'function',
  bpfObjPin: 'function',
  bpfObjGet: 'function',
  bpfLinkUpdate: 'function',
  bpfMapInfo: 'function',
  closeFd: 'function',
  COUNTERS: 'number',
  MAX_PORTS: 'number',
  VNET_HDR_LEN: 'number',
  HEADROOM: 'number',
};
const ENGINE_METHODS: Record<keyof NativeEngine, true> = {
  openTap: true,
  openPacket: true,
  closePort: true,
  send: true,
  setTapCarrier: true,
  setTapPersist: true,
  adoptTap: true,
  dupTap: true,
  setMembership: true,
  readKernelStats: true,
  setBusyPoll: true,
  attachFilter: true,
  close: true,
};
const NETLINK_METHODS: Record<keyof NativeNetlinkSocket, true> = { request: true, close: true };

/** What the TypeScript side assumes: a verdict is a 32-bit mask, one bit per engine port. */
const CONSTANTS = { COUNTERS: Object.keys(Ctr).length, MAX_PORTS: 32, VNET_HDR_LEN: 10, HEADROOM: 4 };

describe.skipIf(mustSkip(existsSync(ADDON) ? '' : 'native addon not built: run `npm run build`'))(
  'the native addon (build/Release/tapbond.node)',
  () => {
    const binding = createRequire(import.meta.url)(ADDON) as NativeBinding;

    it('exports exactly what NativeBinding declares, with the constants the TypeScript side uses', () => {
      expect(Object.keys(binding).sort()).toEqual(Object.keys(EXPORTS).sort());
      for (const [name, kind] of Object.entries(EXPORTS)) expect(typeof binding[name as keyof NativeBinding], name).toBe(kind);
      expect({
        COUNTERS: binding.COUNTERS,
        MAX_PORTS: binding.MAX_PORTS,
        VNET_HDR_LEN: binding.VNET_HDR_LEN,
        HEADROOM: binding.HEADROOM,
      }).toEqual(CONSTANTS);
    });

    it('gives Engine and NetlinkSocket the methods their interfaces declare', () => {
      const own = (c: { prototype: object }) => Object.getOwnPropertyNames(c.prototype).filter((n) => n !== 'constructor');
      expect(own(binding.Engine).sort()).toEqual(Object.keys(ENGINE_METHODS).sort());
      expect(own(binding.NetlinkSocket).sort()).toEqual(Object.keys(NETLINK_METHODS).sort());
    });

    it('refuses wrong arguments with a TypeError that names the function and the argument', () => {
      const b = binding as unknown as Record<string, (...a: unknown[]) => unknown>;
      expect(() => b.setMtu('lo', '1500')).toThrow(TypeError);
      expect(() => b.setMtu('lo', '1500')).toThrow('setMtu: argument 2 must be a number');
      expect(() => b.setMac('lo', [1, 2, 3, 4, 5, 6])).toThrow('setMac: argument 2 must be a Uint8Array');
      expect(() => b.ifName()).toThrow('ifName: argument 1 must be a number');
      expect(() => b.setAffinity(0)).toThrow('setAffinity: argument 1 must be an array');
      expect(() => b.sendUnixDatagram(1, new Uint8Array(1))).toThrow('sendUnixDatagram: argument 1 must be a string');
      expect(() => b.linkInfo(7)).toThrow(TypeError);
      expect(() => b.linkInfo('lo', 1)).toThrow('linkInfo: argument 2 must be a boolean');
      expect(() => b.bpfMapCreate(2, 4, 4, 1, 0, 7)).toThrow('bpfMapCreate: argument 6 must be a string');
      expect(() => b.bpfProgLoad(3, [0], 'GPL', 'x', 0)).toThrow('bpfProgLoad: argument 2 must be a Uint8Array');
      expect(() => b.bpfProgTestRun(-1, new Uint8Array(14), null)).toThrow('bpfProgTestRun: argument 4 must be a number');
      expect(() => new binding.Engine({} as never)).toThrow('Engine: option slotSize (a number) expected');
      expect(() => new binding.NetlinkSocket('all' as never)).toThrow(TypeError);
    });

    it('reads a link with or without the ethtool ioctls (which take the RTNL lock)', () => {
      const full = binding.linkInfo('lo');
      const quick = binding.linkInfo('lo', false);
      expect(quick).toMatchObject({ ifindex: full.ifindex, flags: full.flags, mtu: full.mtu, type: full.type });
      expect(Array.from(quick.mac)).toEqual(Array.from(full.mac));
      expect(quick).toMatchObject({ speed: -1, duplex: 'unknown', link: null });
      expect(full.link).not.toBeNull(); // lo answers ETHTOOL_GLINK
    });

    it('limits malloc arenas: threads that allocate after mallocArenaMax take no arena of their own', () => {
      const probe = (limit: string) =>
        JSON.parse(
          execFileSync(process.execPath, [join(import.meta.dirname, '..', '..', 'helpers', 'malloc-arenas-probe.mjs'), ADDON, limit], {
            encoding: 'utf8',
          }),
        ) as {
          set: boolean | null;
          before: number;
          after: number;
        };
      const free = probe('none');
      expect(free.after - free.before).toBeGreaterThanOrEqual(3); // an arena for each worker thread
      const limited = probe('1');
      expect(limited.set).toBe(true);
      expect(limited.after).toBe(limited.before);
    });

    it('agrees with the in-memory binding the tests use', () => {
      const fake = new FakeNet().binding();
      for (const k of Object.keys(CONSTANTS) as (keyof typeof CONSTANTS)[]) expect(fake[k], k).toBe(binding[k]);
      expect(Object.keys(fake).sort()).toEqual(Object.keys(EXPORTS).sort());
    });
  },
);
