// HOT PATH. The MACs seen as Ethernet sources on frames coming from the TAP master: the host's
// own and, with a bridge on the TAP, every guest behind it. Open addressing over typed arrays
// (no allocation per frame). Used to drop frames that come back to us (a broadcast from a guest
// reflected by the switch onto another slave must not make the bridge relearn the guest on the
// bond) and to announce every local MAC after a failover (OVS and QEMU send RARPs for this).

const EMPTY = -1;
const MAX_PROBE = 32;

export class MacTable {
  private readonly keys: Float64Array;
  private readonly seen: Float64Array;
  private readonly mask: number;

  /**
   * @param capacity slots, rounded up to a power of two
   * @param ageMs an entry not refreshed for this long is forgotten
   */
  constructor(
    capacity = 4096,
    readonly ageMs = 60_000,
  ) {
    let n = 16;
    while (n < capacity) n <<= 1;
    this.keys = new Float64Array(n).fill(EMPTY);
    this.seen = new Float64Array(n);
    this.mask = n - 1;
  }

  /** The 48-bit MAC at `off` as an exact float64 key. */
  static key(b: Uint8Array, off: number): number {
    return ((b[off] << 8) | b[off + 1]) * 4294967296 + (((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0);
  }

  private slot(key: number): number {
    const lo = key % 4294967296;
    const hi = (key - lo) / 4294967296;
    return (Math.imul(lo ^ (hi * 0x9e37), 0x9e3779b1) >>> 16) & this.mask;
  }

  /** Records (or refreshes) the source MAC of a frame at `off` (the Ethernet header). */
  learn(b: Uint8Array, srcOff: number, now: number): void {
    const key = MacTable.key(b, srcOff);
    let i = this.slot(key);
    let reuse = -1;
    for (let n = 0; n < MAX_PROBE; n++, i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === key) {
        this.seen[i] = now;
        return;
      }
      if (k === EMPTY) break;
      if (reuse < 0 && now - this.seen[i] > this.ageMs) reuse = i;
    }
    const at = reuse >= 0 ? reuse : this.keys[i] === EMPTY ? i : -1;
    if (at < 0) return; // a full neighbourhood: not learned (bounded work per frame)
    this.keys[at] = key;
    this.seen[at] = now;
  }

  /** True when the MAC at `off` was sent from our side within the ageing time. */
  has(b: Uint8Array, off: number, now: number): boolean {
    const key = MacTable.key(b, off);
    let i = this.slot(key);
    for (let n = 0; n < MAX_PROBE; n++, i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === key) return now - this.seen[i] <= this.ageMs;
      if (k === EMPTY) return false;
    }
    return false;
  }

  /** Control path: the live entries as 6-byte MACs. */
  entries(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i <= this.mask; i++) {
      const k = this.keys[i];
      if (k === EMPTY || now - this.seen[i] > this.ageMs) continue;
      const m = new Uint8Array(6);
      const lo = k % 4294967296;
      const hi = (k - lo) / 4294967296;
      m[0] = hi >>> 8;
      m[1] = hi & 0xff;
      m[2] = lo >>> 24;
      m[3] = (lo >>> 16) & 0xff;
      m[4] = (lo >>> 8) & 0xff;
      m[5] = lo & 0xff;
      out.push(m);
    }
    return out;
  }
}
