// The bond's MAC and the slaves' MACs: which MAC a new slave gets, and the moves on an active
// change (kernel bond_enslave MAC handling, bond_do_fail_over_mac, alb_swap_mac_addr).
// Control path; the MAC writes go through the binding.
import { IFF_UP, type NativeBinding } from '../native/types.js';
import { MODE_INFO } from '../options/modes.js';
import type { BondOptions } from '../options/parse.js';
import type { Port } from '../port/port.js';
import type { Logger } from '../util/logger.js';
import { formatMac, macEquals, randomMac } from '../util/mac.js';

export type MacMoves = 'none' | 'active' | 'follow';

export interface MacPolicyDeps {
  binding: Pick<NativeBinding, 'setMac' | 'setFlags' | 'linkInfo'>;
  bondName: string;
  log: Logger;
  options(): Readonly<BondOptions>;
  ports(): readonly Port[];
}

export class MacPolicy {
  /** The bond's MAC: given at start, else the first slave's (kernel behaviour). */
  private current: Uint8Array | undefined;
  private fromSlave = false;

  constructor(
    private readonly d: MacPolicyDeps,
    given: Uint8Array | undefined,
  ) {
    this.current = given;
  }

  get mac(): Uint8Array | undefined {
    return this.current;
  }

  /**
   * balance-tlb/alb: each slave has its own MAC and the active one the bond's (kernel
   * alb_swap_mac_addr); active-backup honours fail_over_mac; every other mode gives every slave
   * the bond's MAC.
   */
  moves(): MacMoves {
    const o = this.d.options();
    const info = MODE_INFO[o.mode];
    if (info.ownMacs) return 'follow';
    return info.failOverMac ? o.fail_over_mac : 'none';
  }

  /**
   * kernel compat: the bond takes its first slave's MAC unless one was given (or it was taken
   * from a slave that has been released since). Sets the TAP's MAC when it changes.
   */
  adoptFirstSlave(slaveMac: Uint8Array): void {
    if (this.current && !(this.fromSlave && this.d.ports().length === 0)) return;
    this.current = Uint8Array.from(slaveMac);
    this.fromSlave = true;
    this.d.binding.setMac(this.d.bondName, this.current);
  }

  /** The MAC to give a slave being enslaved that has `slaveMac` now, or null to leave it. */
  forNewSlave(slaveMac: Uint8Array): Uint8Array | null {
    const bond = this.current!;
    if (this.moves() === 'none') return macEquals(slaveMac, bond) ? null : bond;
    // kernel compat (bond_enslave): with fail_over_mac follow, a new slave that already has the
    // bond's MAC gets a random one so two slaves never share it
    if (this.moves() === 'follow' && this.d.ports().length > 0 && macEquals(slaveMac, bond)) return randomMac();
    return null;
  }

  /** kernel compat (bond_do_fail_over_mac): the MAC moves on an active change. */
  activeChanged(prev: Port | null, next: Port | null): void {
    const moves = this.moves();
    if (moves === 'none' || !next || !this.current) return;
    const o = this.d.options();
    try {
      if (moves === 'active') {
        if (macEquals(this.current, next.mac)) return;
        this.current = Uint8Array.from(next.mac); // the bond takes the new active slave's MAC
        this.d.binding.setMac(this.d.bondName, this.current);
        this.d.log.info(`MAC ${formatMac(this.current)} from ${next.name} (fail_over_mac active)`, {
          slave: next.name,
          event: 'mac-change',
        });
        return;
      }
      // follow: the new active slave takes the bond's MAC; the old one gets the new one's
      const bondMac = this.current;
      const old = prev ?? this.d.ports().find((p) => p !== next && macEquals(p.mac, bondMac)) ?? null;
      if (!old) {
        if (!macEquals(next.mac, bondMac)) this.setPortMac(next, bondMac);
        return;
      }
      const theirs = macEquals(old.mac, next.mac) ? next.permMac : next.mac;
      const taken = Uint8Array.from(old.mac);
      this.setPortMac(next, taken);
      this.setPortMac(old, theirs);
      const why = MODE_INFO[o.mode].ownMacs ? o.mode : 'fail_over_mac follow';
      this.d.log.info(`takes ${formatMac(taken)} from ${old.name}, which gets ${formatMac(theirs)} (${why})`, {
        slave: next.name,
        event: 'mac-swap',
      });
    } catch (e) {
      this.d.log.error(`fail_over_mac ${o.fail_over_mac}: ${(e as Error).message}`);
    }
  }

  /** kernel compat (__bond_release_one): a released slave's permanent MAC may still be the bond's. */
  released(port: Port): void {
    const mac = this.current;
    if (!mac || !macEquals(port.permMac, mac) || this.d.ports().length === 0) return;
    const name = port.name;
    this.d.log.warn(
      `the permanent HWaddr of ${name} - ${formatMac(port.permMac)} - is still in use by ${this.d.bondName}; set the HWaddr of ${name} to a different address to avoid conflicts`,
      { slave: name },
    );
  }

  /** Sets a slave's MAC, taking the link down for it if the driver cannot change it live. */
  private setPortMac(port: Port, mac: Uint8Array): void {
    const b = this.d.binding;
    try {
      b.setMac(port.name, mac);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EBUSY') throw e;
      const flags = b.linkInfo(port.name).flags;
      b.setFlags(port.name, flags & ~IFF_UP);
      b.setMac(port.name, mac);
      b.setFlags(port.name, flags);
    }
    port.mac = Uint8Array.from(mac);
  }
}
