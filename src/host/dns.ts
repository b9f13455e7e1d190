// DNS servers and search domains from a bond's files or its DHCP lease go to the host's resolver
// manager: resolvconf (Debian's or openresolv, `-a IF.tapbond`) or systemd-resolved (per link,
// through resolvectl). With neither, bondd never writes /etc/resolv.conf itself: it warns with
// the values, for whoever owns that file.
import { existsSync } from 'node:fs';
import type { Logger } from '../util/logger.js';
import type { DnsDecl, DnsHandoff, Procs } from './l3.js';

const RESOLVED_SOCKET = '/run/systemd/resolve/io.systemd.Resolve';

/**
 * Hands `dns` over under `record` (resolvconf's interface record, "bond0.tapbond"); `link`: the
 * interface systemd-resolved keeps them on. Returns who took them, or null (warned).
 */
export function handDns(procs: Procs, record: string, dns: DnsDecl, log: Logger, link = record): DnsHandoff | null {
  const what = `${dns.servers.length ? `nameservers ${dns.servers.join(' ')}` : ''}${dns.servers.length && dns.search.length ? ', ' : ''}${dns.search.length ? `search ${dns.search.join(' ')}` : ''}`;
  const resolvconf = procs.which('resolvconf');
  if (resolvconf) {
    const text =
      [...dns.servers.map((s) => `nameserver ${s}`), ...(dns.search.length ? [`search ${dns.search.join(' ')}`] : [])].join('\n') + '\n';
    const r = procs.run(resolvconf, ['-a', `${recordName(record)}`], text);
    if (r.status === 0) {
      log.info(`DNS for ${link} (${what}) handed to resolvconf`, { event: 'dns' });
      return 'resolvconf';
    }
    log.warn(`resolvconf -a ${recordName(record)} failed (${r.stderr.trim() || `status ${r.status}`}); DNS for ${link}: ${what}`);
    return null;
  }
  const resolvectl = procs.which('resolvectl');
  if (resolvectl && existsSync(RESOLVED_SOCKET)) {
    const a = dns.servers.length ? procs.run(resolvectl, ['dns', link, ...dns.servers]) : { status: 0, stderr: '' };
    const b = dns.search.length ? procs.run(resolvectl, ['domain', link, ...dns.search]) : { status: 0, stderr: '' };
    if (a.status === 0 && b.status === 0) {
      log.info(`DNS for ${link} (${what}) handed to systemd-resolved`, { event: 'dns' });
      return 'resolved';
    }
    log.warn(`resolvectl failed (${(a.stderr || b.stderr).trim()}); DNS for ${link}: ${what}`);
    return null;
  }
  log.warn(`DNS for ${link}: ${what}; no resolvconf or systemd-resolved here to take them: put them in /etc/resolv.conf`, {
    event: 'dns',
  });
  return null;
}

/** Takes back what handDns gave. */
export function takeDnsBack(
  procs: Procs,
  record: string,
  via: DnsHandoff,
  log: Logger,
  link = record.replace(/\.(tapbond|dhcp)$/, ''),
): void {
  const cmd = procs.which(via === 'resolvconf' ? 'resolvconf' : 'resolvectl');
  if (!cmd) return;
  const r = via === 'resolvconf' ? procs.run(cmd, ['-d', recordName(record)]) : procs.run(cmd, ['revert', link]);
  if (r.status !== 0) log.warn(`DNS for ${link} not taken back: ${r.stderr.trim()}`);
}

/** resolvconf's record: "IF.tapbond" for a file's servers, "IF.dhcp" for a lease's. */
function recordName(record: string): string {
  return /\./.test(record) ? record : `${record}.tapbond`;
}
