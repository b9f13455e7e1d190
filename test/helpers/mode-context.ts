// A ModeContext with no bond behind it: ports are plain Port objects whose links the test sets,
// and everything a mode asks of the bond is recorded. For unit tests of one mode at a time.
import { TlbEngine } from '../../src/datapath/tlb.js';
import type { RxPlan, TxPlan } from '../../src/datapath/plan.js';
import type { ModeContext } from '../../src/modes/mode.js';
import { resolveOptions } from '../../src/options/parse.js';
import { Port } from '../../src/port/port.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryLogger } from '../../src/util/logger.js';

export const BOND_MAC = Uint8Array.of(0x02, 0xb0, 0, 0, 0, 1);
const MAX_PORTS = 32; // the binding's MAX_PORTS (test/unit/native/native-binding.test.ts checks it)

export function portMac(i: number): Uint8Array {
  return Uint8Array.of(0x02, 0, 0, 0, 0, 0x10 + i);
}

export function modeContext(opts: Record<string, string | number>, names = ['s0', 's1', 's2'], bondMac = BOND_MAC) {
  const clock = new ManualClock();
  const log = new MemoryLogger();
  const { options } = resolveOptions(opts);
  const ports = names.map((name, i) => {
    const mac = portMac(i);
    mac[4] = bondMac[5]; // distinct per bond
    const p = new Port(i + 1, name, 100 + i, mac, { name, ifindex: 100 + i, mac, mtu: 1500, flags: 0, disableIpv6: null }, 'up');
    p.speed = 1000;
    p.duplex = 'full';
    return p;
  });
  const published: { tx: TxPlan; rx: RxPlan }[] = [];
  const sent: { port: Port; frame: Uint8Array }[] = [];
  const notified: Port[] = [];
  const activeChanges: [string | null, string | null][] = [];
  const igmpResends: string[] = [];
  /** What the mode asked of the bond, in order: publish, active a->b, notify x, igmp x. */
  const calls: string[] = [];
  let carrierUpdates = 0;
  const ctx: ModeContext = {
    bondName: 'bond0',
    clock,
    log,
    maxPorts: MAX_PORTS,
    tlb: new TlbEngine(MAX_PORTS),
    ports: () => ports,
    options: () => options,
    publish: (tx, rx) => {
      published.push({ tx, rx });
      calls.push('publish');
    },
    notifyPeers: (p) => {
      notified.push(p);
      calls.push(`notify ${p.name}`);
    },
    activeChanged: (prev, next) => {
      activeChanges.push([prev?.name ?? null, next?.name ?? null]);
      calls.push(`active ${prev?.name ?? null}->${next?.name ?? null}`);
    },
    resendIgmp: (p) => {
      igmpResends.push(p.name);
      calls.push(`igmp ${p.name}`);
    },
    sendControl: (port, frame) => void sent.push({ port, frame }),
    updateCarrier: () => void carrierUpdates++,
    bondMac: () => bondMac,
  };
  const port = (name: string) => ports.find((p) => p.name === name)!;
  return {
    ctx,
    clock,
    log,
    options,
    ports,
    port,
    published,
    sent,
    notified,
    activeChanges,
    igmpResends,
    calls,
    carrierUpdates: () => carrierUpdates,
    /** The last published plans. */
    last: () => published[published.length - 1],
    /** Sets a port's link as a monitor would. */
    link(name: string, up: boolean) {
      port(name).link.set(up);
    },
  };
}

/** Engine ports whose bit is set in `mask`. */
export function bits(mask: number): number[] {
  return Array.from({ length: 32 }, (_, i) => i).filter((i) => (mask >>> i) & 1);
}
