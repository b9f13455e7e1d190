// DHCP on the bond (or the bridge over it) with a well-kept client of the host's, never a
// home-made one: ISC dhclient (v4 and v6) or busybox's udhcpc (v4). The client runs on its own,
// detached, so it outlives a restart of bondd as the bond does; each of its events runs our
// hook (bin/dhcp-hook), which applies the lease over rtnetlink: the address with the lease's
// lifetime, the default route via the lease's router (with the file's metric), DNS to the
// host's resolver manager. A failover never touches the bond's TAP, so the lease stays.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RTPROT_DHCP } from '../net/rtnl.js';
import type { Logger } from '../util/logger.js';
import { maskToPrefix } from '../util/mac.js';
import { handDns, takeDnsBack } from './dns.js';
import { kernelRoute, type Cidr, type DnsDecl, type DnsHandoff, type NetOps, type Procs } from './l3.js';

export interface DhcpClient {
  name: 'dhclient' | 'udhcpc';
  /** The program (busybox for its udhcpc applet). */
  path: string;
  /** Arguments that come first (the applet's name). */
  pre: string[];
}

/** TAPBOND_DHCP_CLIENT=dhclient|udhcpc picks one; otherwise dhclient, then udhcpc (IPv4 only). */
export function findDhcpClient(procs: Procs, family: 4 | 6, want = process.env.TAPBOND_DHCP_CLIENT): DhcpClient | null {
  const order: DhcpClient['name'][] = want === 'udhcpc' ? ['udhcpc', 'dhclient'] : ['dhclient', 'udhcpc'];
  for (const name of order) {
    if (name === 'udhcpc' && family === 6) continue; // busybox's udhcpc6 is not in every build
    const path = procs.which(name);
    if (path) return { name, path, pre: [] };
    if (name === 'udhcpc') {
      const bb = procs.which('busybox');
      if (bb && /Usage: udhcpc/.test(procs.run(bb, ['udhcpc', '--help']).stderr)) return { name, path: bb, pre: ['udhcpc'] };
    }
  }
  return null;
}

/** The client's command line: in the foreground of its own session, events to `hook`. */
export function dhcpClientCommand(
  c: DhcpClient,
  ifname: string,
  family: 4 | 6,
  hook: string,
  stateDir: string,
): { cmd: string; args: string[] } {
  const base = join(stateDir, `${ifname}.${family}`);
  if (c.name === 'dhclient')
    return { cmd: c.path, args: [...c.pre, `-${family}`, '-d', '-sf', hook, '-lf', `${base}.leases`, '-pf', `${base}.pid`, ifname] };
  // -T 2 -A 5: a discover every 2 s, three of them, then again after 5 s (the bond may still be
  // coming up); never gives up
  return { cmd: c.path, args: [...c.pre, '-f', '-i', ifname, '-s', hook, '-p', `${base}.pid`, '-T', '2', '-A', '5'] };
}

/** The hook both clients run: a shell line that hands the event to dist/cli/dhcp-hook.js. */
export function writeDhcpHook(stateDir: string): string {
  const path = join(stateDir, 'hook');
  const js = fileURLToPath(new URL('../cli/dhcp-hook.js', import.meta.url));
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(
    path,
    `#!/bin/sh\n# made by bondd: each DHCP client event goes to tapbond's hook\nTAPBOND_DHCP_STATE=${q(stateDir)} exec ${q(process.execPath)} ${q(js)} "$@"\n`,
    { mode: 0o755 },
  );
  return path;
}

export interface Lease extends Cidr {
  routers: string[];
  dns: DnsDecl;
  /** Seconds; absent: forever. */
  validLft?: number;
  preferredLft?: number;
}

export interface DhcpEvent {
  ifname: string;
  family: 4 | 6;
  /** bound: apply `lease`; lost: take the last lease back; other: nothing to do. */
  kind: 'bound' | 'lost' | 'other';
  lease?: Lease;
  /** The client's word for it (BOUND, renew, ...), for the log. */
  reason: string;
}

const words = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);

/** udhcpc gives the mask as a length or dotted, dhclient dotted. */
function maskLen(mask: string | undefined): number | undefined {
  if (!mask) return undefined;
  return /^\d+$/.test(mask) ? Number(mask) : maskToPrefix(mask);
}

function num(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * One client event, from the hook's arguments and environment. udhcpc: the event is the first
 * argument (bound, renew, deconfig, leasefail, nak), the lease in ip, mask/subnet, router, dns,
 * domain, search, lease. dhclient: $reason (BOUND, RENEW, REBIND, REBOOT, EXPIRE, FAIL, STOP,
 * RELEASE, and the same with 6) with new_* variables.
 */
export function parseDhcpEvent(args: string[], env: Record<string, string | undefined>): DhcpEvent | null {
  const ifname = env.interface;
  if (!ifname) return null;
  if (env.reason) {
    const reason = env.reason;
    const six = reason.endsWith('6');
    const base = six ? reason.slice(0, -1) : reason;
    const family = six ? 6 : 4;
    if (['BOUND', 'RENEW', 'REBIND', 'REBOOT'].includes(base)) {
      const lease: Lease | undefined = six
        ? env.new_ip6_address
          ? {
              address: env.new_ip6_address,
              prefixlen: num(env.new_ip6_prefixlen) ?? 128,
              routers: [], // IPv6 routers come from router advertisements
              dns: { servers: words(env.new_dhcp6_name_servers), search: words(env.new_dhcp6_domain_search) },
              ...(num(env.new_max_life) !== undefined ? { validLft: num(env.new_max_life) } : {}),
              ...(num(env.new_preferred_life) !== undefined ? { preferredLft: num(env.new_preferred_life) } : {}),
            }
          : undefined
        : env.new_ip_address
          ? {
              address: env.new_ip_address,
              prefixlen: maskLen(env.new_subnet_mask) ?? 32,
              routers: words(env.new_routers),
              dns: {
                servers: words(env.new_domain_name_servers),
                search: words(env.new_domain_search ?? env.new_domain_name),
              },
              ...(num(env.new_dhcp_lease_time) !== undefined ? { validLft: num(env.new_dhcp_lease_time) } : {}),
            }
          : undefined;
      return lease ? { ifname, family, kind: 'bound', lease, reason } : { ifname, family, kind: 'other', reason };
    }
    if (['EXPIRE', 'FAIL', 'STOP', 'RELEASE'].includes(base)) return { ifname, family, kind: 'lost', reason };
    return { ifname, family, kind: 'other', reason };
  }
  const ev = args[0] ?? '';
  if ((ev === 'bound' || ev === 'renew') && env.ip) {
    return {
      ifname,
      family: 4,
      kind: 'bound',
      reason: ev,
      lease: {
        address: env.ip,
        prefixlen: maskLen(env.mask) ?? maskLen(env.subnet) ?? 32,
        routers: words(env.router),
        dns: { servers: words(env.dns), search: words(env.search ?? env.domain) },
        ...(num(env.lease) !== undefined ? { validLft: num(env.lease) } : {}),
      },
    };
  }
  // deconfig also comes first, before any lease: only a lease we applied is taken back
  if (ev === 'deconfig' || ev === 'nak' || ev === 'leasefail')
    return { ifname, family: 4, kind: ev === 'leasefail' ? 'other' : 'lost', reason: ev };
  return { ifname, family: 4, kind: 'other', reason: ev };
}

interface Applied {
  lease: Lease;
  dns?: DnsHandoff;
}

/** Applies one event; the lease in force is kept in `stateDir` (IF.4.lease) to be taken back. */
export function applyDhcpEvent(ops: NetOps, procs: Procs, ev: DhcpEvent, stateDir: string, log: Logger): void {
  const file = join(stateDir, `${ev.ifname}.${ev.family}.lease`);
  const ifindex = ops.ifindex(ev.ifname);
  if (ifindex === null) return;
  const prev: Applied | null = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Applied) : null;
  const settings = readSettings(stateDir, ev.ifname);
  const route = (gw: string) =>
    kernelRoute(
      { to: 'default', family: ev.family, via: gw, ...(settings.metric !== null ? { metric: settings.metric } : {}) },
      ifindex,
      RTPROT_DHCP,
    );
  const takeBack = (p: Applied, keepAddress: boolean) => {
    for (const gw of p.lease.routers.slice(0, 1)) {
      try {
        ops.deleteRoute(route(gw));
      } catch {
        /* gone */
      }
    }
    if (!keepAddress) {
      try {
        ops.deleteAddress(ifindex, { address: p.lease.address, prefixlen: p.lease.prefixlen });
      } catch {
        /* gone */
      }
    }
  };
  if (ev.kind === 'lost') {
    if (!prev) return;
    takeBack(prev, false);
    if (prev.dns) takeDnsBack(procs, `${ev.ifname}.dhcp`, prev.dns, log);
    rmSync(file, { force: true });
    log.info(`DHCPv${ev.family} lease ${prev.lease.address}/${prev.lease.prefixlen} on ${ev.ifname} gone (${ev.reason})`);
    return;
  }
  if (ev.kind !== 'bound' || !ev.lease) return;
  const l = ev.lease;
  if (prev) takeBack(prev, prev.lease.address === l.address && prev.lease.prefixlen === l.prefixlen);
  const forever = 0xffffffff;
  ops.addAddress(
    ifindex,
    { address: l.address, prefixlen: l.prefixlen },
    { validLft: l.validLft ?? forever, preferredLft: l.preferredLft ?? l.validLft ?? forever },
  );
  for (const gw of l.routers.slice(0, 1)) ops.replaceRoute(route(gw));
  const applied: Applied = { lease: l };
  if (l.dns.servers.length || l.dns.search.length) {
    const via = handDns(procs, `${ev.ifname}.dhcp`, l.dns, log, ev.ifname);
    if (via) applied.dns = via;
  }
  writeFileSync(file, JSON.stringify(applied) + '\n');
  log.info(
    `DHCPv${ev.family} lease ${l.address}/${l.prefixlen} on ${ev.ifname}${l.routers[0] ? ` via ${l.routers[0]}` : ''}${l.validLft !== undefined ? ` for ${l.validLft} s` : ''} (${ev.reason})`,
  );
}

function readSettings(stateDir: string, ifname: string): { metric: number | null } {
  try {
    return JSON.parse(readFileSync(join(stateDir, `${ifname}.json`), 'utf8')) as { metric: number | null };
  } catch {
    return { metric: null };
  }
}
