// The event-loop delay the daemon reports is the lateness of its sampling timer, not the
// sampling interval itself (Node's histogram records the interval plus the delay).
import { describe, expect, it } from 'vitest';
import { ProcessStats } from '../../../src/util/process-stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('process stats', () => {
  it('reports an idle loop as near zero delay, and a blocked one as the time it was blocked', async () => {
    const s = new ProcessStats();
    await sleep(300);
    const idle = s.read().event_loop_delay_ms;
    expect(idle.p50).toBeLessThan(5);
    const until = performance.now() + 200;
    while (performance.now() < until); // block the loop for 200 ms
    await sleep(80);
    // the sample due during the block fires at its end: late by the block less at most one
    // sampling interval (50 ms)
    const blocked = s.read().event_loop_delay_ms;
    expect(blocked.max).toBeGreaterThan(140);
    expect(blocked.max).toBeLessThan(500);
    s.stop();
  });

  it('reports memory as the process sees it: RSS above the heap in use, Buffers outside the heap', () => {
    const s = new ProcessStats();
    const before = s.read();
    const held = Buffer.alloc(32 << 20, 1); // 32 MiB outside the JavaScript heap
    const after = s.read();
    expect(before.rss_bytes).toBeGreaterThan(before.heap_used_bytes);
    expect(after.external_bytes - before.external_bytes).toBeGreaterThanOrEqual(32 << 20);
    expect(held.length).toBe(32 << 20);
    s.stop();
  });
});
