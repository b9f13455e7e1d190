# Shell functions for scripts run in the kernel-oracle guest (test/helpers/oracle.ts prepends
# this file to each). busybox sh.
B=/sys/class/net
loadbond() { [ -d /sys/module/bonding ] || insmod /mod/bonding.ko max_bonds=0; }
# mkbond NAME "opt=val ..." SLAVE...: options in the order given (mode first), then the slaves
mkbond() {
  loadbond; n=$1; opts=$2; shift 2
  rmbond "$n"
  echo "+$n" > $B/bonding_masters || return 1
  for kv in $opts; do
    k=${kv%%=*}; v=${kv#*=}
    case $k in
      arp_ip_target|ns_ip6_target)
        for t in $(echo "$v" | tr ',' ' '); do echo "+$t" > "$B/$n/bonding/$k" || return 1; done ;;
      *) echo "$v" > "$B/$n/bonding/$k" || { echo "option $k=$v refused"; return 1; } ;;
    esac
  done
  for s in "$@"; do ip link set "$s" down; echo "+$s" > "$B/$n/bonding/slaves" || return 1; done
  ip link set "$n" up
}
rmbond() { if [ -d "$B/$1" ]; then ip link set "$1" down; echo "-$1" > $B/bonding_masters; fi; true; }
# /proc/net/bonding/NAME, then each sysfs file after a "@@F name" line
dumpbond() {
  echo "@@PROC"; cat "/proc/net/bonding/$1"
  for f in "$B/$1"/bonding/*; do echo "@@F ${f##*/}"; cat "$f" 2>&1; done
}
