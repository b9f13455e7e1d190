// A whole bond over the in-memory binding under a ManualClock.
import { Bond } from '../../src/bond/bond.js';
import { FakeNet, type FakeEngine } from './fake-binding.js';
import { resolveOptions } from '../../src/options/parse.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryLogger, type Logger } from '../../src/util/logger.js';

export function fakeBond<L extends Logger = MemoryLogger>(
  opts: Record<string, string | number>,
  slaves = ['s0', 's1', 's2'],
  log: L = new MemoryLogger() as unknown as L,
) {
  const net = new FakeNet();
  for (const s of slaves) net.addLink(s, { flags: 0x1003 });
  const clock = new ManualClock();
  const { options } = resolveOptions(opts);
  const bond = new Bond({ name: 'bond0', options }, { host: net.host(), clock, log });
  bond.start();
  for (const s of slaves) bond.enslave(s);
  const engine = net.engine as FakeEngine;
  const portOf = (name: string) => bond.state().ports.find((p) => p.name === name)!.engine_port;
  return { net, clock, log, bond, engine, portOf };
}
