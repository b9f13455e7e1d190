#!/usr/bin/env bash
# Namespace lab for tapbond: builds and removes its own topologies. Nothing is put in the root
# namespace (no addresses, no links left behind); addresses come from 198.18.0.0/15 and
# 2001:db8::/32 only.
#
#   lab.sh up   PREFIX N     bond topology with N slaves:
#
#     ns PREFIX-srv (bondd)            ns PREFIX-sw ("switch")          ns PREFIX-cli
#     +----------------------+         +---------------------+          +----------------+
#     | bond0 (TAP, by bondd)|         |        br0          |          |                |
#     |  s0 ---------------- veth ---- p0                    |          |                |
#     |  s1 ---------------- veth ---- p1          c0 ---------- veth ---- eth0          |
#     |  ...                 |         |  ...                |          | 198.18.0.2/24  |
#     +----------------------+         +---------------------+          | 2001:db8::2/64 |
#                                                                       +----------------+
#   lab.sh pair PREFIX N     back to back, for a bond on each side (bondd<->bondd, bondd<->OVS):
#     PREFIX-srv s0..s{N-1} <-- veth --> q0..q{N-1} PREFIX-cli
#   lab.sh direct PREFIX N   the bond's links straight to one host, no switch between (what the
#                            bare pair is to a bond): PREFIX-srv s0..s{N-1} <-- veth --> q0..q{N-1}
#                            PREFIX-cli, every q with q0's MAC and 198.18.0.2/24 on q0, so the
#                            host takes the bond's frames on whichever link brings them
#   lab.sh alone PREFIX      PREFIX-srv only (the kernel-oracle guest makes its own TAPs in it)
#   lab.sh bare PREFIX       reference path: PREFIX-srv eth0 198.18.0.1 <-> PREFIX-cli eth0
#   lab.sh down PREFIX       removes every namespace of PREFIX (and so every veth in them)
set -euo pipefail

cmd=${1:?usage: lab.sh up|bare|down PREFIX [N]}
P=${2:?prefix}
[[ $P =~ ^[a-z0-9-]{1,20}$ ]] || { echo "lab.sh: bad prefix '$P'" >&2; exit 2; }

down() {
  local ns
  for ns in "$P-srv" "$P-sw" "$P-cli"; do
    if ip netns pids "$ns" >/dev/null 2>&1; then
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true
    fi
  done
  sleep 0.2
  for ns in "$P-srv" "$P-sw" "$P-cli"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}

# PREFIX-srv and PREFIX-cli with N=$1 links: s0..s{N-1} (set up) each a veth to q0..q{N-1}
# (left down, for the caller to configure first)
back_to_back() {
  local i
  N=$1
  mkns "$P-srv"; mkns "$P-cli"
  for ((i = 0; i < N; i++)); do
    ip -n "$P-srv" link add "s$i" type veth peer name "q$i" netns "$P-cli"
    ip -n "$P-srv" link set "s$i" up
  done
}

q_up() {
  local i
  for ((i = 0; i < N; i++)); do ip -n "$P-cli" link set "q$i" up; done
}

mkns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

case $cmd in
  down) down ;;
  up)
    N=${3:?number of slaves}
    trap 'down; exit 1' ERR
    mkns "$P-srv"; mkns "$P-sw"; mkns "$P-cli"
    ip -n "$P-sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    for ((i = 0; i < N; i++)); do
      ip -n "$P-srv" link add "s$i" type veth peer name "p$i" netns "$P-sw"
      ip -n "$P-sw" link set "p$i" master br0 up
      ip -n "$P-srv" link set "s$i" up
    done
    ip -n "$P-sw" link add c0 type veth peer name eth0 netns "$P-cli"
    ip -n "$P-sw" link set c0 master br0 up
    ip -n "$P-sw" link set br0 up
    ip -n "$P-cli" addr add 198.18.0.2/24 dev eth0
    ip -n "$P-cli" addr add 2001:db8::2/64 dev eth0 nodad
    ip -n "$P-cli" link set eth0 up
    ;;
  pair)
    trap 'down; exit 1' ERR
    back_to_back "${3:?number of links}"
    # the partner's member ports are kernel interfaces too: only the interface that holds an
    # address may answer ARP for it (otherwise q0 answers for br0's address with its own MAC)
    ip netns exec "$P-cli" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.default.arp_ignore=1
    q_up
    ;;
  direct)
    trap 'down; exit 1' ERR
    back_to_back "${3:?number of links}"
    ip netns exec "$P-cli" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    mac=$(ip -n "$P-cli" -o link show q0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
    for ((i = 1; i < N; i++)); do ip -n "$P-cli" link set "q$i" address "$mac"; done
    q_up
    ip -n "$P-cli" addr add 198.18.0.2/24 dev q0
    ip -n "$P-cli" addr add 2001:db8::2/64 dev q0 nodad
    ;;
  alone) mkns "$P-srv" ;;
  bare)
    trap 'down; exit 1' ERR
    mkns "$P-srv"; mkns "$P-cli"
    ip -n "$P-srv" link add eth0 type veth peer name eth0 netns "$P-cli"
    ip -n "$P-srv" addr add 198.18.0.1/24 dev eth0
    ip -n "$P-cli" addr add 198.18.0.2/24 dev eth0
    ip -n "$P-srv" link set eth0 up
    ip -n "$P-cli" link set eth0 up
    ;;
  *) echo "lab.sh: unknown command '$cmd'" >&2; exit 2 ;;
esac
