// The system clock's periodic jobs share one timer per period (an idle daemon with many bonds
// wakes once per beat), and still behave as timers of their own would.
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/util/clock.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

describe('systemClock.every', () => {
  it('runs the jobs of one period in the same beat, each first at least one period after it asked', async () => {
    const calls: [string, number][] = [];
    const t0 = performance.now();
    stops.push(systemClock.every(40, () => calls.push(['a', performance.now()])));
    await sleep(15);
    const tb = performance.now();
    stops.push(systemClock.every(40, () => calls.push(['b', performance.now()])));
    await sleep(200);
    const a = calls.filter(([n]) => n === 'a').map(([, t]) => t);
    const b = calls.filter(([n]) => n === 'b').map(([, t]) => t);
    expect(a[0] - t0).toBeGreaterThanOrEqual(39);
    expect(b[0] - tb).toBeGreaterThanOrEqual(39);
    // b joined a's beat: every b call is at the same moment as an a call
    for (const t of b) expect(a.some((x) => Math.abs(x - t) < 1)).toBe(true);
    expect(a.length).toBeGreaterThanOrEqual(3);
  });

  it('stops a cancelled job only, and keeps running the others when one throws', async () => {
    let kept = 0;
    let cancelled = 0;
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onError);
    try {
      stops.push(
        systemClock.every(30, () => {
          throw new Error('job failed');
        }),
      );
      stops.push(systemClock.every(30, () => kept++));
      const stop = systemClock.every(30, () => cancelled++);
      await sleep(75);
      stop();
      const at = cancelled;
      await sleep(100);
      expect(cancelled).toBe(at);
      expect(kept).toBeGreaterThanOrEqual(4);
      expect(errors.length).toBeGreaterThanOrEqual(kept - 1);
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
