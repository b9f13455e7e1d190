// The daemon's own health: event-loop delay (the datapath and every monitor run on the one event
// loop, so a stalled loop shows here before a monitor misfires), memory and open descriptors.
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface ProcessState {
  pid: number;
  uptime_s: number;
  rss_bytes: number;
  /** The JavaScript heap in use, and memory held outside it (Buffers, the addon's). */
  heap_used_bytes: number;
  external_bytes: number;
  open_fds: number;
  /** Since the daemon started: how late a 50 ms timer fired (0 on an idle loop). */
  event_loop_delay_ms: { p50: number; p99: number; max: number };
}

/** monitorEventLoopDelay's sampling interval, ms: each sample wakes the process, and 100 wakeups a
 * second were most of what an idle bondd cost (docs/performance.md "Scale"). */
const RESOLUTION_MS = 50;

export class ProcessStats {
  private readonly h: IntervalHistogram;

  constructor() {
    this.h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.h.enable();
  }

  read(): ProcessState {
    // Node's histogram records the time between two samples, i.e. the interval plus the delay:
    // an idle loop reads 50.1 ms at p50. The delay is what exceeds the interval.
    const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
    let fds = -1;
    try {
      fds = readdirSync('/proc/self/fd').length;
    } catch {
      /* not Linux /proc */
    }
    const mem = process.memoryUsage();
    return {
      pid: process.pid,
      uptime_s: Math.round(process.uptime()),
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      external_bytes: mem.external,
      open_fds: fds,
      event_loop_delay_ms: { p50: ms(this.h.percentile(50)), p99: ms(this.h.percentile(99)), max: ms(this.h.max) },
    };
  }

  stop(): void {
    this.h.disable();
  }
}
