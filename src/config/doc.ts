// docs/configs.md, generated from the readers' own key tables (scripts/gen-options-doc.mjs
// writes it; a unit test checks the committed file is current). Pure.
import { NETPLAN_PARAMS } from './netplan.js';
import { NETWORKD_BOND_KEYS } from './networkd.js';
import type { KeyConv } from './decl.js';

const HOW: Record<KeyConv, string> = {
  value: 'as the kernel writes it',
  ms: 'duration',
  s: 'duration, whole seconds',
  bool: 'boolean',
  list: 'list',
};

/** What each format writes for what is put around the bond. */
const AROUND: Record<string, [string, string, string, string]> = {
  'tapbond JSON (`--config`, `/etc/tapbond/BOND.json`)': [
    '`gateway`, `routes: [{to, via, metric, onlink, table}]`',
    '`dhcp` (`true`/`v4`, `v6`, `both`), `accept_ra`, `dhcp_metric`',
    '`dns: {servers, search}`',
    '`bridge: {name, stp, forward_delay, mtu, ports, addresses, ...}` (the same L3 keys); `vlans: [{name, id}]`',
  ],
  netplan: [
    '`routes:` (`to`, `via`, `metric`, `on-link`, `table`), `gateway4`, `gateway6`',
    '`dhcp4`, `dhcp6`, `accept-ra`',
    '`nameservers: addresses, search`',
    '`network.bridges.<br>` with the bond in `interfaces`; `parameters: stp, forward-delay`; `mtu`',
  ],
  'systemd-networkd': [
    '`[Network] Gateway=`, `[Route] Destination= Gateway= Metric= GatewayOnLink= Table=`',
    '`DHCP=`, `IPv6AcceptRA=`, `[DHCPv4] RouteMetric=`',
    '`DNS=`, `Domains=`',
    '`[Network] Bridge=` naming a `Kind=bridge` `.netdev` (`[Bridge] STP= ForwardDelaySec=`); its `.network`; other `Bridge=` files are ports',
  ],
  NetworkManager: [
    '`gateway=`, the gateway after `addressN=`, `routeN=` with `routeN_options=onlink,table`, `route-metric=`, `route-table=`, `never-default=`',
    '`method=auto` (ipv4: DHCP; ipv6: RA), `method=dhcp` (ipv6)',
    '`dns=`, `dns-search=`',
    '`controller=` (or `master=`) a `type=bridge` profile with `port-type=bridge`; `[bridge] stp= forward-delay=`',
  ],
  ifupdown: [
    '`gateway` with `metric`; `up`/`post-up ip route add\\|replace ...`',
    '`inet dhcp`, `inet6 dhcp\\|auto`, `accept_ra`',
    '`dns-nameservers`, `dns-search`',
    'a stanza whose `bridge_ports` (`bridge-ports`) hold the bond; `bridge_stp`, `bridge_fd`',
  ],
  'RHEL ifcfg': [
    '`GATEWAY`, `IPV6_DEFAULTGW`, `METRIC`, `DEFROUTE=no`; `route-IF` (ip lines or `ADDRESSn`/`NETMASKn`/`GATEWAYn`/`METRICn`), `route6-IF`',
    '`BOOTPROTO=dhcp`, `DHCPV6C=yes`, `IPV6_AUTOCONF`',
    '`DNS1`..`DNS3`, `DOMAIN`',
    '`BRIDGE=br0` and an `ifcfg-br0` with `TYPE=Bridge` (`STP`, `DELAY`, `MTU`, its L3); other `BRIDGE=br0` files are ports',
  ],
  'SUSE (wicked)': [
    "`routes` (the interface by name or by the gateway's subnet) and `ifroute-IF`: `DEST GW MASK IF [TYPE] [metric N table T onlink]`",
    '`BOOTPROTO=dhcp\\|dhcp4\\|dhcp6`',
    'global in `/etc/sysconfig/network/config` (netconfig): not read',
    '`BRIDGE=yes` with the bond in `BRIDGE_PORTS`; `BRIDGE_STP`, `BRIDGE_FORWARDDELAY`',
  ],
};

export function configsMarkdown(): string {
  const L: string[] = [];
  const table = (head: string, rows: Record<string, [string, KeyConv]>, unit: string) => {
    L.push(`| ${head} | kernel option | value |`, '|---|---|---|');
    for (const [k, [opt, how]] of Object.entries(rows))
      L.push(`| \`${k}\` | \`${opt}\` | ${HOW[how]}${how === 'ms' ? ` (bare number: ${unit})` : ''} |`);
    L.push('');
  };
  L.push('# Bond configuration formats');
  L.push('');
  L.push('Generated from the readers in `src/config/` by `npm run docs`; do not edit by hand.');
  L.push('');
  L.push('`bondd --system` reads every format below under `/etc` (or `--sysconf-root DIR`); each also has');
  L.push('a flag of its own. `bondd ... --print-config` prints the bonds, slaves, options and addresses');
  L.push('that would start, as JSON, without touching any interface. Values go through the same option');
  L.push("table as the command line (docs/options.md): the kernel's names, ranges and mode rules, with");
  L.push('errors naming the file and line. Durations take `us`, `ms`, `s`, `min`, `h` and their');
  L.push('combinations (`1min 30s`); the kernel keeps whole milliseconds. Keys bondd does not know, and');
  L.push('what it does not apply (policy routing, hook commands), are warnings with the file and line; a');
  L.push('key it carries out is never also reported. What the files put around the bond (gateways,');
  L.push('routes, DHCP, DNS, a bridge) is in [Around the bond](#around-the-bond).');
  L.push('One bond declared in two formats, or one NIC claimed by two bonds, is an error naming both.');
  L.push('');
  L.push('## netplan: `--netplan-dir /etc/netplan`');
  L.push('');
  L.push('`*.yaml` merged in file-name order as netplan merges them (mappings key by key, a later value');
  L.push('wins, sequences are appended). `network.bonds.<name>`: `interfaces` (ids under');
  L.push('`network.ethernets`; an id with `match: macaddress` is enslaved by MAC, `match: name` by name or');
  L.push('glob), `addresses` (strings or the mapping form), `macaddress`, `mtu`, and `parameters`:');
  L.push('');
  table('parameter', NETPLAN_PARAMS, 'milliseconds');
  L.push('`primary` names an interface id; it follows the id to the slave it matched.');
  L.push('');
  L.push('## systemd-networkd: `--networkd-dir /etc/systemd/network`');
  L.push('');
  L.push('A `.netdev` with `[NetDev] Kind=bond` and `Name=` is a bond (`MACAddress=`, `MTUBytes=` with');
  L.push('K/M/G); `.network` files put interfaces in it (`[Match] Name=` names or globs, or');
  L.push('`MACAddress=`; `[Network] Bond=`, `PrimarySlave=yes`) and addresses on it (`[Match]');
  L.push('Name=bond0`; `[Network] Address=`, `[Address] Address=`; `[Link] MTUBytes=`, `MACAddress=`).');
  L.push('As networkd does, an interface takes the first `.network` file (in file-name order) that');
  L.push('matches it. An empty assignment resets a key. `[Bond]`:');
  L.push('');
  table('key', NETWORKD_BOND_KEYS, 'seconds, as everywhere in systemd');
  L.push('## NetworkManager keyfiles: `--nm-dir /etc/NetworkManager/system-connections`');
  L.push('');
  L.push('`*.nmconnection`. `[connection] type=bond` with `interface-name=` is a bond; its `[bond]` keys');
  L.push('are the kernel option names (`mode=802.3ad`, `miimon=100`, ...; the old `options=a=b,c=d` too);');
  L.push('`[ethernet] mtu=` and `cloned-mac-address=` (a fixed MAC); `[ipv4]`/`[ipv6]` `address1=`,');
  L.push('`address2=`, ... (`198.18.0.1/24,gateway`). Ports: `type=ethernet` profiles with `controller=`');
  L.push("(or `master=`) naming the bond's interface or UUID and `port-type=bond` (or `slave-type=bond`),");
  L.push('by `interface-name=` or `[ethernet] mac-address=`; `[bond-port] prio=` and `queue-id=` are the');
  L.push('per-slave options `prio` and `queue_id`. `autoconnect=false` profiles are not started.');
  L.push('');
  L.push('## Debian ifupdown: `--interfaces /etc/network/interfaces`');
  L.push('');
  L.push('With `source` (globs) and `source-directory`. A stanza `iface bond0 inet|inet6 static|manual`');
  L.push('with `bond-slaves` (names, or `none` with slaves that say `bond-master bond0`) or `bond-*`');
  L.push('lines is a bond; `bond-X-Y` is the kernel option `X_Y` as ifenslave writes it to sysfs');
  L.push('(`bond-mode`, `bond-miimon`, `bond-lacp-rate`, `bond-xmit-hash-policy`, `bond-primary`, ...;');
  L.push('`bond-arp-ip-target` takes several addresses). `address` (with `/len` or `netmask`, dotted or a');
  L.push('prefix length), `mtu`, `hwaddress [ether]`; `auto` or `allow-*` starts it at boot.');
  L.push('');
  L.push('## RHEL ifcfg and modprobe: `--ifcfg-dir`, `--modprobe-conf`');
  L.push('');
  L.push('`ifcfg-bondN` (`BONDING_OPTS` in kernel words, `IPADDR[n]`, `PREFIX[n]`/`NETMASK[n]`,');
  L.push('`IPV6ADDR`, `MTU`, `MACADDR`, `ONBOOT`) and `ifcfg-ethN` (`MASTER=`, `SLAVE=yes`, `HWADDR`);');
  L.push('modprobe `alias bondN bonding` and `options bonding|bondN ...`. With `--system`, modprobe');
  L.push('options apply to the ifcfg bonds, and start a bond of their own only when they name it.');
  L.push('');
  L.push('## SUSE (wicked): `--suse-dir /etc/sysconfig/network`');
  L.push('');
  L.push('`ifcfg-*` with `BONDING_MASTER=yes` is a bond: slaves in `BONDING_SLAVE0`, `BONDING_SLAVE_1`, ...');
  L.push('(in number order), options in `BONDING_MODULE_OPTS` (kernel words), `STARTMODE` (`auto`,');
  L.push('`onboot`, `hotplug`, `nfsroot` start it; `manual`, `off`, `ifplugd` do not), `BOOTPROTO`');
  L.push('(`static`, `none`, `dhcp`, `dhcp4`, `dhcp6`), `IPADDR` with a prefix or `NETMASK`/`PREFIXLEN`');
  L.push("(and the same with any suffix: `IPADDR_1`, `IPADDR_x`), `LLADDR`, `MTU`. The slaves' own files");
  L.push("(`BOOTPROTO='none'`, `STARTMODE='hotplug'`) need nothing else. `bondd --system` reads these too.");
  L.push('');
  L.push('## Around the bond');
  L.push('');
  L.push("On a host without the bonding module the host's own tools cannot make the bond, so they never");
  L.push('apply what sits on it: bondd does, once the bond is up, and takes it away again when the bond is');
  L.push('deleted (`bondctl delete`, `ip link del`, `bondctl recover`). Restarts and upgrades of bondd');
  L.push('leave it all in place (the next bondd applies the same again, changing nothing). Per format:');
  L.push('');
  L.push('| | gateway and routes | DHCP and RA | DNS | bridge over the bond |');
  L.push('|---|---|---|---|---|');
  for (const [f, row] of Object.entries(AROUND)) L.push(`| ${f} | ${row.join(' | ')} |`);
  L.push('');
  L.push('- **Applied**: static routes (IPv4 and IPv6; metric, on-link and table where the format has');
  L.push('  them; a table by number or `main`), after the addresses, routes on the link before those via a');
  L.push('  gateway. A route the kernel refuses is logged with its file and line; the bond still starts.');
  L.push("- **DHCP** runs the host's client, never a home-made one: ISC `dhclient` (IPv4 and IPv6), else");
  L.push('  busybox `udhcpc` (IPv4); `TAPBOND_DHCP_CLIENT=udhcpc` prefers the latter. The log says which.');
  L.push('  It starts once the interface has carrier, runs detached (it outlives a restart of bondd as the');
  L.push("  bond does), and each event runs bondd's hook, which puts the lease's address on with its");
  L.push("  lifetime and a default route via the lease's router (protocol `dhcp`, with the file's DHCP");
  L.push("  route metric). A failover never touches the bond's interface, so the lease stays. Under");
  L.push("  systemd the client is in bondd's unit and stops with it (`KillMode=mixed`); the address stays");
  L.push('  on the bond, and the next bondd starts a client that asks for the same lease again (dhclient');
  L.push('  keeps its lease file in `/run/tapbond/dhcp`). Outside a unit the client simply goes on.');
  L.push('  Router advertisements: `accept_ra` is set to 2 (accepted also where forwarding is on) or 0.');
  L.push("- **DNS** is handed over: to `resolvconf -a IF.tapbond` (Debian's resolvconf or openresolv), or to");
  L.push('  systemd-resolved per link (`resolvectl dns|domain IF`). With neither, bondd does not write');
  L.push('  `/etc/resolv.conf`; it logs a warning with the servers and search domains.');
  L.push('- **A bridge** the files declare over the bond is made when missing, with STP on or off, the');
  L.push('  forward delay and MTU; the bond and the other ports the files name join it (a port not present');
  L.push('  is logged); the bridge gets its own addresses, routes, DHCP and DNS. A bridge that already');
  L.push('  exists keeps its options and is not deleted with the bond; the ports and L3 bondd added to it');
  L.push('  are taken away.');
  L.push('- **Refused**, naming the file and line: route options bondd does not apply (`scope`, `src`,');
  L.push('  `mtu`, `realm`, route types other than unicast), a gateway of the other family, a BRIDGE= with no');
  L.push('  bridge file. **Reported** and not run: ifupdown hook commands other than `ip route add|replace`,');
  L.push('  netplan `routing-policy` and DHCP overrides.');
  L.push("- **VLANs** on the bond need the kernel's 8021q module, which bondd does not replace.");
  L.push('');
  L.push("## Living beside the host's network manager");
  L.push('');
  L.push('Where NetworkManager, systemd-networkd or ifupdown also reads these files, the manager must');
  L.push('leave the slaves, the bond and the bridge to bondd, or the two fight over them:');
  L.push('');
  L.push('- **NetworkManager**: `[keyfile] unmanaged-devices=interface-name:bond0;interface-name:br0;` plus');
  L.push('  each slave (`interface-name:eno1;...`) in `/etc/NetworkManager/conf.d/tapbond.conf`, then');
  L.push('  `nmcli general reload conf`. Keep the profiles: bondd reads them.');
  L.push('- **systemd-networkd**: networkd cannot make the bond without the module, but it would manage');
  L.push('  the TAP bondd makes under the same name (and drop the addresses and routes it calls foreign).');
  L.push('  Give the bond, its slaves and its bridge `[Link] Unmanaged=yes` in a `.network` file that sorts');
  L.push("  first (`00-tapbond.network`). Tested with Debian's systemd-networkd running beside bondd.");
  L.push('- **ifupdown**: leave `auto bond0` out (or use `allow-tapbond bond0`, a class `ifup -a` never');
  L.push('  starts) so `ifup -a` does not try to make the bond; bondd still reads the stanza.');
  L.push("- **RHEL ifcfg**: `NM_CONTROLLED=no` in `ifcfg-bond0`, its slaves' files and the bridge's file");
  L.push("  (NetworkManager's ifcfg-rh plugin reads them); bondd reads them regardless.");
  L.push("- **SUSE (wicked)**: wicked reads `/etc/sysconfig/network` and fails at the bond; keep the bond's");
  L.push("  and its bridge's files in a directory of their own and give it to `bondd --suse-dir`.");
  L.push('');
  L.push('`bondd --print-config` prints, per bond, the setting for its format with its interface names');
  L.push('(`host_manager`). The networkd reader skips `.network` files with `[Link] Unmanaged=yes`: they');
  L.push('are what keeps networkd away, not a configuration of the bond.');
  L.push('');
  return L.join('\n');
}
