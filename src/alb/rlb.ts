// Sans-I/O receive load balancing (kernel bond_alb.c, RLB part): which slave each client should
// send to, taught to the client through the ARP replies the bond sends. Events and `now` in,
// decisions out; the mode rewrites frames and sends the updates.
//
// - An ARP reply from the bond to a client picks the client's port (round robin among the
//   fastest usable ports) and the reply goes out with that port's MAC as sender.
// - An ARP request from the bond is a broadcast carrying the bond's MAC: every client of that
//   server address that was assigned another port has just been pulled onto the active one, so
//   it is marked for an update, sent after a 2 s delay that lets the request's effect settle.
// - A port that fails or leaves hands its clients to the others (updates retried 3 times, 2 s
//   apart); a port that joins or comes back triggers a rebalance of every client; a port whose
//   MAC changed (the active MAC swap) re-teaches its clients.
// - An ARP seen from an address that is a client's with another MAC, or that claims one of our
//   server addresses, purges the stale entries.

import { formatMac, macEquals, parseMac } from '../util/mac.js';

export const RLB_UPDATE_DELAY_MS = 2000;
export const RLB_UPDATE_RETRY = 3;
export const RLB_ARP_BURST = 2;

export interface RlbPort {
  index: number;
  mac: Uint8Array;
  speed: number;
  usable: boolean;
}

export interface RlbClient {
  serverIp: string;
  clientIp: string;
  /** null until the client's own MAC is known (an entry made by our ARP request). */
  clientMac: Uint8Array | null;
  port: number | null;
  /** The MAC we last told the client (to notice MAC swaps). */
  taught: Uint8Array | null;
  ntt: boolean;
}

/** An update to send: RLB_ARP_BURST unicast ARP replies. */
export interface RlbUpdate {
  port: number;
  /** The port's MAC: sender hardware address and Ethernet source. */
  portMac: Uint8Array;
  serverIp: string;
  clientIp: string;
  clientMac: Uint8Array;
}

/** The client table as a later process takes it over (JSON: MACs as text). */
export interface RlbSnapshot {
  clients: { server: string; client: string; clientMac: string | null; port: number | null; taught: string | null }[];
  lastRx: number | null;
}

export class RlbEngine {
  /** By client IP (the kernel's table is indexed by the client address too). */
  private readonly clients = new Map<string, RlbClient>();
  private ports: RlbPort[] = [];
  private active: number | null = null;
  private lastRx: number | null = null;
  private rxNtt = false;
  private updateAt = 0;
  private retries = 0;

  private usable(index: number | null): RlbPort | undefined {
    return index === null ? undefined : this.ports.find((p) => p.index === index && p.usable);
  }

  /** kernel rlb_next_rx_slave: round robin over the usable ports of the highest speed. */
  private nextPort(): number | null {
    const next = this.peekNextPort();
    if (next) this.lastRx = next.index;
    return next?.index ?? null;
  }

  /** The port nextPort() would return, without moving the round robin on. */
  private peekNextPort(): RlbPort | null {
    const up = this.ports.filter((p) => p.usable);
    if (up.length === 0) return null;
    const top = Math.max(...up.map((p) => p.speed));
    const fastest = up.filter((p) => p.speed === top);
    return fastest.find((p) => this.lastRx !== null && p.index > this.lastRx) ?? fastest[0];
  }

  setPorts(ports: readonly RlbPort[], active: number | null, now: number): void {
    const before = new Set(this.ports.filter((p) => p.usable).map((p) => p.index));
    this.ports = ports.map((p) => ({ ...p, mac: Uint8Array.from(p.mac) }));
    this.active = active;
    const gained = this.ports.some((p) => p.usable && !before.has(p.index));
    let lost = false;
    for (const c of this.clients.values()) {
      if (c.port !== null && !this.usable(c.port)) {
        lost = true;
        c.port = this.nextPort();
        if (c.clientMac) c.ntt = true;
      }
    }
    if (lost) {
      this.rxNtt = true;
      this.retries = RLB_UPDATE_RETRY;
      this.updateAt = Math.min(this.updateAt, now);
    }
    if (gained) this.rebalance();
    this.noticeMacChanges();
  }

  /** kernel rlb_rebalance: every client gets the next port; moved clients are updated. */
  private rebalance(): void {
    for (const c of this.clients.values()) {
      const p = this.nextPort();
      if (p === null || p === c.port) continue;
      c.port = p;
      if (c.clientMac) {
        c.ntt = true;
        this.rxNtt = true;
      }
    }
  }

  private noticeMacChanges(): void {
    for (const c of this.clients.values()) {
      const p = this.usable(c.port);
      if (!p || !c.taught || !c.clientMac || macEquals(p.mac, c.taught)) continue;
      c.ntt = true;
      this.rxNtt = true;
    }
  }

  /**
   * The bond sends an ARP reply to `clientIp`: the port it must leave from (its sender MAC is
   * rewritten to that port's), or null for the active port unchanged.
   */
  txReply(serverIp: string, clientIp: string, clientMac: Uint8Array): RlbPort | null {
    const c = this.assign(serverIp, clientIp, isUnicast(clientMac) ? clientMac : null);
    const p = this.usable(c.port);
    if (p) c.taught = Uint8Array.from(p.mac);
    return p ?? null;
  }

  /** The port txReply() would pick for a reply to `clientIp` now, changing nothing (a query). */
  peekReply(serverIp: string, clientIp: string): RlbPort | null {
    const c = this.clients.get(clientIp);
    const kept = c && c.serverIp === serverIp ? this.usable(c.port) : undefined;
    return kept ?? this.peekNextPort();
  }

  /** The bond broadcasts an ARP request for `clientIp` from `serverIp` (with the bond's MAC). */
  txRequest(serverIp: string, clientIp: string, now: number): void {
    this.assign(serverIp, clientIp, null);
    this.updateAt = now + RLB_UPDATE_DELAY_MS;
    // kernel rlb_req_update_subnet_clients: the broadcast taught every peer the bond's MAC
    for (const c of this.clients.values()) {
      if (c.serverIp !== serverIp || !c.clientMac || c.port === this.active) continue;
      c.ntt = true;
      this.rxNtt = true;
    }
  }

  private assign(serverIp: string, clientIp: string, clientMac: Uint8Array | null): RlbClient {
    const k = clientIp;
    let c = this.clients.get(k);
    if (c && c.serverIp === serverIp && this.usable(c.port)) {
      if (clientMac) c.clientMac = Uint8Array.from(clientMac);
      return c;
    }
    c = { serverIp, clientIp, clientMac: clientMac ? Uint8Array.from(clientMac) : null, port: this.nextPort(), taught: null, ntt: false };
    if (c.clientMac) {
      c.ntt = true;
      this.rxNtt = true;
    }
    this.clients.set(k, c);
    return c;
  }

  /**
   * An ARP arrived from (senderIp, senderMac). `ours` says whether a MAC is one of the bond's
   * (our own frames seen again are no news).
   */
  rx(op: number, senderIp: string, senderMac: Uint8Array, targetIp: string, ours: (mac: Uint8Array) => boolean): void {
    if (ours(senderMac)) return;
    for (const [k, c] of this.clients) {
      // someone else now answers for one of our server addresses
      if (c.serverIp === senderIp) this.clients.delete(k);
      // the client's address moved to another MAC
      else if (c.clientIp === senderIp && c.clientMac && !macEquals(c.clientMac, senderMac)) this.clients.delete(k);
    }
    if (op !== 2) return;
    // kernel rlb_update_entry_from_arp: a client answered our request; now we know its MAC
    const c = this.clients.get(senderIp);
    if (c && c.serverIp === targetIp && c.port !== null) {
      c.clientMac = Uint8Array.from(senderMac);
      c.ntt = true;
      this.rxNtt = true;
    }
  }

  /** The 100 ms cadence. Returns the clients to update now. */
  tick(now: number): RlbUpdate[] {
    this.noticeMacChanges();
    if (!this.rxNtt || now < this.updateAt) return [];
    const out: RlbUpdate[] = [];
    for (const c of this.clients.values()) {
      if (!c.ntt || !c.clientMac) continue;
      const p = this.usable(c.port);
      if (!p) continue;
      out.push({ port: p.index, portMac: p.mac, serverIp: c.serverIp, clientIp: c.clientIp, clientMac: c.clientMac });
      c.taught = Uint8Array.from(p.mac);
      if (this.retries === 0) c.ntt = false;
    }
    this.updateAt = now + RLB_UPDATE_DELAY_MS;
    if (this.retries > 0) this.retries--;
    else this.rxNtt = false;
    return out;
  }

  list(): readonly RlbClient[] {
    return [...this.clients.values()];
  }

  /** The client table and the round robin's place, for the next bondd (nothing pending). */
  snapshot(): RlbSnapshot {
    const mac = (m: Uint8Array | null) => (m ? formatMac(m) : null);
    return {
      clients: [...this.clients.values()].map((c) => ({
        server: c.serverIp,
        client: c.clientIp,
        clientMac: mac(c.clientMac),
        port: c.port,
        taught: mac(c.taught),
      })),
      lastRx: this.lastRx,
    };
  }

  /**
   * Goes on from an earlier process's table, after the ports were set: each client keeps its
   * port and is not taught again (it already sends there); one whose port is gone or down moves
   * to another and is updated, as after a failure.
   */
  restore(snap: RlbSnapshot, now: number): void {
    const mac = (m: string | null) => (m ? (parseMac(m) ?? null) : null);
    for (const c of snap.clients)
      this.clients.set(c.client, {
        serverIp: c.server,
        clientIp: c.client,
        clientMac: mac(c.clientMac),
        port: c.port,
        taught: mac(c.taught),
        ntt: false,
      });
    this.lastRx = snap.lastRx;
    this.setPorts(this.ports, this.active, now);
  }
}

function isUnicast(m: Uint8Array): boolean {
  return (m[0] & 1) === 0 && m.some((x) => x !== 0);
}
