// The one time source. Engines and monitors take a Clock; tests use ManualClock.advance(ms).
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls fn every ms; returns a cancel function. */
  every(ms: number, fn: () => void): () => void;
  /** Calls fn once after ms; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
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
