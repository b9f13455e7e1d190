#!/usr/bin/env bash
# npm run test:docker: the Docker image, built and tested with no registry.
#  1. a private dockerd (own data-root, exec-root and socket; no iptables, no docker0 bridge, so
#     nothing is added to the root namespace), stopped and removed at the end, also on failure
#  2. the local base image (scripts/docker/base-image.sh: debootstrap bookworm + this machine's
#     Node 20), `docker import`ed
#  3. `docker build` of the runtime and test stages FROM it
#  4. the runtime image as users run it: non-root, only NET_ADMIN + NET_RAW and /dev/net/tun, the
#     slaves moved into the container's namespace; traffic, failover and clean stop are checked
#     from outside the container
#  5. the integration suite (vitest, test/integration) inside a container of the test stage
# Exit status: 0 when everything passed. Set TAPBOND_DOCKER_OPTIONAL=1 to exit 0 with a clear
# "skipped" line when this machine cannot run Docker at all.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LAB=$(mktemp -d /tmp/tapbond-docker.XXXXXX)
export DOCKER_HOST=unix://$LAB/docker.sock
P=tbdk$(( $$ % 100000 ))
DPID=
FAILS=0

skip() {
  echo "test:docker skipped: $*"
  rm -rf "$LAB"
  [[ ${TAPBOND_DOCKER_OPTIONAL:-} == 1 ]] && exit 0
  exit 1
}
[[ $(id -u) == 0 ]] || skip "needs root (a private dockerd and network namespaces)"
command -v dockerd >/dev/null || skip "dockerd is missing (apt-get install docker.io)"
command -v docker >/dev/null || skip "the docker client is missing (apt-get install docker.io)"
command -v debootstrap >/dev/null || skip "debootstrap is missing (apt-get install debootstrap)"
[[ -c /dev/net/tun ]] || skip "/dev/net/tun is missing"

cleanup() {
  set +e
  if [[ -n $DPID ]] && kill -0 "$DPID" 2>/dev/null; then
    ids=$(docker ps -aq 2>/dev/null)
    [[ -n $ids ]] && docker rm -f $ids >/dev/null 2>&1
    kill "$DPID"
    for _ in $(seq 1 40); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$DPID" 2>/dev/null && kill -9 "$DPID"
  fi
  ip netns del "$P-ctr" 2>/dev/null
  bash "$ROOT/scripts/netns/lab.sh" down "$P" 2>/dev/null
  grep -o " $LAB[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$LAB"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
ok() { echo " ✓ $*"; }
bad() { echo " × $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# ---- 1. private dockerd ----
dockerd --data-root "$LAB/root" --exec-root "$LAB/exec" --pidfile "$LAB/dockerd.pid" -H "$DOCKER_HOST" \
  --iptables=false --ip6tables=false --bridge=none > "$LAB/dockerd.log" 2>&1 &
DPID=$!
for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; kill -0 $DPID 2>/dev/null || break; sleep 0.5; done
docker version >/dev/null 2>&1 || { tail -20 "$LAB/dockerd.log"; echo "test:docker: dockerd did not start"; exit 1; }
echo "dockerd $(docker version --format '{{.Server.Version}}') ($(docker info --format '{{.Driver}}')) in $LAB"

# ---- 2. base image ----
TAR=$(bash scripts/docker/base-image.sh)
docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'ENV npm_config_nodedir=/usr' -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' "$TAR" tapbond/base:bookworm-node20 >/dev/null
echo "base image from $TAR"

# ---- 3. build (legacy builder; host network only for apt and npm during the build) ----
build() {
  local target=$1 tag=$2
  # in the background + wait: a SIGINT/SIGTERM to this script is handled at once
  DOCKER_BUILDKIT=0 timeout 900 docker build --network host --build-arg BASE=tapbond/base:bookworm-node20 --target "$target" -t "$tag" . > "$LAB/build-$target.log" 2>&1 &
  if ! wait $!; then
    tail -30 "$LAB/build-$target.log"
    echo "test:docker: docker build --target $target failed"
    exit 1
  fi
}
build runtime tapbond:latest
build test tapbond:test
echo "images built in $((SECONDS - t0)) s: runtime $(docker image inspect -f '{{.Size}}' tapbond:latest | awk '{printf "%.0f MB", $1/1e6}'), test $(docker image inspect -f '{{.Size}}' tapbond:test | awk '{printf "%.0f MB", $1/1e6}')"

# ---- 4. the runtime image as users run it ----
echo "runtime image: non-root bondd with NET_ADMIN + NET_RAW only"
# a tun node of our own with the usual mode 0666 (some hosts, this one among them, have 0600 on
# /dev/net/tun, which only root may open); the host's own node is left alone
mknod -m 666 "$LAB/tun" c 10 200
MIN_CAPS=(--cap-drop ALL --cap-add NET_ADMIN --cap-add NET_RAW --device "$LAB/tun:/dev/net/tun")
# a container that holds the network namespace; the slaves are moved into it from a switch namespace
docker run -d --name "$P-hold" --network none --entrypoint sleep tapbond:latest 600 >/dev/null
HPID=$(docker inspect -f '{{.State.Pid}}' "$P-hold")
ip netns attach "$P-ctr" "$HPID"
# the test topology (server s0,s1 -- bridge switch -- client 198.18.0.2), then the server's
# slaves move into the container's namespace; bondd brings them up itself
bash scripts/netns/lab.sh up "$P" 2
for i in 0 1; do ip -n "$P-srv" link set "s$i" netns "$P-ctr"; done
MAC0=$(ip -n "$P-ctr" -j link show s0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

out=$(docker run --rm --network "container:$P-hold" --cap-drop ALL --device "$LAB/tun:/dev/net/tun" tapbond:latest --name bond0 --slaves s0,s1 2>&1 || true)
check "without the capabilities bondd says what is missing" grep -q 'bondd needs CAP_NET_ADMIN and CAP_NET_RAW' <<<"$out"

docker run -d --name "$P-bondd" --network "container:$P-hold" "${MIN_CAPS[@]}" tapbond:latest \
  --name bond0 --slaves s0,s1 --address 198.18.0.1/24 mode=active-backup miimon=100 primary=s0 >/dev/null
for _ in $(seq 1 100); do docker logs "$P-bondd" 2>&1 | grep -q '"event":"ready"' && break; sleep 0.1; done
if ! docker logs "$P-bondd" 2>&1 | grep -q '"event":"ready"'; then
  bad "bondd did not become ready in the container:"
  docker logs "$P-bondd" 2>&1 | tail -20
  exit 1
fi
check "bondd runs as the unprivileged user tapbond" test "$(docker exec "$P-bondd" id -un)" = tapbond
check "its capabilities are NET_ADMIN and NET_RAW only" grep -q 'CapEff:.*0000000000003000' <<<"$(docker exec "$P-bondd" grep CapEff /proc/1/status)"
check "with those two it runs the user-space datapath and says why" grep -q '"event":"datapath-user"' <<<"$(docker logs "$P-bondd" 2>&1)"
for _ in $(seq 1 50); do ip -n "$P-ctr" link show bond0 2>/dev/null | grep -q LOWER_UP && break; sleep 0.1; done
check "the client reaches the bond's address (20/20 pings)" grep -q '20 received' <<<"$(ip netns exec "$P-cli" ping -c 20 -i 0.05 -W 1 198.18.0.1)"
# which slave's carrier shows first is a race: primary=s0 makes s0 the active one once it is up
for _ in $(seq 1 30); do
  show=$(docker exec "$P-bondd" bondctl show bond0 2>&1 || true)
  grep -q 'Currently Active Slave: s0' <<<"$show" && break
  sleep 0.2
done
if grep -q 'Currently Active Slave: s0' <<<"$show"; then ok "bondctl show (non-root, in the container): active-backup, active s0"
else bad "bondctl show (non-root, in the container): active-backup, active s0"; sed 's/^/    /' <<<"$show"; fi
ip netns exec "$P-cli" ping -c 200 -i 0.01 -W 1 198.18.0.1 > "$LAB/ping.txt" 2>&1 &
PING=$!
sleep 0.5
ip -n "$P-sw" link set p0 down
wait $PING || true
rx=$(grep -o '[0-9]* received' "$LAB/ping.txt" | cut -d' ' -f1)
check "failover of the active slave: $rx/200 pings received (>= 180)" test "${rx:-0}" -ge 180
check "the failover is logged as JSON naming the bond and the slave" grep -q '"bond":"bond0","slave":"s1","event":"active-change","previous":"s0"' <<<"$(docker logs "$P-bondd" 2>&1)"
IFX=$(ip -n "$P-ctr" -o link show bond0 | cut -d: -f1)
docker stop -t 10 "$P-bondd" >/dev/null
check "docker stop (SIGTERM): exit code 0" test "$(docker inspect -f '{{.State.ExitCode}}' "$P-bondd")" = 0
check "bond0 outlives the stop (the same interface, ifindex $IFX)" test "$(ip -n "$P-ctr" -o link show bond0 2>/dev/null | cut -d: -f1)" = "$IFX"
docker start "$P-bondd" >/dev/null
for _ in $(seq 1 100); do docker exec "$P-bondd" bondctl show bond0 >/dev/null 2>&1 && break; sleep 0.1; done
check "docker start adopts it (logged as adopted)" grep -q '"event":"adopted"' <<<"$(docker logs "$P-bondd" 2>&1)"
check "bondctl delete bond0 (non-root, in the container)" docker exec "$P-bondd" bondctl delete bond0
for _ in $(seq 1 100); do [ "$(docker inspect -f '{{.State.Running}}' "$P-bondd")" = false ] && break; sleep 0.1; done
check "bondd exits 0 once its bond is deleted" test "$(docker inspect -f '{{.State.ExitCode}}' "$P-bondd")" = 0
check "the slave's MAC is restored and the TAP removed" bash -c "ip -n $P-ctr -j link show s0 | grep -q '\"address\":\"$MAC0\"' && ! ip -n $P-ctr link show bond0 2>/dev/null"
docker rm -f "$P-bondd" >/dev/null
# with BPF and PERFMON as well: the kernel fast path, where this dockerd knows those
# capabilities (Docker 20.10, Debian bookworm's, does not: its --cap-add ALL lacks them too)
if docker run --rm --network none --cap-drop ALL --cap-add BPF --cap-add PERFMON --entrypoint true tapbond:latest >/dev/null 2>&1; then
  docker run -d --name "$P-bondd" --network "container:$P-hold" "${MIN_CAPS[@]}" --cap-add BPF --cap-add PERFMON tapbond:latest \
    --name bond0 --slaves s0,s1 --address 198.18.0.1/24 mode=active-backup miimon=100 >/dev/null
  for _ in $(seq 1 100); do docker logs "$P-bondd" 2>&1 | grep -q '"event":"ready"' && break; sleep 0.1; done
  show=$(docker exec "$P-bondd" bondctl show bond0 2>&1 || true)
  if grep -q ', datapath kernel (eBPF)' <<<"$show"; then ok "with BPF and PERFMON added: the kernel fast path (bondctl show)"
  else bad "with BPF and PERFMON added: the kernel fast path (bondctl show)"; sed 's/^/    /' <<<"$show"; docker logs "$P-bondd" 2>&1 | tail -5; fi
  for _ in $(seq 1 50); do ip -n "$P-ctr" link show bond0 2>/dev/null | grep -q LOWER_UP && break; sleep 0.1; done
  check "the client reaches the bond over the kernel path (20/20 pings)" grep -q '20 received' <<<"$(ip netns exec "$P-cli" ping -c 20 -i 0.05 -W 1 198.18.0.1)"
  docker exec "$P-bondd" bondctl delete bond0 >/dev/null 2>&1 || true
  docker stop -t 10 "$P-bondd" >/dev/null
else
  echo " - not checked: this dockerd ($(dockerd --version 2>/dev/null | cut -d, -f1)) refuses --cap-add BPF/PERFMON"
fi
docker rm -f "$P-bondd" "$P-hold" >/dev/null 2>&1 || true
ip netns del "$P-ctr"; bash scripts/netns/lab.sh down "$P"

# ---- 5. the integration suite inside a container ----
# creating namespaces inside needs CAP_SYS_ADMIN and a writable /proc/sys (the lab sets sysctls
# in its namespaces); --privileged fails where root lacks CAP_SYS_RESOURCE, so: every capability
# but that one, no seccomp filter or AppArmor profile, unmasked system paths
echo "integration suite in a container (tapbond:test)"
set +e
# on the user-space datapath: the host stage of .ci/run ran the suite on the kernel fast path.
# Every suite must run (a skip fails) but the npm package's, which needs the registry the
# container has no network for. The QEMU guest's kernel and initramfs are built here on the host
# (apt-get download needs the network) and lent to the container read-only.
GUEST=${TB_GUEST_DIR:-/tmp/tapbond-guest}
bash scripts/qemu/build-guest.sh >/dev/null
timeout 1500 docker run --rm --network none --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined -e TAPBOND_DATAPATH=user \
  -e TAPBOND_REQUIRE_INTEGRATION=1 -e TAPBOND_MAY_SKIP=package -v "$GUEST:/tmp/tapbond-guest:ro" \
  --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
  --device /dev/net/tun tapbond:test &
wait $!
rc=$?
set -e
((rc == 0)) || FAILS=$((FAILS + 1))
echo "test:docker: runtime checks and suite done in $((SECONDS - t0)) s, $FAILS failed"
((FAILS == 0))
