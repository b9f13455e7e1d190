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
  L.push('what it does not apply (DHCP, routes, DNS, hook scripts), are warnings with the file and line.');
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
  return L.join('\n');
}
