// balance-tlb (mode 5) and balance-alb (mode 6). The active slave is chosen as in active-backup
// (primary, primary_reselect) and carries the bond's MAC; every other slave keeps a MAC of its
// own, swapped with the active one's on a change (the bond does the moves). Transmit balancing
// is the TlbEngine's, receive balancing (balance-alb) the RlbEngine's; this class adapts them:
// it publishes the plans, parses the bond's ARPs for RLB, and sends learning packets and client
// updates on the 100 ms tick.
import { isOurMac, type Port } from '../port/port.js';
import { RlbEngine, type RlbSnapshot } from '../alb/rlb.js';
import { policyId } from '../datapath/hash.js';
import { ETHERTYPE_OBSERVE, TX_NONE, maskOf, rxPlan } from '../datapath/plan.js';
import { arpReply, learningPacket, parseArp } from '../net/frames.js';
import { formatIp, formatMac, ipBytes, macEquals } from '../util/mac.js';
import { ActiveBackup } from './active-backup.js';
import type { ModeName } from '../options/modes.js';
import type { ModeContext } from './mode.js';

export class BalanceTlb extends ActiveBackup {
  override readonly name: ModeName = 'balance-tlb';
  private nextLearning = 0;

  constructor(ctx: ModeContext) {
    super(ctx);
    ctx.tlb.reset();
  }

  protected get tlb() {
    return this.ctx.tlb;
  }

  override isActive(port: Port): boolean {
    return port === this.current;
  }

  /** No gratuitous ARP: peers keep the bond's MAC, which moved with the active role. */
  protected override announce(next: Port): void {
    this.sendLearning(next);
  }

  protected override publish(): void {
    const ctx = this.ctx;
    const ports = ctx.ports();
    const cur = this.current;
    const now = ctx.clock.now();
    this.tlb.setPorts(
      ports.map((p) => ({ index: p.index, speed: p.speed, usable: p.isUp })),
      cur?.index ?? null,
      now,
    );
    this.portsChanged(ports, cur, now);
    const portMacs = new Uint8Array(ctx.maxPorts * 6); // a new one per plan: published plans never change
    for (const p of ports) portMacs.set(p.mac, p.index * 6);
    const usable = ports.filter((p) => p.isUp);
    const o = ctx.options();
    const others = ports.filter((p) => p !== cur && !macEquals(p.mac, ctx.bondMac()));
    const macs = new Uint8Array(others.length * 6);
    others.forEach((p, i) => macs.set(p.mac, i * 6));
    const rx = rxPlan(
      ctx.maxPorts,
      cur ? [cur.index] : [],
      this.trappedEthertypes(),
      usable.map((p) => p.index),
    );
    if (!cur) {
      ctx.publish(TX_NONE, rx);
      return;
    }
    ctx.publish(
      {
        kind: 'tlb',
        activeMask: maskOf([cur.index]),
        active: cur.index,
        bondMac: Uint8Array.from(ctx.bondMac()),
        portMacs,
        alb: this.name === 'balance-alb',
        dynamic: o.tlb_dynamic_lb === 'on',
        masks: Uint32Array.from(usable, (p) => (1 << p.index) >>> 0),
        policy: policyId(o.xmit_hash_policy),
        trapArp: this.name === 'balance-alb',
      },
      { ...rx, rewrite: { macs, bondMac: Uint8Array.from(ctx.bondMac()) } },
    );
  }

  /** balance-alb hooks. */
  protected portsChanged(_ports: readonly Port[], _cur: Port | null, _now: number): void {}
  protected trappedEthertypes(): [number, number][] {
    return [];
  }

  protected portName(index: number): string | null {
    return this.ctx.ports().find((p) => p.index === index)?.name ?? null;
  }

  private sendLearning(port: Port): void {
    if (port.isUp) this.ctx.sendControl(port, learningPacket(port.mac));
  }

  tick(): void {
    const now = this.ctx.clock.now();
    if (this.tlb.tick(now)) this.ctx.log.debug('tlb rebalance');
    if (now >= this.nextLearning) {
      this.nextLearning = now + this.ctx.options().lp_interval * 1000;
      for (const p of this.ctx.ports()) this.sendLearning(p);
    }
  }

  /** The bucket table (destination and source buckets), for a later bondd to go on from. */
  snapshot(): { tlb: number[]; rlb?: RlbSnapshot } {
    return { tlb: this.tlb.table() };
  }

  restore(state: unknown): void {
    const tlb = (state as { tlb?: unknown } | null)?.tlb;
    if (Array.isArray(tlb)) this.tlb.restoreTable(tlb as number[]);
  }

  override describe(): Record<string, unknown> {
    return {
      ...super.describe(),
      tlb_dynamic_lb: this.ctx.options().tlb_dynamic_lb,
      tlb: this.tlb
        .describe()
        .map((d) => ({ slave: this.portName(d.port), load_bytes_per_s: d.load, buckets: d.buckets, source_buckets: d.sourceBuckets })),
    };
  }
}

export class BalanceAlb extends BalanceTlb {
  override readonly name: ModeName = 'balance-alb';
  private readonly rlb = new RlbEngine();

  private wasUp = new Set<Port>();

  protected override portsChanged(ports: readonly Port[], cur: Port | null, now: number): void {
    // kernel rlb_teach_disabled_mac_on_primary: clients not yet updated keep sending to a failed
    // slave's MAC; a learning packet from the active slave moves that MAC to its switch port
    for (const p of this.wasUp) {
      if (!p.isUp && cur && cur !== p && cur.isUp && ports.includes(p)) this.ctx.sendControl(cur, learningPacket(p.mac));
    }
    this.wasUp = new Set(ports.filter((p) => p.isUp));
    this.rlb.setPorts(
      ports.map((p) => ({ index: p.index, mac: p.mac, speed: p.speed, usable: p.isUp })),
      cur?.index ?? null,
      now,
    );
  }

  protected override trappedEthertypes(): [number, number][] {
    return [[0x0806, ETHERTYPE_OBSERVE]];
  }

  /**
   * An ARP from the bond itself (slow path, rewritten in place): RLB picks the port for replies.
   * Without `commit` (a query) RLB is only asked where the reply would go.
   */
  transmitTrapped(frame: Uint8Array, commit: boolean): number {
    const cur = this.current;
    const activeMask = cur ? maskOf([cur.index]) : 0;
    const arp = parseArp(frame);
    if (!arp) return activeMask;
    const now = this.ctx.clock.now();
    if (!commit) {
      const p = arp.op === 2 ? this.rlb.peekReply(formatIp(arp.sip), formatIp(arp.tip)) : null;
      return p ? maskOf([p.index]) : activeMask;
    }
    if (arp.op === 2) {
      const p = this.rlb.txReply(formatIp(arp.sip), formatIp(arp.tip), arp.tha);
      if (!p) return activeMask;
      frame.set(p.mac, 6);
      frame.set(p.mac, arp.at + 8);
      return maskOf([p.index]);
    }
    if (arp.op === 1) this.rlb.txRequest(formatIp(arp.sip), formatIp(arp.tip), now);
    return activeMask;
  }

  trapped(port: Port, frame: Uint8Array): void {
    const arp = parseArp(frame);
    if (!arp) return;
    this.rlb.rx(arp.op, formatIp(arp.sip), arp.sha, formatIp(arp.tip), (m) => isOurMac(m, this.ctx.bondMac(), this.ctx.ports()));
    void port;
  }

  override tick(): void {
    super.tick();
    for (const u of this.rlb.tick(this.ctx.clock.now())) {
      const port = this.ctx.ports().find((p) => p.index === u.port);
      if (!port) continue;
      const f = arpReply(u.portMac, ipBytes(u.serverIp), u.clientMac, ipBytes(u.clientIp));
      for (let i = 0; i < 2; i++) this.ctx.sendControl(port, f);
    }
  }

  /** The bucket table and the RLB client table, for a later bondd to go on from. */
  override snapshot(): { tlb: number[]; rlb: RlbSnapshot } {
    return { ...super.snapshot(), rlb: this.rlb.snapshot() };
  }

  override restore(state: unknown): void {
    super.restore(state);
    const rlb = (state as { rlb?: RlbSnapshot } | null)?.rlb;
    if (rlb && Array.isArray(rlb.clients)) this.rlb.restore(rlb, this.ctx.clock.now());
  }

  override describe(): Record<string, unknown> {
    return {
      ...super.describe(),
      rlb_clients: this.rlb.list().map((c) => ({
        server: c.serverIp,
        client: c.clientIp,
        client_mac: c.clientMac ? formatMac(c.clientMac) : null,
        slave: c.port === null ? null : this.portName(c.port),
      })),
    };
  }
}
