// The one time source. Engines and monitors take a Clock; tests use ManualClock.advance(ms).
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls fn every ms; returns a cancel function. */
  every(ms: number, fn: () => void): () => void;
  /** Calls fn once after ms; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

/** Wall-clock time in whole microseconds (to line up log lines with packet captures). */
export function wallMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Subscribers of one period, called from one interval timer. */
interface Ticker {
  readonly subs: Set<{ fn: () => void; from: number }>;
  readonly handle: ReturnType<typeof setInterval>;
}

const tickers = new Map<number, Ticker>();

/**
 * Every periodic job of a period shares one interval timer: 64 bonds' miimon polls wake the
 * process 10 times a second, not 640 (each wakeup costs the idle daemon CPU; docs/performance.md
 * "Scale"). A job joins at the first beat at least `ms` after it asked, as a timer of its own
 * would first fire. One job throwing does not keep the others of its beat from running: the
 * error is rethrown on its own, as an interval's would be.
 */
function every(ms: number, fn: () => void): () => void {
  let t = tickers.get(ms);
  if (!t) {
    const subs: Ticker['subs'] = new Set();
    const beat = () => {
      const now = performance.now();
      for (const s of subs) {
        if (s.from > now) continue;
        try {
          s.fn();
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    };
    t = { subs, handle: setInterval(beat, ms) };
    tickers.set(ms, t);
  }
  const ticker = t;
  // 1 ms of slack: a timer may fire a little before its time by performance.now()
  const sub = { fn, from: performance.now() + ms - 1 };
  ticker.subs.add(sub);
  return () => {
    ticker.subs.delete(sub);
    if (ticker.subs.size === 0 && tickers.get(ms) === ticker) {
      clearInterval(ticker.handle);
      tickers.delete(ms);
    }
  };
}

export const systemClock: Clock = {
  now: () => performance.now(),
  every,
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

interface Timer {
  at: number;
  every: number; // 0 = one-shot
  fn: () => void;
  id: number;
}

/** Simulated time: nothing happens until advance() is called (OVS time/warp). */
export class ManualClock implements Clock {
  private t = 0;
  private timers: Timer[] = [];
  private nextId = 1;

  now(): number {
    return this.t;
  }

  every(ms: number, fn: () => void): () => void {
    return this.add(ms, Math.max(1, ms), fn);
  }

  after(ms: number, fn: () => void): () => void {
    return this.add(ms, 0, fn);
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const tm of this.timers) if (tm.at <= end && (!next || tm.at < next.at || (tm.at === next.at && tm.id < next.id))) next = tm;
      if (!next) break;
      this.t = next.at;
      if (next.every) next.at += next.every;
      else this.timers = this.timers.filter((x) => x !== next);
      next.fn();
    }
    this.t = end;
  }

  private add(ms: number, every: number, fn: () => void): () => void {
    const tm: Timer = { at: this.t + ms, every, fn, id: this.nextId++ };
    this.timers.push(tm);
    return () => {
      this.timers = this.timers.filter((x) => x !== tm);
    };
  }
}
