// The host's network around a bond, as the host's own files declare it: addresses, routes and
// gateways, DHCP, DNS and a bridge over the bond with its own L3 and ports. On a host without
// the bonding module, ifup, networkd and NetworkManager cannot make the bond, so they never
// apply what sits on it: bondd does, once the bond is up. What it adds is recorded (the journal
// keeps the record), so that taking the bond down removes exactly that and nothing else, and a
// later bondd that adopts the bond applies the same declaration again without a change.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { basename, join } from 'node:path';
import type { NativeBinding } from '../native/types.js';
import { IFF_RUNNING, IFF_UP } from '../native/types.js';
import { AF_INET, AF_INET6, Rtnl, type Route } from '../net/rtnl.js';
import { formatIp, ipBytes } from '../util/mac.js';
import type { Logger } from '../util/logger.js';
import { dhcpClientCommand, findDhcpClient, writeDhcpHook, type DhcpClient } from './dhcp.js';
import { handDns, takeDnsBack } from './dns.js';
import {
  emptyRecord,
  kernelRoute,
  routeText,
  type BridgeDecl,
  type Cidr,
  type HostNetDecl,
  type HostNetRecord,
  type L3Decl,
  type NetOps,
  type Procs,
  type VlanDecl,
} from './l3.js';

const CARRIER_WAIT_MS = 10_000;

/**
 * Applies a bond's host network and returns what it did. `prev`: the record of the bondd whose
 * bond this one adopted (its DHCP clients are kept when they still run). Nothing here fails the
 * bond: what the kernel refuses is logged with the file and line it came from.
 */
export class HostNet {
  /** DHCP clients waiting for their interface's carrier. */
  private readonly waiting = new Set<NodeJS.Timeout>();

  constructor(
    private readonly ops: NetOps,
    private readonly procs: Procs,
    private readonly log: Logger,
    /** Where DHCP clients keep their leases, logs and hook (under bondd's run directory). */
    private readonly stateDir: string,
    /** The record changed after apply() returned (a DHCP client started once carrier came). */
    private readonly onChange: (rec: HostNetRecord) => void = () => {},
  ) {}

  /** Stops waiting to start DHCP clients (the process stops). */
  cancel(): void {
    for (const t of this.waiting) clearTimeout(t);
    this.waiting.clear();
  }

  apply(bond: string, decl: HostNetDecl, bondAddresses: Cidr[], prev?: HostNetRecord): HostNetRecord {
    const rec = emptyRecord();
    const keep = prev ?? emptyRecord();
    const br = decl.bridge;
    if (br) this.bridge(bond, br, rec, keep);
    this.l3(bond, { ...decl.bond, addresses: bondAddresses }, rec, keep);
    for (const v of decl.vlans ?? []) this.vlan(bond, v);
    if (br && this.ops.ifindex(br.name) !== null) this.l3(br.name, br.l3, rec, keep);
    // a client of the earlier bondd for an interface that no longer asks for one goes
    for (const c of keep.dhcp) if (!rec.dhcp.some((d) => d.pid === c.pid)) this.stopClient(c);
    return rec;
  }

  private bridge(bond: string, br: BridgeDecl, rec: HostNetRecord, keep: HostNetRecord): void {
    let made = keep.bridge?.name === br.name && keep.bridge.made;
    if (this.ops.ifindex(br.name) === null) {
      try {
        this.ops.newBridge(br.name, { stp: br.stp, forwardDelay: br.forwardDelay, mtu: br.mtu });
        made = true;
        this.log.info(
          `bridge ${br.name} made (stp ${br.stp ? 'on' : 'off'}${br.forwardDelay !== undefined ? `, forward delay ${br.forwardDelay} s` : ''}${br.mtu ? `, mtu ${br.mtu}` : ''})`,
          { event: 'bridge' },
        );
      } catch (e) {
        this.log.error(`${br.where ?? br.name}: cannot make bridge ${br.name}: ${(e as Error).message}`);
        return;
      }
    } else if (!made) this.log.info(`bridge ${br.name} is there already: its options are left as they are`, { event: 'bridge' });
    rec.bridge = { name: br.name, made };
    for (const port of [bond, ...br.ports]) {
      if (this.ops.masterOf(port) === br.name) {
        if (keep.ports.includes(port)) rec.ports.push(port);
        continue;
      }
      if (this.ops.ifindex(port) === null) {
        this.log.warn(`${br.where ?? br.name}: ${port} is not here, not joined to ${br.name}`);
        continue;
      }
      try {
        this.ops.setMaster(port, br.name);
        if (port !== bond) this.ops.setUp(port);
        if (!made && port !== bond) rec.ports.push(port);
        this.log.info(`${port} joined bridge ${br.name}`, { event: 'bridge' });
      } catch (e) {
        this.log.error(`cannot join ${port} to bridge ${br.name}: ${(e as Error).message}`);
      }
    }
    this.ops.setUp(br.name);
  }

  /**
   * A VLAN over the bond, made as ifup would make it; its own L3 stays with the host's tools (it
   * exists now, so they can). Without the kernel's 8021q module there are no VLANs: an error
   * names what is missing. It goes with the bond's TAP.
   */
  private vlan(bond: string, v: VlanDecl): void {
    if (this.ops.ifindex(v.name) !== null) return;
    try {
      this.ops.newVlan(v.name, bond, v.id);
      this.ops.setUp(v.name);
      this.log.info(`VLAN ${v.name} (id ${v.id}) made on ${bond}; its addresses and routes are the host's network tools' to apply`, {
        event: 'vlan',
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      const why =
        code === 'EOPNOTSUPP' || code === 'ENOENT'
          ? "this kernel has no 802.1Q VLAN support (the 8021q module): VLANs cannot exist on any interface here; load 8021q or carry the VLAN on the switch's access port instead"
          : (e as Error).message;
      this.log.error(`${v.where ? `${v.where}: ` : ''}VLAN ${v.name} (id ${v.id}) on ${bond} not made: ${why}`, { event: 'vlan' });
    }
  }

  private l3(ifname: string, l: L3Decl, rec: HostNetRecord, keep: HostNetRecord): void {
    const ifindex = this.ops.ifindex(ifname);
    if (ifindex === null) return;
    const have = this.ops.addresses(ifindex);
    for (const a of l.addresses) {
      const mine = { ifname, ...a };
      if (have.some((h) => h.address === a.address && h.prefixlen === a.prefixlen)) {
        if (keep.addresses.some((k) => k.ifname === ifname && k.address === a.address)) rec.addresses.push(mine);
        continue;
      }
      try {
        this.ops.addAddress(ifindex, a);
        rec.addresses.push(mine);
        this.log.info(`address ${a.address}/${a.prefixlen} on ${ifname}`, { event: 'address' });
      } catch (e) {
        this.log.error(`address ${a.address}/${a.prefixlen} on ${ifname}: ${(e as Error).message}`);
      }
    }
    if (l.acceptRa !== undefined) {
      try {
        // 2: accepted even where forwarding is on (a host bridging its guests)
        this.ops.writeSysctl(`net/ipv6/conf/${ifname}/accept_ra`, l.acceptRa ? '2' : '0');
      } catch (e) {
        this.log.warn(`accept_ra on ${ifname}: ${(e as Error).message}`);
      }
    }
    // routes on the link first: a gateway route needs its next hop reachable
    const ordered = [...l.routes].sort((a, b) => Number(!!a.via) - Number(!!b.via));
    for (const r of ordered) {
      try {
        this.ops.replaceRoute(kernelRoute(r, ifindex));
        rec.routes.push({ ...r, ifname });
        this.log.info(`route ${routeText(r)} dev ${ifname}`, { event: 'route' });
      } catch (e) {
        this.log.error(`${r.where ? `${r.where}: ` : ''}route ${routeText(r)} dev ${ifname}: ${(e as Error).message}`);
      }
    }
    for (const family of [4, 6] as const) {
      if (!(family === 4 ? l.dhcp4 : l.dhcp6)) continue;
      const old = keep.dhcp.find((c) => c.ifname === ifname && c.family === family);
      if (old && this.procs.alive(old.pid, ifname)) {
        rec.dhcp.push(old);
        this.log.info(`DHCPv${family} on ${ifname}: ${old.client} (pid ${old.pid}) goes on`, { event: 'dhcp' });
        continue;
      }
      this.whenCarrier(
        ifname,
        () => {
          const c = this.startClient(ifname, family, l.dhcpMetric);
          if (c) rec.dhcp.push(c);
          return c !== null;
        },
        rec,
      );
    }
    if (l.dns.servers.length || l.dns.search.length) {
      const via = handDns(this.procs, ifname, l.dns, this.log);
      if (via) rec.dns.push({ ifname, via });
    }
  }

  /**
   * Runs `start` once `ifname` has carrier, or after 10 s without (a client's first discover
   * lost to a link still coming up costs it seconds of back-off).
   */
  private whenCarrier(ifname: string, start: () => boolean, rec: HostNetRecord): void {
    if (this.ops.carrier(ifname)) {
      start();
      return;
    }
    const until = Date.now() + CARRIER_WAIT_MS;
    const poll = () => {
      this.waiting.delete(t);
      if (!this.ops.carrier(ifname) && Date.now() < until) {
        t = setTimeout(poll, 100);
        this.waiting.add(t);
        return;
      }
      if (start()) this.onChange(rec);
    };
    let t = setTimeout(poll, 100);
    this.waiting.add(t);
  }

  private startClient(ifname: string, family: 4 | 6, metric: number | undefined): HostNetRecord['dhcp'][number] | null {
    const client: DhcpClient | null = findDhcpClient(this.procs, family);
    if (!client) {
      this.log.error(
        `DHCPv${family} on ${ifname}: no DHCP client here; install isc-dhcp-client (dhclient)${family === 4 ? ' or busybox (udhcpc)' : ''}, or set a static address`,
      );
      return null;
    }
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const hook = writeDhcpHook(this.stateDir);
    writeFileSync(join(this.stateDir, `${ifname}.json`), JSON.stringify({ metric: metric ?? null }) + '\n');
    const { cmd, args } = dhcpClientCommand(client, ifname, family, hook, this.stateDir);
    const pid = this.procs.start(cmd, args, join(this.stateDir, `${ifname}.${family}.log`));
    this.log.info(`DHCPv${family} on ${ifname}: ${client.name} (${client.path}, pid ${pid})`, { event: 'dhcp' });
    return { ifname, family, pid, client: client.name };
  }

  private stopClient(c: HostNetRecord['dhcp'][number], forget = false): void {
    if (this.procs.alive(c.pid, c.ifname)) {
      this.procs.kill(c.pid);
      this.log.info(`DHCPv${c.family} on ${c.ifname}: ${c.client} (pid ${c.pid}) stopped`, { event: 'dhcp' });
    }
    // the interface goes: its lease goes too (a later one of that name asks afresh)
    if (forget)
      for (const ext of ['leases', 'lease', 'pid']) rmSync(join(this.stateDir, `${c.ifname}.${c.family}.${ext}`), { force: true });
  }

  /**
   * Takes back what `rec` says was done: DHCP clients, DNS, routes and addresses, ports joined,
   * and the bridge when bondd made it. Called when the bond is taken down (its TAP then goes,
   * with the bond's own addresses and routes).
   */
  remove(rec: HostNetRecord): void {
    this.cancel();
    for (const c of rec.dhcp) this.stopClient(c, true);
    for (const d of rec.dns) takeDnsBack(this.procs, d.ifname, d.via, this.log);
    for (const r of rec.routes) {
      const ifindex = this.ops.ifindex(r.ifname);
      if (ifindex === null) continue;
      try {
        this.ops.deleteRoute(kernelRoute(r, ifindex));
      } catch {
        /* gone with its address or link */
      }
    }
    if (rec.bridge?.made) {
      this.ops.deleteLink(rec.bridge.name);
      this.log.info(`bridge ${rec.bridge.name} deleted`, { event: 'bridge' });
      return;
    }
    for (const a of rec.addresses) {
      const ifindex = this.ops.ifindex(a.ifname);
      if (ifindex === null) continue;
      try {
        this.ops.deleteAddress(ifindex, a);
      } catch {
        /* gone already */
      }
    }
    for (const p of rec.ports) {
      try {
        if (this.ops.masterOf(p) === rec.bridge?.name) this.ops.setMaster(p, null);
      } catch {
        /* gone */
      }
    }
  }
}

/** Where the DHCP clients of the bonds of one run directory keep their state. */
export function dhcpDirOf(runDir: string): string {
  return join(runDir, 'dhcp');
}

/** The applier's operations over rtnetlink (a socket opened at first use) and sysfs. */
export function nativeNetOps(binding: NativeBinding): NetOps & { close(): void } {
  let sock: Rtnl | null = null;
  const rt = () => (sock ??= new Rtnl(binding));
  const rtnl = {
    addresses: (i: number) => rt().addresses(i),
    addAddress: (...a: Parameters<Rtnl['addAddress']>) => rt().addAddress(...a),
    deleteAddress: (...a: Parameters<Rtnl['deleteAddress']>) => rt().deleteAddress(...a),
    replaceRoute: (r: Route) => rt().replaceRoute(r),
    deleteRoute: (r: Route) => rt().deleteRoute(r),
    newBridge: (...a: Parameters<Rtnl['newBridge']>) => rt().newBridge(...a),
    newVlan: (...a: Parameters<Rtnl['newVlan']>) => rt().newVlan(...a),
    setMaster: (...a: Parameters<Rtnl['setMaster']>) => rt().setMaster(...a),
    deleteLink: (i: number) => rt().deleteLink(i),
  };
  const idx = (name: string) => binding.linkInfo(name, false).ifindex;
  return {
    ifindex(name) {
      try {
        return idx(name);
      } catch {
        return null;
      }
    },
    masterOf(name) {
      try {
        return basename(readlinkSync(`/sys/class/net/${name}/master`));
      } catch {
        return null;
      }
    },
    addresses: (ifindex) => rtnl.addresses(ifindex).map((a) => ({ address: formatIp(a.address), prefixlen: a.prefixlen })),
    addAddress: (ifindex, a, lifetime) =>
      rtnl.addAddress(ifindex, isIPv4(a.address) ? AF_INET : AF_INET6, ipBytes(a.address), a.prefixlen, lifetime),
    deleteAddress: (ifindex, a) =>
      rtnl.deleteAddress({
        ifindex,
        family: isIPv4(a.address) ? AF_INET : AF_INET6,
        prefixlen: a.prefixlen,
        scope: 0,
        flags: 0,
        address: ipBytes(a.address),
      }),
    replaceRoute: (r) => rtnl.replaceRoute(r),
    deleteRoute: (r) => rtnl.deleteRoute(r),
    newBridge: (name, o) => rtnl.newBridge(name, o),
    newVlan: (name, parent, id) => rtnl.newVlan(name, idx(parent), id),
    setMaster: (name, master) => rtnl.setMaster(idx(name), master === null ? 0 : idx(master)),
    setUp: (name) => binding.setFlags(name, binding.linkInfo(name, false).flags | IFF_UP),
    carrier: (name) => {
      try {
        return (binding.linkInfo(name, false).flags & IFF_RUNNING) !== 0; // SIOCGIFFLAGS has no LOWER_UP
      } catch {
        return false;
      }
    },
    deleteLink: (name) => {
      try {
        rtnl.deleteLink(idx(name));
      } catch {
        /* gone */
      }
    },
    writeSysctl: (path, value) => writeFileSync(`/proc/sys/${path}`, value),
    close: () => sock?.close(),
  };
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

/** Processes on this machine. */
export const nodeProcs: Procs = {
  which(cmd) {
    for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN]) {
      const p = join(dir, cmd);
      if (existsSync(p)) return p;
    }
    return null;
  },
  run(cmd, args, input) {
    const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 5000 });
    return { status: r.status, stderr: r.error ? r.error.message : (r.stderr ?? '') };
  },
  start(cmd, args, logFile) {
    const out = openSync(logFile, 'a', 0o600);
    try {
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out] });
      child.unref();
      if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
      return child.pid;
    } finally {
      closeSync(out);
    }
  },
  alive(pid, needle) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(needle);
    } catch {
      return false;
    }
  },
  kill(pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  },
};
