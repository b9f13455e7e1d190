#!/usr/bin/env node
// The hook a DHCP client started by bondd runs on each event (dhclient -sf, udhcpc -s): applies
// the lease to the interface over rtnetlink, hands DNS on, and keeps the lease in force in
// $TAPBOND_DHCP_STATE so the next event (a new address, an expiry) can take it back.
import { applyDhcpEvent, parseDhcpEvent } from '../host/dhcp.js';
import { nativeNetOps, nodeProcs } from '../host/netconf.js';
import { loadBinding } from '../native/binding.js';
import { pinoLogger } from '../util/logger.js';

const ev = parseDhcpEvent(process.argv.slice(2), process.env);
const stateDir = process.env.TAPBOND_DHCP_STATE;
// dhclient asks after a TIMEOUT whether an old lease still works: say no, it tries again
if (!ev || !stateDir) process.exit(ev?.reason === 'TIMEOUT' ? 1 : 0);
const log = pinoLogger({ format: 'json' }).child({ dhcp: ev.ifname });
try {
  applyDhcpEvent(nativeNetOps(loadBinding()), nodeProcs, ev, stateDir, log);
} catch (e) {
  log.error(`DHCPv${ev.family} ${ev.reason} on ${ev.ifname}: ${(e as Error).message}`);
  process.exit(1);
}
