#!/usr/bin/env bash
# Builds the kernel-oracle guest for test/kernel: Debian's packaged kernel (its .deb unpacked,
# never installed) with bonding.ko, virtio_net and their dependencies in a busybox initramfs, the
# static helper tbo (oracle-helper.c), and an /init that serves commands on the second serial
# port: the host writes "TBX <id> <base64 script>", the guest answers "@@<id>" ... "@@<id> rc <n>".
# Needs: qemu-system-x86 busybox-static gcc libc6-dev (apt). Output: $TB_ORACLE_DIR (default
# /tmp/tapbond-oracle): vmlinuz, initrd.gz, KVER. Reused unless FORCE=1 or a source is newer.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${TB_ORACLE_DIR:-/tmp/tapbond-oracle}
mkdir -p "$OUT"
IMG=$OUT/initrd.gz
if [[ -s $IMG && -s $OUT/vmlinuz && -z ${FORCE:-} && $IMG -nt $0 && $IMG -nt $HERE/oracle-helper.c ]]; then
  echo "$OUT ready ($(cat "$OUT/KVER"))"; exit 0
fi
BB=$(command -v busybox) || { echo "build-oracle: needs busybox-static" >&2; exit 1; }
file -L "$BB" 2>/dev/null | grep -q 'statically linked' || ldd "$BB" 2>&1 | grep -q 'not a dynamic' \
  || { echo "build-oracle: busybox is not static (apt-get install busybox-static)" >&2; exit 1; }
PKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
[[ -n $PKG ]] || { echo "build-oracle: cannot resolve linux-image-amd64 (apt-get update?)" >&2; exit 1; }
KVER=${PKG#linux-image-}
W=$(mktemp -d /tmp/tapbond-oracle-build.XXXXXX)
trap 'rm -rf "$W"' EXIT
if ! ls "$OUT"/"$PKG"_*.deb >/dev/null 2>&1; then
  rm -f "$OUT"/linux-image-*.deb
  (cd "$W" && apt-get download "$PKG" >/dev/null 2>&1) || { echo "build-oracle: apt-get download $PKG failed (apt-get update?)" >&2; exit 1; }
  mv "$W"/"$PKG"_*.deb "$OUT/"
fi
dpkg-deb -x "$OUT"/"$PKG"_*.deb "$W/k"
MODS=$W/k/lib/modules/$KVER
R=$W/root
mkdir -p "$R"/{bin,proc,sys,dev,tmp,mod}
cp "$BB" "$R/bin/busybox"
gcc -O2 -static -Wall -o "$R/bin/tbo" "$HERE/oracle-helper.c"

# the modules, each after what it depends on (modinfo reads the unpacked files)
declare -A FILE=() DONE=()
while IFS= read -r f; do b=${f##*/}; FILE[${b%%.ko*}]=$f; done < <(find "$MODS/kernel" -name '*.ko*')
ORDER=()
want() {
  local m=$1 d
  [[ -n ${DONE[$m]:-} ]] && return 0
  DONE[$m]=1
  if [[ -z ${FILE[$m]:-} ]]; then
    grep -q "/$m.ko" "$MODS/modules.builtin" && return 0
    echo "build-oracle: module $m not found" >&2; exit 1
  fi
  for d in $(modinfo -F depends "${FILE[$m]}" | tr ',' ' '); do want "$d"; done
  case ${FILE[$m]} in
    *.xz) xz -dc "${FILE[$m]}" > "$R/mod/$m.ko" ;;
    *.zst) zstd -qdc "${FILE[$m]}" > "$R/mod/$m.ko" ;;
    *) cp "${FILE[$m]}" "$R/mod/$m.ko" ;;
  esac
  ORDER+=("$m")
}
for m in virtio_pci virtio_net bonding; do want "$m"; done
# bonding itself is loaded by the tests' scripts (with max_bonds=0), so that each makes its own
printf '%s\n' "${ORDER[@]}" | grep -vx bonding > "$R/mod/order"

cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
for m in $(cat /mod/order); do insmod /mod/$m.ko || echo "TB-INSMOD-FAIL $m"; done
ip link set lo up
sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
n=$(sed -n 's/.*tb.nics=\([0-9]*\).*/\1/p' /proc/cmdline)
i=0; while [ "$(ls -d /sys/class/net/eth* 2>/dev/null | wc -l)" -lt "${n:-2}" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
stty -F /dev/ttyS1 raw -echo
exec 3<>/dev/ttyS1
echo "@@READY $(uname -r)" >&3
while read -r tag id b64 <&3; do
  [ "$tag" = TBX ] || continue
  echo "$b64" | base64 -d > /tmp/cmd.sh
  sh /tmp/cmd.sh > /tmp/out 2>&1 < /dev/null; rc=$?
  { echo "@@$id"; cat /tmp/out; echo "@@$id rc $rc"; } >&3
done
poweroff -f
INIT
chmod +x "$R/init"
(cd "$R" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$W/img"
cp "$W/k/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
echo "$KVER" > "$OUT/KVER"
mv "$W/img" "$IMG"
echo "$OUT ready ($KVER)"
